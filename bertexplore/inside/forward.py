"""The few extra forwards Inside BERT runs (padding experiment, pre-training sample), through the model's door."""
from __future__ import annotations

from typing import Any

import torch

from ..loading import LoadedModel


def run_forward(loaded: LoadedModel, batch: dict[str, torch.Tensor], **kwargs: Any) -> Any:
    """One forward of the shared model: its lock, no gradients, on its device (LoadedModel.forward where present)."""
    method = getattr(loaded, "forward", None)
    if callable(method):
        return method(batch, **kwargs)
    from ..trace import forward  # before the engine redesign: the module-level forward

    return forward(loaded, batch, **kwargs)


def tokenize_plain(loaded: LoadedModel, text: str, text_pair: str | None = None, max_length: int | None = None):
    """The shared tokenizer is not thread-safe: every use takes the model's lock."""
    limit = min(max_length or loaded.max_length, loaded.max_length)
    with loaded.lock:
        return loaded.tokenizer(text, text_pair, truncation=True, max_length=limit)


def model_key(loaded: LoadedModel) -> tuple:
    """The model's memo key (LoadedModel.key where the engine provides it)."""
    key = getattr(loaded, "key", None)
    return tuple(key) if key is not None else (loaded.name, loaded.head, loaded.device, loaded.dtype)
