"""What each attention head contributes: switch heads off and measure what changes.

With a masked-LM head the measure is the drop in log-probability of the model's own top prediction at the first
[MASK]; without one (e.g. the packaged MiniLM, a sentence-embedding model) it is how far the mean-pooled final
representation moves (1 - cosine similarity). Both come from the same batched forwards.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .ablation import ablated, head_mask, one_head_off_masks
from . import heads
from .errors import UnsupportedModel
from .i18n import _
from .loading import LoadedModel
from .tokens import Tokenized
from .trace import Trace, trace_batch, trace_tokens


@dataclass(frozen=True)
class Objective:
    kind: str  # "mlm" or "embedding"
    position: int | None  # the [MASK] scored, for "mlm"
    target_id: int | None
    target: str | None

    def describe(self) -> str:
        if self.kind == "mlm":
            return _("drop in log-probability of '{target}' at the [MASK] (token {position})").format(
                target=self.target, position=self.position)
        return _("shift of the sentence representation (1 − cosine of the mean-pooled last layer)")


@dataclass(frozen=True)
class AblationComparison:
    objective: Objective
    off: tuple[tuple[int, int], ...]
    baseline: float  # log p(target) or 1.0 (cosine of itself)
    ablated: float
    top_before: list[tuple[str, float]]  # (token, probability); empty for "embedding"
    top_after: list[tuple[str, float]]

    @property
    def effect(self) -> float:
        return self.baseline - self.ablated if self.objective.kind == "mlm" else 1.0 - self.ablated


def unavailable(loaded: LoadedModel) -> str | None:
    """Why heads of this model cannot be switched off one layer at a time, or None when they can."""
    if loaded.supports_ablation:
        return None
    if loaded.model_type == "albert":
        return _("Head ablation is not available for '{name}': ALBERT's layers all share ONE attention module, so "
                 "switching a head off would switch it off in every layer at once.").format(name=loaded.name)
    return _("Head ablation is not available for '{name}' ({kind}): its attention modules could not be matched "
             "one to one with its layers.").format(name=loaded.name, kind=loaded.model_type)


def _check(loaded: LoadedModel) -> None:
    problem = unavailable(loaded)
    if problem:
        raise UnsupportedModel(problem)


def _uses_mlm(loaded: LoadedModel) -> bool:
    return heads.has(loaded, "mlm")


def _names(loaded: LoadedModel) -> tuple[str, ...]:
    return ("mlm.log_probs",) if _uses_mlm(loaded) else (f"blocks.{loaded.num_layers - 1}.normalized_resid_post",)


def baseline(loaded: LoadedModel, inputs: Tokenized) -> Trace:
    """The unablated forward every comparison is measured against (run once, reused)."""
    return trace_tokens(loaded, inputs, _names(loaded))


def _pooled(loaded: LoadedModel, trace: Trace) -> np.ndarray:
    """Mean over tokens of the last layer's output."""
    name = f"blocks.{loaded.num_layers - 1}.normalized_resid_post"
    if name not in trace:
        raise UnsupportedModel(_("'{name}' ({model_type}) gives no layer outputs to compare.").format(
                                   name=loaded.name, model_type=loaded.model_type))
    return trace[name].astype(np.float64).mean(axis=0)


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-8))


def objective_for(loaded: LoadedModel, inputs: Tokenized, base: Trace | None = None) -> Objective:
    if _uses_mlm(loaded) and loaded.tokenizer.mask_token_id is not None:
        base = base or baseline(loaded, inputs)
        if base.mask_positions and base.mask_log_probs is not None:
            target = int(np.argmax(base.mask_log_probs[0]))
            return Objective("mlm", base.mask_positions[0], target, loaded.tokens_of([target])[0])
    return Objective("embedding", None, None, None)


def _top(log_probs: np.ndarray, loaded: LoadedModel, k: int = 5) -> list[tuple[str, float]]:
    best = np.argsort(-log_probs, kind="stable")[:k]
    return [(tok, float(np.exp(log_probs[i]))) for tok, i in zip(loaded.tokens_of(best), best)]


def compare(loaded: LoadedModel, inputs: Tokenized, off: list[tuple[int, int]], objective: Objective | None = None,
            base: Trace | None = None) -> AblationComparison:
    """The objective with all heads on vs with the heads in `off` switched off together: two traced forwards."""
    _check(loaded)
    base = base or baseline(loaded, inputs)
    objective = objective or objective_for(loaded, inputs, base)
    with ablated(head_mask(loaded.num_layers, loaded.num_heads, off)):
        after = trace_tokens(loaded, inputs, _names(loaded))
    if objective.kind == "mlm":
        target = objective.target_id
        before_lp, after_lp = base.mask_log_probs[0].astype(np.float64), after.mask_log_probs[0].astype(np.float64)
        return AblationComparison(objective, tuple(off), float(before_lp[target]), float(after_lp[target]),
                                  _top(before_lp, loaded), _top(after_lp, loaded))
    return AblationComparison(objective, tuple(off), 1.0, _cosine(_pooled(loaded, base), _pooled(loaded, after)), [], [])


def scan_heads(loaded: LoadedModel, inputs: Tokenized, batch_size: int = 16,
               progress: Callable[[float], None] | None = None,
               base: Trace | None = None) -> tuple[Objective, np.ndarray]:
    """Effect of switching each head off alone: [layers, heads], larger = the head matters more here."""
    _check(loaded)
    base = base or baseline(loaded, inputs)
    objective = objective_for(loaded, inputs, base)
    masks = one_head_off_masks(loaded.num_layers, loaded.num_heads)
    scores: list[float] = []
    for start in range(0, len(masks), batch_size):
        chunk = masks[start:start + batch_size]
        with ablated(chunk):  # row k of the batch runs with mask k
            traces = trace_batch(loaded, [inputs] * len(chunk), _names(loaded))
        if objective.kind == "mlm":
            before = float(base.mask_log_probs[0, objective.target_id])
            scores += [before - float(t.mask_log_probs[0, objective.target_id]) for t in traces]
        else:
            pooled = _pooled(loaded, base)
            scores += [1.0 - _cosine(pooled, _pooled(loaded, t)) for t in traces]
        if progress:
            progress(min(1.0, (start + len(chunk)) / len(masks)))
    return objective, np.asarray(scores, dtype=np.float32).reshape(loaded.num_layers, loaded.num_heads)
