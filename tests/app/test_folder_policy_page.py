"""A model name relative to the server's working folder, typed in the browser, is refused, never opened (issue 18.5)."""
from __future__ import annotations

from transformers import BertForMaskedLM

from app_helpers import assert_no_exception, open_page
from tiny import make_tiny_model


def test_relative_name_from_the_browser_is_refused(tmp_path, monkeypatch):
    work = tmp_path / "work"
    make_tiny_model(work / ".venv" / "lib" / "pkg" / "model", BertForMaskedLM)
    monkeypatch.setenv("BERTEXPLORE_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("BERTEXPLORE_ALLOWED_DIRS", str(tmp_path / "allowed"))
    monkeypatch.chdir(work)
    at = open_page("pages/attention.py", model=".venv/lib/pkg/model")
    assert_no_exception(at)
    errors = " ".join(e.value for e in at.error)
    assert "BERTEXPLORE\\_ALLOWED\\_DIRS" in errors
    assert not at.get("plotly_chart")  # nothing was loaded from that folder
