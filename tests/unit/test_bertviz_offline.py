"""bertviz HTML made self-contained: libraries inlined, no CDN, user text unable to break out of the script."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

from bertexplore import bertviz_offline as B
from bertexplore.tokens import Tokenized
from bertexplore.trace import Trace, run_trace

EVIL = "</script><script>alert(1)</script>"


def fake_trace(tokens: list[str], layers: int = 2, heads: int = 3, segments: list[int] | None = None) -> Trace:
    n = len(tokens)
    rng = np.random.default_rng(0)
    att = rng.random((layers, heads, n, n)).astype(np.float32)
    att /= att.sum(-1, keepdims=True)
    inputs = Tokenized(
        text=" ".join(tokens), text_pair=None, tokens=tuple(tokens), input_ids=np.arange(n, dtype=np.int64),
        word_ids=tuple(range(n)), segment_ids=tuple(segments or [0] * n), offsets=((0, 0),) * n,
        special=(False,) * n, full_length=n,
    )
    return Trace.from_patterns("fake", inputs, att)


def _params(html: str) -> dict:
    """The JSON bertviz's script reads, decoded back."""
    start = html.index("const params = ") + len("const params = ")
    end = html.index("; // HACK:", start)
    return json.loads(html[start:end])


@pytest.mark.parametrize("build", [B.head_view_html, B.model_view_html])
def test_views_are_offline_and_inline_the_npm_libraries(build):
    assert B.library_files() is not None, "run `npm ci` in the repo: node_modules holds d3, jquery, requirejs"
    view = build(fake_trace(["[CLS]", "the", "cat", "[SEP]"]))
    html = view.html
    assert view.offline and B.is_offline(html)
    body = html.split("<body>", 1)[1]
    assert "cdnjs" not in html
    assert "require.config(" not in body
    assert not re.search(r"(src|href)\s*=\s*[\"']?https?:", html)
    for f in B.library_files():
        assert f.read_text(encoding="utf-8")[-2000:].strip()[-200:] in html
    # order: d3 and jQuery before require.js, then the AMD shims, then bertviz
    pos = [html.index("d3js.org v5.7.0"), html.index("jQuery v2.2.4"),
           html.index("RequireJS 2.3.6"), html.index("define('d3'"), html.index("requirejs(['jquery', 'd3']")]
    assert pos == sorted(pos)


@pytest.mark.parametrize("build", [B.head_view_html, B.model_view_html])
def test_user_text_cannot_close_the_script(build):
    trace = fake_trace(["[CLS]", EVIL, "<b>bold</b>", "[SEP]"])
    html = build(trace).html
    body = html.split("<body>", 1)[1]
    assert EVIL not in body and "<b>bold" not in body
    assert len(re.findall(r"<script", body, re.I)) == 1  # only bertviz's own
    assert _params(html)["attention"][0]["left_text"] == ["[CLS]", EVIL, "<b>bold</b>", "[SEP]"]


def test_payload_is_sent_once_and_rounded():
    trace = fake_trace(["[CLS]", "a", "b", "c", "[SEP]"])
    view = B.model_view_html(trace)
    html = view.html
    assert html.count('"attention": [') == 1  # bertviz's template would carry the JSON twice
    attn = np.array(_params(html)["attention"][0]["attn"])
    np.testing.assert_allclose(attn, trace.attentions, atol=0.5 * 10 ** -B.DECIMALS + 1e-9)
    text = html[html.index('"attn": ') + 8:html.index('"left_text"')]
    numbers = re.findall(r"[0-9][0-9.e-]*", text)
    assert len(numbers) == attn.size and max(map(len, numbers)) <= 2 + B.DECIMALS


def test_subset_for_long_inputs():
    full = B.choose_subset(20, 12, 12, layer=5, head=3)
    assert full.complete and full.values == 12 * 12 * 400
    mid = B.choose_subset(128, 12, 12, layer=11, head=3)
    assert not mid.complete and mid.heads == tuple(range(12)) and mid.layers[-1] == 11
    assert mid.values <= B.VALUE_BUDGET and len(mid.layers) == B.VALUE_BUDGET // (12 * 128 * 128)
    long = B.choose_subset(512, 12, 12, layer=4, head=11)
    assert long.layers == (4,) and long.heads == (11,)  # at least the selected head, even past the budget
    assert long.values == 512 * 512
    assert long.full_values == 12 * 12 * 512 * 512
    assert "layers 5 × heads" in long.describe()


