"""Plotly figures for the attention views (no streamlit): compact float32 data, one drawn trace per figure.

Plotly serialises float32 numpy arrays as base64 ("bdata"), 4 bytes per value plus a third for base64,
instead of ~20 characters per value as JSON text: that is what keeps a 512x512 heatmap near 1.4 MB.

`image=True` sends a matrix as an image trace instead: the colours computed here with plotly's own colour scale
into a PNG, the float32 matrix riding along as customdata so hover still shows every weight (`heatmap_values` reads
the matrix back from either encoding). It is off by default: it measured no faster (renderer CPU 130-185 ms for the
heatmap trace against 150-160 ms, `bench_latency --draw`), and an image's hover can name cells only by index. What
made a 512-token redraw slow was not plotly's painting but Streamlit mounting a new chart for every changed figure;
the app draws large figures in place instead (`ui/plot_in_place.py`).
"""
from __future__ import annotations

import base64
import functools
import html
import re
import struct
import zlib
from typing import Sequence

import numpy as np
import plotly.colors as pcolors
import plotly.graph_objects as go

from .attention import AttentionView, TiledGrid
from .i18n import _

COLORSCALES = ("Blues", "Viridis", "Greys", "Magma", "YlOrRd")
_ZWSP = "\u200b"
MAX_TICKS = 64  # beyond this, tick labels overlap: show every k-th


def plot_text(text: object) -> str:
    """Text from a user or a checkpoint (tokens, label names, file names) made safe for any plotly text field.

    Plotly renders a subset of HTML in titles, tick labels, bar text, hover labels and annotations
    (<a href>, <b>, <br>, entities): a label `<a href="http://evil.example/">x</a>` would become a live link.
    Escaping &, < and > makes it show literally. Quotes are left alone: with no '<' there is no tag for them to
    break out of, and plotly only decodes a few named entities, so '&quot;' would be shown as typed.
    Every figure passes such text through here; it never goes into a hover/text *template* (where `%{...}` is code).
    """
    return html.escape(str(text), quote=False)


def plot_texts(texts: Sequence[object]) -> list[str]:
    return [plot_text(t) for t in texts]


def unique_labels(labels: Sequence[str]) -> list[str]:
    """Plotly merges equal category labels; repeated tokens get invisible zero-width suffixes instead."""
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        label = label.replace(_ZWSP, "") or " "
        n = seen.get(label, 0)
        seen[label] = n + 1
        out.append(label + _ZWSP * n)
    return out


