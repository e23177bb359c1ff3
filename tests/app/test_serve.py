"""ui.serve warms the shared model cache at startup, so the first visit loads nothing (issue 13)."""
from __future__ import annotations

from app_helpers import APP, assert_no_exception
from streamlit.testing.v1 import AppTest

import ui.models as models
from ui import serve


def test_warm_up_loads_the_model_a_new_session_opens_with(monkeypatch):
    loads: list[tuple] = []
    real = models.load_model

    def counted(*args, **kwargs):
        loads.append((args, kwargs))
        return real(*args, **kwargs)

    monkeypatch.setattr(models, "load_model", counted)
    models._cached_load.clear()
    serve.warm()  # what the server's warm-up thread runs
    assert len(loads) == 1

    at = AppTest.from_file(APP, default_timeout=120).run()  # a fresh session on the Home page
    assert_no_exception(at)
    assert any("is ready" in s.value for s in at.success), [s.value for s in at.success]
    assert len(loads) == 1  # the session found the warmed model in the shared cache
