"""The proof that the cache is the model: every step of a layer rebuilt by hand from cached inputs and the weights.

`layer_weights` / `embedding_weights` give a layer's parameters as read-only float32 numpy in the `x @ W` convention
(rows: inputs). `recompute_embeddings` / `recompute_layer` redo each step with plain numpy (float64), starting each
from the CACHED value of the step before, and report how far the result is from what the model computed; the tests
require 1e-5 for every family, and the teaching lab shows it live.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from . import families
from .errors import UnsupportedModel
from .loading import LoadedModel
from .trace import Trace
from .i18n import _

EMBED_STEPS = ("embed.word", "embed.position", "embed.segment", "embed.sum", "embed.out")
LAYER_STEPS = ("attn.q", "attn.k", "attn.v", "attn.scores", "attn.pattern", "attn.z", "attn.head_out", "attn.out",
               "normalized_resid_mid", "mlp.pre", "mlp.post", "mlp.out", "normalized_resid_post")
# Checked too when the trace holds them: the block's input and the two sums the model fed its LayerNorms.
SUM_STEPS = ("resid_pre", "resid_mid", "resid_post")
# Not executed by the model but derived from what it executed (README's name table says so): no proof of its own.
DERIVED_STEPS = ("attn.head_out",)


def _np(tensor: torch.Tensor | None) -> np.ndarray | None:
    if tensor is None:
        return None
    array = tensor.detach().float().cpu().numpy().copy()
    array.setflags(write=False)
    return array


@dataclass(frozen=True)
class LayerWeights:
    q_w: np.ndarray  # [D, H*d]
    q_b: np.ndarray
    k_w: np.ndarray
    k_b: np.ndarray
    v_w: np.ndarray
    v_b: np.ndarray
    o_w: np.ndarray  # [H*d, D]
    o_b: np.ndarray
    ln1_w: np.ndarray  # the LayerNorm after the attention residual
    ln1_b: np.ndarray
    ln1_eps: float
    ffn_in_w: np.ndarray  # [D, F]
    ffn_in_b: np.ndarray
    ffn_out_w: np.ndarray  # [F, D]
    ffn_out_b: np.ndarray
    ln2_w: np.ndarray
    ln2_b: np.ndarray
    ln2_eps: float
    activation: str
    heads: int
    d_head: int


@dataclass(frozen=True)
class EmbeddingWeights:
    word: np.ndarray  # [V, E]
    position: np.ndarray  # [P, E]
    segment: np.ndarray | None  # [S, E]; None for models without token types
    ln_w: np.ndarray
    ln_b: np.ndarray
    ln_eps: float
    position_offset: int  # RoBERTa's family counts positions from padding_idx + 1; others from 0
    padding_idx: int | None
    projection_w: np.ndarray | None = None  # [E, D] where the embedding size differs from the hidden size
    projection_b: np.ndarray | None = None

    def position_ids(self, input_ids: np.ndarray) -> np.ndarray:
        """The position each token reads (RoBERTa: padding tokens keep padding_idx, the rest count from it + 1)."""
        ids = np.asarray(input_ids)
        if self.position_offset == 0 or self.padding_idx is None:
            return np.arange(len(ids))
        real = (ids != self.padding_idx).astype(np.int64)
        return np.cumsum(real) * real + self.padding_idx


def _linear(module: torch.nn.Linear) -> tuple[np.ndarray, np.ndarray]:
    bias = module.bias if module.bias is not None else torch.zeros(module.out_features)
    return _np(module.weight.T), _np(bias)


def layer_weights(loaded: LoadedModel, layer: int) -> LayerWeights:
    parts = families.layer_parts(loaded.model, layer)
    q_w, q_b = _linear(parts.q)
    k_w, k_b = _linear(parts.k)
    v_w, v_b = _linear(parts.v)
    o_w, o_b = _linear(parts.o)
    f_in_w, f_in_b = _linear(parts.ffn_in)
    f_out_w, f_out_b = _linear(parts.ffn_out)
    heads = loaded.num_heads
    return LayerWeights(q_w, q_b, k_w, k_b, v_w, v_b, o_w, o_b, _np(parts.ln1.weight), _np(parts.ln1.bias),
                        float(parts.ln1.eps), f_in_w, f_in_b, f_out_w, f_out_b, _np(parts.ln2.weight),
                        _np(parts.ln2.bias), float(parts.ln2.eps), parts.activation, heads, q_w.shape[1] // heads)


def embedding_weights(loaded: LoadedModel) -> EmbeddingWeights:
    parts = families.embedding_parts(loaded.model)
    padding_idx = getattr(parts.position, "padding_idx", None)
    offset = 0
    if loaded.model_type in families.PADDING_OFFSET_TYPES:
        padding_idx = int(getattr(loaded.config, "pad_token_id", 1) if padding_idx is None else padding_idx)
        offset = padding_idx + 1
    proj_w = proj_b = None
    if parts.projection is not None:
        proj_w, proj_b = _linear(parts.projection)
    return EmbeddingWeights(
        word=_np(parts.word.weight), position=_np(parts.position.weight),
        segment=_np(parts.segment.weight) if parts.segment is not None else None,
        ln_w=_np(parts.ln.weight), ln_b=_np(parts.ln.bias), ln_eps=float(parts.ln.eps),
        position_offset=offset, padding_idx=padding_idx, projection_w=proj_w, projection_b=proj_b,
    )


@dataclass(frozen=True)
class Check:
    name: str
    recomputed: np.ndarray
    max_abs_diff: float


def layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)  # biased variance, as torch's LayerNorm
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def softmax(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


_SQRT_2_OVER_PI = float(np.sqrt(2.0 / np.pi))


def _erf_gelu(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


def _tanh_gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x ** 3)))


# Written out by formula (not transformers' ACT2FN), so "recomputed by hand" is independent of the code under test.
ACTIVATIONS = {
    "gelu": _erf_gelu,  # BERT's exact GELU: x·Φ(x)
    "gelu_python": _erf_gelu,
    "gelu_new": _tanh_gelu,  # the tanh approximation (ALBERT, GPT-2)
    "gelu_pytorch_tanh": _tanh_gelu,
    "gelu_fast": _tanh_gelu,
    "relu": lambda x: np.maximum(x, 0.0),
    "silu": lambda x: x / (1.0 + np.exp(-x)),
    "swish": lambda x: x / (1.0 + np.exp(-x)),
    "quick_gelu": lambda x: x / (1.0 + np.exp(-1.702 * x)),
    "tanh": np.tanh,
}


def activation(name: str, x: np.ndarray) -> np.ndarray:
    """The FFN's activation by its formula, in float64 (erf GELU, tanh GELU, ReLU, SiLU, ...)."""
    try:
        fn = ACTIVATIONS[str(name)]
    except KeyError:
        raise UnsupportedModel(_("The activation '{name}' has no formula here; known: {known}.").format(
            name=name, known=", ".join(sorted(ACTIVATIONS)))) from None
    return fn(np.asarray(x, dtype=np.float64))


