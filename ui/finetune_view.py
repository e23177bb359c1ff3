"""Figures and small widgets for the fine-tuning page (plotly); the engine lives in bertexplore.finetune."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from bertexplore.figures import plot_text, plot_texts
from bertexplore.finetune.job import Snapshot
from .i18n import N_, _
from .markdown import plain as plain_text

MAIN_METRIC = {"classification": "accuracy", "multilabel": "micro_f1", "ner": "entity_f1", "mlm": "perplexity",
               "pretraining": "nsp_accuracy", "qa": "f1"}
METRIC_NAMES = {"accuracy": N_("accuracy"), "macro_f1": N_("macro-F1"), "micro_f1": N_("micro-F1"), "entity_f1": N_("entity F1"),
                "entity_precision": N_("entity precision"), "entity_recall": N_("entity recall"), "perplexity": N_("perplexity"),
                "top1_accuracy": N_("top-1 accuracy"), "top5_accuracy": N_("top-5 accuracy"), "exact_match": N_("exact match"),
                "loss": N_("validation loss"), "nsp_accuracy": N_("next-sentence accuracy"),
                "isnext_recall": N_("IsNext recall"), "notnext_recall": N_("NotNext recall"), "f1": N_("F1 (SQuAD)")}
UNBOUNDED = {"perplexity", "loss"}  # every other metric lies in [0, 1]


# What the counts count, per unit key (TaskData.unit / EncodedDataset.unit): paragraphs and pairs are not examples.
DATA_COUNTS = {
    "examples": N_("{train} training and {validation} validation examples"),
    "paragraphs": N_("{train} training and {validation} validation paragraphs (the sentence pairs are drawn from "
                     "them)"),
    "questions": N_("{train} training and {validation} validation questions"),
}
RESULT_COUNTS = {
    "examples": N_("{steps} steps in {seconds:.1f} s ({rate:.1f} samples/s) on {train} training / {validation} "
                   "validation examples"),
    "pairs": N_("{steps} steps in {seconds:.1f} s ({rate:.1f} pairs/s) on {train} training sentence pairs per epoch "
                "(B drawn afresh each epoch) / {validation} held-out sentence pairs"),
    "windows": N_("{steps} steps in {seconds:.1f} s ({rate:.1f} windows/s) on {train} training / {validation} "
                  "validation windows (a question with a piece of its paragraph)"),
}


def data_summary(train, validation) -> str:
    """'38 training and 10 validation paragraphs': the split's sizes in the unit the data counts."""
    template = DATA_COUNTS.get(getattr(train, "unit", "examples"), DATA_COUNTS["examples"])
    return _(template).format(train=len(train), validation=len(validation))


def results_counts(result) -> str:
    """Steps, time and how many training / held-out items, in the unit the training sets count (pairs, windows...)."""
    template = RESULT_COUNTS.get(result.train_unit, RESULT_COUNTS["examples"])
    return _(template).format(steps=result.steps, seconds=result.train_seconds, rate=result.samples_per_second,
                              train=result.train_samples, validation=result.val_samples)


def eta_text(snap: Snapshot) -> str:
    def clock(seconds: float) -> str:
        seconds = int(round(seconds))
        return f"{seconds // 60}:{seconds % 60:02d}"

    parts = [_("step {step} of {total}").format(step=snap.step, total=snap.total_steps or "?"),
             _("epoch {epoch:.2f}").format(epoch=snap.epoch), _("elapsed {time}").format(time=clock(snap.elapsed_s))]
    if snap.eta_s is not None:
        parts.append(_("about {time} left").format(time=clock(snap.eta_s)))
    return " · ".join(parts)


STATUS_WORDS = {"queued": N_("Waiting"), "running": N_("Training"), "stopping": N_("Stopping"),
                "finished": N_("Finished"), "stopped": N_("Stopped"), "failed": N_("Failed")}


def status_line(snap: Snapshot) -> str:
    """'**Training** · step 3 of 40 · …': what the job is doing once. A running or waiting job says its phase
    ("Measuring the model before training", "Training", …); a stopping or ended one its status word."""
    if snap.status in ("queued", "running") and snap.phase:
        word = snap.phase
    else:
        word = _(STATUS_WORDS[snap.status]) if snap.status in STATUS_WORDS else snap.status
    return "**" + plain_text(word) + "** · " + eta_text(snap)


