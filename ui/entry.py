"""Make every page run inside app.py (sidebar pickers, navigation), even when opened by a shared deep link.

With a `pages/` folder next to app.py, a freshly started Streamlit server serves its first request the legacy way:
a deep link such as /attention runs pages/attention.py on its own, without app.py (AppTest does so on every run).
Pages call `inside_app()` first: outside app.py it runs app.py in the same script run, whose st.navigation then
picks this very page, and stops the stray run.
"""
from __future__ import annotations

import runpy
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

APP = Path(__file__).resolve().parent.parent / "app.py"
_run = threading.local()  # a script run happens on one thread, app.py and its page together


@contextmanager
def app_run() -> Iterator[None]:
    """app.py wraps page.run() in this."""
    _run.active = True
    try:
        yield
    finally:
        _run.active = False


def inside_app() -> None:
    if getattr(_run, "active", False):
        return
    # What app.py's st.navigation call does: leave the legacy pages/ mode for good. Then run app.py right here,
    # in this same script run (so a click that started it is not lost); its navigation picks this page.
    PagesManager.uses_pages_directory = False
    runpy.run_path(str(APP), run_name="__main__")
    st.stop()
