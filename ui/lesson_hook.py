"""app.py's one lesson hook, run on every page after the sidebar: presenter mode, the arrow keys inside a lesson's
frame, the first-visit tour, and the lesson builder ("Add this view to a lesson")."""
from __future__ import annotations

from typing import Any

import streamlit as st

from bertexplore.lessons.format import LessonError, Step, Text, dump_lesson, parse_lesson
from bertexplore.lessons.pages import PAGE_STATE

from .i18n import _
from .lesson_draft import DRAFT_ID, DRAFT_KEY, draft_lesson
from .lesson_export import view_notebook_button
from .lesson_frame import FRAME_PARAM
from .lesson_nav import CUSTOM_KEY, open_lesson, presenting
from .lesson_style import frame_css, presenter_css
from .lesson_tour import tour

KEYS_SCRIPT = """<script>
(function () {
  // In a lesson's frame: the arrow keys step the lesson (the lesson page's buttons), unless typing or on a slider.
  const doc = window.parent.document;
  if (doc.__lessonKeys) return;
  doc.__lessonKeys = true;
  doc.addEventListener("keydown", function (e) {
    const t = e.target;
    if (e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName) || t.getAttribute("role") === "slider")) return;
    const name = e.key === "ArrowRight" ? "lesson_next" : e.key === "ArrowLeft" ? "lesson_prev" : null;
    if (!name) return;
    try {
      const b = window.parent.parent.document.querySelector(".st-key-" + name + " button");
      if (b && !b.disabled) { e.preventDefault(); b.click(); }
    } catch (err) { /* not inside a lesson page */ }
  });
})();
</script>"""


def page_key(page: Any) -> str:
    """The stable key of a st.Page (its URL path; the default page's is empty: 'home')."""
    return getattr(page, "url_path", "") or "home"


def page_state(page: str) -> dict[str, Any]:
    """The current URL's state for `page`: only the keys the page binds (values as the URL holds them)."""
    state: dict[str, Any] = {}
    for key in sorted(PAGE_STATE.get(page, ())):
        values = st.query_params.get_all(key)
        if values:
            state[key] = values if len(values) > 1 or key in ("mlm_masks", "inside_masks", "abl_off") else values[0]
    return state


def _add_step(page: str, title: str) -> None:
    note = (st.session_state.get("lesson_draft_note") or "").strip() or _("(Write the explanation for this step.)")
    steps = st.session_state.setdefault(DRAFT_KEY, [])
    steps.append(Step(page, Text(title, title), Text(note, note), page_state(page)))
    st.session_state["lesson_draft_note"] = ""
    st.toast(_("Step {n} added to your lesson.").format(n=len(steps)), icon=":material/playlist_add:")


def _clear_draft() -> None:
    st.session_state.pop(DRAFT_KEY, None)
    st.session_state.get(CUSTOM_KEY, {}).pop(DRAFT_ID, None)


def _load_file() -> None:
    upload = st.session_state.get("lesson_upload")
    if upload is None:
        return
    try:
        lesson = parse_lesson(upload.getvalue().decode("utf-8", errors="replace"), upload.name)
    except LessonError as err:
        st.session_state["_lesson_upload_error"] = str(err)
        return
    st.session_state.pop("_lesson_upload_error", None)
    st.session_state.setdefault(CUSTOM_KEY, {})[lesson.id] = lesson
    st.session_state[DRAFT_KEY] = list(lesson.steps)  # keep building on it
    open_lesson(lesson.id)


def builder(page: Any) -> None:
    """The sidebar's lesson builder: add this page and its URL state as a step, download, load back."""
    key = page_key(page)
    steps = st.session_state.get(DRAFT_KEY, [])
    with st.sidebar.expander(_("Lesson builder ({n} steps)").format(n=len(steps)), icon=":material/school:"):
        if key in PAGE_STATE:
            st.text_area(_("Your explanation for this step (Markdown)"), key="lesson_draft_note", height=80)
            st.button(_("Add this view to a lesson"), key="lesson_add_view", icon=":material/playlist_add:",
                      on_click=_add_step, args=(key, getattr(page, "title", key)), width="stretch",
                      help=_("Adds this page with its current settings (as in its link) as the next step."))
        if key in PAGE_STATE:
            view_notebook_button(key, page_state(key), getattr(page, "title", key))
        if steps:
            lesson = draft_lesson(steps)
            st.download_button(_("Download the lesson file"), dump_lesson(lesson), file_name=f"{lesson.id}.yaml",
                               mime="application/x-yaml", key="lesson_draft_download", on_click="ignore",
                               icon=":material/download:", width="stretch")
            # Offered on the Lessons page as soon as it has a step; a link (not st.switch_page, which cannot leave
            # a page whose widgets are bound to the URL) opens it there.
            st.session_state.setdefault(CUSTOM_KEY, {})[lesson.id] = lesson
            c1, c2 = st.columns(2)
            c1.page_link("pages/lesson.py", label=_("Try it"), icon=":material/play_arrow:",
                         query_params={"lesson": lesson.id, "step": "1"})
            c2.button(_("Start over"), key="lesson_draft_clear", icon=":material/delete:", on_click=_clear_draft)
        st.file_uploader(_("Load a lesson file"), type=["yaml", "yml"], key="lesson_upload", on_change=_load_file)
        if err := st.session_state.get("_lesson_upload_error"):
            st.error(err)
        elif st.session_state.get("lesson_upload") is not None:
            st.caption(_("Loaded: open the Lessons page to run it, or add more steps."))


def lesson_hook(page: Any) -> None:
    """Called once per run by app.py, after the sidebar."""
    if presenting():
        presenter_css()
    # Streamlit keeps ?embed=… out of st.query_params, so a lesson's frame says so with its own parameter.
    if st.query_params.get(FRAME_PARAM) == "1":
        frame_css()
        st.iframe(KEYS_SCRIPT, height=1)
        return
    tour()
    builder(page)
