"""Lessons: a teacher's path through the app, one step at a time, with questions the live model grades.

The URL names the lesson and step (?lesson=attention&step=3), so a step's link is shareable; ?present=1 is the
presenter mode for a projector.
"""

import streamlit as st

from ui.html import classed_line

from ui.entry import inside_app
from ui.i18n import _, current_language
from ui.lesson_frame import own_tab, show_frame
from ui.lesson_export import notebook_buttons
from ui.lesson_nav import LESSON_PARAM, STEP_PARAM, current, go, lesson_choices, presenting, set_lesson
from ui.lesson_question import question_block, summary
from ui.lesson_style import counter_css, presenter_css
from ui.lesson_tour import tour_button

inside_app()  # a deep link on a fresh server must still run through app.py

lessons = lesson_choices()
lesson, index = current(lessons)
step = lesson.steps[index]
lang = current_language()
present = presenting()
if present:
    presenter_css()
else:
    counter_css()
    st.title(_("Lessons"))
    c1, c2, c3 = st.columns([3, 1, 1], vertical_alignment="bottom")
    ids = list(lessons)
    st.session_state["lesson_pick"] = lesson.id  # a link or a loaded lesson may have changed it
    c1.selectbox(_("Lesson"), ids, key="lesson_pick",
                 format_func=lambda i: lessons[i].title.get(lang), on_change=set_lesson)
    c2.button(_("Presenter mode"), key="lesson_present", icon=":material/co_present:",
              on_click=lambda: st.query_params.update({"present": "1"}),
              help=_("Large type, no sidebar, one step per screen, for a projector. Leave it with its button at the "
                     "top, the Esc key, or by removing present=1 from the address."))
    with c3:
        tour_button()
    st.caption(lesson.summary.get(lang))
    notebook_buttons(lesson, index)

n = len(lesson.steps)
nav = st.columns([1, 4, 1], vertical_alignment="center")
nav[0].button(_("Previous"), key="lesson_prev", icon=":material/arrow_back:", on_click=go, args=(-1,),
              disabled=index == 0, shortcut="Left", width="stretch")
counter = _("Step {i} of {n}").format(i=index + 1, n=n)
nav[1].markdown(classed_line("lesson-counter", counter, lesson.title.get(lang)), unsafe_allow_html=True)
nav[2].button(_("Next"), key="lesson_next", icon=":material/arrow_forward:", icon_position="right", on_click=go,
              args=(1,), disabled=index == n - 1, shortcut="Right", width="stretch")

text_col, view_col = st.columns([2, 3] if not present else [2, 3], gap="large")
with text_col:
    st.header(step.title.get(lang))
    st.markdown(step.text.get(lang))
    if step.question is not None:
        with st.container(border=True):
            question_block(lesson, index, step)
    if index == n - 1:
        summary(lesson)
    if present:
        st.button(_("Leave presenter mode"), key="lesson_unpresent", type="tertiary", shortcut="Esc",
                  icon=":material/close_fullscreen:", on_click=lambda: st.query_params.pop("present", None))
with view_col:
    url = show_frame(step, present)
    c1, c2 = st.columns([3, 2], vertical_alignment="center")
    c1.caption(_("The step opens its page here, as a shared link would. This step's own link: "
                 "`?{lesson}={id}&{step}={i}`.").format(lesson=LESSON_PARAM, id=lesson.id, step=STEP_PARAM,
                                                        i=index + 1))
    c2.link_button(_("Open this view in its own tab"), own_tab(url), icon=":material/open_in_new:")
