"""Stable URL values for the choices a shared link carries (radios, selectboxes, tabs), one table for every page.

Why not Streamlit's bind="query-params": for a radio, selectbox or tab it writes the option's DISPLAYED label into
the link (`?attention_measure=ALTI+贡献`), so a link made in 中文 no longer matches an option in English (or
with no `lang` in a Chinese browser) and the choice silently resets. Here the link holds a stable value (`alti`)
that means the same in every language, while the widget shows the translated label. Links written before this
(with the English or the Chinese label) are still read.

`URL_VALUES` below is THE table of those values: lessons and teachers write links with them, e.g.
`/attention?attention_measure=alti&attention_tab=all_heads&attention_level=words&attention_layer=3`.
Texts too long for a link (text_to_link, LINK_TEXT_BYTES) are left out of it, and the page says so; the QA
context goes through here (its widget sits in a form). Sliders, toggles, numbers and texts keep Streamlit's own binding (their URL values are numbers, true/false or the
text itself: the same in every language). A value equal to the default is left out of the link.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from bertexplore.analysis.measures import MEASURES
from bertexplore.attention import FILTER_KEYS
from bertexplore.finetune.config import TASKS
from bertexplore.i18n import LANGUAGES, N_, catalog
from bertexplore.mlm import FILL_ORDERS
from bertexplore.pll import VARIANTS
from bertexplore.tasks.attribution import METHOD_NAMES
from bertexplore.tasks.ner import STRATEGIES

from .i18n import _

# The Attention page's segment filters: URL value -> the engine's filter name (bertexplore.attention.FILTERS).
SEGMENT_FILTERS: dict[str, str] = FILTER_KEYS

ATTENTION_TABS: dict[str, str] = {"heatmap": N_("Heatmap"), "all_heads": N_("All heads"), "rollout": N_("Rollout"),
                                  "head_view": N_("bertviz head view"), "model_view": N_("bertviz model view")}
ANALYSIS_TABS: dict[str, str] = {"graph": N_("Contribution graph"), "lens": N_("Logit lens"),
                                 "census": N_("Head census"), "importance": N_("Head importance"),
                                 "projector": N_("Projector"), "compare": N_("Two models")}

# {page: {URL parameter: {stable value: label (a gettext message id)}}}. The first value is the default.
URL_VALUES: dict[str, dict[str, dict[str, str]]] = {
    "attention": {
        "attention_tab": ATTENTION_TABS,
        "attention_measure": dict(MEASURES),                      # weights, norm, norm_residual_ln, alti
        "attention_level": {"tokens": N_("tokens"), "words": N_("words")},
        "attention_filter": {key: name for key, name in SEGMENT_FILTERS.items()},
    },
    "analysis": {
        "an_tab": ANALYSIS_TABS,
        "an_lens_head": {"mlm": N_("masked-LM head"), "sequence-classification": N_("classifier head")},
    },
    "masked_lm": {
        "mlm_order": dict(FILL_ORDERS),                           # confident, left-to-right
        "mlm_pll_variant": dict(VARIANTS),
    },
    "classification": {"cls_method": dict(METHOD_NAMES)},     # integrated-gradients, gradient-x-input
    "ner": {"ner_strategy": {key: key for key in STRATEGIES}},  # first, average, max
    "finetune": {"ft_task": dict(TASKS)},                     # classification, multilabel, ner, mlm, pretraining, qa
}
# Token positions in links count from 0, like every position shown in the app (an_graph_out=5).
POSITION_PARAMS = ("an_graph_out",)


def values_of(param: str) -> dict[str, str]:
    """The stable values of one URL parameter and their label message ids."""
    for params in URL_VALUES.values():
        if param in params:
            return params[param]
    raise KeyError(param)


def resolve(param: str, raw: object) -> str | None:
    """The stable value a link (or a tab's state) names: the value itself, or an old label in any language."""
    if not isinstance(raw, str):
        return None
    table = values_of(param)
    if raw in table:
        return raw
    for value, msgid in table.items():
        if raw == msgid or any(raw == catalog(lang).gettext(msgid) for lang in LANGUAGES):
            return value
    return None


def _from_link(param: str) -> str | None:
    try:
        raw = st.query_params.get(param)
    except Exception:  # noqa: BLE001 - no script context (bare imports in tests)
        return None
    return raw


def _write(param: str, value: str, default: str) -> None:
    """The address bar carries `value`, or nothing when it is the default (a clean link)."""
    try:
        if value == default:
            if param in st.query_params:
                del st.query_params[param]
        elif st.query_params.get(param) != value:
            st.query_params[param] = value
    except Exception:  # noqa: BLE001 - bound elsewhere, or an embed parameter: the view still works
        pass


def choice(widget: Callable[..., Any], label: str, param: str, **kwargs: Any) -> str:
    """A radio/selectbox (any widget taking options + format_func, e.g. `st.radio` or `col.selectbox`) over the
    stable values of `param`, showing their translated labels, its value in the link as the stable value."""
    table = values_of(param)
    values = list(table)
    if param not in st.session_state:  # first run of this widget: a shared link decides
        seeded = resolve(param, _from_link(param))
        if seeded is not None:
            st.session_state[param] = seeded
    elif st.session_state[param] not in table:
        st.session_state[param] = resolve(param, st.session_state[param]) or values[0]
    value = widget(label, values, format_func=lambda v: _(table[v]), key=param, **kwargs)
    _write(param, value, values[0])
    return value


def position(widget: Callable[..., Any], label: str, param: str, count: int, default: int,
             format_func: Callable[[int], str], **kwargs: Any) -> int:
    """A selectbox of token positions 0..count-1, its value in the link as the position number."""
    if param not in st.session_state:  # first run: a shared link decides, else the default
        raw = _from_link(param)
        st.session_state[param] = int(raw) if isinstance(raw, str) and raw.isdigit() and int(raw) < count else default
    elif not (isinstance(st.session_state[param], int) and 0 <= st.session_state[param] < count):
        st.session_state[param] = default  # another text, fewer tokens
    value = widget(label, list(range(count)), format_func=format_func, key=param, **kwargs)
    _write(param, str(value), str(default))
    return int(value)


# A text goes into the link only up to this many URL-encoded bytes (about 1,300 Chinese characters or 4,000 plain
# English ones): servers refuse a request line past ~120 kB (issue 18 §4), and chat apps and e-mail cut long links
# well before that. A longer text stays on the page; the link then says nothing about it (and the page says so).
LINK_TEXT_BYTES = 3000  # as ui/url_text.LINK_BYTES: two texts and the settings stay under a proxy's 8 kB line


def text_from_link(param: str) -> None:
    """Before a text widget keyed `param` first renders: take its value from a shared link, if the link has one."""
    if param not in st.session_state:
        raw = _from_link(param)
        if isinstance(raw, str):
            st.session_state[param] = raw


def default_in_link(param: str, value: str) -> None:
    """A text widget's first value, put in the session AND in the link, for defaults that depend on the language
    (examples): left out of the link, a default would open as the RECEIVER's language's default. A value the
    link already carries wins. Call it before the widget (bound with bind="query-params") renders."""
    if param in st.session_state:
        return
    linked = _from_link(param)
    if isinstance(linked, str):
        st.session_state[param] = linked  # what the binding would seed anyway; readable before the widget
        return
    st.session_state[param] = value
    try:
        st.query_params[param] = value  # before the widget binds it (a bound parameter cannot be set from Python)
    except Exception:  # noqa: BLE001 - already bound: the session value still applies
        pass


def text_to_link(param: str, text: str, limit: int = LINK_TEXT_BYTES) -> bool:
    """Put `text` in the link under `param` when it is short enough; False (and the parameter removed) when not."""
    from .url_text import link_bytes

    fits = link_bytes(text) <= limit
    try:
        if not fits:
            if param in st.query_params:
                del st.query_params[param]
        elif st.query_params.get(param) != text:
            st.query_params[param] = text
    except Exception:  # noqa: BLE001 - bound elsewhere: the page still works, the link may lack the text
        return False
    return fits


def tabs(param: str) -> tuple[Sequence[Any], str]:
    """st.tabs over the stable values of `param`: (the tab containers, the open tab's stable value). The open tab
    is kept across a language switch (its label changes) and carried in the link."""
    table = values_of(param)
    values = list(table)
    labels = [_(table[v]) for v in values]
    current = st.session_state.get(param)
    wanted = resolve(param, _from_link(param) if current is None else current)
    if wanted is not None and current != _(table[wanted]):
        st.session_state[param] = _(table[wanted])
    containers = st.tabs(labels, key=param, on_change="rerun")
    open_value = resolve(param, st.session_state.get(param)) or values[0]
    _write(param, open_value, values[0])
    return containers, open_value


__all__ = ["ANALYSIS_TABS", "ATTENTION_TABS", "LINK_TEXT_BYTES", "POSITION_PARAMS", "SEGMENT_FILTERS", "URL_VALUES",
           "choice", "position", "resolve", "tabs", "text_from_link", "text_to_link", "values_of"]
