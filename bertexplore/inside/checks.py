"""The proof shown beside every step: a value recomputed by hand next to the model's own, and how far apart."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# float32 sums over a few thousand terms differ from float64 in the 6th-7th significant digit; a wrong formula is
# off by far more. The bound scales with the size of the values compared (an FFN output of 50 carries ~1e-5 noise).
TOLERANCE = 1e-5


@dataclass(frozen=True)
class Proof:
    name: str  # what was recomputed, e.g. "softmax(scores) = attention pattern"
    max_abs_diff: float
    scale: float = 1.0  # largest |value| compared

    @property
    def ok(self) -> bool:
        return bool(np.isfinite(self.max_abs_diff)) and self.max_abs_diff <= TOLERANCE * max(10.0, self.scale)


def proof(name: str, by_hand, model_value) -> Proof:
    a = np.asarray(by_hand, dtype=np.float64)
    b = np.asarray(model_value, dtype=np.float64)
    if a.shape != b.shape:
        return Proof(name, float("inf"))
    if not a.size:
        return Proof(name, 0.0)
    finite = np.isfinite(b)
    return Proof(name, float(np.max(np.abs(a - b))), float(np.max(np.abs(b[finite]), initial=0.0)))


def from_engine(checks) -> list[Proof]:
    """bertexplore.anatomy's Check objects (name, recomputed, max_abs_diff) as Proofs."""
    return [Proof(str(c.name), float(c.max_abs_diff), float(np.max(np.abs(c.recomputed), initial=0.0)))
            for c in checks]


def layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """LayerNorm over the last axis, in float64; returns (result, mean, variance) so pages can show the middle."""
    x = np.asarray(x, dtype=np.float64)
    mean = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)  # biased, as torch's LayerNorm
    out = (x - mean) / np.sqrt(var + eps) * weight + bias
    return out, mean[..., 0], var[..., 0]


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    top = np.max(x, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    e = np.exp(x - top)
    return e / np.sum(e, axis=axis, keepdims=True)
