"""Before/after on one sentence: the untrained starting model vs the fine-tuned one.

The "before" model is rebuilt from the job's config (same base, same seed, so the same fresh head);
both are traced with bertexplore.trace.run_trace, and the attention change is after minus before.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..loading import LoadedModel
from ..tokens import tokenize
from ..trace import Trace, forward, model_inputs, run_trace
from .train import TrainResult, build_model


def before_model(result: TrainResult) -> LoadedModel:
    """The exact starting point of the run (seeded head), loaded afresh: never the shared cached model."""
    model, tokenizer, source = build_model(result.config, result.label_names)
    model.to(next(result.model.parameters()).device).eval()
    model.requires_grad_(False)
    return LoadedModel(name=f"{result.config.base_model} (before)", source=source, head=result.config.head,
                       model=model, tokenizer=tokenizer, config=model.config,
                       device=str(next(model.parameters()).device.type), dtype="float32", has_head=True)


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
    with loaded.lock:
        inputs = tokenize(loaded.tokenizer, text, max_length=loaded.max_length)
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
    out = forward(loaded, model_inputs(loaded, trace.inputs.input_ids, trace.inputs.segment_ids))
    logits = out.logits[0].float().cpu()
    if task in ("classification", "multilabel"):
        probs = torch.sigmoid(logits) if task == "multilabel" else torch.softmax(logits, -1)
        rows = [{"label": names[i], "probability": float(p)} for i, p in enumerate(probs.tolist())]
        return Prediction("labels", sorted(rows, key=lambda r: -r["probability"]))
    probs = torch.softmax(logits, -1)
    rows = []
    for word in trace.inputs.words():
        first = word.positions[0]
        if trace.inputs.special[first]:
            continue
        k = int(probs[first].argmax())
        rows.append({"word": word.text, "tag": names[k], "probability": float(probs[first, k])})
    return Prediction("tags", rows)


def compare(before: LoadedModel, after: LoadedModel, task: str, text: str) -> Comparison:
    masked, notices = _mask_positions(after, text) if task == "mlm" else ([], [])
    before_trace = run_trace(before, text, masked=masked)
    after_trace = run_trace(after, text, masked=masked)
    return Comparison(after_trace.tokens, predict(before, before_trace, task), predict(after, after_trace, task),
                      before_trace, after_trace, notices + list(after_trace.inputs.notices))
