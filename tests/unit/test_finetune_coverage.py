"""Can the base model read the training data? [UNK] shares by hand, the Chinese check, and save names that never
replace a saved model (issue 16, item 5)."""
from __future__ import annotations

import pytest

from bertexplore.finetune import coverage
from bertexplore.finetune.config import JobConfig
from bertexplore.finetune.files import read_path
from bertexplore.finetune.save import proposed_name
from bertexplore.finetune.task_table import prepare
from bertexplore.registry import OFFLINE_MODEL


@pytest.fixture(scope="module")
def tiny_tokenizer(tiny_dir):
    from transformers import AutoTokenizer
    return AutoTokenizer.from_pretrained(str(tiny_dir / "tiny-base"))


def test_unknown_share_counts_the_characters_inside_unk(tiny_tokenizer):
    # "zebra" and "中文" are not in the tiny vocabulary; "the cat" is. Non-space characters: 3+3+5+2 = 13.
    found = coverage.unknown_share(tiny_tokenizer, ["the cat zebra", "中文"])
    assert (found.unknown_chars, found.total_chars) == (5 + 2, 13)
    assert found.share == pytest.approx(7 / 13)
    assert coverage.unknown_share(tiny_tokenizer, ["the cat sat"]).share == 0.0


def test_the_english_model_cannot_read_the_chinese_sets():
    assert not coverage.reads_chinese(OFFLINE_MODEL)
    config = JobConfig.for_task("classification", data="assets/datasets/sentiment_zh.csv")
    zh = prepare(read_path(config.data), config)
    share = coverage.data_coverage(OFFLINE_MODEL, zh).share
    assert share > 0.5  # the issue measured 60-73% of the Chinese text as [UNK]
    english = JobConfig.for_task("classification")
    assert coverage.data_coverage(OFFLINE_MODEL, prepare(read_path(english.data), english)).share < 0.01


def test_chinese_models_here(tiny_dir, tmp_path, monkeypatch):
    import shutil

    from transformers import BertTokenizerFast

    models = tmp_path / "models"
    shutil.copytree(tiny_dir / "tiny-base", models / "english")
    shutil.copytree(tiny_dir / "tiny-base", models / "chinese")
    vocab = models / "chinese" / "vocab.txt"
    vocab.write_text(vocab.read_text() + "".join(f"{ch}\n" for ch in dict.fromkeys(coverage.HAN_PROBE)))
    (models / "chinese" / "tokenizer.json").unlink()
    BertTokenizerFast(vocab=str(vocab), do_lower_case=True).save_pretrained(models / "chinese")
    monkeypatch.setenv("BERTEXPLORE_MODELS_DIR", str(models))
    assert coverage.chinese_models_here() == ["chinese"]


def test_proposed_names_never_name_a_saved_model(tmp_path):
    assert proposed_name("minilm-classification-zh", tmp_path) == "minilm-classification-zh"
    (tmp_path / "minilm-classification-zh").mkdir()
    (tmp_path / "minilm-classification-zh-2").mkdir()
    assert proposed_name("minilm-classification-zh", tmp_path) == "minilm-classification-zh-3"
    long = proposed_name("x" * 300 + "-pretraining", tmp_path)
    assert len(long) <= 64 and not (tmp_path / long).exists()
