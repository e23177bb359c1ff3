"""The attention function every explorer model runs: eager attention, per-forward head ablation and capture.

transformers 5 dropped `head_mask` and returns no weights under sdpa, so models are loaded with this registered
attention implementation. With no mask and no recorder set it is eager attention. Both live in context variables,
per forward and per thread, so one session's ablation or capture can never leak into another's forward on the same
shared model.
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

from . import capture, families

ATTN_IMPLEMENTATION = "bertexplore_eager"
_head_mask: ContextVar[torch.Tensor | None] = ContextVar("bertexplore_head_mask", default=None)


def explorer_attention(module: nn.Module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    """Eager attention (as in transformers' BERT), with the head mask and the recorder described above."""
    if scaling is None:
        scaling = query.size(-1) ** -0.5
    scores = torch.matmul(query * scaling, key.transpose(2, 3))  # scaling q ([T, d]) is cheaper than scores ([T, T])
    if attention_mask is not None:
        scores = scores + attention_mask
    recorder = capture.current()
    slot = recorder.pattern_slot(scores) if recorder is not None and not module.training else None
    if slot is not None:  # the softmax lands straight in the trace's buffer: no copy of [heads, T, T] per layer
        weights = torch.ops.aten._softmax.out(scores, -1, False, out=slot)
    else:
        weights = torch.softmax(scores, dim=-1)
        weights = nn.functional.dropout(weights, p=dropout, training=module.training)
    mask = _head_mask.get()
    layer = getattr(module, "_bertexplore_layer", None)
    if mask is not None and layer is not None:
        keep = mask[:, layer].to(device=weights.device, dtype=weights.dtype)[:, :, None, None]  # [batch|1, heads]
        weights = weights.mul_(keep) if slot is not None else weights * keep
    z = torch.matmul(weights, value)  # [batch, heads, tokens, head_dim]
    if recorder is not None:
        recorder.attention(query, key, value, scores, weights, z, in_place=slot is not None)
    return z.transpose(1, 2).contiguous(), weights


AttentionInterface.register(ATTN_IMPLEMENTATION, explorer_attention)
# Without a registered mask function transformers passes NO mask to a custom attention: padded batches would
# attend to their [PAD] tokens. Eager's additive mask (0 / dtype min) is what this function adds.
AttentionMaskInterface.register(ATTN_IMPLEMENTATION, eager_mask)


def number_attention_layers(model: nn.Module) -> int:
    """Tag each distinct self-attention module with its layer index (once, at load time); return how many."""
    modules = families.attention_modules(model)
    if len(modules) != families.layer_count(model):
        return len(modules)  # shared modules (ALBERT): a tag would switch a head off in every layer; none is set
    for index, module in enumerate(modules):
        module._bertexplore_layer = index
    return len(modules)


def supports_ablation(model: nn.Module) -> bool:
    """Only where every layer has its own tagged attention module (not ALBERT, whose layers share one)."""
    if getattr(model.config, "_attn_implementation", None) != ATTN_IMPLEMENTATION:
        return False
    tagged = {id(m) for m in model.modules() if hasattr(m, "_bertexplore_layer")}
    return len(tagged) == families.layer_count(model) > 0


@contextmanager
def ablated(mask: torch.Tensor | np.ndarray | None) -> Iterator[None]:
    """Within the block, forwards in this thread use `mask` ([batch or 1, layers, heads]; 0 = head off)."""
    token = _head_mask.set(None if mask is None else torch.as_tensor(mask, dtype=torch.float32))
    try:
        yield
    finally:
        _head_mask.reset(token)
