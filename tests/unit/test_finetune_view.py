"""The validation curve's axes: a bounded metric is drawn on 0..1 from its first point (plotly centred a lone
point at 0 on -1..1, showing a negative F1)."""
from __future__ import annotations

import pytest

from bertexplore.finetune.job import Snapshot
from ui.finetune_view import MAIN_METRIC, METRIC_NAMES, metric_figure


def _snap(evals, total=40):
    return Snapshot("running", "Training", 0, total, 0.0, [], evals, 0.0, None, None)


@pytest.mark.parametrize("task", ["classification", "multilabel", "ner", "pretraining", "qa"])
def test_first_point_of_a_bounded_metric_sits_on_a_zero_to_one_axis(task):
    fig = metric_figure(_snap([(0, {MAIN_METRIC[task]: 0.0})]), task)
    assert tuple(fig.layout.yaxis.range) == (-0.02, 1.02)
    assert tuple(fig.layout.xaxis.range) == (0, 40)
    assert METRIC_NAMES[MAIN_METRIC[task]] in fig.layout.title.text


def test_perplexity_keeps_its_own_scale():
    fig = metric_figure(_snap([(0, {"perplexity": 40000.0}), (20, {"perplexity": 300.0})]), "mlm")
    assert fig.layout.yaxis.type == "log" and fig.layout.yaxis.range is None
