"""The garbage collector and OpenMP settings that keep reruns fast (issue 13)."""
from __future__ import annotations

import gc
import os
import subprocess
import sys
import threading
import tomllib
from pathlib import Path

from ui import heap

ROOT = Path(__file__).resolve().parents[2]


def test_no_collection_freezes_what_was_made_and_restores_the_collector():
    assert gc.isenabled()
    with heap.no_collection():
        assert not gc.isenabled()
        made = [[i] for i in range(100)]
        assert gc.is_tracked(made[0]) and any(o is made[0] for o in gc.get_objects())
    assert gc.isenabled()
    assert not any(o is made[0] for o in gc.get_objects())  # frozen: later collections skip it


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
