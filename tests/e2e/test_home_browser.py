from __future__ import annotations

import pytest
from conftest import no_exception_shown, wait_idle

pytestmark = pytest.mark.e2e


def test_app_opens_offline_on_packaged_model(app_url, web):
    web.goto(app_url)
    wait_idle(web)
    web.get_by_text("6 layers × 12 heads").first.wait_for(timeout=60_000)
    no_exception_shown(web)
    assert web.errors == []
