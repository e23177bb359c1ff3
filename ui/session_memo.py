"""One memo for every page: reruns reuse results instead of running the model again, and sessions share them.

Shared results (issue 19 §1). Traces, predictions, scans, census and analysis matrices are pure: the same key gives
the same value in every session. They live ONCE in the process, read-only, keyed by everything that determines
them: the caller's key (which carries `loaded.key`: name, head, device, precision, the weights' modification time;
and the text, pair, masks and activation names), plus what this module adds itself: the head mask active in this
thread (bertexplore.attention_function) and, for results that may carry words, the interface language. Thirty
students opening the same example cost one forward and one copy.

- Single flight: N sessions asking for the same missing key at once cause ONE computation; the others wait for it
  and get its value. If it fails (an error, or its session stopped the script) a waiting session computes instead.
- Private results stay per session: the kinds in PRIVATE_KINDS (a session's ablation choices) never leave it.
  Fine-tune jobs and uploads are not memo results at all.

Bounded in BYTES, not in entries: a trace of 512 tokens on bert-base holds ~150 MB, one of 8 tokens on MiniLM
0.1 MB. Two budgets:

- per session (SESSION_BUDGET_BYTES, ~400 MB): the results a session uses (its private ones and the shared ones it
  showed); over budget, its least recently used go first. A shared result leaves the process when no session uses it
  any more, unless a warm-up put it there;
- per server (SERVER_BUDGET_BYTES, 2 GiB unless BERTEXPLORE_MEMO_SERVER_MB says otherwise): every result counted
  ONCE however many sessions use it; over budget, the least recently used anywhere goes first. An evicted shared
  result is also taken out of every session that used it: a session that still shows it recomputes it on its next
  rerun (or gets it back from whoever recomputes it first), it never breaks.

Closed sessions: Streamlit drops their session_state, and with it their private results (the index only holds
weak references to them) and their claims on shared ones. ui/janitor.py drops, at its next sweep, shared results
no live session holds (unless a warm-up put them there).
"""
from __future__ import annotations

import os
import threading
import time
import weakref
from collections import OrderedDict
from typing import Any, Callable

import streamlit as st

from .memo_values import footprint, freeze, sizeof

SESSION_BUDGET_BYTES = 400 * 2**20
SERVER_BUDGET_BYTES = int(float(os.environ.get("BERTEXPLORE_MEMO_SERVER_MB", 2048)) * 2**20)
# A shared result that no live session (nor a disconnected one within its reconnect time) holds leaves at the next
# sweep (ui/janitor.py): a closed class's memory comes back; the next class recomputes, unless a warm-up pinned it.
IDLE_SECONDS = 0.0

# Kinds that stay in the session that made them: a session's own ablation choices (issue 19 §1).
PRIVATE_KINDS = frozenset({"ablation"})
# Kinds whose values hold numbers and token strings only: shared across interface languages. Every other shared
# kind may carry translated words (notices, captions, figure labels), so the language is part of its key.
LANGUAGE_FREE_KINDS = frozenset({"trace", "inside_trace"})

_KEY = "_bertexplore_memo"
SESSIONS: weakref.WeakSet[_SessionMemo] = weakref.WeakSet()  # every live session's memo view (for stats)


class _Entry:
    """One stored result: its value, its size, and who uses it."""

    __slots__ = ("slot", "value", "nbytes", "other", "buffers", "shared", "pinned", "owner", "users", "used",
                 "__weakref__")

    def __init__(self, slot: tuple, value: Any, nbytes: int, shared: bool, pinned: bool,
                 owner: _SessionMemo | None) -> None:
        self.slot, self.value, self.nbytes, self.shared, self.pinned = slot, value, nbytes, shared, pinned
        # The arrays' memory, by the buffer that owns it: results that share arrays (a measure made of the trace's
        # own attention weights, a broadcast view) count each buffer once (issue 18 §2).
        self.other, self.buffers = footprint(value)
        if not self.buffers:
            self.other = nbytes  # no arrays inside: the caller's measure (sizeof) is as good
        self.owner = None if owner is None else weakref.ref(owner)  # private entries: the session holding it
        self.users: weakref.WeakSet[_SessionMemo] = weakref.WeakSet()  # shared entries: sessions using it
        self.used = time.monotonic()


