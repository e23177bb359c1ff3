"""The per-session memo is bounded in bytes per session and per server, evicting the least recently used result
across sessions, and stays consistent under threads (issue 7.6, memory)."""
from __future__ import annotations

import gc
import random
import threading
from dataclasses import dataclass

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import ui.session_memo as sm

MB = 2**20


@pytest.fixture
def budgets(monkeypatch):
    def set_(session_mb: float, server_mb: float) -> None:
        monkeypatch.setattr(sm, "SESSION_BUDGET_BYTES", int(session_mb * MB))
        monkeypatch.setattr(sm, "SERVER_BUDGET_BYTES", int(server_mb * MB))
    monkeypatch.setattr(sm, "_INDEX", sm._Index())  # a fresh server
    return set_


def session_script():
    import numpy as np
    import streamlit as st

    from ui.session_memo import memo, usage

    kind = st.session_state.get("kind", "arr")
    for key in st.session_state.get("touch", []):
        assert memo(kind, (key,))[0] == key
    for key in st.session_state.get("store", []):
        memo(kind, (key,), lambda k=key: np.full(4 * 2**20 // 8, float(k)))  # 4 MB each
    container = st.session_state["_bertexplore_memo"]  # looked at without touching anything
    st.session_state["held"] = sorted(key[0] for kind, key in container.values)
    st.session_state["usage"] = usage()


def run(at: AppTest, store=(), touch=(), kind: str = "arr") -> AppTest:
    at.session_state["store"], at.session_state["touch"] = list(store), list(touch)
    at.session_state["kind"] = kind
    return at.run(timeout=120)  # the first run imports torch (the memo reads the head mask)


def test_session_budget_keeps_the_most_recently_used(budgets):
    budgets(session_mb=10, server_mb=100)
    at = run(AppTest.from_function(session_script), store=[0, 1])
    assert at.session_state["held"] == [0, 1]
    run(at, touch=[0], store=[2])  # 12 MB > 10: the least recently used (1, since 0 was just used) goes
    assert at.session_state["held"] == [0, 2]
    assert at.session_state["usage"]["session"] == 8 * MB


def test_server_budget_evicts_across_sessions_and_private_results_stay_apart(budgets):
    budgets(session_mb=8, server_mb=10)
    a = run(AppTest.from_function(session_script), store=[0, 1], kind="ablation")
    assert a.session_state["held"] == [0, 1]
    b = run(AppTest.from_function(session_script), store=[0, 1], kind="ablation")
    assert b.session_state["held"] == [0, 1]  # b's own results, never a's (same keys, private kind)
    run(a, kind="ablation")
    assert a.session_state["held"] == []  # a's were the least recently used on the server
    assert a.session_state["usage"]["server"] == 8 * MB <= sm.SERVER_BUDGET_BYTES


def test_shared_results_are_held_once_and_counted_once(budgets):
    budgets(session_mb=100, server_mb=100)
    a = run(AppTest.from_function(session_script), store=[0, 1])
    b = run(AppTest.from_function(session_script), store=[0, 1])
    assert b.session_state["held"] == [0, 1]
    held_a = a.session_state["_bertexplore_memo"].values
    held_b = b.session_state["_bertexplore_memo"].values
    assert all(held_a[k] is held_b[k] for k in held_a)  # the very same arrays, not copies
    assert b.session_state["usage"]["server"] == 8 * MB  # two 4 MB results, once each
    assert b.session_state["usage"]["session"] == 8 * MB


def test_eviction_of_a_shared_result_makes_its_sessions_recompute(budgets):
    budgets(session_mb=100, server_mb=9)
    a = run(AppTest.from_function(session_script), store=[0])
    b = run(AppTest.from_function(session_script), store=[0])  # shares a's
    run(AppTest.from_function(session_script), store=[1, 2])  # 12 MB > 9: result 0 leaves the server
    assert sm.recall("arr", (0,)) is None
    run(a, store=[0])  # a still shows result 0: it recomputes it, and b gets it back from a
    assert a.session_state["held"] == [0]
    run(b, touch=[0])
    assert b.session_state["held"] == [0]


def test_a_result_bigger_than_the_budget_is_returned_but_not_kept(budgets):
    budgets(session_mb=3, server_mb=100)
    at = run(AppTest.from_function(session_script), store=[5])
    assert at.session_state["held"] == [] and at.session_state["usage"]["session"] == 0


def test_closed_sessions_stop_counting():
    index = sm._Index()
    gone = sm._SessionMemo()
    index.add(gone, ("ablation", 1), object(), 5 * MB, None)
    assert index.total() == 5 * MB
    del gone
    gc.collect()
    assert index.total() == 0


def test_unused_shared_results_leave_after_the_idle_time(monkeypatch):
    index = sm._Index()
    monkeypatch.setattr(sm, "_INDEX", index)
    user = sm._SessionMemo()
    index.add(user, ("arr", 1, None), object(), 5 * MB, None)
    index.add(None, ("arr", 2, None), object(), 5 * MB, None, pinned=True)  # a warm-up's
    assert sm.drop_idle(0) == 0  # result 1 is still used by a live session; 2 is pinned
    del user
    gc.collect()
    assert sm.drop_idle(3600) == 0  # unused, but not yet for an hour
    assert sm.drop_idle(0) == 5 * MB and index.total() == 5 * MB


def test_index_stays_consistent_under_threads(monkeypatch):
    monkeypatch.setattr(sm, "SESSION_BUDGET_BYTES", 40)
    monkeypatch.setattr(sm, "SERVER_BUDGET_BYTES", 200)
    index = sm._Index()
    sessions = [sm._SessionMemo() for _ in range(8)]

    errors: list[BaseException] = []
    used = [0]

    def worker(seed: int) -> None:
        rnd = random.Random(seed)
        try:
            for _ in range(400):
                container = sessions[rnd.randrange(len(sessions))]
                slot = (rnd.choice(["ablation", "k"]), rnd.randrange(10))
                if rnd.random() < 0.7:
                    index.add(container, slot, object(), rnd.randrange(1, 15), None)
                elif index.get(container, slot) is not None:  # a rerun using a stored result
                    used[0] += 1
        except BaseException as exc:  # a worker's error must fail the test, not vanish with its thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert used[0] > 0  # the read path ran too
    assert index.total() <= 200
    live = index._live()
    for container in sessions:
        assert index.total(container) <= 40
        for entry in container.entries.values():  # everything a session holds is in the index
            assert any(e is entry for e in live)
    for entry in live:  # and everything indexed is held by its session, or shared and still used
        if not entry.shared:
            assert entry.owner().entries[entry.slot] is entry
        else:
            assert index.shared[entry.slot] is entry
            assert all(c.entries[entry.slot] is entry for c in entry.users)


@dataclass
class _Result:
    scores: np.ndarray
    names: tuple[str, ...]


def test_sizes_come_from_nbytes_or_the_arrays_inside(tiny_mlm):
    from bertexplore.trace import run_trace

    trace = run_trace(tiny_mlm, "the cat sat on the mat")
    assert sm.sizeof(trace) == trace.nbytes
    result = _Result(np.zeros((1000, 10), dtype=np.float32), ("a", "b"))
    assert 40_000 <= sm.sizeof(result) < 41_000


def test_arrays_two_results_share_are_counted_once(monkeypatch):
    """Issue 18 §2: the Attention page's "weights" measure holds the trace's own attention array."""
    index = sm._Index()
    attentions = np.zeros((6, 12, 64, 64), dtype=np.float32)  # 1.1 MB
    per_layer = np.zeros((6, 64, 64), dtype=np.float32)
    index.add(None, ("trace", 1, None), _Result(attentions, ("a",)), sm.sizeof(attentions), None)
    index.add(None, ("analysis_measure", 1, None), _Result(attentions, ("b",)), sm.sizeof(attentions), None)
    index.add(None, ("analysis_measure", 2, None), _Result(np.broadcast_to(per_layer[:, None], (6, 12, 64, 64)), ()),
              sm.sizeof(per_layer), None)
    assert attentions.nbytes + per_layer.nbytes <= index.total() < attentions.nbytes + per_layer.nbytes + 4096
