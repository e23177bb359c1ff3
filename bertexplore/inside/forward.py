"""The few extra forwards Inside BERT runs (padding experiment, pre-training sample), through the model's door."""
from __future__ import annotations

from typing import Any

import torch

from ..loading import LoadedModel


def run_forward(loaded: LoadedModel, batch: dict[str, torch.Tensor], encoder_only: bool = False, **kwargs: Any) -> Any:
    """One forward of the shared model through its door: its lock, no gradients, on its device."""
    return loaded.forward(batch, encoder_only=encoder_only, **kwargs)


def apply_head(loaded: LoadedModel, module, *inputs: torch.Tensor) -> torch.Tensor:
    """Run one of the model's own head modules on vectors already computed (position-wise heads: only the rows
    that matter, not every token of the batch)."""
    with loaded.lock, torch.inference_mode():
        return module(*(x.to(loaded.device) for x in inputs))


def model_key(loaded: LoadedModel) -> tuple:
    """The model's memo key (LoadedModel.key where the engine provides it)."""
    key = getattr(loaded, "key", None)
    return tuple(key) if key is not None else (loaded.name, loaded.head, loaded.device, loaded.dtype)


def mlm_head(loaded: LoadedModel):
    """The model's own masked-LM head as a function of final hidden states [n, D] -> logits [n, V], or None."""
    model = loaded.model
    cls = getattr(getattr(model, "cls", None), "predictions", None)
    if cls is not None:  # BERT: BertForMaskedLM and BertForPreTraining
        return cls
    if getattr(model, "lm_head", None) is not None:  # RoBERTa, XLM-R, CamemBERT
        return model.lm_head
    if getattr(model, "vocab_projector", None) is not None:  # DistilBERT
        return lambda h: model.vocab_projector(model.vocab_layer_norm(model.activation(model.vocab_transform(h))))
    if getattr(model, "predictions", None) is not None and hasattr(model.predictions, "decoder"):  # ALBERT
        return model.predictions
    if getattr(model, "generator_lm_head", None) is not None:  # ELECTRA's generator
        return lambda h: model.generator_lm_head(model.generator_predictions(h))
    return None
