"""The Analysis lab in a real browser: the contribution graph draws (nodes and edges), and a node can be picked."""
from __future__ import annotations

import pytest
from conftest import no_exception_shown, wait_idle

pytestmark = pytest.mark.e2e


def test_contribution_graph_draws(app_url, web):
    web.goto(app_url + "/analysis?model=tiny-mlm&an_text=the+cat+sat+on+the+%5BMASK%5D+.")
    wait_idle(web)
    no_exception_shown(web)
    plot = web.locator(".js-plotly-plot").first
    plot.wait_for(timeout=60_000)
    points = plot.locator(".scatterlayer .point")
    points.first.wait_for(timeout=60_000)
    assert points.count() >= 3  # the output node and what it is made of, down to the input tokens
    assert plot.locator(".scatterlayer .js-line").count() >= 1  # edges are drawn as lines
    labels = plot.locator(".scatterlayer .textpoint text").all_text_contents()
    assert "[MASK]" in labels
    # Clicking a node selects it (plotly's on_select), or the fallback picker lists it.
    points.first.click(force=True)
    wait_idle(web)
    no_exception_shown(web)
    assert web.errors == []
