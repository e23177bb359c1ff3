"""The heatmap's title, x-axis title and rotated tick labels do not overlap in a real browser (the rollout view's
long title overlapped the tick labels). plotly.js comes from the plotly package itself: offline."""
from __future__ import annotations

import pytest

from bertexplore.attention import ViewSettings, view_matrix
from bertexplore.figures import heatmap_figure
from bertexplore.trace import run_trace

pytestmark = pytest.mark.e2e

LONG_WORDS = "Photosynthesis transforms electromagnetic radiation into chemical energy unbelievably efficiently."


@pytest.mark.parametrize("text", [LONG_WORDS, "The cat sat."])
def test_rollout_title_clears_axis_title_and_tick_labels(minilm, web, text):
    trace = run_trace(minilm, text)
    view = view_matrix(trace, ViewSettings(layer=trace.num_layers - 1, head=None, rollout=True))
    assert "rollout" in view.title.lower()
    web.set_viewport_size({"width": 900, "height": 1000})
    web.set_content(heatmap_figure(view).to_html(include_plotlyjs=True, full_html=True))
    web.wait_for_selector(".gtitle")
    box = web.evaluate("""() => {
        const r = s => document.querySelector(s).getBoundingClientRect();
        const ticks = [...document.querySelectorAll('.xtick text')].map(e => e.getBoundingClientRect());
        return {title: r('.gtitle').bottom, xtitle_top: r('.xtitle').top, xtitle_bottom: r('.xtitle').bottom,
                ticks_top: Math.min(...ticks.map(t => t.top))};
    }""")
    assert box["title"] <= box["xtitle_top"], box
    assert box["xtitle_bottom"] <= box["ticks_top"], box
