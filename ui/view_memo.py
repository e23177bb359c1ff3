"""Results derived from one trace (figures, summaries), kept in the memo so a rerun (or another session) reuses them.

Keyed by the trace object itself (through a weak reference, so a figure never keeps a 150 MB trace alive) and by
the view's settings: going back to a layer or head already seen sends the stored figure without rebuilding it.
"""
from __future__ import annotations

import weakref
from typing import Any, Callable

from .session_memo import memo, store

FIGURES_KEPT = 12  # a 512-token heatmap holds ~1 MB of float32: a dozen per session is cheap


def derived(kind: str, trace: Any, key: tuple, compute: Callable[[], Any], keep: int = FIGURES_KEPT) -> Any:
    """`compute()` for (trace, key), run once per session while that trace lives."""
    full_key = (id(trace),) + key
    # Shared like the trace it comes from (ui/session_memo.py): thirty sessions on one text build its figure once.
    stored = memo(kind, full_key, lambda: (weakref.ref(trace), compute()), keep)
    if stored[0]() is trace:
        return stored[1]
    # Made for a trace that is gone and whose id a new one reuses.
    value = compute()
    store(kind, full_key, (weakref.ref(trace), value), keep)
    return value
