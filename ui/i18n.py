"""The session's interface language for `bertexplore.i18n._`: read from session_state, set by the sidebar switch."""
from __future__ import annotations

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from bertexplore.i18n import LANGUAGES, N_, _, ngettext, normalize, set_language_provider

LANG_KEY = "lang"


def _session_language() -> str | None:
    if get_script_run_ctx(suppress_warning=True) is None:
        return None  # worker threads and notebooks: the context variable decides
    return normalize(st.session_state.get(LANG_KEY))


set_language_provider(_session_language)

__all__ = ["LANGUAGES", "LANG_KEY", "N_", "_", "ngettext"]