class _SessionMemo:
    """One session's view of the memo: {slot: entry} in least-recently-used order (private and shared entries)."""

    __slots__ = ("entries", "session_id", "__weakref__")

    def __init__(self, session_id: str = "") -> None:
        self.entries: OrderedDict[tuple, _Entry] = OrderedDict()
        self.session_id = session_id  # Streamlit's id of the session whose state holds this

    @property
    def values(self) -> dict[tuple, Any]:
        """(kind, key) -> value of what this session holds (for tests and the bench)."""
        return {entry.slot[:2]: entry.value for entry in list(self.entries.values())}


class _Flight:
    """A computation under way: waiters block on `done` and then read `value` (or see `failed`)."""

    __slots__ = ("done", "thread", "value", "failed")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.thread = threading.get_ident()
        self.value: Any = None
        self.failed = True


class _Index:
    """Every stored result of the process, each once; all mutation under one lock."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        # id(entry) -> entry (shared: strong; private: weak, so a closed session's results die with it).
        # Order = least recently used first.
        self.order: OrderedDict[int, _Entry | weakref.ref] = OrderedDict()
        self.shared: dict[tuple, _Entry] = {}
        self.flights: dict[tuple, _Flight] = {}

    # -- bookkeeping (callers hold self.lock)
    def _live(self) -> list[_Entry]:
        out, dead = [], []
        for eid, ref in self.order.items():
            entry = ref() if isinstance(ref, weakref.ref) else ref
            (dead if entry is None else out).append(eid if entry is None else entry)
        for eid in dead:
            del self.order[eid]
        return out

    def _forget(self, entry: _Entry) -> None:
        """Take `entry` out of the process: the index, the shared table, and every session holding it."""
        self.order.pop(id(entry), None)
        if entry.shared:
            if self.shared.get(entry.slot) is entry:
                del self.shared[entry.slot]
            holders = list(entry.users)
        else:
            owner = entry.owner() if entry.owner is not None else None
            holders = [owner] if owner is not None else []
        for container in holders:
            if container.entries.get(entry.slot) is entry:
                del container.entries[entry.slot]

    def _release(self, container: _SessionMemo, entry: _Entry) -> None:
        """`container` stops using `entry`; the entry leaves when nobody else uses it (and no warm-up pinned it)."""
        if container.entries.get(entry.slot) is entry:
            del container.entries[entry.slot]
        if entry.shared:
            entry.users.discard(container)
            if len(entry.users) == 0 and not entry.pinned:
                self._forget(entry)
        else:
            self._forget(entry)

    def _use(self, container: _SessionMemo | None, entry: _Entry) -> None:
        entry.used = time.monotonic()
        if id(entry) in self.order:
            self.order.move_to_end(id(entry))
        if container is not None:
            if entry.shared:
                entry.users.add(container)
            container.entries[entry.slot] = entry
            container.entries.move_to_end(entry.slot)

    # -- queries
    def total(self, container: _SessionMemo | None = None) -> int:
        """Bytes held, every array buffer counted once however many results hold it."""
        with self.lock:
            return _bytes(self._live() if container is None else list(container.entries.values()))

    def held(self, container: _SessionMemo, slot: tuple) -> _Entry | None:
        """The entry this session itself asked for (and still holds), else None; nothing is claimed."""
        with self.lock:
            entry = container.entries.get(slot)
            if entry is not None and (not entry.shared or self.shared.get(slot) is entry):
                self._use(container, entry)
                return entry
            return None

    def get(self, container: _SessionMemo | None, slot: tuple) -> _Entry | None:
        with self.lock:
            entry = self.shared.get(slot) if _is_shared(slot) else (
                container.entries.get(slot) if container is not None else None)
            if entry is not None:
                self._use(container, entry)
            return entry

    # -- mutation
    def add(self, container: _SessionMemo | None, slot: tuple, value: Any, nbytes: int, keep: int | None,
            pinned: bool = False) -> None:
        shared = _is_shared(slot)
        if container is None and not shared:
            return  # a private result outside any session: nowhere to keep it
        with self.lock:
            old = self.shared.get(slot) if shared else container.entries.get(slot)
            if old is not None:
                self._forget(old)
            if nbytes > min(SESSION_BUDGET_BYTES, SERVER_BUDGET_BYTES):
                return  # bigger than a whole budget: used for this run, never stored
            entry = _Entry(slot, value, nbytes, shared, pinned, None if shared else container)
            if shared:
                self.shared[slot] = entry
                self.order[id(entry)] = entry
            else:
                self.order[id(entry)] = weakref.ref(entry)
            self._use(container, entry)
            if container is not None:
                self._fit_session(container, entry, keep)
            self._fit_server(entry)

    def _fit_session(self, container: _SessionMemo, newest: _Entry, keep: int | None) -> None:
        if keep is not None:
            same_kind = [e for s, e in container.entries.items() if s[0] == newest.slot[0]]
            for entry in same_kind[:-keep]:
                self._release(container, entry)
        for entry in list(container.entries.values()):  # least recently used first
            if _bytes(list(container.entries.values())) <= SESSION_BUDGET_BYTES or entry is newest:
                break
            self._release(container, entry)

    def _fit_server(self, newest: _Entry) -> None:
        for entry in self._live():
            if _bytes(self._live()) <= SERVER_BUDGET_BYTES or entry is newest:
                break
            self._forget(entry)

    def drop_idle(self, idle_seconds: float) -> int:
        """Forget shared results no live session uses and nobody touched for `idle_seconds`; bytes freed."""
        now, freed = time.monotonic(), 0
        with self.lock:
            for entry in list(self.shared.values()):
                if not entry.pinned and len(entry.users) == 0 and now - entry.used >= idle_seconds:
                    freed += entry.nbytes
                    self._forget(entry)
        return freed


_INDEX = _Index()


def _bytes(entries: list[_Entry]) -> int:
    buffers: dict[int, int] = {}
    for entry in entries:
        buffers.update(entry.buffers)
    return sum(e.other for e in entries) + sum(buffers.values())


def _is_shared(slot: tuple) -> bool:
    return slot[0] not in PRIVATE_KINDS


def _context(kind: str) -> tuple:
    """What, beyond the caller's key, decides a shared result: the thread's head mask and (for results that may
    hold words) the interface language."""
    from bertexplore.attention_function import _head_mask  # engine state read, never set, here
    from bertexplore.i18n import current_language

    mask = _head_mask.get()
    mask_key = None if mask is None else (tuple(mask.shape), mask.detach().cpu().numpy().tobytes())
    return (mask_key, None if kind in LANGUAGE_FREE_KINDS else current_language())


def _slot(kind: str, key: tuple) -> tuple:
    return (kind, key, _context(kind)) if kind not in PRIVATE_KINDS else (kind, key)


def _in_session() -> bool:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    return get_script_run_ctx(suppress_warning=True) is not None


def _container() -> _SessionMemo | None:
    """This session's memo view; None outside a session (the warm-up, benches), where only shared results live."""
    if not _in_session():
        return None
    container = st.session_state.get(_KEY)
    if not isinstance(container, _SessionMemo):
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        ctx = get_script_run_ctx(suppress_warning=True)
        container = st.session_state[_KEY] = _SessionMemo(getattr(ctx, "session_id", "") or "")
        SESSIONS.add(container)
    return container


