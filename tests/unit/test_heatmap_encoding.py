"""The image encoding of the attention figures (bertexplore/figures.py, image=True): a PNG image trace plus the
float32 matrix as customdata.

The picture is decoded with Pillow (an independent PNG reader) and its colours compared with plotly's own colour
scale evaluated cell by cell; the matrix is read back from the JSON spec the browser receives.
"""
from __future__ import annotations

import base64
import html
import io
import json

import numpy as np
import plotly.colors as pcolors
import pytest
from PIL import Image

from bertexplore import attention as A
from bertexplore.figures import grid_figure, heatmap_figure, heatmap_values, png_bytes

N = 130


def _spec(fig) -> dict:
    return json.loads(fig.to_json())


def _picture(trace: dict) -> np.ndarray:
    head, data = trace["source"].split(",", 1)
    assert head == "data:image/png;base64"
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))))


def _view(n: int, labels: tuple[str, ...] | None = None, seed: int = 0) -> A.AttentionView:
    rng = np.random.default_rng(seed)
    m = rng.random((n, n)).astype(np.float32) ** 4
    m /= m.sum(1, keepdims=True)
    labels = labels or tuple(f"w{i}" for i in range(n))
    units = A.Units(labels, (0,) * n, (False,) * n, tuple((i,) for i in range(n)))
    return A.AttentionView(m, units, units, "Layer 1, head 1", ())


def _plotly_rgb(colorscale: str, fraction: float) -> np.ndarray:
    colour = pcolors.sample_colorscale(pcolors.get_colorscale(colorscale), [fraction])[0]
    return np.array([float(v) for v in colour[colour.index("(") + 1:-1].split(",")])


def test_heatmap_trace_by_default_image_on_request():
    assert [t["type"] for t in _spec(heatmap_figure(_view(N)))["data"]] == ["heatmap"]
    assert [t["type"] for t in _spec(heatmap_figure(_view(N), image=True))["data"]] == ["image", "scatter"]
    picture, bar = _spec(heatmap_figure(_view(4), image=True))["data"]  # any size
    assert picture["type"] == "image"
    assert bar["hoverinfo"] == "skip" and bar["marker"]["opacity"] == 0  # it only carries the colour bar


@pytest.mark.parametrize("colorscale", ["Blues", "Viridis"])
def test_image_colours_are_plotlys_scale_and_hover_carries_the_matrix(colorscale):
    view = _view(N)
    zmax = float(view.matrix.max())
    spec = _spec(heatmap_figure(view, colorscale, image=True))
    picture, bar = spec["data"]
    np.testing.assert_array_equal(heatmap_values(picture), view.matrix)  # float32, exact
    assert picture["customdata"]["dtype"] == "f4"
    assert "%{customdata:.3f}" in picture["hovertemplate"]
    pixels = _picture(picture)
    assert pixels.shape == (N, N, 3)
    for r, c in [(0, 0), (3, 7), (N - 1, N - 1), tuple(np.unravel_index(view.matrix.argmax(), view.matrix.shape))]:
        expected = _plotly_rgb(colorscale, float(view.matrix[r, c]) / zmax)
        assert np.abs(pixels[r, c] - expected).max() <= 2, (r, c)  # 256 levels: within rounding
    marker = bar["marker"]
    assert marker["showscale"] and marker["cmin"] == 0.0 and marker["cmax"] == pytest.approx(zmax)
    assert heatmap_figure(view, zmax=1.0, image=True).data[1].marker.cmax == 1.0  # the fixed 0-1 scale


def test_image_axes_label_cells_with_the_tokens():
    labels = tuple(f"tok{i}" for i in range(N))
    layout = _spec(heatmap_figure(_view(N, labels), image=True))["layout"]
    for axis in ("xaxis", "yaxis"):
        ticks = layout[axis]
        assert [labels[v] for v in ticks["tickvals"]] == ticks["ticktext"]
        assert len(ticks["tickvals"]) <= 64 and ticks["tickvals"][0] == 0
    assert layout["xaxis"]["range"] == [-0.5, N - 0.5]
    assert layout["yaxis"]["range"] == [N - 0.5, -0.5]  # first token on top, as the heatmap's reversed axis


def test_image_tick_labels_escape_user_text():
    link = '<a href="http://evil.example/">x</a>'
    spec = _spec(heatmap_figure(_view(N, (link,) * N), image=True))
    text = json.dumps(spec["layout"])
    assert "<a " not in text
    assert html.unescape(spec["layout"]["xaxis"]["ticktext"][0]) == link


def test_grid_image_keeps_gaps_transparent_and_values_exact():
    rng = np.random.default_rng(1)
    att = rng.random((2, 3, 90, 90)).astype(np.float32)
    grid = A.tiled_grid(att)
    spec = _spec(grid_figure(grid, selected=(1, 2), image=True))
    picture = spec["data"][0]
    assert picture["type"] == "image"
    np.testing.assert_array_equal(heatmap_values(picture), grid.z)  # NaN gaps included
    pixels = _picture(picture)
    assert pixels.shape == grid.z.shape + (4,)
    assert (pixels[..., 3] == np.where(np.isnan(grid.z), 0, 255)).all()
    np.testing.assert_array_equal(heatmap_values(_spec(grid_figure(grid))["data"][0]), grid.z)


def test_png_bytes_round_trip():
    pixels = np.random.default_rng(2).integers(0, 256, (7, 5, 3), dtype=np.uint8)
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(png_bytes(pixels)))), pixels)
    rgba = np.random.default_rng(3).integers(0, 256, (4, 9, 4), dtype=np.uint8)
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(png_bytes(rgba)))), rgba)
