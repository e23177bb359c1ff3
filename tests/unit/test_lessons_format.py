"""Lesson files: the bundled ones are valid, round-trip, name real URL keys; malformed ones get one message with the
file and line."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from bertexplore.lessons.format import LessonError, bundled_lessons, dump_lesson, load_lesson, parse_lesson
from bertexplore.lessons.pages import PAGE_STATE, page_file

ROOT = Path(__file__).resolve().parents[2]

GOOD = """\
id: demo
title: {en: Demo, zh: 演示}
steps:
  - page: attention
    state:
      attention_text: The cat sat.
      attention_layer: 2
    title: {en: One, zh: 一}
    text: {en: Some text., zh: 一些文字。}
    question:
      kind: attention_top
      text: The cat sat.
      layer: 1
      head: 1
      token: cat
"""


def test_bundled_lessons_are_five_valid_and_bilingual():
    lessons = bundled_lessons()
    assert [lesson.id for lesson in lessons] == ["reading", "attention", "pretraining", "finetuning", "smaller"]
    for lesson in lessons:
        assert lesson.title.en != lesson.title.zh
        for step in lesson.steps:
            assert step.text.en.strip() and step.text.zh.strip()
            assert re.search(r"[\u4e00-\u9fff]", step.text.zh), (lesson.id, step.title.en)  # really Chinese
        assert parse_lesson(dump_lesson(lesson), lesson.source) == lesson


def test_every_state_key_is_bound_by_its_page():
    # A renamed widget key must fail here rather than silently open the page's default view.
    for page, keys in PAGE_STATE.items():
        source = (ROOT / page_file(page)).read_text() + "".join(p.read_text() for p in (ROOT / "ui").glob("*.py"))
        for key in keys:
            assert f'"{key}"' in source, (page, key)


def test_the_good_example_parses():
    lesson = parse_lesson(GOOD, "demo.yaml")
    step = lesson.steps[0]
    assert step.state == {"attention_text": "The cat sat.", "attention_layer": 2}
    assert step.question.params == {"text": "The cat sat.", "layer": 1, "head": 1, "token": "cat"}
    assert lesson.summary == lesson.title


BAD = [  # (what is changed, replacement, line, words the message holds)
    ("      attention_layer: 2\n", "      attention_layer: [2\n", 8, "not valid YAML"),
    ("  - page: attention\n", "  - page: attentoin\n", 4, "unknown page 'attentoin'"),
    ("      attention_layer: 2\n", "      attention_leyer: 2\n", 7, "unknown key 'attention_leyer'"),
    ("    text: {en: Some text., zh: 一些文字。}\n", "    text: Some text.\n", 9, "both languages"),
    ("    text: {en: Some text., zh: 一些文字。}\n", "    text: {en: Some text.}\n", 9, "missing zh"),
    ("      kind: attention_top\n", "      kind: essay\n", 11, "unknown kind 'essay'"),
    ("      layer: 1\n", "      layer: one\n", 13, "whole number"),
    ("      token: cat\n", "      token: dog\n", 15, "not in the text"),
    ("      token: cat\n", "", 11, "needs 'token'"),
    ("id: demo\n", "id: Demo Lesson\n", 1, "lower-case"),
    ("    title: {en: One, zh: 一}\n", "    title: {en: One, zh: 一}\n    title: {en: Two, zh: 二}\n", 9, "given twice"),
]


@pytest.mark.parametrize("old,new,line,words", BAD, ids=[b[3] for b in BAD])
def test_a_malformed_file_names_the_line(old, new, line, words):
    assert old in GOOD
    with pytest.raises(LessonError) as info:
        parse_lesson(GOOD.replace(old, new, 1), "bad.yaml")
    err = info.value
    assert err.source == "bad.yaml" and err.line == line, str(err)
    assert str(err).startswith(f"bad.yaml, line {line}: ") and words in str(err)
    if words == "not valid YAML":
        assert "began on line 7" in str(err)  # the unclosed bracket
    assert "Traceback" not in str(err) and "\n" not in str(err).strip()


def test_mask_questions_need_exactly_one_mask():
    text = GOOD.replace("kind: attention_top", "kind: mask_fill").replace(
        "      layer: 1\n      head: 1\n      token: cat\n", "")
    with pytest.raises(LessonError, match=r"line 12: .*exactly one \[MASK\]"):
        parse_lesson(text, "m.yaml")
    parse_lesson(text.replace("text: The cat sat.\n      ", "text: The [MASK] sat.\n      ", 1)
                 .replace("      text: The cat sat.\n", "      text: The [MASK] sat.\n"), "m.yaml")


def test_empty_and_unreadable_files(tmp_path):
    with pytest.raises(LessonError, match="empty"):
        parse_lesson("", "e.yaml")
    with pytest.raises(LessonError, match="line 1: .*mapping"):
        parse_lesson("- just\n- a list\n", "l.yaml")
    path = tmp_path / "bin.yaml"
    path.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(LessonError, match="bin.yaml: the file cannot be read"):
        load_lesson(path)
