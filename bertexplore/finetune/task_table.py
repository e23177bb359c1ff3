"""One table of the fine-tuning tasks' pipelines: how each checks its data and builds its training features.

The task modules (data for the labelled tasks, pretraining, qa) share their types through dataset_types and never
import one another's dispatch; this module sits above them all. Pre-training and QA load torch when imported, so
they are imported when their task is used (checking a classification file stays light).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ..errors import InputError
from ..i18n import _
from .config import JobConfig
from .data import prepare_labelled
from .data import split as split
from .dataset_types import TaskData
from .files import Table, read_data, read_path


def _prepare_pretraining(table: Table, config: JobConfig):
    from .pretraining import prepare_table
    return prepare_table(table, config)


def _prepare_qa(table: Table, config: JobConfig):
    from .qa import prepare_table
    return prepare_table(table, config)


def _build_labelled(task: str) -> Callable[..., tuple[Any, Any, Any]]:
    def build(train, val, tokenizer, max_length: int, probability: float, seed: int):
        from .datasets import build_labelled
        return build_labelled(task, train, val, tokenizer, max_length, probability, seed)
    return build


def _build_pretraining(train, val, tokenizer, max_length: int, probability: float, seed: int):
    from .pretraining import build
    return build(train, val, tokenizer, max_length, probability, seed)


def _build_qa(train, val, tokenizer, max_length: int, probability: float, seed: int):
    from .qa import build
    return build(train, val, tokenizer, max_length)


@dataclass(frozen=True)
class TaskPipeline:
    """prepare(table, config) -> checked data; build(train, val, tokenizer, max_length, mlm probability, seed) ->
    (training set, held-out set, collator)."""

    prepare: Callable[[Table, JobConfig], Any]
    build: Callable[..., tuple[Any, Any, Any]]


PIPELINES: dict[str, TaskPipeline] = {
    "classification": TaskPipeline(prepare_labelled, _build_labelled("classification")),
    "multilabel": TaskPipeline(prepare_labelled, _build_labelled("multilabel")),
    "ner": TaskPipeline(prepare_labelled, _build_labelled("ner")),
    "mlm": TaskPipeline(prepare_labelled, _build_labelled("mlm")),
    "pretraining": TaskPipeline(_prepare_pretraining, _build_pretraining),
    "qa": TaskPipeline(_prepare_qa, _build_qa),
}


def _pipeline(task: str) -> TaskPipeline:
    if task not in PIPELINES:
        raise InputError(_("Unknown task '{task}'; choose one of {choices}.").format(
            task=task, choices=", ".join(PIPELINES)))
    return PIPELINES[task]


def prepare(table: Table, config: JobConfig) -> TaskData:
    """Check the table against the config's task (and its column mapping); InputError says what to fix."""
    return _pipeline(config.task).prepare(table, config)


def build_datasets(task: str, train, val, tokenizer, max_length: int, mlm_probability: float = 0.15,
                   seed: int = 42) -> tuple[Any, Any, Any]:
    """(training set, held-out set, collator) for the Trainer."""
    return _pipeline(task).build(train, val, tokenizer, max_length, mlm_probability, seed)


def load_task_data(config: JobConfig, raw: bytes | None = None, filename: str | None = None) -> TaskData:
    """The job's data: uploaded bytes when given, else the file named in the config."""
    table = read_data(raw, filename or config.data) if raw is not None else read_path(config.data)
    return prepare(table, config)