def _layout(fig: go.Figure, title: str, x: str, y: str, height: int = 280) -> go.Figure:
    fig.update_layout(title=title, xaxis_title=x, yaxis_title=y, height=height, margin=dict(l=10, r=10, t=40, b=10),
                      showlegend=False)
    return fig


def loss_figure(snap: Snapshot) -> go.Figure:
    steps = [s for s, _ in snap.losses]
    values = [v for _, v in snap.losses]
    fig = go.Figure(go.Scatter(x=steps, y=values, mode="lines+markers" if len(steps) < 60 else "lines",
                               name=_("training loss")))
    return _layout(fig, _("Training loss"), _("step"), _("loss"))


def metric_figure(snap: Snapshot, task: str) -> go.Figure:
    key = MAIN_METRIC[task]
    points = [(s, m[key]) for s, m in snap.evals if key in m]
    fig = go.Figure(go.Scatter(x=[s for s, _ in points], y=[v for _, v in points], mode="lines+markers"))
    if key == "perplexity" and points and max(v for _, v in points) > 50 * max(1e-9, min(v for _, v in points)):
        # A fresh MLM head starts in the thousands. Ticks at powers of ten only: plotly's default log ticks add
        # 2 and 5 between them with SI suffixes, which read as "5, 2, 10k, 5, 2, 1000".
        fig.update_yaxes(type="log", dtick=1, tickformat=",d", minor=dict(ticks="", showgrid=False))
    elif key in UNBOUNDED:
        fig.update_yaxes(rangemode="tozero")
    else:
        # Fixed 0..1: with one point (the measurement before training) plotly would centre it on -1..1.
        fig.update_yaxes(range=[-0.02, 1.02])
    if snap.total_steps:
        fig.update_xaxes(range=[0, snap.total_steps])
    return _layout(fig, _("Validation {metric}").format(metric=_(METRIC_NAMES[key])), _("step"), _(METRIC_NAMES[key]))


def confusion_figure(matrix: list[list[int]], names: list[str]) -> go.Figure:
    z = np.asarray(matrix, dtype=np.float32)
    names = plot_texts(names)  # labels come from the user's file
    fig = go.Figure(go.Heatmap(z=z, x=names, y=names, colorscale="Blues", text=np.asarray(matrix), texttemplate="%{text}",
                               hovertemplate=_("true %{y}<br>predicted %{x}<br>%{z:.0f} examples") + "<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, _("Confusion matrix (validation)"), _("predicted"), _("true"), height=120 + 40 * len(names))


def attention_change_figure(change: np.ndarray, tokens: tuple[str, ...], title: str) -> go.Figure:
    """A [T, T] difference map on a diverging scale centred on zero (red: more attention after)."""
    z = np.ascontiguousarray(change, dtype=np.float32)
    bound = float(max(np.abs(z).max(), 1e-6))
    # Plotly reads a subset of HTML in tick labels: escape user text. Positions keep repeated tokens apart.
    labels = [f"{i}:{plot_text(t)}" for i, t in enumerate(tokens)]
    fig = go.Figure(go.Heatmap(
        z=z, x=labels, y=labels, colorscale="RdBu", reversescale=True, zmin=-bound, zmax=bound,
        hovertemplate=_("from %{y}<br>to %{x}<br>change %{z:+.3f}") + "<extra></extra>", colorbar=dict(title=_("after − before")),
    ))
    fig.update_yaxes(autorange="reversed")
    size = min(900, 160 + 22 * len(tokens))
    return _layout(fig, title, _("attended token"), _("attending token"), height=size)


def change_by_layer_figure(change: np.ndarray) -> go.Figure:
    """[layers, heads] mean |change|: which heads fine-tuning moved most."""
    layers, heads = change.shape
    fig = go.Figure(go.Heatmap(z=np.ascontiguousarray(change, dtype=np.float32), x=[f"H{h + 1}" for h in range(heads)],
                               y=[f"L{l + 1}" for l in range(layers)], colorscale="Viridis",
                               hovertemplate=_("layer %{y} head %{x}<br>mean |change| %{z:.4f}") + "<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, _("Mean absolute attention change per head"), _("head"), _("layer"), height=120 + 28 * layers)
