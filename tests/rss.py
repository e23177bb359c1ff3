"""Memory tests run their scenario in a fresh Python process and read its resident set size (issue 18)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

RSS_HELPER = '''
def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
'''


def run_child(code: str, timeout: float = 240, env: dict | None = None) -> dict:
    """Run `code` (which prints one JSON line last) in a new interpreter; return that JSON.

    Bounded in time: a child that hangs fails the test after `timeout` seconds instead of stalling the suite.
    """
    full_env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=f"{ROOT}{os.pathsep}{ROOT / 'tests'}",
                    TOKENIZERS_PARALLELISM="false", **(env or {}))
    out = subprocess.run([sys.executable, "-c", RSS_HELPER + textwrap.dedent(code)], cwd=ROOT, env=full_env,
                         capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stderr[-4000:]
    return json.loads(out.stdout.strip().splitlines()[-1])
