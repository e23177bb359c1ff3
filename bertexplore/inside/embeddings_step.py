"""Step 2: each token's word, position and segment vectors, their SUM, then LayerNorm."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..i18n import _
from .checks import Proof, layer_norm, proof


@dataclass(frozen=True)
class EmbeddingStep:
    word: np.ndarray  # [T, E] rows of the learned word-embedding table
    position: np.ndarray  # [T, E]
    segment: np.ndarray | None  # [T, E]; None for families without segment embeddings (DistilBERT, RoBERTa-like: one row)
    summed: np.ndarray  # [T, E] word + position (+ segment), computed here
    mean: np.ndarray  # [T] before LayerNorm
    var: np.ndarray  # [T]
    normed: np.ndarray  # [T, E] after LayerNorm (weight and bias applied), computed here
    out_mean: np.ndarray  # [T] after LayerNorm
    out_var: np.ndarray
    proofs: tuple[Proof, ...]

    @property
    def width(self) -> int:
        return int(self.word.shape[1])


def embedding_step(word: np.ndarray, position: np.ndarray, segment: np.ndarray | None,
                   ln_w: np.ndarray, ln_b: np.ndarray, ln_eps: float,
                   model_sum: np.ndarray | None = None, model_out: np.ndarray | None = None,
                   projection: tuple[np.ndarray, np.ndarray] | None = None) -> EmbeddingStep:
    """Rebuild the embedding output from the three looked-up vectors; compare with the model's where given.

    `projection` (x @ W + b after LayerNorm): ALBERT's small embedding is projected up to the hidden size.
    """
    summed = np.asarray(word, np.float64) + np.asarray(position, np.float64)
    if segment is not None:
        summed = summed + np.asarray(segment, np.float64)
    normed, mean, var = layer_norm(summed, ln_w, ln_b, ln_eps)
    proofs = []
    if model_sum is not None:
        proofs.append(proof(_("word + position + segment = the model's sum"), summed, model_sum))
    if model_out is not None:
        out = normed if projection is None else normed @ projection[0] + projection[1]
        proofs.append(proof(_("LayerNorm(sum) = the model's embedding output"), out, model_out))
    return EmbeddingStep(
        word=np.asarray(word), position=np.asarray(position), segment=None if segment is None else np.asarray(segment),
        summed=summed.astype(np.float32), mean=mean.astype(np.float32), var=var.astype(np.float32),
        normed=normed.astype(np.float32), out_mean=normed.mean(-1).astype(np.float32),
        out_var=normed.var(-1).astype(np.float32), proofs=tuple(proofs),
    )


def embedding_step_from_trace(trace, weights) -> EmbeddingStep:
    """From the trace's `embed.*` activations and `anatomy.embedding_weights`."""
    segment = trace["embed.segment"] if "embed.segment" in trace else None
    projection = None
    if getattr(weights, "projection_w", None) is not None:
        projection = (weights.projection_w, weights.projection_b)
    return embedding_step(
        trace["embed.word"], trace["embed.position"], segment, weights.ln_w, weights.ln_b, weights.ln_eps,
        model_sum=trace["embed.sum"] if "embed.sum" in trace else None,
        model_out=trace["embed.out"] if "embed.out" in trace else None, projection=projection,
    )
