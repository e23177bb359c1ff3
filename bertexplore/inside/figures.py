"""Every Inside BERT figure (plotly, no streamlit), each with the table of numbers it draws, for CSV export."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..figures import plot_text, plot_texts, unique_labels
from ..i18n import _

MAX_ROWS = 40  # tokens drawn in a strip heatmap (5 panels stacked); the CSV keeps them all


@dataclass(frozen=True)
class Chart:
    name: str  # file name stem for the PNG and the CSV
    fig: go.Figure
    data: pd.DataFrame

    def csv(self) -> bytes:
        return self.data.to_csv(index=False).encode("utf-8")


def _f32(a) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(a, dtype=np.float32))


def _layout(fig: go.Figure, title: str, height: int) -> go.Figure:
    fig.update_layout(title=dict(text=plot_text(title), font=dict(size=14), y=0.99, yanchor="top"), height=height + 30,
                      margin=dict(l=10, r=10, t=90, b=10))
    if len(fig.data) > 1 and any(getattr(tr, "name", None) for tr in fig.data):
        fig.update_layout(legend=dict(orientation="h", x=0, y=1.0, yanchor="bottom"))
    return fig


def _token_labels(tokens: Sequence[str]) -> list[str]:
    return unique_labels(plot_texts([f"{i}:{t}" for i, t in enumerate(tokens)]))


def _shown(labels: Sequence[str]) -> list[str]:
    """Labels from a user or a checkpoint, safe for plotly and unique (plotly merges equal category labels)."""
    return unique_labels(plot_texts(list(labels)))


def bar_chart(name: str, title: str, labels: Sequence[str], values, value_title: str,
              highlight: Sequence[bool] | None = None, colors: Sequence[str] | None = None) -> Chart:
    values = _f32(values)
    raw = [str(x) for x in labels]
    labels = _shown(raw)
    if colors is None:
        colors = ["crimson" if h else "steelblue" for h in (highlight or [False] * len(labels))]
    fig = go.Figure(go.Bar(x=labels, y=values, marker_color=list(colors), hovertemplate="%{x}: %{y:.4f}<extra></extra>"))
    fig.update_xaxes(type="category", tickangle=-45)
    fig.update_yaxes(title=value_title)
    return Chart(name, _layout(fig, title, 340), pd.DataFrame({"label": raw, value_title: values}))


def strips_chart(tokens: Sequence[str], panels: list[tuple[str, np.ndarray]]) -> Chart:
    """One heatmap per kind of vector ([T, E] each), stacked: rows are tokens, columns the vector's dimensions."""
    shown = min(len(tokens), MAX_ROWS)
    labels = _token_labels(tokens[:shown])
    fig = make_subplots(rows=len(panels), cols=1, subplot_titles=plot_texts([t for t, _ in panels]), vertical_spacing=0.06)
    for i, (title, values) in enumerate(panels, start=1):
        z = _f32(values[:shown])
        top = float(np.percentile(np.abs(z), 99)) or 1.0  # a few outlier dimensions would wash out the rest
        fig.add_trace(go.Heatmap(z=z, y=labels, colorscale="RdBu_r", zmin=-top, zmax=top, showscale=False,
                                 hovertemplate="%{y}<br>" + _("dimension") + " %{x}: %{z:.4f}<extra></extra>"),
                      row=i, col=1)
        fig.update_yaxes(type="category", autorange="reversed", tickfont=dict(size=9), row=i, col=1)
    fig.update_xaxes(title=_("dimension (colours: each panel's own scale, clipped at its 99th percentile)"),
                     row=len(panels), col=1)
    rows = []
    for title, values in panels:
        for t, tok in enumerate(tokens):
            rows.append({"vector": title, "position": t, "token": tok,
                         **{f"d{j}": float(v) for j, v in enumerate(np.asarray(values[t]))}})
    height = int(len(panels) * (60 + 14 * shown) + 80)
    return Chart("embeddings", _layout(fig, _("The vectors of every token, dimension by dimension"), height),
                 pd.DataFrame(rows))


def grouped_bars(name: str, title: str, labels: Sequence[str], series: list[tuple[str, np.ndarray]],
                 value_title: str, threshold: float | None = None) -> Chart:
    raw = [str(x) for x in labels]
    labels = _shown(raw)
    fig = go.Figure([go.Bar(x=labels, y=_f32(values), name=plot_text(series_name)) for series_name, values in series])
    fig.update_layout(barmode="group")
    fig.update_xaxes(type="category", tickangle=-45)
    fig.update_yaxes(title=value_title)
    if threshold is not None:
        fig.add_hline(y=threshold, line_dash="dash", line_color="crimson",
                      annotation_text=_("threshold {value:.2f}").format(value=threshold))
    data = pd.DataFrame({"label": raw, **{n: np.asarray(v, np.float64) for n, v in series}})
    return Chart(name, _layout(fig, title, 360), data)


