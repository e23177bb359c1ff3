"""Extractive question answering: SQuAD-like data, training features, and exact-match / F1 on held-out questions.

Data: one row per question with its paragraph and the answer as a span of the paragraph, in SQuAD-like
columns: `question`, `context`, `answer_text` and (optional) `answer_start`, or SQuAD's nested
`answers: {"text": [...], "answer_start": [...]}`. An empty answer is a SQuAD 2.0 "no answer" question.

Features follow the Hugging Face recipe: question + context windows (overflowing contexts split with a
stride), the answer's first and last context token as the start/end targets, [CLS] when the window does
not hold the answer. Held-out answers are decoded with the Question-answering page's own span decoding
(bertexplore.tasks.qa.best_spans), and scored with the SQuAD evaluation's normalisation (lower case, no
punctuation, no articles): exact match, and token F1, over held-out PARAGRAPHS the model never saw.
"""
from __future__ import annotations

import collections
import math
import re
import string
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch

from ..errors import InputError
from ..i18n import _
from .dataset_types import EncodedDataset
from .files import row_numbers as _rows

MIN_QUESTIONS = 8
MAX_ANSWER_TOKENS = 30


@dataclass
class QAData:
    """Questions over paragraphs; behaves like TaskData for the panel (len, counts, subset, split, source)."""

    questions: list[str]
    contexts: list[str]
    answers: list[tuple[str, int]]  # (text, start character); ("", -1) means "no answer in the paragraph"
    source: str = ""
    task: str = "qa"
    label_names: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    unit = "questions"

    def __len__(self) -> int:
        return len(self.questions)

    @property
    def unanswerable(self) -> int:
        return sum(1 for text, _start in self.answers if not text)

    def counts(self) -> dict[str, int]:
        out = {_("paragraphs"): len(set(self.contexts)), _("questions"): len(self.questions)}
        if self.unanswerable:
            out[_("without an answer")] = self.unanswerable
        return out

    def subset(self, indices) -> "QAData":
        idx = [int(i) for i in indices]
        return replace(self, questions=[self.questions[i] for i in idx], contexts=[self.contexts[i] for i in idx],
                       answers=[self.answers[i] for i in idx], notices=[])

    def split(self, fraction: float, seed: int) -> tuple["QAData", "QAData"]:
        """Held-out paragraphs, with all their questions: the score says how well it reads NEW text."""
        paragraphs = list(dict.fromkeys(self.contexts))
        if len(paragraphs) < 2:
            raise InputError(_("All questions are about one paragraph: held-out questions need paragraphs the model "
                               "did not train on. Add questions about at least two paragraphs."))
        take = min(max(1, int(round(len(paragraphs) * fraction))), len(paragraphs) - 1)
        order = np.random.default_rng(seed).permutation(len(paragraphs)).tolist()
        held = {paragraphs[i] for i in order[:take]}
        val = [i for i, c in enumerate(self.contexts) if c in held]
        train = [i for i, c in enumerate(self.contexts) if c not in held]
        rng = np.random.default_rng(seed)
        return self.subset(rng.permutation(train)), self.subset(val)


def _cell(value) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def _nested(value) -> tuple[str, int | None] | None:
    """SQuAD's {"text": [...], "answer_start": [...]}: the first answer, or ("", None) for none."""
    if not isinstance(value, dict):
        return None
    texts, starts = value.get("text") or [], value.get("answer_start") or []
    if isinstance(texts, str):
        texts, starts = [texts], [starts]
    if not texts:
        return "", None
    start = starts[0] if starts else None
    return str(texts[0]), (int(start) if start is not None and str(start).lstrip("-").isdigit() else None)


