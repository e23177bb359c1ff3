"""Streamlit's own Markdown renderer, in a real browser, shows a hostile model name from a link as plain text."""
from __future__ import annotations

import urllib.parse

import pytest
from conftest import no_exception_shown, wait_idle

pytestmark = pytest.mark.e2e

EVIL = "[Click to log in](http://evil.example/login) www.evil.example **bold** :red[x]"


def test_a_shared_link_cannot_put_a_link_on_the_page(app_url, web):
    web.goto(app_url + "/attention?" + urllib.parse.urlencode({"model": EVIL}))
    wait_idle(web)
    no_exception_shown(web)
    alert = web.locator("[data-testid='stAlertContentError']").first
    alert.wait_for(timeout=60_000)
    assert "[Click to log in](http://evil.example/login) www.evil.example **bold** :red[x]" in alert.inner_text()
    assert web.locator("a[href*='evil.example']").count() == 0
    assert web.locator("[data-testid='stMain'] strong:has-text('bold')").count() == 0
