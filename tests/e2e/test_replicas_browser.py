"""Two app replicas behind HAProxy (scripts/serve.sh --replicas 2) in a real browser: sticky sessions, a shared
models folder, and a replica killed in the middle of a lesson.

scripts/setup.sh dev installs HAProxy from Debian's package where apt exists (CI included); elsewhere the test is
skipped with the reason. Bounded: every wait has a timeout, and the whole test stays under a few minutes on 2 cores.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import ROOT, _free_port, no_exception_shown, wait_idle

pytestmark = pytest.mark.e2e

SESSIONS = 6
HEAT = ".js-plotly-plot .heatmaplayer image, .js-plotly-plot .imagelayer image"
COOKIE = "BXREPLICA"
SAVED = "shared-save-check"


def _healthy(url: str) -> bool:
    try:
        return urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok"
    except OSError:
        return False


@pytest.fixture(scope="module")
def replicas(tmp_path_factory, tiny_dir):
    if shutil.which("haproxy") is None:
        pytest.skip("HAProxy is not installed (scripts/setup.sh dev installs it where apt-get exists)")
    models = tmp_path_factory.mktemp("replica-models")
    shutil.copytree(tiny_dir / "tiny-mlm", models / "tiny-mlm")
    run = tmp_path_factory.mktemp("replica-run")
    port, base = _free_port(), _free_port()
    env = dict(os.environ, HF_HUB_OFFLINE="1", BERTEXPLORE_PYTHON=sys.executable, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        ["bash", str(ROOT / "scripts" / "serve.sh"), "--replicas", "2", "--address", "127.0.0.1", "--port", str(port),
         "--base-port", str(base), "--models", str(models), "--run-dir", str(run), "--no-setup",
         "--restart-delay", "20"],
        cwd=ROOT, env=env, stdout=open(run / "serve.out", "w"), stderr=subprocess.STDOUT, start_new_session=True)
    direct = [f"http://127.0.0.1:{base + i}" for i in range(2)]
    deadline = time.time() + 120
    while time.time() < deadline and not all(_healthy(u) for u in direct):
        if proc.poll() is not None:
            break
        time.sleep(0.5)
    url = f"http://127.0.0.1:{port}"
    while time.time() < deadline and proc.poll() is None and not _healthy(url):
        time.sleep(0.5)
    logs = lambda: "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(run.glob("*.log")))  # noqa: E731
    if proc.poll() is not None or not _healthy(url):
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("serve.sh did not come up:\n" + (run / "serve.out").read_text() + logs())
    yield {"url": url, "models": models, "run": run, "logs": logs, "direct": direct}
    os.killpg(proc.pid, signal.SIGTERM)  # serve.sh stops its replicas and HAProxy on TERM
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def _replica(context) -> str | None:
    return next((c["value"] for c in context.cookies() if c["name"] == COOKIE), None)


def _heatmap_drawn(page, timeout: float = 60_000) -> None:
    page.locator(HEAT).first.wait_for(timeout=timeout)
    wait_idle(page, timeout)
    no_exception_shown(page)


def _title(page) -> str:
    return page.locator(".js-plotly-plot .gtitle").first.text_content() or ""


def _save_shared_model(source: Path, root: Path) -> None:
    """A save the way the Fine-tune page saves: the engine's atomic save_model into the shared folder."""
    from transformers import AutoTokenizer, BertForMaskedLM

    from bertexplore.finetune.config import JobConfig
    from bertexplore.finetune.save import save_model
    from bertexplore.finetune.train import TrainResult

    result = TrainResult(
        config=JobConfig(task="mlm", base_model=str(source)), model=BertForMaskedLM.from_pretrained(source),
        tokenizer=AutoTokenizer.from_pretrained(source), label_names=[], metrics_before={}, metrics_after={},
        losses=[], steps=0, total_steps=0, stopped=False, train_seconds=0.0, train_samples=0, val_samples=0,
        samples_per_second=0.0, source=str(source), data_source="tests/e2e/test_replicas_browser.py")
    save_model(result, SAVED, root=root)


