"""The arrays of one attention block that every analysis method reads, taken from a trace and the layer weights.

`LayerArrays` holds, for layer l: its input x (the residual stream entering the block), the attention pattern,
the value vectors, and the weights of the output projection and of the LayerNorm after the attention residual
(BERT is post-LN: y = LN(x + attn(x))). With the trace-first engine the values come straight from the cache
(`blocks.{l}.attn.v`, `blocks.{l-1}.normalized_resid_post`), the weights from `anatomy.layer_weights`.
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


def _readonly(tensor) -> np.ndarray:
    array = tensor.detach().float().cpu().numpy()  # a view of the (CPU, float32) weights: no copy
    view = array.view()
    view.setflags(write=False)
    return view


def attn_weights(loaded: Any, layer: int) -> AttnWeights:
    """The value / output projections and the first LayerNorm of block `layer` (the modules anatomy.layer_weights
    reads), as read-only views: the whole LayerWeights would copy the feed-forward weights too (~28 MB a layer)."""
    from .. import families

    parts = families.layer_parts(loaded.model, layer)

    def bias(module):
        return module.bias if module.bias is not None else module.weight.new_zeros(module.out_features)

    heads = int(loaded.num_heads)
    return AttnWeights(
        v_w=_readonly(parts.v.weight).T, v_b=_readonly(bias(parts.v)), o_w=_readonly(parts.o.weight).T,
        o_b=_readonly(bias(parts.o)), ln1_w=_readonly(parts.ln1.weight), ln1_b=_readonly(parts.ln1.bias),
        ln1_eps=float(parts.ln1.eps), heads=heads, d_head=parts.v.weight.shape[0] // heads,
    )


def pattern(trace: Any, layer: int) -> np.ndarray:
    return trace[f"blocks.{layer}.attn.pattern"]


def patterns(trace: Any) -> np.ndarray:
    """[L, H, T, T] attention weights of every layer."""
    return trace.attentions


def hidden(trace: Any, layer: int) -> np.ndarray:
    """[T, D] residual stream after `layer` blocks (0 = the embeddings), i.e. the input of block `layer`."""
    return trace["embed.out"] if layer == 0 else trace[f"blocks.{layer - 1}.normalized_resid_post"]


def layer_arrays(trace: Any, loaded: Any, layer: int) -> LayerArrays:
    """The arrays of block `layer`; the trace must hold `NAMES` (see `with_names`)."""
    w = attn_weights(loaded, layer)
    return LayerArrays(x=np.asarray(hidden(trace, layer)), pattern=np.asarray(pattern(trace, layer)),
                       v=np.asarray(trace[f"blocks.{layer}.attn.v"]), weights=w)


# The cache names the analysis reads on top of a default trace.
NAMES = ("embed.out", "blocks.*.attn.pattern", "blocks.*.attn.v", "blocks.*.normalized_resid_post")


def analysis_names(loaded: Any) -> tuple[str, ...]:
    """What a trace must record for every analysis view: the default names plus `NAMES` (one forward)."""
    from ..trace import default_names

    return tuple(dict.fromkeys(tuple(default_names(loaded)) + NAMES))


def has_names(trace: Any) -> bool:
    return all(n.replace("*", str(l)) in trace for n in NAMES for l in range(trace.num_layers))


def with_names(trace: Any, loaded: Any) -> Any:
    """`trace` if it holds what the analysis reads, else a new trace of the same tokens that does (one forward)."""
    if has_names(trace):
        return trace
    if not getattr(loaded, "full_cache", True):
        raise UnsupportedModel(_("The analysis needs the full activation cache, which '{name}' ({kind}) does not "
                                 "provide.").format(name=loaded.name, kind=loaded.model_type))
    from ..trace import trace_tokens

    return trace_tokens(loaded, trace.inputs, analysis_names(loaded))


def tensor(array: np.ndarray):
    """A torch view of a (possibly read-only) float32 array, without a copy; the analysis never writes to it."""
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # trace arrays are read-only on purpose
        return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))
