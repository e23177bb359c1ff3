"""Which lesson and step the lesson page shows: the URL (?lesson=…&step=…, shareable) and the session agree.

The URL wins when it changed outside this page (a link opened, a back button); the page's own buttons change the
session and the URL follows. The ids are the lesson files' stable ids, never translated titles.
"""
from __future__ import annotations

import streamlit as st

from bertexplore.lessons.format import Lesson, bundled_lessons

from .i18n import _

LESSON_PARAM, STEP_PARAM, PRESENT_PARAM = "lesson", "step", "present"
LESSON_KEY, STEP_KEY, SEEN_KEY = "lesson_id", "lesson_step", "_lesson_url_seen"
CUSTOM_KEY = "lesson_custom"  # lessons loaded or built in this session: {id: Lesson}


@st.cache_resource(show_spinner=False)
def _bundled() -> tuple[Lesson, ...]:
    # Read once per process: the files ship with the app. A broken bundled file is a bug the tests catch.
    return tuple(bundled_lessons())


def lesson_choices() -> dict[str, Lesson]:
    """Bundled lessons, then this session's own (loaded from a file or built with "Add this view")."""
    lessons = {lesson.id: lesson for lesson in _bundled()}
    for lesson in st.session_state.get(CUSTOM_KEY, {}).values():
        lessons[lesson.id] = lesson
    return lessons


def presenting() -> bool:
    return st.query_params.get(PRESENT_PARAM) == "1"


def _url_position() -> tuple[str | None, int | None]:
    lesson = st.query_params.get(LESSON_PARAM)
    try:
        step = int(st.query_params.get(STEP_PARAM, "")) - 1
    except ValueError:
        step = None
    return lesson, step


def current(lessons: dict[str, Lesson]) -> tuple[Lesson, int]:
    """The lesson and zero-based step to show, written back into the URL."""
    url = _url_position()
    state = st.session_state
    if url != state.get(SEEN_KEY) and url[0] is not None:
        if url[0] in lessons:
            state[LESSON_KEY], state[STEP_KEY] = url[0], url[1] if url[1] is not None else 0
        else:
            st.warning(_("There is no lesson '{id}' here; showing the first lesson.").format(id=url[0]))
    lesson = lessons.get(state.get(LESSON_KEY)) or next(iter(lessons.values()))
    index = min(max(0, int(state.get(STEP_KEY) or 0)), len(lesson.steps) - 1)
    state[LESSON_KEY], state[STEP_KEY] = lesson.id, index
    st.query_params[LESSON_PARAM] = lesson.id
    st.query_params[STEP_PARAM] = str(index + 1)
    state[SEEN_KEY] = (lesson.id, index)
    return lesson, index


def go(delta: int) -> None:
    st.session_state[STEP_KEY] = int(st.session_state.get(STEP_KEY) or 0) + delta


def set_lesson() -> None:
    st.session_state[LESSON_KEY] = st.session_state["lesson_pick"]
    st.session_state[STEP_KEY] = 0


def open_lesson(lesson_id: str) -> None:
    st.session_state[LESSON_KEY], st.session_state[STEP_KEY] = lesson_id, 0
