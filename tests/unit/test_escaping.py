"""User- and checkpoint-controlled text shows literally: in Markdown (ui.markdown) and in plotly figures.

Markdown is rendered here with markdown-it-py's GFM-like preset (tables, strikethrough, bare-URL autolinks), the
same syntax family Streamlit's frontend renders, so a string that would become a link, heading or emphasis fails.
"""
from __future__ import annotations

import html
import json
import re

import numpy as np
import pytest
from markdown_it import MarkdownIt

from bertexplore.attention import AttentionView, Units
from bertexplore.figures import heatmap_figure, plot_text
from bertexplore.mlm import MaskPredictions, Prediction
from ui.markdown import code, label, plain

HOSTILE = [
    "[Click to log in](http://evil.example/login)",
    "http://evil.example/login",
    "www.evil.example",
    "mail me: a@evil.example",
    "![x](http://evil.example/p.png)",
    '<a href="http://evil.example/">x</a>',
    "**md42**", "_em_", "~~gone~~", "# heading", "- item", "+ item", "1. item", "> quote", "---",
    "a | b\n--|--\n1 | 2",
    "$x^2$", ":red[alarm] :material/home: :smile:",
    "back\\slash \\[x\\](y)", "&lt;b&gt; &amp;",
    "`code` ``x``",
    "line one\n\n# line two",
]
MD = MarkdownIt("gfm-like")


def rendered_text(markdown: str) -> tuple[str, str]:
    """(the HTML markdown-it makes of it, its visible text)."""
    out = MD.render(markdown)
    # U+2060 (word joiner) is invisible: plain() puts it where a link could otherwise start
    return out, html.unescape(re.sub(r"<[^>]+>", "", out)).replace("\u2060", "").strip()


@pytest.mark.parametrize("text", HOSTILE)
def test_plain_text_renders_literally(text):
    out, visible = rendered_text(f"Model **{plain(text)}** is ready.")
    tags = set(re.findall(r"<(\w+)", out))
    assert tags == {"p", "strong"}, out  # only the template's own markup: no <a>, <img>, <h1>, <em>, <code>, table
    assert visible == f"Model {' '.join(text.splitlines())} is ready."


@pytest.mark.parametrize("text", HOSTILE)
def test_plain_text_alone_at_the_start_of_a_message(text):
    out, visible = rendered_text(plain(text))
    assert set(re.findall(r"<(\w+)", out)) == {"p"}, out
    assert visible == " ".join(text.splitlines()).strip()


@pytest.mark.parametrize("name", ["a` [Click](http://evil.example) `.csv", "``x`", "`", "plain.csv", "x `y` z"])
def test_code_cannot_be_broken_out_of(name):
    out = MD.render(f"Read {code(name)}: 3 rows.")
    assert re.findall(r"<(\w+)", out) == ["p", "code"], out
    assert html.unescape(re.search(r"<code>(.*)</code>", out).group(1)) == name
    assert out.rstrip().endswith(": 3 rows.</p>")


def test_names_stay_readable():
    assert plain("bert-base-uncased") == "bert-base-uncased"
    assert plain("dslim/bert-base-NER") == "dslim/bert-base-NER"


@pytest.mark.parametrize("text", HOSTILE)
def test_plot_text_has_no_markup_and_decodes_back(text):
    safe = plot_text(text)
    assert "<" not in safe and ">" not in safe
    assert html.unescape(safe) == text  # plotly decodes &lt; &gt; &amp;: the user sees exactly the text


def _spec(fig) -> dict:
    return json.loads(fig.to_json())


LINK = '<a href="http://evil.example/">x</a>'


def test_heatmap_escapes_tokens_and_title():
    labels = (LINK, "<b>bold</b>", "cat")
    axis = Units(labels=labels, segments=(0, 0, 0), special=(False, False, False), positions=((0,), (1,), (2,)))
    view = AttentionView(np.full((3, 3), 1 / 3, dtype=np.float32), axis, axis, f"Layer 1 {LINK}", ())
    spec = _spec(heatmap_figure(view))
    text = json.dumps(spec)
    assert "<a " not in text and "<b>" not in text
    x = spec["data"][0]["x"]
    assert html.unescape(x[0]) == LINK and x[1] == "&lt;b&gt;bold&lt;/b&gt;"
    assert "&lt;a href" in spec["layout"]["title"]["text"]


def test_masked_lm_charts_escape_tokens():
    from ui.mlm_view import topk_figure

    preds = tuple(Prediction(tok, i, 0.5 / (i + 1), -float(i)) for i, tok in enumerate((LINK, "<i>x</i>", "ok")))
    spec = _spec(topk_figure(MaskPredictions(position=3, predictions=preds), f"Mask {LINK}"))
    text = json.dumps(spec)
    assert "<a " not in text and "<i>" not in text
    assert html.unescape(spec["data"][0]["y"][0]) == f"1. {LINK}"
    assert html.unescape(spec["layout"]["title"]["text"]) == f"Mask {LINK}"


def test_label_chart_escapes_label_names():
    from types import SimpleNamespace

    from ui.task_views import label_figure

    result = SimpleNamespace(mode="multi-label", labels=(LINK, "**md42**"), scores=np.array([0.7, 0.2]),
                             predicted=(0,), thresholds=(0.5, 0.5))
    spec = _spec(label_figure(result))
    assert "<a " not in json.dumps(spec)
    for trace in spec["data"]:
        assert [html.unescape(y) for y in trace["y"]] == [LINK, "**md42**"]


@pytest.mark.parametrize("text", HOSTILE)
def test_labels_render_literally(text):
    out, visible = rendered_text(label(text))
    assert set(re.findall(r"<(\w+)", out)) == {"p"}, out
    assert visible == " ".join(text.splitlines()).strip()


@pytest.mark.parametrize("token", ["##believ", "the (2)", "[UNK]", "don't", "3.5", "e-mail", "café", "?", "!", "#1", "a + b"])
def test_ordinary_tokens_keep_their_label_in_links(token):
    assert label(token) == token  # the pill's label is also its value in a shared link
    out, visible = rendered_text(token)
    assert set(re.findall(r"<(\w+)", out)) == {"p"} and visible == token


def test_classed_line_escapes_every_part():
    from ui.html import classed_line

    out = classed_line("lesson-counter", "Step 1 of 3", "<img src=x onerror=alert(1)>")
    assert out == ("<div class='lesson-counter'>Step 1 of 3 · "
                   "&lt;img src=x onerror=alert(1)&gt;</div>")