def prepare_table(table, config) -> QAData:
    """Check a QA table (CSV/TSV/JSONL) and locate every answer in its paragraph."""
    frame = table.frame
    if frame is None:
        raise InputError(_("'{file}' is plain text: question answering needs a table (CSV, TSV or JSONL) with "
                           "question, context and answer columns.").format(file=table.filename))
    answer_column = config.answer_column
    if answer_column not in frame.columns and "answers" in frame.columns:
        answer_column = "answers"  # SQuAD's own layout
    questions = list(table.column(config.question_column, _("questions")))
    contexts = list(table.column(config.context_column, _("paragraphs (context)")))
    answers_col = list(table.column(answer_column, _("answers")))
    starts_col = (list(frame[config.answer_start_column]) if config.answer_start_column in frame.columns
                  else [None] * len(frame))
    empty = [i for i, (q, c) in enumerate(zip(questions, contexts)) if not str(_cell(q) or "").strip()
             or not str(_cell(c) or "").strip()]
    if empty:
        raise InputError(_("'{file}': the question or the context is empty in row(s) {rows}.").format(
            file=table.filename, rows=_rows(empty)))
    answers, not_found, outside, moved = [], [], [], 0
    for i, (context, value, start) in enumerate(zip(contexts, answers_col, starts_col)):
        context = str(context)
        nested = _nested(value)
        if nested is not None:
            text, start = nested
        else:
            text = "" if _cell(value) is None else str(value)
            start = _cell(start)
        text = text.strip()
        if not text:
            answers.append(("", -1))
            continue
        try:
            start = int(float(start)) if start is not None and str(start).strip() != "" else None
        except ValueError:
            start = None
        if start is not None and not 0 <= start < len(context):
            outside.append(i)  # a start past the paragraph is a broken row, not a slightly shifted one
            continue
        if start is None or context[start:start + len(text)] != text:
            found = context.find(text)
            if found < 0:
                not_found.append(i)
                continue
            moved += start is not None
            start = found
        answers.append((text, start))
    if outside:
        raise InputError(_("'{file}': answer_start lies outside its paragraph in row(s) {rows} (it must count characters "
                           "from 0 to the paragraph's length). Fix the numbers, or leave answer_start empty to find "
                           "the answer in the paragraph.").format(file=table.filename, rows=_rows(outside)))
    if not_found:
        raise InputError(_("'{file}': the answer is not a span of its paragraph in row(s) {rows}. Extractive QA copies "
                           "the answer from the paragraph word for word.").format(file=table.filename,
                                                                                  rows=_rows(not_found)))
    data = QAData([str(q).strip() for q in questions], [str(c) for c in contexts], answers, source=table.filename)
    if moved:
        data.notices.append(_("{n} answer start(s) did not point at the answer text; the first occurrence in the "
                              "paragraph was used.").format(n=moved))
    if len(data) - data.unanswerable < MIN_QUESTIONS:
        raise InputError(_("'{file}' has {n} answerable question(s); training needs at least {m}.").format(
            file=table.filename, n=len(data) - data.unanswerable, m=MIN_QUESTIONS))
    return data


