"""A real app server and a real headless Chromium, offline, for end-to-end tests."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bench.browser import CHROMIUM_ARGS, chromium_path, wait_idle  # noqa: F401 - tests import wait_idle from here
from bench.browser import free_port as _free_port

import pytest

ROOT = Path(__file__).resolve().parents[2]




@pytest.fixture(scope="session")
def models_dir(tmp_path_factory, tiny_dir) -> Path:
    """A models folder holding tiny task checkpoints, so every page has something local to use."""
    root = tmp_path_factory.mktemp("e2e-models")
    for name in ("tiny-mlm", "tiny-cls", "tiny-ner", "tiny-qa", "tiny-pretraining"):
        shutil.copytree(tiny_dir / name, root / name)
    return root


@pytest.fixture(scope="session")
def app_url(models_dir):
    port = _free_port()
    env = dict(os.environ, HF_HUB_OFFLINE="1", BERTEXPLORE_MODELS_DIR=str(models_dir), PYTHONUNBUFFERED="1")
    log = open(models_dir / "streamlit.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.5)
        if proc.poll() is not None:
            raise RuntimeError((models_dir / "streamlit.log").read_text())
    else:
        proc.kill()
        raise RuntimeError("streamlit did not become healthy:\n" + (models_dir / "streamlit.log").read_text())
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        exe = chromium_path()
        b = p.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def web(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    yield page
    context.close()




def no_exception_shown(page) -> None:
    assert page.locator("[data-testid='stException']").count() == 0, page.locator("[data-testid='stException']").first.inner_text()
