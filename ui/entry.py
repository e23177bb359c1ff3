"""Make every page run inside app.py (sidebar pickers, navigation), even when opened by a shared deep link.

With a `pages/` folder next to app.py, a freshly started Streamlit server serves its first request the legacy way:
a deep link such as /attention runs pages/attention.py on its own, without app.py. Pages call `inside_app()` first;
if app.py has not run in this session yet they rerun, and the rerun goes through app.py's st.navigation.
"""
from __future__ import annotations

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

APP_FLAG = "_bertexplore_app"


def mark_app() -> None:
    st.session_state[APP_FLAG] = True


def inside_app() -> None:
    if not st.session_state.get(APP_FLAG):
        # What app.py's st.navigation call would have done already: leave the legacy pages/ mode for good.
        PagesManager.uses_pages_directory = False
        st.rerun()
