"""Checkpoint inspection sits below the registry: importing the registry pulls in no task module, and the one
architecture table answers both the task pickers and Inside BERT."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from bertexplore.checkpoint_heads import ARCHITECTURE_ENDINGS, head_for_architectures
from bertexplore.tasks.checkpoints import HEAD_ARCHITECTURES

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    """Every module a file imports, lazily inside functions included (relative names as written)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            found.add("." * node.level + (node.module or ""))
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_registry_and_checkpoint_heads_import_nothing_above_them():
    assert not any("tasks" in name or "loading" in name for name in _imports(ROOT / "bertexplore" / "registry.py"))
    assert _imports(ROOT / "bertexplore" / "checkpoint_heads.py") <= {"__future__", "json", "struct", "pathlib"}
    code = "import sys, bertexplore.registry; print(any(m.startswith('bertexplore.tasks') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"


def test_one_architecture_table():
    assert HEAD_ARCHITECTURES == {h: e for h, e in ARCHITECTURE_ENDINGS.items() if h != "mlm"}
    assert head_for_architectures(["BertForNextSentencePrediction"]) == "pretraining"
    assert head_for_architectures(["RobertaForMaskedLM"]) == "mlm"
    assert head_for_architectures(["BertModel"]) == "base"
