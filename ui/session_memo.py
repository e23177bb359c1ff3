"""One per-session memo for every page: reruns reuse results instead of running the model again.

Results are grouped by kind, and only the last few of each kind are kept (one trace of 512 tokens on bert-base
holds ~150 MB). Everything lives in st.session_state, so no session ever sees another's results.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable

import streamlit as st

_KEY = "_bertexplore_memo"


def memo(kind: str, key: tuple, compute: Callable[[], Any] | None = None, keep: int = 3) -> Any:
    """The stored result for (kind, key); computed and stored when missing and `compute` is given, else None."""
    kept: OrderedDict = st.session_state.setdefault(_KEY, {}).setdefault(kind, OrderedDict())
    if key in kept:
        kept.move_to_end(key)
        return kept[key]
    if compute is None:
        return None
    kept[key] = value = compute()
    while len(kept) > keep:
        kept.popitem(last=False)
    return value


def recall(kind: str, key: tuple) -> Any | None:
    """A result this session already computed, else None (nothing is run)."""
    return memo(kind, key)


def store(kind: str, key: tuple, value: Any, keep: int = 3) -> Any:
    """Store `value` for (kind, key), replacing what was there; returns it."""
    kept: OrderedDict = st.session_state.setdefault(_KEY, {}).setdefault(kind, OrderedDict())
    kept[key] = value
    kept.move_to_end(key)
    while len(kept) > keep:
        kept.popitem(last=False)
    return value
