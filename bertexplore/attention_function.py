"""The attention function every explorer model runs: eager attention plus per-forward head ablation.

transformers 5 dropped `head_mask` and returns no weights under sdpa, so models are loaded with this registered
attention implementation. With no mask set it is eager attention. The mask lives in a context variable, per
forward and per thread, so one session's ablation can never leak into another's forward on the same shared model.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

import numpy as np
import torch
from torch import nn
from transformers import AttentionInterface
from transformers.masking_utils import AttentionMaskInterface, eager_mask

ATTN_IMPLEMENTATION = "bertexplore_eager"
_QUERY_NAMES = ("query", "q_lin", "q_proj")
_head_mask: ContextVar[torch.Tensor | None] = ContextVar("bertexplore_head_mask", default=None)


def explorer_attention(module: nn.Module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    """Eager attention (as in transformers' BERT), with the head mask described above."""
    if scaling is None:
        scaling = query.size(-1) ** -0.5
    scores = torch.matmul(query * scaling, key.transpose(2, 3))  # scaling q ([T, d]) is cheaper than scores ([T, T])
    if attention_mask is not None:
        scores = scores + attention_mask
    layer = getattr(module, "_bertexplore_layer", None)
    weights = torch.softmax(scores, dim=-1)
    weights = nn.functional.dropout(weights, p=dropout, training=module.training)
    mask = _head_mask.get()
    if mask is not None and layer is not None:
        keep = mask[:, layer].to(device=weights.device, dtype=weights.dtype)[:, :, None, None]  # [batch|1, heads]
        weights = weights * keep
    out = torch.matmul(weights, value).transpose(1, 2).contiguous()  # [batch, tokens, heads, head_dim]
    return out, weights


AttentionInterface.register(ATTN_IMPLEMENTATION, explorer_attention)
# Without a mask function registered for this implementation, transformers' mask builders return None for it and
# padded batches attend to [PAD]: eager's additive mask (0 for real tokens, the dtype's minimum for padding) is what
# explorer_attention adds to the scores.
AttentionMaskInterface.register(ATTN_IMPLEMENTATION, eager_mask)


def number_attention_layers(model: nn.Module) -> int:
    """Tag each self-attention module with its layer index (once, at load time); return how many."""
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


@contextmanager
def ablated(mask: torch.Tensor | np.ndarray | None) -> Iterator[None]:
    """Within the block, forwards in this thread use `mask` ([batch or 1, layers, heads]; 0 = head off)."""
    token = _head_mask.set(None if mask is None else torch.as_tensor(mask, dtype=torch.float32))
    try:
        yield
    finally:
        _head_mask.reset(token)
