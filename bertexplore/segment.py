"""Words for Chinese text: group character tokens into the words jieba finds.

Chinese BERTs tokenise Han text one character per token, and the tokenizers' "word ids" then make every character
a word of its own; sentencepiece models (XLM-R) go the other way and make a whole unspaced sentence one word. Either
way word-level views (attention aggregated per word, whole-word masking, word-by-word scoring) would be wrong for
Chinese. The Chinese whole-word-masking models (hfl/chinese-*-wwm) were pretrained masking whole words found by a
segmenter (LTP); here jieba, the maintained segmenter on PyPI, finds them. Its dictionary ships inside the package,
so it works offline.
"""
from __future__ import annotations

import logging
import threading
from typing import Sequence

_HAN_RANGES = (
    (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x2FFFF), (0x30000, 0x3134F),
)
_jieba = None
_jieba_lock = threading.Lock()


def is_han(ch: str) -> bool:
    """A Chinese (Han) character: the script jieba segments."""
    code = ord(ch)
    return any(lo <= code <= hi for lo, hi in _HAN_RANGES)


def has_han(text: str) -> bool:
    return any(is_han(ch) for ch in text)


def _segmenter():
    """jieba's tokenizer, initialised once per process (loading its dictionary takes about half a second)."""
    global _jieba
    with _jieba_lock:
        if _jieba is None:
            import jieba

            jieba.setLogLevel(logging.WARNING)  # it logs its dictionary loading at INFO on every process start
            jieba.initialize()
            _jieba = jieba.dt
        return _jieba


def han_words(text: str) -> list[tuple[int, int]]:
    """[start, end) character spans of the jieba words of `text` that contain a Han character."""
    if not has_han(text):
        return []
    segmenter = _segmenter()
    with _jieba_lock:  # jieba's HMM state for unknown words is shared module state
        spans = [(start, end) for _word, start, end in segmenter.tokenize(text, HMM=True)]
    return [(a, b) for a, b in spans if has_han(text[a:b])]


def regroup_word_ids(
    word_ids: Sequence[int | None],
    offsets: Sequence[tuple[int, int]],
    segment_ids: Sequence[int],
    special: Sequence[bool],
    texts: Sequence[str],
) -> tuple[int | None, ...]:
    """Word ids where the tokens of one jieba word share one id; every other token keeps its tokenizer's word.

    A token belongs to the jieba word holding its first character. Tokens outside Han words keep the grouping the
    tokenizer gave (English wordpieces stay together). Ids are renumbered per segment in order, as tokenizers do.
    """
    spans = {seg: han_words(text) for seg, text in enumerate(texts)}
    if not any(spans.values()):
        return tuple(word_ids)
    owner: dict[int, dict[int, int]] = {}
    for seg, seg_spans in spans.items():
        owner[seg] = {pos: i for i, (a, b) in enumerate(seg_spans) for pos in range(a, b)}
    out: list[int | None] = []
    previous_key, previous_seg, next_id = None, None, 0
    for pos, wid in enumerate(word_ids):
        if special[pos] or wid is None:
            out.append(None if wid is None else wid)
            continue
        seg = segment_ids[pos]
        if seg != previous_seg:
            next_id, previous_key, previous_seg = 0, None, seg
        start, end = offsets[pos]
        span = owner.get(seg, {}).get(start) if end > start else None
        key = ("han", span) if span is not None else ("tok", wid)
        if key != previous_key:
            if previous_key is not None:
                next_id += 1
            previous_key = key
        out.append(next_id)
    return tuple(out)
