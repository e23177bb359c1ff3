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
    # Ticks at powers of ten, written out: not plotly's "5, 2, 10k, 5, 2, 1000" with minor 2s and 5s.
    assert fig.layout.yaxis.dtick == 1 and fig.layout.yaxis.tickformat == ",d"


def test_status_line_says_what_the_job_does_once():
    from ui.finetune_view import status_line

    def snap(status, phase):
        return Snapshot(status, phase, 3, 40, 0.5, [], [], 12.0, None, None)

    assert status_line(snap("running", "Training")).startswith("**Training** · step 3 of 40")
    assert status_line(snap("running", "Training")).count("Training") == 1
    assert status_line(snap("running", "Measuring the model before training")).startswith(
        "**Measuring the model before training** · step")
    assert status_line(snap("stopping", "Training")).startswith("**Stopping** · step")
    done = status_line(snap("finished", "Done"))
    assert done.startswith("**Finished** · step") and "Done" not in done


def test_counts_name_their_unit():
    from bertexplore.finetune.pretraining import PretrainingData
    from bertexplore.finetune.qa import QAData
    from ui.finetune_view import data_summary

    docs = PretrainingData([["a.", "b."]] * 3)
    assert data_summary(docs, docs.subset([0])) == ("3 training and 1 validation paragraphs (the sentence pairs are "
                                                     "drawn from them)")
    qa = QAData(["q?"] * 2, ["c"] * 2, [("c", 0)] * 2)
    assert data_summary(qa, qa) == "2 training and 2 validation questions"
