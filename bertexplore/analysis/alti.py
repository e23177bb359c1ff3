"""ALTI (Ferrando et al. 2022, "Measuring the mixing of contextual information in the transformer").

Each block output y_i (after residual and LayerNorm) is a sum of one vector per input token, T_i(x_j) (see norms),
plus a bias. Token j's contribution to i is how CLOSE its vector is to the result, in Manhattan distance:
c_ij = max(0, ‖y_i‖₁ − ‖y_i − T_i(x_j)‖₁), normalised so that every row sums to 1. Contributions through the whole
model roll out by matrix product (R_l = C_l R_{l-1}): the residual is already inside C_l.

Written from the paper and the structure of the authors' code (mt-upc/transformer-contributions): the [T, T, D]
vectors are built in chunks of rows that fit a memory budget, never for all heads at once ([H, T, T, D] in the
reference code: 600 MB per layer at 128 tokens of bert-base), and LayerNorm's scale is the exact sqrt(var + eps).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .arrays import LayerArrays, layer_arrays, with_names
from .norms import Parts, parts

CHUNK_BYTES = 4 * 2 ** 20  # the [rows, T, D] block of vectors built at once


def _distances(p: Parts, chunk_bytes: int = CHUNK_BYTES) -> torch.Tensor:
    """[T, T] σ_i ‖y_i − T_i(x_j)‖₁ ... divided back by σ_i: the L1 distance of each token's vector to the result."""
    heads, length, dim = p.f_ln.shape
    rows = max(1, min(length, chunk_bytes // max(1, length * dim * 4)))
    scaled_y = p.y * p.sigma[:, None]  # work unscaled: σ_i·T_i(x_j) is a plain sum of vectors
    f_by_token = p.f_ln.permute(1, 0, 2).contiguous()  # [T_j, H, D]
    out = torch.empty(length, length)
    for start in range(0, length, rows):
        stop = min(length, start + rows)
        a = p.alpha[:, start:stop, :].permute(2, 1, 0)  # [T_j, c, H]
        u = torch.bmm(a, f_by_token)  # [T_j, c, D]: σ_i T_i(x_j) without the residual
        local = torch.arange(stop - start)
        u[local + start, local] += p.x_ln[start:stop]  # the residual: token i carries itself
        u.sub_(scaled_y[start:stop][None])
        out[start:stop] = torch.linalg.vector_norm(u, ord=1, dim=-1).T / p.sigma[start:stop, None]
    return out


def alti_layer(arrays: LayerArrays, p: Parts | None = None, chunk_bytes: int = CHUNK_BYTES) -> np.ndarray:
    """[T, T] ALTI contributions of one block: row i = how much each input token j makes up output i; rows sum to 1."""
    p = p or parts(arrays)
    dist = _distances(p, chunk_bytes)
    c = (p.y.abs().sum(-1)[:, None] - dist).clamp_min_(0)
    sums = c.sum(-1, keepdim=True)
    c = torch.where(sums > 0, c / sums.clamp_min(1e-30), torch.eye(c.shape[0]))  # degenerate row: itself
    return c.numpy().astype(np.float32)


def rollout(per_layer: np.ndarray) -> np.ndarray:
    """[L, T, T] R_l = C_l R_{l-1}: how much each INPUT token makes up each position after layer l."""
    out = np.empty_like(per_layer, dtype=np.float32)
    acc = np.eye(per_layer.shape[-1], dtype=np.float64)
    for layer in range(per_layer.shape[0]):
        acc = per_layer[layer].astype(np.float64) @ acc
        out[layer] = acc
    return out


def alti(trace: Any, loaded: Any) -> np.ndarray:
    """[L, T, T] ALTI contributions of every layer of a trace."""
    trace = with_names(trace, loaded)
    return np.stack([alti_layer(layer_arrays(trace, loaded, l)) for l in range(trace.num_layers)])
