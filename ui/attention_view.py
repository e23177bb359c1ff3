"""Streamlit glue for the Attention page: its controls, the examples, downloads and the bertviz iframes.

Everything here renders from a Trace already in the session; nothing calls the model.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from bertexplore.analysis.measures import MeasuredTrace, measured_view
from bertexplore.attention import (ViewSettings, tiled_grid, trace_npz, view_csv,
                                   view_matrix)
from bertexplore.bertviz_offline import (head_view_html, iframe_height, model_view_html, token_window,
                                         window_for_all_heads)
from bertexplore.figures import (COLORSCALES, figure_bytes, grid_figure, heatmap_figure, matrix_caption,
                                 safe_filename)
from bertexplore.trace import Trace

from . import examples, url_state
from .i18n import LANG_KEY, _
from .view_memo import derived
from .url_text import READ_CHARS, url_bind

TEXT_KEY, PAIR_KEY, EXAMPLE_KEY = "attention_text", "attention_pair", "attention_example"


def load_examples() -> list[dict]:
    """The page's examples, the interface language's first (read once per process: ui/examples.py)."""
    data = examples.load("attention")
    return list(data.get("examples", [])) if isinstance(data, dict) else []


def _forget_example() -> None:
    st.session_state[EXAMPLE_KEY] = None  # the text was edited: the picker must not keep the example's name


def _use_example() -> None:
    chosen = st.session_state.get(EXAMPLE_KEY)
    for ex in load_examples():
        if ex["name"] == chosen:
            st.session_state[TEXT_KEY] = ex["text"]
            st.session_state[PAIR_KEY] = ex.get("pair", "")


def text_inputs() -> tuple[str, str]:
    """Example picker, sentence A and optional sentence B (both bound to the URL)."""
    examples = load_examples()
    default_text = examples[0]["text"] if examples else "The cat sat on the mat."
    if examples:
        st.selectbox(_("Start from an example"), [ex["name"] for ex in examples], index=None,
                     placeholder=_("Pick an example sentence…"), key=EXAMPLE_KEY, on_change=_use_example)
    # One line: Enter applies the text (in a text area Enter only adds a newline).
    url_state.default_in_link(TEXT_KEY, default_text)  # the language's first example: into the link too
    text = st.text_input(_("Text (sentence A)"), key=TEXT_KEY, bind=url_bind(TEXT_KEY),
                         max_chars=READ_CHARS, on_change=_forget_example,
                         help=_("Up to the model's maximum length (512 tokens for BERT); longer text is cut "
                                "with a notice."))
    pair = st.text_input(_("Second sentence (B, optional)"), value="", key=PAIR_KEY, bind=url_bind(PAIR_KEY), max_chars=READ_CHARS,
                         help=_("With a second sentence the model sees [CLS] A [SEP] B [SEP]; use the "
                                "filters to see A→B."))
    return text, pair


def _clamp(key: str, top: int) -> None:
    # A value from another model (or a shared link) may exceed this model's range.
    value = st.session_state.get(key)
    if isinstance(value, int) and not 1 <= value <= top:
        st.session_state[key] = min(max(1, value), top)


def _picker(label: str, key: str, top: int, help: str) -> int:
    if top <= 1:
        st.caption(_("{label}: 1 (the only one)").format(label=label))
        return 1
    _clamp(key, top)
    return int(st.slider(label, 1, top, 1, key=key, bind="query-params", help=help))


@dataclass(frozen=True)
class Controls:
    settings: ViewSettings
    colorscale: str
    fixed_scale: bool


def controls(num_layers: int, num_heads: int) -> Controls:
    """Layer/head selectors and the view toggles; all bound to the URL so a link reopens this exact view."""
    c1, c2, c3 = st.columns([2, 2, 1])
    with c1:
        layer = _picker(_("Layer"), "attention_layer", num_layers, _("1 is closest to the input."))
    with c2:
        head = _picker(_("Head"), "attention_head", num_heads,
                       _("Each layer has several heads that attend independently."))
    with c3:
        average = st.toggle(_("Average over heads"), key="attention_avg", bind="query-params",
                            help=_("Mean of all heads of the layer (rows still sum to 1)."))
    c4, c5, c6, c7 = st.columns(4)
    with c4:
        level = url_state.choice(st.radio, _("Units"), "attention_level", horizontal=True,
                                 help=_("Words join wordpieces: attention TO a word is the sum over its pieces, "
                                        "FROM a word the mean."))
    with c5:
        flt = url_state.choice(st.selectbox, _("Segments"), "attention_filter",
                               help=_("With a second sentence: A → B shows how tokens of A attend to tokens of "
                                      "B."))
    with c6:
        hide = st.toggle(_("Hide [CLS]/[SEP]"), key="attention_hide_special", bind="query-params",
                         help=_("Many heads park attention on [CLS]/[SEP]; hiding them shows the rest."))
        renorm = st.toggle(_("Renormalise rows"), value=True, key="attention_renorm", bind="query-params", disabled=not hide,
                           help=_("On: rows sum to 1 over the tokens left. Off: raw weights, rows sum to "
                                  "less than 1."))
    with c7:
        colours = st.selectbox(_("Colours"), COLORSCALES, key="attention_colors", bind="query-params")
        fixed = st.toggle(_("Scale 0–1"), key="attention_fixed_scale", bind="query-params",
                          help=_("Off: the colour scale stretches to the largest weight shown."))
    settings = ViewSettings(layer=layer - 1, head=None if average else head - 1, level=level,
                            hide_special=hide, renormalize=renorm, filter=url_state.SEGMENT_FILTERS[flt])
    return Controls(settings, colours, fixed)


def downloads(trace: Trace, view, name: str) -> None:
    """CSV of the shown matrix and NPZ of the whole trace, generated only when clicked (they can be large)."""
    c1, c2 = st.columns(2)
    c1.download_button(_("Download this matrix (CSV)"), data=lambda: view_csv(view), file_name=f"{safe_filename(name)}.csv",
                       mime="text/csv", key="attention_dl_csv", on_click="ignore", icon=":material/table:")
    c2.download_button(_("Download all attentions (NPZ)"), data=lambda: trace_npz(trace),
                       file_name="attentions.npz", mime="application/octet-stream", key="attention_dl_npz",
                       on_click="ignore", icon=":material/download:",
                       help=_("NumPy archive: attentions [layers, heads, T, T], tokens, input_ids, "
                              "segment_ids."))


def bertviz_panel(trace: Trace, kind: str, layer: int, head: int) -> None:
    """Embed bertviz's head or model view, self-contained; say which subset a long input gets."""
    build = head_view_html if kind == "head" else model_view_html
    length = len(trace.tokens)
    fits = window_for_all_heads(trace.num_layers, trace.num_heads)
    window = None
    if length > fits:
        # A long input would leave bertviz one layer x one head (a thin column, a wall of lines): offer every layer
        # and head of the tokens around one instead.
        c1, c2, c3 = st.columns([1, 1, 2])
        if c1.toggle(_("Token window"), value=True, key=f"bertviz_window_{kind}",
                     help=_("Show every layer and head for the tokens around one token, instead of a few heads "
                            "for the whole input.")):
            size = c2.number_input(_("Tokens in the window"), 8, min(length, 256), min(fits, length), 8,
                                   key=f"bertviz_size_{kind}")
            positions = list(range(length))
            center = c3.selectbox(_("Around token"), positions, index=min(length - 1, layer_default(trace)),
                                  key=f"bertviz_center_{kind}",
                                  format_func=lambda p: f"{p} · {trace.tokens[p]}")
            window = token_window(length, int(center), int(size))
    with st.spinner(_("Building the bertviz view…")):
        view = build(trace, layer=layer, head=head, window=window)
    if view.window is not None:
        st.caption(_("Tokens {start}–{stop} of {n}: the weights between these tokens only (attention to tokens "
                     "outside the window is not drawn, so rows sum to less than 1).").format(
                       start=view.window[0], stop=view.window[1] - 1, n=length))
    if not view.offline:
        st.warning(_("The JavaScript libraries bertviz needs were not found in node_modules (run `npm ci` "
                     "in the app folder), so this view loads them from a CDN and needs internet to draw."))
    sub = view.subset
    if sub.complete:
        st.caption(_("bertviz {kind} view of all {num_layers} layers × {num_heads} heads ({nbytes:.1f} MB "
                     "sent). Hover a token to follow its attention; bertviz numbers layers and heads from "
                     "0.").format(
                       kind=_(kind), num_layers=trace.num_layers, num_heads=trace.num_heads, nbytes=view.nbytes / 1e6))
    else:
        full_mb = sub.full_values * 7 / 1e6  # ~7 bytes per rounded weight in bertviz's JSON
        order = _(" (the coloured head boxes follow that order)") if kind == "head" and len(sub.heads) < trace.num_heads else ""
        st.info(_("The input has {n_tokens} tokens: all {heads} heads would send about {full_mb:.0f} "
                  "MB and stall the browser, so bertviz shows {describe}{order} ({nbytes:.1f} MB). Move "
                  "the layer/head selectors to see others, or use the All heads tab for the overview.").format(
                    n_tokens=shown_tokens(view, trace), heads=trace.num_layers * trace.num_heads, full_mb=full_mb,
                    describe=sub.describe(), order=order, nbytes=view.nbytes / 1e6), icon="✂️")
    shown = length if view.window is None else view.window[1] - view.window[0]
    st.iframe(view.html, height=iframe_height(kind, shown, sub, pair=view.pair))


