"""Plotly figures of the analysis lab (no streamlit). Float32 arrays go out as compact base64."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from ..figures import plot_text, plot_texts, unique_labels
from ..i18n import _
from .census import LABEL_NAMES, LABELS
from .graph import Contributions, Graph
from .lens import Lens
from .projector import Projection

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf")


def _heads_axes(fig: go.Figure, layers: int, heads: int) -> go.Figure:
    fig.update_xaxes(title=_("head"), tickmode="array", tickvals=list(range(1, heads + 1)))
    fig.update_yaxes(title=_("layer"), tickmode="array", tickvals=list(range(1, layers + 1)), autorange="reversed")
    return fig


def layer_head_map(grid: np.ndarray, title: str, colorscale: str = "Blues", zmid: float | None = None,
                   height: int = 360) -> go.Figure:
    """A layers × heads map (layer 1 on top), values in the hover."""
    grid = np.asarray(grid, dtype=np.float32)
    layers, heads = grid.shape
    kwargs = dict(zmid=zmid) if zmid is not None else {}
    fig = go.Figure(go.Heatmap(z=grid, x=np.arange(1, heads + 1), y=np.arange(1, layers + 1), colorscale=colorscale,
                               hovertemplate=_("layer %{y}, head %{x}: %{z:.3f}") + "<extra></extra>", **kwargs))
    fig.update_layout(title=title, height=height, margin=dict(l=50, r=20, t=50, b=40))
    return _heads_axes(fig, layers, heads)


def label_map(labels: np.ndarray, title: str, height: int = 360) -> go.Figure:
    """Pattern label per head as a categorical map with the label written in each cell."""
    layers, heads = labels.shape
    codes = np.vectorize(LABELS.index)(labels).astype(np.float32)
    n = len(LABELS)
    scale = []
    for i in range(n):
        scale += [[i / n, PALETTE[i]], [(i + 1) / n, PALETTE[i]]]
    names = np.vectorize(lambda k: _(LABEL_NAMES[k]))(labels)
    fig = go.Figure(go.Heatmap(
        z=codes, x=np.arange(1, heads + 1), y=np.arange(1, layers + 1), colorscale=scale, zmin=-0.5, zmax=n - 0.5,
        text=names, texttemplate="%{text}" if layers * heads <= 64 else None, customdata=names,
        hovertemplate=_("layer %{y}, head %{x}: %{customdata}") + "<extra></extra>",
        colorbar=dict(tickmode="array", tickvals=list(range(n)), ticktext=[_(LABEL_NAMES[k]) for k in LABELS]),
    ))
    fig.update_layout(title=title, height=height, margin=dict(l=50, r=20, t=50, b=40))
    return _heads_axes(fig, layers, heads)


def lens_figure(lens: Lens, index: int, answer: str) -> go.Figure:
    """Rank (log scale) and probability of the final answer after each layer, for readout position `index`."""
    layers = np.arange(lens.log_probs.shape[1])
    ranks = lens.final_rank()[index].astype(np.float32)
    probs = lens.final_prob()[index].astype(np.float32)
    fig = go.Figure()
    answer = plot_text(answer)
    fig.add_trace(go.Scatter(x=layers, y=probs, name=_("probability of '{answer}'").format(answer=answer),
                             mode="lines+markers"))
    fig.add_trace(go.Scatter(x=layers, y=ranks, name=_("rank of '{answer}'").format(answer=answer), yaxis="y2",
                             mode="lines+markers", line=dict(dash="dot")))
    fig.update_layout(
        title=_("The final answer, read off every layer"), height=360, margin=dict(l=50, r=50, t=50, b=40),
        xaxis=dict(title=_("layer (0 = embeddings)"), tickmode="array", tickvals=list(layers)),
        yaxis=dict(title=_("probability"), range=[0, 1]),
        yaxis2=dict(title=_("rank (1 = top)"), overlaying="y", side="right", type="log", autorange="reversed"),
        legend=dict(orientation="h", y=-0.25),
    )
    return fig


def graph_figure(contrib: Contributions, graph: Graph, selected: tuple[int, int] | None = None) -> go.Figure:
    """Layered graph: x = token position, y = level (0 = input embeddings, bottom); edge width ~ contribution."""
    tokens = plot_texts(contrib.tokens)  # user text: shown literally, never as plotly HTML
    fig = go.Figure()
    if graph.edges:
        weights = np.array([w for *_, w in graph.edges])
        bins = np.quantile(weights, [0.5, 0.8]) if len(weights) > 2 else [weights.min(), weights.max()]
        for lo, hi, width, alpha in ((-1, bins[0], 1.5, 0.35), (bins[0], bins[1], 3.5, 0.55), (bins[1], 2, 6, 0.8)):
            xs, ys = [], []
            for (l1, i), (l0, j), w in graph.edges:
                if lo < w <= hi:
                    xs += [i, j, None]
                    ys += [l1, l0, None]
            if xs:
                fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", hoverinfo="skip", showlegend=False,
                                         line=dict(width=width, color=f"rgba(31,119,180,{alpha})")))
    nodes = graph.nodes
    flows = np.array([graph.flow[n] for n in nodes], dtype=np.float32)
    top_heads = []
    for level, token in nodes:
        if level == 0:
            top_heads.append(_("input embedding"))
            continue
        shares = contrib.heads[level - 1][token]
        best = np.argsort(-shares[:-1])[:2]
        top_heads.append(", ".join(_("head {h} {share:.0%}").format(h=h + 1, share=float(shares[h])) for h in best)
                         + " · " + _("residual {share:.0%}").format(share=float(shares[-1])))
    colors = ["#d62728" if selected == n else "#1f77b4" for n in nodes]
    fig.add_trace(go.Scatter(
        x=[t for _l, t in nodes], y=[l for l, _t in nodes], mode="markers+text", showlegend=False,
        text=[tokens[t] for _l, t in nodes], textposition="top center", cliponaxis=False,  # the top row's labels
        marker=dict(size=(8 + 30 * np.sqrt(np.clip(flows, 0, 1))).astype(np.float32), color=colors,
                    line=dict(width=1, color="white")),
        customdata=np.array([[l, t] for l, t in nodes], dtype=np.int32),
        hovertext=[_("{token} after layer {level}: {flow:.1%} of the output; {heads}").format(
            token=tokens[t], level=l, flow=float(graph.flow[(l, t)]), heads=h) for (l, t), h in zip(nodes, top_heads)],
        hoverinfo="text",
    ))
    fig.update_layout(
        title=_("What makes up '{token}' (position {pos}) after the last layer").format(
            token=tokens[graph.output], pos=graph.output),
        # 90 px per level: a label (~14 px) above a circle (radius up to 19 px) stays clear of the level above
        height=max(380, 90 * (contrib.num_layers + 1) + 90), margin=dict(l=60, r=20, t=70, b=40),
        xaxis=dict(title=_("token"), tickmode="array", tickvals=list(range(len(tokens))),
                   ticktext=unique_labels(tokens), range=[-0.7, len(tokens) - 0.3]),
        yaxis=dict(title=_("layer (0 = input)"), tickmode="array", tickvals=list(range(contrib.num_layers + 1)),
                   range=[-0.5, contrib.num_layers + 0.5]),
    )
    return fig


def importance_figure(gradient: np.ndarray, scan: np.ndarray, rho: float) -> go.Figure:
    """Scatter: measured effect of switching a head off (x) vs the gradient's first-order estimate (y)."""
    layers, heads = gradient.shape
    names = [_("layer {l}, head {h}").format(l=l + 1, h=h + 1) for l in range(layers) for h in range(heads)]
    fig = go.Figure(go.Scatter(x=np.ravel(scan).astype(np.float32), y=np.ravel(gradient).astype(np.float32),
                               mode="markers", text=names, hoverinfo="text+x+y"))
    lo = float(min(np.min(scan), np.min(gradient)))
    hi = float(max(np.max(scan), np.max(gradient)))
    fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", line=dict(dash="dot", color="grey"),
                             hoverinfo="skip", showlegend=False))
    fig.update_layout(title=_("Gradient estimate vs ablation scan (Spearman ρ = {rho:.2f})").format(rho=rho),
                      xaxis_title=_("measured drop when the head is off (scan)"),
                      yaxis_title=_("gradient estimate ∂f/∂gate"), height=380, showlegend=False,
                      margin=dict(l=60, r=20, t=50, b=50))
    return fig


def projector_figure(proj: Projection, colour: Sequence[str], title: str) -> go.Figure:
    """Scatter of the 2-D PCA, one trace per colour group, points labelled."""
    fig = go.Figure()
    groups = list(dict.fromkeys(colour))
    for g, group in enumerate(groups):
        idx = [k for k, c in enumerate(colour) if c == group]
        fig.add_trace(go.Scatter(
            x=proj.coords[idx, 0], y=proj.coords[idx, 1], mode="markers+text", name=plot_text(str(group)[:40]),
            text=[plot_text(proj.labels[k]) for k in idx], textposition="top center",
            marker=dict(size=9, color=PALETTE[g % len(PALETTE)]),
        ))
    fig.update_layout(title=title, height=480, margin=dict(l=50, r=20, t=50, b=40),
                      xaxis_title=_("PC 1 ({share:.0%} of variance)").format(share=proj.explained[0]),
                      yaxis_title=_("PC 2 ({share:.0%} of variance)").format(share=proj.explained[1]))
    return fig
