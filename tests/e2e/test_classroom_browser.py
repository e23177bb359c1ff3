"""Enter applies the text in a real browser (issue 12): a single-line box on Enter, the QA form on Enter in the
question and on Ctrl+Enter in the context (a plain Enter there is a newline)."""
from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from conftest import no_exception_shown, wait_idle

pytestmark = pytest.mark.e2e


def _param(page, name: str) -> str | None:
    values = parse_qs(urlparse(page.url).query).get(name)
    return values[0] if values else None


def test_enter_applies_the_masked_lm_text(app_url, web):
    web.goto(app_url + "/masked_lm?model=tiny-mlm")
    wait_idle(web)
    box = web.locator("input[aria-label='Text']").first
    box.fill("the dog sat on the [MASK] .")
    box.press("Enter")
    wait_idle(web)
    no_exception_shown(web)
    assert _param(web, "mlm_text") == "the dog sat on the [MASK] ."


def test_qa_form_applies_on_enter_and_ctrl_enter(app_url, web):
    web.goto(app_url + "/qa?qa_checkpoint=tiny-qa")
    wait_idle(web)
    question = web.locator("input[aria-label='Question']").first
    question.fill("where does mary work?")
    question.press("Enter")
    wait_idle(web)
    assert _param(web, "qa_question") == "where does mary work?"
    context = web.locator("textarea[aria-label='Context']").first
    context.fill("mary works at google in london.")
    context.press("Enter")  # a newline only: nothing applied yet
    web.wait_for_timeout(800)
    shown = lambda: web.evaluate("() => document.body.innerText")  # noqa: E731 - a textarea's value is not in it
    assert "google in london" not in shown()
    context.press("Control+Enter")
    wait_idle(web)
    no_exception_shown(web)
    assert "google in london" in shown()  # the answer view now reads the new context
