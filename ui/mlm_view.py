"""Glue for the Masked-LM page: examples, figures, HTML and a per-session memo of costly results."""
from __future__ import annotations

import html
from typing import Any, Callable, Sequence

import plotly.graph_objects as go

from bertexplore.figures import plot_text
from bertexplore.mlm import FillResult, MaskPredictions
from bertexplore.pll import PairComparison
from bertexplore.tokens import Tokenized

from . import examples
from .session_memo import memo as session_memo
from .i18n import _



def load_examples() -> dict:
    """Sentences to fill and minimal pairs, the interface language's first (ui/examples.py)."""
    data = examples.load("masked_lm")
    if not isinstance(data, dict):
        return {"fill": [], "pairs": []}  # a missing examples file must not break the page
    return {"fill": list(data.get("fill", [])), "pairs": list(data.get("pairs", []))}


def memo(key: tuple, compute: Callable[[], Any] | None = None) -> Any:
    """This session's stored Masked-LM result for `key`; computed (and stored) only when `compute` is given."""
    return session_memo("mlm", key, compute, keep=6)


def pill_labels(inputs: Tokenized, positions: Sequence[int]) -> dict[int, str]:
    """Wordpiece labels for the token pills, made unique ("the", "the (2)") so the URL can name each one."""
    seen: dict[str, int] = {}
    labels = {}
    for p in positions:
        tok = inputs.tokens[p]
        seen[tok] = seen.get(tok, 0) + 1
        labels[p] = tok if seen[tok] == 1 else f"{tok} ({seen[tok]})"
    return labels


def positions_of_words(inputs: Tokenized, words: Sequence[str]) -> list[int]:
    """First wordpiece of each word of the input that matches one of `words` (case-insensitive)."""
    wanted = {w.casefold() for w in words}
    return [w.positions[0] for w in inputs.words()
            if not inputs.special[w.positions[0]] and w.text.casefold() in wanted]


def masked_sentence_html(inputs: Tokenized, masked: Sequence[int], guesses: dict[int, str] | None = None) -> str:
    """The model's input as token chips; masks are highlighted with the top guess when known."""
    guesses = guesses or {}
    chips = []
    for pos, tok in enumerate(inputs.tokens):
        if pos in masked:
            guess = guesses.get(pos)
            tip = f"→ {guess}" if guess else ""
            chips.append(
                f'<span style="background:#ffd54f;color:#222;padding:1px 5px;margin:1px;border-radius:4px;'
                f'display:inline-block;font-weight:600">{html.escape(tok)}'
                f'<sub style="font-weight:400;margin-left:3px">{html.escape(tip)}</sub></span>'
            )
        else:
            colour = "#999" if inputs.special[pos] else "inherit"
            chips.append(f'<span style="color:{colour};padding:1px 3px;margin:1px;display:inline-block">'
                         f'{html.escape(tok)}</span>')
    return f"<div style='line-height:2.1;font-family:monospace'>{''.join(chips)}</div>"


def topk_figure(result: MaskPredictions, title: str) -> go.Figure:
    labels = [f"{i + 1}. {plot_text(p.token)}" for i, p in enumerate(result.predictions)]
    probs = [p.probability for p in result.predictions]
    fig = go.Figure(go.Bar(x=probs, y=labels, orientation="h", text=[f"{p:.1%}" for p in probs],
                           textposition="auto", marker_color="#1f77b4",
                           hovertemplate="%{y}: %{x:.4f}<extra></extra>"))
    fig.update_layout(title=plot_text(title), xaxis_title=_("probability"), height=120 + 24 * len(labels),
                      margin=dict(l=10, r=10, t=40, b=10))
    fig.update_yaxes(autorange="reversed", type="category")
    return fig


def chain_figure(result: FillResult) -> go.Figure:
    labels = [f"{s.step}. {plot_text(s.token)} @{s.position}" for s in result.steps]
    fig = go.Figure()
    fig.add_bar(x=labels, y=[s.probability for s in result.steps], name=_("probability of the choice"),
                hovertemplate="%{x}: %{y:.4f}<extra></extra>")
    fig.add_scatter(x=labels, y=[s.cumulative_log_prob for s in result.steps], name=_("cumulative log-prob"),
                    yaxis="y2", mode="lines+markers")
    fig.update_layout(title=_("Fill chain"), height=320, margin=dict(l=10, r=10, t=40, b=10),
                      yaxis=dict(title=_("probability"), rangemode="tozero"),
                      yaxis2=dict(title=_("cumulative log-prob"), overlaying="y", side="right"),
                      legend=dict(orientation="h", y=-0.25), xaxis=dict(type="category"))
    return fig


def pair_figure(comparison: PairComparison) -> go.Figure:
    rows = comparison.rows()
    labels = [f"{i + 1}. {plot_text(r['token A'] or '–')} | {plot_text(r['token B'] or '–')}" for i, r in enumerate(rows)]
    fig = go.Figure()
    fig.add_bar(x=labels, y=[r["log-prob A"] for r in rows], name="A", marker_color="#2e7d32")
    fig.add_bar(x=labels, y=[r["log-prob B"] for r in rows], name="B", marker_color="#c62828")
    fig.update_layout(title=_("Per-token log-probability (higher is more expected)"), barmode="group", height=360,
                      margin=dict(l=10, r=10, t=40, b=10), yaxis_title=_("log P(token | rest)"),
                      xaxis=dict(type="category"), legend=dict(orientation="h", y=-0.3))
    return fig
