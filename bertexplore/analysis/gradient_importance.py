"""Every head's importance from ONE forward and ONE backward (Michel et al. 2019, "Are sixteen heads really better
than one?"): multiply each head's attention by a gate ξ = 1 and take the gradient of the objective with respect to
the gates. ∂f/∂ξ_h is the first-order (Taylor) estimate of f(all on) − f(head h off), which is exactly what the
exhaustive ablation scan (head_importance.scan_heads) measures with one forward per head.

The gates go through the per-forward head mask of attention_function (a context variable): the shared model's
parameters stay frozen and untouched; only the gate tensor requires gradients.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .. import heads
from ..attention_function import ablated, supports_ablation
from ..errors import InputError, UnsupportedModel
from ..i18n import _
from ..trace import model_inputs


@dataclass(frozen=True)
class GradientImportance:
    position: int  # the [MASK] scored
    target_id: int  # the model's own top prediction there
    target: str
    value: float  # log p(target) with every head on
    gradient: np.ndarray  # [L, H] ∂ log p / ∂ξ: the estimated drop when the head is switched off

    @property
    def michel(self) -> np.ndarray:
        """|∂f/∂ξ|, the importance score of Michel et al. (sign dropped)."""
        return np.abs(self.gradient)


def _mask_position(loaded: Any, input_ids: np.ndarray) -> int:
    mask_id = loaded.tokenizer.mask_token_id
    positions = np.flatnonzero(input_ids == mask_id) if mask_id is not None else []
    if len(positions) == 0:
        raise InputError(_("Gradient head importance scores the model's prediction at a [MASK]: mask a token first."))
    return int(positions[0])


def objective(loaded: Any, inputs: Any, gates: torch.Tensor, position: int, target: int | None) -> tuple[torch.Tensor, int]:
    """log p(target) at `position` under `gates` ([1, L, H]); target None = the model's top prediction.

    Both the encoder and the head run through the model's door; with gates that require gradients the graph is
    kept so the caller can differentiate (the backward runs outside the lock).
    """
    grad = bool(gates.requires_grad)
    batch = model_inputs(loaded, inputs.input_ids, inputs.segment_ids)
    with ablated(gates):
        states = loaded.forward(batch, encoder_only=True, grad=grad).last_hidden_state[:, position]
    # The vocabulary projection at this one position only (the full [T, V] logits are ~25% of a bert-base forward).
    logits = loaded.head_call("mlm", states, grad=grad)[0].float()
    log_probs = torch.log_softmax(logits, dim=-1)
    chosen = int(log_probs.argmax()) if target is None else int(target)
    return log_probs[chosen], chosen


def gradient_importance(loaded: Any, inputs: Any) -> GradientImportance:
    """∂ log p(top prediction at the first [MASK]) / ∂ gate of every head: one forward, one backward."""
    if not heads.has(loaded, "mlm"):
        raise UnsupportedModel(_("Gradient head importance needs a masked-LM head (the objective is the prediction "
                                 "at a [MASK])."))
    if not supports_ablation(loaded.model):
        raise UnsupportedModel(_("Per-head gates are not available for '{name}'.").format(name=loaded.name))
    position = _mask_position(loaded, inputs.input_ids)
    with torch.inference_mode(False), torch.enable_grad():
        gates = torch.ones(1, loaded.num_layers, loaded.num_heads, device=loaded.device, requires_grad=True)
        value, target = objective(loaded, inputs, gates, position, None)
        (grad,) = torch.autograd.grad(value, gates)  # reads the frozen weights only: outside the lock
    return GradientImportance(position, target, loaded.tokens_of([target])[0], float(value.detach()),
                              grad[0].float().cpu().numpy())


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation of two [L, H] maps (1: same order of heads)."""
    from scipy.stats import spearmanr

    a, b = np.ravel(a), np.ravel(b)
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(spearmanr(a, b).statistic)
