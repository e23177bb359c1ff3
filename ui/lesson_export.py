"""Download buttons for the notebook export (the notebook is built by bertexplore.lessons.notebook)."""
from __future__ import annotations

from typing import Any

import streamlit as st

from bertexplore.lessons.format import Lesson, Step
from bertexplore.lessons.notebook import lesson_notebook, notebook_json, view_notebook

from .i18n import _, current_language
from .models import current_model_name

MIME = "application/x-ipynb+json"


def notebook_buttons(lesson: Lesson, index: int) -> None:
    """The lesson, and its current step, as notebooks whose cells rebuild the views offline."""
    lang, model = current_language(), current_model_name()
    c1, c2 = st.columns(2)
    c1.download_button(_("Download the lesson as a notebook"), lambda: notebook_json(lesson_notebook(lesson, model, lang)),
                       file_name=f"{lesson.id}.ipynb", mime=MIME, key="lesson_nb", on_click="ignore",
                       icon=":material/book_2:",
                       help=_("A Jupyter notebook whose code rebuilds every step's view with the bertexplore API, "
                              "offline, with the model picked now."))
    step: Step = lesson.steps[index]
    one = Lesson(f"{lesson.id}-step-{index + 1}", step.title, lesson.summary, (step,))
    c2.download_button(_("Download this step as a notebook"), lambda: notebook_json(lesson_notebook(one, model, lang)),
                       file_name=f"{one.id}.ipynb", mime=MIME, key="lesson_step_nb", on_click="ignore",
                       icon=":material/book_2:")


def view_notebook_button(page: str, state: dict[str, Any], title: str) -> None:
    lang, model = current_language(), current_model_name()
    st.download_button(_("Download this view as a notebook"),
                       lambda: notebook_json(view_notebook(page, state, model, lang, title)),
                       file_name=f"{page}.ipynb", mime=MIME, key="lesson_view_nb", on_click="ignore",
                       icon=":material/book_2:", width="stretch")
