"""Step 1: how WordPiece cut the text into tokens, and what the model receives for them."""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..tokens import Tokenized

# The CJK blocks BERT's basic tokenizer isolates character by character (its _is_chinese_char ranges).
CJK = re.compile("[\u4e00-\u9fff\u3400-\u4dbf\U00020000-\U0002a6df\U0002a700-\U0002ebef"
                 "\uf900-\ufaff\U0002f800-\U0002fa1f]")


def is_cjk_piece(piece: str) -> bool:
    return len(piece.lstrip("#")) == 1 and bool(CJK.match(piece.lstrip("#")))


@dataclass(frozen=True)
class WordSplit:
    text: str  # the word as typed ([CLS]/[SEP] for special tokens)
    pieces: tuple[str, ...]
    positions: tuple[int, ...]
    segment: int
    special: bool
    unknown: bool  # the tokenizer had no piece for it: it became [UNK]


@dataclass(frozen=True)
class TokenStep:
    tokens: tuple[str, ...]
    ids: tuple[int, ...]
    segments: tuple[int, ...]
    special: tuple[bool, ...]
    words: tuple[WordSplit, ...]
    vocab_size: int
    unk_token: str | None
    unk_positions: tuple[int, ...]
    has_pair: bool
    continuation_prefix: str  # "##" for WordPiece; other families mark word starts instead

    @property
    def split_words(self) -> tuple[WordSplit, ...]:
        """Words that became more than one piece."""
        return tuple(w for w in self.words if not w.special and len(w.pieces) > 1)

    @property
    def cjk_split_words(self) -> tuple[WordSplit, ...]:
        """Split words made of CJK characters (grouped into words by the app's segmenter): one piece per character
        (or [UNK] where the vocabulary lacks it) by a fixed rule, BERT's basic tokenizer putting a space around
        every CJK character before WordPiece runs, not by the learned vocabulary."""
        return tuple(w for w in self.split_words if w.text and all(CJK.match(c) for c in w.text))

    @property
    def learned_split_words(self) -> tuple[WordSplit, ...]:
        """Split words whose pieces WordPiece chose from its learned vocabulary."""
        return tuple(w for w in self.split_words if w not in self.cjk_split_words)

    @property
    def has_cjk(self) -> bool:
        return any(is_cjk_piece(t) for t in self.tokens) or any(CJK.search(w.text) for w in self.words if not w.special)

    def rows(self) -> list[dict]:
        """One row per token: position, piece, id, segment, special."""
        return [
            {"position": i, "token": t, "id": self.ids[i], "segment": self.segments[i], "special": self.special[i]}
            for i, t in enumerate(self.tokens)
        ]


def token_step(tokenizer, inputs: Tokenized) -> TokenStep:
    unk = getattr(tokenizer, "unk_token", None)
    unk_id = getattr(tokenizer, "unk_token_id", None)
    ids = tuple(int(i) for i in inputs.input_ids)
    words = []
    for word in inputs.words():
        pieces = tuple(inputs.tokens[p] for p in word.positions)
        special = all(inputs.special[p] for p in word.positions)
        unknown = unk_id is not None and any(ids[p] == unk_id for p in word.positions)
        words.append(WordSplit(word.text, pieces, word.positions, word.segment, special, unknown))
    backend = getattr(getattr(tokenizer, "backend_tokenizer", None), "model", None)
    prefix = str(getattr(backend, "continuing_subword_prefix", "") or "")  # WordPiece: "##"; BPE/Unigram: none
    return TokenStep(
        tokens=inputs.tokens, ids=ids, segments=inputs.segment_ids, special=inputs.special, words=tuple(words),
        vocab_size=int(len(tokenizer)), unk_token=unk,
        unk_positions=tuple(i for i, t in enumerate(ids) if unk_id is not None and t == unk_id),
        has_pair=inputs.text_pair is not None, continuation_prefix=prefix,
    )
