"""Head census: where each head's attention goes (Clark et al. 2019) and what its pattern looks like (Kovaleva et
al. 2019), for one text or averaged over a bundled set of sentence pairs run in ONE padded batch.

Statistics, per head, averaged over the real (non-padding) rows: the share of attention on [CLS], on [SEP], on
punctuation, on the previous token, on the next token, and the row entropy (nats).

Pattern labels, by these rules (thresholds in `RULES`, each score averaged over rows and over sentences):
- vertical score   = mean share of a row on the few columns the whole head favours (the 2 columns with the
                     largest total attention: typically [CLS], [SEP] or a full stop);
- diagonal score   = mean share of a row within one position of itself (previous, self, next);
- block score      = mean share of a row inside its own segment, rescaled so that uniform attention scores 0
                     and all-in-segment scores 1 (needs two segments; 0 otherwise).
Label: "vertical + diagonal" if both vertical and diagonal ≥ MIXED; else "vertical" if vertical ≥ VERTICAL; else
"diagonal" if diagonal ≥ DIAGONAL; else "block" if block ≥ BLOCK; else "heterogeneous".
"""
from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from ..errors import InputError
from ..i18n import N_, _
from .arrays import patterns

SENTENCES_FILE = Path(__file__).resolve().parents[2] / "assets" / "examples" / "census.json"
RULES = {"VERTICAL": 0.5, "DIAGONAL": 0.5, "MIXED": 0.3, "BLOCK": 0.6}
LABELS = ("vertical", "diagonal", "vertical + diagonal", "block", "heterogeneous")
LABEL_NAMES = {
    "vertical": N_("vertical"), "diagonal": N_("diagonal"), "vertical + diagonal": N_("vertical + diagonal"),
    "block": N_("block"), "heterogeneous": N_("heterogeneous"),
}
STATS = {
    "cls": N_("to [CLS]"), "sep": N_("to [SEP]"), "punct": N_("to punctuation"),
    "prev": N_("to previous token"), "next": N_("to next token"), "entropy": N_("entropy (nats)"),
}


@dataclass(frozen=True)
class TokenKinds:
    """Per token of one input: is it the [CLS]-like first special, a [SEP]-like special, punctuation; its segment."""

    cls: np.ndarray  # bool [T]
    sep: np.ndarray
    punct: np.ndarray
    segment: np.ndarray  # int [T]


def is_punctuation(token: str) -> bool:
    text = token.lstrip("#").lstrip("\u0120\u2581")  # WordPiece continuation, byte-BPE and SentencePiece markers
    return bool(text) and all(unicodedata.category(ch).startswith("P") for ch in text)


def token_kinds(tokens: Sequence[str], special: Sequence[bool], segments: Sequence[int]) -> TokenKinds:
    special = np.asarray(special, dtype=bool)
    cls = np.zeros(len(tokens), dtype=bool)
    if len(tokens) and special[0]:
        cls[0] = True  # [CLS] / <s> opens the input
    sep = special & ~cls
    punct = np.array([(not s) and is_punctuation(t) for t, s in zip(tokens, special)], dtype=bool)
    return TokenKinds(cls, sep, punct, np.asarray(segments, dtype=np.int64))


@dataclass(frozen=True)
class Census:
    stats: dict[str, np.ndarray]  # name -> [L, H]
    scores: dict[str, np.ndarray]  # "vertical" / "diagonal" / "block" -> [L, H]
    sentences: int

    @property
    def labels(self) -> np.ndarray:
        return label_heads(self.scores)

    def counts(self) -> dict[str, int]:
        labels = self.labels
        return {name: int((labels == name).sum()) for name in LABELS}


def head_scores(att: np.ndarray, kinds: TokenKinds) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Statistics and pattern scores of one input's attention [L, H, T, T] (T real tokens, no padding)."""
    att = np.asarray(att, dtype=np.float32)
    length = att.shape[-1]
    if length < 2:
        raise InputError(_("The census needs at least two tokens."))
    stats = {
        "cls": att[..., kinds.cls].sum(-1).mean(-1),
        "sep": att[..., kinds.sep].sum(-1).mean(-1),
        "punct": att[..., kinds.punct].sum(-1).mean(-1) if kinds.punct.any() else np.zeros(att.shape[:2], np.float32),
        "prev": np.diagonal(att, offset=-1, axis1=-2, axis2=-1).sum(-1) / length,  # row 0 has no previous token
        "next": np.diagonal(att, offset=1, axis1=-2, axis2=-1).sum(-1) / length,
        "entropy": -(att * np.log(np.clip(att, 1e-12, None))).sum(-1).mean(-1),
    }
    idx = np.arange(length)
    near = np.abs(idx[:, None] - idx[None, :]) <= 1
    diagonal = (att * near).sum(-1).mean(-1)
    column_mass = att.mean(-2)  # [L, H, T]
    top = np.argsort(-column_mass, axis=-1)[..., :2]
    vertical = np.take_along_axis(column_mass, top, axis=-1).sum(-1)
    segs = kinds.segment
    if len(np.unique(segs)) > 1:
        same = segs[:, None] == segs[None, :]
        inside = (att * same).sum(-1)  # [L, H, T]
        chance = same.mean(-1)  # uniform attention's share inside the row's segment
        block = ((inside - chance) / np.clip(1 - chance, 1e-6, None)).mean(-1)
    else:
        block = np.zeros(att.shape[:2], np.float32)
    scores = {"vertical": vertical, "diagonal": diagonal, "block": np.clip(block, 0, 1)}
    return ({k: v.astype(np.float32) for k, v in stats.items()}, {k: v.astype(np.float32) for k, v in scores.items()})


