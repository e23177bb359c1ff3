"""The download command the app prints works as printed, from the app folder (the system Python lacks the
project's packages, so a bare `python -m bertexplore` fails there)."""
from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

from bertexplore.download import APP_FOLDER, download_command, python_command
from bertexplore.errors import ModelUnavailable
from bertexplore.packs import pack_command
from bertexplore.tasks.checkpoints import fetch_command

ROOT = Path(__file__).resolve().parents[2]


def test_the_app_folder_python_is_named_relative_to_it_and_others_absolutely(tmp_path):
    assert python_command(str(tmp_path / ".venv" / "bin" / "python"), tmp_path) == ".venv/bin/python"
    assert python_command("/opt/conda/bin/python", tmp_path) == "/opt/conda/bin/python"
    assert APP_FOLDER == ROOT


def test_every_printed_command_uses_the_running_interpreter():
    exe = python_command()
    assert download_command("x", "--to", "models") == f"{exe} -m bertexplore download x --to models"
    assert fetch_command("x").startswith(f"{exe} -m bertexplore download x")
    assert pack_command("classroom").startswith(f"{exe} -m bertexplore download --pack classroom")
    assert ModelUnavailable("x").command.startswith(exe + " ")


def test_the_printed_command_runs_from_the_app_folder():
    """Run as printed, offline: it gets as far as asking the hub (which the system Python never does: it stops at
    `No module named 'huggingface_hub'`)."""
    words = shlex.split(download_command("bert-base-uncased", "--dry-run"))
    done = subprocess.run(words, cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, HF_HUB_OFFLINE="1"))
    assert done.returncode == 0, done.stderr
    assert "bert-base-uncased" in done.stdout and "ModuleNotFoundError" not in done.stderr
