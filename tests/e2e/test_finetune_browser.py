"""The fine-tuning panel in a real browser: a run starts in the background and its progress redraws live."""
from __future__ import annotations

import re
import time

import pytest
from conftest import no_exception_shown, wait_idle

pytestmark = pytest.mark.e2e


def _progress_text(page) -> str:
    bars = page.locator("[data-testid='stMain'] [data-testid='stProgress']")  # not the sidebar's job status
    return bars.first.inner_text() if bars.count() else ""


def test_training_progress_updates_live(app_url, web):
    web.goto(app_url + "/finetune?model=tiny-mlm")
    wait_idle(web)
    no_exception_shown(web)
    # 40 epochs of the bundled sentiment set on the tiny model (~600 steps, ~10 s on an idle machine): long enough
    # to watch it move; the deadline leaves room for a busy 2-core machine
    epochs = web.locator("input[aria-label='Epochs']").first
    epochs.fill("40")
    epochs.press("Enter")
    wait_idle(web)
    web.locator("button:has-text('Start training')").first.click()
    seen: list[str] = []
    deadline = time.time() + 420
    while time.time() < deadline:
        text = _progress_text(web)
        if text and (not seen or text != seen[-1]):
            seen.append(text)
        if re.search(r"Finished|Stopped|Failed", text):
            break
        web.wait_for_timeout(250)
    assert any(t.startswith("Training") for t in seen), seen
    assert len(set(seen)) >= 3, seen  # the fragment redrew the progress several times without any click
    assert "Finished" in seen[-1], seen
    no_exception_shown(web)
    assert web.errors == []
