"""AppTest of the Attention page: renders from one trace; selectors never re-run the model."""
from __future__ import annotations

import json


from app_helpers import assert_no_exception, drawn_figures, open_page
from bertexplore.figures import heatmap_values
from bertexplore.trace import forward_count

PAGE = "pages/attention.py"


def _spec(at, i: int = 0) -> dict:
    return drawn_figures(at)[i]


def test_tiny_model_heatmap_and_selectors_do_not_rerun_the_model(tiny_dir):
    at = open_page(PAGE, model=str(tiny_dir / "tiny-mlm"), attention_text="the cat sat on the mat")
    assert_no_exception(at)
    assert not at.error
    spec = _spec(at)
    assert spec["data"][0]["type"] == "heatmap"
    assert [x.replace("\u200b", "") for x in spec["data"][0]["x"]] == ["[CLS]", "the", "cat", "sat", "on", "the", "mat", "[SEP]"]
    assert spec["data"][0]["z"]["dtype"] == "f4"
    assert "Layer 1, head 1" in spec["layout"]["title"]["text"]
    before = forward_count()
    at.slider(key="attention_layer").set_value(2).run()
    at.slider(key="attention_head").set_value(4).run()
    at.toggle(key="attention_hide_special").set_value(True).run()
    at.radio(key="attention_level").set_value("words").run()
    at.selectbox(key="attention_colors").set_value("Viridis").run()
    assert_no_exception(at)
    assert forward_count() == before
    spec = _spec(at)
    assert "Layer 2, head 4" in spec["layout"]["title"]["text"]
    assert "[CLS]" not in spec["data"][0]["x"] and spec["data"][0]["colorscale"][0][1] != "#f7fbff"
    for tab in ["All heads", "Rollout", "bertviz head view", "bertviz model view"]:
        at.session_state["attention_tab"] = tab
        at.run()
        assert_no_exception(at)
        assert not at.error, tab
    assert forward_count() == before
    html = at.get("iframe")[0].proto.srcdoc
    assert "cdnjs" not in html and "define('d3'" in html


def test_all_heads_is_one_tiled_figure(tiny_dir):
    at = open_page(PAGE, model=str(tiny_dir / "tiny-mlm"), attention_text="the cat sat", attention_tab="All heads")
    assert_no_exception(at)
    charts = at.get("plotly_chart")
    assert len(charts) == 1
    spec = _spec(at)
    assert len(spec["data"]) == 1
    z = spec["data"][0]["z"]
    shape = [int(s) for s in str(z["shape"]).split(",")]
    assert shape == [2 * 6 - 1, 4 * 6 - 1]  # 2 layers x 4 heads of 5 tokens, 1-cell gaps


def test_pair_filter_and_missing_pair_message(tiny_dir):
    at = open_page(PAGE, model=str(tiny_dir / "tiny-mlm"), attention_text="the cat sat",
                   attention_pair="john lives in london", attention_filter="A → B")
    assert_no_exception(at)
    spec = _spec(at)
    assert [y.replace("\u200b", "") for y in spec["data"][0]["y"]] == ["[CLS]", "the", "cat", "sat", "[SEP]"]
    assert [x for x in spec["data"][0]["x"]] == ["john", "lives", "in", "london", "[SEP]"]
    at.text_input(key="attention_pair").set_value("").run()
    assert_no_exception(at)
    assert any("second sentence" in e.value for e in at.error)


def test_empty_text_gets_a_message(tiny_dir):
    at = open_page(PAGE, model=str(tiny_dir / "tiny-mlm"), attention_text="   ")
    assert_no_exception(at)
    assert any("empty" in e.value for e in at.error)
    assert not drawn_figures(at)


def test_long_text_is_truncated_with_notice_and_still_renders(tiny_dir):
    at = open_page(PAGE, model=str(tiny_dir / "tiny-mlm"), attention_text="the cat sat on the mat . " * 40)
    assert_no_exception(at)
    assert any("cut to 64" in i.value for i in at.info)
    assert len(_spec(at)["data"][0]["x"]) == 64


def test_packaged_minilm_default_model_at_512_tokens():
    at = open_page(PAGE, attention_text="the cat sat on the mat . " * 120)
    assert_no_exception(at)
    assert any("all-MiniLM-L6-v2" in c.value and "6 layers × 12 heads" in c.value for c in at.caption)
    assert any("cut to 512" in i.value for i in at.info)
    assert len(_spec(at)["data"][0]["x"]) == 512
    assert heatmap_values(_spec(at)["data"][0]).shape == (512, 512)
    before = forward_count()
    at.session_state["attention_tab"] = "bertviz model view"
    at.run()
    assert_no_exception(at)
    # A token window (issue 12): every layer and head of the tokens around one, not "layers 1 x heads 1".
    assert at.toggle(key="bertviz_window_model").value
    assert any("all 6 layers × 12 heads" in c.value for c in at.caption)
    assert any("Tokens " in c.value and " of 512" in c.value for c in at.caption)
    assert len(at.get("iframe")[0].proto.srcdoc) < 6_000_000
    at.toggle(key="bertviz_window_model").set_value(False).run()  # the whole input: a subset of heads, as before
    assert any("bertviz shows layers 1 × heads" in i.value for i in at.info)
    assert len(at.get("iframe")[0].proto.srcdoc) < 6_000_000
    at.session_state["attention_tab"] = "All heads"
    at.run()
    assert any("pooled" in c.value for c in at.caption)
    assert forward_count() == before


def test_export_buttons_and_png_config(tiny_dir):
    at = open_page(PAGE, model=str(tiny_dir / "tiny-mlm"), attention_text="the cat sat")
    assert_no_exception(at)
    config = json.loads(at.get("plotly_chart")[0].proto.config)
    assert config["toImageButtonOptions"]["format"] == "png"
    labels = [b.proto.label for b in at.get("download_button")]
    assert any("CSV" in l for l in labels) and any("NPZ" in l for l in labels)


def test_a_measure_is_recorded_in_the_pages_one_trace(tiny_dir):
    """Profiled before the change: a link with "Show" = a norm ran the default trace, then a second trace for the
    values and residual stream (2 forwards). The page's one trace now records them when a measure needs them."""
    before = forward_count()
    at = open_page(PAGE, model=str(tiny_dir / "tiny-mlm"), attention_text="the dog sat on the mat",
                   attention_measure="norm")
    assert_no_exception(at)
    assert not at.error
    assert forward_count() == before + 1  # one trace for the whole page, measure included
    for choice in ("alti", "norm_residual_ln", "weights", "norm"):  # switching "Show" costs the analysis only
        at.radio(key="attention_measure").set_value(choice).run()
        assert_no_exception(at)
        assert not at.error, choice
    assert forward_count() == before + 1
