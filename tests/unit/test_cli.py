from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_download_offline_fails_clearly_and_fast():
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    proc = subprocess.run([sys.executable, "-m", "bertexplore", "download", "bert-base-uncased", "--to", "models-x"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "bert-base-uncased: not downloaded" in proc.stderr and "offline" in proc.stderr.lower()
    assert not (ROOT / "models-x").exists()


def test_engine_never_imports_streamlit():
    code = "import sys, bertexplore.trace, bertexplore.loading, bertexplore.tokens; print('streamlit' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "False", out.stderr
