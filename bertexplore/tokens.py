"""Tokenise user text into plain data: wordpieces, word ids, segments, offsets, and word groupings."""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np

from .errors import InputError
from .segment import regroup_word_ids
from .unknown import UnknownReport, find_unknown
from .i18n import N_, _

MAX_CHARS = 100_000  # beyond this even tokenising gets slow; far past any model's 512 tokens anyway


def clean_text(text: str | None, what: str = N_("text")) -> tuple[str, list[str]]:
    """Drop control characters (they confuse offsets and rendering) and refuse empty input. `what` names the input
    in the messages: an English phrase marked with N_, translated here."""
    notices: list[str] = []
    what = _(what)
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise InputError(_("The {what} must be a string.").format(what=what))
    cleaned = "".join(
        " " if (unicodedata.category(ch) == "Cc" and ch not in "\n\t") else ch for ch in text
    )
    if cleaned != text:
        notices.append(_("Control characters in the {what} were replaced by spaces.").format(what=what))
    if len(cleaned) > MAX_CHARS:
        cleaned = cleaned[:MAX_CHARS]
        notices.append(_("The {what} was cut to its first {limit:,} characters.").format(what=what, limit=MAX_CHARS))
    if not cleaned.strip():
        raise InputError(_("The {what} is empty: type a sentence first.").format(what=what))
    return cleaned, notices


@dataclass(frozen=True)
class Word:
    index: int  # position among all words of the input, both segments
    segment: int
    text: str
    positions: tuple[int, ...]  # token positions of its wordpieces


@dataclass(frozen=True)
class Tokenized:
    """The model's view of the text: one entry per token, all plain Python / numpy."""

    text: str
    text_pair: str | None
    tokens: tuple[str, ...]
    input_ids: np.ndarray  # int64 [T]
    word_ids: tuple[int | None, ...]
    segment_ids: tuple[int, ...]  # 0 for sentence A, 1 for sentence B (special tokens take their neighbour's)
    offsets: tuple[tuple[int, int], ...]  # character span in the text of its own segment
    special: tuple[bool, ...]
    full_length: int  # tokens before truncation
    notices: tuple[str, ...] = ()
    unknown: UnknownReport | None = None  # why some tokens are [UNK]; None when none is

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def truncated(self) -> bool:
        return self.full_length > len(self.tokens)

    def segment_text(self, segment: int) -> str:
        return self.text if segment == 0 else (self.text_pair or "")

    def words(self) -> list[Word]:
        """Group wordpieces into the words they came from; special tokens are words of their own."""
        groups: dict[tuple, list[int]] = {}
        for pos, (wid, seg, spec) in enumerate(zip(self.word_ids, self.segment_ids, self.special)):
            key = ("special", pos) if (spec or wid is None) else (seg, wid)
            groups.setdefault(key, []).append(pos)
        words = []
        for i, positions in enumerate(sorted(groups.values(), key=lambda p: p[0])):
            first = positions[0]
            if self.special[first] or self.word_ids[first] is None:
                text = self.tokens[first]
            else:
                start = self.offsets[first][0]
                end = self.offsets[positions[-1]][1]
                text = self.segment_text(self.segment_ids[first])[start:end]
            words.append(Word(i, self.segment_ids[first], text, tuple(positions)))
        return words

    def word_of(self) -> list[int]:
        """Word index for every token position."""
        out = [0] * len(self.tokens)
        for word in self.words():
            for pos in word.positions:
                out[pos] = word.index
        return out

    def whole_word(self, positions: list[int] | tuple[int, ...]) -> list[int]:
        """Every wordpiece of every word touched by `positions` (whole-word masking)."""
        owner = self.word_of()
        chosen = {owner[p] for p in positions if 0 <= p < len(self.tokens) and not self.special[p]}
        return [p for p in range(len(self.tokens)) if owner[p] in chosen and not self.special[p]]

    def table(self) -> list[dict]:
        """Rows for the token table shown under the input."""
        owner = self.word_of()
        words = self.words()
        return [
            {
                "position": pos,
                "wordpiece": tok,
                "id": int(self.input_ids[pos]),
                "word": words[owner[pos]].text,
                "segment": "AB"[self.segment_ids[pos]] if self.segment_ids[pos] in (0, 1) else str(self.segment_ids[pos]),
                "special": self.special[pos],
            }
            for pos, tok in enumerate(self.tokens)
        ]


def tokenize(tokenizer, text: str, text_pair: str | None = None, max_length: int = 512) -> Tokenized:
    """Tokenise one text (or a pair), truncating to `max_length` tokens with a notice."""
    text, notices = clean_text(text, N_("text"))
    if text_pair is not None and text_pair.strip():
        text_pair, pair_notices = clean_text(text_pair, N_("second sentence"))
        notices += pair_notices
    else:
        text_pair = None
    full = len(tokenizer(text, text_pair, truncation=False, add_special_tokens=True)["input_ids"])
    enc = tokenizer(
        text, text_pair, truncation=full > max_length, max_length=max_length,
        return_offsets_mapping=True, return_special_tokens_mask=True,
    )
    ids = enc["input_ids"]
    if full > max_length:
        notices.append(_("The input has {full} tokens; the model reads at most {max_length}, so it was cut to {kept}."
                         ).format(full=full, max_length=max_length, kept=len(ids)))
    seq_ids = enc.sequence_ids()
    segments: list[int] = []
    for pos, sid in enumerate(seq_ids):
        if sid is None:  # [CLS] belongs to A; [SEP]s to the segment they close
            sid = seq_ids[pos - 1] if pos > 0 and seq_ids[pos - 1] is not None else (segments[-1] if segments else 0)
        segments.append(int(sid))
    offsets = tuple((int(a), int(b)) for a, b in enc["offset_mapping"])
    special = tuple(bool(s) for s in enc["special_tokens_mask"])
    texts = (text, text_pair or "")
    # Chinese: the characters of one jieba word form one word (see segment.py).
    word_ids = regroup_word_ids(enc.word_ids(), offsets, segments, special, texts)
    return Tokenized(
        text=text,
        text_pair=text_pair,
        tokens=tuple(tokenizer.convert_ids_to_tokens(ids)),
        input_ids=np.asarray(ids, dtype=np.int64),
        word_ids=word_ids,
        segment_ids=tuple(segments),
        offsets=offsets,
        special=special,
        full_length=full,
        notices=tuple(notices),
        unknown=find_unknown(tokenizer, ids, offsets, segments, special, texts),
    )
