"""Check the user's training data against the task (files are read by `files`), and split it.

Everything here is plain Python / pandas and raises InputError with a message fit for the page:
which file, which row, what is wrong and how to fix it. Nothing is trained or saved when data fails.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from ..errors import InputError
from ..i18n import _
from .config import JobConfig
from .files import Table, read_data, read_path

MIN_EXAMPLES = 4
BIO_TAG = re.compile(r"^(O|[BI]-[^\s]+)$")



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
        elif self.task == "multilabel":
            for ys in self.labels:
                for y in ys:
                    out[self.label_names[y]] += 1
        elif self.task == "ner":
            for ys in self.labels:
                for y in ys:
                    out[self.label_names[y]] += 1
        return out



def _missing(value) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _rows(indices: list[int], limit: int = 5) -> str:
    shown = ", ".join(str(i + 1) for i in indices[:limit])
    return shown + (f" and {len(indices) - limit} more" if len(indices) > limit else "")


def _column(table: Table, column: str, role: str) -> pd.Series:
    if table.frame is None:
        raise InputError(_("'{filename}' is plain text: {role} needs a table (CSV, TSV or JSONL) with "
                           "columns.").format(filename=table.filename, role=role))
    if column not in table.frame.columns:
        raise InputError(_("'{filename}' has no column '{column}' for the {role}. Its columns are: "
                           "{value}. Pick the right one in the column mapping.").format(
                             filename=table.filename, column=column, role=role,
                             value=', '.join(table.columns) or 'none'))
    return table.frame[column]


def _texts(table: Table, column: str) -> list[str]:
    series = _column(table, column, "text")
    empty = [i for i, v in enumerate(series) if _missing(v)]
    if empty:
        raise InputError(_("'{filename}': the text is empty in row(s) {empty} (rows count from 1 after the "
                           "header).").format(filename=table.filename, empty=_rows(empty)))
    return [str(v) for v in series]


def _label_set(found: list[str], allowed: list[str], filename: str) -> list[str]:
    if allowed:
        unknown = sorted(set(found) - set(allowed))
        if unknown:
            raise InputError(_("'{filename}' has label(s) outside the allowed list {allowed}: {repr}.").format(
                                 filename=filename, allowed=allowed, repr=', '.join(map(repr, unknown[:10]))))
        return list(allowed)
    return sorted(set(found))


def prepare(table: Table, config: JobConfig) -> TaskData:
    """Check the table against the task and turn it into examples with integer labels."""
    task = config.task
    if task == "pretraining":
        from .pretraining import prepare_text
        if table.text is None:
            raise InputError(_("'{filename}' is a table: pre-training reads plain text (.txt), paragraphs "
                               "separated by blank lines.").format(filename=table.filename))
        return prepare_text(table.text, table.filename)
    if task == "qa":
        from .qa import prepare_table
        return prepare_table(table, config)
    if task == "mlm":
        if table.lines is not None:
            texts = list(table.lines)
        else:
            texts = _texts(table, config.text_column)
        if len(texts) < MIN_EXAMPLES:
            raise InputError(_("'{filename}' has {n_texts} non-empty line(s); masked-LM training needs at "
                               "least {minimum}.").format(
                                 filename=table.filename, n_texts=len(texts), minimum=MIN_EXAMPLES))
        return TaskData(task, texts=texts, source=table.filename)

    if task == "ner":
        return _prepare_ner(table, config)

    texts = _texts(table, config.text_column)
    raw = list(_column(table, config.label_column, "labels"))
    missing = [i for i, v in enumerate(raw) if _missing(v)]
    if missing:
        raise InputError(_("'{filename}': the label is missing (empty or NaN) in row(s) {missing}. Every "
                           "example needs a label; fix or drop those rows.").format(
                             filename=table.filename, missing=_rows(missing)))
    if task == "classification":
        values = [str(v).strip() for v in raw]
        names = _label_set(values, [str(x) for x in config.labels], table.filename)
        if len(set(values)) < 2:
            raise InputError(_("'{filename}' has a single class ({values!r}): a classifier needs examples "
                               "of at least two labels.").format(filename=table.filename, values=values[0]))
        index = {name: i for i, name in enumerate(names)}
        data = TaskData(task, texts=texts, labels=[index[v] for v in values], label_names=names, source=table.filename)
    else:  # multilabel: "sports|politics"
        sets = []
        for v in raw:
            parts = v if isinstance(v, list) else str(v).split(config.label_separator)
            sets.append(sorted({str(p).strip() for p in parts if str(p).strip()}))
        empty = [i for i, s in enumerate(sets) if not s]
        if empty:
            raise InputError(_("'{filename}': no label in row(s) {empty}.").format(
                                 filename=table.filename, empty=_rows(empty)))
        names = _label_set([x for s in sets for x in s], [str(x) for x in config.labels], table.filename)
        if len(names) < 2:
            raise InputError(_("'{filename}' uses a single label ({names!r}): multi-label training needs "
                               "at least two.").format(filename=table.filename, names=names[0]))
        index = {name: i for i, name in enumerate(names)}
        data = TaskData(task, texts=texts, labels=[[index[x] for x in s] for s in sets], label_names=names,
                        source=table.filename)
    if len(data) < MIN_EXAMPLES:
        raise InputError(_("'{filename}' has {n_data} example(s); training needs at least {minimum}.").format(
                             filename=table.filename, n_data=len(data), minimum=MIN_EXAMPLES))
    return data


def _as_list(value, what: str, row: int, filename: str) -> list[str]:
    if isinstance(value, str):
        return value.split()
    if isinstance(value, (list, tuple)) and all(isinstance(x, (str, int, float)) for x in value):
        return [str(x) for x in value]
    raise InputError(_("'{filename}' row {row}: the {what} must be a list of strings (or one "
                       "space-separated string).").format(filename=filename, row=row + 1, what=what))


def _prepare_ner(table: Table, config: JobConfig) -> TaskData:
    tokens_col = _column(table, config.tokens_column, "tokens")
    tags_col = _column(table, config.tags_column, "tags")
    tokens, tags, bad_tags, bad_rows = [], [], set(), []
    for i, (toks, tgs) in enumerate(zip(tokens_col, tags_col)):
        if _missing(toks) if not isinstance(toks, list) else not toks:
            raise InputError(_("'{filename}' row {i} has no tokens.").format(filename=table.filename, i=i + 1))
        if not isinstance(tgs, list) and _missing(tgs):
            raise InputError(_("'{filename}' row {i} has no tags (missing or NaN).").format(
                                 filename=table.filename, i=i + 1))
        toks = _as_list(toks, "tokens", i, table.filename)
        tgs = _as_list(tgs, "tags", i, table.filename)
        if len(toks) != len(tgs):
            raise InputError(_("'{filename}' row {i} has {n_toks} tokens but {n_tgs} tags; they must match "
                               "one to one.").format(
                                 filename=table.filename, i=i + 1, n_toks=len(toks), n_tgs=len(tgs)))
        wrong = [t for t in tgs if not BIO_TAG.match(t)]
        if wrong:
            bad_tags.update(wrong)
            bad_rows.append(i)
        tokens.append(toks)
        tags.append(tgs)
    if bad_tags:
        raise InputError(_("'{filename}': tag(s) {repr} in row(s) {bad_rows} are outside the BIO scheme. "
                           "Use O, B-TYPE and I-TYPE (e.g. B-PER, I-PER).").format(
                             filename=table.filename, repr=', '.join(map(repr, sorted(bad_tags)[:8])),
                             bad_rows=_rows(bad_rows)))
    types = sorted({t[2:] for row in tags for t in row if t != "O"})
    if config.labels:
        allowed = [str(x) for x in config.labels]
        unknown = sorted({t for row in tags for t in row} - set(allowed))
        if unknown:
            raise InputError(_("'{filename}' has tag(s) outside the allowed list: {unknown}.").format(
                                 filename=table.filename, unknown=', '.join(unknown[:10])))
        names = allowed if "O" in allowed else ["O"] + allowed
    else:
        names = ["O"] + [f"{p}-{t}" for t in types for p in ("B", "I")]
    if not types:
        raise InputError(_("'{filename}' has no entity tags at all (every tag is O): nothing to learn.").format(
                             filename=table.filename))
    if len(tokens) < MIN_EXAMPLES:
        raise InputError(_("'{filename}' has {n_tokens} sentence(s); training needs at least "
                           "{minimum}.").format(
                             filename=table.filename, n_tokens=len(tokens), minimum=MIN_EXAMPLES))
    index = {name: i for i, name in enumerate(names)}
    return TaskData("ner", tokens=tokens, labels=[[index[t] for t in row] for row in tags], label_names=names,
                    source=table.filename)


def load_task_data(config: JobConfig, raw: bytes | None = None, filename: str | None = None) -> TaskData:
    """The job's data: uploaded bytes when given, else the file named in the config."""
    table = read_data(raw, filename or config.data) if raw is not None else read_path(config.data)
    return prepare(table, config)


def split(data: TaskData, fraction: float, seed: int) -> tuple[TaskData, TaskData]:
    """Seeded train/validation split; single-label data is stratified so every class is in both when it can be."""
    if hasattr(data, "split"):  # pre-training and QA hold out whole documents / paragraphs
        return data.split(fraction, seed)
    n = len(data)
    rng = np.random.default_rng(seed)
    if data.task == "classification":
        val: list[int] = []
        by_class: dict[int, list[int]] = {}
        for i, y in enumerate(data.labels):
            by_class.setdefault(y, []).append(i)
        for y in sorted(by_class):
            members = rng.permutation(by_class[y]).tolist()
            take = int(round(len(members) * fraction)) if len(members) > 1 else 0
            take = min(max(take, 1 if len(members) > 1 else 0), len(members) - 1)
            val.extend(members[:take])
        val_set = set(val)
        train = [i for i in rng.permutation(n).tolist() if i not in val_set]
    else:
        order = rng.permutation(n).tolist()
        take = min(max(1, int(round(n * fraction))), n - 1)
        val, train = order[:take], order[take:]
    if not val or not train:
        raise InputError(_("{n} examples cannot be split into training and validation sets; add more data.").format(
                             n=n))
    return data.subset(train), data.subset(sorted(val))
