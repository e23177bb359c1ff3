"""The lesson a teacher builds in this session with "Add this view to a lesson" (kept in session_state only)."""
from __future__ import annotations

from bertexplore.lessons.format import Lesson, Step, Text

from .i18n import _

DRAFT_KEY = "lesson_draft"
DRAFT_ID = "my-lesson"


def draft_lesson(steps: list[Step]) -> Lesson:
    title = Text(_("My lesson"), "我的课")
    summary = Text(_("Built with “Add this view to a lesson”."), "用“把这个视图加入课程”制作。")
    return Lesson(DRAFT_ID, title, summary, tuple(steps), "my-lesson.yaml")