def label_heads(scores: dict[str, np.ndarray]) -> np.ndarray:
    """[L, H] pattern label per head, by the module docstring's rules."""
    v, d, b = scores["vertical"], scores["diagonal"], scores["block"]
    out = np.full(v.shape, "heterogeneous", dtype=object)
    out[b >= RULES["BLOCK"]] = "block"
    out[d >= RULES["DIAGONAL"]] = "diagonal"
    out[v >= RULES["VERTICAL"]] = "vertical"
    out[(v >= RULES["MIXED"]) & (d >= RULES["MIXED"])] = "vertical + diagonal"
    return out


def census_of_trace(trace: Any) -> Census:
    """The census of the user's text: from its trace, no model call."""
    inputs = trace.inputs
    kinds = token_kinds(inputs.tokens, inputs.special, inputs.segment_ids)
    stats, scores = head_scores(patterns(trace), kinds)
    return Census(stats, scores, 1)


@lru_cache(maxsize=1)
def bundled_pairs() -> tuple[tuple[str, str], ...]:
    data = json.loads(SENTENCES_FILE.read_text(encoding="utf-8"))
    return tuple((p["a"], p["b"]) for p in data["pairs"])


def _forward(loaded: Any, batch: dict[str, torch.Tensor], **kwargs: Any) -> Any:
    """One padded batch through the encoder (no task head), through the model's one door."""
    return loaded.forward(batch, encoder_only=True, **kwargs)


def census_of_set(loaded: Any, pairs: Sequence[tuple[str, str]] | None = None, max_length: int = 128) -> Census:
    """Census averaged over sentence pairs, all in ONE padded forward."""
    pairs = list(pairs or bundled_pairs())
    if not pairs:
        raise InputError(_("The census needs at least one sentence."))
    enc = loaded.with_tokenizer(lambda tok: tok([a for a, _b in pairs], [b for _a, b in pairs], padding=True,
                                                truncation=True, max_length=min(max_length, loaded.max_length),
                                                return_tensors="pt", return_special_tokens_mask=True,
                                                return_token_type_ids=True))
    batch = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
    if loaded.uses_segments:
        batch["token_type_ids"] = enc["token_type_ids"]
    out = _forward(loaded, batch, output_attentions=True)
    att = torch.stack(list(out.attentions), dim=1).float().cpu().numpy()  # [B, L, H, T, T]
    stats_sum: dict[str, np.ndarray] = {}
    scores_sum: dict[str, np.ndarray] = {}
    for b in range(len(pairs)):
        n = int(enc["attention_mask"][b].sum())
        ids = enc["input_ids"][b, :n].tolist()
        tokens = loaded.tokens_of(ids)
        special = enc["special_tokens_mask"][b, :n].bool().tolist()
        segs = _segments(enc, b, n, special)
        sub = att[b, :, :, :n, :n]
        sub = sub / np.clip(sub.sum(-1, keepdims=True), 1e-12, None)  # padded columns got ~0 weight
        stats, scores = head_scores(sub, token_kinds(tokens, special, segs))
        for k, v in stats.items():
            stats_sum[k] = stats_sum.get(k, 0) + v
        for k, v in scores.items():
            scores_sum[k] = scores_sum.get(k, 0) + v
    count = len(pairs)
    return Census({k: (v / count).astype(np.float32) for k, v in stats_sum.items()},
                  {k: (v / count).astype(np.float32) for k, v in scores_sum.items()}, count)


def _segments(enc: Any, b: int, n: int, special: list[bool]) -> list[int]:
    """Segment per token: token_type_ids where the model has them, else counted from the [SEP]-like tokens."""
    if "token_type_ids" in enc and int(enc["token_type_ids"][b, :n].max()) > 0:
        return enc["token_type_ids"][b, :n].tolist()
    segs, seg = [], 0
    for i, s in enumerate(special):
        segs.append(seg)
        if s and i > 0:
            seg += 1  # RoBERTa-style </s></s>: each separator opens the next segment
    return segs


def difference(a: Census, b: Census) -> dict[str, np.ndarray]:
    """b − a per statistic, where both models have the same layers × heads."""
    if a.stats["cls"].shape != b.stats["cls"].shape:
        raise InputError(_("The two models have different numbers of layers or heads ({a} vs {b}): their census "
                           "maps cannot be subtracted.").format(a="×".join(map(str, a.stats["cls"].shape)),
                                                                b="×".join(map(str, b.stats["cls"].shape))))
    return {k: b.stats[k] - a.stats[k] for k in a.stats}
