"""Inside BERT in a real browser, offline: a shared link to step 3 draws its figures."""
from __future__ import annotations

import pytest
from conftest import no_exception_shown, wait_idle

pytestmark = pytest.mark.e2e


def test_inside_bert_step_three_draws_from_a_shared_link(app_url, web):
    web.goto(app_url + "/inside_bert?model=tiny-pretraining&inside_step=3&inside_layer=2&inside_text=the+cat+sat+on+the+mat")
    wait_idle(web)
    no_exception_shown(web)
    web.get_by_text("3. Self-attention").first.wait_for(timeout=60_000)
    heat = web.locator(".js-plotly-plot .heatmaplayer image").first
    heat.wait_for(timeout=60_000)
    assert (heat.get_attribute("href") or heat.get_attribute("xlink:href") or "").startswith("data:image/png")
    bars = web.locator(".js-plotly-plot .barlayer path")
    bars.first.wait_for(timeout=60_000)
    assert bars.count() >= 8
    titles = " ".join(web.locator(".js-plotly-plot .gtitle").all_text_contents())
    assert "layer 2" in titles
    assert web.get_by_text("Recomputed by hand = the model's own value", exact=False).count() >= 1
    assert web.errors == []
