"""Named-entity recognition: per-wordpiece tag probabilities -> words -> entities, plus the attention around them.

One forward gives both the tag logits and every attention map, so changing the aggregation strategy or the
selected entity never re-runs the model (`tag` once, then `entities` / `entity_attention` as often as needed).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..errors import InputError
from ..loading import LoadedModel
from ..tokens import Tokenized
from ..trace import Trace, run_trace
from .checkpoints import require_head
from .labels import label_names
from ..i18n import N_, _

Strategy = Literal["first", "average", "max"]
STRATEGIES: dict[str, str] = {
    N_("first"): N_("a word takes the tag of its first wordpiece"),
    N_("average"): N_("a word takes the tag with the highest probability averaged over its wordpieces"),
    N_("max"): N_("a word takes the tag of its most confident wordpiece"),
}


@dataclass(frozen=True)
class TokenTags:
    """What the model saw and said, per wordpiece; everything later is postprocessing."""

    model_name: str
    inputs: Tokenized
    labels: tuple[str, ...]
    probs: np.ndarray  # [T, labels] float32 softmax per wordpiece
    attentions: np.ndarray  # [layers, heads, T, T] float32, read-only (the trace's patterns, not a copy)
    notices: tuple[str, ...] = ()
    trace: Trace | None = None  # the one forward behind the tags


@dataclass(frozen=True)
class WordTag:
    index: int  # word index in Tokenized.words()
    text: str
    start: int
    end: int  # character span in the text
    positions: tuple[int, ...]
    label: str
    score: float


@dataclass(frozen=True)
class Entity:
    type: str
    text: str
    score: float  # mean of its words' scores
    start: int
    end: int  # [start, end) characters in the text
    words: tuple[int, ...]
    positions: tuple[int, ...]  # wordpiece positions, for the attention views

    def row(self) -> dict:
        return {"word": self.text, "type": self.type, "score": round(self.score, 4),
                "start": self.start, "end": self.end}


def split_tag(label: str) -> tuple[str, str]:
    """('B'|'I'|'O', type) from a BIO / IOB2 / BIOES label; unprefixed labels continue an entity of their type."""
    if label.upper() in ("O", "OUTSIDE"):
        return "O", ""
    if len(label) > 2 and label[1] in "-_" and label[0].upper() in "BIES":
        prefix = label[0].upper()
        return ("B" if prefix in "BS" else "I"), label[2:]
    return "I", label


def word_tags(inputs: Tokenized, probs: np.ndarray, labels: tuple[str, ...] | list[str],
              strategy: Strategy = "first") -> list[WordTag]:
    """One tag per word of the first segment, from its wordpieces' probabilities by `strategy`."""
    if strategy not in STRATEGIES:
        raise InputError(_("Unknown aggregation strategy '{strategy}'; choose one of {choices}.").format(
                             strategy=strategy, choices=', '.join(STRATEGIES)))
    probs = np.asarray(probs, dtype=np.float32)
    if probs.shape != (len(inputs), len(labels)):
        raise InputError(_("Expected probabilities of shape {value}, got {shape}.").format(
                             value=(len(inputs), len(labels)), shape=probs.shape))
    out = []
    for word in inputs.words():
        first = word.positions[0]
        if inputs.special[first] or inputs.word_ids[first] is None or word.segment != 0:
            continue
        rows = probs[list(word.positions)]
        if strategy == "first":
            dist = rows[0]
        elif strategy == "average":
            dist = rows.mean(axis=0)
        else:
            dist = rows[int(np.argmax(rows.max(axis=1)))]
        best = int(np.argmax(dist))
        start, end = inputs.offsets[first][0], inputs.offsets[word.positions[-1]][1]
        out.append(WordTag(word.index, word.text, start, end, tuple(word.positions), labels[best], float(dist[best])))
    return out


def group_entities(words: list[WordTag], text: str) -> list[Entity]:
    """Merge consecutive words into entities: B- starts one, I- of the same type continues it, O ends it."""
    entities: list[Entity] = []
    current: list[WordTag] = []
    kind = ""

    def close() -> None:
        if current:
            start, end = current[0].start, current[-1].end
            entities.append(Entity(
                type=kind, text=text[start:end], score=float(np.mean([w.score for w in current])),
                start=start, end=end, words=tuple(w.index for w in current),
                positions=tuple(p for w in current for p in w.positions),
            ))

    for word in words:
        prefix, etype = split_tag(word.label)
        if prefix == "O":
            close()
            current, kind = [], ""
        elif prefix == "B" or etype != kind or not current:
            close()
            current, kind = [word], etype
        else:
            current.append(word)
    close()
    return entities


def tag(loaded: LoadedModel, text: str) -> TokenTags:
    """Tokenise and run ONE traced forward; the tags and the attention maps are postprocesses of that trace."""
    require_head(loaded, "token-classification")
    return from_trace(loaded, run_trace(loaded, text))


def from_trace(loaded: LoadedModel, trace: Trace) -> TokenTags:
    """Per-wordpiece tag probabilities (softmax of `token.logits`) and the trace's attention patterns."""
    logits = trace["token.logits"].astype(np.float64)
    probs = np.exp(logits - logits.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    names, notices = label_names(loaded.config, probs.shape[-1])
    return TokenTags(loaded.name, trace.inputs, tuple(names), probs.astype(np.float32), trace.attentions,
                     tuple(trace.inputs.notices) + tuple(notices), trace)


def entities(tags: TokenTags, strategy: Strategy = "first") -> tuple[list[WordTag], list[Entity]]:
    words = word_tags(tags.inputs, tags.probs, tags.labels, strategy)
    return words, group_entities(words, tags.inputs.text)


def recognise(loaded: LoadedModel, text: str, strategy: Strategy = "first") -> list[Entity]:
    """Notebook shortcut: the entities in `text`."""
    return entities(tag(loaded, text), strategy)[1]


def entity_attention(attentions: np.ndarray, positions: tuple[int, ...] | list[int], layer: int,
                     head: int) -> tuple[np.ndarray, np.ndarray]:
    """For one layer/head: (attention FROM the entity to every token, averaged over its wordpieces;
    attention TO the entity from every token, summed over its wordpieces: the share of each token's attention it gets)."""
    layers, heads, length, _width = attentions.shape
    if not 0 <= layer < layers:
        raise InputError(_("Layer {layer} does not exist: this model has layers 0..{layers}.").format(
                             layer=layer, layers=layers - 1))
    if not 0 <= head < heads:
        raise InputError(_("Head {head} does not exist: this model has heads 0..{heads}.").format(
                             head=head, heads=heads - 1))
    cols = [p for p in positions if 0 <= p < length]
    if not cols:
        raise InputError(_("The entity has no token positions inside the input."))
    grid = attentions[layer, head]
    return grid[cols].mean(axis=0).astype(np.float32), grid[:, cols].sum(axis=1).astype(np.float32)
