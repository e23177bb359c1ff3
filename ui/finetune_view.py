"""Figures and small widgets for the fine-tuning page (plotly); the engine lives in bertexplore.finetune."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from bertexplore.figures import plot_text, plot_texts
from bertexplore.finetune.job import Snapshot

MAIN_METRIC = {"classification": "accuracy", "multilabel": "micro_f1", "ner": "entity_f1", "mlm": "perplexity",
               "pretraining": "nsp_accuracy", "qa": "f1"}
METRIC_NAMES = {"accuracy": "accuracy", "macro_f1": "macro-F1", "micro_f1": "micro-F1", "entity_f1": "entity F1",
                "entity_precision": "entity precision", "entity_recall": "entity recall", "perplexity": "perplexity",
                "top1_accuracy": "top-1 accuracy", "top5_accuracy": "top-5 accuracy", "exact_match": "exact match",
                "loss": "validation loss", "nsp_accuracy": "next-sentence accuracy",
                "isnext_recall": "IsNext recall", "notnext_recall": "NotNext recall", "f1": "F1 (SQuAD)"}
UNBOUNDED = {"perplexity", "loss"}  # every other metric lies in [0, 1]


def eta_text(snap: Snapshot) -> str:
    def clock(seconds: float) -> str:
        seconds = int(round(seconds))
        return f"{seconds // 60}:{seconds % 60:02d}"

    parts = [f"step {snap.step} of {snap.total_steps or '?'}", f"epoch {snap.epoch:.2f}", f"elapsed {clock(snap.elapsed_s)}"]
    if snap.eta_s is not None:
        parts.append(f"about {clock(snap.eta_s)} left")
    return " · ".join(parts)


def _layout(fig: go.Figure, title: str, x: str, y: str, height: int = 280) -> go.Figure:
    fig.update_layout(title=title, xaxis_title=x, yaxis_title=y, height=height, margin=dict(l=10, r=10, t=40, b=10),
                      showlegend=False)
    return fig


def loss_figure(snap: Snapshot) -> go.Figure:
    steps = [s for s, _ in snap.losses]
    values = [v for _, v in snap.losses]
    fig = go.Figure(go.Scatter(x=steps, y=values, mode="lines+markers" if len(steps) < 60 else "lines",
                               name="training loss"))
    return _layout(fig, "Training loss", "step", "loss")


def metric_figure(snap: Snapshot, task: str) -> go.Figure:
    key = MAIN_METRIC[task]
    points = [(s, m[key]) for s, m in snap.evals if key in m]
    fig = go.Figure(go.Scatter(x=[s for s, _ in points], y=[v for _, v in points], mode="lines+markers"))
    if key == "perplexity" and points and max(v for _, v in points) > 50 * max(1e-9, min(v for _, v in points)):
        fig.update_yaxes(type="log")  # a fresh MLM head starts in the thousands
    elif key in UNBOUNDED:
        fig.update_yaxes(rangemode="tozero")
    else:
        # Fixed 0..1: with one point (the measurement before training) plotly would centre it on -1..1.
        fig.update_yaxes(range=[-0.02, 1.02])
    if snap.total_steps:
        fig.update_xaxes(range=[0, snap.total_steps])
    return _layout(fig, f"Validation {METRIC_NAMES[key]}", "step", METRIC_NAMES[key])


def confusion_figure(matrix: list[list[int]], names: list[str]) -> go.Figure:
    z = np.asarray(matrix, dtype=np.float32)
    names = plot_texts(names)  # labels come from the user's file
    fig = go.Figure(go.Heatmap(z=z, x=names, y=names, colorscale="Blues", text=np.asarray(matrix), texttemplate="%{text}",
                               hovertemplate="true %{y}<br>predicted %{x}<br>%{z:.0f} examples<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, "Confusion matrix (validation)", "predicted", "true", height=120 + 40 * len(names))


def attention_change_figure(change: np.ndarray, tokens: tuple[str, ...], title: str) -> go.Figure:
    """A [T, T] difference map on a diverging scale centred on zero (red: more attention after)."""
    z = np.ascontiguousarray(change, dtype=np.float32)
    bound = float(max(np.abs(z).max(), 1e-6))
    # Plotly reads a subset of HTML in tick labels: escape user text. Positions keep repeated tokens apart.
    labels = [f"{i}:{plot_text(t)}" for i, t in enumerate(tokens)]
    fig = go.Figure(go.Heatmap(
        z=z, x=labels, y=labels, colorscale="RdBu", reversescale=True, zmin=-bound, zmax=bound,
        hovertemplate="from %{y}<br>to %{x}<br>change %{z:+.3f}<extra></extra>", colorbar=dict(title="after − before"),
    ))
    fig.update_yaxes(autorange="reversed")
    size = min(900, 160 + 22 * len(tokens))
    return _layout(fig, title, "attended token", "attending token", height=size)


def change_by_layer_figure(change: np.ndarray) -> go.Figure:
    """[layers, heads] mean |change|: which heads fine-tuning moved most."""
    layers, heads = change.shape
    fig = go.Figure(go.Heatmap(z=np.ascontiguousarray(change, dtype=np.float32), x=[f"H{h + 1}" for h in range(heads)],
                               y=[f"L{l + 1}" for l in range(layers)], colorscale="Viridis",
                               hovertemplate="layer %{y} head %{x}<br>mean |change| %{z:.4f}<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, "Mean absolute attention change per head", "head", "layer", height=120 + 28 * layers)