def _check(trace: Trace, name: str, recomputed: np.ndarray) -> Check:
    cached = np.asarray(trace[name], dtype=np.float64)
    return Check(name, recomputed.astype(np.float32), float(np.max(np.abs(cached - recomputed))) if cached.size else 0.0)


def _f64(trace: Trace, name: str) -> np.ndarray:
    return np.asarray(trace[name], dtype=np.float64)


def embedding_names(loaded: LoadedModel) -> list[str]:
    """The cache names recompute_embeddings reads."""
    names = ["embed.word", "embed.position", "embed.sum", "embed.out"]
    if families.embedding_parts(loaded.model).segment is not None:
        names.insert(2, "embed.segment")
    return names


def layer_names(loaded: LoadedModel, layer: int) -> list[str]:
    """The cache names recompute_layer reads (its input: embed.out or the previous layer's normalized_resid_post)."""
    source = "embed.out" if layer == 0 else f"blocks.{layer - 1}.normalized_resid_post"
    return [source] + [f"blocks.{layer}.{step}" for step in LAYER_STEPS + SUM_STEPS]


def recompute_embeddings(trace: Trace, loaded: LoadedModel) -> list[Check]:
    """Look up the three vectors, sum them, LayerNorm (and project, for ALBERT / small ELECTRA)."""
    w = embedding_weights(loaded)
    ids = trace.inputs.input_ids
    checks = [_check(trace, "embed.word", w.word[ids].astype(np.float64)),
              _check(trace, "embed.position", w.position[w.position_ids(ids)].astype(np.float64))]
    total = _f64(trace, "embed.word") + _f64(trace, "embed.position")
    if w.segment is not None:
        segments = np.asarray(trace.inputs.segment_ids) if loaded.uses_segments else np.zeros(len(ids), dtype=np.int64)
        checks.append(_check(trace, "embed.segment", w.segment[segments].astype(np.float64)))
        total = total + _f64(trace, "embed.segment")
    checks.append(_check(trace, "embed.sum", total))
    out = layer_norm(_f64(trace, "embed.sum"), w.ln_w, w.ln_b, w.ln_eps)
    if w.projection_w is not None:
        out = out @ w.projection_w + w.projection_b
    checks.append(_check(trace, "embed.out", out))
    return checks


