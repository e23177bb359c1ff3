"""Predict, then reveal: the student commits an answer, then sees the live model's answer and the grade.

Answers live in this browser session only (session_state); the summary at the end of a lesson offers them as CSV.
"""
from __future__ import annotations

import csv
import io
from typing import Any

import streamlit as st

from bertexplore.lessons.format import Lesson, Question, Step
from bertexplore.lessons.questions import ModelAnswer, can_answer, grade, model_answer, needs, question_prompt
from bertexplore.download import download_command
from bertexplore.registry import DEFAULT_ONLINE_MODEL, RECOMMENDED, heads_of, list_local_models

from .feedback import show_error
from .head_models import head_title, missing_head
from .i18n import _, current_language, table
from .markdown import plain
from .models import MODEL_KEY, current_model_name, get_model
from .session_memo import memo

FETCH = download_command(DEFAULT_ONLINE_MODEL, "--to", "models")  # the app's own Python (download.py)
ANSWERS_KEY = "lesson_answers"  # {(lesson id, step index): record}


def answers() -> dict[tuple[str, int], dict[str, Any]]:
    return st.session_state.setdefault(ANSWERS_KEY, {})


def prompt_of(question: Question) -> str:
    return question.prompt.get(current_language()) if question.prompt is not None else question_prompt(question)


def _known_without(name: str, head: str) -> bool:
    known = name in {info.name for info in RECOMMENDED} or name in list_local_models()
    return known and head not in heads_of(name)


def _model_for(question: Question):
    """The sidebar's model loaded with the head this question needs, or None after saying which model can."""
    head = needs(question)
    name = current_model_name()
    reason = None
    if head == "pretraining" and _known_without(name, head):
        # Decided from the registry or the saved checkpoint's files: no second copy of a model that cannot answer.
        loaded = None
    else:
        loaded = get_model("mlm" if head is None else head, name)
        if loaded is None:
            return None
    if loaded is None or not can_answer(loaded, question):
        reason = _("**{model}** has no {head} head, so the live model cannot answer this question. A model that has "
                   "one answers it, e.g. {recommended} (on a machine with internet access: `{fetch}`, then copy the "
                   "`models` folder here).").format(model=plain(name), head=head_title(head or "mlm"),
                                                    recommended=DEFAULT_ONLINE_MODEL, fetch=FETCH)
        missing_head(head or "mlm", MODEL_KEY, name, reason=reason)
        return None
    return loaded


def _answer(question: Question) -> ModelAnswer | None:
    loaded = _model_for(question)
    if loaded is None:
        return None
    try:
        return memo("lesson_answer", tuple(loaded.key) + question.key(), lambda: model_answer(loaded, question))
    except Exception as err:  # noqa: BLE001 - every failure becomes a message
        show_error(err)
        return None


def question_block(lesson: Lesson, index: int, step: Step) -> None:
    """The question of step `index`: commit, then reveal."""
    question = step.question
    assert question is not None
    st.markdown("#### " + _("Predict, then reveal"))
    st.markdown(prompt_of(question))
    answer = _answer(question)
    if answer is None:
        return
    slot = (lesson.id, index)
    record = answers().get(slot)
    widget = f"lesson_q_{lesson.id}_{index}"
    if record is None:
        if answer.choices is not None:
            given = st.radio(_("Your answer"), answer.choices, index=None, key=widget, horizontal=True)
        else:
            given = st.text_input(_("Your answer"), key=widget, placeholder=_("Type a word…"))

        def commit() -> None:
            value = st.session_state.get(widget)
            if value is None or not str(value).strip():
                return
            result = grade(answer, str(value))
            answers()[slot] = {"step": index + 1, "question": prompt_of(question), "given": str(value),
                               "answer": answer.answer, "correct": result.correct, "message": result.message,
                               "model": current_model_name()}

        st.button(_("Commit my answer"), key=f"{widget}_commit", on_click=commit, type="primary",
                  icon=":material/lock:", disabled=not (given and str(given).strip()))
        st.caption(_("The model's answer is shown once you commit to yours."))
        return
    (st.success if record["correct"] else st.error)(plain(record["message"]))
    st.caption(plain(answer.detail))
    if answer.rows:
        st.dataframe(table(list(answer.rows)), hide_index=True, width="stretch")

    def retry() -> None:
        answers().pop(slot, None)
        st.session_state.pop(widget, None)

    st.button(_("Answer again"), key=f"{widget}_retry", on_click=retry, icon=":material/replay:")


def answers_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("step"), _("question"), _("your answer"), _("model's answer"), _("correct"), _("model")])
    for r in rows:
        writer.writerow([r["step"], r["question"], r["given"], r["answer"], _("yes") if r["correct"] else _("no"),
                         r["model"]])
    return out.getvalue()


def summary(lesson: Lesson) -> None:
    """The student's answers beside the model's, and a CSV download (nothing is kept after the session)."""
    rows = [answers()[(lesson.id, i)] for i in range(len(lesson.steps)) if (lesson.id, i) in answers()]
    asked = sum(1 for s in lesson.steps if s.question is not None)
    st.markdown("#### " + _("Your answers and the model's"))
    if not rows:
        st.caption(_("No answers yet: this lesson asks {n} question(s).").format(n=asked))
        return
    right = sum(1 for r in rows if r["correct"])
    st.markdown(_("{right} of {n} answered the way the model does ({asked} question(s) in this lesson).").format(
        right=right, n=len(rows), asked=asked))
    st.dataframe([{_("step"): r["step"], _("your answer"): r["given"], _("model's answer"): r["answer"],
                   _("correct"): "✓" if r["correct"] else "✗"} for r in rows], hide_index=True, width="stretch")
    st.download_button(_("Download my answers (CSV)"), answers_csv(rows), file_name=f"{lesson.id}-answers.csv",
                       mime="text/csv", key="lesson_answers_csv", on_click="ignore", icon=":material/download:")
    st.caption(_("Your answers stay in this browser session only: nothing is stored on the server."))