# ------------------------------------------------------------------------------------------ features
def _stride(max_length: int) -> int:
    return max(8, max_length // 4)


def encode(tokenizer, data: QAData, max_length: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(features with start/end targets, per-feature meta: example index, context offsets, [CLS] index)."""
    enc = tokenizer(data.questions, data.contexts, truncation="only_second", max_length=max_length,
                    stride=_stride(max_length), return_overflowing_tokens=True, return_offsets_mapping=True,
                    padding=False)
    keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in enc]
    features, meta = [], []
    for f, example in enumerate(enc["overflow_to_sample_mapping"]):
        seq = enc.sequence_ids(f)
        ids = enc["input_ids"][f]
        cls = ids.index(tokenizer.cls_token_id) if tokenizer.cls_token_id in ids else 0
        offsets = [tuple(o) if s == 1 else None for o, s in zip(enc["offset_mapping"][f], seq)]
        text, start_char = data.answers[example]
        start_tok = end_tok = cls
        if text:
            end_char = start_char + len(text)
            inside = [i for i, o in enumerate(offsets) if o is not None]
            if inside and offsets[inside[0]][0] <= start_char and offsets[inside[-1]][1] >= end_char:
                start_tok = next(i for i in inside if offsets[i][1] > start_char)
                end_tok = next(i for i in reversed(inside) if offsets[i][0] < end_char)
        row = {k: enc[k][f] for k in keys}
        row["start_positions"], row["end_positions"] = start_tok, end_tok
        features.append(row)
        meta.append({"example": int(example), "offsets": offsets, "cls": cls})
    if not features:
        raise InputError(_("No question could be encoded."))
    return features, meta


class QAFeatures(EncodedDataset):
    """Features plus what decoding needs; carries the metric hooks for the Trainer (exact match, F1)."""

    unit = "windows"  # a long paragraph gives several windows per question

    def __init__(self, features, meta, data: QAData) -> None:
        super().__init__(features)
        self.meta, self.data = meta, data

    def metric_hooks(self):
        def compute_metrics(prediction) -> dict[str, float]:
            return self.evaluate(prediction.predictions, prediction.label_ids)

        def preprocess(logits, labels):
            start, end = logits[0], logits[1]
            return torch.stack([start.float(), end.float()], dim=-1)  # [batch, tokens, 2]

        return compute_metrics, preprocess

    def evaluate(self, predictions, label_ids=None, full: bool = False) -> dict[str, Any]:
        logits = predictions[0] if isinstance(predictions, tuple) else predictions
        predicted = decode_answers(np.asarray(logits), self.meta, self.data)
        scores = [score_answer(p, gold) for p, (gold, _start) in zip(predicted, self.data.answers)]
        out: dict[str, Any] = {"exact_match": float(np.mean([s[0] for s in scores])) if scores else 0.0,
                               "f1": float(np.mean([s[1] for s in scores])) if scores else 0.0}
        if full:
            out["answers"] = [{"question": q, "expected": gold or "—", "predicted": p or "—", "f1": round(s[1], 3)}
                              for q, (gold, _start), p, s in zip(self.data.questions, self.data.answers, predicted, scores)]
        return out


def decode_answers(logits: np.ndarray, meta: list[dict[str, Any]], data: QAData) -> list[str]:
    """The best span per question across its windows (or "" when no-answer wins, for data that has such questions)."""
    from ..tasks.qa import best_spans

    allow_null = data.unanswerable > 0
    best: dict[int, tuple[float, str]] = {}
    null: dict[int, float] = {}
    for row, info in zip(logits, meta):
        n = len(info["offsets"])
        start, end = row[:n, 0].astype(np.float64), row[:n, 1].astype(np.float64)
        mask = np.array([o is not None for o in info["offsets"]], dtype=bool)
        example, cls = info["example"], info["cls"]
        null[example] = min(null.get(example, math.inf), float(start[cls] + end[cls]))
        for span in best_spans(start, end, mask, MAX_ANSWER_TOKENS, top_k=1):
            if example not in best or span.score > best[example][0]:
                a, b = info["offsets"][span.start][0], info["offsets"][span.end][1]
                best[example] = (span.score, data.contexts[example][a:b])
    out = []
    for i in range(len(data)):
        score, text = best.get(i, (-math.inf, ""))
        out.append("" if allow_null and null.get(i, -math.inf) > score else text)
    return out


def normalize_answer(text: str) -> str:
    """SQuAD's normalisation: lower case, no punctuation, no articles (a, an, the), single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def score_answer(predicted: str, gold: str) -> tuple[float, float]:
    """(exact match, token F1) as in the SQuAD 2.0 evaluation script; two empty answers match."""
    p, g = normalize_answer(predicted).split(), normalize_answer(gold).split()
    if not p or not g:
        same = float(p == g)
        return same, same
    common = collections.Counter(p) & collections.Counter(g)
    overlap = sum(common.values())
    if overlap == 0:
        return float(p == g), 0.0
    precision, recall = overlap / len(p), overlap / len(g)
    return float(p == g), 2 * precision * recall / (precision + recall)


def build(train: QAData, val: QAData, tokenizer, max_length: int):
    """(training features, held-out features with metric hooks, collator)."""
    from transformers import DataCollatorWithPadding

    if not getattr(tokenizer, "is_fast", False):
        raise InputError(_("Question answering needs a fast tokenizer (character offsets for the answer span)."))
    train_features, _meta = encode(tokenizer, train, max_length)
    val_features, val_meta = encode(tokenizer, val, max_length)
    return EncodedDataset(train_features, unit="windows"), QAFeatures(val_features, val_meta, val), DataCollatorWithPadding(tokenizer)
