"""Switch attention heads off, per forward, without touching the shared model's weights.

transformers 5 dropped `head_mask`, so models are loaded with an attention function of our own: eager attention
that multiplies each head's weights and output by a mask read from a context variable. With no mask set it is
exactly eager attention; the mask lives in the calling thread's context, so one session's ablation can never leak
into another session's forward on the same shared model.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterable, Iterator

import numpy as np
import torch
from torch import nn
from transformers import AttentionInterface
from transformers.models.bert.modeling_bert import eager_attention_forward

ATTN_IMPLEMENTATION = "bertexplore_eager"
_QUERY_NAMES = ("query", "q_lin", "q_proj")
_head_mask: ContextVar[torch.Tensor | None] = ContextVar("bertexplore_head_mask", default=None)


def _ablatable_eager(module: nn.Module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    out, weights = eager_attention_forward(module, query, key, value, attention_mask, scaling=scaling,
                                           dropout=dropout, **kwargs)
    mask = _head_mask.get()
    layer = getattr(module, "_bertexplore_layer", None)
    if mask is not None and layer is not None:
        keep = mask[:, layer].to(device=weights.device, dtype=weights.dtype)  # [batch or 1, heads]
        weights = weights * keep[:, :, None, None]
        out = out * keep[:, None, :, None]  # eager returns [batch, tokens, heads, head_dim]
    return out, weights


AttentionInterface.register(ATTN_IMPLEMENTATION, _ablatable_eager)


def number_attention_layers(model: nn.Module) -> int:
    """Tag each self-attention module with its layer index (done once, at load time); return how many."""
    count = 0
    for module in model.modules():
        if any(isinstance(getattr(module, name, None), nn.Linear) for name in _QUERY_NAMES):
            module._bertexplore_layer = count
            count += 1
    return count


def supports_ablation(model: nn.Module) -> bool:
    return getattr(model.config, "_attn_implementation", None) == ATTN_IMPLEMENTATION and any(
        hasattr(m, "_bertexplore_layer") for m in model.modules()
    )


def head_mask(num_layers: int, num_heads: int, off: Iterable[tuple[int, int]] = ()) -> torch.Tensor:
    """A [1, layers, heads] mask of ones with zeros at the (layer, head) pairs to switch off."""
    mask = torch.ones(1, num_layers, num_heads)
    for layer, head in off:
        if not (0 <= layer < num_layers and 0 <= head < num_heads):
            raise ValueError(f"Head L{layer} H{head} does not exist (layers 0..{num_layers - 1}, heads 0..{num_heads - 1}).")
        mask[0, layer, head] = 0.0
    return mask


def one_head_off_masks(num_layers: int, num_heads: int) -> torch.Tensor:
    """[layers*heads, layers, heads]: batch row k switches off head k alone (for an importance scan in one batch)."""
    masks = torch.ones(num_layers * num_heads, num_layers, num_heads)
    idx = torch.arange(num_layers * num_heads)
    masks[idx, idx // num_heads, idx % num_heads] = 0.0
    return masks


@contextmanager
def ablated(mask: torch.Tensor | np.ndarray | None) -> Iterator[None]:
    """Within the block, forwards in this thread use `mask` ([batch or 1, layers, heads]; 0 = head off)."""
    token = _head_mask.set(None if mask is None else torch.as_tensor(mask, dtype=torch.float32))
    try:
        yield
    finally:
        _head_mask.reset(token)