def recompute_layer(trace: Trace, loaded: LoadedModel, layer: int) -> list[Check]:
    """Rebuild every step of `layer`: q, k, v; scores; softmax; z; each head's share; their sum + bias; residual +
    LayerNorm; the MLP; residual + LayerNorm. Each step starts from the cache's value of the step before."""
    if not loaded.full_cache:
        raise UnsupportedModel(_("'{name}' ({model_type}) has no step-by-step cache.").format(
                                   name=loaded.name, model_type=loaded.model_type))
    w = layer_weights(loaded, layer)
    p = f"blocks.{layer}."
    x = _f64(trace, "embed.out" if layer == 0 else f"blocks.{layer - 1}.normalized_resid_post")  # [T, D]
    T, H, d = x.shape[0], w.heads, w.d_head

    def heads(y: np.ndarray) -> np.ndarray:  # [T, H*d] -> [H, T, d]
        return y.reshape(T, H, d).transpose(1, 0, 2)

    checks = []
    if p + "resid_pre" in trace:  # what the block really read, against the previous block's recorded output
        checks.append(_check(trace, p + "resid_pre", x))
    checks += [_check(trace, p + "attn.q", heads(x @ w.q_w + w.q_b)),
               _check(trace, p + "attn.k", heads(x @ w.k_w + w.k_b)),
               _check(trace, p + "attn.v", heads(x @ w.v_w + w.v_b))]
    q, k, v = _f64(trace, p + "attn.q"), _f64(trace, p + "attn.k"), _f64(trace, p + "attn.v")
    checks.append(_check(trace, p + "attn.scores", q @ k.transpose(0, 2, 1) / np.sqrt(d)))
    checks.append(_check(trace, p + "attn.pattern", softmax(_f64(trace, p + "attn.scores"))))
    checks.append(_check(trace, p + "attn.z", _f64(trace, p + "attn.pattern") @ v))
    # attn.head_out is derived (the recorder splits W_O per head): it has no proof of its own, but its sum plus
    # the bias must equal attn.out, which the model really computed.
    checks.append(_check(trace, p + "attn.out", _f64(trace, p + "attn.head_out").sum(0) + w.o_b))
    mid = x + _f64(trace, p + "attn.out")
    if p + "resid_mid" in trace:
        checks.append(_check(trace, p + "resid_mid", mid))
        mid = _f64(trace, p + "resid_mid")
    checks.append(_check(trace, p + "normalized_resid_mid", layer_norm(mid, w.ln1_w, w.ln1_b, w.ln1_eps)))
    h = _f64(trace, p + "normalized_resid_mid")
    checks.append(_check(trace, p + "mlp.pre", h @ w.ffn_in_w + w.ffn_in_b))
    checks.append(_check(trace, p + "mlp.post", activation(w.activation, _f64(trace, p + "mlp.pre"))))
    checks.append(_check(trace, p + "mlp.out", _f64(trace, p + "mlp.post") @ w.ffn_out_w + w.ffn_out_b))
    post = h + _f64(trace, p + "mlp.out")
    if p + "resid_post" in trace:
        checks.append(_check(trace, p + "resid_post", post))
        post = _f64(trace, p + "resid_post")
    checks.append(_check(trace, p + "normalized_resid_post", layer_norm(post, w.ln2_w, w.ln2_b, w.ln2_eps)))
    return checks
