"""The garbage collector and OpenMP settings that keep reruns fast (issue 13)."""
from __future__ import annotations

import gc
import os
import subprocess
import sys
import threading
import weakref
import tomllib
from pathlib import Path

from ui import heap

ROOT = Path(__file__).resolve().parents[2]


def test_no_collection_pauses_the_collector_and_freezes_nothing():
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    with heap.no_collection():
        assert not gc.isenabled()
        made = [[i] for i in range(100)]
        cycle: list = []
        cycle.append(cycle)
        dead = weakref.ref(cycle_holder := type("Holder", (), {})())
        cycle_holder.cycle = cycle
        cycle.append(cycle_holder)
        del cycle, cycle_holder
    assert gc.isenabled()
    assert gc.get_freeze_count() == frozen  # issue 18 §1: a freeze here pinned every session's garbage
    assert any(o is made[0] for o in gc.get_objects())  # still seen by the collector
    gc.collect()
    assert dead() is None  # the cycle made inside the block was collected


def test_startup_collects_then_freezes_once(monkeypatch):
    monkeypatch.setattr(heap, "_started", type(heap._started)())
    holder = type("Holder", (), {})()
    holder.me = holder
    dead = weakref.ref(holder)
    del holder
    gc.disable()  # keep the cycle alive until startup() runs
    try:
        with heap.startup():
            kept = [1]
    finally:
        gc.enable()
    assert dead() is None  # collected before the freeze, not pinned by it
    assert not any(o is kept for o in gc.get_objects())  # what lives on is frozen
    gc.unfreeze()


def test_overlapping_blocks_in_two_threads_leave_the_collector_on():
    first_in, second_done = threading.Event(), threading.Event()

    def first():
        with heap.no_collection():
            first_in.set()
            second_done.wait(10)

    worker = threading.Thread(target=first)
    worker.start()
    first_in.wait(10)
    with heap.no_collection():  # starts inside the first, ends before it
        pass
    assert not gc.isenabled()  # the first block is still open
    second_done.set()
    worker.join(10)
    assert gc.isenabled()


def test_no_collection_restores_a_disabled_collector_as_disabled():
    gc.disable()
    try:
        with heap.no_collection():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_startup_freezes_only_once(monkeypatch):
    monkeypatch.setattr(heap, "_started", type(heap._started)())
    with heap.startup():
        assert not gc.isenabled()
    with heap.startup():
        assert gc.isenabled()  # later reruns import nothing new: nothing to pause or freeze


def test_streamlit_does_not_collect_after_every_rerun():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["runner"]["postScriptGC"] is False


def _policy(env: dict) -> str:
    code = "import bertexplore.trace, os; print(os.environ.get('OMP_WAIT_POLICY'))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


def test_openmp_waiters_sleep_unless_the_user_chose():
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    assert _policy(env) == "PASSIVE"  # set before torch loads libgomp
    assert _policy(dict(env, OMP_WAIT_POLICY="ACTIVE")) == "ACTIVE"
