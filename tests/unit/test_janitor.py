"""Issue 18 §2: expired sessions are reaped and shut down on a timer, not on the next visitor's write."""
from __future__ import annotations

import threading
from types import SimpleNamespace

from streamlit.runtime.memory_session_storage import MemorySessionStorage

from ui import janitor


class _Session:
    def __init__(self, sid: str) -> None:
        self.id, self.closed = sid, False

    def shutdown(self) -> None:
        self.closed = True


def test_expired_sessions_are_removed_and_shut_down_without_a_write():
    now = [0.0]
    storage = MemorySessionStorage(ttl_seconds=120)
    storage._cache._timer = lambda: now[0]
    sessions = [_Session(f"s{i}") for i in range(3)]
    for session in sessions[:2]:
        storage.save(SimpleNamespace(session=session))
    now[0] = 60.0
    storage.save(SimpleNamespace(session=sessions[2]))
    manager = SimpleNamespace(_session_storage=storage, _storage_lock=threading.Lock())
    assert janitor.reap_sessions(manager) == 0
    now[0] = 121.0  # the first two are past their reconnect time; nothing was written since
    assert len(storage._cache._data) == 3  # Streamlit's store still holds them (issue 18 §2)
    assert janitor.reap_sessions(manager) == 2
    assert [s.closed for s in sessions] == [True, True, False]
    assert [i.session.id for i in storage._cache._data.values()] == ["s2"]


def test_unknown_storage_is_left_alone():
    assert janitor.reap_sessions(SimpleNamespace(_session_storage=object())) == 0
