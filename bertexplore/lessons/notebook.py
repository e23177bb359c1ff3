"""Take a lesson home: a Jupyter notebook (nbformat) whose code cells rebuild each step's view with the bertexplore
API, offline, from the same URL state the page reads.

The code cells call the same engine functions the pages call (run_trace, measure/measured_view, heatmap_figure,
top_k, predict_next, the lesson questions), so their numbers are the page's numbers: tests/unit/test_lessons_notebook.py
runs the cells in order and compares them with the Attention page's figure.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from ..analysis.measures import MEASURES
from ..attention import FILTER_KEYS, FILTERS
from ..figures import COLORSCALES
from ..i18n import _
from .format import Lesson, Question, Step, Text

EXAMPLES = Path(__file__).resolve().parents[2] / "assets" / "examples"
# The Inside BERT page's default text (pages/inside_bert.py DEFAULT_TEXT; a test keeps the two equal).
INSIDE_DEFAULT = "The keys to the cabinet are on the table. She put them there this morning."
LEVELS = ("tokens", "words")


def _example(name: str, lang: str, pick) -> str | None:
    """The first example text the page starts with (its language's file first), as the page reads it."""
    for path in (EXAMPLES / (f"{name}.{lang}.json" if lang != "en" else f"{name}.json"), EXAMPLES / f"{name}.json"):
        try:
            return pick(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, IndexError, TypeError):
            continue
    return None


def _flag(value: Any) -> bool:
    return str(value).lower() in ("true", "1", "yes")


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _attention_cells(state: dict[str, Any], lang: str) -> list[str]:
    text = state.get("attention_text") or _example("attention", lang, lambda d: d["examples"][0]["text"]) \
        or "The cat sat on the mat."
    pair = state.get("attention_pair") or ""
    # Only stable keys are carried over; a label written by an older link falls back to the page's default.
    measure = state.get("attention_measure") if state.get("attention_measure") in MEASURES else "weights"
    level = state.get("attention_level") if state.get("attention_level") in LEVELS else "tokens"
    filt = state.get("attention_filter")
    filt = FILTER_KEYS.get(filt, filt if filt in FILTERS else "All")  # a link's stable name (a_b), or the engine's
    colours = state.get("attention_colors") if state.get("attention_colors") in COLORSCALES else "Blues"
    hide = _flag(state.get("attention_hide_special", False))
    settings = (f"ViewSettings(layer={_int(state.get('attention_layer'), 1)} - 1, "
                f"head={'None' if _flag(state.get('attention_avg', False)) else str(_int(state.get('attention_head'), 1)) + ' - 1'}, "
                f"level={level!r}, hide_special={hide}, "
                f"renormalize={_flag(state.get('attention_renorm', True))}, filter={filt!r})")
    return [
        "from bertexplore.analysis.measures import measure, measured_view\n"
        "from bertexplore.attention import ViewSettings\n"
        "from bertexplore.figures import heatmap_figure\n"
        "from bertexplore.trace import run_trace\n\n"
        f"TEXT = {text!r}\nPAIR = {pair!r}\n"
        "trace = run_trace(loaded, TEXT, PAIR.strip() or None)  # one forward; every view reads this trace\n"
        f"settings = {settings}\n"
        f"view = measured_view(measure(trace, loaded, {measure!r}), settings)\n"
        f"fig = heatmap_figure(view, {colours!r}, {'1.0' if _flag(state.get('attention_fixed_scale', False)) and measure == 'weights' else 'None'})\n"
        "print(view.title)\n"
        "fig",
    ]


def _inside_cells(state: dict[str, Any]) -> list[str]:
    text = state.get("inside_text") or INSIDE_DEFAULT
    pair = state.get("inside_pair") or ""
    layer, head = _int(state.get("inside_layer"), 1), _int(state.get("inside_head"), 1)
    return [
        "import pandas as pd\n"
        "from bertexplore.trace import run_trace\n\n"
        f"TEXT = {text!r}\nPAIR = {pair!r}\n"
        "trace = run_trace(loaded, TEXT, PAIR.strip() or None)\n"
        "pd.DataFrame(trace.inputs.table())  # tokens, ids, segments",
        f"LAYER, HEAD = {layer}, {head}\n"
        "weights = trace.attentions[LAYER - 1, HEAD - 1]  # [tokens, tokens]; each row sums to 1\n"
        "pd.DataFrame(weights, index=trace.tokens, columns=trace.tokens).round(3)",
    ]


def _mlm_cells(state: dict[str, Any], lang: str) -> list[str]:
    text = state.get("mlm_text") or _example("masked_lm", lang, lambda d: d["fill"][0]["text"]) \
        or "Paris is the capital of [MASK]."
    k = _int(state.get("mlm_k"), 10)
    return [
        "import pandas as pd\n"
        "from bertexplore.mlm import top_k\n"
        "from bertexplore.trace import run_trace\n\n"
        f"TEXT = {text!r}\n"
        "trace = run_trace(loaded, TEXT)\n"
        "if not loaded.has_head:\n"
        "    print(f'{loaded.name} has no masked-LM head: load bert-base-uncased (see the first cell).')\n"
        "else:\n"
        f"    for result in top_k(loaded, trace, k={k}):\n"
        "        print(pd.DataFrame(result.rows()).to_string(index=False))",
    ]


def _nsp_cells(state: dict[str, Any]) -> list[str]:
    a = state.get("nsp_a") or "The man went to the store."
    b = state.get("nsp_b") or "He bought a gallon of milk."
    return [
        "from bertexplore.loading import load_model\n"
        "from bertexplore.tasks.nsp import predict_next\n\n"
        f"A, B = {a!r}, {b!r}\n"
        "try:\n"
        "    nsp_model = load_model(MODEL, head='pretraining', device='cpu')\n"
        "    result = predict_next(nsp_model, A, B)\n"
        "    print(result.verdict, f'IsNext {result.is_next:.1%}', f'NotNext {result.not_next:.1%}')\n"
        "except Exception as err:  # e.g. no next-sentence head: the message says which model has one\n"
        "    print(err)",
    ]


def _tokens_cells(text: str) -> list[str]:
    return [
        "import pandas as pd\n\n"
        f"TEXT = {text!r}\n"
        "pd.DataFrame(loaded.tokenize(TEXT).table())",
    ]


def view_cells(page: str, state: dict[str, Any], lang: str = "en") -> list[str]:
    """Code that rebuilds one page view from its URL state (a list of cells)."""
    if page == "attention":
        return _attention_cells(state, lang)
    if page == "inside_bert":
        return _inside_cells(state)
    if page == "masked_lm":
        return _mlm_cells(state, lang)
    if page == "nsp":
        return _nsp_cells(state)
    texts = [v for k, v in sorted(state.items()) if k.endswith(("_text", "_question")) and isinstance(v, str)]
    return _tokens_cells(texts[0] if texts else "The keys to the cabinet are on the table.")


def question_cell(question: Question) -> str:
    return ("from bertexplore.lessons.format import Question\n"
            "from bertexplore.lessons.questions import model_answer\n\n"
            f"question = Question({question.kind!r}, {question.params!r})\n"
            "try:\n"
            "    answer = model_answer(loaded, question)\n"
            "    print('The model says:', answer.answer)\n"
            "    print(answer.detail)\n"
            "except Exception as err:  # a model without the head the question needs\n"
            "    print(err)")


def setup_cell(model: str) -> str:
    return ("# Runs offline with the model packaged with bertexplore; bert-base-uncased, once fetched with\n"
            "# `python -m bertexplore download bert-base-uncased --to models`, answers the masked-LM questions too.\n"
            "from bertexplore.loading import load_model\n\n"
            f"MODEL = {model!r}\n"
            "loaded = load_model(MODEL, head='mlm', device='cpu')\n"
            "print(loaded.name, loaded.num_layers, 'layers ×', loaded.num_heads, 'heads')")


def _step_cells(step: Step, index: int, lang: str) -> list:
    cells = [new_markdown_cell(f"## {index}. {step.title.get(lang)}\n\n{step.text.get(lang)}")]
    cells += [new_code_cell(code) for code in view_cells(step.page, step.state, lang)]
    if step.question is not None:
        from .questions import question_prompt

        prompt = step.question.prompt.get(lang) if step.question.prompt else question_prompt(step.question)
        cells.append(new_markdown_cell(f"**{_('Predict, then reveal')}.** {prompt}\n\n"
                                       + _("Write your answer here before you run the next cell.")))
        cells.append(new_code_cell(question_cell(step.question)))
    return cells


def lesson_notebook(lesson: Lesson, model: str, lang: str = "en") -> nbformat.NotebookNode:
    """The whole lesson as a notebook: its text, and code that rebuilds every step's view and question."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [new_markdown_cell(f"# {lesson.title.get(lang)}\n\n{lesson.summary.get(lang)}"),
                new_code_cell(setup_cell(model))]
    for i, step in enumerate(lesson.steps, start=1):
        nb.cells += _step_cells(step, i, lang)
    nbformat.validate(nb)
    return nb


def view_notebook(page: str, state: dict[str, Any], model: str, lang: str = "en", title: str = "") -> nbformat.NotebookNode:
    """One page view as a notebook."""
    step = Step(page, Text(title or page, title or page), Text(" ", " "), dict(state))
    lesson = Lesson("view", step.title, step.title, (step,))
    return lesson_notebook(lesson, model, lang)


def notebook_json(nb: nbformat.NotebookNode) -> str:
    return nbformat.writes(nb)


def code_cells(nb: nbformat.NotebookNode) -> list[str]:
    return [cell.source for cell in nb.cells if cell.cell_type == "code"]
