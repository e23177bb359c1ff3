"""Lesson page in a real browser: the step's page opens in the frame, an answer is graded, the arrow keys step."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import no_exception_shown, wait_idle

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def _expected_pieces(word: str) -> int:
    # Computed another way: the packaged model's own tokenizer, straight from transformers.
    from transformers import AutoTokenizer

    from bertexplore.registry import packaged_model_dir

    return len(AutoTokenizer.from_pretrained(str(packaged_model_dir())).tokenize(word))


def test_answer_is_graded_and_arrows_step(web, app_url):
    web.goto(f"{app_url}/lesson?lesson=reading&step=1")
    wait_idle(web)
    no_exception_shown(web)
    frame = web.frame_locator("iframe[src*='inside_bert']")
    frame.locator("[data-testid=stMain] h1").first.wait_for(timeout=90_000)  # the step's page, run in its own session
    assert "Inside BERT" in frame.locator("[data-testid=stMain] h1").first.inner_text()
    n = _expected_pieces("embeddings")
    web.locator(".st-key-lesson_q_reading_0 label").filter(has_text=str(n)).first.click()
    wait_idle(web)
    web.locator(".st-key-lesson_q_reading_0_commit button").click()
    wait_idle(web)
    alert = web.locator("[data-testid='stAlertContentSuccess']")
    alert.wait_for(timeout=30_000)
    assert "Right" in alert.inner_text()
    if os.environ.get("LESSON_SCREENSHOT"):
        web.screenshot(path=os.environ["LESSON_SCREENSHOT"], full_page=False)
    web.locator("[data-testid=stMain] h2").first.click()
    web.keyboard.press("ArrowRight")
    wait_idle(web)
    web.wait_for_function("() => location.search.includes('step=2')", timeout=30_000)
    assert "[CLS], [SEP]" in web.locator("h2").first.inner_text()
    # The arrow keys work with the focus inside the step's frame too (its page forwards them).
    frame = web.frame_locator("iframe[src*='inside_bert']")
    frame.locator("[data-testid=stMain] h1").first.wait_for(timeout=90_000)
    frame.locator("[data-testid=stMain] h1").first.click()
    web.keyboard.press("ArrowRight")
    web.wait_for_function("() => location.search.includes('step=3')", timeout=30_000)


def test_wrong_answer_says_the_models(web, app_url):
    web.goto(f"{app_url}/lesson?lesson=attention&step=2&lang=%E4%B8%AD%E6%96%87")
    wait_idle(web)
    no_exception_shown(web)
    web.locator(".st-key-lesson_q_attention_1 label").filter(has_text="table").first.click()
    wait_idle(web)
    web.locator(".st-key-lesson_q_attention_1_commit button").click()
    wait_idle(web)
    graded = web.locator("[data-testid='stAlertContentSuccess'], [data-testid='stAlertContentError']")
    graded.first.wait_for(timeout=30_000)
    assert "[CLS]" in graded.first.inner_text() or "table" in graded.first.inner_text()


def test_first_visit_tour_is_remembered_by_the_browser(browser, app_url):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        page.goto(f"{app_url}/inside_bert")
        wait_idle(page)
        tour = page.locator("#bx-tour")
        tour.wait_for(timeout=30_000)
        assert "Model and language" in tour.inner_text()
        tour.locator("button", has_text="Next").click()
        assert "Your text" in tour.inner_text()
        tour.locator("button", has_text="Skip the tour").click()
        assert page.locator("#bx-tour").count() == 0
        assert page.evaluate("localStorage.getItem('bertexplore.tour.v1')") == "done"
        page.reload()
        wait_idle(page)
        page.wait_for_timeout(1500)
        assert page.locator("#bx-tour").count() == 0  # remembered in this browser, nothing on the server
    finally:
        context.close()


def test_a_malformed_lesson_file_names_its_line(web, app_url, tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("id: broken\ntitle: {en: B, zh: 坏}\nsteps:\n  - page: atention\n    title: {en: a, zh: 一}\n"
                   "    text: {en: a, zh: 一}\n")
    web.add_init_script("try { localStorage.setItem('bertexplore.tour.v1', 'done') } catch (e) {}")
    web.goto(f"{app_url}/lesson")
    wait_idle(web)
    web.locator("[data-testid=stSidebar] [data-testid=stExpander] summary").filter(has_text="Lesson builder").click()
    web.locator("[data-testid=stSidebar] input[type=file]").set_input_files(str(bad))
    wait_idle(web)
    error = web.locator("[data-testid=stSidebar] [data-testid='stAlertContentError']")
    error.wait_for(timeout=30_000)
    assert "broken.yaml, line 4: step 1.page: unknown page 'atention'" in error.inner_text()
    no_exception_shown(web)
