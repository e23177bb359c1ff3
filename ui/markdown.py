"""The one place where user- or checkpoint-controlled text enters a Markdown context as plain text.

Streamlit renders GitHub-flavoured Markdown (plus its own `:color[...]`, `:material/...:` and `$math$`) in
st.markdown, captions, errors/warnings/info, subheaders, widget labels, help tooltips, tab and expander labels,
radio/pills options and spinner text. A model name, file name, column, label or token put there raw can become a
live link (`[Click](http://evil.example)`, a bare `http://…` or `www.…` autolink), a heading or an icon.
`plain()` makes any string render exactly as typed; `code()` puts it in code formatting it cannot break out of.
HTML contexts (st.html) use ui/html.py; figures use bertexplore.figures.plot_text.
"""
from __future__ import annotations

import re

# CommonMark lets any ASCII punctuation be backslash-escaped, and an escaped one is always shown literally.
# Escaped here: everything that opens inline syntax (links, images, emphasis, strikethrough, code, HTML, entities,
# tables, math `$`), ':' (GFM's bare http:// autolinks and Streamlit's ':icon:' / ':red[...]' directives),
# '.' and '@' (www. and e-mail autolinks, "1." lists). '-' and '+' only open a list or a rule at the start.
# The rest ("-", "/", "'", ",", "?", ...) is left alone so names like bert-base-uncased stay readable.
_INLINE = re.compile(r"([\\`*_{}\[\]()#!|<>~$:&@.])")
_LEADING = re.compile(r"^(\s*)([-+=])")
_BACKTICKS = re.compile(r"`+")


# Streamlit's frontend turns bare URLs, www. names and e-mail addresses into live links even when their ':', '.'
# and '@' are backslash-escaped (measured in Chromium: tests/e2e/test_hostile_browser.py). An invisible WORD JOINER
# next to each of them breaks every such pattern; the text still reads the same.
_JOINER = "\u2060"


def plain(text: object) -> str:
    """`text` escaped so that Markdown shows it literally (line breaks become spaces: no block structure), and no
    part of it can become a link."""
    flat = " ".join(str(text).splitlines())
    out = _LEADING.sub(r"\1\\\2", _INLINE.sub(r"\\\1", flat))
    return out.replace("\\:", "\\:" + _JOINER).replace("\\.", _JOINER + "\\.").replace("\\@", _JOINER + "\\@")


def code(text: object) -> str:
    """`text` as inline code: the fence is longer than any run of backticks inside, so the text cannot close it."""
    flat = " ".join(str(text).splitlines())
    longest = max((len(run) for run in _BACKTICKS.findall(flat)), default=0)
    fence = "`" * (longest + 1)
    # CommonMark strips one space on each side of a code span's content, so the padding is not shown and a
    # leading or trailing backtick in the text cannot merge with the fence.
    return f"{fence} {flat} {fence}"


# What can turn a short label into markup: HTML/entities, emphasis, code, math, tables, escapes, link and image
# brackets followed by a target, Streamlit's ':icon:' / ':red[...]' directives, bare-URL and e-mail autolinks, and
# block starters (lists, quotes, headings).
_RISKY = re.compile(r"[<>*_`$~&\\|@]|\]\s*[(\[:]|:[\w/+-]*[\[:]|://|www\.|^\s*([-+*>=]|#{1,6}(\s|$)|\d+[.)](\s|$))")


def label(text: object) -> str:
    """An option label that is also a URL value (st.pills with bind="query-params" writes the shown label into the
    link): unchanged when it cannot render as markup, so links stay readable (`##believ`, `the (2)`, `[UNK]`),
    else escaped like plain()."""
    flat = " ".join(str(text).splitlines())
    return plain(flat) if _RISKY.search(flat) else flat
