"""Tiny random BERT checkpoints that tests build for themselves (no downloads), like bertviz's own tests."""
from __future__ import annotations

from pathlib import Path

import torch
from transformers import BertConfig, BertTokenizerFast

WORDS = (
    "the a an is are was were on in of to and cat dog sat mat keys cabinet table paris france capital city "
    "good bad great terrible movie film love hate it this that he she they we you i play ##s ##ed ##ing "
    "un ##believ ##able john mary london works at google lives who where what when why how . , ? ! ' [ ]"
).split()
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def write_vocab(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(SPECIAL + list(dict.fromkeys(WORDS))) + "\n")
    return vocab


def tiny_config(**overrides) -> BertConfig:
    vocab_size = len(SPECIAL) + len(dict.fromkeys(WORDS))
    params = dict(
        vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=64, max_position_embeddings=64, type_vocab_size=2,
    )
    params.update(overrides)
    return BertConfig(**params)


def make_tiny_model(folder: Path, model_class, seed: int = 0, **config_overrides) -> Path:
    """Save a random `model_class` (e.g. BertForMaskedLM) plus a WordPiece tokenizer into `folder`."""
    torch.manual_seed(seed)
    model = model_class(tiny_config(**config_overrides))
    model.save_pretrained(folder)  # safetensors by default
    tokenizer = BertTokenizerFast(vocab=str(write_vocab(folder)), do_lower_case=True, model_max_length=64)
    tokenizer.save_pretrained(folder)
    return folder


# Five tiny "documents" of three sentences: the pre-training tests' corpus (sentence pairs need paragraphs).
DOCS = [["the cat sat on the mat.", "the dog sat on the table.", "he sat on the mat."],
        ["paris is the capital of france.", "she lives in paris.", "it is a good city."],
        ["john lives in london.", "mary works at google.", "they play in the city."],
        ["i love this film.", "it is a great movie.", "we love it."],
        ["the keys are on the table.", "the cat is on the mat.", "the dog is in the cabinet."]]
STORIES = "\n\n".join("\n".join(d) for d in DOCS) + "\n"
