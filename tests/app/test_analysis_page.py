"""AppTest of the Analysis lab (every view) and of the Attention page's "weight vs what moved" selector."""
from __future__ import annotations

import json

import numpy as np
import pytest

from app_helpers import assert_no_exception, open_page
from bertexplore.analysis.alti import alti
from bertexplore.analysis.measures import measure
from bertexplore.trace import forward_count, run_trace

PAGE = "pages/analysis.py"
TEXT = "the cat sat on the [MASK] ."


def _specs(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def _open(tiny_dir, tab: str | None = None, model: str = "tiny-mlm", **state):
    if tab:
        state["an_tab"] = tab
    return open_page(PAGE, model=str(tiny_dir / model), an_text=TEXT, **state)


def test_contribution_graph_draws_and_sliders_do_not_rerun_the_model(tiny_dir):
    at = _open(tiny_dir)
    assert_no_exception(at)
    assert not at.error
    spec = _specs(at)[0]
    nodes = [t for t in spec["data"] if t.get("mode") == "markers+text"][0]
    assert "[MASK]" in nodes["text"]
    before = forward_count()
    at.slider(key="an_graph_threshold").set_value(0.2).run()
    n_high = len(_specs(at)[0]["data"][-1]["text"])
    at.slider(key="an_graph_threshold").set_value(0.0).run()
    n_low = len(_specs(at)[0]["data"][-1]["text"])
    assert n_low > n_high
    options = at.selectbox(key="an_graph_node").options
    at.selectbox(key="an_graph_node").set_value(options[-1]).run()
    assert_no_exception(at)
    assert len(at.dataframe) >= 2  # the node's sources and heads
    assert forward_count() == before


def test_logit_lens_tab(tiny_dir):
    at = _open(tiny_dir, "Logit lens")
    assert_no_exception(at)
    assert not at.error
    spec = _specs(at)[0]
    assert len(spec["data"][0]["x"]["bdata"] if isinstance(spec["data"][0]["x"], dict) else spec["data"][0]["x"]) > 0
    at.radio(key="an_lens_head").set_value("sequence-classification").run()
    assert_no_exception(at)
    # The mlm checkpoint has no classifier: ONE message saying so, and no lens drawn from random classifier weights.
    said = [m.value for m in list(at.error) + list(at.warning) + list(at.info) if "classifier" in m.value]
    assert len(said) == 1, said
    assert not _specs(at)


def test_head_census_tab(tiny_dir):
    at = _open(tiny_dir, "Head census")
    assert_no_exception(at)
    assert not at.error
    before = forward_count()
    at.radio(key="an_census_scope").set_value("set").run()
    assert forward_count() == before + 1  # the whole bundled set in one batch
    at.selectbox(key="an_census_stat").set_value("entropy").run()
    assert forward_count() == before + 1
    assert_no_exception(at)
    assert "entropy" in _specs(at)[0]["layout"]["title"]["text"]


def test_head_importance_tab(tiny_dir):
    at = _open(tiny_dir, "Head importance")
    assert_no_exception(at)
    assert not at.error
    assert len(_specs(at)) == 1
    at.button(key="an_scan_run").click().run()
    assert_no_exception(at)
    specs = _specs(at)
    assert len(specs) == 3 and "Spearman" in specs[2]["layout"]["title"]["text"]


def test_projector_tab(tiny_dir):
    at = _open(tiny_dir, "Projector", an_proj_text="the cat sat\nthe dog sat\nparis is a city")
    assert_no_exception(at)
    assert not at.error
    before = forward_count()
    at.slider(key="an_proj_layer").set_value(0).run()
    at.radio(key="an_proj_unit").set_value("mean").run()
    assert forward_count() == before
    assert_no_exception(at)


def test_two_models_tab(tiny_dir):
    at = _open(tiny_dir, "Two models", an_other=str(tiny_dir / "tiny-pretraining"))
    assert_no_exception(at)
    assert not at.error
    assert len(_specs(at)) == 3  # one heatmap per model and the census difference


def test_bad_input_is_a_message(tiny_dir):
    at = open_page(PAGE, model=str(tiny_dir / "tiny-mlm"), an_text="   ", an_tab="Head importance")
    assert_no_exception(at)
    assert at.error


@pytest.mark.parametrize("choice", ["norm", "norm_residual_ln", "alti"])
def test_attention_page_selector_shows_the_measure(tiny_dir, tiny_mlm, choice):
    text = "the cat sat on the mat"
    at = open_page("pages/attention.py", model=str(tiny_dir / "tiny-mlm"), attention_text=text,
                   attention_measure=choice)
    assert_no_exception(at)
    assert not at.error
    spec = _specs(at)[0]
    z = np.frombuffer(__import__("base64").b64decode(spec["data"][0]["z"]["bdata"]), dtype=np.float32)
    expected = measure(run_trace(tiny_mlm, text), tiny_mlm, choice).attentions[0, 0]
    np.testing.assert_allclose(z.reshape(expected.shape), expected, rtol=1e-4, atol=1e-5)
    if choice == "alti":
        np.testing.assert_allclose(expected, alti(run_trace(tiny_mlm, text), tiny_mlm)[0], atol=1e-6)
    before = forward_count()
    for tab in ["All heads", "Rollout"]:
        at.session_state["attention_tab"] = tab
        at.run()
        assert_no_exception(at)
        assert not at.error
    assert forward_count() == before
