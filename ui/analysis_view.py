"""Streamlit glue of the analysis lab: per-session memo keys, and the "weight vs what moved" selector that the
Attention page's views share. Everything that needs more than one forward is memoised per session; sliders only
re-render.
"""
from __future__ import annotations

from typing import Any

import streamlit as st

from bertexplore.analysis.arrays import analysis_names, has_names
from bertexplore.analysis.measures import EXPLANATIONS, MeasuredTrace, measure

from . import url_state
from .feedback import show_error
from .i18n import _
from .session_memo import memo
from .traces import get_trace

MEASURE_KEY = "attention_measure"


def model_key(loaded: Any) -> tuple:
    """THE memo key of a model (the engine's `loaded.key` where it exists)."""
    return tuple(loaded.key)


def trace_key(loaded: Any, trace: Any) -> tuple:
    """Identifies one traced input of one model: its token ids and segments."""
    inputs = trace.inputs
    return model_key(loaded) + (tuple(int(i) for i in inputs.input_ids), tuple(inputs.segment_ids))


def measure_selector(trace: Any, loaded: Any) -> MeasuredTrace:
    """One selector for every attention view: raw weights, ‖α·f(x)‖, with residual + LayerNorm, or ALTI."""
    choice = url_state.choice(st.radio, _("Show"), MEASURE_KEY, horizontal=True,
                              help=_("Attention weights say where a head looks; the other measures say how much actually "
                             "moves (they also read the layer weights; computed once per text)."))
    st.caption(_(EXPLANATIONS[choice]))
    try:
        if choice != "weights" and not has_names(trace):
            # The norms read the values and the residual stream: one more forward of the same tokens, per session.
            inputs = trace.inputs
            trace = get_trace(loaded, inputs.text, inputs.text_pair, inputs=inputs, names=analysis_names(loaded))
        return memo("analysis_measure", trace_key(loaded, trace) + (choice,), lambda: measure(trace, loaded, choice))
    except Exception as err:  # noqa: BLE001 - e.g. a model family without the weights this needs
        show_error(err)
        return measure(trace, loaded, "weights")


def html_line(template: str, **values: Any) -> None:
    """One line of translated text whose <b> markup is kept and whose values (tokens, names) are escaped."""
    import html

    st.html("<div>" + template.format(**{k: html.escape(str(v)) for k, v in values.items()}) + "</div>")
