"""Sequence classification: reading the logits as the checkpoint was trained, labels, checkpoint discovery."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from transformers import BertForSequenceClassification

from bertexplore.download import download_command
from bertexplore.errors import InputError, UnsupportedModel
from bertexplore.loading import load_model
from bertexplore.tasks import checkpoints
from bertexplore.tasks.classify import classify, predicted_labels, problem_mode, scores_from_logits
from bertexplore.tasks.labels import label_names
from bertexplore.trace import model_inputs
from tiny import make_tiny_model


def test_problem_mode():
    assert problem_mode(SimpleNamespace(problem_type=None), 2) == "single-label"
    assert problem_mode(SimpleNamespace(problem_type="single_label_classification"), 3) == "single-label"
    assert problem_mode(SimpleNamespace(problem_type="multi_label_classification"), 3) == "multi-label"
    assert problem_mode(SimpleNamespace(problem_type=None), 1) == "regression"


def test_softmax_and_sigmoid():
    logits = np.array([2.0, 0.0, -1.0])
    soft = scores_from_logits(logits, "single-label")
    assert soft.sum() == pytest.approx(1.0)
    assert soft[0] == pytest.approx(np.exp(2) / np.exp(logits).sum(), rel=1e-6)
    sig = scores_from_logits(logits, "multi-label")
    np.testing.assert_allclose(sig, 1 / (1 + np.exp(-logits)), rtol=1e-6)
    assert predicted_labels(soft, "single-label") == (0,)
    assert predicted_labels(sig, "multi-label", [0.9, 0.5, 0.2]) == (1, 2)  # 0.88 < 0.9; 0.5 >= 0.5; 0.27 >= 0.2
    with pytest.raises(InputError, match="between 0 and 1"):
        predicted_labels(sig, "multi-label", [1.5, 0.5, 0.5])
    with pytest.raises(InputError, match="one threshold per label"):
        predicted_labels(sig, "multi-label", [0.5])


def test_label_index_missing_from_id2label():
    names, notices = label_names(SimpleNamespace(id2label={"0": "NEG", 2: "POS"}), 3)
    assert names == ["NEG", "LABEL_1", "POS"]
    assert len(notices) == 1 and "index 1" in notices[0]
    names, notices = label_names(SimpleNamespace(id2label={0: "NEG", 5: "POS"}), 2)
    assert names == ["NEG", "LABEL_1"]
    assert "index 1" in notices[0] and "5 (POS)" in notices[1]
    assert label_names(SimpleNamespace(id2label={0: "A", 1: "B"}), 2) == (["A", "B"], [])


def test_classify_matches_a_manual_forward(tiny_dir):
    loaded = load_model(str(tiny_dir / "tiny-cls"), head="sequence-classification", device="cpu")
    res = classify(loaded, "this movie was good")
    assert res.labels == ("NEGATIVE", "POSITIVE")
    assert res.mode == "single-label"
    with torch.no_grad():
        logits = loaded.model(**model_inputs(loaded, res.inputs.input_ids, res.inputs.segment_ids)).logits[0]
    np.testing.assert_allclose(res.logits, logits.numpy(), rtol=1e-5)
    np.testing.assert_allclose(res.scores, torch.softmax(logits, -1).numpy(), rtol=1e-5)
    assert res.predicted == (int(logits.argmax()),)
    assert [r["label"] for r in res.rows()] == ["NEGATIVE", "POSITIVE"]


def test_multi_label_checkpoint_uses_sigmoid(tmp_path):
    folder = make_tiny_model(tmp_path / "multi", BertForSequenceClassification, num_labels=3,
                             problem_type="multi_label_classification", initializer_range=0.5,
                             id2label={0: "sports", 1: "politics", 2: "tech"},
                             label2id={"sports": 0, "politics": 1, "tech": 2})
    loaded = load_model(str(folder), head="sequence-classification", device="cpu")
    res = classify(loaded, "the city was great", thresholds=[0.0, 1.0, 0.5])
    assert res.mode == "multi-label"
    np.testing.assert_allclose(res.scores, 1 / (1 + np.exp(-res.logits.astype(np.float64))), rtol=1e-5)
    assert res.scores.sum() != pytest.approx(1.0)
    assert 0 in res.predicted and 1 not in res.predicted
    assert (2 in res.predicted) == (res.scores[2] >= 0.5)
    assert "sigmoid" in res.explanation


def test_models_without_a_classifier_are_explained(tiny_dir):
    base = load_model(str(tiny_dir / "tiny-base"), head="sequence-classification", device="cpu")
    with pytest.raises(UnsupportedModel, match="plain encoder"):
        classify(base, "hello")
    from bertexplore.registry import OFFLINE_MODEL
    packaged = SimpleNamespace(name=OFFLINE_MODEL)  # the packaged model is explained by name, before any check
    problem = checkpoints.head_problem(packaged, "sequence-classification")
    assert "no sequence classification head" in problem and "Fine-tune page" in problem


def test_local_checkpoints_found_by_architecture(tiny_dir, monkeypatch):
    monkeypatch.setenv("BERTEXPLORE_MODELS_DIR", str(tiny_dir))
    assert checkpoints.local_checkpoints("sequence-classification") == ["tiny-cls"]
    assert checkpoints.local_checkpoints("token-classification") == ["tiny-ner"]
    assert checkpoints.local_checkpoints("question-answering") == ["tiny-qa"]
    assert checkpoints.local_checkpoints("pretraining") == ["tiny-pretraining"]
    choices = checkpoints.choices("question-answering")
    assert choices[0] == "tiny-qa"
    assert "deepset/bert-base-cased-squad2" in choices and "distilbert-base-cased-distilled-squad" in choices
    # the app's own Python (the system one lacks torch), as download_command writes it
    assert checkpoints.fetch_command("dslim/bert-base-NER").endswith(
        "python -m bertexplore download dslim/bert-base-NER --to models")
    assert checkpoints.fetch_command("dslim/bert-base-NER") == download_command("dslim/bert-base-NER", "--to", "models")


def test_empty_text_is_refused(tiny_dir):
    loaded = load_model(str(tiny_dir / "tiny-cls"), head="sequence-classification", device="cpu")
    with pytest.raises(InputError, match="empty"):
        classify(loaded, " \t ")