def _compute_once(container: _SessionMemo | None, slot: tuple, compute: Callable[[], Any], keep: int | None,
                  pinned: bool) -> Any:
    """Single flight: one computation per missing shared slot; the others wait for it and take its value."""
    while True:
        with _INDEX.lock:
            entry = _INDEX.get(container, slot)
            if entry is not None:
                return entry.value
            flight = _INDEX.flights.get(slot)
            leader = flight is None
            if leader:
                flight = _INDEX.flights[slot] = _Flight()
        if not leader:
            if flight.thread == threading.get_ident():  # the same slot asked again inside its own computation
                return compute()
            flight.done.wait()
            if not flight.failed:
                return flight.value  # stored for everyone, or too big to store: either way, this run's value
            continue  # the leader failed or its session stopped: try again (perhaps as the leader)
        try:
            value = freeze(compute())  # outside the lock: a forward pass must not block other sessions' memos
            flight.value, flight.failed = value, False
            _INDEX.add(container, slot, value, sizeof(value), keep, pinned)
            return value
        finally:
            with _INDEX.lock:
                _INDEX.flights.pop(slot, None)
            flight.done.set()


def memo(kind: str, key: tuple, compute: Callable[[], Any] | None = None, keep: int | None = None) -> Any:
    """The stored result for (kind, key); computed and stored when missing and `compute` is given, else None.

    `keep`: at most this many results of `kind` used by this session (on top of the byte budgets).
    """
    container = _container()
    slot = _slot(kind, key)
    if compute is None and container is not None:
        # Only what this session asked for: a result another session computed behind its button must not
        # appear here before this student presses it (the computation itself is shared when they do).
        held = _INDEX.held(container, slot)
        return held.value if held is not None else None
    entry = _INDEX.get(container, slot)
    if entry is not None:
        return entry.value
    if compute is None:
        return None
    if not _is_shared(slot):
        value = compute()
        _INDEX.add(container, slot, value, sizeof(value), keep)
        return value
    return _compute_once(container, slot, compute, keep, pinned=False)


