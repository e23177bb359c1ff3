"""Attention page: one forward per text, then every view (heads, all heads, rollout, bertviz) from that trace."""
from dataclasses import replace

import streamlit as st

from bertexplore.analysis.measures import MEASURES
from bertexplore.download import download_command
from bertexplore.figures import export_config
from bertexplore.loading import LoadedModel
from bertexplore.registry import DEFAULT_ONLINE_MODEL
from bertexplore.trace import Trace
from bertexplore.analysis.arrays import analysis_names
from ui.analysis_view import MEASURE_KEY, measure_selector
from ui.attention_view import bertviz_panel, controls, downloads, grid_for, heatmap_for, per_layer, text_inputs
from ui.feedback import guard, show_notices, show_unknown
from ui.markdown import plain
from ui.plot_in_place import plotly_figure
from ui.models import current_model_name, get_model
from ui.traces import get_trace, held_trace
from ui.entry import inside_app
from ui.i18n import N_, _, table
from ui import url_state

inside_app()  # a deep link on a fresh server must still run through app.py

st.title(_("Attention"))
st.markdown(_("Which tokens does each head look at? Every row is a token **attending**; its weights over "
              "the columns (the tokens **attended to**) sum to 1. Changing layer, head or view never "
              "re-runs the model."))

name = current_model_name()
loaded = get_model("mlm", name)  # the same cached model as the other Explore pages; traces skip the head
if loaded is None:
    st.stop()
st.caption(_("Model **{name}** ({num_layers} layers × {num_heads} heads, up to {max_length} tokens, on "
             "{device}). The recommended model is fetched with `{command}`.").format(
               name=plain(name), num_layers=loaded.num_layers, num_heads=loaded.num_heads,
               max_length=loaded.max_length, device=loaded.device,
               command=download_command(DEFAULT_ONLINE_MODEL, "--to", "models")))


def measure_reads_arrays() -> bool:
    """Whether "Show" asks for a measure beyond raw weights (norms, ALTI): those read the values and the residual
    stream, which the page's ONE trace then records (1.01x a default trace) instead of a second trace later."""
    chosen = st.session_state.get(MEASURE_KEY, st.query_params.get(MEASURE_KEY))
    return url_state.resolve(MEASURE_KEY, chosen) not in (None, "weights")  # a stable value, or an old label


text, pair = text_inputs()
trace = None
with guard():
    richer = analysis_names(loaded) if loaded.full_cache else None
    if richer is not None:  # held already (switching "Show" back to weights runs nothing), or needed now
        trace = held_trace(loaded, text, pair.strip() or None, richer)
        if trace is None and measure_reads_arrays():
            trace = get_trace(loaded, text, pair.strip() or None, names=richer)
    if trace is None:
        trace = get_trace(loaded, text, pair.strip() or None)
if trace is None:
    st.stop()
show_notices(trace.inputs.notices)
show_unknown(trace.inputs)
with st.expander(_("Tokens ({n_tokens})").format(n_tokens=len(trace.tokens))):
    st.dataframe(table(trace.inputs.table()), hide_index=True, width="stretch")


# What the Rollout tab computes, per measure (bertexplore.attention.rollout and analysis.measures.measured_view).
ROLLOUT_EXPLANATIONS = {
    "weights": N_("**Attention rollout** (Abnar & Zuidema, 2020): how much each input token can flow into each "
                  "position after the selected layer, multiplying head-averaged attention layer by layer with 0.5·I "
                  "added for the residual connection."),
    "norm": N_("**Rollout of the norm-weighted matrices**: each layer's ‖α·f(x)‖, every head's rows scaled to sum "
               "to 1, averaged over heads, with 0.5·I added for the residual connection, multiplied layer by layer "
               "up to the selected layer."),
    "norm_residual_ln": N_("**Rollout of the residual + LayerNorm norms**: each layer's matrix, scaled so rows sum "
                           "to 1, multiplied layer by layer up to the selected layer. The residual connection is "
                           "already inside these matrices, so no 0.5·I is added."),
    "alti": N_("**ALTI rollout** (Ferrando et al., 2022): the layers' ALTI contribution matrices multiplied layer by "
               "layer up to the selected layer: how much each input token makes up each position. The residual "
               "connection is already inside each matrix, so no 0.5·I is added."),
}


