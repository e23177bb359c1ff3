"""Lesson files: YAML read into plain dataclasses, checked field by field, every fault reported with its line.

The format is documented in assets/lessons/README.md. A malformed file raises LessonError, whose message names the
file and the line ("attention.yaml, line 12: ..."), never a traceback from the YAML parser.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import BertExploreError
from ..i18n import _
from .pages import PAGE_STATE

LANGS = ("en", "zh")
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
MASK = "[MASK]"

# Question kinds and the parameters each takes: name -> (type, required).
KINDS: dict[str, dict[str, tuple[type, bool]]] = {
    "wordpieces": {"word": (str, True)},
    "mask_fill": {"text": (str, True), "k": (int, False), "choices": (bool, False)},
    "attention_top": {"text": (str, True), "layer": (int, True), "head": (int, True), "token": (str, True)},
    "nsp": {"a": (str, True), "b": (str, True)},
    "lens_layer": {"text": (str, True)},
}


class LessonError(BertExploreError):
    """A lesson file that cannot be used: `str(err)` names the file and line."""

    def __init__(self, source: str, line: int | None, message: str) -> None:
        self.source, self.line, self.message = source, line, message
        where = _("{file}, line {line}").format(file=source, line=line) if line else source
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class Text:
    """One text in both languages."""

    en: str
    zh: str

    def get(self, lang: str) -> str:
        return self.zh if lang == "zh" and self.zh else self.en

    def as_dict(self) -> dict[str, str]:
        return {"en": self.en, "zh": self.zh}


@dataclass(frozen=True)
class Question:
    kind: str
    params: dict[str, Any]
    prompt: Text | None = None

    def key(self) -> tuple:
        """Hashable identity (memo keys)."""
        return (self.kind,) + tuple(sorted((k, str(v)) for k, v in self.params.items()))


@dataclass(frozen=True)
class Step:
    page: str
    title: Text
    text: Text
    state: dict[str, Any] = field(default_factory=dict)
    question: Question | None = None


@dataclass(frozen=True)
class Lesson:
    id: str
    title: Text
    summary: Text
    steps: tuple[Step, ...]
    source: str = ""


# ------------------------------------------------------------------------------------------------ reading

def _construct(node: yaml.Node) -> Any:
    """The Python value of a scalar node, typed by YAML's own resolver (1 -> int, true -> bool, "1" -> str)."""
    return yaml.constructor.SafeConstructor().construct_object(node, deep=True)


def _line(node: yaml.Node | None) -> int | None:
    return node.start_mark.line + 1 if node is not None else None


