"""The flagship pages in a real browser, offline: figures and bertviz must actually draw."""
from __future__ import annotations

import pytest
from conftest import no_exception_shown, wait_idle

pytestmark = pytest.mark.e2e


def _type(page, label: str, text: str) -> None:
    box = page.locator(f"textarea[aria-label='{label}'], input[aria-label='{label}']").first
    box.fill(text)
    # A single-line box applies on Enter (issue 12: Enter must apply the text); a text area on Ctrl+Enter.
    box.press("Enter" if box.evaluate("e => e.tagName") == "INPUT" else "Control+Enter")
    wait_idle(page)


def test_attention_heatmap_and_bertviz_draw_offline(app_url, web):
    web.goto(app_url + "/attention")
    wait_idle(web)
    _type(web, "Text (sentence A)", "The quick brown fox jumps over the lazy dog.")
    no_exception_shown(web)
    # plotly draws a heatmap as an <image> inside its SVG layers: this is real drawing, not just an element
    heat = web.locator(".js-plotly-plot .heatmaplayer image").first
    heat.wait_for(timeout=60_000)
    assert (heat.get_attribute("href") or heat.get_attribute("xlink:href") or "").startswith("data:image/png")
    labels = [t.replace("\u200b", "") for t in web.locator(".js-plotly-plot .xtick text").all_text_contents()]
    assert "fox" in labels and "[CLS]" in labels

    web.get_by_role("tab", name="bertviz head view").click()
    wait_idle(web)
    # the page's own frame (the sidebar holds the lesson tour's and the arrow keys' hidden frames)
    frame = web.frame_locator("[data-testid='stMain'] iframe").first
    # bertviz draws token boxes and attention lines with d3 into SVG; offline only if its libraries are inlined
    frame.locator("svg text").first.wait_for(timeout=60_000)
    texts = frame.locator("svg text").all_text_contents()
    assert any("fox" in t for t in texts)
    assert frame.locator("svg line, svg path, svg rect").count() > 10
    assert web.errors == []


def test_masked_lm_page_explains_missing_head_offline(app_url, web):
    web.goto(app_url + "/masked_lm")
    wait_idle(web)
    # In the page itself, not the sidebar (whose model list also names heads): the box that says the head is
    # missing, the placeholder where predictions would be, and no prediction drawn.
    main = web.locator("[data-testid='stMain']")
    main.get_by_text("has no masked-LM head", exact=False).first.wait_for(timeout=60_000)
    main.get_by_text("Predictions appear here once a model with a masked-LM head is picked", exact=False) \
        .first.wait_for(timeout=60_000)
    assert main.locator(".js-plotly-plot .barlayer path").count() == 0
    no_exception_shown(web)


def test_masked_lm_predictions_with_local_model(app_url, web, models_dir):
    web.goto(app_url + "/masked_lm?model=tiny-mlm")
    wait_idle(web)
    _type(web, "Text", "the cat sat on the [MASK].")  # the Masked-LM page's text area
    no_exception_shown(web)
    bars = web.locator(".js-plotly-plot .barlayer path")
    bars.first.wait_for(timeout=60_000)
    assert bars.count() >= 5