def raw_weights_only(shown) -> None:
    """bertviz draws attention weights only: say so when the page shows another measure."""
    if shown.name != "weights":
        st.info(_("bertviz draws the raw attention weights α, not “{measure}” chosen under Show: compare with "
                  "the Heatmap tab, which draws {measure}.").format(measure=shown.label), icon=":material/info:")


@st.fragment
def views(trace: Trace, loaded: LoadedModel) -> None:
    """Selectors and views. A layer, head, option or tab change reruns only this fragment: the text boxes, the
    token table and the model are left alone, and figures already built for this trace are reused."""
    ctl = controls(trace.num_layers, trace.num_heads)
    s = ctl.settings
    shown = measure_selector(trace, loaded)  # weights, ‖α·f(x)‖, + residual/LayerNorm, or ALTI, for the three views
    zmax = 1.0 if ctl.fixed_scale and shown.bounded else None
    tabs, _open = url_state.tabs("attention_tab")  # heatmap, all_heads, rollout, head_view, model_view

    with tabs[0]:
        if tabs[0].open is not False:
            with guard():
                view, fig, caption, nbytes = heatmap_for(shown, s, ctl.colorscale, zmax)
                plotly_figure(fig, key="attention_heatmap", config=export_config(view.title))
                if per_layer(shown) and s.head is not None:
                    st.caption(_("{measure} gives one matrix per layer (all heads together): the Head selector does "
                                 "not change this view.").format(measure=shown.label))
                st.caption(caption)  # computed from the matrix drawn above, whatever the measure and settings
                for note in view.notes:
                    st.caption(note)
                st.caption(_("This figure sends {nbytes:,.0f} kB to the browser. The camera icon in the "
                             "figure's toolbar saves it as PNG.").format(nbytes=nbytes / 1e3))
                downloads(trace, view, view.title)

    with tabs[1]:
        if tabs[1].open:
            with guard():
                grid, fig, nbytes = grid_for(shown, ctl.colorscale, zmax, None if s.head is None else (s.layer, s.head))
                plotly_figure(fig, key="attention_grid", config=export_config("all_heads"))
                if grid.pooled:
                    st.caption(_("{n_tokens} tokens: each tile is pooled to {side}×{side} cells ({factor} "
                                 "tokens per cell side: mean over attending tokens, sum over attended "
                                 "ones, so rows still sum to 1). Open a head in the Heatmap tab for full "
                                 "detail.").format(n_tokens=len(trace.tokens), side=grid.side, factor=grid.factor))
                if per_layer(shown):
                    weights_label, norm_label = MEASURES["weights"], MEASURES["norm"]
                    st.caption(_("{measure} gives ONE matrix per layer, the heads together: {layers} tiles, one per "
                                 "layer, {nbytes:,.0f} kB. Choose “{weights}” or “{norm}” to see the heads "
                                 "apart.").format(measure=shown.label, layers=grid.heads, nbytes=nbytes / 1e3,
                                                  weights=_(weights_label), norm=_(norm_label))
                               + (" " + _("The red box is the selected layer.") if s.head is not None else ""))
                else:
                    st.caption(_("All {layers} layers (rows) × {heads} heads (columns) in one figure, "
                                 "{nbytes:,.0f} kB.").format(layers=grid.layers, heads=grid.heads, nbytes=nbytes / 1e3)
                               + (" " + _("The red box is the selected layer and head.") if s.head is not None else ""))

    with tabs[2]:
        if tabs[2].open:
            st.markdown(_(ROLLOUT_EXPLANATIONS[shown.name]))
            with guard():
                view, fig, caption, _nbytes = heatmap_for(shown, replace(s, rollout=True), ctl.colorscale, zmax)
                plotly_figure(fig, key="attention_rollout", config=export_config("rollout"))
                st.caption(caption)
                for note in view.notes:
                    st.caption(note)

    with tabs[3]:
        if tabs[3].open:
            raw_weights_only(shown)
            with guard():
                bertviz_panel(trace, "head", s.layer, s.head if s.head is not None else 0)

    with tabs[4]:
        if tabs[4].open:
            raw_weights_only(shown)
            with guard():
                bertviz_panel(trace, "model", s.layer, s.head if s.head is not None else 0)


views(trace, loaded)
