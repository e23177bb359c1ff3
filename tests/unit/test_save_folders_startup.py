"""Issue 18 §5: what a save killed mid-way leaves is removed at start-up, the unmarked empty folder included."""
from __future__ import annotations

import json
import os
import time

from bertexplore.finetune import save_folders
from ui import serve


def _age(folder, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(folder, (then, then))


def test_empty_unmarked_temp_folder_goes_once_it_is_a_minute_old(tmp_path):
    killed = tmp_path / ".tmp-mine-abc123"  # mkdtemp made it, then the process died before the marker
    killed.mkdir()
    _age(killed, 120)
    fresh = tmp_path / ".tmp-other-def456"  # another process may be about to write its marker
    fresh.mkdir()
    foreign = tmp_path / ".tmp-notours"  # not empty, not ours: never touched
    foreign.mkdir()
    (foreign / "data.txt").write_text("keep")
    _age(foreign, 120)
    removed = save_folders.clean_stale_saves(tmp_path)
    assert removed == [killed] and not killed.exists()
    assert fresh.exists() and (foreign / "data.txt").exists()


def test_the_server_cleans_up_at_start_up(tmp_path, monkeypatch):
    monkeypatch.setenv("BERTEXPLORE_MODELS_DIR", str(tmp_path))
    stale = tmp_path / ".tmp-model-xyz"
    stale.mkdir()
    (stale / save_folders.MARKER).write_text(json.dumps({"host": __import__("socket").gethostname(),
                                                      "owner": "gone:999999999:1", "created": 0, "name": "model"}))
    assert serve.clean_up() == 1 and not stale.exists()  # ui/serve.py's warm-up runs this before any visit
