"""Inside BERT figures: checkpoint text is shown literally, repeated tokens stay apart, CSV holds the numbers."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd

from bertexplore.inside import figures as F

EVIL = '<a href="http://evil.example/">x</a>'


def test_labels_and_titles_are_escaped_and_csv_keeps_the_raw_numbers():
    chart = F.bar_chart("probe", "Top predictions at " + EVIL, [EVIL, "the", "the"], [0.5, 0.25, 0.25], "probability")
    x = list(chart.fig.data[0].x)
    assert all("<a" not in label for label in x) and x[0].startswith("&lt;a")
    assert len(set(x)) == 3  # two "the" kept apart
    assert "<a" not in chart.fig.layout.title.text
    data = pd.read_csv(io.BytesIO(chart.csv()))
    assert data["label"].tolist()[0] == EVIL and np.allclose(data["probability"], [0.5, 0.25, 0.25])


def test_heatmap_strips_and_side_by_side_export_every_value():
    z = np.arange(6, dtype=np.float32).reshape(2, 3)
    chart = F.heatmap_chart("h", "t", z, ["a", "b", EVIL], ["r1", "r2"])
    assert all("<a" not in v for v in chart.fig.data[0].x)
    assert np.array_equal(chart.data.iloc[:, 1:].to_numpy(), z)
    strips = F.strips_chart(["[CLS]", "hi"], [("word", np.ones((2, 4))), ("sum", np.zeros((2, 4)))])
    assert len(strips.fig.data) == 2 and len(strips.data) == 4 and list(strips.data.columns[-4:]) == ["d0", "d1", "d2", "d3"]
    both = F.side_by_side("s", "t", [("real", np.eye(2)), ("causal", np.tril(np.ones((2, 2))) / 2)], ["a", "b"])
    assert len(both.fig.data) == 2 and len(both.data) == 4
