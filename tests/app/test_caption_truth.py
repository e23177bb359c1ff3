"""Every number in a heatmap caption is the drawn matrix's: for each attention measure, the caption under the
Attention page's heatmap and rollout is read back and recomputed from the figure's own z values (the plotly spec
Streamlit sends), so a caption can no longer quote a head or a measure that is not on screen."""
from __future__ import annotations

import base64
import json
import re

import numpy as np
import pytest

from app_helpers import assert_no_exception, open_page
from bertexplore.analysis.measures import MEASURES

PAGE = "pages/attention.py"
NUMBER = r"(-?\d+(?:\.\d+)?)"
SPECIAL = {"[CLS]", "[SEP]"}


def _z(trace: dict) -> np.ndarray:
    z = trace["z"]
    if isinstance(z, dict):  # plotly's typed array: base64 of float32 values
        shape = [int(s) for s in str(z["shape"]).split(",")]
        return np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"]).reshape(shape).astype(np.float64)
    return np.asarray(z, dtype=np.float64)


def _caption(at) -> str:
    found = [c.value for c in at.caption if c.value.startswith("Drawn matrix")]
    assert len(found) == 1, [c.value for c in at.caption]
    return found[0]


def _check(caption: str, spec: dict) -> None:
    trace = spec["data"][0]
    z = _z(trace)
    columns = [str(x).replace("\u200b", "") for x in trace["x"]]
    rows, cols = (int(v) for v in re.search(r"(\d+) × (\d+)", caption).groups())
    assert (rows, cols) == z.shape
    low, high = (float(v) for v in re.search(rf"row sums {NUMBER} to {NUMBER}", caption).groups())
    sums = z.sum(axis=1)
    assert low == pytest.approx(sums.min(), abs=0.006) and high == pytest.approx(sums.max(), abs=0.006)
    entropy = re.search(rf"mean row entropy {NUMBER} nats \(at most {NUMBER}\)", caption)
    if np.allclose(sums, 1.0, atol=5e-3):
        assert entropy, caption  # rows that are shares: the entropy is quoted...
        p = np.clip(z, 1e-12, None)
        assert float(entropy.group(1)) == pytest.approx(-(z * np.log(p)).sum(axis=1).mean(), abs=0.006)
        assert float(entropy.group(2)) == pytest.approx(np.log(cols), abs=0.006)
    else:
        assert entropy is None, caption  # ...and only then
    special = np.array([c in SPECIAL for c in columns])
    share = re.search(r"on average (\d+)% of a row lands on \[CLS\]/\[SEP\]", caption)
    if special.any():
        live = sums > 0
        expected = (z[live][:, special].sum(axis=1) / sums[live]).mean()
        assert int(share.group(1)) == pytest.approx(100 * expected, abs=0.51)
    else:
        assert share is None


@pytest.mark.parametrize("measure", list(MEASURES))
@pytest.mark.parametrize("settings", [
    {}, {"attention_layer": 2, "attention_head": 3}, {"attention_avg": True},
    {"attention_hide_special": True, "attention_renorm": False}, {"attention_level": "words"},
])
def test_heatmap_caption_is_the_drawn_matrix(tiny_dir, measure, settings):
    at = open_page(PAGE, model=str(tiny_dir / "tiny-mlm"), attention_text="the cat sat on the mat",
                   attention_measure=measure, **settings)
    assert_no_exception(at)
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    _check(_caption(at), spec)
    if measure in ("alti", "norm_residual_ln"):
        assert "all heads together" in spec["layout"]["title"]["text"]


@pytest.mark.parametrize("measure", list(MEASURES))
def test_rollout_caption_and_explanation_match_the_measure(tiny_dir, measure):
    at = open_page(PAGE, model=str(tiny_dir / "tiny-mlm"), attention_text="the cat sat on the mat",
                   attention_measure=measure, attention_tab="Rollout", attention_layer=2)
    assert_no_exception(at)
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    _check(_caption(at), spec)
    explanation = " ".join(m.value for m in at.markdown)
    assert ("0.5·I added" in explanation) == (measure in ("weights", "norm"))


@pytest.mark.parametrize("measure", ["alti", "norm_residual_ln"])
def test_all_heads_under_a_per_layer_measure_shows_one_tile_per_layer(tiny_dir, measure):
    at = open_page(PAGE, model=str(tiny_dir / "tiny-mlm"), attention_text="the cat sat",
                   attention_measure=measure, attention_tab="All heads")
    assert_no_exception(at)
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    z = _z(spec["data"][0])
    assert z.shape == (5, 2 * 6 - 1)  # one row of 2 layers' 5x5 matrices, one NaN column between them
    assert spec["layout"]["xaxis"]["ticktext"] == ["L1", "L2"]
    assert not np.allclose(z[:, :5], z[:, 6:])  # the two layers' own matrices
    assert any("one matrix per layer" in c.value.lower() for c in at.caption)


@pytest.mark.parametrize("tab", ["bertviz head view", "bertviz model view"])
def test_bertviz_says_it_draws_raw_weights(tiny_dir, tab):
    at = open_page(PAGE, model=str(tiny_dir / "tiny-mlm"), attention_text="the cat sat",
                   attention_measure="alti", attention_tab=tab)
    assert_no_exception(at)
    assert any("raw attention weights" in i.value for i in at.info)
