"""Notebook export: the exported code cells, run in order without Jupyter, give the page's numbers."""
from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import nbformat
import numpy as np

from app_helpers import assert_no_exception, open_page

from bertexplore.lessons.format import bundled_lessons
from bertexplore.lessons.notebook import INSIDE_DEFAULT, code_cells, lesson_notebook, notebook_json, view_notebook
from bertexplore.registry import OFFLINE_MODEL

ROOT = Path(__file__).resolve().parents[2]


def _run(nb) -> dict:
    """Every code cell in order in one namespace, as a kernel would (no Jupyter here)."""
    namespace: dict = {"__name__": "__main__"}
    for source in code_cells(nb):
        exec(compile(source, "<cell>", "exec"), namespace)  # noqa: S102 - our own generated code
    return namespace


def _z(spec: dict) -> np.ndarray:
    z = spec["data"][0]["z"]
    if isinstance(z, dict):  # plotly's typed array: base64 float32
        shape = tuple(int(n) for n in str(z["shape"]).split(","))
        return np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"]).reshape(shape)
    return np.asarray(z, dtype=np.float32)


def test_every_lesson_exports_a_valid_notebook():
    for lesson in bundled_lessons():
        for lang in ("en", "zh"):
            nb = nbformat.reads(notebook_json(lesson_notebook(lesson, OFFLINE_MODEL, lang)), as_version=4)
            nbformat.validate(nb)
            assert lesson.title.get(lang) in nb.cells[0].source
            for source in code_cells(nb):
                compile(source, "<cell>", "exec")  # every cell is Python


def test_inside_default_text_is_the_pages():
    assert f'DEFAULT_TEXT = "{INSIDE_DEFAULT}"' in (ROOT / "pages" / "inside_bert.py").read_text()


def test_attention_view_notebook_gives_the_pages_numbers():
    state = {"attention_text": "The keys to the cabinet are on the table.", "attention_layer": "3",
             "attention_head": "5"}
    ns = _run(view_notebook("attention", state, OFFLINE_MODEL))
    at = open_page("pages/attention.py", query=state)
    assert_no_exception(at)
    page = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert "Layer 3, head 5" in page["layout"]["title"]["text"] and ns["view"].title.startswith("Layer 3, head 5")
    np.testing.assert_array_equal(_z(page), np.asarray(ns["view"].matrix, dtype=np.float32))
    nb_fig = ns["fig"].to_plotly_json()
    assert list(nb_fig["data"][0]["x"]) == list(page["data"][0]["x"])


def test_a_lesson_notebook_runs_offline_and_answers_like_the_engine(minilm):
    from bertexplore.lessons.questions import model_answer

    lesson = next(lesson for lesson in bundled_lessons() if lesson.id == "attention")
    ns = _run(lesson_notebook(lesson, OFFLINE_MODEL))
    last = lesson.steps[-1]
    # The last question cell's answer is the lesson page's (the same engine call on the same model).
    assert ns["answer"].answer == model_answer(minilm, last.question).answer
    assert re.match(r"Layer 6, head 1", ns["view"].title)
