"""Chinese text on a tiny random character-vocabulary BERT built here: jieba words, whole-word masking, [UNK]."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import BertConfig, BertForMaskedLM, BertTokenizerFast

from bertexplore.attention import aggregate_words
from bertexplore.i18n import language
from bertexplore.segment import han_words, regroup_word_ids
from bertexplore.tokens import tokenize
from bertexplore.trace import run_trace

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
SENTENCES = "我爱北京天安门。天安门上太阳升。他在清华大学学习人工智能，喜欢用电脑。"
ABSENT = "鼠"  # left out of the vocabulary on purpose
ENGLISH = ["the", "cat", "sat", "mouse"]


@pytest.fixture(scope="module")
def chinese_mlm(tmp_path_factory):
    from bertexplore.loading import load_model

    folder = tmp_path_factory.mktemp("tiny-chinese")
    chars = list(dict.fromkeys(ch for ch in SENTENCES))
    assert ABSENT not in chars
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(SPECIAL + chars + ENGLISH) + "\n", encoding="utf-8")
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(SPECIAL) + len(chars) + len(ENGLISH), hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=4, intermediate_size=64, max_position_embeddings=64)
    BertForMaskedLM(config).save_pretrained(folder)
    # bert-base-chinese's settings: lower case, every CJK character a token of its own.
    BertTokenizerFast(vocab=str(vocab), do_lower_case=True, tokenize_chinese_chars=True,
                      model_max_length=64).save_pretrained(folder)
    return load_model(str(folder), head="mlm", device="cpu")


def test_every_character_is_one_token(chinese_mlm):
    inputs = tokenize(chinese_mlm.tokenizer, "我爱北京天安门")
    assert inputs.tokens == ("[CLS]", "我", "爱", "北", "京", "天", "安", "门", "[SEP]")


def test_words_are_the_jieba_words(chinese_mlm):
    import jieba

    text = "我爱北京天安门，他在清华大学学习人工智能。"
    inputs = tokenize(chinese_mlm.tokenizer, text)
    words = [w.text for w in inputs.words() if not inputs.special[w.positions[0]]]
    assert words == [w for w in jieba.cut(text)]  # jieba's own segmentation, punctuation included
    by_text = {w.text: w.positions for w in inputs.words()}
    assert len(by_text["北京"]) == 2 and len(by_text["天安门"]) == 3 and len(by_text["清华大学"]) == 4
    assert all(inputs.tokens[p] in "北京" for p in by_text["北京"])


def test_whole_word_masking_masks_every_character_of_a_jieba_word(chinese_mlm):
    text = "我爱北京天安门"
    inputs = tokenize(chinese_mlm.tokenizer, text)
    an = inputs.tokens.index("安")  # the middle character of 天安门
    chosen = inputs.whole_word([an])
    assert [inputs.tokens[p] for p in chosen] == ["天", "安", "门"]
    trace = run_trace(chinese_mlm, text, masked=tuple(chosen))
    assert trace.tokens == ("[CLS]", "我", "爱", "北", "京", "[MASK]", "[MASK]", "[MASK]", "[SEP]")
    assert trace.mask_positions == tuple(chosen)
    assert trace.mask_log_probs.shape == (3, chinese_mlm.tokenizer.vocab_size)


def test_word_level_attention_rows_still_sum_to_one(chinese_mlm):
    trace = run_trace(chinese_mlm, "我爱北京天安门。", "他在清华大学学习。")
    words, units = aggregate_words(trace.attentions[1, 2], trace.inputs)
    assert len(units) < len(trace.tokens)  # characters were really grouped
    np.testing.assert_allclose(words.sum(axis=-1), 1.0, atol=1e-5)
    # attention FROM 北京 is the mean of its characters' rows, summed over each target word's characters
    beijing = units.labels.index("北京")
    rows = trace.attentions[1, 2][list(units.positions[beijing])].mean(axis=0)
    expected = [rows[list(pos)].sum() for pos in units.positions]
    np.testing.assert_allclose(words[beijing], expected, atol=1e-6)


def test_pairs_restart_word_ids_and_english_keeps_its_words():
    # The tokenizer's word ids for "the cat 北京天安门" (sentence A) and "我爱 mouse" (sentence B), by hand:
    tokens = ["[CLS]", "the", "cat", "北", "京", "天", "安", "门", "[SEP]", "我", "爱", "mouse", "[SEP]"]
    word_ids = [None, 0, 1, 2, 3, 4, 5, 6, None, 0, 1, 2, None]
    offsets = [(0, 0), (0, 3), (4, 7), (8, 9), (9, 10), (10, 11), (11, 12), (12, 13), (0, 0), (0, 1), (1, 2),
               (3, 8), (0, 0)]
    segments = [0] * 9 + [1] * 4
    special = [t in ("[CLS]", "[SEP]") for t in tokens]
    out = regroup_word_ids(word_ids, offsets, segments, special, ("the cat 北京天安门", "我爱 mouse"))
    assert out == (None, 0, 1, 2, 2, 3, 3, 3, None, 0, 1, 2, None)


def test_han_words_spans_only_cover_chinese():
    text = "BERT在2018年由Google发布。"
    spans = han_words(text)
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in text[a:b]) for a, b in spans)
    assert "".join(text[a:b] for a, b in spans) == "在年由发布"


def test_unknown_report_counts_missing_characters_and_share(chinese_mlm):
    text = f"我爱{ABSENT}标在🐭。"
    inputs = tokenize(chinese_mlm.tokenizer, text)
    report = inputs.unknown
    assert report is not None
    unk = chinese_mlm.tokenizer.unk_token_id
    assert report.positions == tuple(int(p) for p in np.flatnonzero(inputs.input_ids == unk))
    assert report.count == 3  # 鼠, 标 (not in the vocabulary either) and the emoji
    assert report.missing == (ABSENT, "标", "🐭")
    assert report.unknown_chars == 3 and report.total_chars == len(text)
    assert report.share == pytest.approx(3 / len(text))
    assert report.scripts == ("han", "emoji")
    assert report.suggestions[0] == "bert-base-chinese" and "xlm-roberta-base" in report.suggestions
    message = report.message()
    assert "3 tokens became [UNK]" in message and "43%" in message and "🐭" in message
    with language("zh"):
        chinese = report.message()
    assert chinese != message and "🐭" in chinese and "43%" in chinese


def test_unknown_word_whose_characters_all_exist(tiny_mlm):
    from tiny import WORDS

    inputs = tokenize(tiny_mlm.tokenizer, "the cat sat on the zebra")
    report = inputs.unknown
    assert report is not None and report.spans == ("zebra",)
    assert report.count == 1 and report.unknown_chars == 5
    assert report.total_chars == len("thecatsatonthezebra")
    # a letter is spellable alone only when it is a word of the vocabulary ("a" is)
    assert report.missing == tuple(ch for ch in "zebr" if ch not in WORDS)
    assert report.scripts == ("other",) and report.suggestions == ("bert-base-multilingual-cased", "xlm-roberta-base")


def test_no_report_without_unknown_tokens(chinese_mlm):
    assert tokenize(chinese_mlm.tokenizer, "我爱北京天安门").unknown is None
