"""Analysis lab: what moves information through the model, beyond attention weights. Thin: widgets and layout;
the methods live in bertexplore.analysis, memoised per session (moving a slider never re-runs the model)."""
from __future__ import annotations

import numpy as np
import streamlit as st

from bertexplore.analysis import census as census_mod
from bertexplore.analysis.figures import (graph_figure, importance_figure, label_map, layer_head_map, lens_figure,
                                          projector_figure)
from bertexplore.analysis.gradient_importance import gradient_importance, rank_correlation
from bertexplore.analysis.graph import (MIN_INPUTS, build_graph, contributions,
                                        default_threshold, node_detail)
from bertexplore.analysis.arrays import analysis_names
from bertexplore.analysis.lens import logit_lens
from bertexplore.analysis.projector import collect, project
from bertexplore.attention import ViewSettings, view_matrix
from bertexplore.figures import heatmap_figure
from bertexplore.head_importance import scan_heads
from bertexplore.mlm import top_k
from bertexplore.registry import picker_choices
from ui.analysis_view import html_line, model_key, trace_key
from ui.plot_in_place import plotly_figure
from ui.entry import inside_app
from ui.feedback import guard, show_notices, show_unknown
from ui import url_state
from ui.i18n import _
from ui.head_models import missing_head
from ui.markdown import plain
from ui.models import MODEL_KEY, current_model_name, get_model
from ui.session_memo import memo, recall
from ui.traces import get_trace
from ui.url_text import READ_CHARS, url_bind

inside_app()

st.title(_("Analysis lab"))
st.markdown(_("Attention weights are not explanations: [CLS] and [SEP] get large weights but carry little. These "
              "views show what actually moves through the model, computed from one forward of your text (plus one "
              "backward for the gradient view)."))

name = current_model_name()
loaded = get_model("mlm", name)
if loaded is None:
    st.stop()

text = st.text_area(_("Text"), "The capital of France is [MASK].", key="an_text", bind=url_bind("an_text"), height=80,
                    max_chars=READ_CHARS, help=_("Type [MASK] where the model should predict a token."))
pair = st.text_input(_("Second sentence (optional)"), "", key="an_pair", bind=url_bind("an_pair"),
                     max_chars=READ_CHARS)
trace = None
with guard():
    trace = get_trace(loaded, text, pair.strip() or None, names=analysis_names(loaded))  # ONE forward for every view
if trace is None:
    st.stop()
show_notices(trace.inputs.notices)
show_unknown(trace.inputs)
tkey = trace_key(loaded, trace)
mlm_ready = loaded.head in ("mlm", "pretraining") and bool(loaded.has_head)  # logit lens and head importance need it
tokens = trace.tokens
labels = [f"{i}: {t}" for i, t in enumerate(tokens)]  # positions from 0, as on every page

tabs, _open = url_state.tabs("an_tab")  # graph, lens, census, importance, projector, compare

