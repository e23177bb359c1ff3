"""A fine-tuning job as plain data: what to train, on what, how; checked against limits; saved as YAML.

The same JobConfig drives the in-app panel and `python -m bertexplore.finetune --config job.yaml`,
so the YAML the panel shows reproduces its run on a bigger machine.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from ..errors import InputError
from ..registry import OFFLINE_MODEL
from ..i18n import N_, _

TASKS: dict[str, str] = {
    "classification": N_("Sentence classification (one label per sentence)"),
    "multilabel": N_("Multi-label classification (any number of labels per sentence)"),
    "ner": N_("Token classification with BIO tags (named entities)"),
    "mlm": N_("Masked-LM continued pre-training on plain text"),
    "pretraining": N_("Pre-training: masked-LM and next-sentence prediction together, on documents of plain text"),
    "qa": N_("Extractive question answering (the answer is a span of the paragraph)"),
}

# The loading head each task trains and saves; load_model(saved_name, head=...) reads it back.
TASK_HEADS: dict[str, str] = {
    "classification": "sequence-classification",
    "multilabel": "sequence-classification",
    "ner": "token-classification",
    "mlm": "mlm",
    "pretraining": "pretraining",
    "qa": "question-answering",
}

# Starting points that train the packaged MiniLM to a useful model on the bundled samples in minutes on a CPU.
TASK_DEFAULTS: dict[str, dict[str, Any]] = {
    "classification": dict(epochs=3.0, learning_rate=5e-5, batch_size=16, max_length=64,
                           data="assets/datasets/sentiment.csv", label_column="label"),
    "multilabel": dict(epochs=15.0, learning_rate=5e-4, batch_size=16, max_length=64,
                       data="assets/datasets/topics.csv", label_column="labels"),
    "ner": dict(epochs=8.0, learning_rate=1e-4, batch_size=16, max_length=64, data="assets/datasets/ner.jsonl"),
    "mlm": dict(epochs=12.0, learning_rate=3e-4, batch_size=16, max_length=64, data="assets/datasets/corpus.txt"),
    "pretraining": dict(epochs=6.0, learning_rate=1e-4, batch_size=16, max_length=64,  # 2 pairs per A: 144 steps
                        data="assets/datasets/stories.txt"),
    "qa": dict(epochs=6.0, learning_rate=2e-4, batch_size=16, max_length=160, data="assets/datasets/qa.jsonl"),
}

# (minimum, maximum) for every numeric hyper-parameter; the panel's widgets use the same bounds.
LIMITS: dict[str, tuple[float, float]] = {
    "epochs": (0.05, 50),
    "learning_rate": (1e-7, 1e-2),
    "batch_size": (1, 256),
    "max_length": (8, 512),
    "seed": (0, 2**31 - 1),
    "validation_fraction": (0.05, 0.5),
    "mlm_probability": (0.05, 0.5),
    "weight_decay": (0.0, 0.5),
    "warmup_ratio": (0.0, 0.5),
    "max_steps": (0, 1_000_000),
    "eval_times": (0, 50),
}


@dataclass
class JobConfig:
    """Everything a fine-tuning run needs; defaults suit the packaged MiniLM on a laptop CPU."""

    task: str = "classification"
    base_model: str = OFFLINE_MODEL
    data: str = "assets/datasets/sentiment.csv"
    # Column mapping: text/label for tables, tokens/tags for NER JSONL; plain text needs none.
    text_column: str = "text"
    label_column: str = "label"
    tokens_column: str = "tokens"
    tags_column: str = "tags"
    # Question answering (SQuAD-like): a nested SQuAD `answers` column works in place of answer_text.
    question_column: str = "question"
    context_column: str = "context"
    answer_column: str = "answer_text"
    answer_start_column: str = "answer_start"
    label_separator: str = "|"  # multi-label cells like "sports|politics"
    labels: list[str] = field(default_factory=list)  # optional: the allowed labels; others are errors
    validation_fraction: float = 0.2
    epochs: float = 3.0
    learning_rate: float = 5e-5
    batch_size: int = 16
    max_length: int = 128
    seed: int = 42
    mlm_probability: float = 0.15
    weight_decay: float = 0.01
    warmup_ratio: float = 0.0
    max_steps: int = 0  # 0: run the whole number of epochs
    eval_times: int = 4  # validation passes spread over the run, for the metric curve
    device: str = "auto"
    output_name: str = ""  # folder under the models dir; empty: do not save (the panel saves on request)

    def validate(self) -> "JobConfig":
        """Raise InputError naming the first setting that is out of range; return self otherwise."""
        if self.task not in TASKS:
            raise InputError(_("Unknown task '{task}'; choose one of {choices}.").format(
                                 task=self.task, choices=', '.join(TASKS)))
        if not str(self.base_model).strip():
            raise InputError(_("No base model given: pick one in the sidebar or name a folder / hub id."))
        if not str(self.data).strip():
            raise InputError(_("No training data given: pick a bundled dataset or upload a file."))
        for name, (low, high) in LIMITS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise InputError(_("The setting '{name}' must be a number, not {value!r}.").format(
                                     name=name, value=value))
            if not (low <= value <= high):
                raise InputError(_("The setting '{name}' is {value:g}; it must be between {low:g} and "
                                   "{high:g}.").format(name=name, value=value, low=low, high=high))
        for name in ("batch_size", "max_length", "seed", "max_steps", "eval_times"):
            if int(getattr(self, name)) != getattr(self, name):
                raise InputError(_("The setting '{name}' must be a whole number, not {value!r}.").format(
                                     name=name, value=getattr(self, name)))
        if self.task == "multilabel" and not self.label_separator:
            raise InputError(_("Multi-label data needs a label separator, e.g. '|'."))
        return self

    @classmethod
    def for_task(cls, task: str, **overrides: Any) -> "JobConfig":
        """The defaults for a task (bundled data, tuned hyper-parameters), then `overrides`."""
        if task not in TASKS:
            raise InputError(_("Unknown task '{task}'; choose one of {choices}.").format(
                                 task=task, choices=', '.join(TASKS)))
        return cls(task=task, **(TASK_DEFAULTS[task] | overrides))

    @property
    def head(self) -> str:
        return TASK_HEADS[self.task]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(self.to_yaml(), encoding="utf-8")
        return path

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "JobConfig":
        if not isinstance(values, dict):
            raise InputError(_("A job config must be a mapping of settings (YAML key: value lines)."))
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InputError(_("Unknown setting(s) in the job config: {unknown}.").format(unknown=', '.join(unknown)))
        config = cls(**values)
        for name in ("batch_size", "max_length", "seed", "max_steps", "eval_times"):
            value = getattr(config, name)
            if isinstance(value, float) and value.is_integer():
                setattr(config, name, int(value))
        return config.validate()

    @classmethod
    def from_yaml(cls, text: str) -> "JobConfig":
        try:
            values = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise InputError(_("The job config is not valid YAML: {err}").format(err=err)) from None
        return cls.from_dict(values or {})

    @classmethod
    def load(cls, path: str | Path) -> "JobConfig":
        path = Path(path)
        if not path.is_file():
            raise InputError(_("The job config '{path}' does not exist.").format(path=path))
        return cls.from_yaml(path.read_text(encoding="utf-8"))
