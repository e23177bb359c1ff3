"""One per-session memo for every page: reruns reuse results instead of running the model again.

Results (traces, predictions, scans) are bounded in BYTES, not in entries: one trace of 512 tokens on bert-base
holds ~150 MB, one of 8 tokens on MiniLM 0.1 MB. Two budgets, both set here:

- per session (SESSION_BUDGET_BYTES, ~400 MB): a session's own least recently used results go first;
- per server (SERVER_BUDGET_BYTES, 2 GiB unless BERTEXPLORE_MEMO_SERVER_MB says otherwise): across all sessions,
  the least recently used result anywhere goes first. Tabs closed a moment ago are never used again, so their
  results are the first to be evicted when new sessions need the room.

Each session's results live in its own container in st.session_state (no session can read another's; Streamlit
frees the container with the session). One process-wide index, behind one lock, holds weak references to those
containers with the size and last use of every entry: that is what eviction across sessions walks.
"""
from __future__ import annotations

import dataclasses
import itertools
import os
import sys
import threading
import weakref
from collections import OrderedDict
from typing import Any, Callable

import numpy as np
import streamlit as st

SESSION_BUDGET_BYTES = 400 * 2**20
SERVER_BUDGET_BYTES = int(float(os.environ.get("BERTEXPLORE_MEMO_SERVER_MB", 2048)) * 2**20)

_KEY = "_bertexplore_memo"


class _SessionMemo:
    """One session's results: {(kind, key): value}. Weak-referenceable, so the index never keeps it alive."""

    __slots__ = ("values", "__weakref__")

    def __init__(self) -> None:
        self.values: dict[tuple, Any] = {}


class _Index:
    """Size and recency of every stored result of every live session; all mutation under one lock."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        # entry id -> (weakref to its session's container, (kind, key), nbytes); order = least recently used first
        self.entries: OrderedDict[int, tuple[weakref.ref, tuple, int]] = OrderedDict()
        self.where: dict[tuple[int, tuple], int] = {}  # (id(container), (kind, key)) -> entry id
        self.ids = itertools.count()

    # -- bookkeeping (callers hold self.lock)
    def _drop(self, entry: int) -> None:
        ref, slot, _ = self.entries.pop(entry)
        container = ref()
        self.where.pop((id(container), slot), None)
        if container is not None:
            container.values.pop(slot, None)

    def _purge_dead(self) -> None:
        dead = [e for e, (ref, _, _) in self.entries.items() if ref() is None]
        for entry in dead:
            ref, slot, _ = self.entries.pop(entry)
        if dead:
            live = set(self.entries)
            self.where = {k: v for k, v in self.where.items() if v in live}

    def total(self, container: _SessionMemo | None = None) -> int:
        with self.lock:
            if container is None:
                return sum(n for ref, _, n in self.entries.values() if ref() is not None)
            return sum(n for ref, _, n in self.entries.values() if ref() is container)

    def touch(self, container: _SessionMemo, slot: tuple) -> None:
        with self.lock:
            entry = self.where.get((id(container), slot))
            if entry is not None:
                self.entries.move_to_end(entry)

    def add(self, container: _SessionMemo, slot: tuple, value: Any, nbytes: int, keep: int | None) -> None:
        with self.lock:
            self._purge_dead()
            old = self.where.get((id(container), slot))
            if old is not None:
                self._drop(old)
            if nbytes > min(SESSION_BUDGET_BYTES, SERVER_BUDGET_BYTES):
                return  # bigger than a whole budget: used for this run, never stored
            container.values[slot] = value
            entry = next(self.ids)
            self.entries[entry] = (weakref.ref(container), slot, nbytes)
            self.where[(id(container), slot)] = entry
            mine = [e for e, (ref, s, _) in self.entries.items() if ref() is container]
            if keep is not None:
                same_kind = [e for e in mine if self.entries[e][1][0] == slot[0]]
                for e in same_kind[:-keep]:
                    self._drop(e)
                    mine.remove(e)
            session_total = sum(self.entries[e][2] for e in mine)
            for e in mine:  # least recently used first
                if session_total <= SESSION_BUDGET_BYTES or e == entry:
                    break
                session_total -= self.entries[e][2]
                self._drop(e)
            server_total = sum(n for _, _, n in self.entries.values())
            for e in list(self.entries):
                if server_total <= SERVER_BUDGET_BYTES or e == entry:
                    break
                server_total -= self.entries[e][2]
                self._drop(e)


_INDEX = _Index()


def sizeof(value: Any, _seen: set[int] | None = None, _depth: int = 0) -> int:
    """Bytes a stored result holds: its `.nbytes` when it says, else arrays, tensors and containers inside it."""
    seen = _seen if _seen is not None else set()
    if id(value) in seen or _depth > 6:
        return 0
    seen.add(id(value))
    nbytes = getattr(value, "nbytes", None)
    if isinstance(nbytes, (int, np.integer)) and not isinstance(value, type):
        return int(nbytes)
    if hasattr(value, "element_size") and hasattr(value, "nelement"):  # torch.Tensor without importing torch
        return int(value.element_size() * value.nelement())
    if isinstance(value, (str, bytes, bytearray, int, float, bool, type(None))):
        return sys.getsizeof(value)
    if isinstance(value, dict):
        items = list(value.items())
        return sys.getsizeof(value) + sum(sizeof(k, seen, _depth + 1) + sizeof(v, seen, _depth + 1) for k, v in items)
    if isinstance(value, (list, tuple, set, frozenset)):
        return sys.getsizeof(value) + sum(sizeof(v, seen, _depth + 1) for v in value)
    if dataclasses.is_dataclass(value):
        return sys.getsizeof(value) + sum(sizeof(getattr(value, f.name, None), seen, _depth + 1)
                                          for f in dataclasses.fields(value))
    if hasattr(value, "__dict__"):
        return sys.getsizeof(value) + sizeof(vars(value), seen, _depth + 1)
    return sys.getsizeof(value)


def _container() -> _SessionMemo:
    container = st.session_state.get(_KEY)
    if not isinstance(container, _SessionMemo):
        container = st.session_state[_KEY] = _SessionMemo()
    return container


def memo(kind: str, key: tuple, compute: Callable[[], Any] | None = None, keep: int | None = None) -> Any:
    """The stored result for (kind, key); computed and stored when missing and `compute` is given, else None.

    `keep`: at most this many results of `kind` in this session (on top of the byte budgets).
    """
    container = _container()
    slot = (kind, key)
    with _INDEX.lock:
        if slot in container.values:
            _INDEX.touch(container, slot)
            return container.values[slot]
    if compute is None:
        return None
    value = compute()  # outside the lock: a forward pass must not block other sessions' memos
    _INDEX.add(container, slot, value, sizeof(value), keep)
    return value


def recall(kind: str, key: tuple) -> Any | None:
    """A result this session already computed, else None (nothing is run)."""
    return memo(kind, key)


def store(kind: str, key: tuple, value: Any, keep: int | None = None) -> Any:
    """Store `value` for (kind, key), replacing what was there; returns it."""
    _INDEX.add(_container(), (kind, key), value, sizeof(value), keep)
    return value


def usage() -> dict[str, int]:
    """Bytes held by this session and by the whole server (for the bench and the tests)."""
    container = st.session_state.get(_KEY)
    return {"session": _INDEX.total(container) if isinstance(container, _SessionMemo) else 0,
            "server": _INDEX.total(), "session_budget": SESSION_BUDGET_BYTES, "server_budget": SERVER_BUDGET_BYTES}
