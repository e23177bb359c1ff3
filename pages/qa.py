"""Question answering: the span the model picks, across windows of a long context, with its start/end logits."""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from bertexplore.figures import plot_text
from bertexplore.tasks.qa import DEFAULT_STRIDE, read, result
from ui.feedback import guard, show_notices, show_unknown
from ui.markdown import plain
from ui.html import labelled_spans
from ui.task_views import clamp_state, default_text, example_picker, first_example, follow, memo, task_header, task_model
from ui.entry import inside_app
from ui import url_state
from ui.i18n import _, table
from ui.url_text import READ_CHARS, WINDOWED_CHARS, url_bind

inside_app()  # a deep link on a fresh server must still run through app.py

HEAD = "question-answering"

name = task_header(HEAD, "qa_checkpoint", _("Question answering"), _(
    "An extractive QA model does not write an answer: it points at one. For every context token it gives a "
    "**start** and an **end** logit; the answer is the best span with start ≤ end, inside the context, no longer "
    "than the limit. SQuAD 2.0 models may also point at [CLS], meaning *no answer*."
))
first = first_example("qa", {"question": "What is the capital of France?",
                              "context": "France is a country in Western Europe. Its capital and largest city is "
                                         "Paris, which lies on the Seine."})
url_state.text_from_link("qa_context")  # a shared link's paragraph (the question is bound below)
default_text("qa_question", first["question"])
default_text("qa_context", first["context"])
example_picker("qa", "qa_example", lambda ex: {"qa_question": ex["question"], "qa_context": ex["context"]})
# A form: Enter in the question, Ctrl+Enter in the paragraph, or the button applies both (a text area's Enter
# only adds a newline).
with st.form("qa_form", border=False, enter_to_submit=True):
    question = st.text_input(_("Question"), key="qa_question", bind=url_bind("qa_question"),
                             max_chars=READ_CHARS)
    context = st.text_area(_("Context"), key="qa_context", height=150, max_chars=WINDOWED_CHARS,
                           help=_("Any length: contexts longer than the model's window are read in "
                                  "overlapping windows."))
    st.form_submit_button(_("Answer"), type="primary", icon=":material/quiz:")
    st.caption(_("Enter in the question, Ctrl+Enter in the context, or the button: the model answers."))
# Always in the link (the default paragraph differs by language), unless too long for one.
if not url_state.text_to_link("qa_context", context):
    st.caption(_("This context is too long for a link: a copied link carries the question and the settings, not "
                 "the context."))
cols = st.columns(3)
max_answer = cols[0].slider(_("Longest answer (tokens)"), 1, 64, 30, key="qa_max_answer", bind="query-params")
stride = cols[1].number_input(_("Window overlap (tokens)"), 0, 256, DEFAULT_STRIDE, step=16, key="qa_stride",
                              bind="query-params")
if st.session_state.get("_qa_null_default_for") != name:
    # A new checkpoint: SQuAD 2.0 models were trained to say "no answer", SQuAD 1.1 models never do.
    if "_qa_null_default_for" in st.session_state or "qa_allow_null" not in st.session_state:
        st.session_state["qa_allow_null"] = "squad2" in name.lower()
    st.session_state["_qa_null_default_for"] = name
allow_null = cols[2].checkbox(_("Allow 'no answer' (SQuAD 2.0 models)"), key="qa_allow_null", bind="query-params")

loaded = task_model(HEAD, name)
if loaded is None:
    st.stop()

with guard():
    reading = memo("qa", (loaded.key, question, context, int(stride)),
                   lambda: read(loaded, question, context, stride=int(stride)))
    show_notices(reading.notices)
    show_unknown(loaded.tokenize(question, context))  # the windows carry no [UNK] report: the first window's
    res = result(reading, max_answer_len=int(max_answer), allow_no_answer=allow_null)
    total = len(res.windows)
    best = res.best_span_score
    if res.answer is not None:
        a = res.answer
        st.success(_("**Answer:** {text}").format(text=plain(a.text)))
        st.caption(
            _("Characters {start}–{end} of the context, from window {window} of {total}; span score {score:.3f} "
              "(start + end logit), probability {probability:.3f}. Null score ([CLS]) {null:.3f}").format(
                start=a.start, end=a.end, window=a.window + 1, total=total, score=a.score,
                probability=a.probability, null=res.null_score)
            + ("" if allow_null else _(" — 'no answer' is switched off, so the best span is shown anyway")) + _(".")
        )
    else:
        reason = (_("no valid span in the context") if best is None
                  else _("the null score {null:.3f} beats the best span's {best:.3f}").format(null=res.null_score,
                                                                                          best=best))
        st.warning(_("**No answer**: {reason}.").format(reason=reason))
    if res.candidates:
        st.dataframe(table([dict(c.row(), window=c.window + 1) for c in res.candidates]), hide_index=True,
                     width="stretch")

    spans = [(res.answer.start, res.answer.end, _("answer"), "#a8e0c5")] if res.answer else []
    st.html("<div style='max-height:320px;overflow:auto;border:1px solid #ddd;border-radius:6px;padding:6px'>"
            + labelled_spans(res.context, spans) + "</div>")

    st.subheader(_("Start and end logits"))
    default_window = res.answer.window if res.answer else 0
    if total > 1:
        # a new question or context shows the answer's window first
        follow("qa_window", (reading.model_name, reading.question, reading.context, reading.stride,
                             int(max_answer), allow_null), default_window + 1)
        clamp_state("qa_window", 1, total)
        shown = st.number_input(_("Window"), 1, total, key="qa_window", help=_("1 to {total}").format(total=total)) - 1
    else:
        shown = 0
    w = res.windows[int(shown)]
    positions = [i for i, off in enumerate(w.offsets) if off is not None]
    char_from, char_to = w.char_range
    st.caption(_("Window {shown} of {total} covers context characters {char_from}–{char_to} ({n_positions} "
                 "context tokens; the question takes the rest of the {n_tokens} tokens).").format(
                   shown=int(shown) + 1, total=total, char_from=char_from, char_to=char_to,
                   n_positions=len(positions), n_tokens=len(w.tokens)))
    labels = [f"{i}·{plot_text(w.tokens[i])}" for i in positions]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=labels, y=w.start_logits[positions].tolist(), name=_("start"), mode="lines+markers"))
    fig.add_trace(go.Scatter(x=labels, y=w.end_logits[positions].tolist(), name=_("end"), mode="lines+markers"))
    if res.answer is not None and res.answer.window == w.index:
        fig.add_vrect(x0=f"{res.answer.start_token}·{plot_text(w.tokens[res.answer.start_token])}",
                      x1=f"{res.answer.end_token}·{plot_text(w.tokens[res.answer.end_token])}", fillcolor="#a8e0c5",
                      opacity=0.4, line_width=0)
    fig.add_hline(y=float(w.start_logits[w.cls_index]), line_dash="dot", annotation_text=_("[CLS] start"),
                  line_color="#1f77b4")
    fig.add_hline(y=float(w.end_logits[w.cls_index]), line_dash="dot", annotation_text=_("[CLS] end"),
                  line_color="#ff7f0e")
    fig.update_layout(height=360, margin=dict(l=10, r=10, t=10, b=10), yaxis_title=_("logit"), xaxis_tickangle=-45)
    st.plotly_chart(fig, width="stretch")
