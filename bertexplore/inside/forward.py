"""The few extra forwards Inside BERT runs (padding experiment, pre-training sample), through the model's door."""
from __future__ import annotations

from typing import Any

import torch

from .. import heads
from ..errors import UnsupportedModel
from ..i18n import _
from ..loading import LoadedModel


def run_forward(loaded: LoadedModel, batch: dict[str, torch.Tensor], encoder_only: bool = False, **kwargs: Any) -> Any:
    """One forward of the shared model through its door: its lock, no gradients, on its device."""
    return loaded.forward(batch, encoder_only=encoder_only, **kwargs)


def apply_head(loaded: LoadedModel, head: heads.Head | str | torch.nn.Module, *inputs: torch.Tensor) -> torch.Tensor:
    """Run one of the model's own heads on vectors already computed, through the door (`LoadedModel.head_call`):
    position-wise heads run on only the rows that matter, not every token of the batch.

    `head` is a Head, a head name (see bertexplore.heads), or the module of one of the model's heads.
    """
    if isinstance(head, torch.nn.Module):
        found = heads.by_module(loaded, head)
        if found is None:
            raise UnsupportedModel(_("'{name}' has no such head.").format(name=loaded.name))
        head = found
    return loaded.head_call(head if isinstance(head, str) else head.name, *inputs)


def model_key(loaded: LoadedModel) -> tuple:
    """The model's memo key (LoadedModel.key where the engine provides it)."""
    key = getattr(loaded, "key", None)
    return tuple(key) if key is not None else (loaded.name, loaded.head, loaded.device, loaded.dtype)


def mlm_head(loaded: LoadedModel) -> heads.Head | None:
    """The model's own masked-LM head (hidden [n, D] -> logits [n, V]; run it with apply_head), or None."""
    return heads.find(loaded, "mlm")
