"""What the browser benchmarks and the end-to-end tests share: a free local port and the Chromium they drive offline."""
from __future__ import annotations

import os
import shutil
import socket

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chromium_path() -> str | None:
    """Debian's chromium (installed by scripts/setup.sh dev), or None to use Playwright's own build (macOS)."""
    for cand in (os.environ.get("BERTEXPLORE_CHROMIUM"), shutil.which("chromium"), shutil.which("chromium-browser")):
        if cand and os.path.exists(cand):
            return cand
    return None


def wait_idle(page, timeout: float = 120_000, settle_ms: int = 400) -> None:
    """Wait until Streamlit's script run has finished and stayed finished (a page may rerun once at start)."""
    idle = "[data-testid='stApp'][data-test-script-state='notRunning']"
    for _ in range(3):
        page.wait_for_selector(idle, timeout=timeout)
        page.wait_for_timeout(settle_ms)
        if page.locator(idle).count():
            return
    page.wait_for_selector(idle, timeout=timeout)
