"""bertviz's model view in a real browser: the whole grid fits its frame (no clipped head column or layer row),
for a single sentence and for a sentence pair (whose A/B filter adds a line above the grid)."""
from __future__ import annotations

import html

import pytest

from bertexplore.bertviz_offline import iframe_height, model_view_html, token_window, window_for_all_heads
from bertexplore.trace import run_trace

pytestmark = pytest.mark.e2e

FRAME_WIDTH = 700  # the app's column next to the sidebar on a laptop screen


def _grid_fits(page, view, length: int) -> dict:
    height = iframe_height("model", length, view.subset, pair=view.pair)
    page.set_content(f'<iframe id="f" width="{FRAME_WIDTH}" height="{height}" style="border:0" '
                     f'srcdoc="{html.escape(view.html, quote=True)}"></iframe>')
    frame = page.frame_locator("#f")
    frame.locator("svg rect").first.wait_for(timeout=60_000)
    page.wait_for_timeout(300)
    return page.frames[1].evaluate("""() => {
        const svg = document.querySelector('#vis svg');
        const r = svg.getBoundingClientRect();
        const z = parseFloat(document.body.style.zoom || '1');
        return {right: r.right * z, bottom: r.bottom * z, width: document.documentElement.clientWidth,
                height: document.documentElement.clientHeight, zoom: z,
                rects: document.querySelectorAll('#vis svg rect').length};
    }""")


@pytest.mark.parametrize("pair", [None, "the dog sat on the table ."])
def test_model_view_grid_fits_the_frame(tiny_mlm, web, pair):
    trace = run_trace(tiny_mlm, "the cat sat on the mat .", pair)
    view = model_view_html(trace)
    assert view.subset.complete and view.pair == (pair is not None)
    box = _grid_fits(web, view, len(trace.tokens))
    assert box["zoom"] < 1  # the 970-px grid was scaled to the 700-px frame
    assert box["right"] <= box["width"] + 1, box  # last head column inside
    assert box["bottom"] <= box["height"] + 1, box  # last layer row inside


def test_token_window_of_a_long_input_draws_every_layer_and_head(tiny_mlm, web):
    text = " ".join(["the cat sat on the mat ."] * 8)  # 58 tokens: past the tiny model's all-heads budget
    trace = run_trace(tiny_mlm, text)
    budget = 2 * 4 * 24 * 24
    assert not model_view_html(trace, budget=budget).subset.complete
    size = window_for_all_heads(trace.num_layers, trace.num_heads, budget)
    view = model_view_html(trace, budget=budget, window=token_window(len(trace.tokens), 30, size))
    assert view.subset.complete
    box = _grid_fits(web, view, size)
    assert box["rects"] >= trace.num_layers * trace.num_heads  # one thumbnail per layer x head
    assert box["right"] <= box["width"] + 1 and box["bottom"] <= box["height"] + 1, box
