"""Evaluation metrics (scikit-learn, seqeval), plus the Trainer hooks that feed them.

Classification: accuracy, macro-F1, confusion matrix. Multi-label: micro/macro-F1 at threshold 0.5.
NER: entity-level precision/recall/F1 (seqeval, conlleval-style). Masked-LM: perplexity and top-1/top-5
accuracy over the held-out masked tokens.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import sklearn.metrics as skm
import torch
from ..i18n import _
from .dataset_types import IGNORE


def accuracy(y_true, y_pred) -> float:
    return float(skm.accuracy_score(y_true, y_pred)) if len(y_true) else 0.0


def confusion_matrix(y_true, y_pred, num_labels: int) -> np.ndarray:
    """Rows: true label; columns: predicted label."""
    return skm.confusion_matrix(y_true, y_pred, labels=list(range(num_labels)))


def per_class_f1(y_true, y_pred, num_labels: int) -> np.ndarray:
    return skm.f1_score(y_true, y_pred, labels=list(range(num_labels)), average=None, zero_division=0)


def macro_f1(y_true, y_pred, num_labels: int) -> float:
    """Mean F1 over the labels that occur in the truth or the predictions (absent labels would count as 0)."""
    if not len(y_true):
        return 0.0
    return float(skm.f1_score(y_true, y_pred, average="macro", zero_division=0))


def multilabel_f1(y_true, y_pred) -> dict[str, float]:
    """Micro- and macro-F1 over a [examples, labels] 0/1 matrix (macro over labels that occur anywhere)."""
    t, p = np.asarray(y_true).astype(bool), np.asarray(y_pred).astype(bool)
    present = (t.sum(0) + p.sum(0)) > 0
    macro = float(skm.f1_score(t[:, present], p[:, present], average="macro", zero_division=0)) if present.any() else 0.0
    return {"micro_f1": float(skm.f1_score(t, p, average="micro", zero_division=0)), "macro_f1": macro,
            "exact_match": float(skm.accuracy_score(t, p))}


def entity_scores(true_tags: list[list[str]], pred_tags: list[list[str]]) -> dict[str, float]:
    """Entity-level precision, recall and F1: an entity counts only when its span and type are both right."""
    from seqeval.metrics import f1_score, precision_score, recall_score

    return {
        "entity_f1": float(f1_score(true_tags, pred_tags, zero_division=0)),
        "entity_precision": float(precision_score(true_tags, pred_tags, zero_division=0)),
        "entity_recall": float(recall_score(true_tags, pred_tags, zero_division=0)),
    }


def entity_report(true_tags: list[list[str]], pred_tags: list[list[str]]) -> dict[str, dict[str, float]]:
    from seqeval.metrics import classification_report

    report = classification_report(true_tags, pred_tags, output_dict=True, zero_division=0)
    return {k: {m: float(v) for m, v in row.items()} for k, row in report.items()}


def perplexity(mean_nll: float) -> float:
    return float(math.exp(min(mean_nll, 700.0)))


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _aligned_tags(logits: np.ndarray, labels: np.ndarray, names: list[str]) -> tuple[list[list[str]], list[list[str]]]:
    pred = logits.argmax(-1)
    true_tags, pred_tags = [], []
    for p_row, l_row in zip(pred, labels):
        keep = l_row != IGNORE
        true_tags.append([names[i] for i in l_row[keep]])
        pred_tags.append([names[i] for i in p_row[keep]])
    return true_tags, pred_tags


def mlm_token_scores(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """[batch, tokens, 3]: log-prob of the true token, top-1 hit, top-5 hit. Keeps [B,T,vocab] logits out of memory."""
    log_probs = torch.log_softmax(logits.float(), dim=-1)
    safe = labels.clamp(min=0)
    true_lp = log_probs.gather(-1, safe.unsqueeze(-1)).squeeze(-1)
    top5 = log_probs.topk(5, dim=-1).indices
    hit5 = (top5 == safe.unsqueeze(-1)).any(-1).float()
    hit1 = (top5[..., 0] == safe).float()
    return torch.stack([true_lp, hit1, hit5], dim=-1)


def evaluate_predictions(task: str, predictions: np.ndarray, labels: np.ndarray, names: list[str],
                         full: bool = False) -> dict[str, Any]:
    """Metrics for one task from the model outputs on the validation set; `full` adds tables (confusion matrix...)."""
    predictions = np.asarray(predictions)
    labels = np.asarray(labels)
    if task == "classification":
        pred = predictions.argmax(-1)
        out: dict[str, Any] = {"accuracy": accuracy(labels, pred), "macro_f1": macro_f1(labels, pred, len(names))}
        if full:
            out["confusion_matrix"] = confusion_matrix(labels, pred, len(names)).tolist()
            out["per_class_f1"] = dict(zip(names, per_class_f1(labels, pred, len(names)).round(4).tolist()))
        return out
    if task == "multilabel":
        pred = sigmoid(predictions) >= 0.5
        out = multilabel_f1(labels >= 0.5, pred)
        if full:
            per_label = skm.f1_score(labels >= 0.5, pred, average=None, zero_division=0)
            out["per_label_f1"] = dict(zip(names, np.asarray(per_label).round(4).tolist()))
        return out
    if task == "ner":
        true_tags, pred_tags = _aligned_tags(predictions, labels, names)
        out = entity_scores(true_tags, pred_tags)
        if full:
            out["per_type"] = entity_report(true_tags, pred_tags)
        return out
    if task == "mlm":
        # predictions: [N, T, 3] from mlm_token_scores; padded rows hold IGNORE labels.
        keep = labels != IGNORE
        if not keep.any():
            return {"perplexity": float("nan"), "top1_accuracy": 0.0, "top5_accuracy": 0.0, "masked_tokens": 0}
        scores = predictions[keep]
        return {
            "perplexity": perplexity(float(-scores[:, 0].mean())),
            "top1_accuracy": float(scores[:, 1].mean()),
            "top5_accuracy": float(scores[:, 2].mean()),
            "masked_tokens": int(keep.sum()),
        }
    raise ValueError(_("unknown task {task!r}").format(task=task))


def trainer_hooks(task: str, names: list[str]) -> tuple[Callable, Callable | None]:
    """(compute_metrics, preprocess_logits_for_metrics) for transformers.Trainer."""

    def compute_metrics(prediction) -> dict[str, float]:
        preds = prediction.predictions[0] if isinstance(prediction.predictions, tuple) else prediction.predictions
        return evaluate_predictions(task, preds, prediction.label_ids, names)

    preprocess = None
    if task == "mlm":
        def preprocess(logits, labels):  # noqa: E306 - runs per batch, before predictions are gathered
            if isinstance(logits, tuple):
                logits = logits[0]
            return mlm_token_scores(logits, labels)
    return compute_metrics, preprocess
