"""Warm-up: compute the traces a class will open before the students arrive (issue 19 §1).

`python -m ui.serve --warmup SPEC` (scripts/start.sh passes it on) or BERTEXPLORE_WARMUP=SPEC, where SPEC is
- `examples`: the Attention page's example sentences (both languages);
- `lesson:<name>`: the texts (and pairs) of every step of the bundled lesson <name>
  (its id, e.g. `attention`, or its file name, e.g. `02-attention`, in assets/lessons/);
- a path to a text file: one text per line, sentence B after a tab.
Each text's trace goes into the shared memo (ui/session_memo.py) under exactly the key the Attention page asks for,
with the model a new session starts with, so the first student finds it computed. Warm entries are not dropped for
being unused; the server budget still bounds them. Home shows the progress (`notice`).
"""
from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from .i18n import _

ENV = "BERTEXPLORE_WARMUP"
LESSONS = Path(__file__).resolve().parent.parent / "assets" / "lessons"
log = logging.getLogger("bertexplore")


@dataclass
class Status:
    spec: str = ""
    state: str = "off"  # off | running | ready | failed
    done: int = 0
    total: int = 0
    error: str = ""


STATUS = Status()
_started = threading.Lock()
_thread: threading.Thread | None = None


def _lesson_texts(spec_name: str) -> list[tuple[str, str]]:
    """(text, pair) of every step of a bundled lesson (by id or file stem) whose state carries a text."""
    from bertexplore.lessons.format import bundled_lessons

    for lesson in bundled_lessons():
        if spec_name in (lesson.id, Path(lesson.source).stem):
            found = []
            for step in lesson.steps:
                for key, value in step.state.items():
                    if key.endswith("_text") and isinstance(value, str) and value.strip():
                        pair = step.state.get(key[: -len("_text")] + "_pair", "")
                        found.append((value, pair if isinstance(pair, str) else ""))
            return found
    raise ValueError(f"no lesson called {spec_name!r} in {LESSONS.name}/")


def texts_for(spec: str) -> list[tuple[str, str]]:
    """(text, pair) pairs named by a warm-up spec, without duplicates; raises ValueError for a bad spec."""
    spec = spec.strip()
    found: list[tuple[str, str]] = []
    if spec == "examples":
        from . import examples

        for lang in ("en", "zh"):
            data = examples.load("attention", lang) or {}
            for example in data.get("examples", []) if isinstance(data, dict) else []:
                found.append((str(example.get("text", "")), str(example.get("pair", "") or "")))
    elif spec.startswith("lesson:"):
        found.extend(_lesson_texts(spec.split(":", 1)[1].strip()))
    elif spec:
        path = Path(spec).expanduser()
        if not path.is_file():
            raise ValueError(f"{spec!r} is neither 'examples', 'lesson:<name>' nor a text file")
        for line in path.read_text(encoding="utf-8").splitlines():
            text, _tab, pair = line.partition("\t")
            found.append((text, pair))
    return list(dict.fromkeys((t, p.strip()) for t, p in found if t.strip()))


def run(spec: str) -> Status:
    """Compute the traces of `spec` into the shared memo (blocking); STATUS tells how far it is."""
    from . import models
    from .traces import get_trace

    STATUS.spec, STATUS.state, STATUS.done, STATUS.error = spec, "running", 0, ""
    try:
        texts = texts_for(spec)
        STATUS.total = len(texts)
        loaded = models.preload_default()
        for text, pair in texts:
            get_trace(loaded, text, pair or None, warm=True)
            STATUS.done += 1
        STATUS.state = "ready"
    except Exception as err:  # noqa: BLE001 - a failed warm-up leaves the work to the first visits, and says so
        STATUS.state, STATUS.error = "failed", str(err)
        log.warning("warm-up %r failed", spec, exc_info=True)
    return STATUS


def start(spec: str | None = None) -> bool:
    """Start the warm-up in a background thread, once per process (spec: the argument, else $BERTEXPLORE_WARMUP)."""
    global _thread
    spec = (spec if spec is not None else os.environ.get(ENV, "")).strip()
    if not spec or not _started.acquire(blocking=False):
        return False
    STATUS.spec, STATUS.state = spec, "running"
    _thread = threading.Thread(target=run, args=(spec,), name="bertexplore-warm-up-traces", daemon=True)
    _thread.start()
    return True


def notice() -> None:
    """A line on Home: how far the warm-up is (nothing when none was asked for)."""
    if STATUS.state == "running":
        st.info(_("Preparing the class's texts before students arrive: {done} of {total} ready.").format(
            done=STATUS.done, total=STATUS.total or "…"))
    elif STATUS.state == "ready":
        st.success(_("Ready for class: the traces of {total} texts are computed and shared by every "
                     "session.").format(total=STATUS.total))
    elif STATUS.state == "failed":
        # The reason is in the server's log: it may name the server's folders, which users are not shown.
        st.warning(_("The warm-up did not finish; pages compute each text on its first visit instead."))
