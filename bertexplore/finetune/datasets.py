"""Torch datasets and collators for each task, in the form the Hugging Face Trainer consumes.

Everything is tokenised once up front (the data sets here are small), padded per batch by the collator.
"""
from __future__ import annotations

from typing import Any

import torch
from transformers import DataCollatorForLanguageModeling, DataCollatorForTokenClassification, DataCollatorWithPadding

from .dataset_types import IGNORE, EncodedDataset, TaskData

__all__ = ["IGNORE", "EncodedDataset", "MaskedLMCollator", "build_labelled", "classification_dataset",
           "fixed_mask_dataset", "mlm_dataset", "ner_dataset"]


def _encodings(tokenizer, max_length: int, **kwargs) -> list[dict[str, list[int]]]:
    enc = tokenizer(truncation=True, max_length=max_length, **kwargs)
    keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in enc]
    return [{k: enc[k][i] for k in keys} for i in range(len(enc["input_ids"]))], enc


def classification_dataset(data: TaskData, tokenizer, max_length: int) -> EncodedDataset:
    rows, _enc = _encodings(tokenizer, max_length, text=data.texts)
    for row, y in zip(rows, data.labels):
        if data.task == "multilabel":
            hot = [0.0] * len(data.label_names)
            for k in y:
                hot[k] = 1.0
            row["labels"] = hot  # float targets: the model uses BCE-with-logits for multi_label_classification
        else:
            row["labels"] = int(y)
    return EncodedDataset(rows)


def ner_dataset(data: TaskData, tokenizer, max_length: int) -> EncodedDataset:
    """Label the first wordpiece of each word; the others and special tokens get IGNORE (the usual HF recipe)."""
    rows, enc = _encodings(tokenizer, max_length, text=data.tokens, is_split_into_words=True)
    for i, (row, tags) in enumerate(zip(rows, data.labels)):
        labels, previous = [], None
        for wid in enc.word_ids(i):
            labels.append(IGNORE if wid is None or wid == previous else int(tags[wid]))
            previous = wid
        row["labels"] = labels
    return EncodedDataset(rows)


def mlm_dataset(data: TaskData, tokenizer, max_length: int) -> EncodedDataset:
    """Unmasked lines: the collator masks a fresh random 15% every time a batch is drawn."""
    rows, _enc = _encodings(tokenizer, max_length, text=data.texts, return_special_tokens_mask=True)
    return EncodedDataset(rows)


def fixed_mask_dataset(data: TaskData, tokenizer, max_length: int, probability: float, seed: int) -> EncodedDataset:
    """Held-out lines masked ONCE with a seeded generator, so perplexity before and after compare the same tokens.

    Every chosen token becomes [MASK] (no 80/10/10 mix): the score is "predict the hidden word".
    """
    generator = torch.Generator().manual_seed(seed)
    rows, _enc = _encodings(tokenizer, max_length, text=data.texts)
    special_ids = set(tokenizer.all_special_ids)
    for row in rows:
        ids = torch.tensor(row["input_ids"])
        candidates = torch.tensor([i not in special_ids for i in row["input_ids"]])
        chosen = (torch.rand(len(ids), generator=generator) < probability) & candidates
        if not chosen.any() and candidates.any():  # every line contributes at least one hidden token
            options = torch.nonzero(candidates).flatten()
            chosen[options[torch.randint(len(options), (1,), generator=generator)]] = True
        labels = torch.where(chosen, ids, torch.full_like(ids, IGNORE))
        row["input_ids"] = torch.where(chosen, torch.full_like(ids, tokenizer.mask_token_id), ids).tolist()
        row["labels"] = labels.tolist()
    return EncodedDataset(rows)


class MaskedLMCollator:
    """Random masking for training batches; pre-masked evaluation batches are only padded.

    The Trainer takes one collator for both, so this one looks at whether the features carry labels.
    """

    def __init__(self, tokenizer, probability: float, seed: int) -> None:
        self.masking = DataCollatorForLanguageModeling(tokenizer, mlm=True, mlm_probability=probability, seed=seed)
        self.padding = DataCollatorForTokenClassification(tokenizer, label_pad_token_id=IGNORE)

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        if "labels" in features[0]:
            return self.padding(features)
        return self.masking(features)


def build_labelled(task: str, train: TaskData, val: TaskData, tokenizer, max_length: int,
                   mlm_probability: float = 0.15, seed: int = 42) -> tuple[EncodedDataset, EncodedDataset, Any]:
    """(train dataset, validation dataset, collator) for classification, multi-label, NER or masked-LM."""
    if task in ("classification", "multilabel"):
        return (classification_dataset(train, tokenizer, max_length), classification_dataset(val, tokenizer, max_length),
                DataCollatorWithPadding(tokenizer))
    if task == "ner":
        return (ner_dataset(train, tokenizer, max_length), ner_dataset(val, tokenizer, max_length),
                DataCollatorForTokenClassification(tokenizer, label_pad_token_id=IGNORE))
    if task == "mlm":
        return (mlm_dataset(train, tokenizer, max_length),
                fixed_mask_dataset(val, tokenizer, max_length, mlm_probability, seed),
                MaskedLMCollator(tokenizer, mlm_probability, seed))
    raise ValueError(f"not a labelled task: {task!r}")  # a programming error: task_table routes the others
