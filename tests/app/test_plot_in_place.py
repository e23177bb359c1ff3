"""Large figures go to the in-place plot (ui/plot_in_place), small ones to st.plotly_chart; what the browser
receives is the figure the engine built, values included."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch
from streamlit.testing.v1 import AppTest

from app_helpers import assert_no_exception, drawn_figures, open_page
from bertexplore.figures import export_config, heatmap_values
from ui.plot_in_place import COMPONENT_NAME, IN_PLACE_CELLS, figure_payload, plotly_module_url, read_payload

TEXT = "the cat sat on the mat . " * 120  # cut to 512 tokens


def test_payload_carries_the_figure_config_and_streamlits_plotly_module():
    z = np.arange(12, dtype=np.float32).reshape(3, 4) / 11
    fig = go.Figure(go.Heatmap(z=z, x=list("abcd"), y=list("xyz")))
    fig.update_layout(title="Layer 1, head 2")
    config = export_config("Layer 1, head 2")
    payload = json.loads(figure_payload(fig, config))
    assert payload["config"] == config
    assert read_payload(figure_payload(fig, config)) == json.loads(fig.to_json())
    np.testing.assert_array_equal(heatmap_values(payload["figure"]["data"][0]), z)
    # the module the browser imports when no chart has loaded plotly yet is a file Streamlit serves
    module = Path(st.__file__).parent / "static" / plotly_module_url()
    assert module.is_file() and "window.Plotly=" in module.read_text(encoding="utf-8", errors="ignore")


def _script(cells_side: int) -> str:
    return f"""
import numpy as np, plotly.graph_objects as go
from ui.plot_in_place import plotly_figure
z = np.full(({cells_side}, {cells_side}), 0.5, dtype=np.float32)
plotly_figure(go.Figure(go.Heatmap(z=z)), key="fig", config={{"displaylogo": False}})
"""


def test_small_figures_stay_with_plotly_chart_and_large_ones_go_in_place():
    side = int(IN_PLACE_CELLS ** 0.5)
    small = AppTest.from_string(_script(side - 1)).run()
    assert len(small.get("plotly_chart")) == 1 and not small.get("bidi_component")
    large = AppTest.from_string(_script(side)).run()
    assert_no_exception(large)
    assert not large.get("plotly_chart")
    (element,) = large.get("bidi_component")
    assert element.proto.component_name == COMPONENT_NAME
    assert heatmap_values(read_payload(element.proto.bytes)["data"][0]).shape == (side, side)


def test_a_512_token_heatmap_is_drawn_in_place_with_transformers_own_attention():
    from transformers import AutoModel, AutoTokenizer

    from bertexplore.registry import packaged_model_dir

    at = open_page("pages/attention.py", attention_text=TEXT)
    assert_no_exception(at)
    assert not at.get("plotly_chart")  # the heatmap tab's only figure went in place
    spec = drawn_figures(at)[0]
    drawn = heatmap_values(spec["data"][0])
    assert drawn.shape == (512, 512)
    source = packaged_model_dir()
    tokenizer = AutoTokenizer.from_pretrained(source)
    model = AutoModel.from_pretrained(source, attn_implementation="eager").eval()
    enc = tokenizer(TEXT, truncation=True, max_length=512, return_tensors="pt")
    with torch.no_grad():
        expected = model(**enc, output_attentions=True).attentions[0][0, 0].numpy()  # layer 1, head 1
    np.testing.assert_allclose(drawn, expected, atol=1e-5)
    assert "Layer 1, head 1" in spec["layout"]["title"]["text"]
    at.slider(key="attention_layer").set_value(3).run()
    spec = drawn_figures(at)[0]
    assert "Layer 3, head 1" in spec["layout"]["title"]["text"]
    assert len(at.get("bidi_component")) == 1  # one in-place chart, under its key


def test_without_streamlits_plotly_module_large_figures_fall_back_to_plotly_chart(monkeypatch):
    import ui.plot_in_place as in_place

    monkeypatch.setattr(in_place, "plotly_module_url", lambda: None)
    at = AppTest.from_string(_script(int(IN_PLACE_CELLS ** 0.5) + 1)).run()
    assert_no_exception(at)
    assert len(at.get("plotly_chart")) == 1 and not at.get("bidi_component")


def test_cells_are_counted_from_the_figures_matrices_when_not_given():
    from ui.plot_in_place import cells_of

    fig = go.Figure([go.Heatmap(z=np.zeros((3, 4))), go.Scatter(x=[1, 2], y=[3, 4]), go.Heatmap(z=[[1, 2]])])
    assert cells_of(fig) == 14
    assert cells_of(go.Figure(go.Image(source="data:image/png;base64,", customdata=np.zeros((5, 6))))) == 30
    side = int(IN_PLACE_CELLS ** 0.5)
    at = AppTest.from_string(f"""
import numpy as np, plotly.graph_objects as go
from ui.plot_in_place import plotly_figure
plotly_figure(go.Figure(go.Heatmap(z=np.zeros(({side}, {side}), dtype=np.float32))), key="fig")
""").run()
    assert_no_exception(at)
    assert len(at.get("bidi_component")) == 1 and not at.get("plotly_chart")