def _next_head(page) -> None:
    """A rerun: the Head slider one step right, then the heatmap redrawn under its new title."""
    before = _title(page)
    page.locator("[data-testid='stSlider'] input[type='range'][aria-label='Head']").first.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("t => { const e = document.querySelector('.js-plotly-plot .gtitle');"
                           " return e && e.textContent !== t; }", arg=before, timeout=60_000)
    _heatmap_drawn(page)


def _picker_options(page) -> list[str]:
    # the model picker, below the page list: scrolled into the sidebar's view before its box is opened
    box = page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox'] [role='combobox']").first
    box.scroll_into_view_if_needed()
    box.click()
    options = page.locator("[role='option']")
    options.first.wait_for(timeout=10_000)
    texts = options.all_text_contents()
    page.keyboard.press("Escape")
    return texts


def test_sticky_sessions_shared_models_and_a_replica_lost(replicas, browser):
    url = replicas["url"]
    contexts, pages = [], []
    try:
        for i in range(SESSIONS):
            context = browser.new_context(viewport={"width": 1300, "height": 900})
            page = context.new_page()
            page.errors = []
            page.on("pageerror", lambda exc, page=page: page.errors.append(str(exc)))
            page.goto(f"{url}/attention?model=tiny-mlm&attention_text=the+cat+sat+number+{i}")
            _heatmap_drawn(page)
            contexts.append(context)
            pages.append(page)
        home = [_replica(c) for c in contexts]
        assert set(home) == {"r1", "r2"}, (home, replicas["logs"]())  # the balancer used both replicas

        # Reruns (a slider step) and reconnects (a reload: a new websocket) stay on the session's replica.
        for page, context, where in zip(pages, contexts, home):
            _next_head(page)
            page.reload()
            _heatmap_drawn(page)
            assert _replica(context) == where

        # A model saved into the shared folder (as replica A's Fine-tune page would) is in B's picker too.
        _save_shared_model(replicas["models"] / "tiny-mlm", replicas["models"])
        for where in ("r1", "r2"):
            page = pages[home.index(where)]
            page.reload()
            _heatmap_drawn(page)
            assert SAVED in _picker_options(page), where

        # Replica 1 dies: its sessions reconnect (Streamlit's own reconnect) and land on replica 2, rebuilt from
        # their links; the sessions on replica 2 never notice.
        pid = int((replicas["run"] / "replica-1.pid").read_text())
        os.kill(pid, signal.SIGKILL)
        for page, context, where in zip(pages, contexts, home):
            if where != "r1":
                continue
            deadline = time.time() + 90
            while time.time() < deadline and _replica(context) != "r2":
                page.wait_for_timeout(500)
            assert _replica(context) == "r2", replicas["logs"]()
            _heatmap_drawn(page, 90_000)
            assert "cat" in " ".join(page.locator(".js-plotly-plot .xtick text").all_text_contents())
        for page, where in zip(pages, home):
            if where != "r2":
                continue
            _next_head(page)
            assert page.errors == []

        # serve.sh starts the dead replica again (20 s later here), and HAProxy takes it back.
        deadline = time.time() + 150
        while time.time() < deadline and not _healthy(replicas["direct"][0]):
            time.sleep(1)
        assert _healthy(replicas["direct"][0]), replicas["logs"]()
        assert int((replicas["run"] / "replica-1.pid").read_text()) != pid
        fresh = browser.new_context()
        contexts.append(fresh)
        landed = None
        for _ in range(10):  # a new browser goes to the replica with the fewest connections: the restarted one
            fresh.clear_cookies()
            page = fresh.new_page()
            page.goto(url + "/_stcore/health")
            landed = _replica(fresh)
            page.close()
            if landed == "r1":
                break
            time.sleep(1.5)  # HAProxy sends no one to r1 before two passed checks (rise 2)
        assert landed == "r1"
    finally:
        for context in contexts:
            context.close()
