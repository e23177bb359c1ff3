"""Metrics (computed by scikit-learn / seqeval) against values counted by hand."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from bertexplore.finetune import metrics as m


def test_classification_metrics_by_hand():
    y_true = [0, 0, 1, 1, 2, 2]
    y_pred = [0, 1, 1, 1, 2, 0]
    assert m.accuracy(y_true, y_pred) == pytest.approx(4 / 6)
    assert (m.confusion_matrix(y_true, y_pred, 4) == [[1, 1, 0, 0], [0, 2, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]]).all()
    # per class: tp, fp, fn -> F1 = 2tp / (2tp + fp + fn); label 3 never occurs
    f1 = [2 / (2 + 1 + 1), 4 / (4 + 1 + 0), 2 / (2 + 0 + 1), 0.0]
    np.testing.assert_allclose(m.per_class_f1(y_true, y_pred, 4), f1)
    assert m.macro_f1(y_true, y_pred, 4) == pytest.approx(sum(f1[:3]) / 3)  # absent label 3 not averaged in


def test_macro_f1_ignores_labels_absent_everywhere():
    # label 2 never occurs: averaging it in as 0 would punish the model for a class the data lacks
    assert m.macro_f1([0, 0, 1, 1], [0, 0, 1, 0], 3) == pytest.approx((0.8 + 2 / 3) / 2)


def test_multilabel_f1_by_hand():
    t = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0]], dtype=bool)
    p = np.array([[1, 1, 0], [0, 1, 0], [0, 1, 0]], dtype=bool)
    got = m.multilabel_f1(t, p)
    # pooled: tp 3, fp 1, fn 1; label a: tp 1 fn 1, label b: tp 2 fp 1; label c never occurs
    assert got["micro_f1"] == pytest.approx(6 / 8)
    assert got["macro_f1"] == pytest.approx((2 / 3 + 4 / 5) / 2)
    assert got["exact_match"] == pytest.approx(1 / 3)


def test_entity_f1_counts_whole_spans():
    true = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    pred = [["B-PER", "O", "O", "B-LOC"], ["B-ORG", "O"]]  # the PER span is cut short: wrong entity
    scores = m.entity_scores(true, pred)
    assert scores["entity_precision"] == pytest.approx(2 / 3)
    assert scores["entity_recall"] == pytest.approx(2 / 3)
    assert scores["entity_f1"] == pytest.approx(2 / 3)


def test_ner_predictions_skip_ignored_positions():
    names = ["O", "B-PER", "I-PER"]
    labels = np.array([[-100, 1, 2, -100, 0, -100]])
    logits = np.full((1, 6, 3), -5.0)
    for pos, k in [(1, 1), (2, 2), (3, 0), (4, 0)]:
        logits[0, pos, k] = 5.0
    out = m.evaluate_predictions("ner", logits, labels, names, full=True)
    assert out["entity_f1"] == 1.0 and "PER" in out["per_type"]


def test_mlm_token_scores_perplexity_and_topk():
    logits = torch.zeros(1, 3, 10)
    logits[0, 0, 4] = 10.0  # confident and right
    logits[0, 1, :6] = torch.arange(6, 0, -1).float()  # true token 5 ranks 6th: outside top-5
    labels = torch.tensor([[4, 5, -100]])
    scores = m.mlm_token_scores(logits, labels).numpy()
    out = m.evaluate_predictions("mlm", scores, labels.numpy(), [])
    lp = torch.log_softmax(logits, -1)
    expected = math.exp(-(lp[0, 0, 4] + lp[0, 1, 5]).item() / 2)
    assert out["perplexity"] == pytest.approx(expected, rel=1e-5)
    assert out["top1_accuracy"] == 0.5 and out["top5_accuracy"] == 0.5 and out["masked_tokens"] == 2


def test_multilabel_threshold_half():
    logits = np.array([[3.0, -3.0], [-3.0, 3.0]])
    out = m.evaluate_predictions("multilabel", logits, np.array([[1.0, 0.0], [1.0, 1.0]]), ["a", "b"], full=True)
    assert out["micro_f1"] == pytest.approx(2 * 2 / (2 * 2 + 0 + 1))
    assert out["per_label_f1"]["b"] == 1.0
