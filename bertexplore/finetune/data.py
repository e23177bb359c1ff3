"""Check the user's training data for the labelled tasks (classification, multi-label, NER, masked-LM), and split.

Files are read by `files`; pre-training and QA check their own data (pretraining.py, qa.py); task_table picks which.

Everything here is plain Python / pandas and raises InputError with a message fit for the page:
which file, which row, what is wrong and how to fix it. Nothing is trained or saved when data fails.
"""
from __future__ import annotations

import re

import numpy as np

from ..errors import InputError
from ..i18n import _
from .config import JobConfig
from .dataset_types import MIN_EXAMPLES, TaskData
from .files import Table
from .files import is_missing as _missing
from .files import row_numbers as _rows

BIO_TAG = re.compile(r"^(O|[BI]-[^\s]+)$")


def _texts(table: Table, column: str) -> list[str]:
    series = table.column(column, "text")
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


def prepare_labelled(table: Table, config: JobConfig) -> TaskData:
    """Check the table against a labelled task (or masked-LM) and turn it into examples with integer labels."""
    task = config.task
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

    if config.text_column == config.label_column:
        raise InputError(_("'{filename}': the text and the labels are both mapped to the column '{column}'. Pick the "
                           "column that holds the labels in the column mapping.").format(
                             filename=table.filename, column=config.label_column))
    texts = _texts(table, config.text_column)
    raw = list(table.column(config.label_column, "labels"))
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
        _labels_look_like_labels(names, len(values), table.filename, config.label_column)
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
        _labels_look_like_labels(names, len(sets), table.filename, config.label_column)
        index = {name: i for i, name in enumerate(names)}
        data = TaskData(task, texts=texts, labels=[[index[x] for x in s] for s in sets], label_names=names,
                        source=table.filename)
    if len(data) < MIN_EXAMPLES:
        raise InputError(_("'{filename}' has {n_data} example(s); training needs at least {minimum}.").format(
                             filename=table.filename, n_data=len(data), minimum=MIN_EXAMPLES))
    return data


MAX_LABELS = 50  # more distinct labels than this, and as many as half the examples: a text column, not labels


def _labels_look_like_labels(names: list[str], examples: int, filename: str, column: str) -> None:
    """A label column where nearly every row has its own label is a text column mapped by mistake."""
    if len(names) > MAX_LABELS and len(names) * 2 > examples:
        raise InputError(_("'{filename}': the column '{column}' has {n} different labels for {examples} examples: it "
                           "looks like text, not labels. Pick the column that holds the labels in the column "
                           "mapping.").format(filename=filename, column=column, n=len(names), examples=examples))


def _json_lines(filename: str) -> bool:
    return filename.lower().endswith((".jsonl", ".json", ".ndjson"))


def _as_list(value, what: str, row: int, filename: str) -> list[str]:
    """A cell of NER tokens or tags: a JSON list; in CSV/TSV (whose cells cannot hold lists) a space-separated string.

    A string where JSON could have held a list, or one that is the printed form of a list ("['John', 'lives']",
    what a spreadsheet export of a list column gives), is refused: splitting it on spaces would train on "['John',".
    """
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("[") and text.endswith("]"):
            raise InputError(_("'{filename}' row {row}: the {what} are the printed text of a list ({value}), not a "
                               "list. Write JSONL with real lists, e.g. {example}.").format(
                                 filename=filename, row=row + 1, what=what, value=text[:40],
                                 example='{"tokens": ["John", "lives"], "tags": ["B-PER", "O"]}'))
        if _json_lines(filename):
            raise InputError(_("'{filename}' row {row}: the {what} are one string; in JSONL they must be a list, "
                               "e.g. {example}.").format(
                                 filename=filename, row=row + 1, what=what,
                                 example='{"tokens": ["John", "lives"], "tags": ["B-PER", "O"]}'))
        return text.split()
    if isinstance(value, (list, tuple)) and all(isinstance(x, (str, int, float)) for x in value):
        return [str(x) for x in value]
    raise InputError(_("'{filename}' row {row}: the {what} must be a list of strings (or one "
                       "space-separated string).").format(filename=filename, row=row + 1, what=what))


def _prepare_ner(table: Table, config: JobConfig) -> TaskData:
    tokens_col = table.column(config.tokens_column, "tokens")
    tags_col = table.column(config.tags_column, "tags")
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