class _Reader:
    """Walks the composed YAML node tree (which knows its lines) while building the dataclasses."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, node: yaml.Node | None, message: str) -> LessonError:
        return LessonError(self.source, _line(node), message)

    def mapping(self, node: yaml.Node, what: str, allowed: set[str], required: set[str]) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, _("{what} must be a mapping of keys to values.").format(what=what))
        out: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                raise self.fail(key_node, _("{what}: keys must be plain words.").format(what=what))
            if key in out:
                raise self.fail(key_node, _("{what}: '{key}' is given twice.").format(what=what, key=key))
            if key not in allowed:
                raise self.fail(key_node, _("{what}: unknown key '{key}' (allowed: {allowed}).").format(
                    what=what, key=key, allowed=", ".join(sorted(allowed))))
            out[key] = value_node
        missing = sorted(required - set(out))
        if missing:
            raise self.fail(node, _("{what}: missing {keys}.").format(what=what, keys=", ".join(missing)))
        return out

    def scalar(self, node: yaml.Node, what: str, kind: type) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, _("{what} must be a single value.").format(what=what))
        value = _construct(node)
        if kind is str:
            if not isinstance(value, str):
                value = node.value  # e.g. a number written as a word: keep what was written
            return value
        if kind is bool and not isinstance(value, bool):
            raise self.fail(node, _("{what} must be true or false.").format(what=what))
        if kind is int and (not isinstance(value, int) or isinstance(value, bool)):
            raise self.fail(node, _("{what} must be a whole number.").format(what=what))
        return value

    def text(self, node: yaml.Node, what: str) -> Text:
        if isinstance(node, yaml.ScalarNode):
            raise self.fail(node, _("{what} needs both languages: give 'en:' and 'zh:' below it.").format(what=what))
        items = self.mapping(node, what, set(LANGS), set(LANGS))
        values = {lang: self.scalar(items[lang], f"{what}.{lang}", str).strip() for lang in LANGS}
        for lang in LANGS:
            if not values[lang]:
                raise self.fail(items[lang], _("{what}.{lang} is empty.").format(what=what, lang=lang))
        return Text(**values)

    def state(self, node: yaml.Node, page: str, what: str) -> dict[str, Any]:
        allowed = set(PAGE_STATE[page])
        items = self.mapping(node, what, allowed | {"model"}, set())
        state: dict[str, Any] = {}
        for key, value_node in items.items():
            if isinstance(value_node, yaml.SequenceNode):
                state[key] = [self.scalar(v, f"{what}.{key}", str) for v in value_node.value]
            elif isinstance(value_node, yaml.ScalarNode):
                value = _construct(value_node)
                if value is None or isinstance(value, (dict, list)):
                    raise self.fail(value_node, _("{what}.{key} has no usable value.").format(what=what, key=key))
                state[key] = value
            else:
                raise self.fail(value_node, _("{what}.{key} must be a value or a list.").format(what=what, key=key))
        return state

    def question(self, node: yaml.Node, what: str) -> Question:
        head = self.mapping(node, what, {"kind", "prompt"} | {p for k in KINDS.values() for p in k}, {"kind"})
        kind = self.scalar(head["kind"], f"{what}.kind", str)
        if kind not in KINDS:
            raise self.fail(head["kind"], _("{what}.kind: unknown kind '{kind}' (known: {kinds}).").format(
                what=what, kind=kind, kinds=", ".join(KINDS)))
        spec = KINDS[kind]
        params: dict[str, Any] = {}
        for name, value_node in head.items():
            if name in ("kind", "prompt"):
                continue
            if name not in spec:
                raise self.fail(value_node, _("{what}: a question of kind '{kind}' takes no '{name}' (it takes: {names}).")
                                .format(what=what, kind=kind, name=name, names=", ".join(spec)))
            params[name] = self.scalar(value_node, f"{what}.{name}", spec[name][0])
        for name, (_kind, required) in spec.items():
            if required and name not in params:
                raise self.fail(node, _("{what}: a question of kind '{kind}' needs '{name}'.").format(
                    what=what, kind=kind, name=name))
        self.check_question(kind, params, head, what)
        prompt = self.text(head["prompt"], f"{what}.prompt") if "prompt" in head else None
        return Question(kind, params, prompt)

    def check_question(self, kind: str, params: dict[str, Any], nodes: dict[str, yaml.Node], what: str) -> None:
        if kind in ("mask_fill", "lens_layer") and params["text"].count(MASK) != 1:
            raise self.fail(nodes["text"], _("{what}.text must hold exactly one [MASK].").format(what=what))
        if kind == "mask_fill" and not 1 <= params.get("k", 5) <= 50:
            raise self.fail(nodes["k"], _("{what}.k must be between 1 and 50.").format(what=what))
        if kind == "attention_top":
            for name in ("layer", "head"):
                if params[name] < 1:
                    raise self.fail(nodes[name], _("{what}.{name} counts from 1.").format(what=what, name=name))
            if params["token"].lower() not in params["text"].lower():
                raise self.fail(nodes["token"], _("{what}.token '{token}' is not in the text.").format(
                    what=what, token=params["token"]))
        for name in ("word", "text", "a", "b", "token"):
            if name in params and not params[name].strip():
                raise self.fail(nodes[name], _("{what}.{name} is empty.").format(what=what, name=name))

    def step(self, node: yaml.Node, what: str) -> Step:
        items = self.mapping(node, what, {"page", "state", "title", "text", "question"}, {"page", "title", "text"})
        page = self.scalar(items["page"], f"{what}.page", str)
        if page not in PAGE_STATE:
            raise self.fail(items["page"], _("{what}.page: unknown page '{page}' (known: {pages}).").format(
                what=what, page=page, pages=", ".join(PAGE_STATE)))
        state = self.state(items["state"], page, f"{what}.state") if "state" in items else {}
        question = self.question(items["question"], f"{what}.question") if "question" in items else None
        return Step(page, self.text(items["title"], f"{what}.title"), self.text(items["text"], f"{what}.text"),
                    state, question)

    def lesson(self, node: yaml.Node | None) -> Lesson:
        if node is None:
            raise LessonError(self.source, None, _("the file is empty."))
        items = self.mapping(node, _("the lesson"), {"id", "title", "summary", "steps"}, {"id", "title", "steps"})
        lesson_id = self.scalar(items["id"], "id", str)
        if not ID_PATTERN.match(lesson_id):
            raise self.fail(items["id"], _("id must be lower-case letters, digits, - or _ (it is used in links)."))
        steps_node = items["steps"]
        if not isinstance(steps_node, yaml.SequenceNode) or not steps_node.value:
            raise self.fail(steps_node, _("steps must be a list with at least one step."))
        steps = tuple(self.step(s, _("step {n}").format(n=i + 1)) for i, s in enumerate(steps_node.value))
        title = self.text(items["title"], "title")
        summary = self.text(items["summary"], "summary") if "summary" in items else title
        return Lesson(lesson_id, title, summary, steps, self.source)


def parse_lesson(text: str, source: str = "lesson") -> Lesson:
    """Read one lesson from YAML text; LessonError (file and line) on any fault."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        problem = err.problem or err.context or str(err)
        message = _("this is not valid YAML ({problem}).").format(problem=problem)
        if err.context_mark is not None and mark is not None and err.context_mark.line != mark.line:
            # The parser notices some faults a line late (an unclosed bracket): name where the construct began.
            message += " " + _("It began on line {line}.").format(line=err.context_mark.line + 1)
        raise LessonError(source, mark.line + 1 if mark else None, message) from None
    except yaml.YAMLError as err:
        raise LessonError(source, None, _("this is not valid YAML ({problem}).").format(problem=err)) from None
    return _Reader(source).lesson(node)


