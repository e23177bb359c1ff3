"""Saves killed mid-way leave nothing behind after a restart (issue 7.4); replacing a saved model needs a
confirmation of exactly what is lost, and a model with another head is never replaced silently (issue 7.5)."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bertexplore.errors import InputError
from bertexplore.finetune.save_folders import MARKER, _process_id, clean_stale_saves, make_temp, release_temp
from bertexplore.finetune.save import saved_model, save_model
from bertexplore.finetune.train import run_training
from test_finetune_train import config, data_dir, models_dir  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parents[2]


def killed_save(root: Path, name: str, replace: bool = False) -> None:
    """A separate process starts a save the way save_model does, then is killed with SIGKILL mid-way."""
    script = textwrap.dedent(f"""
        import os, signal, sys
        from pathlib import Path
        sys.path.insert(0, {str(ROOT)!r})
        from bertexplore.finetune.save_folders import make_temp
        root = Path({str(root)!r})
        scratch = make_temp(".tmp-{name}-", root, "{name}")
        (scratch / "model.safetensors").write_bytes(b"0" * 4096)  # a partial weights file
        if {replace!r}:
            retired = make_temp(".old-{name}-", root, "{name}")
            os.rename(root / "{name}", retired / "model")  # the old model moved aside, the new one not yet in
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr


def test_leftovers_of_killed_saves_are_removed_and_nothing_else(tmp_path):
    root = tmp_path / "models"
    root.mkdir()
    killed_save(root, "first")
    killed_save(root, "second")
    (root / "kept").mkdir()
    (root / "kept" / "config.json").write_text("{}")
    (root / "old").mkdir()
    (root / "old" / "config.json").write_text('{"old": true}')
    killed_save(root, "old", replace=True)  # killed between the two renames of a replace
    assert not (root / "old").exists()
    foreign = root / ".tmp-not-ours-123"
    foreign.mkdir()  # hidden, same prefix, but no marker: not made by the app
    running = make_temp(".tmp-busy-", root, "busy")  # a save of this process still writing
    before = sorted(p.name for p in root.iterdir())
    assert sum(n.startswith((".tmp-", ".old-")) for n in before) == 6

    removed = clean_stale_saves(root)
    left = sorted(p.name for p in root.iterdir())
    assert len(removed) == 4
    assert left == sorted([".tmp-not-ours-123", running.name, "kept", "old"])
    assert json.loads((root / "old" / "config.json").read_text()) == {"old": True}  # the old model is back
    release_temp(running)
    assert clean_stale_saves(root) == []


def test_a_save_in_another_live_process_is_left_alone(tmp_path):
    root = tmp_path / "models"
    root.mkdir()
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        folder = root / ".tmp-other-abc"
        folder.mkdir()
        import socket
        import time
        (folder / MARKER).write_text(json.dumps({"host": socket.gethostname(), "owner": _process_id(child.pid),
                                                 "created": time.time(), "name": "other"}))
        assert clean_stale_saves(root) == [] and folder.exists()
    finally:
        child.kill()
        child.wait()
    assert clean_stale_saves(root) == [folder] and not folder.exists()


def test_replacing_needs_the_confirmed_models_fingerprint(tiny_dir, data_dir, models_dir):  # noqa: F811
    classifier = run_training(config(tiny_dir, data_dir, epochs=1))
    mlm = run_training(config(tiny_dir, data_dir, "mlm", "corpus.txt", epochs=1))
    save_model(mlm, "shared")
    existing = saved_model("shared")
    assert existing.task == "mlm" and existing.architecture == "BertForMaskedLM"
    assert existing.saved_at[:4].isdigit() and "Masked-LM" in existing.description()
    assert existing.saved_at in existing.description()

    # A classifier never replaces a masked-LM silently, not even with overwrite=True.
    for kwargs in ({}, {"overwrite": True}):
        with pytest.raises(InputError, match="already exists") as info:
            save_model(classifier, "shared", **kwargs)
        assert "Masked-LM" in str(info.value) and existing.saved_at in str(info.value)
    assert saved_model("shared").architecture == "BertForMaskedLM"

    # A confirmation is for one exact model: once it changed, the old confirmation does not replace the new one.
    stale = existing.fingerprint
    save_model(mlm, "shared", overwrite=True)  # same head: the command line's --output-name may replace it
    assert saved_model("shared").fingerprint != stale
    with pytest.raises(InputError, match="changed after you confirmed"):
        save_model(classifier, "shared", replace=stale)

    folder = save_model(classifier, "shared", replace=saved_model("shared").fingerprint)
    assert saved_model("shared").architecture == "BertForSequenceClassification"
    assert sorted(p.name for p in models_dir.iterdir()) == ["shared"] and not (folder / MARKER).exists()
