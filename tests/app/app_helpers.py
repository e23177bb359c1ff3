"""AppTest helpers: open app.py on one page with a chosen model, the way a browser session would."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def open_page(page: str, model: str | None = None, timeout: float = 120, query: dict | None = None,
              **state) -> AppTest:
    """Run app.py, switch to `page` (e.g. "pages/masked_lm.py") with sidebar model `model`, the URL's `query`
    parameters and `state` in session_state; return the AppTest."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    if model is not None:
        at.session_state["model"] = model
    for key, value in state.items():
        at.session_state[key] = value
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    at.switch_page(page)
    at.run()
    return at


def assert_no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


@pytest.fixture
def page():
    return open_page


def drawn_figures(at: AppTest) -> list[dict]:
    """The plotly figures the page drew, as specs: st.plotly_chart's and those drawn in place (ui/plot_in_place)."""
    import json

    from ui.plot_in_place import COMPONENT_NAME, read_payload

    return ([json.loads(c.proto.spec) for c in at.get("plotly_chart")]
            + [read_payload(c.proto.bytes) for c in at.get("bidi_component") if c.proto.component_name == COMPONENT_NAME])