with tabs[0]:
    if tabs[0].open is not False:
        st.markdown(_("Which tokens make up the chosen position after the last layer, layer by layer down to the "
                      "input (ALTI contributions, Ferrando et al. 2022). Edges below the threshold are hidden."))
        default_out = trace.mask_positions[0] if trace.mask_positions else 0
        c1, c2 = st.columns([2, 3])
        with c1:
            out = url_state.position(st.selectbox, _("Output position"), "an_graph_out", len(tokens), default_out,
                                     lambda i: labels[i])
        with guard():
            contrib = memo("analysis_contrib", tkey, lambda: contributions(trace, loaded))
            # A new text or output position starts from its own default threshold (several chains, not a hairball)
            auto = memo("analysis_graph_auto", tkey + (int(out),), lambda: default_threshold(contrib, int(out)))
            if st.session_state.get("_an_graph_auto_for") != tkey + (int(out),):
                st.session_state["_an_graph_auto_for"] = tkey + (int(out),)
                st.session_state["an_graph_threshold"] = auto
            threshold = c2.slider(_("Threshold"), 0.0, 0.5, step=0.01, key="an_graph_threshold",  # set above
                                  help=_("Hide edges carrying less than this share of the output. The starting "
                                         "value ({auto:.2f}) is the largest that reaches at least {inputs} input "
                                         "tokens.").format(auto=auto, inputs=MIN_INPUTS))
            graph = build_graph(contrib, int(out), float(threshold))
            chosen = st.session_state.get("an_graph_node")
            node_names = {f"{_('layer {l}').format(l=l)} · {tokens[t]} ({t})": (l, t) for l, t in graph.nodes}
            event = st.plotly_chart(graph_figure(contrib, graph, node_names.get(chosen)), width="stretch",
                                    key="an_graph", on_select="rerun", selection_mode="points")
            picked = None
            points = (getattr(getattr(event, "selection", None), "points", None) or []) if event else []
            for point in points:  # a node's (level, token) is its customdata, and also its (y, x)
                where = point.get("customdata")
                where = where[:2] if where is not None else (point.get("y"), point.get("x"))
                try:
                    node = (int(where[0]), int(where[1]))
                except (TypeError, ValueError):
                    continue
                picked = next((k for k, v in node_names.items() if v == node), None)
                if picked:
                    break
            if picked and picked != chosen:
                st.session_state["an_graph_node"] = picked
            options = list(node_names)
            if st.session_state.get("an_graph_node") not in options:
                st.session_state.pop("an_graph_node", None)  # the node left the graph (threshold or position moved)
            node_label = st.selectbox(_("Node"), options, key="an_graph_node", index=None,
                                      placeholder=_("Click a node in the graph, or pick one here"))
            st.caption(_("Threshold {t:.2f}: nodes {nodes}, edges {edges}.").format(
                nodes=len(graph.nodes), edges=len(graph.edges), t=threshold))
            if node_label in node_names:
                d = node_detail(contrib, graph, node_names[node_label])
                html_line(_("<b>{token}</b> after layer {level}: {flow} of the output position."),
                          token=tokens[d.token], level=d.level, flow=f"{d.flow:.1%}")
                if d.level == 0:
                    st.caption(_("An input embedding: nothing flows into it."))
                else:
                    a, b = st.columns(2)
                    a.dataframe([{_("from token"): f"{j}: {t}", _("share"): s} for j, t, s in d.sources],
                                hide_index=True, width="stretch")
                    b.dataframe([{_("through"): n, _("share"): s} for n, s in d.heads], hide_index=True,
                                width="stretch")

with tabs[1]:
    if tabs[1].open:
        st.markdown(_("The model's own output head applied to every layer's hidden state (the logit lens): at each "
                      "[MASK] for a masked LM, at [CLS] through the pooler for a classifier."))
        head = url_state.choice(st.radio, _("Read with"), "an_lens_head", horizontal=True)
        if head == "mlm" and not mlm_ready:
            missing_head("mlm", MODEL_KEY, name, _("The contribution graph, head census and projector work with it."),
                         reason=_("**{model}** has no masked-LM head, so the logit lens has no head to read its "
                                  "layers with.").format(model=plain(name)))
        with guard():
            lens_model = loaded if head == "mlm" else get_model("sequence-classification", name)
            if lens_model is not None and (head != "mlm" or mlm_ready):
                lens_trace = trace if head == "mlm" else get_trace(lens_model, text, pair.strip() or None,
                                                                   names=analysis_names(lens_model))
                lens = memo("analysis_lens", trace_key(lens_model, lens_trace), lambda: logit_lens(lens_model, lens_trace))
                k = st.slider(_("Top k"), 1, 10, 5, key="an_lens_k")
                ids, probs = lens.top_k(k)
                for index, pos in enumerate(lens.positions):
                    names = (lens.labels if lens.kind == "classifier"
                             else lens_model.tokens_of(ids[index]))
                    names = np.asarray(names if lens.kind == "mlm" else [lens.labels[i] for i in ids[index].ravel()],
                                       dtype=object).reshape(ids[index].shape)
                    answer = names[-1, 0]
                    html_line(_("Position {pos} (<b>{token}</b>): final answer <b>{answer}</b>"),
                              pos=pos, token=lens_trace.tokens[pos], answer=answer)
                    st.plotly_chart(lens_figure(lens, index, str(answer)), width="stretch", key=f"an_lens_fig_{index}")
                    rows = [{_("layer"): layer, **{f"#{r + 1}": f"{names[layer, r]} ({probs[index, layer, r]:.1%})"
                                                   for r in range(ids.shape[-1])}}
                            for layer in range(ids.shape[1])]
                    st.dataframe(rows, hide_index=True, width="stretch")

