"""Sequence classification: label scores for a text (or a text pair), softmax or sigmoid as the checkpoint was trained."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

import numpy as np

from ..errors import InputError
from ..loading import LoadedModel
from ..tokens import Tokenized
from ..trace import Trace, trace_tokens
from .checkpoints import require_head
from .labels import label_names
from ..i18n import N_, _

Mode = Literal["single-label", "multi-label", "regression"]

MODE_EXPLANATIONS: dict[str, str] = {
    "single-label": N_(
        "Single-label classifier: exactly one label applies, so the logits go through a **softmax** and the "
        "probabilities add up to 1; the prediction is the most probable label."
    ),
    "multi-label": N_(
        "Multi-label classifier (problem_type multi_label_classification): any number of labels may apply, so "
        "each logit goes through its own **sigmoid**; a label is predicted when its probability reaches its threshold."
    ),
    "regression": N_(
        "Regression head (one output, or problem_type regression): the model predicts a number, shown as the raw score."
    ),
}


def problem_mode(config, num_outputs: int) -> Mode:
    """How the checkpoint's outputs are meant to be read, from its config's problem_type and output count."""
    problem = getattr(config, "problem_type", None)
    if problem == "multi_label_classification":
        return "multi-label"
    if problem == "regression" or (problem is None and num_outputs == 1):
        return "regression"
    return "single-label"


def scores_from_logits(logits: np.ndarray, mode: Mode) -> np.ndarray:
    logits = np.asarray(logits, dtype=np.float64)
    if mode == "single-label":
        shifted = np.exp(logits - logits.max())
        return (shifted / shifted.sum()).astype(np.float32)
    if mode == "multi-label":
        return (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)
    return logits.astype(np.float32)


def predicted_labels(scores: np.ndarray, mode: Mode, thresholds: Sequence[float] | None = None) -> tuple[int, ...]:
    """Indices the model predicts: the argmax (single-label), every label over its threshold (multi-label)."""
    if mode == "single-label":
        return (int(np.argmax(scores)),)
    if mode == "multi-label":
        limits = np.full(len(scores), 0.5) if thresholds is None else np.asarray(thresholds, dtype=np.float64)
        if limits.shape != (len(scores),):
            raise InputError(_("Give one threshold per label ({n_scores}), not {size}.").format(
                                 n_scores=len(scores), size=limits.size))
        if np.any((limits < 0) | (limits > 1)):
            raise InputError(_("Thresholds are probabilities: each must lie between 0 and 1."))
        return tuple(int(i) for i in np.flatnonzero(scores >= limits))
    return ()


@dataclass(frozen=True)
class Classification:
    model_name: str
    inputs: Tokenized
    labels: tuple[str, ...]
    logits: np.ndarray  # [labels] float32
    scores: np.ndarray  # probabilities (softmax / sigmoid) or the raw value for regression
    mode: Mode
    predicted: tuple[int, ...]
    thresholds: tuple[float, ...] | None = None
    notices: tuple[str, ...] = ()
    trace: Trace | None = None  # the forward that made this prediction (its attention, for the page)

    @property
    def explanation(self) -> str:
        return _(MODE_EXPLANATIONS[self.mode])

    def rows(self) -> list[dict]:
        rows = []
        for i, name in enumerate(self.labels):
            row = {"index": i, "label": name, "logit": float(self.logits[i]),
                   "score" if self.mode == "regression" else "probability": float(self.scores[i]),
                   "predicted": i in self.predicted}
            if self.mode == "multi-label" and self.thresholds is not None:
                row["threshold"] = float(self.thresholds[i])
            rows.append(row)
        return rows


def encode(loaded: LoadedModel, text: str, text_pair: str | None = None) -> Tokenized:
    """Tokenise under the model's lock (fast tokenizers are not thread-safe), truncating to the model's limit."""
    return loaded.tokenize(text, text_pair)


def classify(
    loaded: LoadedModel,
    text: str,
    text_pair: str | None = None,
    thresholds: Sequence[float] | None = None,
    inputs: Tokenized | None = None,
    names: Sequence[str] | None = None,
) -> Classification:
    """Preprocess, one traced forward, postprocess: label scores read the way the checkpoint was trained.

    `names`: what else the trace keeps (None: every layer's attention pattern and the head outputs)."""
    require_head(loaded, "sequence-classification")
    inputs = inputs or encode(loaded, text, text_pair)
    wanted = None if names is None else tuple(names) + ("cls.logits",)
    return from_trace(loaded, trace_tokens(loaded, inputs, wanted), thresholds)


def from_trace(loaded: LoadedModel, trace: Trace, thresholds: Sequence[float] | None = None) -> Classification:
    """The postprocess of a trace holding `cls.logits`."""
    return from_logits(loaded, trace.inputs, trace["cls.logits"], thresholds, trace=trace)


def from_logits(loaded: LoadedModel, inputs: Tokenized, logits: np.ndarray,
                thresholds: Sequence[float] | None = None, trace: Trace | None = None) -> Classification:
    """The postprocess half of classify; the page reruns only this when a threshold moves."""
    mode = problem_mode(loaded.config, len(logits))
    names, notices = label_names(loaded.config, len(logits))
    scores = scores_from_logits(logits, mode)
    if mode == "multi-label" and thresholds is None:
        thresholds = [0.5] * len(logits)
    predicted = predicted_labels(scores, mode, thresholds)
    return Classification(
        model_name=loaded.name, inputs=inputs, labels=tuple(names), logits=np.asarray(logits, dtype=np.float32),
        scores=scores, mode=mode, predicted=predicted,
        thresholds=None if thresholds is None or mode != "multi-label" else tuple(float(t) for t in thresholds),
        notices=tuple(inputs.notices) + tuple(notices), trace=trace,
    )


def output_transform(mode: Mode) -> str:
    """Which function of the logits attributions explain: the same one the page reports."""
    return {"single-label": "softmax", "multi-label": "sigmoid", "regression": "logit"}[mode]


__all__ = ["Classification", "classify", "encode", "from_logits", "from_trace", "output_transform", "predicted_labels",
           "problem_mode", "scores_from_logits", "MODE_EXPLANATIONS"]
