"""The arrays of one attention block that every analysis method reads, taken from a trace and the layer weights.

`LayerArrays` holds, for layer l: its input x (the residual stream entering the block), the attention pattern,
the value vectors, and the weights of the output projection and of the LayerNorm after the attention residual
(BERT is post-LN: y = LN(x + attn(x))). With the trace-first engine the values come straight from the cache
(`blocks.{l}.attn.v`); from an older trace they are recomputed as x @ W_v + b_v (one small matmul per layer).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import UnsupportedModel
from ..i18n import _


@dataclass(frozen=True)
class AttnWeights:
    """What the analysis needs of one layer's weights, in the `x @ W` convention (as anatomy.LayerWeights)."""

    v_w: np.ndarray  # [D, H*d]
    v_b: np.ndarray  # [H*d]
    o_w: np.ndarray  # [H*d, D]
    o_b: np.ndarray  # [D]
    ln1_w: np.ndarray  # [D]
    ln1_b: np.ndarray  # [D]
    ln1_eps: float
    heads: int
    d_head: int


@dataclass(frozen=True)
class LayerArrays:
    x: np.ndarray  # [T, D] input of the block
    pattern: np.ndarray  # [H, T, T] attention weights, row i = token i attending
    v: np.ndarray  # [H, T, d] value vectors
    weights: AttnWeights


def _np(tensor) -> np.ndarray:
    return tensor.detach().float().cpu().numpy()


def _modules_fallback(loaded: Any, layer: int) -> AttnWeights:
    """Read the weights straight from a BERT-style layer (used only where bertexplore.anatomy is absent)."""
    encoder = getattr(loaded.encoder, "encoder", None)
    layers = getattr(encoder, "layer", None)
    if layers is None:
        raise UnsupportedModel(_("This analysis needs a BERT-style encoder; '{name}' has another layout.").format(
            name=loaded.name))
    block = layers[layer]
    self_attn, out = block.attention.self, block.attention.output
    heads = int(loaded.num_heads)
    return AttnWeights(
        v_w=_np(self_attn.value.weight).T, v_b=_np(self_attn.value.bias), o_w=_np(out.dense.weight).T,
        o_b=_np(out.dense.bias), ln1_w=_np(out.LayerNorm.weight), ln1_b=_np(out.LayerNorm.bias),
        ln1_eps=float(out.LayerNorm.eps), heads=heads, d_head=self_attn.value.weight.shape[0] // heads,
    )


def attn_weights(loaded: Any, layer: int) -> AttnWeights:
    try:
        from ..anatomy import layer_weights  # the engine's one door to the weights (issue 8)
    except ImportError:
        return _modules_fallback(loaded, layer)
    w = layer_weights(loaded, layer)
    return AttnWeights(w.v_w, w.v_b, w.o_w, w.o_b, w.ln1_w, w.ln1_b, float(w.ln1_eps), int(w.heads), int(w.d_head))


def _named(trace: Any) -> bool:
    return hasattr(trace, "names")


def pattern(trace: Any, layer: int) -> np.ndarray:
    if _named(trace):
        return trace[f"blocks.{layer}.attn.pattern"]
    return trace.attentions[layer]


def patterns(trace: Any) -> np.ndarray:
    """[L, H, T, T] attention weights of every layer."""
    if _named(trace):
        return np.stack([trace[f"blocks.{l}.attn.pattern"] for l in range(trace.num_layers)])
    return np.asarray(trace.attentions)


def block_input(trace: Any, layer: int) -> np.ndarray:
    """[T, D] residual stream entering block `layer`."""
    if _named(trace):
        return trace["embed.out"] if layer == 0 else trace[f"blocks.{layer - 1}.resid_post"]
    return trace.hidden_states[layer]


def hidden(trace: Any, layer: int) -> np.ndarray:
    """[T, D] hidden state after `layer` blocks (0 = embeddings)."""
    return block_input(trace, layer)


def layer_arrays(trace: Any, loaded: Any, layer: int) -> LayerArrays:
    w = attn_weights(loaded, layer)
    x = np.asarray(block_input(trace, layer), dtype=np.float32)
    name = f"blocks.{layer}.attn.v"
    if _named(trace) and name in trace:
        v = trace[name]
    else:
        v = (x @ w.v_w + w.v_b).reshape(x.shape[0], w.heads, w.d_head).transpose(1, 0, 2)
    return LayerArrays(x=x, pattern=np.asarray(pattern(trace, layer)), v=np.ascontiguousarray(v, np.float32), weights=w)


# The cache names the analysis reads, for callers that build a trace with only what they need (engine API).
NAMES = ("embed.out", "blocks.*.attn.pattern", "blocks.*.attn.v", "blocks.*.resid_post")


def tensor(array: np.ndarray):
    """A torch view of a (possibly read-only) float32 array, without a copy; the analysis never writes to it."""
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # trace arrays are read-only on purpose
        return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))
