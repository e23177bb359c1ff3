from __future__ import annotations

import pytest

from bertexplore.errors import InputError
from bertexplore.tokens import clean_text, tokenize


@pytest.fixture(scope="module")
def tok(tiny_mlm):
    return tiny_mlm.tokenizer


def test_empty_and_whitespace_rejected(tok):
    for text in ("", "   \n\t ", None):
        with pytest.raises(InputError, match="empty"):
            tokenize(tok, text)


def test_control_characters_replaced_with_notice():
    cleaned, notices = clean_text("the\x00cat\x07sat")
    assert cleaned == "the cat sat"
    assert notices and "Control characters" in notices[0]


def test_words_group_wordpieces_and_whole_word_masking(tok):
    t = tokenize(tok, "The cat unbelievable mat")
    assert t.tokens == ("[CLS]", "the", "cat", "un", "##believ", "##able", "mat", "[SEP]")
    words = [w.text for w in t.words()]
    assert words == ["[CLS]", "The", "cat", "unbelievable", "mat", "[SEP]"]
    # picking any piece of "unbelievable" masks all three pieces, and never the special tokens
    assert t.whole_word([4]) == [3, 4, 5]
    assert t.whole_word([0, 2]) == [2]


def test_pair_segments_and_offsets(tok):
    t = tokenize(tok, "the cat sat", "dogs play")
    assert t.segment_ids == (0, 0, 0, 0, 0, 1, 1, 1, 1)
    assert t.tokens[5:7] == ("dog", "##s")
    start, end = t.offsets[5][0], t.offsets[6][1]
    assert t.text_pair[start:end] == "dogs"
    rows = t.table()
    assert rows[5]["word"] == "dogs" and rows[5]["segment"] == "B"


def test_truncation_notice_and_length(tok):
    t = tokenize(tok, "the cat " * 100, max_length=64)
    assert len(t) == 64 and t.truncated and t.full_length == 202
    assert any("cut to 64" in n for n in t.notices)


def test_odd_unicode_survives(tok):
    t = tokenize(tok, "the 😀 cat 東京 مرحبا \u200f mat")
    assert t.tokens[0] == "[CLS]" and t.tokens[-1] == "[SEP]"
    assert "cat" in t.tokens and "[UNK]" in t.tokens
