"""Fixtures the app tests share."""
from __future__ import annotations

import pytest


@pytest.fixture
def models_dir(tmp_path, monkeypatch):
    """An empty models folder of this test's own, where the app looks for saved models."""
    folder = tmp_path / "models"
    folder.mkdir()
    monkeypatch.setenv("BERTEXPLORE_MODELS_DIR", str(folder))
    return folder
