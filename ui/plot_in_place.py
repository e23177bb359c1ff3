"""Large plotly figures drawn by a graph that is updated in place.

`st.plotly_chart` mounts a new chart whenever the figure changes (its element id hashes the spec), and a new chart
costs a parse, a theme pass over the whole spec and two draws: for a 512x512 heatmap about 0.45 s in the browser
before the new matrix shows, against about 0.1 s for plotly's own redraw (`bench/bench_latency.py`). Above
`IN_PLACE_CELLS` cells a figure goes to a small component instead (`plot_in_place.js`) that keeps one graph div
under a stable key and calls Plotly.react on it, with the plotly that Streamlit itself ships: a layer or head change
at 512 tokens shows in 0.19-0.26 s (median, quiet 2-core VM). Smaller figures stay with `st.plotly_chart`
(fullscreen button, Streamlit's full theme), where a remount costs ~0.1 s.
"""
from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from ui.i18n import _

IN_PLACE_CELLS = 128 * 128
_JS = (Path(__file__).with_suffix(".js")).read_text(encoding="utf-8")
COMPONENT_NAME = "bertexplore_plot_in_place"
_component = st.components.v2.component(COMPONENT_NAME, js=_JS, isolate_styles=False)


@functools.lru_cache(maxsize=1)
def plotly_module_url() -> str | None:
    """The page-relative URL of Streamlit's plotly chart module (a hashed file name: read from this install), or
    None if this Streamlit ships none (then every figure goes to st.plotly_chart)."""
    js = Path(st.__file__).parent / "static" / "static" / "js"
    found = sorted(js.glob("PlotlyChart.*.js"))
    return "static/js/" + found[0].name if found else None


def figure_payload(fig: go.Figure, config: dict) -> bytes:
    """What the component receives: UTF-8 JSON {config, plotly, figure}, the figure as plotly writes it (arrays as
    base64). Joined as text: parsing and re-writing 1.6 MB of figure would cost the server as much again."""
    head = json.dumps({"config": config, "plotly": plotly_module_url(),
                       "error": _("The figure could not be drawn in this browser:")}, separators=(",", ":"))
    return (head[:-1] + ',"figure":' + fig.to_json() + "}").encode("utf-8")


def read_payload(data: bytes) -> dict:
    """The figure spec back from a payload (tests read what the page drew)."""
    return json.loads(bytes(data).decode("utf-8"))["figure"]


def cells_of(fig: go.Figure) -> int:
    """Data cells of a figure's matrix traces (heatmaps' z; image traces carry their values as customdata)."""
    total = 0
    for trace in fig.data:
        values = getattr(trace, "z", None)
        if values is None and getattr(trace, "type", None) == "image":
            values = trace.customdata
        if values is not None:
            total += int(np.size(values))
    return total


def plotly_figure(fig: go.Figure, *, key: str, config: dict | None = None) -> None:
    """Draw `fig`: in place when its matrices hold IN_PLACE_CELLS cells or more, else with st.plotly_chart."""
    if cells_of(fig) < IN_PLACE_CELLS or plotly_module_url() is None:
        st.plotly_chart(fig, width="stretch", config=config, key=key)
        return
    _component(key=key, data=figure_payload(fig, config or {}), width="stretch")
