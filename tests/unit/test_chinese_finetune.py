"""The bundled Chinese fine-tuning sets train a Chinese (character-vocabulary) BERT, offline, on every task."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from transformers import BertConfig, BertModel, BertTokenizerFast

from bertexplore.finetune.config import JobConfig
from bertexplore.finetune.task_table import prepare
from bertexplore.finetune.files import ASSETS, BUNDLED, bundled_path, read_path
from bertexplore.finetune.datasets import IGNORE, ner_dataset
from bertexplore.finetune.train import run_training

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
CHINESE = {name: entry for name, entry in BUNDLED.items() if "_zh." in entry[0]}


@pytest.fixture(scope="module")
def chinese_base(tmp_path_factory):
    """A tiny random BERT whose vocabulary holds every character of the Chinese sets (like bert-base-chinese)."""
    text = "".join((ASSETS / filename).read_text(encoding="utf-8") for filename, _ in CHINESE.values())
    chars = sorted({ch.lower() for ch in text if not ch.isspace() and not ch.isascii()})
    ascii_words = sorted({tok.lower() for line in (ASSETS / "ner_zh.jsonl").read_text(encoding="utf-8").splitlines()
                          for tok in json.loads(line)["tokens"] if tok.isascii()})
    folder = tmp_path_factory.mktemp("tiny-chinese-base")
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(SPECIAL + chars + ascii_words + list("abcdefghijklmnopqrstuvwxyz0123456789")) + "\n",
                     encoding="utf-8")
    torch.manual_seed(0)
    size = len(vocab.read_text(encoding="utf-8").splitlines())
    BertModel(BertConfig(vocab_size=size, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                         intermediate_size=64, max_position_embeddings=128)).save_pretrained(folder)
    BertTokenizerFast(vocab=str(vocab), do_lower_case=True, tokenize_chinese_chars=True,
                      model_max_length=128).save_pretrained(folder)
    return folder


def test_three_chinese_sets_are_offered():
    assert sorted(task for _, task in CHINESE.values()) == ["classification", "mlm", "ner"]


def test_ner_labels_land_on_every_character(chinese_base):
    tokenizer = BertTokenizerFast.from_pretrained(chinese_base)
    config = JobConfig.for_task("ner", data=bundled_path("Chinese named entities (BIO tags per character)"))
    data = prepare(read_path(config.data), config)
    encoded = ner_dataset(data, tokenizer, max_length=128)
    for row, tags in zip(encoded.features, data.labels):
        labelled = [y for y in row["labels"] if y != IGNORE]
        assert labelled == list(tags)  # one token per character: no tag is lost to a split word
        assert tokenizer.unk_token_id not in row["input_ids"]


@pytest.mark.parametrize("task,name,epochs", [
    ("classification", "Chinese sentiment (正面 / 负面)", 12),
    ("ner", "Chinese named entities (BIO tags per character)", 4),
    ("mlm", "Chinese plain-text corpus (masked-LM)", 3),
])
def test_chinese_sets_train_and_loss_falls(chinese_base, task, name, epochs):
    config = JobConfig.for_task(task, data=bundled_path(name), base_model=str(chinese_base), device="cpu",
                                epochs=epochs, learning_rate=3e-3, batch_size=16, max_length=64, eval_times=1,
                                seed=1)
    result = run_training(config)
    values = [v for _, v in result.losses]
    assert np.mean(values[-3:]) < np.mean(values[:3]), values
    if task == "classification":
        assert sorted(result.label_names) == ["正面", "负面"]
        assert np.asarray(result.metrics_after["confusion_matrix"]).sum() == result.val_samples
    elif task == "ner":
        assert {"B-PER", "B-LOC", "B-ORG"} <= set(result.label_names)
    else:
        assert result.metrics_after["perplexity"] < result.metrics_before["perplexity"]
