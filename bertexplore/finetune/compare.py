"""Before/after on one sentence: the untrained starting model vs the fine-tuned one.

The "before" model is rebuilt from the job's config (same base, same seed, so the same fresh head) by the app's
one loader; each model runs ONE traced forward, and both the prediction and the attention change (after minus
before) are postprocesses of those two traces.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..loading import LoadedModel
from ..trace import Trace, run_trace
from .train import TrainResult, build_model


def before_model(result: TrainResult) -> LoadedModel:
    """The exact starting point of the run (seeded head), loaded afresh: never the shared cached model."""
    device = str(next(result.model.parameters()).device.type)
    model, tokenizer, source = build_model(result.config, result.label_names, device=device)
    return LoadedModel.wrap(model, tokenizer, f"{result.config.base_model} (before)", source, result.config.head)


@dataclass
class Prediction:
    """What one model says about the sentence, as rows ready for a table."""

    kind: str  # "labels" | "tags" | "fill"
    rows: list[dict] = field(default_factory=list)


@dataclass
class Comparison:
    tokens: tuple[str, ...]
    before: Prediction
    after: Prediction
    before_trace: Trace
    after_trace: Trace
    notices: list[str] = field(default_factory=list)

    @property
    def attention_change(self) -> np.ndarray:
        """[layers, heads, T, T]: after minus before, in attention-weight units (-1..1)."""
        return self.after_trace.attentions - self.before_trace.attentions

    def change_by_layer(self) -> np.ndarray:
        """Mean absolute change per layer and head, [layers, heads]: where fine-tuning moved attention most."""
        return np.abs(self.attention_change).mean(axis=(2, 3))


def _mask_positions(loaded: LoadedModel, text: str) -> tuple[list[int], list[str]]:
    """Positions to predict: the [MASK]s the user typed, else the middle word (with a notice)."""
    inputs = loaded.tokenize(text)
    mask_id = loaded.tokenizer.mask_token_id
    typed = [int(p) for p in np.flatnonzero(inputs.input_ids == mask_id)]
    if typed:
        return [], []
    words = [w for w in inputs.words() if not inputs.special[w.positions[0]] and any(ch.isalnum() for ch in w.text)]
    if not words:
        return [], ["The sentence has no word to mask."]
    word = words[len(words) // 2]
    return list(word.positions), [f"No {loaded.tokenizer.mask_token} in the sentence: the word '{word.text}' was masked."]


def predict(loaded: LoadedModel, trace: Trace, task: str, top_k: int = 5) -> Prediction:
    """The model's answer, read from the trace's head output (no second forward)."""
    names = loaded.model.config.id2label
    if task == "mlm":
        rows = []
        if trace.mask_log_probs is not None:
            for n, (pos, lp) in enumerate(zip(trace.mask_positions, trace.mask_log_probs)):
                best = np.argsort(-lp)[:top_k]
                for rank, idx in enumerate(best, start=1):
                    rows.append({"mask": n + 1, "position": pos, "rank": rank,
                                 "token": loaded.tokenizer.convert_ids_to_tokens(int(idx)),
                                 "probability": float(np.exp(lp[idx]))})
        return Prediction("fill", rows)
    if task in ("classification", "multilabel"):
        logits = trace["cls.logits"].astype(np.float64)
        probs = 1 / (1 + np.exp(-logits)) if task == "multilabel" else _softmax(logits)
        rows = [{"label": names[i], "probability": float(p)} for i, p in enumerate(probs.tolist())]
        return Prediction("labels", sorted(rows, key=lambda r: -r["probability"]))
    probs = _softmax(trace["token.logits"].astype(np.float64))
    rows = []
    for word in trace.inputs.words():
        first = word.positions[0]
        if trace.inputs.special[first]:
            continue
        k = int(probs[first].argmax())
        rows.append({"word": word.text, "tag": names[k], "probability": float(probs[first, k])})
    return Prediction("tags", rows)


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def compare(before: LoadedModel, after: LoadedModel, task: str, text: str) -> Comparison:
    masked, notices = _mask_positions(after, text) if task == "mlm" else ([], [])
    before_trace = run_trace(before, text, masked=masked)
    after_trace = run_trace(after, text, masked=masked)
    return Comparison(after_trace.tokens, predict(before, before_trace, task), predict(after, after_trace, task),
                      before_trace, after_trace, notices + list(after_trace.inputs.notices))
