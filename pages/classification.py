"""Classification: label probabilities for a text, and which tokens pushed the model towards a label."""
from __future__ import annotations

import streamlit as st

from bertexplore.tasks.attribution import MAX_STEPS, METHOD_NAMES, attribute
from bertexplore.tasks.classify import classify, from_logits, output_transform
from ui.feedback import guard, show_notices, show_unknown
from ui.markdown import plain
from ui.html import highlighted_tokens
from ui.task_views import (clamp_state, show_convergence, default_text, example_picker, first_example, follow, label_figure, memo, recall,
                           task_header, task_model)
from ui.entry import inside_app
from ui import url_state
from ui.i18n import _, table
from ui.url_text import READ_CHARS, url_bind

inside_app()  # a deep link on a fresh server must still run through app.py

HEAD = "sequence-classification"

name = task_header(HEAD, "cls_checkpoint", _("Classification"), _(
    "A sequence classifier reads the whole text and scores every label from the [CLS] token's final vector. "
    "Below: the label probabilities, then **why**: how much each token moved the chosen label's score."
))
default_text("cls_text", first_example(
    "classification", "A wonderful, moving film: the cast is superb and the story stays with you."))
example_picker("classification", "cls_example", lambda text: {"cls_text": text})
text = st.text_input(_("Text to classify"), key="cls_text", bind=url_bind("cls_text"), max_chars=READ_CHARS)  # one line: Enter applies
with st.expander(_("Sentence-pair classifiers (NLI, paraphrase)")):
    pair = st.text_input(_("Second text (optional)"), key="cls_pair", bind=url_bind("cls_pair"), max_chars=READ_CHARS)

loaded = task_model(HEAD, name)
if loaded is None:
    st.stop()


with guard():
    result = memo("cls", (loaded.key, text, pair or ""), lambda: classify(loaded, text, pair or None))
    inputs, logits = result.inputs, result.logits
    if result.mode == "multi-label":
        with st.expander(_("Thresholds per label"), expanded=False):
            thresholds = [
                st.slider(plain(label), 0.0, 1.0, 0.5, 0.01, key=f"cls_threshold_{i}")
                for i, label in enumerate(result.labels)
            ]
        result = from_logits(loaded, inputs, logits, thresholds)
    show_notices(result.notices)
    show_unknown(result.inputs)
    st.info(result.explanation)
    chosen = ", ".join(plain(result.labels[i]) for i in result.predicted) or _("no label over its threshold")
    if result.mode == "regression":
        st.subheader(_("Score: {scores:.4f}").format(scores=float(result.scores[0])))
    else:
        st.subheader(_("Prediction: {chosen}").format(chosen=chosen))

    fig = label_figure(result)
    st.plotly_chart(fig, width="stretch")
    st.dataframe(table(result.rows()), hide_index=True, width="stretch")

    st.subheader(_("Why: token attributions"))
    st.markdown(
        _("**Integrated gradients** walks from a baseline (every word replaced by [PAD]) to the real text "
          "and adds up the gradients on the way: the attributions sum to the change of the label's score. "
          "**Gradient × input** is the one-step shortcut: cheap, but only a local view. Green tokens raise "
          "the score, red ones lower it.")
    )
    cols = st.columns([2, 2, 1])
    # a new text (or checkpoint) explains its predicted label first
    follow("cls_target", (loaded.key, text, pair or ""), result.predicted[0] if result.predicted else 0)
    clamp_state("cls_target", 0, len(result.labels) - 1)
    target = cols[0].selectbox(
        _("Explain label"), list(range(len(result.labels))),
        format_func=lambda i: result.labels[i], key="cls_target", bind="query-params",
    )
    method = url_state.choice(cols[1].radio, _("Method"), "cls_method", horizontal=True)
    clamp_state("cls_steps", 33, MAX_STEPS)  # links from before the per-token check may carry fewer
    steps = cols[2].number_input(_("IG budget (gradient evaluations)"), 33, MAX_STEPS, 120, step=1, key="cls_steps",
                                 bind="query-params")
    output = output_transform(result.mode)
    key = (loaded.key, text, pair or "", int(target), method, int(steps) if method == "integrated-gradients" else 0)
    explanation = recall("cls_attr", key)
    if explanation is None and method == "integrated-gradients":
        st.caption(_("Integrated gradients compares two rules at a time (16 Gauss nodes inside a 33-node Kronrod rule, "
                     "then 32/65, 64/129, …; each node a forward and backward pass) and stops once they agree on every "
                     "token (within 2% of the largest attribution) and the completeness error is under 5%, within "
                     "{steps} gradient evaluations.").format(steps=int(steps)))
        if st.button(_("Compute integrated gradients"), key="cls_run_ig", type="primary"):
            with st.spinner(_("Integrating gradients…"), show_time=True):
                explanation = memo("cls_attr", key, lambda: attribute(loaded, inputs, int(target), method, output,
                                                                     steps=int(steps)))
    elif explanation is None:
        explanation = memo("cls_attr", key, lambda: attribute(loaded, inputs, int(target), method, output))
    if explanation is not None:
        what = {"softmax": _("probability"), "sigmoid": _("probability"), "logit": _("raw score")}[output]
        st.html(highlighted_tokens(list(explanation.tokens), explanation.normalized().tolist(),
                                   title=_("{method_names} for '{labels}' ({what})").format(
                                             method_names=_(METHOD_NAMES[explanation.method]),
                                             labels=result.labels[int(target)], what=what)))
        total = float(explanation.scores.sum())
        if explanation.delta is not None:
            st.caption(
                _("Sum of attributions {total:+.4f}; {what} at the text {value:.4f}, at the baseline "
                  "{baseline_value:.4f} (difference {value2:+.4f}); completeness error {delta:+.2e}.").format(
                    total=total, what=what, value=explanation.value, baseline_value=explanation.baseline_value,
                    value2=explanation.value - explanation.baseline_value, delta=explanation.delta))
            show_convergence(explanation)
            st.caption(_("{evaluations} gradient evaluations in all; the model was held at most {hold:.2f} s at a "
                         "time, so other sessions waited at most that long.").format(
                evaluations=explanation.evaluations, hold=explanation.longest_lock_seconds))
        else:
            st.caption(_("Sum of gradient × input {total:+.4f}; {what} at the text {value:.4f}.").format(
                           total=total, what=what, value=explanation.value))
        with st.expander(_("Attribution per token")):
            st.dataframe(table(explanation.rows()), hide_index=True, width="stretch")
