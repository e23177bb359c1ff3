"""Read training files (CSV, TSV, JSONL or plain text) into a Table, and where the bundled sets live.

Reading only: checking the columns against a task and splitting are in `data`. Errors are InputError with a message
fit for the page (which file, which row, what is wrong), never a parser's traceback.
"""
from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import InputError
from ..i18n import N_, _

MAX_FILE_BYTES = 20 * 1024 * 1024  # matches server.maxUploadSize in .streamlit/config.toml
ASSETS = Path(__file__).resolve().parents[2] / "assets" / "datasets"

# Bundled sample sets (written for this project), keyed by the name the panel shows.
# The names are English ids marked for translation: show them with _(name). The Chinese sets need a Chinese-capable
# model (bert-base-chinese, hfl/chinese-*, multilingual): their NER tokens are single characters.
BUNDLED: dict[str, tuple[str, str]] = {
    N_("sentiment (positive / negative)"): ("sentiment.csv", "classification"),
    N_("topics (multi-label)"): ("topics.csv", "multilabel"),
    N_("named entities (BIO tags)"): ("ner.jsonl", "ner"),
    N_("plain-text corpus (masked-LM)"): ("corpus.txt", "mlm"),
    N_("short stories and facts (48 paragraphs)"): ("stories.txt", "pretraining"),
    N_("questions over short paragraphs (384 questions, 48 paragraphs)"): ("qa.jsonl", "qa"),
    N_("Chinese sentiment (正面 / 负面)"): ("sentiment_zh.csv", "classification"),
    N_("Chinese named entities (BIO tags per character)"): ("ner_zh.jsonl", "ner"),
    N_("Chinese plain-text corpus (masked-LM)"): ("corpus_zh.txt", "mlm"),
}


@dataclass
class Table:
    """A parsed file: a frame of columns (CSV/TSV/JSONL) or a list of lines (plain text)."""

    filename: str
    frame: pd.DataFrame | None = None
    lines: list[str] | None = None
    text: str | None = None  # plain text as read, blank lines kept (documents for pre-training)

    @property
    def columns(self) -> list[str]:
        return [] if self.frame is None else [str(c) for c in self.frame.columns]

    def __len__(self) -> int:
        return len(self.frame) if self.frame is not None else len(self.lines or [])

    def preview(self, rows: int = 8) -> pd.DataFrame:
        if self.frame is not None:
            return self.frame.head(rows)
        return pd.DataFrame({"text": (self.lines or [])[:rows]})

    def column(self, column: str, role: str) -> pd.Series:
        """The column the mapping names for `role`, or a message listing the columns the file has."""
        if self.frame is None:
            raise InputError(_("'{filename}' is plain text: {role} needs a table (CSV, TSV or JSONL) with "
                               "columns.").format(filename=self.filename, role=role))
        if column not in self.frame.columns:
            raise InputError(_("'{filename}' has no column '{column}' for the {role}. Its columns are: "
                               "{value}. Pick the right one in the column mapping.").format(
                                 filename=self.filename, column=column, role=role,
                                 value=', '.join(self.columns) or 'none'))
        return self.frame[column]


