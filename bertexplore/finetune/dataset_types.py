"""The data types every task's pipeline shares: checked examples (TaskData) and encoded features (EncodedDataset).

A leaf module: the task modules (data, datasets, pretraining, qa) import from here and never from each other's
dispatch, and task_table picks the pipeline for a task. Nothing here imports a task module.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from torch.utils.data import Dataset

IGNORE = -100  # label the loss skips: padding, special tokens, non-first wordpieces, unmasked MLM tokens
MIN_EXAMPLES = 4


@dataclass
class TaskData:
    """Examples ready for a task: texts (or token lists for NER) with integer labels."""

    task: str
    texts: list[str] = field(default_factory=list)  # classification, multilabel, mlm
    tokens: list[list[str]] = field(default_factory=list)  # ner
    labels: list = field(default_factory=list)  # int | list[int] (multilabel: label indices) | list[int] per token
    label_names: list[str] = field(default_factory=list)
    source: str = ""
    notices: list[str] = field(default_factory=list)

    unit = "examples"  # what one item is, a key the page names it by: "examples", "paragraphs" or "questions"

    def __len__(self) -> int:
        return len(self.tokens) if self.task == "ner" else len(self.texts)

    def subset(self, indices) -> "TaskData":
        idx = [int(i) for i in indices]
        return replace(
            self,
            texts=[self.texts[i] for i in idx] if self.texts else [],
            tokens=[self.tokens[i] for i in idx] if self.tokens else [],
            labels=[self.labels[i] for i in idx] if self.labels else [],
            notices=[],
        )

    def counts(self) -> dict[str, int]:
        """Examples per label (entity mentions per type for NER); empty for masked-LM."""
        out: dict[str, int] = {name: 0 for name in self.label_names}
        if self.task == "classification":
            for y in self.labels:
                out[self.label_names[y]] += 1
        elif self.task in ("multilabel", "ner"):
            for ys in self.labels:
                for y in ys:
                    out[self.label_names[y]] += 1
        return out


class EncodedDataset(Dataset):
    """A list of feature dicts (input_ids, attention_mask, [token_type_ids], [labels]).

    `unit` says what one item is, a key the page names it by: "examples", "pairs" (pre-training's sentence pairs) or
    "windows" (QA's question + paragraph pieces): the counts under the results must not read as the data's.
    """

    unit = "examples"

    def __init__(self, features: list[dict[str, Any]], unit: str | None = None) -> None:
        self.features = features
        if unit is not None:
            self.unit = unit

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.features[index]