def layer_default(trace: Trace) -> int:
    """The window's first centre: the first [MASK] if any, else the middle of the input."""
    for i, tok in enumerate(trace.tokens):
        if tok == "[MASK]":
            return i
    return len(trace.tokens) // 2


# ---------------------------------------------------------------- figures, built once per trace and view
def _language() -> str | None:
    return st.session_state.get(LANG_KEY)  # figure titles are translated: a language switch builds them anew


def heatmap_for(shown: Trace | MeasuredTrace, settings: ViewSettings, colorscale: str, zmax: float | None):
    """(view, figure, caption, bytes sent) of `shown` (a trace, or the analysis selector's measure of one) under
    these settings; the caption's numbers come from the matrix the figure draws (matrix_caption), so they cannot
    describe another head or measure. Rebuilt only for settings this trace has not shown yet."""
    def build():
        view = measured_view(shown, settings) if isinstance(shown, MeasuredTrace) else view_matrix(shown, settings)
        fig = heatmap_figure(view, colorscale, zmax)
        return view, fig, matrix_caption(view), figure_bytes(fig)

    return derived("attention_heatmap", shown, (settings, colorscale, zmax, _language()), build)


def per_layer(shown: Trace | MeasuredTrace) -> bool:
    """The measure has one matrix per layer (all heads together), not one per head."""
    return bool(getattr(shown, "per_layer", False))


def grid_for(shown: Trace | MeasuredTrace, colorscale: str, zmax: float | None, selected: tuple[int, int] | None):
    """(tiled grid, figure, bytes sent) of all layers x heads, or, for a measure with one matrix per layer, of the
    layers side by side (one tile each: the heads are not drawn apart because the measure does not tell them
    apart)."""
    one_per_layer = per_layer(shown)

    def build():
        if one_per_layer:
            # [L, H, T, T] repeats one matrix per layer: lay the L matrices out as one row of tiles
            tiles = derived("attention_tiles", shown, (True,),
                            lambda: tiled_grid(np.asarray(shown.attentions[:, 0])[None]), keep=3)
            box = None if selected is None else (0, selected[0])
        else:
            tiles = derived("attention_tiles", shown, (), lambda: tiled_grid(shown.attentions), keep=3)
            box = selected
        fig = grid_figure(tiles, colorscale, zmax, selected=box, per_layer=one_per_layer)
        return tiles, fig, figure_bytes(fig)

    return derived("attention_grid", shown, (colorscale, zmax, selected, one_per_layer, _language()), build)


def shown_tokens(view, trace: Trace) -> int:
    return len(trace.tokens) if view.window is None else view.window[1] - view.window[0]