def safe_filename(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")[:80] or "attention"


def export_config(filename: str) -> dict:
    """st.plotly_chart config: the modebar camera saves a PNG at twice the screen resolution."""
    return {
        "displaylogo": False,
        "toImageButtonOptions": {"format": "png", "filename": safe_filename(filename), "scale": 2},
        "modeBarButtonsToRemove": ["select2d", "lasso2d"],
    }


def _axis(labels: Sequence[str]) -> dict:
    n = len(labels)
    step = max(1, -(-n // MAX_TICKS))
    axis = dict(type="category", tickfont=dict(size=_tick_size(n)))
    if step > 1:
        ticks = list(range(0, n, step))
        axis.update(tickmode="array", tickvals=[labels[i] for i in ticks])
    return axis


def _tick_size(n: int) -> int:
    return 11 if n <= 40 else 9


def _label_px(labels: Sequence[str]) -> int:
    """Width in pixels of the longest tick label shown (about 0.62 em per character), capped."""
    step = max(1, -(-len(labels) // MAX_TICKS))
    longest = max((len(label.replace(_ZWSP, "")) for label in labels[::step]), default=1)
    return int(min(28, longest) * 0.62 * _tick_size(len(labels))) + 6


def _margins(x: Sequence[str], y: Sequence[str]) -> dict:
    """Margins that fit the tick labels, computed here: plotly's automargin measures the labels in the browser and
    draws the figure again, which cost ~0.3 s per draw of a 512-token heatmap."""
    # The x axis sits on top, under the title: the top margin holds the title (~30 px), the axis title (~20 px) and
    # the tick labels turned by 60 degrees, or a long title overlaps the ticks.
    top = 66 + int(_label_px(x) * 0.87)
    return dict(l=10 + 24 + _label_px(y), r=10, t=top, b=10)


def heatmap_figure(view: AttentionView, colorscale: str = "Blues", zmax: float | None = None,
                   height: int | None = None, image: bool = False) -> go.Figure:
    """One heatmap: rows attend (y, top to bottom), columns are attended to (x).

    `image`: send the matrix as a PNG image trace with the values as customdata (see the module docstring)."""
    x = unique_labels(plot_texts(view.cols.labels))
    y = unique_labels(plot_texts(view.rows.labels))
    z = np.ascontiguousarray(view.matrix, dtype=np.float32)
    if zmax is None:  # the scale stretches to the largest weight: found here, not by scanning z in the browser
        zmax = max(float(np.nanmax(z)), 1e-6) if z.size and np.isfinite(z).any() else 1.0
    if image:
        fig = go.Figure(_image_traces(
            z, colorscale, float(zmax),
            "#%{y} → #%{x}<br>" + _("weight") + " %{customdata:.3f}<extra></extra>"))
        xaxis, yaxis = _index_axis(x, z.shape[1]), _index_axis(y, z.shape[0], reverse=True)
    else:
        fig = go.Figure(go.Heatmap(
            z=z, x=x, y=y, colorscale=colorscale, zmin=0.0, zmax=float(zmax),
            hovertemplate="%{y} → %{x}<br>" + _("weight") + " %{z:.3f}<extra></extra>",
            colorbar=dict(title=dict(text=_("weight")), thickness=12),
        ))
        xaxis, yaxis = _axis(x), dict(autorange="reversed", **_axis(y))
    side = max(len(x), len(y))
    fig.update_layout(
        title=dict(text=plot_text(view.title), font=dict(size=14), yref="container", y=1.0, yanchor="top",
                   pad=dict(t=8)),
        # standoff set here, not left to the template: Streamlit's template has none, and the title then sat on the ticks
        xaxis=dict(title=dict(text=_("attended to"), standoff=15), side="top", tickangle=-60, **xaxis),
        yaxis=dict(title=_("attending"), **yaxis),
        height=height or int(min(900, max(380, 160 + 18 * side))),
        margin=_margins(x, y),
    )
    return fig


def _index_axis(labels: Sequence[str], n: int, reverse: bool = False) -> dict:
    """A numeric axis over cell indices 0..n-1 labelled with the tokens (an image trace cannot use category axes)."""
    step = max(1, -(-n // MAX_TICKS))
    ticks = list(range(0, n, step))
    lo, hi = -0.5, n - 0.5
    return dict(tickmode="array", tickvals=ticks, ticktext=[labels[i] for i in ticks], tickfont=dict(size=_tick_size(n)),
                range=[hi, lo] if reverse else [lo, hi], showgrid=False, zeroline=False,
                # plotly gives an image square pixels by default; the heatmap it replaces filled the width
                **({"scaleanchor": False} if reverse else {}))


@functools.lru_cache(maxsize=16)
def _lut(colorscale: str) -> np.ndarray:
    """256 RGB colours sampled from plotly's scale (linear in RGB between its stops, as plotly.js interpolates)."""
    colours = pcolors.sample_colorscale(pcolors.get_colorscale(colorscale), list(np.linspace(0.0, 1.0, 256)),
                                        colortype="tuple")
    return np.clip(np.rint(np.asarray(colours, dtype=np.float64) * (255 if max(map(max, colours)) <= 1 else 1)),
                   0, 255).astype(np.uint8)


def png_bytes(pixels: np.ndarray) -> bytes:
    """A PNG of uint8 pixels [h, w, 3 or 4] (zlib only: no imaging library needed for one matrix).

    zlib level 1 and no row filter: ~10 ms and 90-230 KB for a 512x512 MiniLM head, where level 6 took 40-110 ms
    for 55-185 KB (measured here, loaded 2-core machine); the server pays this once per view."""
    h, w, channels = pixels.shape
    rows = np.zeros((h, 1 + w * channels), dtype=np.uint8)  # filter byte 0 (none) before each row
    rows[:, 1:] = pixels.reshape(h, w * channels)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", w, h, 8, 6 if channels == 4 else 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows.tobytes(), 1))
            + chunk(b"IEND", b""))


def matrix_image(z: np.ndarray, colorscale: str, zmin: float, zmax: float) -> str:
    """The matrix coloured with plotly's scale as a PNG data URI; NaN cells (gaps) are transparent."""
    span = max(zmax - zmin, 1e-12)
    finite = np.isfinite(z)
    index = np.rint(np.clip((np.where(finite, z, zmin) - zmin) / span, 0.0, 1.0) * 255).astype(np.uint8)
    pixels = _lut(colorscale)[index]
    if not finite.all():
        pixels = np.concatenate([pixels, np.where(finite, 255, 0).astype(np.uint8)[..., None]], axis=-1)
    return "data:image/png;base64," + base64.b64encode(png_bytes(pixels)).decode("ascii")


def _image_traces(z: np.ndarray, colorscale: str, zmax: float, hovertemplate: str) -> list:
    """An image trace that draws the matrix plus an invisible marker that carries the colour bar (images have none)."""
    picture = go.Image(source=matrix_image(z, colorscale, 0.0, zmax), x0=0, dx=1, y0=0, dy=1,
                       customdata=z, hovertemplate=hovertemplate)
    scale = go.Scatter(x=[0], y=[0], mode="markers", hoverinfo="skip", showlegend=False,
                       marker=dict(size=1, opacity=0, color=[0.0], colorscale=colorscale, cmin=0.0, cmax=zmax,
                                   showscale=True, colorbar=dict(title=dict(text=_("weight")), thickness=12, outlinewidth=0)))
    return [picture, scale]


def heatmap_values(trace: dict) -> np.ndarray:
    """The matrix a heatmap or image trace of these figures carries, from its JSON spec (`fig.to_json()` parsed).

    Heatmaps carry it as z, images as customdata; both are float32 base64 ("bdata") with a shape, or nested lists."""
    data = trace["z"] if trace.get("type") == "heatmap" else trace["customdata"]
    if isinstance(data, dict):
        shape = [int(s) for s in str(data.get("shape", "")).split(",") if s.strip()]
        flat = np.frombuffer(base64.b64decode(data["bdata"]), dtype=np.dtype(data["dtype"]))
        return flat.reshape(shape) if shape else flat
    return np.asarray(data, dtype=np.float64)


def grid_figure(grid: TiledGrid, colorscale: str = "Blues", zmax: float | None = None,
                selected: tuple[int, int] | None = None, per_layer: bool = False, image: bool = False) -> go.Figure:
    """All layers x heads in ONE drawn trace; tiles separated by NaN gaps, labelled on the axes.

    per_layer: the grid holds ONE matrix per layer (a measure of all heads together), laid out as one row of
    layers, so no tile pretends to be a head. `image`: send it as a PNG image trace with the values as customdata
    (see the module docstring)."""
    step = grid.side + grid.gap
    if image:
        top = zmax if zmax is not None else (float(np.nanmax(grid.z)) if np.isfinite(grid.z).any() else 1.0)
        # the gaps' hover would read NaN: they are one cell wide, the tiles' hover says the weight
        traces = _image_traces(grid.z, colorscale, max(float(top), 1e-6),
                               _("weight") + " %{customdata:.3f}<extra></extra>")
        rows, cols = grid.z.shape
        ranges = dict(x=dict(range=[-0.5, cols - 0.5]), y=dict(range=[rows - 0.5, -0.5], scaleanchor="x"))
    else:
        traces = [go.Heatmap(
            z=grid.z, colorscale=colorscale, zmin=0.0, zmax=float(zmax) if zmax is not None else None,
            hoverongaps=False, hovertemplate=_("weight") + " %{z:.3f}<extra></extra>",
            colorbar=dict(title=dict(text=_("weight")), thickness=12),
        )]
        ranges = dict(x={}, y=dict(autorange="reversed", scaleanchor="x"))
    fig = go.Figure(traces)
    centres = lambda n: [i * step + (grid.side - 1) / 2 for i in range(n)]  # noqa: E731
    columns = [f"L{c + 1}" for c in range(grid.heads)] if per_layer else [f"H{h + 1}" for h in range(grid.heads)]
    row_labels = [_("all heads")] if per_layer else [f"L{l + 1}" for l in range(grid.layers)]
    fig.update_layout(
        xaxis=dict(tickmode="array", tickvals=centres(grid.heads), ticktext=columns,
                   side="top", showgrid=False, zeroline=False, constrain="domain", **ranges["x"]),
        yaxis=dict(tickmode="array", tickvals=centres(grid.layers), ticktext=row_labels,
                   showgrid=False, zeroline=False, **ranges["y"]),
        height=int(min(1100, max(360, 60 + grid.layers * 900 / max(grid.heads, 1)))),
        margin=dict(l=10, r=10, t=40, b=10),
        plot_bgcolor="rgba(0,0,0,0)",
    )
    if selected is not None:
        layer, head = selected
        fig.add_shape(type="rect", x0=head * step - 0.5, x1=head * step + grid.side - 0.5,
                      y0=layer * step - 0.5, y1=layer * step + grid.side - 0.5,
                      line=dict(color="crimson", width=2))
    return fig


def matrix_caption(view: AttentionView) -> str:
    """What the drawn matrix holds, computed from that matrix only (the numbers a caption beside it may quote):
    its size, the range of its row sums, and, for rows that are shares (sum to 1), the mean row entropy; the mean
    share of each row that lands on special tokens when any are shown."""
    m = np.asarray(view.matrix, dtype=np.float64)
    if m.size == 0:
        return _("The drawn matrix is empty.")
    sums = m.sum(axis=1)
    text = _("Drawn matrix, {rows} × {cols}: row sums {low:.2f} to {high:.2f}").format(
        rows=m.shape[0], cols=m.shape[1], low=float(sums.min()), high=float(sums.max()))
    if np.allclose(sums, 1.0, atol=5e-3) and (m >= -1e-6).all():
        entropy = float(-(m * np.log(np.clip(m, 1e-12, None))).sum(axis=1).mean())
        text += _("; mean row entropy {entropy:.2f} nats (at most {max_entropy:.2f})").format(
            entropy=entropy, max_entropy=float(np.log(m.shape[1])))
    special = np.asarray(view.cols.special, dtype=bool)
    if special.any() and (sums > 0).any():
        live = sums > 0
        share = float((m[live][:, special].sum(axis=1) / sums[live]).mean())
        text += _("; on average {share:.0%} of a row lands on [CLS]/[SEP]").format(share=share)
    return _("{sentence}.").format(sentence=text)  # 中文 ends with 。


def figure_bytes(fig: go.Figure) -> int:
    """Bytes of the spec Streamlit sends for this figure (st.plotly_chart sends plotly.io.to_json)."""
    return len(fig.to_json().encode("utf-8"))


def head_effect_figure(grid: np.ndarray, title: str | None = None) -> go.Figure:
    """Layers x heads, numbered from 1; a diverging scale centred on 0, since a head can also hurt a prediction."""
    layers, heads = grid.shape
    fig = go.Figure(go.Heatmap(
        z=grid, x=[f"H{h + 1}" for h in range(heads)], y=[f"L{l + 1}" for l in range(layers)],
        colorscale="RdBu_r", zmid=0.0, colorbar={"title": _("effect")},
        hovertemplate=_("layer %{y}, head %{x}: %{z:.4f}") + "<extra></extra>",
    ))
    fig.update_layout(height=120 + 28 * layers, margin=dict(l=40, r=20, t=40, b=30),
                      yaxis={"autorange": "reversed"},
                      title=title if title is not None else _("Effect of switching each head off alone"))
    return fig


def plotly_warm_up_figure() -> go.Figure:
    """A 2x2 heatmap with no text, for a page to draw off-screen so that the browser has plotly ready (pages/home.py)."""
    fig = go.Figure(go.Heatmap(z=np.eye(2, dtype=np.float32), showscale=False, hoverinfo="skip"))
    fig.update_layout(width=240, height=120, margin=dict(l=0, r=0, t=0, b=0))
    return fig
