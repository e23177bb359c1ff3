"""The causal lab's figures (plotly, no streamlit): every caption's numbers come from the arrays drawn."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..figures import plot_text, plot_texts, unique_labels
from ..i18n import _
from .neurons import NeuronScores
from .patching import HeadAverage, HeadMap, PatchMap
from .probes import ProbeResult


def _rows(rows: Sequence[str]) -> list[str]:
    return [_("emb") if r == "emb" else f"L{r}" for r in rows]


def _limit(values: np.ndarray) -> float:
    finite = np.abs(values[np.isfinite(values)])
    return float(max(finite.max(initial=0.0), 1e-6))


def patch_map_figure(result: PatchMap) -> go.Figure:
    """Layer × position: the normalised effect of patching that cell clean → corrupted (1 = fully restored)."""
    x = unique_labels(plot_texts(result.pair.clean.tokens))
    y = _rows(result.rows)
    zmax = _limit(result.effect)
    fig = go.Figure(go.Heatmap(z=result.effect.astype(np.float32), x=x, y=y, colorscale="RdBu_r", zmid=0.0,
                               zmin=-zmax, zmax=zmax, colorbar={"title": _("effect")},
                               hovertemplate=_("%{y}, token %{x}: %{z:.3f}") + "<extra></extra>"))
    fig.update_layout(height=140 + 26 * len(y), margin=dict(l=50, r=20, t=40, b=60),
                      yaxis={"autorange": "reversed", "type": "category"}, xaxis={"type": "category"},
                      title=_("Patched clean → corrupted: normalised effect"))
    return fig


def reach(rows: int, n: int, differs: Sequence[int], causal: bool) -> np.ndarray:
    """[rows, n] 1 where the inputs' difference CAN be present (row 0: the embeddings, row l: after layer l).

    Structural, from the attention mask alone: in an encoder every position attends to every position, so after
    one layer the difference is everywhere; in a causal decoder position q only reads positions ≤ q, so it never
    reaches positions before the first difference."""
    out = np.zeros((rows, n), dtype=np.float32)
    out[0, list(differs)] = 1
    first = min(differs) if differs else n
    for row in range(1, rows):
        out[row] = 1 if not causal else (np.arange(n) >= first)
    return out


def cone_figure(result: PatchMap) -> go.Figure:
    """Where the difference can travel: this encoder (bidirectional) beside a causal decoder of the same size."""
    n, rows = len(result.pair.clean), len(result.rows)
    x = unique_labels(plot_texts(result.pair.clean.tokens))
    y = _rows(result.rows)
    fig = make_subplots(rows=1, cols=2, subplot_titles=(_("Encoder (this model)"), _("Causal decoder (same size)")),
                        horizontal_spacing=0.08)
    for col, causal in ((1, False), (2, True)):
        fig.add_trace(go.Heatmap(z=reach(rows, n, result.pair.differs, causal), x=x, y=y, showscale=False,
                                 colorscale=[[0, "#f2f2f2"], [1, "#3b6fb6"]], zmin=0, zmax=1,
                                 hovertemplate="%{y}, %{x}<extra></extra>"), row=1, col=col)
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category")
    fig.update_layout(height=140 + 22 * rows, margin=dict(l=50, r=20, t=50, b=60))
    return fig


def head_maps_figure(exact: HeadMap, estimate: HeadMap | None = None) -> go.Figure:
    """Layer × head: exact patching, and beside it the attribution-patching estimate on the same colour scale."""
    maps = [exact] + ([estimate] if estimate is not None else [])
    titles = [_("Exact (one patched run per head)"), _("Attribution patching (one backward)")][:len(maps)]
    fig = make_subplots(rows=1, cols=len(maps), subplot_titles=titles, horizontal_spacing=0.1)
    zmax = max(_limit(m.effect) for m in maps)
    layers, heads = exact.effect.shape
    for col, m in enumerate(maps, start=1):
        fig.add_trace(go.Heatmap(z=m.effect.astype(np.float32), x=[f"H{h + 1}" for h in range(heads)],
                                 y=[f"L{l + 1}" for l in range(layers)], colorscale="RdBu_r", zmid=0.0, zmin=-zmax,
                                 zmax=zmax, showscale=col == len(maps), colorbar={"title": _("effect")},
                                 hovertemplate=_("layer %{y}, head %{x}: %{z:.3f}") + "<extra></extra>"),
                      row=1, col=col)
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(height=140 + 28 * layers, margin=dict(l=40, r=20, t=50, b=30))
    return fig


def neuron_figure(scores: NeuronScores, k: int = 20) -> go.Figure:
    """The k highest integrated-gradients scores, labelled layer and neuron (both from 1)."""
    top = scores.top(k)
    labels = [f"L{layer + 1} N{neuron + 1}" for layer, neuron, _s in top]
    fig = go.Figure(go.Bar(x=[s for _l, _n, s in top][::-1], y=labels[::-1], orientation="h",
                           hovertemplate="%{y}: %{x:.4g}<extra></extra>"))
    fig.update_layout(height=120 + 18 * len(top), margin=dict(l=90, r=20, t=40, b=40),
                      title=_("Neurons that carry p('{answer}') at the [MASK]").format(
                          answer=plot_text(scores.answer_name)),
                      xaxis_title=_("integrated-gradients score"))
    return fig


def probe_figure(result: ProbeResult) -> go.Figure:
    """Per layer: probe accuracy on the tags, on the control task, their difference (selectivity), the majority."""
    x = _rows(result.layers)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=result.accuracy, mode="lines+markers", name=_("tags")))
    fig.add_trace(go.Scatter(x=x, y=result.control, mode="lines+markers", name=_("control task")))
    fig.add_trace(go.Scatter(x=x, y=result.selectivity, mode="lines+markers", name=_("selectivity")))
    fig.add_trace(go.Scatter(x=x, y=[result.majority] * len(x), mode="lines", line={"dash": "dot"},
                             name=_("most frequent tag")))
    fig.update_layout(height=360, margin=dict(l=40, r=20, t=40, b=40), yaxis={"range": [min(0.0, float(
        result.selectivity.min()) - 0.05), 1.0]}, xaxis={"type": "category"},
                      title=_("Held-out accuracy per layer"))
    return fig


def average_heads_figure(average: HeadAverage) -> go.Figure:
    """Layer × head: the mean normalised effect over the minimal pairs used."""
    layers, heads = average.effect.shape
    zmax = _limit(average.effect)
    fig = go.Figure(go.Heatmap(z=average.effect.astype(np.float32), x=[f"H{h + 1}" for h in range(heads)],
                               y=[f"L{l + 1}" for l in range(layers)], colorscale="RdBu_r", zmid=0.0, zmin=-zmax,
                               zmax=zmax, colorbar={"title": _("effect")},
                               hovertemplate=_("layer %{y}, head %{x}: %{z:.3f}") + "<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(height=140 + 28 * layers, margin=dict(l=40, r=20, t=50, b=30),
                      title=_("Mean over {n} minimal pairs").format(n=average.used))
    return fig
