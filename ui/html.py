"""Small HTML renderers for highlighted text; every piece of user text goes through html.escape."""
from __future__ import annotations

import html
from typing import Sequence


def _rgba(weight: float, positive: str = "34,139,34", negative: str = "220,20,60") -> str:
    weight = max(-1.0, min(1.0, float(weight)))
    colour = positive if weight >= 0 else negative
    return f"rgba({colour},{abs(weight) * 0.85:.3f})"


def highlighted_tokens(tokens: Sequence[str], weights: Sequence[float], title: str | None = None) -> str:
    """Tokens on coloured backgrounds; weights in [-1, 1] (green positive, red negative)."""
    spans = []
    for tok, w in zip(tokens, weights):
        tip = f' title="{float(w):+.3f}"'
        spans.append(
            f'<span{tip} style="background:{_rgba(w)};padding:1px 3px;margin:1px;border-radius:3px;'
            f'display:inline-block">{html.escape(tok)}</span>'
        )
    head = f"<div style='font-weight:600'>{html.escape(title)}</div>" if title else ""
    return f"<div style='line-height:2;font-family:sans-serif'>{head}{''.join(spans)}</div>"


def labelled_spans(text: str, spans: Sequence[tuple[int, int, str, str]]) -> str:
    """Text with [start, end) spans marked as (start, end, label, css colour); the rest is plain."""
    out, cursor = [], 0
    for start, end, label, colour in sorted(spans):
        if start < cursor:
            continue  # overlapping spans: keep the first
        out.append(html.escape(text[cursor:start]))
        out.append(
            f'<mark style="background:{html.escape(colour)};padding:1px 4px;border-radius:4px">'
            f'{html.escape(text[start:end])}<sup style="font-size:0.7em;margin-left:3px">{html.escape(label)}</sup></mark>'
        )
        cursor = end
    out.append(html.escape(text[cursor:]))
    return "<div style='line-height:2;font-family:sans-serif;white-space:pre-wrap'>" + "".join(out) + "</div>"


def classed_line(css_class: str, *parts: str) -> str:
    """One line of text parts joined by " · " in a div of a fixed CSS class (the class is ours, never user text)."""
    return f"<div class='{html.escape(css_class, quote=True)}'>{' · '.join(html.escape(p) for p in parts)}</div>"