def warm(kind: str, key: tuple, compute: Callable[[], Any]) -> Any:
    """`memo` for a warm-up outside any session: the result is shared and stays until the server budget needs
    the room (it is not dropped for being unused)."""
    slot = _slot(kind, key)
    entry = _INDEX.get(None, slot)
    if entry is not None:
        entry.pinned = True
        return entry.value
    return _compute_once(None, slot, compute, None, pinned=True)


def recall(kind: str, key: tuple) -> Any | None:
    """A result this session already asked for, else None (nothing is run). Outside a session: any shared one."""
    return memo(kind, key)


def store(kind: str, key: tuple, value: Any, keep: int | None = None) -> Any:
    """Store `value` for (kind, key), replacing what was there; returns it (read-only arrays if shared)."""
    slot = _slot(kind, key)
    if _is_shared(slot):
        freeze(value)
    _INDEX.add(_container(), slot, value, sizeof(value), keep)
    return value


def release_ended(live_session_ids: set[str]) -> int:
    """Let go of every result held for sessions Streamlit no longer has (ui/janitor.py). Their state may outlive
    them in memory (Streamlit internals keep some ended sessions reachable for a while, measured): what they
    held of the memo must not. Returns how many sessions were released."""
    released = 0
    with _INDEX.lock:
        for container in list(SESSIONS):
            if container.session_id and container.session_id not in live_session_ids and container.entries:
                for entry in list(container.entries.values()):
                    _INDEX._release(container, entry)
                released += 1
    return released


def drop_idle(idle_seconds: float = IDLE_SECONDS) -> int:
    """Forget shared results unused for `idle_seconds` by any live session (ui/janitor.py calls this)."""
    return _INDEX.drop_idle(idle_seconds)


def usage() -> dict[str, int]:
    """Bytes used by this session and held by the whole server (each shared result once)."""
    container = st.session_state.get(_KEY) if _in_session() else None
    return {"session": _INDEX.total(container) if isinstance(container, _SessionMemo) else 0,
            "server": _INDEX.total(), "session_budget": SESSION_BUDGET_BYTES, "server_budget": SERVER_BUDGET_BYTES}
