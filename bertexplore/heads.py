"""Which output heads a loaded model has: the one answer to "does this model have a masked-LM head?".

A `Head` is one of the model's own head modules as the model's forward applies it, found by identity on the
model (never copied or patched), plus whether its weights came from the checkpoint (`trained`) rather than being
initialised at random because the checkpoint lacked them. Every page and analysis asks here:

    heads.has(loaded, "mlm")        # present AND trained: predictions from it mean something
    heads.find(loaded, "mlm")       # the Head (trained or not), or None when the model has no such module
    loaded.head_call("mlm", hidden) # run it through the model's door (lock, counter, gradients on request)

What each head takes is what the model's own forward feeds it:

    mlm     hidden states [..., D]            -> vocabulary logits [..., V]
    pooler  sequence hidden [N, T, D]         -> pooled [N, D]      (the [CLS] summary BERT's NSP and classifier read)
    cls     sequence hidden [N, T, D]         -> label logits [N, labels]   (pooler/[CLS] reading included)
    nsp     pooled [N, D]                     -> [N, 2] next-sentence (BERT) or sentence-order (ALBERT) logits
    token   sequence hidden [N, T, D]         -> [N, T, labels]
    qa      sequence hidden [N, T, D]         -> [N, T, 2] (start, end)

The loading heads (how a checkpoint is built: "mlm", "pretraining", "sequence-classification", ...) and the
architecture names save_pretrained writes for them live in `checkpoint_heads`, below the registry.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal

import torch

HeadName = Literal["mlm", "pooler", "cls", "nsp", "token", "qa"]
HEAD_NAMES: tuple[str, ...] = ("mlm", "pooler", "cls", "nsp", "token", "qa")


@dataclass(frozen=True)
class Head:
    """One of the model's head modules, as its forward applies it."""

    name: str  # one of HEAD_NAMES
    run: Callable[..., torch.Tensor] = field(repr=False)  # the computation, on the model's own modules
    modules: tuple[str, ...]  # qualified names of the modules it uses ("cls.predictions", "bert.pooler", ...)
    trained: bool  # every weight of those modules came from the checkpoint
    decoder: torch.nn.Linear | None = field(default=None, repr=False)  # mlm: the vocabulary projection (tied or not)

    def __call__(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.run(*inputs)


def _get(obj: Any, path: str) -> Any:
    for part in path.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def _encoder(model: Any) -> Any:
    return getattr(model, getattr(model, "base_model_prefix", ""), None) or model


def _mlm(model: Any) -> tuple[Callable, tuple[str, ...], Any] | None:
    """(run, module paths, decoder) of the masked-LM head, per family."""
    preds = _get(model, "cls.predictions")
    if preds is not None:  # BERT (MaskedLM and PreTraining: cls is the combined head there), MobileBERT, ERNIE, ...
        return preds, ("cls.predictions",), getattr(preds, "decoder", None)
    cls = getattr(model, "cls", None)
    if cls is not None and hasattr(cls, "predictions"):
        return cls, ("cls",), _get(cls, "predictions.decoder")
    if getattr(model, "lm_head", None) is not None:  # RoBERTa, XLM-R, CamemBERT
        return model.lm_head, ("lm_head",), getattr(model.lm_head, "decoder", None)
    if getattr(model, "vocab_projector", None) is not None:  # DistilBERT spells its head out in forward()
        def distil(h: torch.Tensor) -> torch.Tensor:
            return model.vocab_projector(model.vocab_layer_norm(model.activation(model.vocab_transform(h))))
        return distil, ("vocab_transform", "vocab_layer_norm", "vocab_projector"), model.vocab_projector
    predictions = getattr(model, "predictions", None)
    if predictions is not None and hasattr(predictions, "decoder"):  # ALBERT
        return predictions, ("predictions",), predictions.decoder
    if getattr(model, "generator_lm_head", None) is not None:  # ELECTRA's generator
        def electra(h: torch.Tensor) -> torch.Tensor:
            return model.generator_lm_head(model.generator_predictions(h))
        return electra, ("generator_predictions", "generator_lm_head"), model.generator_lm_head
    lm_predictions = getattr(model, "lm_predictions", None)
    if lm_predictions is not None:  # DeBERTa (non-legacy): the head takes the word embeddings as its decoder
        words = _encoder(model).get_input_embeddings()
        return (lambda h: lm_predictions(h, words)), ("lm_predictions",), None
    if getattr(model, "decoder", None) is not None and getattr(model, "head", None) is not None:  # ModernBERT
        return (lambda h: model.decoder(model.head(h))), ("head", "decoder"), model.decoder
    return None


def _pooler(model: Any) -> tuple[Callable, tuple[str, ...]] | None:
    encoder = _encoder(model)
    prefix = "" if encoder is model else getattr(model, "base_model_prefix", "") + "."
    pooler = getattr(encoder, "pooler", None)
    if isinstance(pooler, torch.nn.Linear):  # ALBERT: Linear + tanh on [CLS], spelled out in its forward
        act = encoder.pooler_activation
        return (lambda h: act(pooler(h[:, 0]))), (f"{prefix}pooler",)
    if pooler is not None:  # BERT and most: a module reading [CLS] itself
        return pooler, (f"{prefix}pooler",)
    if getattr(model, "pooler", None) is not None:  # DeBERTa's ContextPooler sits on the task model
        return model.pooler, ("pooler",)
    return None


def _cls(model: Any) -> tuple[Callable, tuple[str, ...]] | None:
    classifier = getattr(model, "classifier", None)
    if classifier is None or getattr(model, "qa_outputs", None) is not None:
        return None
    if type(model).__name__.endswith("ForTokenClassification"):
        return None
    if hasattr(model, "pre_classifier"):  # DistilBERT
        return (lambda h: classifier(torch.relu(model.pre_classifier(h[:, 0])))), ("pre_classifier", "classifier")
    if hasattr(model, "head") and hasattr(model, "drop"):  # ModernBERT pools by its config; only [CLS] is read here
        if getattr(model.config, "classifier_pooling", "cls") != "cls":
            return None
        return (lambda h: classifier(model.drop(model.head(h[:, 0])))), ("head", "classifier")
    if isinstance(classifier, torch.nn.Linear):  # BERT, ALBERT, DeBERTa: the pooler, then the classifier
        pooler = _pooler(model)
        if pooler is None:
            return None
        pool, paths = pooler
        return (lambda h: classifier(pool(h))), paths + ("classifier",)
    return classifier, ("classifier",)  # RoBERTa / ELECTRA classification heads read [CLS] themselves


def _nsp(model: Any) -> tuple[Callable, tuple[str, ...]] | None:
    rel = _get(model, "cls.seq_relationship")
    if rel is not None:  # BERT's pre-training and next-sentence models
        return rel, ("cls.seq_relationship",)
    if getattr(model, "sop_classifier", None) is not None:  # ALBERT's sentence-order head
        return model.sop_classifier, ("sop_classifier",)
    return None


def _token(model: Any) -> tuple[Callable, tuple[str, ...]] | None:
    if not type(model).__name__.endswith("ForTokenClassification"):
        return None
    classifier = getattr(model, "classifier", None)
    if classifier is None:
        return None
    if hasattr(model, "head") and hasattr(model, "drop"):  # ModernBERT
        return (lambda h: classifier(model.drop(model.head(h)))), ("head", "classifier")
    return classifier, ("classifier",)


def _qa(model: Any) -> tuple[Callable, tuple[str, ...]] | None:
    qa = getattr(model, "qa_outputs", None)
    return (qa, ("qa_outputs",)) if qa is not None else None


_FINDERS: dict[str, Callable[[Any], Any]] = {"pooler": _pooler, "cls": _cls, "nsp": _nsp, "token": _token, "qa": _qa}


def _model_and_missing(loaded_or_model: Any) -> tuple[Any, tuple[str, ...]]:
    if isinstance(loaded_or_model, torch.nn.Module):
        return loaded_or_model, ()
    return loaded_or_model.model, tuple(getattr(loaded_or_model, "missing_keys", ()) or ())


def find(loaded_or_model: Any, name: str) -> Head | None:
    """The model's `name` head (trained or not), or None when the model has no such module.

    Takes a LoadedModel (then `trained` reads its checkpoint's missing keys) or a bare model (always trained).
    """
    if name not in HEAD_NAMES:
        raise ValueError(f"unknown head {name!r}; one of {HEAD_NAMES}")
    model, missing = _model_and_missing(loaded_or_model)
    decoder = None
    if name == "mlm":
        found = _mlm(model)
        if found is None:
            return None
        run, paths, decoder = found
    else:
        found = _FINDERS[name](model)
        if found is None:
            return None
        run, paths = found
    trained = not any(key.startswith(path + ".") for key in missing for path in paths)
    return Head(name, run, paths, trained, decoder)


def has(loaded: Any, name: str) -> bool:
    """Whether the model has the `name` head with weights from its checkpoint (not random ones)."""
    head = find(loaded, name)
    return head is not None and head.trained


def available(loaded: Any) -> tuple[str, ...]:
    """Every head the model has with trained weights, in HEAD_NAMES order."""
    return tuple(name for name in HEAD_NAMES if has(loaded, name))


def by_module(loaded_or_model: Any, module: Any) -> Head | None:
    """The Head that `module` is (e.g. the `cls.seq_relationship` Linear a caller holds), or None."""
    for name in HEAD_NAMES:
        head = find(loaded_or_model, name)
        if head is not None and head.run is module:
            return head
    return None
