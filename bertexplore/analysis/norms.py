"""Norm-based attention: how big is what each token actually sends, not just how much weight it gets.

Kobayashi et al. 2020 ("Attention is not only a weight"): head h's output at token i is Σ_j α_ij f(x_j), with
f(x_j) = (x_j W_V + b_V) W_O^h, so token j's share is the VECTOR α_ij f(x_j) and its size ‖α_ij f(x_j)‖ = α_ij ‖f(x_j)‖.
A large weight on a token whose f(x) is short (typically [CLS], [SEP], punctuation) moves little.

Kobayashi et al. 2021 ("Incorporating residual and normalization layers"): the block's output after the residual
and the LayerNorm, y_i = LN(x_i + Σ_h Σ_j α^h_ij f^h(x_j) + b_O), is linear in each token's share once LayerNorm's
per-token scale σ_i is fixed: LN(r) = γ ⊙ (r − mean(r)) / σ_i + β. Token j's share of y_i is
T_i(x_j) = γ ⊙ centre(Σ_h α^h_ij f^h(x_j) + δ_ij x_i) / σ_i, and we show ‖T_i(x_j)‖.

That norm is computed WITHOUT building the [T, T, D] vectors: with g̃^h_j = γ ⊙ centre(f^h(x_j)) and the per-token
Gram matrices G_j[h, h'] = g̃^h_j · g̃^h'_j, ‖Σ_h α^h_ij g̃^h_j‖² = α_ij^T G_j α_ij (T·T·H·H work instead of T·T·D).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .arrays import LayerArrays, tensor


@dataclass(frozen=True)
class Parts:
    """Torch views of one layer, shared by the norm and ALTI computations."""

    alpha: torch.Tensor  # [H, T, T]
    f: torch.Tensor  # [H, T, D]  f^h(x_j) (value vectors through the head's slice of W_O)
    f_ln: torch.Tensor  # [H, T, D]  γ ⊙ centre(f)
    x_ln: torch.Tensor  # [T, D]     γ ⊙ centre(x)
    sigma: torch.Tensor  # [T]       LayerNorm scale of the residual sum at each token
    y: torch.Tensor  # [T, D]        the block's output after the LayerNorm
    bias_ln: torch.Tensor  # [T, D]  γ ⊙ centre(b_O) / σ_i + β: the part of y_i no token sent


def _centre(t: torch.Tensor) -> torch.Tensor:
    return t - t.mean(dim=-1, keepdim=True)


def head_vectors(arrays: LayerArrays) -> torch.Tensor:
    """[H, T, D] f^h(x_j): each token's value vector through head h's rows of the output projection."""
    w = arrays.weights
    v = tensor(arrays.v)  # [H, T, d]
    o = tensor(w.o_w).reshape(w.heads, w.d_head, -1)  # [H, d, D]
    return torch.bmm(v, o)


def parts(arrays: LayerArrays) -> Parts:
    w = arrays.weights
    alpha = tensor(arrays.pattern)
    x = tensor(arrays.x)
    gamma, beta = tensor(w.ln1_w), tensor(w.ln1_b)
    f = head_vectors(arrays)
    # Σ_h Σ_j α f = concat_h(α_h v_h) W_O: cheaper than summing the [H, T, D] head outputs (d < D)
    z = torch.bmm(alpha, tensor(arrays.v)).permute(1, 0, 2).reshape(alpha.shape[1], -1)  # [T, H*d]
    heads_out = z @ tensor(w.o_w)
    r = x + heads_out + tensor(w.o_b)
    sigma = torch.sqrt(r.var(dim=-1, unbiased=False) + w.ln1_eps)
    y = gamma * _centre(r) / sigma[:, None] + beta
    bias_ln = gamma * _centre(tensor(w.o_b))[None, :] / sigma[:, None] + beta
    return Parts(alpha, f, gamma * _centre(f), gamma * _centre(x), sigma, y, bias_ln)


def weighted_norms(arrays: LayerArrays, p: Parts | None = None) -> np.ndarray:
    """[H, T, T] ‖α^h_ij f^h(x_j)‖ = α^h_ij ‖f^h(x_j)‖ per head (Kobayashi et al. 2020)."""
    f = p.f if p is not None else head_vectors(arrays)
    norms = f.norm(dim=-1)  # [H, T]
    return (tensor(arrays.pattern) * norms[:, None, :]).numpy()


def _quadratic(alpha: torch.Tensor, vectors: torch.Tensor) -> torch.Tensor:
    """[T, T] ‖Σ_h α^h_ij u^h_j‖² through the Gram matrices of u (no [T, T, D] tensor)."""
    gram = torch.einsum("hjd,kjd->jhk", vectors, vectors)  # [T_j, H, H]
    a = alpha.permute(1, 2, 0)  # [T_i, T_j, H]
    return torch.einsum("ijh,jhk,ijk->ij", a, gram, a).clamp_min_(0)


def summed_norms(arrays: LayerArrays, p: Parts | None = None) -> np.ndarray:
    """[T, T] ‖Σ_h α^h_ij f^h(x_j)‖: what token j sends to token i through all heads of the layer together."""
    f = p.f if p is not None else head_vectors(arrays)
    alpha = tensor(arrays.pattern)
    return _quadratic(alpha, f).sqrt_().numpy()


def residual_ln_norms(arrays: LayerArrays, p: Parts | None = None) -> np.ndarray:
    """[T, T] ‖T_i(x_j)‖: token j's share of the block output after residual and LayerNorm (Kobayashi et al. 2021)."""
    p = p or parts(arrays)
    sq = _quadratic(p.alpha, p.f_ln)
    # i = j also carries the residual x_i: ‖a + x̃‖² = ‖a‖² + 2 a·x̃ + ‖x̃‖², with a = Σ_h α^h_ii g̃^h_i.
    diag_alpha = torch.diagonal(p.alpha, dim1=1, dim2=2)  # [H, T]
    own = torch.einsum("ht,htd->td", diag_alpha, p.f_ln)  # [T, D]
    idx = torch.arange(sq.shape[0])
    sq[idx, idx] += 2 * (own * p.x_ln).sum(-1) + (p.x_ln * p.x_ln).sum(-1)
    return (sq.clamp_min_(0).sqrt_() / p.sigma[:, None]).numpy()
