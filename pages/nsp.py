"""Next-sentence prediction: does sentence B follow sentence A? BERT's second pre-training task."""
from __future__ import annotations

import html

import plotly.graph_objects as go
import streamlit as st

from bertexplore.tasks.nsp import NSP_LABELS, heldout_accuracy, predict_next
from ui.feedback import guard, show_notices, show_unknown
from ui.task_views import PALETTE, default_text, example_picker, first_example, memo, task_header, task_model
from ui.entry import inside_app
from ui.i18n import _, table
from ui.url_text import READ_CHARS, url_bind

inside_app()  # a deep link on a fresh server must still run through app.py

HEAD = "pretraining"

name = task_header(HEAD, "nsp_checkpoint", _("Next sentence"), _(
    "During pre-training BERT saw pairs of sentences: half the time B really followed A, half the time B was "
    "random. A small head on the [CLS] vector learned to tell them apart. The model knows which tokens belong to "
    "A and which to B only through the **segment (token type) ids** shown below."
))
first = first_example("nsp", {"a": "The man went to the store.", "b": "He bought a gallon of milk."})
default_text("nsp_a", first["a"])
default_text("nsp_b", first["b"])
example_picker("nsp", "nsp_example", lambda ex: {"nsp_a": ex["a"], "nsp_b": ex["b"]})
sentence_a = st.text_input(_("Sentence A"), key="nsp_a", bind=url_bind("nsp_a"), max_chars=READ_CHARS)
sentence_b = st.text_input(_("Sentence B"), key="nsp_b", bind=url_bind("nsp_b"), max_chars=READ_CHARS)

loaded = task_model(HEAD, name)
if loaded is None:
    st.stop()
held_out = heldout_accuracy(loaded.source)
if held_out is not None:
    # The head's record on pairs it never trained on, from its model card: a verdict is only as good as that.
    shown = (_("Held-out next-sentence accuracy of this model: {accuracy:.0%} on {pairs} sentence pairs it did not "
               "train on (from its model card).") if held_out.pairs else
             _("Held-out next-sentence accuracy of this model: {accuracy:.0%} on sentence pairs it did not train on "
               "(from its model card).")).format(accuracy=held_out.accuracy, pairs=held_out.pairs)
    if held_out.weak:
        st.warning(shown + " " + _("Below 70% it is not much better than guessing (50%): treat its IsNext / "
                                   "NotNext verdicts below as unreliable."), icon="⚠️")
    else:
        st.caption(shown)

with guard():
    res = memo("nsp", (loaded.key, sentence_a, sentence_b), lambda: predict_next(loaded, sentence_a, sentence_b))
    show_notices(res.inputs.notices)
    show_unknown(res.inputs)
    verdict = _("B follows A (IsNext)") if res.verdict == "IsNext" else _("B does not follow A (NotNext)")
    st.subheader(verdict)
    cols = st.columns(2)
    cols[0].metric(_("IsNext"), f"{res.is_next:.1%}")
    cols[1].metric(_("NotNext"), f"{res.not_next:.1%}")
    fig = go.Figure(go.Bar(x=res.probs.tolist(), y=list(NSP_LABELS), orientation="h",
                           marker_color=["#2e7d32", "#c62828"], text=[f"{p:.3f}" for p in res.probs.tolist()]))
    fig.update_layout(height=160, margin=dict(l=10, r=10, t=10, b=10), xaxis_range=[0, 1], xaxis_title=_("probability"),
                      yaxis_autorange="reversed")
    st.plotly_chart(fig, width="stretch")
    st.caption(_("Logits: IsNext {is_next:.3f}, NotNext {not_next:.3f}; softmax gives the probabilities.").format(
                   is_next=float(res.logits[0]), not_next=float(res.logits[1])))

    st.subheader(_("What the model saw"))
    chips = "".join(
        f'<span style="background:{PALETTE[1] if seg == 0 else PALETTE[0]};padding:1px 4px;margin:1px;'
        f'border-radius:3px;display:inline-block" title="token type id {seg}">{html.escape(tok)}'
        f'<sub style="font-size:0.65em;margin-left:2px">{seg}</sub></span>'
        for tok, seg in zip(res.inputs.tokens, res.inputs.segment_ids)
    )
    st.html(f"<div style='line-height:2.2;font-family:sans-serif'>{chips}</div>")
    st.caption(_("Blue: segment 0 ([CLS], sentence A and its [SEP]); orange: segment 1 (sentence B and the "
                 "final [SEP])."))
    st.dataframe(table(res.segment_rows()), hide_index=True, width="stretch")
