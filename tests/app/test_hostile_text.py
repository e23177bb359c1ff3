"""Hostile names in shared links, checkpoints and uploads render as plain text, never as a link (issue 7.2/7.3).

Every piece of Markdown the page sends is rendered here with markdown-it-py's GFM-like preset (the syntax family
Streamlit's frontend renders, bare-URL autolinks included): no link, image or heading may come out of it.
"""
from __future__ import annotations

import html
import json
import re

import pytest
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from app_helpers import APP, assert_no_exception, open_page
from tiny import make_tiny_model
from ui.markdown import plain

EVIL = "[Click to log in](http://evil.example/login)"
LINK = '<a href="http://evil.example/">x</a>'
MD = MarkdownIt("gfm-like")


def markdown_texts(at: AppTest) -> list[str]:
    """Every string the page hands to Streamlit's Markdown renderer (bodies, labels, help)."""
    texts = [e.value for kind in ("markdown", "caption", "error", "warning", "info", "success", "title",
                                  "subheader", "header") for e in getattr(at, kind)]
    for kind in ("tabs", "expander"):
        texts += [e.label for e in getattr(at, kind)]
    for kind in ("selectbox", "text_input", "text_area", "slider", "radio", "toggle", "button", "multiselect"):
        for w in getattr(at, kind):
            texts += [w.proto.label, w.proto.help]
    return texts


def assert_no_live_markup(at: AppTest) -> None:
    for text in markdown_texts(at):
        out = MD.render(text)
        assert not re.search(r"<(a|img|h\d)\b", out), (text, out)


def test_model_name_in_a_shared_link_is_shown_literally():
    # /attention?model=...: one run opens the page with the link's parameters
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["model"] = EVIL
    at.switch_page("pages/attention.py")
    at.run()
    assert_no_exception(at)
    assert at.error, "an unknown model must get a message"
    assert_no_live_markup(at)
    shown = [html.unescape(re.sub(r"<[^>]+>", "", MD.render(e.value))).replace("\u2060", "") for e in at.error]
    assert any(EVIL in s for s in shown), shown  # the user still sees exactly what was in the link


@pytest.mark.parametrize("page", ["pages/masked_lm.py", "pages/home.py", "pages/ablation.py"])
def test_model_name_typed_into_the_box_is_shown_literally(page):
    at = open_page(page, model=EVIL)
    assert_no_exception(at)
    assert_no_live_markup(at)


@pytest.fixture
def evil_models(tmp_path, monkeypatch):
    """A models folder with checkpoints whose labels and names are hostile."""
    from transformers import BertForSequenceClassification, BertForTokenClassification

    root = tmp_path / "models"
    make_tiny_model(root / "evil-cls", BertForSequenceClassification, num_labels=2,
                    id2label={0: LINK, 1: "**md42** " + EVIL}, label2id={LINK: 0, "**md42** " + EVIL: 1})
    make_tiny_model(root / "evil-ner", BertForTokenClassification, num_labels=3,
                    id2label={0: "O", 1: "B-" + EVIL, 2: "I-" + EVIL}, label2id={"O": 0, "B-" + EVIL: 1, "I-" + EVIL: 2})
    monkeypatch.setenv("BERTEXPLORE_MODELS_DIR", str(root))
    return root


def test_checkpoint_label_names_are_plain_in_text_and_charts(evil_models):
    at = open_page("pages/classification.py", cls_checkpoint="evil-cls")
    assert_no_exception(at)
    assert_no_live_markup(at)
    assert any(s.value.startswith("Prediction: ") for s in at.subheader)
    specs = [c.proto.spec for c in at.get("plotly_chart")]
    assert specs and all("<a " not in s for s in specs)
    ys = [html.unescape(y) for s in specs for t in json.loads(s)["data"] for y in t.get("y", [])]
    assert LINK in ys  # escaped in the spec, shown literally by plotly


def test_ner_label_names_are_plain(evil_models):
    at = open_page("pages/ner.py", ner_checkpoint="evil-ner")
    assert_no_exception(at)
    assert_no_live_markup(at)
    assert all("<a " not in c.proto.spec for c in at.get("plotly_chart"))


def test_uploaded_file_name_and_labels_stay_inside_their_formatting(tiny_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("BERTEXPLORE_MODELS_DIR", str(tmp_path / "models"))
    name = "a` [Click](http://evil.example) `.csv"
    rows = "\n".join(f"sentence number {i},{EVIL if i % 2 else 'fine'}" for i in range(20))
    at = open_page("pages/finetune.py", model=str(tiny_dir / "tiny-base"))
    at.radio(key="ft_source").set_value("Upload a file").run()
    at.file_uploader(key="ft_upload").set_value((name, f"text,label\n{rows}\n".encode(), "text/csv")).run()
    assert_no_exception(at)
    assert not at.error, [e.value for e in at.error]
    assert_no_live_markup(at)
    caption = next(c.value for c in at.caption if "rows. First rows" in c.value)
    out = MD.render(caption)
    assert html.unescape(re.search(r"<code>(.*)</code>", out).group(1)) == name
    assert any("Click to log in" in s.value for s in at.success)  # the label counts, as plain text


def test_deeply_nested_jsonl_upload_gets_our_message(tiny_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("BERTEXPLORE_MODELS_DIR", str(tmp_path / "models"))
    at = open_page("pages/finetune.py", model=str(tiny_dir / "tiny-base"))
    at.radio(key="ft_source").set_value("Upload a file").run()
    deep = '{"text": "a", "label": ' + "[" * 50_000 + "]" * 50_000 + "}\n"
    at.file_uploader(key="ft_upload").set_value(("deep.jsonl", deep.encode(), "application/json")).run()
    assert_no_exception(at)
    errors = " ".join(e.value for e in at.error)
    assert "levels deep" in errors and "Recursion" not in errors and "went wrong" not in errors


def test_folder_outside_the_allowed_ones_gets_one_message(tmp_path, monkeypatch):
    monkeypatch.setenv("BERTEXPLORE_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("BERTEXPLORE_ALLOWED_DIRS", str(tmp_path / "allowed"))
    (tmp_path / "exists").mkdir()
    shown = set()
    for name in (str(tmp_path / "exists"), str(tmp_path / "missing"), "~"):
        at = open_page("pages/attention.py", model=name)
        assert_no_exception(at)
        shown |= {e.value.replace(plain(name), "NAME") for e in at.error}
    assert len(shown) == 1 and "BERTEXPLORE\\_ALLOWED\\_DIRS" in shown.pop()
