"""A 512-token heatmap in a real browser: drawn in place (ui/plot_in_place), a layer or head change redraws the
same graph with the new matrix, and the camera's file name follows the view."""
from __future__ import annotations

import urllib.parse

import pytest

from tests.e2e.conftest import no_exception_shown, wait_idle

pytestmark = pytest.mark.e2e

TEXT = "the keys to the cabinet are on the table while the children play outside . " * 40  # cut to 512


def _state(web) -> dict:
    return web.evaluate("""() => {
        const gd = document.querySelector('.bx-plot');
        if (!gd || !gd._fullData) return null;
        const img = gd.querySelector('.heatmaplayer image');
        return {title: gd.querySelector('.gtitle')?.textContent, columns: gd._fullData[0].x.length,
                visible: !!img && img.checkVisibility({visibilityProperty: true}),
                href: img ? img.getAttribute('href').length + ':' + img.getAttribute('href').slice(-64) : '',
                filename: gd._context.toImageButtonOptions.filename, same: gd === window.__gd};
    }""")


def test_512_token_heatmap_redraws_in_place(app_url, web):
    web.goto(app_url + "/attention?" + urllib.parse.urlencode({"attention_text": TEXT}))
    web.wait_for_selector(".bx-plot .heatmaplayer image", timeout=120_000)
    wait_idle(web)
    no_exception_shown(web)
    first = _state(web)
    assert first["columns"] == 512 and first["visible"], first
    assert first["title"].startswith("Layer 1, head 1"), first
    web.evaluate("window.__gd = document.querySelector('.bx-plot')")

    for label, title in (("Layer", "Layer 2, head 1"), ("Head", "Layer 2, head 2")):
        thumb = web.locator(f"[data-testid='stSlider'] input[type='range'][aria-label='{label}'], "
                            f"[data-testid='stSlider']:has-text('{label}') [role='slider']").first
        thumb.focus()
        web.keyboard.press("ArrowRight")
        web.wait_for_function("t => document.querySelector('.bx-plot .gtitle')?.textContent.startsWith(t)", arg=title,
                              timeout=60_000)
        wait_idle(web)
        now = _state(web)
        assert now["same"], "the graph was mounted anew instead of redrawn in place"
        assert now["visible"] and now["href"] != first["href"], now  # a new matrix painted
        assert "Layer_2" in now["filename"] or "layer_2" in now["filename"].lower(), now
        first = now
    no_exception_shown(web)

    # hover still names the cell's weight
    drag = web.locator(".bx-plot .nsewdrag").first
    drag.scroll_into_view_if_needed()
    box = drag.bounding_box()
    for fx in (0.3, 0.31, 0.32):  # plotly hovers on mouse moves: a few small ones
        web.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * 0.4)
    web.wait_for_selector(".bx-plot .hovertext", timeout=10_000)
    assert "weight" in web.locator(".bx-plot .hovertext").first.text_content()
    assert not web.errors, web.errors


def test_a_theme_change_recolours_the_plot_in_place(app_url, web):
    """Streamlit hands its theme to the element as CSS variables on a wrapper; when they change (light to dark, say),
    the figure's text takes the new colours without new data."""
    web.goto(app_url + "/attention?" + urllib.parse.urlencode({"attention_text": TEXT}))
    web.wait_for_selector(".bx-plot .heatmaplayer image", timeout=120_000)
    wait_idle(web)
    fill = "() => getComputedStyle(document.querySelector('.bx-plot .xtitle')).fill"
    before = web.evaluate(fill)
    web.evaluate("""() => {
        let node = document.querySelector('.bx-plot').parentElement;
        while (node && !node.style.cssText && getComputedStyle(node).getPropertyValue('--st-text-color') ===
               getComputedStyle(node.parentElement).getPropertyValue('--st-text-color')) node = node.parentElement;
        node.style.setProperty('--st-text-color', 'rgb(250, 250, 250)');
        node.style.setProperty('--st-background-color', 'rgb(14, 17, 23)');
    }""")
    web.wait_for_function(f"() => ({fill})() !== {before!r}", timeout=10_000)
    after = web.evaluate(fill)
    assert after != before
    assert not web.errors, web.errors