def is_missing(value) -> bool:
    """An empty cell: None, NaN or blank text."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def row_numbers(indices: list[int], limit: int = 5) -> str:
    """Rows as the user counts them (from 1 after the header), the first `limit` of them."""
    shown = ", ".join(str(i + 1) for i in indices[:limit])
    return shown + (_(" and {n} more").format(n=len(indices) - limit) if len(indices) > limit else "")



def decode(raw: bytes, filename: str) -> str:
    """UTF-8 (with or without BOM) text, or a message pointing at the first bad byte."""
    if len(raw) > MAX_FILE_BYTES:
        raise InputError(_("'{filename}' is {n_raw:.1f} MB; the limit is {limit} MB. Use a sample "
                           "of it here, and the command-line job for bigger data.").format(
                             filename=filename, n_raw=len(raw) / 2**20, limit=MAX_FILE_BYTES // 2**20))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise InputError(
            _("'{filename}' is not UTF-8 text: byte 0x{raw:02x} on line {line} cannot be read. Save the "
              "file as UTF-8 (e.g. 'CSV UTF-8' in a spreadsheet) and upload it again.").format(
                filename=filename, raw=raw[err.start], line=line)
        ) from None
    if not text.strip():
        raise InputError(_("'{filename}' is empty.").format(filename=filename))
    return text


MAX_JSON_DEPTH = 4  # {"tokens": [...], "tags": [...]} is 2 deep; a list of label lists 3


def _depth(value: object) -> int:
    """Nesting depth of parsed JSON, without recursion (a hostile line must not exhaust the stack here either)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if level > MAX_JSON_DEPTH:
            break
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend((child, level + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def _too_deep(filename: str, number: int) -> InputError:
    return InputError(_("'{filename}' line {number} nests lists or objects more than {depth} levels deep. Each line "
                        "should be a flat object, e.g. {example}.").format(
        filename=filename, number=number, depth=MAX_JSON_DEPTH,
        example='{"text": "...", "label": "..."} or {"tokens": [...], "tags": [...]}'))


def read_data(raw: bytes, filename: str) -> Table:
    """Parse by extension: .csv, .tsv/.tab, .jsonl/.json (one object per line), .txt (one example per line)."""
    text = decode(raw, filename)
    suffix = Path(filename).suffix.lower()
    if suffix in (".csv", ".tsv", ".tab"):
        sep = "," if suffix == ".csv" else "\t"
        try:
            frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=True, skip_blank_lines=True)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as err:
            raise InputError(_("'{filename}' could not be read as {value}: {err}").format(
                                 filename=filename, value='CSV' if sep == ',' else 'TSV', err=err)) from None
        if frame.empty:
            raise InputError(_("'{filename}' has a header but no rows.").format(filename=filename))
        frame.columns = [str(c).strip() for c in frame.columns]
        return Table(filename, frame=frame)
    if suffix in (".jsonl", ".json", ".ndjson"):
        records = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise InputError(_("'{filename}' line {number} is not a JSON object: {msg}. JSONL files "
                                   'hold one object per line, e.g. {{"text": ..., "label": ...}}.').format(
                                     filename=filename, number=number, msg=err.msg)) from None
            except RecursionError:  # the parser gives up on deep nesting; so would pandas and the page
                raise _too_deep(filename, number) from None
            if _depth(record) > MAX_JSON_DEPTH:
                raise _too_deep(filename, number)
            if not isinstance(record, dict):
                raise InputError(_("'{filename}' line {number} is a JSON {name}, not an object.").format(
                                     filename=filename, number=number, name=type(record).__name__))
            records.append(record)
        if not records:
            raise InputError(_("'{filename}' is empty.").format(filename=filename))
        return Table(filename, frame=pd.DataFrame.from_records(records))
    if suffix in (".txt", ".text", ".md", ""):
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        return Table(filename, lines=lines, text=text)
    raise InputError(_("'{filename}': unsupported file type '{suffix}'. Use .csv, .tsv, .jsonl or .txt.").format(
                         filename=filename, suffix=suffix))


def read_path(path: str | Path) -> Table:
    """Read a data file from disk; relative paths are tried from the working folder, then the repository."""
    path = Path(path)
    candidates = [path] if path.is_absolute() else [path, ASSETS.parents[1] / path]
    for candidate in candidates:
        if candidate.is_file():
            if candidate.stat().st_size > MAX_FILE_BYTES * 50:  # the CLI may read more than an upload, but not anything
                raise InputError(_("'{candidate}' is too big to read into memory here.").format(candidate=candidate))
            return read_data(candidate.read_bytes(), candidate.name)
    raise InputError(_("The data file '{path}' does not exist.").format(path=path))


def bundled_path(name: str) -> str:
    """Repository-relative path of a bundled dataset, as it appears in job configs."""
    return f"assets/datasets/{BUNDLED[name][0]}"