def test_long_input_view_carries_only_the_subset():
    trace = fake_trace([f"t{i}" for i in range(60)], layers=3, heads=4)
    view = B.model_view_html(trace, layer=2, head=1, budget=2 * 60 * 60)
    assert view.subset.layers == (2,) and view.subset.heads == (1, 2)
    assert np.array(_params(view.html)["attention"][0]["attn"]).shape == (1, 2, 60, 60)
    head = B.head_view_html(trace, layer=2, head=1, budget=2 * 60 * 60)
    params = _params(head.html)
    assert np.array(params["attention"][0]["attn"]).shape == (1, 2, 60, 60)
    assert params["include_layers"] == [2] and params["heads"] == [0]


def test_sentence_pairs_get_bertviz_filters(tiny_mlm):
    trace = run_trace(tiny_mlm, "the cat sat", "the dog sat")
    params = _params(B.head_view_html(trace).html)
    names = [d["name"] for d in params["attention"]]
    assert names == ["All", "Sentence A -> Sentence A", "Sentence B -> Sentence B",
                     "Sentence A -> Sentence B", "Sentence B -> Sentence A"]


def test_without_node_modules_falls_back_to_cdn(monkeypatch, tmp_path):
    monkeypatch.setenv("BERTEXPLORE_NODE_MODULES", str(tmp_path))
    view = B.head_view_html(fake_trace(["[CLS]", "x", "[SEP]"]))
    assert not view.offline and "cdnjs" in view.html


def test_library_code_cannot_end_the_inline_script():
    assert B._script('var s = "</script>";') == '<script type="text/javascript">\nvar s = "<\\/script>";\n</script>\n'


def test_token_window_shows_every_layer_and_head_of_the_tokens_around_one():
    tokens = [f"t{i}" for i in range(120)]
    trace = fake_trace(tokens, layers=3, heads=4, segments=[0] * 50 + [1] * 70)
    size = B.window_for_all_heads(3, 4, budget=3 * 4 * 30 * 30)
    assert size == 30 and 3 * 4 * size * size <= 3 * 4 * 30 * 30 < 3 * 4 * (size + 1) ** 2
    window = B.token_window(len(tokens), center=55, size=size)
    assert window == (40, 70)
    assert B.token_window(len(tokens), center=2, size=size) == (0, 30)  # kept inside the input
    assert B.token_window(len(tokens), center=119, size=size) == (90, 120)
    whole = B.model_view_html(trace, budget=3 * 4 * 30 * 30)
    assert not whole.subset.complete  # the whole input would not fit: the old thin column
    view = B.model_view_html(trace, budget=3 * 4 * 30 * 30, window=window)
    assert view.subset.complete and view.window == window
    params = _params(view.html)
    assert params["attention"][0]["left_text"] == tokens[40:70]
    np.testing.assert_allclose(np.array(params["attention"][0]["attn"]),
                               np.round(trace.attentions[:, :, 40:70, 40:70].astype(np.float64), B.DECIMALS))
    # The pair boundary (token 50) falls inside the window: bertviz's A/B filters start at 50 - 40.
    assert [d["name"] for d in params["attention"]][:2] == ["All", "Sentence A -> Sentence A"]
    assert len(params["attention"][1]["left_text"]) == 10 and view.pair
    head = B.head_view_html(trace, budget=3 * 4 * 30 * 30, window=(60, 90))  # all in sentence B: no filter
    assert not head.pair and len(_params(head.html)["attention"]) == 1  # one view, no A/B filters


def test_model_view_scales_to_the_frame_and_its_height_covers_bertviz_layout():
    trace = fake_trace([f"t{i}" for i in range(20)], layers=4, heads=12, segments=[0] * 10 + [1] * 10)
    view = B.model_view_html(trace)
    assert "document.body.style.zoom" in view.html.split("<body>", 1)[0]
    # bertviz model_view.js: thumbnail = tokens * 7 * 12 / heads + 2 * 5; grid = layers * thumbnail + 38 px of axis.
    grid = 4 * (20 * 7 * 12 / 12 + 10) + 38
    single = B.iframe_height("model", 20, view.subset, pair=False)
    pair = B.iframe_height("model", 20, view.subset, pair=True)
    assert single >= grid + 30 and pair >= single + 30  # the A/B filter line above the grid needs its room
