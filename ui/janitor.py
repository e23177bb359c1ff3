"""Give closed sessions' memory back on a timer, not on the next visitor's write (issue 18 §2).

Streamlit keeps a disconnected session for `server.disconnectedSessionTTL` seconds (120 by default) so a student
whose network blinked gets it back. Its session store (streamlit/runtime/memory_session_storage.py, a TTLCache in
Streamlit 1.67) removes expired sessions only when something is next written to it, and never shuts them down: on a
quiet server a closed class's traces stayed resident for good (measured: flat for 300 s after every tab closed).

Every `PERIOD_S` a daemon thread here
- reaps the session store's expired sessions under the session manager's own lock, and shuts each one down the way
  Streamlit's `close_session` does;
- drops shared results no live session uses any more (ui/session_memo.py `drop_idle`);
- when anything went, runs one collection (sessions and page namespaces are reference cycles; the heap's long-lived
  part is frozen at start-up, ui/heap.py, so this walks only what sessions made) and hands freed heap pages back
  to the operating system (glibc's malloc_trim).
So a closed tab's memory returns within TTL + PERIOD_S.
"""
from __future__ import annotations

import ctypes
import gc
import json
import logging
import os
import threading
from typing import Any

from . import session_memo

PERIOD_S = float(os.environ.get("BERTEXPLORE_SWEEP_S", 15))
STATS_ENV = "BERTEXPLORE_STATS_FILE"  # benches: where the server writes its forwards and memo bytes every second
log = logging.getLogger("bertexplore")
_started = threading.Lock()
LAST: dict[str, Any] = {}  # the last sweep's outcome (stats)


def _session_manager() -> Any | None:
    try:
        from streamlit.runtime import Runtime

        return Runtime.instance()._session_mgr if Runtime.exists() else None
    except Exception:  # noqa: BLE001 - no server (tests, benches): nothing to reap
        return None


def reap_sessions(manager: Any) -> int:
    """Remove and shut down the sessions whose reconnect time is over; returns how many."""
    storage = getattr(manager, "_session_storage", None)
    cache = getattr(storage, "_cache", None)
    if cache is None or not hasattr(cache, "expire"):
        return 0  # another Streamlit's storage: it keeps its own rules
    lock = getattr(manager, "_storage_lock", None) or threading.Lock()
    with lock:
        expired = cache.expire()
    for _, info in expired:
        try:
            info.session.shutdown()
        except Exception:  # noqa: BLE001 - one broken session must not stop the others' clean-up
            log.warning("could not shut down an expired session", exc_info=True)
    return len(expired)


def _trim() -> None:
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: freed memory is still reused by this process


def sweep(idle_seconds: float = session_memo.IDLE_SECONDS) -> dict[str, int]:
    """One round: expired sessions, unused shared results, then a collection if anything went."""
    manager = _session_manager()
    sessions = reap_sessions(manager) if manager is not None else 0
    storage = getattr(getattr(manager, "_session_storage", None), "_cache", None)
    live_ids = set(getattr(storage, "_data", {}) or {}) | set(getattr(manager, "_active_session_info_by_id", {}) or {})
    alive = len(live_ids)
    released = session_memo.release_ended(live_ids) if manager is not None else 0
    # Sessions Streamlit ended itself (not resumable) or that were reaped above are reference cycles: their
    # session_state, and their claims on shared results, die only in a collection. One runs when more sessions'
    # memos are alive than sessions exist.
    collected = manager is not None and (sessions > 0 or len(session_memo.SESSIONS) > alive)
    if collected:
        gc.collect()
    freed = session_memo.drop_idle(idle_seconds)
    if sessions or freed or collected:
        _trim()
    LAST.update(sessions=sessions, bytes=freed, alive=alive, collected=collected, released=released)
    return {"sessions": sessions, "bytes": freed}


def _loop(period: float) -> None:
    stop = threading.Event()
    while not stop.wait(period):
        try:
            sweep()
        except Exception:  # noqa: BLE001 - the janitor must outlive any one bad round
            log.warning("memory sweep failed", exc_info=True)


def stats() -> dict[str, Any]:
    """What benches read from a running server: forwards run, memo bytes (each shared result once)."""
    from bertexplore.loading import forward_count

    with session_memo._INDEX.lock:
        live = session_memo._INDEX._live()
        traces = [e.nbytes for e in live if e.slot[0] in ("trace", "inside_trace")]
        kinds: dict[str, int] = {}
        for entry in live:
            kinds[entry.slot[0]] = kinds.get(entry.slot[0], 0) + entry.nbytes
        return {"forwards": forward_count(), "memo_bytes": session_memo._INDEX.total(), "entries": len(live),
                "bytes_by_kind": kinds, "session_memos": len(session_memo.SESSIONS), "last_sweep": dict(LAST),
                "trace_entries": len(traces), "trace_bytes": sum(traces), "largest_trace_bytes": max(traces, default=0)}


def _write_stats(path: str) -> None:
    stop = threading.Event()
    while not stop.wait(0.5):
        try:
            with open(path + ".part", "w", encoding="utf-8") as f:
                json.dump(stats(), f)
            os.replace(path + ".part", path)
        except Exception:  # noqa: BLE001 - a bench aid must never disturb the server
            log.debug("stats not written", exc_info=True)


def start(period: float = PERIOD_S) -> bool:
    """Start the sweeping thread (and, for benches, the stats writer), once per process."""
    if not _started.acquire(blocking=False):
        return False
    threading.Thread(target=_loop, args=(period,), name="bertexplore-janitor", daemon=True).start()
    if os.environ.get(STATS_ENV):
        threading.Thread(target=_write_stats, args=(os.environ[STATS_ENV],), name="bertexplore-stats",
                         daemon=True).start()
    return True
