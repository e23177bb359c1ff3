"""Texts and shareable links: how long a text box's text may be, and when it stops travelling in the link.

Issue 18 §4: text boxes are bound to the URL (bind="query-params") so a link shows the same text. Above ~120 kB of
URL the server answers 400 Bad Request, and proxies refuse far less (nginx reads an 8 kB request line by default),
so a long text made a page that could not be reloaded or shared. Chinese takes 9 bytes a character once encoded.

Pages call `url_bind(key)` for the `bind=` of every text box bound to the URL: the text is bound while its encoded
form fits LINK_BYTES, and unbound above (Streamlit then takes it out of the URL), with a line saying the link does
not carry it. `READ_CHARS` is the limit for a box whose page reads one window of the model (512 tokens at most:
each token is at least one character, and English averages under 6 per token); `WINDOWED_CHARS` for a box whose
page reads any length in windows (question answering's context).
"""
from __future__ import annotations

from typing import Literal
from urllib.parse import quote

import streamlit as st

from .i18n import _

LINK_BYTES = 3000  # per text: two texts and the other settings stay under a proxy's 8 kB request line
READ_CHARS = 5000
WINDOWED_CHARS = 50_000


def link_bytes(text: str) -> int:
    """Bytes `text` takes in a URL's query string."""
    return len(quote(text, safe=""))


def fits_in_link(text: object) -> bool:
    return not isinstance(text, str) or link_bytes(text) <= LINK_BYTES


def url_bind(key: str) -> Literal["query-params"] | None:
    """`bind=` for the text box `key`: bound to the URL while its text fits in a link; else unbound, and said so."""
    if fits_in_link(st.session_state.get(key)):
        return "query-params"
    st.caption(_("This text is too long to travel in the page's link: a copied link opens the page without "
                 "it. Copy the text itself to share it."))
    return None