def heatmap_chart(name: str, title: str, z: np.ndarray, x: Sequence[str], y: Sequence[str],
                  colorscale: str = "Blues", zmid: float | None = None, value_title: str = "") -> Chart:
    z = _f32(z)
    xs, ys = _shown(x), _shown(y)
    fig = go.Figure(go.Heatmap(z=z, x=xs, y=ys, colorscale=colorscale, zmid=zmid,
                               colorbar=dict(title=dict(text=value_title), thickness=12),
                               hovertemplate="%{y} → %{x}: %{z:.4f}<extra></extra>"))
    fig.update_xaxes(type="category", tickangle=-45)
    fig.update_yaxes(type="category", autorange="reversed")
    height = int(min(900, max(260, 160 + 20 * len(ys))))
    data = pd.DataFrame(z, columns=unique_labels([str(v) for v in x]))
    data.insert(0, "row", [str(v) for v in y])
    return Chart(name, _layout(fig, title, height), data)


def side_by_side(name: str, title: str, panels: list[tuple[str, np.ndarray]], tokens: Sequence[str],
                 colorscale: str = "Blues") -> Chart:
    """Two or more [T, T] matrices next to each other on one colour scale (e.g. bidirectional vs causal)."""
    labels = _token_labels(tokens)
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=plot_texts([t for t, _ in panels]), horizontal_spacing=0.08)
    rows = []
    for i, (panel, z) in enumerate(panels, start=1):
        fig.add_trace(go.Heatmap(z=_f32(z), x=labels, y=labels, colorscale=colorscale, zmin=0, zmax=1,
                                 showscale=(i == len(panels)), hovertemplate="%{y} → %{x}: %{z:.3f}<extra></extra>"),
                      row=1, col=i)
        fig.update_xaxes(type="category", tickangle=-60, row=1, col=i)
        fig.update_yaxes(type="category", autorange="reversed", row=1, col=i)
        for r, row_label in enumerate(labels):
            rows.append({"matrix": panel, "attending": row_label, **{c: float(v) for c, v in zip(labels, z[r])}})
    height = int(min(900, max(360, 160 + 18 * len(labels))))
    return Chart(name, _layout(fig, title, height), pd.DataFrame(rows))


def layer_token_chart(name: str, title: str, panels: list[tuple[str, np.ndarray]], tokens: Sequence[str],
                      value_title: str) -> Chart:
    """[L, T] maps (layer rows, token columns) side by side: how much each sub-layer changes each token."""
    labels = _token_labels(tokens)
    layers = [_("L{layer}").format(layer=l + 1) for l in range(panels[0][1].shape[0])]
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=plot_texts([t for t, _ in panels]), horizontal_spacing=0.06)
    rows = []
    for i, (panel, z) in enumerate(panels, start=1):
        fig.add_trace(go.Heatmap(z=_f32(z), x=labels, y=layers, colorscale="Viridis", coloraxis="coloraxis",
                                 hovertemplate="%{y}, %{x}: %{z:.3f}<extra></extra>"), row=1, col=i)
        fig.update_xaxes(type="category", tickangle=-60, row=1, col=i)
        fig.update_yaxes(type="category", autorange="reversed", row=1, col=i)
        for l, layer in enumerate(layers):
            rows.append({"map": panel, "layer": layer, **{c: float(v) for c, v in zip(labels, z[l])}})
    fig.update_layout(coloraxis=dict(colorscale="Viridis", colorbar=dict(title=dict(text=value_title), thickness=12)))
    return Chart(name, _layout(fig, title, int(160 + 30 * len(layers))), pd.DataFrame(rows))


def lines_chart(name: str, title: str, x: Sequence[str], series: list[tuple[str, np.ndarray]], y_title: str) -> Chart:
    fig = go.Figure([go.Scatter(x=plot_texts(list(x)), y=_f32(v), mode="lines+markers", name=plot_text(n)) for n, v in series])
    fig.update_xaxes(type="category")
    fig.update_yaxes(title=y_title)
    return Chart(name, _layout(fig, title, 360), pd.DataFrame({"x": list(x), **{n: np.asarray(v) for n, v in series}}))


def windows_chart(windows, total: int) -> Chart:
    """Each window as a horizontal bar over the text's token positions; overlaps show where bars stack."""
    fig = go.Figure()
    rows = []
    for w in windows:
        label = _("window {n}").format(n=w.index + 1)
        fig.add_trace(go.Bar(y=[label], x=[w.last - w.first + 1], base=[w.first], orientation="h", showlegend=False,
                             hovertemplate=_("tokens {first}–{last}").format(first=w.first, last=w.last) + "<extra></extra>"))
        rows.append({"window": w.index + 1, "first token": w.first, "last token": w.last, "tokens": w.tokens,
                     "first char": w.start_char, "end char": w.end_char})
    fig.update_xaxes(title=_("token position in the whole text"), range=[0, max(total, 1)])
    fig.update_yaxes(autorange="reversed", type="category")
    return Chart("windows", _layout(fig, _("Overlapping windows over the text"), int(140 + 28 * len(rows))),
                 pd.DataFrame(rows))