with tabs[2]:
    if tabs[2].open:
        st.markdown(_("Where each head's attention goes (Clark et al. 2019) and an automatic pattern label per head "
                      "(Kovaleva et al. 2019): vertical (most weight on a few columns such as [CLS]/[SEP]), diagonal "
                      "(previous / same / next token), block (within its own sentence), heterogeneous."))
        scope = st.radio(_("Over"), ["text", "set"], horizontal=True, key="an_census_scope",
                         format_func=lambda s: _("this text") if s == "text" else _(
                             "{n} bundled sentence pairs (one batch)").format(n=len(census_mod.bundled_pairs())))
        stat = st.selectbox(_("Statistic"), list(census_mod.STATS), format_func=lambda s: _(census_mod.STATS[s]),
                            key="an_census_stat")
        with guard():
            if scope == "text":
                result = census_mod.census_of_trace(trace)
            else:
                result = memo("analysis_census_set", model_key(loaded), lambda: census_mod.census_of_set(loaded))
            a, b = st.columns(2)
            a.plotly_chart(layer_head_map(result.stats[stat], _("Attention {what}").format(
                what=_(census_mod.STATS[stat])), "Viridis" if stat == "entropy" else "Blues"), width="stretch",
                key="an_census_map")
            b.plotly_chart(label_map(result.labels, _("Pattern per head")), width="stretch", key="an_census_labels")
            st.dataframe([{_("pattern"): _(census_mod.LABEL_NAMES[k]), _("heads"): n} for k, n in result.counts().items()],
                         hide_index=True)
            st.caption(_("Rules: vertical if the two most-attended columns take ≥ {v:.0%} of a row on average; "
                         "diagonal if ≥ {d:.0%} lies within one position; both if each is ≥ {m:.0%}; block if the "
                         "share inside the row's own segment is ≥ {b:.0%} of the way from uniform to all (needs two "
                         "sentences).").format(v=census_mod.RULES["VERTICAL"], d=census_mod.RULES["DIAGONAL"],
                                               m=census_mod.RULES["MIXED"], b=census_mod.RULES["BLOCK"]))

with tabs[3]:
    if tabs[3].open:
        st.markdown(_("One forward and one backward give every head's importance at once (Michel et al. 2019): the "
                      "gradient of log p(prediction at the [MASK]) with respect to a gate on each head estimates how "
                      "much the prediction drops when the head is switched off. The exhaustive scan measures that "
                      "drop with one forward per head."))
        if not mlm_ready:
            missing_head("mlm", MODEL_KEY, name, _("The contribution graph, head census and projector work with it."),
                         reason=_("**{model}** has no masked-LM head, so there is no prediction whose drop would "
                                  "measure a head's importance.").format(model=plain(name)))
        else:
            with guard():
                grad = memo("analysis_gradient", tkey, lambda: gradient_importance(loaded, trace.inputs))
                st.caption(_("Objective: log p('{target}') at position {pos}.").format(target=grad.target,
                                                                                       pos=grad.position))
                a, b = st.columns(2)
                a.plotly_chart(layer_head_map(grad.gradient, _("Gradient estimate (1 forward + 1 backward)"), "RdBu",
                                              zmid=0.0), width="stretch", key="an_grad_map")
                scan = recall("analysis_scan", tkey)
                if scan is None and b.button(_("Run the ablation scan ({n} heads)").format(
                        n=loaded.num_layers * loaded.num_heads), key="an_scan_run"):
                    with st.spinner(_("Switching every head off in turn…")):
                        scan = memo("analysis_scan", tkey, lambda: scan_heads(loaded, trace.inputs)[1])
                if scan is not None:
                    b.plotly_chart(layer_head_map(scan, _("Ablation scan (one forward per head)"), "RdBu", zmid=0.0),
                                   width="stretch", key="an_scan_map")
                    rho = rank_correlation(grad.gradient, scan)
                    st.plotly_chart(importance_figure(grad.gradient, scan, rho), width="stretch", key="an_importance")
                    st.caption(_("Spearman rank correlation {rho:.2f}: near 1, the cheap gradient ranks heads as the scan "
                                 "does; low, switching a head off is far from a small change here.").format(rho=rho))

