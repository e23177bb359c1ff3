"""Issue 19 §1: pure results are shared across sessions, computed once even when asked for at the same moment."""
from __future__ import annotations

import threading
import time

import pytest

import ui.session_memo as sm
from bertexplore.attention_function import ablated
from bertexplore.loading import forward_count
from ui.traces import get_trace

N = 8


class _CountingEvent(threading.Event):
    waiting = 0
    lock = threading.Lock()

    def wait(self, timeout=None):
        with _CountingEvent.lock:
            _CountingEvent.waiting += 1
        return super().wait(timeout)


@pytest.fixture
def fresh(monkeypatch):
    monkeypatch.setattr(sm, "_INDEX", sm._Index())
    monkeypatch.setattr(_CountingEvent, "waiting", 0)

    class Flight(sm._Flight):
        def __init__(self) -> None:
            super().__init__()
            self.done = _CountingEvent()

    monkeypatch.setattr(sm, "_Flight", Flight)


def _until(condition, seconds: float = 60) -> None:
    """Wait (bounded) for the other threads to reach their wait; fails rather than hangs."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "threads never reached the wait"
        time.sleep(0.01)


def _crowd(target) -> list:
    results: list = [None] * N
    threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, target())) for i in range(N)]
    for t in threads:
        t.start()
    return threads, results


def test_n_sessions_asking_at_once_run_one_forward(tiny_mlm, fresh):
    release = threading.Event()
    text = "the cat sat on the mat"

    def slow_trace():
        release.wait(60)  # hold the leader until every other thread is waiting on its flight
        return get_trace(tiny_mlm, text)

    before = forward_count()
    threads, results = _crowd(lambda: sm.memo("held", (text,), slow_trace))
    _until(lambda: _CountingEvent.waiting == N - 1)
    release.set()
    for t in threads:
        t.join(60)
    assert forward_count() - before == 1
    assert all(r is results[0] for r in results)
    assert get_trace(tiny_mlm, text) is results[0]  # stored for later askers too
    assert forward_count() - before == 1


def test_a_failed_leader_hands_the_work_to_a_waiter(fresh):
    release, calls = threading.Event(), []

    def compute():
        calls.append(threading.get_ident())
        if len(calls) == 1:
            release.wait(60)
            raise RuntimeError("the leader's session stopped")
        return "value"

    outcomes: list = []

    def ask():
        try:
            outcomes.append(sm.memo("k", (1,), compute))
        except RuntimeError:
            outcomes.append("error")

    threads = [threading.Thread(target=ask) for _ in range(N)]
    for t in threads:
        t.start()
    _until(lambda: _CountingEvent.waiting == N - 1)
    release.set()
    for t in threads:
        t.join(60)
    assert sorted(outcomes) == ["error"] + ["value"] * (N - 1)
    assert len(calls) == 2  # the failed leader, then one waiter for all the others


def test_keys_carry_the_head_mask_and_the_language_where_words_may_be_inside(tiny_mlm, fresh):
    import numpy as np

    from bertexplore.i18n import language

    plain = sm.memo("cls", ("x",), lambda: "all heads")
    with ablated(np.zeros((1, tiny_mlm.num_layers, tiny_mlm.num_heads))):
        assert sm.memo("cls", ("x",), lambda: "no heads") == "no heads"
    assert sm.memo("cls", ("x",), lambda: "recomputed") == plain
    with language("zh"):
        assert sm.memo("cls", ("x",), lambda: "中文") == "中文"
        assert sm.memo("trace", ("x",), lambda: 1) == 1
    assert sm.memo("trace", ("x",), lambda: 2) == 1  # numbers only: shared across languages


def test_shared_results_are_read_only_and_private_ones_are_not(fresh):
    """No session can change what another one sees: the arrays of a shared result refuse in-place edits."""
    import dataclasses

    import numpy as np

    @dataclasses.dataclass
    class Scan:
        scores: np.ndarray
        rows: list

    shared = sm.memo("scan", ("text",), lambda: Scan(np.zeros(3), [{"p": np.ones(2)}]))
    with pytest.raises(ValueError, match="read-only"):
        shared.scores[0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        shared.rows[0]["p"] += 1
    stored = sm.store("census", ("text",), {"counts": np.arange(4)})
    assert not stored["counts"].flags.writeable
    private = sm.memo("ablation", ("choice",), lambda: np.zeros(2))
    private[0] = 1.0  # a session's own state stays editable
    assert sm.memo("scan", ("text",)).scores.sum() == 0
