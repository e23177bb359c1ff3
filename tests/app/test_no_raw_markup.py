"""No page, in either language, shows Markdown syntax as text: a literal `**`, `__` or backtick on screen means a
bold or code span did not close (CommonMark's flanking rules: `**答案：**{text}` stays literal), or that markup
was escaped where it was meant. Every Markdown-rendered string of the page is parsed the way the browser's
CommonMark/GFM renderer parses it (markdown-it-py) and its visible text is checked."""
from __future__ import annotations

import re

import pytest
from markdown_it import MarkdownIt

from app_helpers import assert_no_exception, open_page
from test_chinese_mode import PAGE_MODEL, PAGES
from untranslated import rendered_texts


@pytest.fixture
def local_models(tiny_dir, monkeypatch):
    """The tiny checkpoints play the models folder, so the task pages draw their results."""
    monkeypatch.setenv("BERTEXPLORE_MODELS_DIR", str(tiny_dir))
    return tiny_dir

MD = MarkdownIt("commonmark").enable(["strikethrough", "table"])
# Not Markdown in Streamlit: raw HTML (st.html), plotly text, st.text, placeholders and table headers
PLAIN = {"html", "plotly", "text", "dataframe header"}
RAW = re.compile(r"\*\*|__|`")


def visible_text(source: str) -> str:
    """The text a reader sees: inline text tokens only (code spans and HTML are not text)."""
    out = []
    for block in MD.parse(source):
        for token in block.children or []:
            if token.type == "text":
                out.append(token.content)
    return " ".join(out)


def raw_markup(at) -> list[tuple[str, str]]:
    found = []
    for where, text in rendered_texts(at):
        if where in PLAIN or where.endswith("placeholder") or not text:
            continue
        if RAW.search(visible_text(text)):
            found.append((where, text[:200]))
    return found


def test_the_checker_catches_an_unclosed_bold():
    assert RAW.search(visible_text("**答案：**巴黎"))  # closing ** after punctuation, before a CJK letter
    assert not RAW.search(visible_text("**答案**：巴黎"))
    assert not RAW.search(visible_text("运行 `python -m x` 即可"))
    assert RAW.search(visible_text("an ``unclosed code span"))


# Pages in a state beyond their first screen: other tabs and measures, where other captions show.
STATES = [(page, {}) for page in PAGES] + [
    ("pages/attention.py", {"attention_measure": "alti", "attention_tab": tab})
    for tab in ("All heads", "Rollout", "bertviz head view")
] + [("pages/analysis.py", {"an_tab": tab}) for tab in ("Logit lens", "Head census", "Head importance", "Projector")]


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("page,state", STATES, ids=[f"{p.split('/')[-1]}-{'-'.join(map(str, s.values()))}"
                                                    for p, s in STATES])
def test_no_literal_markup_on_any_page(local_models, page, state, lang):
    at = open_page(page, model=PAGE_MODEL.get(page, "tiny-mlm" if "analysis" in page else None), lang=lang, **state)
    assert_no_exception(at)
    found = raw_markup(at)
    assert not found, "\n".join(f"{where}: {text!r}" for where, text in found)


def test_no_catalog_message_renders_literal_markup():
    """Every message and translation, placeholders filled with Latin, CJK, digits and a [TOKEN] (what follows a
    closing `**` decides whether it closes): covers the messages no page state above reaches."""
    from babel.messages.pofile import read_po

    from bertexplore.i18n import LOCALES

    with (LOCALES / "zh" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale="zh")
    found = []
    for message in catalog:
        if not message.id:
            continue
        texts = [message.id] if isinstance(message.id, str) else list(message.id)
        texts += [message.string] if isinstance(message.string, str) else list(message.string or ())
        for text in filter(None, texts):
            for fill in ("X", "字", "3", "[CLS]"):
                if RAW.search(visible_text(re.sub(r"\{[^{}]*\}", fill, text))):
                    found.append(text)
                    break
    assert not found, found


@pytest.mark.parametrize("page", ["pages/ablation.py", "pages/inside_bert.py"])
def test_multiselects_say_their_placeholder_in_chinese(local_models, page):
    """Streamlit's own placeholder ("Choose options") is English whatever the page's language."""
    at = open_page(page, model=PAGE_MODEL.get(page), lang="zh")
    assert_no_exception(at)
    assert at.multiselect, page
    for box in at.multiselect:
        assert box.proto.placeholder and not box.proto.placeholder.isascii(), box.proto.placeholder