def load_lesson(path: Path | str) -> Lesson:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise LessonError(path.name, None, _("the file cannot be read ({problem}).").format(problem=err)) from None
    return parse_lesson(text, path.name)


BUNDLED = Path(__file__).resolve().parents[2] / "assets" / "lessons"


def bundled_lessons(folder: Path = BUNDLED) -> list[Lesson]:
    """The lessons shipped in assets/lessons, in file-name order (the files are numbered)."""
    return [load_lesson(p) for p in sorted(folder.glob("*.yaml"))]


# ------------------------------------------------------------------------------------------------ writing

def _text(t: Text) -> dict[str, str]:
    return t.as_dict()


def lesson_to_data(lesson: Lesson) -> dict[str, Any]:
    steps = []
    for step in lesson.steps:
        item: dict[str, Any] = {"page": step.page}
        if step.state:
            item["state"] = dict(step.state)
        item["title"] = _text(step.title)
        item["text"] = _text(step.text)
        if step.question is not None:
            q: dict[str, Any] = {"kind": step.question.kind, **step.question.params}
            if step.question.prompt is not None:
                q["prompt"] = _text(step.question.prompt)
            item["question"] = q
        steps.append(item)
    return {"id": lesson.id, "title": _text(lesson.title), "summary": _text(lesson.summary), "steps": steps}


def dump_lesson(lesson: Lesson) -> str:
    """The lesson as YAML that parse_lesson reads back to an equal Lesson."""
    return yaml.safe_dump(lesson_to_data(lesson), allow_unicode=True, sort_keys=False, width=100)
