"""Can the base model read the training data? The share of its characters that its vocabulary turns into [UNK].

An English-vocabulary model (the packaged MiniLM) reads most Chinese characters as [UNK]: training it on the Chinese
sets teaches it nothing about the text. The Fine-tune page measures the share before training and names the models
that fix it (locally present ones first, else bert-base-chinese from the classroom pack).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Iterable

from ..registry import list_local_models, models_dir, resolve

HAN_PROBE = "中文模型读懂这句话的每一个字"  # common characters: a vocabulary that has them reads Chinese text
CHINESE_MODEL = "bert-base-chinese"  # in the classroom pack (bertexplore.packs)
SAMPLE_TEXTS = 400  # enough for a stable share; the bundled sets are a few hundred lines


@dataclass(frozen=True)
class Coverage:
    """How much of the data the tokenizer reads: characters (non-space) lost to [UNK], out of all."""

    unknown_chars: int
    total_chars: int

    @property
    def share(self) -> float:
        return self.unknown_chars / self.total_chars if self.total_chars else 0.0


def _tokenizer(source: str, local_only: bool):
    from transformers import AutoTokenizer

    # A fresh tokenizer per call: fast tokenizers must not be shared between threads ("Already borrowed").
    return AutoTokenizer.from_pretrained(source, local_files_only=local_only, trust_remote_code=False)


def unknown_share(tokenizer, texts: Iterable[str]) -> Coverage:
    """Characters of `texts` that reach the model only inside [UNK] tokens (by the tokenizer's character offsets)."""
    unk = getattr(tokenizer, "unk_token_id", None)
    unknown = total = 0
    for text in texts:
        text = str(text)
        total += sum(not ch.isspace() for ch in text)
        if unk is None:
            continue
        enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, truncation=False)
        for token, (start, end) in zip(enc["input_ids"], enc["offset_mapping"]):
            if token == unk:
                unknown += sum(not ch.isspace() for ch in text[start:end])
    return Coverage(unknown, total)


def data_texts(data) -> list[str]:
    """The text a prepared data set trains on (a sample of it), whatever the task."""
    if getattr(data, "tokens", None):
        texts = ["".join(t) if all(len(x) == 1 for x in t) else " ".join(t) for t in data.tokens]
    elif getattr(data, "texts", None):
        texts = list(data.texts)
    elif getattr(data, "docs", None):
        texts = [" ".join(d) for d in data.docs]
    elif getattr(data, "contexts", None):
        texts = list(dict.fromkeys(data.contexts)) + list(data.questions)
    else:
        texts = []
    return texts[:SAMPLE_TEXTS]


@functools.lru_cache(maxsize=64)
def _reads_han(source: str, local_only: bool) -> bool:
    try:
        tokenizer = _tokenizer(source, local_only)
    except (OSError, ValueError, TypeError):
        return False
    return unknown_share(tokenizer, [HAN_PROBE]).share < 0.2


def reads_chinese(name: str) -> bool:
    """Does the model's vocabulary spell common Chinese characters? (False when its tokenizer cannot be read.)"""
    try:
        source, is_local = resolve(name)
    except Exception:  # noqa: BLE001 - a name the registry refuses reads nothing
        return False
    return _reads_han(source, is_local)


def chinese_models_here() -> list[str]:
    """Local models (the models folder) whose vocabulary reads Chinese."""
    root = models_dir()
    return [name for name in list_local_models() if _reads_han(str(root / name), True)]


def data_coverage(name: str, data) -> Coverage:
    """The [UNK] share of `data` under the model `name`'s tokenizer."""
    source, is_local = resolve(name)
    return unknown_share(_tokenizer(source, is_local), data_texts(data))