with tabs[4]:
    if tabs[4].open:
        st.markdown(_("PCA of the hidden states of several sentences at one layer: watch the senses of a word "
                      "separate with depth."))
        lines = st.text_area(_("Sentences, one per line"), "I sat on the bank of the river.\nThe river bank was "
                             "muddy.\nShe deposited money at the bank.\nThe bank raised its interest rates.",
                             key="an_proj_text", height=120)
        with guard():
            sentences = [s for s in lines.splitlines() if s.strip()]
            data = memo("analysis_projector", model_key(loaded) + tuple(sentences), lambda: collect(loaded, sentences))
            c1, c2, c3 = st.columns(3)
            layer = c1.slider(_("Layer (0 = embeddings)"), 0, data.num_layers, data.num_layers, key="an_proj_layer")
            unit = c2.radio(_("Points"), ["tokens", "cls", "mean"], key="an_proj_unit", format_func=lambda u: {
                "tokens": _("tokens"), "cls": _("first token ([CLS])"), "mean": _("mean-pooled sentences")}[u])
            colour = c3.radio(_("Colour by"), ["sentence", "word"], key="an_proj_colour", disabled=unit != "tokens",
                              format_func=lambda c: _("sentence") if c == "sentence" else _("word"))
            special = c3.toggle(_("Include [CLS]/[SEP]"), key="an_proj_special", disabled=unit != "tokens")
            proj = project(data, int(layer), unit, bool(special))
            groups = ([_("sentence {n}").format(n=s + 1) for s in proj.sentence] if colour == "sentence" or unit != "tokens"
                      else list(proj.labels))
            st.plotly_chart(projector_figure(proj, groups, _("Layer {layer}").format(layer=layer)), width="stretch",
                            key="an_proj_fig")

with tabs[5]:
    if tabs[5].open:
        st.markdown(_("The same text through two models: predictions, attention of a chosen layer and head in each, "
                      "and how the head census differs."))
        choices = picker_choices()
        other_name = st.selectbox(_("Second model"), choices, index=None, key="an_other", accept_new_options=True,
                                  placeholder=_("Pick or type a model"))
        if other_name:
            with guard():
                other = get_model("mlm", other_name)
                if other is not None:
                    other_trace = get_trace(other, text, pair.strip() or None)
                    cols = st.columns(2)
                    for col, (m, t, tag) in zip(cols, ((loaded, trace, "a"), (other, other_trace, "b"))):
                        with col:
                            st.text(m.name)
                            if t.mask_positions and m.has_head and m.head == "mlm":
                                for preds in top_k(m, t, k=5):
                                    st.dataframe(preds.rows(), hide_index=True, width="stretch")
                            else:
                                st.caption(_("No masked-LM prediction (no [MASK] in the text or no masked-LM head)."))
                            l = st.slider(_("Layer"), 1, t.num_layers, 1, key=f"an_cmp_layer_{tag}")
                            h = st.slider(_("Head"), 1, t.num_heads, 1, key=f"an_cmp_head_{tag}")
                            view = view_matrix(t, ViewSettings(layer=l - 1, head=h - 1))
                            plotly_figure(heatmap_figure(view), key=f"an_cmp_fig_{tag}")
                    stat = st.selectbox(_("Census statistic"), list(census_mod.STATS), key="an_cmp_stat",
                                        format_func=lambda s: _(census_mod.STATS[s]))
                    diff = census_mod.difference(census_mod.census_of_trace(trace), census_mod.census_of_trace(other_trace))
                    st.plotly_chart(layer_head_map(diff[stat], _("Second model minus first: attention {what}").format(
                        what=_(census_mod.STATS[stat])), "RdBu", zmid=0.0), width="stretch", key="an_cmp_diff")
