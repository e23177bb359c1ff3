"""Issue 18 §2: closed tabs give their memory back within the reconnect time, with nobody else visiting.

Its own server (a 4 s reconnect time, a sweep every second), three tabs with three long texts on the packaged MiniLM,
then every tab closed: the server's memo must empty and its RSS fall back, bounded in time. Before the fix the store
kept expired sessions until its next write, and the memory stayed (measured flat for 300 s).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import psutil
import pytest

from bench.browser import free_port
from bertexplore.registry import OFFLINE_MODEL
from tests.e2e.conftest import ROOT, wait_idle

pytestmark = pytest.mark.e2e
WORDS = "cat dog horse cow sheep goat lion tiger bear wolf fox mouse rabbit eagle owl duck".split()


def _stats(path) -> dict:
    time.sleep(1.0)
    return json.loads(path.read_text())


def test_closed_tabs_memory_returns_within_the_reconnect_time(tmp_path, browser):
    stats_file = tmp_path / "stats.json"
    env = dict(os.environ, HF_HUB_OFFLINE="1", BERTEXPLORE_MODELS_DIR=str(tmp_path), PYTHONUNBUFFERED="1",
               BERTEXPLORE_STATS_FILE=str(stats_file), BERTEXPLORE_SWEEP_S="1")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with open(tmp_path / "server.log", "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.address",
             "127.0.0.1", "--server.port", str(port), "--server.disconnectedSessionTTL", "4"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.time() + 120
            while True:
                try:
                    if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok":
                        break
                except OSError:
                    assert time.time() < deadline and proc.poll() is None, (tmp_path / "server.log").read_text()
                    time.sleep(0.5)
            server = psutil.Process(proc.pid)

            def open_tab(text: str):
                context = browser.new_context(viewport={"width": 1300, "height": 900})
                page = context.new_page()
                query = urllib.parse.urlencode({"model": OFFLINE_MODEL, "attention_text": text})
                page.goto(f"{url}/attention?{query}", timeout=300_000)
                wait_idle(page, timeout=300_000)
                page.wait_for_selector(".js-plotly-plot", timeout=300_000)
                return context

            open_tab("The cat sat on the mat.").close()  # the model is loaded: the baseline includes it
            base_rss, base = server.memory_info().rss, _stats(stats_file)
            contexts = [open_tab(" ".join(f"the {w} saw a {v}." for v in WORDS for _ in range(4)) + f" {w}")
                        for w in WORDS[:3]]  # three texts of ~320 tokens each, none shared
            opened_rss, opened = server.memory_info().rss, _stats(stats_file)
            assert opened["forwards"] - base["forwards"] >= 3
            assert opened["memo_bytes"] > 30 * 2**20, opened
            for context in contexts:
                context.close()
            deadline = time.time() + 60  # 4 s reconnect time + sweeps, with a loaded machine's margin
            while True:
                now = _stats(stats_file)
                if now["memo_bytes"] < 2 * 2**20 or time.time() > deadline:
                    break
            assert now["memo_bytes"] < 2 * 2**20, json.dumps(now)  # before: held until the next visitor's write
            closed_rss = server.memory_info().rss
            assert closed_rss - base_rss < 0.5 * (opened_rss - base_rss), (base_rss, opened_rss, closed_rss)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
