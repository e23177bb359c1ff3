from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# The repository root is on sys.path through pyproject's pytest `pythonpath`; this folder (tiny.py, families.py)
# through pytest's rootdir conftest import.
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach the hub, and must not wait for it
# The tests' tiny checkpoints live in pytest's temporary folders: the operator's allow-list names them
# (bertexplore.registry.allowed_dirs); tests of the refusal set their own narrower list.
os.environ.setdefault("BERTEXPLORE_ALLOWED_DIRS", tempfile.gettempdir())

from tiny import make_tiny_model  # noqa: E402


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory) -> Path:
    """A folder of tiny random checkpoints, one per head, built once per test session."""
    from transformers import (BertForMaskedLM, BertForPreTraining, BertForQuestionAnswering,
                              BertForSequenceClassification, BertForTokenClassification, BertModel)
    root = tmp_path_factory.mktemp("tiny-models")
    make_tiny_model(root / "tiny-mlm", BertForMaskedLM)
    make_tiny_model(root / "tiny-base", BertModel)
    make_tiny_model(root / "tiny-pretraining", BertForPreTraining)
    make_tiny_model(root / "tiny-cls", BertForSequenceClassification, num_labels=2,
                    id2label={0: "NEGATIVE", 1: "POSITIVE"}, label2id={"NEGATIVE": 0, "POSITIVE": 1})
    make_tiny_model(root / "tiny-ner", BertForTokenClassification, num_labels=5,
                    id2label={0: "O", 1: "B-PER", 2: "I-PER", 3: "B-LOC", 4: "I-LOC"},
                    label2id={"O": 0, "B-PER": 1, "I-PER": 2, "B-LOC": 3, "I-LOC": 4})
    make_tiny_model(root / "tiny-qa", BertForQuestionAnswering)
    return root


@pytest.fixture(scope="session")
def tiny_mlm(tiny_dir):
    from bertexplore.loading import load_model
    return load_model(str(tiny_dir / "tiny-mlm"), head="mlm", device="cpu")


@pytest.fixture(scope="session")
def minilm():
    from bertexplore.loading import load_model
    from bertexplore.registry import OFFLINE_MODEL
    return load_model(OFFLINE_MODEL, head="mlm", device="cpu")
