"""Step 3: one head, one query token, by hand: q·k/√d per key, the mask, softmax, z = Σ weight·v; then all heads
concatenated, projected with W_O, plus the bias."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..i18n import _
from .checks import Proof, proof, softmax


@dataclass(frozen=True)
class HeadStep:
    layer: int
    head: int
    query: int
    d_head: int
    q: np.ndarray  # [d] this token's query vector in this head (x @ W_Q + b_Q, its head's slice)
    k: np.ndarray  # [T, d] every token's key
    v: np.ndarray  # [T, d] every token's value
    dots: np.ndarray  # [T] q·k, unscaled
    scaled: np.ndarray  # [T] q·k / √d
    mask: np.ndarray  # [T] what the model added (0 for every real token)
    scores: np.ndarray  # [T] scaled + mask
    pattern: np.ndarray  # [T] softmax(scores): sums to 1
    z: np.ndarray  # [d] Σ_j pattern_j · v_j
    proofs: tuple[Proof, ...]


def head_step(q: np.ndarray, k: np.ndarray, v: np.ndarray, layer: int, head: int, query: int,
              mask: np.ndarray | None = None, model_scores: np.ndarray | None = None,
              model_pattern: np.ndarray | None = None, model_z: np.ndarray | None = None) -> HeadStep:
    """`q`, `k`, `v`: [H, T, d] of one layer (the trace's `blocks.l.attn.q/k/v`); `model_*`: [H, T, T] / [H, T, d]."""
    qv = np.asarray(q[head, query], np.float64)
    kh = np.asarray(k[head], np.float64)
    vh = np.asarray(v[head], np.float64)
    d = int(qv.shape[0])
    dots = kh @ qv
    scaled = dots / np.sqrt(d)
    add = np.zeros_like(scaled) if mask is None else np.asarray(mask, np.float64)
    scores = scaled + add
    pattern = softmax(scores)
    z = pattern @ vh
    proofs = []
    if model_scores is not None:
        proofs.append(proof(_("q·k/√d + mask = the model's scores"), scores, model_scores[head, query]))
    if model_pattern is not None:
        proofs.append(proof(_("softmax(scores) = the model's attention weights"), pattern, model_pattern[head, query]))
    if model_z is not None:
        proofs.append(proof(_("Σ weight·v = the model's z"), z, model_z[head, query]))
    f = lambda a: a.astype(np.float32)  # noqa: E731
    return HeadStep(layer, head, query, d, f(qv), f(kh), f(vh), f(dots), f(scaled), f(add), f(scores), f(pattern), f(z),
                    tuple(proofs))


@dataclass(frozen=True)
class MixStep:
    """All heads' z for the query token, concatenated and projected: attn_out = concat(z) @ W_O + b_O."""

    concat: np.ndarray  # [H*d]
    per_head: np.ndarray  # [H, D] each head's share: z_h @ W_O[h*d:(h+1)*d]
    bias: np.ndarray  # [D]
    out: np.ndarray  # [D]
    head_norms: np.ndarray  # [H] length of each head's share: which heads this token's update comes from
    proofs: tuple[Proof, ...]


def mix_step(z: np.ndarray, query: int, o_w: np.ndarray, o_b: np.ndarray, model_out: np.ndarray | None = None) -> MixStep:
    """`z`: [H, T, d]; `o_w`: [H*d, D] (x @ W convention); `model_out`: [T, D] (the trace's `blocks.l.attn.out`)."""
    zq = np.asarray(z[:, query], np.float64)  # [H, d]
    heads, d = zq.shape
    w = np.asarray(o_w, np.float64)
    per_head = np.einsum("hd,hdD->hD", zq, w.reshape(heads, d, -1))
    concat = zq.reshape(-1)
    out = concat @ w + np.asarray(o_b, np.float64)
    proofs = []
    if model_out is not None:
        proofs.append(proof(_("concat(z) @ W_O + b_O = the model's attention output"), out, model_out[query]))
        proofs.append(proof(_("Σ heads' shares + b_O = the same output"), per_head.sum(0) + o_b, model_out[query]))
    f = lambda a: np.asarray(a, np.float32)  # noqa: E731
    return MixStep(f(concat), f(per_head), f(o_b), f(out), f(np.linalg.norm(per_head, axis=-1)), tuple(proofs))


def query_patterns(pattern: np.ndarray, query: int) -> np.ndarray:
    """[H, T]: the query token's attention in every head of a layer (multi-head, side by side)."""
    return np.asarray(pattern[:, query], np.float32)
