"""AppTest of the lesson page: every bundled lesson, both languages, every step; every question is answerable with
a model that has the head it needs, or says plainly which model it needs."""
from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from app_helpers import assert_no_exception, open_page
from bertexplore.lessons.format import bundled_lessons
from bertexplore.lessons.pages import page_file
from bertexplore.lessons.questions import needs

PAGE = "pages/lesson.py"
LESSONS = bundled_lessons()


def _frame(at) -> tuple[str, dict[str, list[str]]]:
    src = next(f.proto.src for f in at.get("iframe") if f.proto.src)
    parts = urlsplit(src)
    query: dict[str, list[str]] = {}
    for key, value in parse_qsl(parts.query):
        query.setdefault(key, []).append(value)
    return parts.path, query


def _text(at) -> str:
    return "\n".join(m.value for m in at.markdown)


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("lesson", LESSONS, ids=[lesson.id for lesson in LESSONS])
def test_every_step_opens_with_the_packaged_model(lesson, lang):
    at = open_page(PAGE, lang=lang, query={"lesson": lesson.id, "step": "1"})
    for i, step in enumerate(lesson.steps):
        assert_no_exception(at)
        assert not at.error, [e.value for e in at.error]
        assert at.query_params["lesson"] == lesson.id and at.query_params["step"] == str(i + 1)
        text = _text(at)
        assert step.text.get(lang).split("\n")[0][:30] in text  # the teacher's text, in this language
        path, query = _frame(at)
        assert path == "/" + ("" if step.page == "home" else step.page)
        for key, value in step.state.items():
            expected = [str(v) for v in value] if isinstance(value, list) else [
                str(value).lower() if isinstance(value, bool) else str(value)]
            assert query[key] == expected
        if step.question is not None:
            widget = f"lesson_q_{lesson.id}_{i}"
            asked = any(w.key == widget for w in list(at.radio) + list(at.text_input))
            if needs(step.question) is None:
                assert asked  # the packaged MiniLM answers tokenizer and attention questions
            else:
                # It has no masked-LM or NSP head: the step says so and names the way to get one.
                assert not asked
                assert "bertexplore download bert-base-uncased --to models" in text
                assert ("has no" if lang == "en" else "没有") in text
        if i < len(lesson.steps) - 1:
            at.button(key="lesson_next").click().run()
    assert "lesson_answers_csv" not in [b.key for b in at.get("download_button")]  # nothing answered yet


@pytest.mark.parametrize("lesson", LESSONS, ids=[lesson.id for lesson in LESSONS])
def test_every_question_is_answerable_with_a_model_that_has_the_head(lesson, tiny_dir):
    # tiny-pretraining carries BERT's masked-LM and next-sentence heads: every kind of question gets asked.
    at = open_page(PAGE, model=str(tiny_dir / "tiny-pretraining"), query={"lesson": lesson.id, "step": "1"})
    answered = 0
    for i, step in enumerate(lesson.steps):
        assert_no_exception(at)
        if step.question is not None:
            widget = f"lesson_q_{lesson.id}_{i}"
            radios = [w for w in at.radio if w.key == widget]
            texts = [w for w in at.text_input if w.key == widget]
            if not radios and not texts:
                # Only a question about a layer or head the 2-layer, 4-head tiny model lacks: it says so plainly.
                assert "layers × " in at.error[0].value, [e.value for e in at.error]
                assert step.question.params.get("layer", 0) > 2 or step.question.params.get("head", 0) > 4
            else:
                if radios:
                    radios[0].set_value(radios[0].options[0]).run()
                else:
                    texts[0].input("paris").run()
                at.button(key=f"{widget}_commit").click().run()
                assert_no_exception(at)
                assert at.success or at.error  # graded
                answered += 1
        if i < len(lesson.steps) - 1:
            at.button(key="lesson_next").click().run()
    assert answered and "lesson_answers_csv" in [b.key for b in at.get("download_button")]


@pytest.mark.parametrize("target", sorted({(s.page, tuple(sorted((k, str(v).lower() if isinstance(v, bool) else str(v))
                                                                   for k, v in s.state.items())))
                                           for lesson in LESSONS for s in lesson.steps}), ids=str)
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_each_steps_page_opens_in_its_state(target, lang):
    """What the frame loads: the step's page with the step's URL state, run as a shared link runs it."""
    page, state = target
    at = open_page(page_file(page), query=dict(state), lang=lang)
    assert_no_exception(at)
    for key, value in state:
        widget = at.session_state[key] if key in at.session_state else None
        assert str(widget).lower() == value.lower() or str(widget) == value, (key, widget, value)


def test_a_shared_step_link_and_presenter_mode():
    at = open_page(PAGE, query={"lesson": "attention", "step": "3"})
    at.button(key="lesson_present").click().run()
    assert_no_exception(at)
    assert at.query_params["present"] == "1" and at.query_params["step"] == "3"
    assert "Step 3 of 5" in _text(at)
    assert not [w for w in at.selectbox if w.key == "lesson_pick"]  # one step per screen: no picker
    path, query = _frame(at)
    assert path == "/attention" and query["present"] == ["1"] and query["attention_head"] == ["5"]
    styles = [h.proto.body for h in at.get("html")]
    assert any("stSidebar" in s and "font-size: 18px !important" in s for s in styles)
    at.button(key="lesson_prev").click().run()
    assert at.query_params["step"] == "2"
    at.button(key="lesson_unpresent").click().run()
    assert "present" not in at.query_params and [w for w in at.selectbox if w.key == "lesson_pick"]


def test_answers_are_graded_and_downloaded(tiny_dir):
    at = open_page(PAGE, model=str(tiny_dir / "tiny-mlm"), query={"lesson": "reading", "step": "5"})
    widget = "lesson_q_reading_4"
    radio = next(w for w in at.radio if w.key == widget)
    assert "[CLS]" in radio.options and "keys" in radio.options  # choices: the sentence's own tokens
    radio.set_value("keys").run()
    at.button(key=f"{widget}_commit").click().run()
    assert_no_exception(at)
    graded = (at.success or at.error)[0].value
    assert "model says" in graded or "Not what the model says" in graded
    assert "lesson_answers_csv" in [b.key for b in at.get("download_button")]


def test_add_this_view_builds_a_lesson_that_loads_back():
    from bertexplore.lessons.format import dump_lesson, parse_lesson
    from ui.lesson_draft import draft_lesson

    state = {"attention_text": "The cat sat on the mat.", "attention_layer": "2", "attention_head": "3"}
    at = open_page("pages/attention.py", query=state)
    at.text_area(key="lesson_draft_note").input("Look at head 3.").run()
    at.button(key="lesson_add_view").click().run()
    assert_no_exception(at)
    steps = at.session_state["lesson_draft"]
    assert len(steps) == 1 and steps[0].page == "attention" and steps[0].state == state
    assert steps[0].text.en == "Look at head 3."
    assert "lesson_draft_download" in [b.key for b in at.get("download_button")]
    lesson = parse_lesson(dump_lesson(draft_lesson(steps)), "my-lesson.yaml")  # the file it offers, read back
    assert lesson.steps == tuple(steps)
    at.switch_page(PAGE)  # "Try it" is a link to the lesson page with ?lesson=my-lesson
    at.query_params["lesson"] = "my-lesson"
    at.run()
    assert_no_exception(at)
    path, query = _frame(at)
    assert path == "/attention" and query["attention_head"] == ["3"] and at.query_params["lesson"] == "my-lesson"
