"""Streamlit's own Markdown renderer, in a real browser, shows a hostile model name from a link as plain text."""
from __future__ import annotations

import urllib.parse

import pytest
from conftest import no_exception_shown, wait_idle

pytestmark = pytest.mark.e2e

EVIL = "[Click to log in](http://evil.example/login) www.evil.example evil.com me@evil.com **bold** :red[x]"


def test_a_shared_link_cannot_put_a_link_on_the_page(app_url, web):
    web.goto(app_url + "/attention?" + urllib.parse.urlencode({"model": EVIL}))
    wait_idle(web)
    no_exception_shown(web)
    alert = web.locator("[data-testid='stAlertContentError']").first
    alert.wait_for(timeout=60_000)
    assert EVIL in alert.inner_text().replace("\u2060", "")  # shown as typed (the word joiners are invisible)
    # The app's own links (page navigation) carry the query string; a link to another host is what must not appear.
    foreign = web.evaluate("() => Array.from(document.querySelectorAll('a[href]'))"
                           ".filter(a => a.hostname && a.hostname !== location.hostname || a.href.startsWith('mailto:'))"
                           ".map(a => a.href)")
    assert not [h for h in foreign if "evil" in h], foreign
    assert web.locator("[data-testid='stMain'] strong:has-text('bold')").count() == 0
