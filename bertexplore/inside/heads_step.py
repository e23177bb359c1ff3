"""Step 6: which vectors feed which output head, recomputed from the head's weights.

Masked-LM: last hidden state at each [MASK] → dense → activation → LayerNorm → decoder (usually tied to the word
embeddings; an untied decoder's own weight is used).
[CLS] → pooler (dense + tanh) → classifier / next-sentence; every token → token classifier; every token → start/end.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..loading import LoadedModel
from ..i18n import _
from .checks import Proof, layer_norm, proof, softmax
from .layer_step import activation


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().float().cpu().numpy().astype(np.float64)


def _linear(x: np.ndarray, layer: torch.nn.Linear) -> np.ndarray:
    out = x @ _np(layer.weight).T
    return out + _np(layer.bias) if layer.bias is not None else out


def _get(obj, path: str):
    for part in path.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


# (dense, layer norm, decoder, activation from config or fixed) per family's masked-LM head
_MLM_PATHS = (
    ("cls.predictions.transform.dense", "cls.predictions.transform.LayerNorm", "cls.predictions.decoder", "hidden_act"),
    ("vocab_transform", "vocab_layer_norm", "vocab_projector", "activation"),  # DistilBERT
    ("lm_head.dense", "lm_head.layer_norm", "lm_head.decoder", "=gelu"),  # RoBERTa, XLM-R, CamemBERT
    ("predictions.dense", "predictions.LayerNorm", "predictions.decoder", "hidden_act"),  # ALBERT
    ("generator_predictions.dense", "generator_predictions.LayerNorm", "generator_lm_head", "=gelu"),  # ELECTRA
)


@dataclass(frozen=True)
class MaskPrediction:
    position: int
    tokens: tuple[str, ...]
    probs: tuple[float, ...]


@dataclass(frozen=True)
class MLMHeadStep:
    hidden: int
    vocab: int
    activation: str
    tied: bool  # the decoder's weight IS the word-embedding table (same tensor)
    predictions: tuple[MaskPrediction, ...]
    proofs: tuple[Proof, ...]


def mlm_head_step(loaded: LoadedModel, last_hidden: np.ndarray, positions: tuple[int, ...],
                  model_log_probs: np.ndarray | None, k: int = 5) -> MLMHeadStep | None:
    """None when the loaded model has no masked-LM head this module knows."""
    model = loaded.model
    for dense_p, ln_p, dec_p, act_p in _MLM_PATHS:
        dense, ln, dec = _get(model, dense_p), _get(model, ln_p), _get(model, dec_p)
        if dense is not None and ln is not None and dec is not None:
            break
    else:
        return None
    act = act_p[1:] if act_p.startswith("=") else str(getattr(loaded.config, act_p, "gelu"))
    words = loaded.encoder.get_input_embeddings().weight
    tied = dec.weight is words or dec.weight.data_ptr() == words.data_ptr()
    bias = dec.bias if dec.bias is not None else (_get(model, "cls.predictions.bias") or _get(model, "predictions.bias"))
    preds, proofs = [], []
    if positions:
        h = np.asarray(last_hidden, np.float64)[list(positions)]
        x = activation(act, _linear(h, dense))
        x = layer_norm(x, _np(ln.weight), _np(ln.bias), float(ln.eps))[0]
        logits = x @ _np(dec.weight).T  # the decoder's own weight: the word table itself when tied, else its own
        if bias is not None:
            logits = logits + _np(bias)
        log_probs = np.log(softmax(logits))
        if model_log_probs is not None:
            proofs.append(proof(_("log-softmax(LN(act(h·W+b))·Eᵀ + b) = the model's log-probabilities"), log_probs,
                                model_log_probs))
        for i, pos in enumerate(positions):
            top = np.argsort(-log_probs[i])[:k]
            preds.append(MaskPrediction(int(pos), tuple(loaded.tokens_of(top)),
                                        tuple(float(np.exp(log_probs[i, t])) for t in top)))
    return MLMHeadStep(int(dense.weight.shape[1]), int(words.shape[0]), act, bool(tied), tuple(preds), tuple(proofs))


@dataclass(frozen=True)
class PoolerStep:
    cls: np.ndarray  # [D] the last hidden state of [CLS]
    pooled: np.ndarray  # [D] tanh(cls @ W + b)
    proofs: tuple[Proof, ...]


def pooler_step(loaded: LoadedModel, last_hidden: np.ndarray, model_pooled: np.ndarray | None) -> PoolerStep | None:
    pooler = getattr(loaded.encoder, "pooler", None)
    dense = getattr(pooler, "dense", None)
    if dense is None:
        return None
    cls = np.asarray(last_hidden[0], np.float64)
    pooled = np.tanh(_linear(cls, dense))
    proofs = () if model_pooled is None else (proof(_("tanh([CLS]·W + b) = the model's pooled output"), pooled, model_pooled),)
    return PoolerStep(cls.astype(np.float32), pooled.astype(np.float32), proofs)


@dataclass(frozen=True)
class LogitsStep:
    """A linear head on some vectors: what goes in, the logits, their softmax."""

    kind: str  # "classification", "token-classification", "question-answering", "next-sentence"
    labels: tuple[str, ...]
    logits: np.ndarray  # [labels] or [T, labels]
    probs: np.ndarray
    proofs: tuple[Proof, ...]


def _labels(loaded: LoadedModel, n: int) -> tuple[str, ...]:
    id2label = getattr(loaded.config, "id2label", None) or {}
    return tuple(str(id2label.get(i, f"LABEL_{i}")) for i in range(n))


def task_head_step(loaded: LoadedModel, last_hidden: np.ndarray, pooled: np.ndarray | None,
                   model_logits: dict[str, np.ndarray]) -> LogitsStep | None:
    """The loaded model's task head (BERT layout) recomputed; `model_logits` from the trace by name."""
    model = loaded.model
    head = loaded.head
    if head == "sequence-classification" and isinstance(getattr(model, "classifier", None), torch.nn.Linear) \
            and pooled is not None:
        logits = _linear(np.asarray(pooled, np.float64), model.classifier)
        ref = model_logits.get("cls.logits")
        return LogitsStep("classification", _labels(loaded, logits.shape[-1]), logits.astype(np.float32),
                          softmax(logits).astype(np.float32),
                          () if ref is None else (proof(_("pooled·W + b = the model's logits"), logits, ref),))
    if head == "token-classification" and isinstance(getattr(model, "classifier", None), torch.nn.Linear):
        logits = _linear(np.asarray(last_hidden, np.float64), model.classifier)
        ref = model_logits.get("token.logits")
        return LogitsStep("token-classification", _labels(loaded, logits.shape[-1]), logits.astype(np.float32),
                          softmax(logits).astype(np.float32),
                          () if ref is None else (proof(_("h·W + b per token = the model's logits"), logits, ref),))
    if head == "question-answering" and isinstance(getattr(model, "qa_outputs", None), torch.nn.Linear):
        logits = _linear(np.asarray(last_hidden, np.float64), model.qa_outputs)  # [T, 2]: start, end
        proofs = []
        for i, name in enumerate(("qa.start_logits", "qa.end_logits")):
            ref = model_logits.get(name)
            if ref is not None:
                what = _("h·w_start = the model's start logits") if i == 0 else _("h·w_end = the model's end logits")
                proofs.append(proof(what, logits[:, i], ref))
        return LogitsStep("question-answering", ("start", "end"), logits.astype(np.float32),
                          softmax(logits, axis=0).astype(np.float32), tuple(proofs))
    nsp = _get(model, "cls.seq_relationship")
    if isinstance(nsp, torch.nn.Linear) and pooled is not None:
        logits = _linear(np.asarray(pooled, np.float64), nsp)
        ref = model_logits.get("nsp.logits")
        return LogitsStep("next-sentence", ("IsNext", "NotNext"), logits.astype(np.float32),
                          softmax(logits).astype(np.float32),
                          () if ref is None else (proof(_("pooled·W + b = the model's next-sentence logits"), logits, ref),))
    return None
