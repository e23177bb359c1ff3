"""Named entities: tags per word, entities inline and in a table, and the attention from and to an entity."""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from bertexplore.figures import plot_text
from bertexplore.tasks.ner import STRATEGIES, entities, entity_attention, split_tag, tag
from ui.feedback import guard, show_notices, show_unknown
from ui.markdown import plain
from ui.html import labelled_spans
from ui.task_views import (clamp_state, colour_for, default_text, example_picker, first_example, memo, task_header, task_model,
                           token_labels)
from ui.entry import inside_app
from ui import url_state
from ui.i18n import _, table

inside_app()  # a deep link on a fresh server must still run through app.py

HEAD = "token-classification"

name = task_header(HEAD, "ner_checkpoint", _("Named entities"), _(
    "A token classifier tags every wordpiece (B- begins an entity, I- continues it, O is outside). "
    "Wordpieces are merged back into words, words into entities; then pick an entity to see where it looks "
    "and who looks at it."
))
default_text("ner_text", first_example("ner", "John Smith moved from London to Paris to work for Google."))
example_picker("ner", "ner_example", lambda text: {"ner_text": text})
text = st.text_input(_("Text"), key="ner_text", bind="query-params", max_chars=20_000)  # one line: Enter applies
strategy = url_state.choice(st.radio, _("Wordpieces → words"), "ner_strategy", horizontal=True,
                            help="; ".join(f"{_(k)}: {_(v)}" for k, v in STRATEGIES.items()))
st.caption(_("**{strategy}**: {strategies}.").format(strategy=_(strategy), strategies=_(STRATEGIES[strategy])))

loaded = task_model(HEAD, name)
if loaded is None:
    st.stop()

with guard():
    tags = memo("ner", (loaded.key, text), lambda: tag(loaded, text), keep=2)
    show_notices(tags.notices)
    show_unknown(tags.inputs)
    words, found = entities(tags, strategy)
    types = sorted({split_tag(label)[1] for label in tags.labels if split_tag(label)[0] != "O"})
    spans = [(e.start, e.end, f"{e.type} {e.score:.2f}", colour_for(e.type, types)) for e in found]
    st.html(labelled_spans(tags.inputs.text, spans))
    if types:
        st.caption(_("Types: {types}").format(types=" · ".join(plain(t) for t in types)))
    if not found:
        st.info(_("The model found no entities in this text."))
    else:
        st.dataframe(table([e.row() for e in found]), hide_index=True, width="stretch")
    with st.expander(_("Tag of every word")):
        st.dataframe(table([{"word": w.text, "tag": w.label, "score": round(w.score, 4), "start": w.start, "end": w.end,
                             "wordpieces": " ".join(tags.inputs.tokens[p] for p in w.positions)} for w in words]),
                     hide_index=True, width="stretch")

    if found:
        st.subheader(_("Attention from and to an entity"))
        # Labels as the options themselves: a new text gives new options, so the picker never shows a stale entity.
        labels = [_("{text} ({type}, characters {start}–{end})").format(text=e.text, type=e.type, start=e.start,
                                                                       end=e.end) for e in found]
        if st.session_state.get("ner_entity") not in labels:
            st.session_state["ner_entity"] = labels[0]
        choice = labels.index(st.selectbox(_("Entity"), labels, key="ner_entity"))
        layers, heads = tags.attentions.shape[:2]
        clamp_state("ner_layer", 1, layers)
        clamp_state("ner_head", 1, heads)
        cols = st.columns(2)
        layer = cols[0].slider(_("Layer"), 1, layers, layers, key="ner_layer", bind="query-params")
        head = cols[1].slider(_("Head"), 1, heads, 1, key="ner_head", bind="query-params")
        entity = found[int(choice)]
        from_weights, to_weights = entity_attention(tags.attentions, entity.positions, layer - 1, head - 1)
        labels = token_labels(tags.inputs.tokens)
        mine = set(entity.positions)
        colours = ["#c62828" if i in mine else "#1e88e5" for i in range(len(labels))]
        for title, weights, axis in (
            (_("Attention FROM '{entity}' (average over its wordpieces; sums to 1)").format(entity=entity.text),
             from_weights, _("share of its attention")),
            (_("Attention TO '{entity}' from every token (share of that token's attention)").format(entity=entity.text),
             to_weights, _("share")),
        ):
            fig = go.Figure(go.Bar(x=labels, y=weights.tolist(), marker_color=colours))
            fig.update_layout(title=dict(text=plot_text(title), font_size=14), height=300, margin=dict(l=10, r=10, t=40, b=10),
                              yaxis_title=axis, xaxis_tickangle=-45)
            st.plotly_chart(fig, width="stretch")
        st.caption(_("Layer {layer}, head {head}; the entity's own wordpieces are red. The Attention page "
                     "shows every head at once.").format(layer=layer, head=head))
