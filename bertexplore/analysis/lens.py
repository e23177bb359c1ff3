"""The logit lens for encoders: the model's own output head read off every layer's hidden state.

Masked LM: the MLM head (transform + LayerNorm + vocabulary projection) on the hidden state at each [MASK] after
every layer (Din et al. 2024 find BERT often has the answer early). Classifier: the pooler and classifier on every
layer's [CLS]. Only the head runs, on L+1 vectors per position: no encoder forward.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .. import heads
from ..errors import InputError, UnsupportedModel
from ..i18n import _
from .arrays import hidden, tensor, with_names


@dataclass(frozen=True)
class Lens:
    """Per readout position (a [MASK], or [CLS] for a classifier) and per layer 0..L (0 = embeddings)."""

    kind: str  # "mlm" or "classifier"
    positions: tuple[int, ...]
    log_probs: np.ndarray  # [P, L+1, V or labels] log-softmax of the head on each layer's hidden state
    labels: tuple[str, ...] | None  # classifier label names

    @property
    def final(self) -> np.ndarray:
        """[P] the answer at the last layer (the model's own prediction)."""
        return self.log_probs[:, -1].argmax(-1)

    def final_rank(self) -> np.ndarray:
        """[P, L+1] rank (1 = top) of the final answer at every layer."""
        lp = self.log_probs
        ans = np.take_along_axis(lp, self.final[:, None, None].repeat(lp.shape[1], 1), axis=-1)[..., 0]
        return (lp > ans[..., None]).sum(-1) + 1

    def final_prob(self) -> np.ndarray:
        """[P, L+1] probability of the final answer at every layer."""
        lp = self.log_probs
        return np.exp(np.take_along_axis(lp, self.final[:, None, None].repeat(lp.shape[1], 1), axis=-1)[..., 0])

    def top_k(self, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
        """([P, L+1, k] ids, [P, L+1, k] probabilities), best first."""
        k = max(1, min(int(k), self.log_probs.shape[-1]))
        ids = np.argsort(-self.log_probs, axis=-1)[..., :k]
        return ids, np.exp(np.take_along_axis(self.log_probs, ids, axis=-1))


def _run_head(loaded: Any, name: str, x: torch.Tensor) -> np.ndarray:
    logits = loaded.head_call(name, x)  # through the door: its lock, counted, no gradients
    return torch.log_softmax(logits.float(), dim=-1).cpu().numpy()


def logit_lens(loaded: Any, trace: Any) -> Lens:
    """The model's own head on every layer; MLM heads at each [MASK], classifiers at [CLS]."""
    layers = trace.num_layers + 1
    trace = with_names(trace, loaded)
    if heads.has(loaded, "mlm"):
        positions = tuple(trace.mask_positions)
        if not positions:
            raise InputError(_("The logit lens of a masked LM reads [MASK] positions: mask at least one token."))
        states = np.stack([np.asarray(hidden(trace, l))[list(positions)] for l in range(layers)], axis=1)  # [P, L+1, D]
        lp = _run_head(loaded, "mlm", tensor(states).reshape(-1, states.shape[-1])).reshape(len(positions), layers, -1)
        return Lens("mlm", positions, lp, None)
    if heads.has(loaded, "cls"):
        states = np.stack([np.asarray(hidden(trace, l)) for l in range(layers)])  # [L+1, T, D]
        lp = _run_head(loaded, "cls", tensor(states))[None]  # [1, L+1, labels]
        id2label = getattr(loaded.config, "id2label", None) or {}
        names = tuple(str(id2label.get(i, i)) for i in range(lp.shape[-1]))
        return Lens("classifier", (0,), lp, names)
    raise UnsupportedModel(_("The logit lens needs a masked-LM head or a sequence classifier; '{name}' has neither.")
                           .format(name=loaded.name))
