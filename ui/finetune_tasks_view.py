"""Fine-tune page sections for the tasks whose input is not one sentence: pre-training (a sentence pair) and QA.

Each task keeps its own sample inputs (widget keys carry the task), so a comparison never runs one task's sample
through another task's model.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from .i18n import N_, _

# Held-out style samples: a pair that follows and a question about a short paragraph, written for this project.
SAMPLES: dict[str, dict[str, str]] = {
    "pretraining": {"a": N_("The bus left the school gate at half past eight."),
                    "b": N_("It arrived at the museum just before ten.")},
    "qa": {"question": N_("Where did the class eat lunch?"),
           "context": N_("On Tuesday the class went to the science museum. The bus left at half past eight. After a "
                         "morning of experiments, they ate lunch in the park next to the river, and in the afternoon "
                         "they visited the planetarium.")},
}


def sample_key(task: str, field: str) -> str:
    return f"ft_{task}_{field}"


def comparison_inputs(task: str) -> dict[str, str]:
    """The task's own inputs for the before/after comparison (first filled with its sample)."""
    for field, text in SAMPLES.get(task, {}).items():
        st.session_state.setdefault(sample_key(task, field), _(text))
    if task == "pretraining":
        st.markdown(_("**Before / after** on a pair of sentences: does B follow A?"))
        a = st.text_input(_("Sentence A"), key=sample_key(task, "a"), max_chars=2000)
        b = st.text_input(_("Sentence B"), key=sample_key(task, "b"), max_chars=2000)
        return {"a": a, "b": b}
    st.markdown(_("**Before / after** on a question about a paragraph the model has not seen."))
    question = st.text_input(_("Question"), key=sample_key(task, "question"), max_chars=500)
    context = st.text_area(_("Paragraph"), key=sample_key(task, "context"), height=110, max_chars=5000)
    return {"question": question, "context": context}


def run_comparison(task: str, before, after, inputs: dict[str, str]):
    from bertexplore.finetune.compare_pairs import compare_answers, compare_next_sentence

    if task == "pretraining":
        return compare_next_sentence(before, after, inputs["a"], inputs["b"])
    return compare_answers(before, after, inputs["question"], inputs["context"])


def show_comparison(comparison) -> None:
    for notice in comparison.notices:
        st.info(notice)
    left, right = st.columns(2)
    left.markdown(_("Before"))
    left.dataframe(pd.DataFrame(comparison.before.rows), hide_index=True, width="stretch")
    right.markdown(_("After"))
    right.dataframe(pd.DataFrame(comparison.after.rows), hide_index=True, width="stretch")


def heldout_answers(metrics: dict) -> None:
    """The held-out questions with the expected and the predicted answer (QA)."""
    rows = metrics.get("answers")
    if not rows:
        return
    with st.expander(_("Held-out questions: expected and predicted answers ({n})").format(n=len(rows))):
        st.dataframe(pd.DataFrame(rows).rename(columns={"question": _("question"), "expected": _("expected"),
                                                        "predicted": _("predicted"), "f1": "F1"}),
                     hide_index=True, width="stretch")
        st.caption(_("Exact match counts answers equal to the expected one after SQuAD's normalisation (lower case, no "
                     "punctuation or articles); F1 gives credit for shared words. The questions are about paragraphs "
                     "the model did not train on."))
