"""Example sentences for the pages, in the interface language first and the other language after them.

assets/examples/<name>.json holds the English examples, <name>.zh.json the Chinese ones (same structure). Chinese
examples need a Chinese-capable model (bert-base-chinese, hfl/chinese-*, multilingual); with an English vocabulary
most characters become [UNK], which the pages then explain.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from bertexplore.i18n import DEFAULT_LANGUAGE, current_language

FOLDER = Path(__file__).resolve().parent.parent / "assets" / "examples"


@lru_cache(maxsize=32)  # read once per process, not on every rerun
def _read(name: str, lang: str) -> Any:
    path = FOLDER / (f"{name}.json" if lang == DEFAULT_LANGUAGE else f"{name}.{lang}.json")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # a missing or broken examples file must not break the page


def _merge(first: Any, second: Any) -> Any:
    """Lists: first's items, then second's; dicts: merged key by key (first's order and scalars win)."""
    if isinstance(first, list) and isinstance(second, list):
        return first + [item for item in second if item not in first]
    if isinstance(first, dict) and isinstance(second, dict):
        out = dict(first)
        for key, value in second.items():
            out[key] = _merge(out[key], value) if key in out else value
        return out
    return first if first is not None else second


def load(name: str, lang: str | None = None) -> Any:
    """The examples called `name` in `lang` (default: the session's language); None when absent.

    English mode shows English examples only (Chinese pills on an English page read as a mistake). 中文 mode shows
    the Chinese ones first, then the English ones: the model that works offline has an English vocabulary, and
    English examples then still give a real demo. Where a language has no file, the other's examples are used.
    """
    lang = lang or current_language()
    own = _read(name, lang)
    if lang == DEFAULT_LANGUAGE:
        return own if own is not None else _read(name, "zh")
    other = _read(name, DEFAULT_LANGUAGE)
    return _merge(own, other) if own is not None else other
