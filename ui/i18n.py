"""The session's interface language for `bertexplore.i18n._`: read from session_state, set by the sidebar switch."""
from __future__ import annotations

import streamlit as st
from streamlit.errors import StreamlitAPIException
from streamlit.runtime.scriptrunner import get_script_run_ctx

from bertexplore.i18n import (DEFAULT_LANGUAGE, LANGUAGES, N_, _, current_language, ngettext, normalize,
                              set_language_provider)

LANG_KEY = "lang"
_RERUN = "_lang_rerun"


def _session_language() -> str | None:
    if get_script_run_ctx(suppress_warning=True) is None:
        return None  # worker threads and notebooks: the context variable decides
    return normalize(st.session_state.get(LANG_KEY))


set_language_provider(_session_language)


def _initial_language() -> str | None:
    """The language a session starts in when the switch has no value yet: a shared link's ?lang=…, else the
    browser's language (st.context.locale is navigator.language), else None (English)."""
    asked = st.query_params.get(LANG_KEY)
    if asked:
        by_label = {label: code for code, label in LANGUAGES.items()}
        return by_label.get(asked) or normalize(asked)
    try:
        browser = st.context.locale
    except Exception:  # noqa: BLE001 - no browser context (bare script runs): English
        browser = None
    return normalize(browser) if browser else None


def language_switch() -> str:
    """English / 中文 in the sidebar, bound to the URL. Call it before anything is translated (app.py does).

    The binding keeps the choice in the link across pages (`?lang=中文`: Streamlit writes the option's label).
    Links may also say `?lang=zh`, `zh-CN` or `en`: they are read (and rewritten) before the widget exists. The widget's
    default stays English whatever the browser says, because a bound value equal to the default is left out of
    the URL: with a browser-dependent default a link would open in the receiver's language, not the sender's.
    """
    if LANG_KEY not in st.session_state:  # the first run of a session
        initial = _initial_language()
        if initial and initial != DEFAULT_LANGUAGE:
            # Written into the URL before the widget binds it (a bound parameter cannot be set from Python): the
            # binding then reads it, and the address bar holds the language, so a copied link carries it.
            st.session_state[LANG_KEY] = initial
            asked = st.query_params.get(LANG_KEY)
            try:
                st.query_params[LANG_KEY] = LANGUAGES[initial]
            except StreamlitAPIException:
                pass  # already bound (cannot happen on a first run): the value above still applies
            else:
                if asked and asked != LANGUAGES[initial] and get_script_run_ctx(suppress_warning=True) is not None:
                    # ?lang=zh: the binding seeds from the URL the run started with, where "zh" is no option and
                    # would be removed from the link. So no switch in this run: app.py reruns once st.navigation
                    # knows the page, and the switch then binds to the rewritten URL.
                    st.session_state[_RERUN] = True
                    return initial
    elif st.session_state[LANG_KEY] not in LANGUAGES:
        st.session_state[LANG_KEY] = DEFAULT_LANGUAGE  # garbage set by a test or an old session
    # A radio, not a segmented control: with index 0 Streamlit does not warn about a value set in session state.
    st.sidebar.radio(
        "Language · 语言", list(LANGUAGES), index=0, format_func=LANGUAGES.get, key=LANG_KEY, bind="query-params",
        horizontal=True, label_visibility="collapsed",
    )
    return normalize(st.session_state.get(LANG_KEY))


# Column names of the engine's plain-data tables (rows() / table() methods): the engine keeps them in English (they
# are keys code reads), the pages show them translated through table().
COLUMNS = (
    N_("position"), N_("wordpiece"), N_("id"), N_("word"), N_("segment"), N_("special"), N_("rank"), N_("token"),
    N_("probability"), N_("log-prob"), N_("step"), N_("cumulative log-prob"), N_("token A"), N_("log-prob A"),
    N_("token B"), N_("log-prob B"), N_("label"), N_("score"), N_("entity"), N_("start"), N_("end"), N_("text"),
    N_("answer"), N_("window"), N_("layer"), N_("head"), N_("change"), N_("value"), N_("metric"), N_("before"),
    N_("after"), N_("threshold"), N_("attribution"), N_("tokens"), N_("count"), N_("examples"), N_("type"),
    N_("words"), N_("confidence"), N_("precision"), N_("recall"), N_("f1"), N_("support"), N_("epoch"),
    N_("loss"), N_("accuracy"), N_("tag"), N_("wordpieces"), N_("question"), N_("context"), N_("token_type_id"), N_("sentence"), N_("index"),
)


def table(rows):
    """An engine table (a list of dicts, or a DataFrame) with its column names in the interface language."""
    if hasattr(rows, "rename") and hasattr(rows, "columns"):
        return rows.rename(columns={c: _(c) for c in rows.columns if isinstance(c, str)})
    return [{(_(k) if isinstance(k, str) else k): v for k, v in row.items()} for row in rows]


def finish_language_switch() -> None:
    """After st.navigation: the rerun language_switch() asked for, if it did (see there)."""
    if st.session_state.pop(_RERUN, False):
        st.rerun()


__all__ = ["COLUMNS", "LANGUAGES", "LANG_KEY", "N_", "_", "current_language", "finish_language_switch", "language_switch", "ngettext", "table"]
