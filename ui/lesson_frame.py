"""A lesson step's view: its page, opened with the step's URL state in an embedded frame, as a shared link would.

Why a frame and not the page's code run inline: the page then runs exactly as it does alone (its own widgets, its
own URL binding, its own st.stop()s), in its own session, so no lesson widget can collide with a page widget and a
page that stops early cannot cut the teacher's text or the question. The frame loads `/<page>?embed=true&...`:
Streamlit's embed mode hides the sidebar and toolbar; app.py still runs, so the model and language come along in
the same URL parameters its sidebar reads.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import streamlit as st

from bertexplore.i18n import LANGUAGES
from bertexplore.lessons.format import Step
from bertexplore.registry import picker_choices

from .i18n import current_language
from .models import current_model_name

FRAME_PARAM = "lesson_frame"  # tells the embedded page's app.py hook to forward arrow keys to the lesson page
FRAME_HEIGHT, PRESENT_HEIGHT = 820, 900


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def step_params(step: Step, present: bool = False) -> list[tuple[str, str]]:
    """The query parameters that open `step`'s view: its state, plus the session's model and language."""
    params: list[tuple[str, str]] = [("embed", "true"), (FRAME_PARAM, "1")]
    for key, value in step.state.items():
        for item in value if isinstance(value, list) else [value]:
            params.append((key, _value(item)))
    model = current_model_name()
    if "model" not in step.state and model != picker_choices()[0]:
        params.append(("model", model))
    lang = current_language()
    if lang != "en":
        params.append(("lang", LANGUAGES[lang]))
    if present:
        params.append(("present", "1"))
    return params


def page_path(page: str) -> str:
    """The page's URL path under the server's base path ('home' is the default page, served at the root)."""
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    prefix = f"/{base}" if base else ""
    return f"{prefix}/{'' if page == 'home' else page}"


def step_url(step: Step, present: bool = False) -> str:
    return page_path(step.page) + "?" + urlencode(step_params(step, present))


def show_frame(step: Step, present: bool = False) -> str:
    """Draw the step's page in a frame; returns the frame's URL (tests read it)."""
    url = step_url(step, present)
    st.iframe(url, height=PRESENT_HEIGHT if present else FRAME_HEIGHT)
    return url


def own_tab(url: str) -> str:
    """The same view as a page of its own (with the sidebar): the frame's URL without the embedding parameters."""
    return url.replace("embed=true&", "").replace(f"{FRAME_PARAM}=1&", "").replace(f"&{FRAME_PARAM}=1", "")
