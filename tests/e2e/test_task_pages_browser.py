"""Every task page in a real browser, opened by a shared link whose URL carries the inputs."""
from __future__ import annotations

import pytest
from conftest import no_exception_shown, wait_idle

pytestmark = pytest.mark.e2e

LINKS = {
    "classification": "cls_text=the+movie+was+good",
    "ner": "ner_text=john+lives+in+london",
    "qa": "qa_question=where+does+john+live%3F",
    "nsp": "nsp_a=the+cat+sat+on+the+mat.&nsp_b=it+was+a+good+cat.",
}


@pytest.mark.parametrize("page", sorted(LINKS))
def test_task_page_draws_from_a_shared_link(app_url, web, page):
    web.goto(f"{app_url}/{page}?{LINKS[page]}")
    wait_idle(web)
    no_exception_shown(web)
    # the sidebar pickers prove the page ran inside app.py, even as the first visit of a session
    assert web.locator("[data-testid='stSidebar']").get_by_text("bertexplore").count() == 1
    first_value = LINKS[page].split("&")[0].split("=")[1].replace("+", " ").replace("%3F", "?")
    boxes = web.locator("textarea, input[type='text']")
    values: list[str] = []
    for _ in range(60):  # the page's widgets can land a moment after the first idle state
        values = [boxes.nth(i).input_value() for i in range(boxes.count())]
        if first_value in values:
            break
        web.wait_for_timeout(500)
    assert first_value in values
    plot = web.locator(".js-plotly-plot").first
    plot.wait_for(timeout=60_000)
    assert web.locator(".js-plotly-plot .bars path, .js-plotly-plot .barlayer path, .js-plotly-plot .heatmaplayer image, "
                       ".js-plotly-plot .scatterlayer path").count() > 0
    assert web.errors == []


def test_integrated_gradients_highlight_in_browser(app_url, web):
    web.goto(f"{app_url}/classification?{LINKS['classification']}")
    wait_idle(web)
    web.get_by_role("button", name="Compute integrated gradients").click()  # auto-waits for the button
    wait_idle(web)
    no_exception_shown(web)
    web.get_by_text("completeness", exact=False).first.wait_for(timeout=60_000)
    assert web.locator("span[title]").filter(has_text="movie").count() >= 1
