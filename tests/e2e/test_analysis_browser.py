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
    # A node's detail: picked from the fallback list (plotly's click selection is not reliable for every trace).
    box = web.locator("input[aria-label='Node']").first
    box.click()
    box.fill("layer 2")  # the output node: level 2 of the tiny 2-layer model
    web.wait_for_timeout(500)
    box.press("Enter")
    wait_idle(web)
    no_exception_shown(web)
    web.get_by_text("of the output position", exact=False).first.wait_for(timeout=60_000)
    assert web.errors == []
