"""Issue 19 §1 warm-up: a class's texts are traced before students arrive; Home says when it is ready."""
from __future__ import annotations

import yaml

from app_helpers import APP, assert_no_exception, open_page
from streamlit.testing.v1 import AppTest

import ui.models as models
from bertexplore.loading import forward_count
from ui import serve, warmup

TEXT = "the cat sat on the table and the dog sat on the mat"


def test_specs_name_examples_lessons_and_files(tmp_path, monkeypatch):
    examples = warmup.texts_for("examples")
    assert ("The keys to the cabinet are on the table.", "") in examples
    assert ("The cat sat on the mat.", "It was very comfortable there.") in examples
    assert any(any("\u4e00" <= ch <= "\u9fff" for ch in text) for text, _ in examples)  # Chinese ones too
    (tmp_path / "texts.txt").write_text("one\ntwo\tpair\n\none\n", encoding="utf-8")
    assert warmup.texts_for(str(tmp_path / "texts.txt")) == [("one", ""), ("two", "pair")]
    # A bundled lesson: the texts its steps open, read here straight from the YAML.
    raw = yaml.safe_load((warmup.LESSONS / "02-attention.yaml").read_text(encoding="utf-8"))
    expected = []
    for step in raw["steps"]:
        for key, value in step.get("state", {}).items():
            if key.endswith("_text"):
                expected.append((value, step["state"].get(key[:-5] + "_pair", "")))
    expected = list(dict.fromkeys(expected))
    assert expected and warmup.texts_for("lesson:attention") == expected == warmup.texts_for("lesson:02-attention")
    for bad in ("lesson:nope", "lesson:../x", str(tmp_path / "missing.txt")):
        try:
            warmup.texts_for(bad)
        except ValueError:
            continue
        raise AssertionError(bad)


def test_option_goes_to_the_environment_and_the_rest_to_streamlit(monkeypatch):
    monkeypatch.setenv(warmup.ENV, "")  # restored after the test: a leaked spec would start a warm-up
    assert serve.split_options(["--server.port", "1", "--warmup", "examples"]) == ["--server.port", "1"]
    assert __import__("os").environ[warmup.ENV] == "examples"
    assert serve.split_options(["--warmup=lesson:a"]) == []
    assert __import__("os").environ[warmup.ENV] == "lesson:a"


def test_warmed_text_opens_with_no_forward_and_home_says_ready(tiny_dir, tmp_path, monkeypatch):
    name = str(tiny_dir / "tiny-mlm")
    monkeypatch.setattr(models, "preload_default",
                        lambda: models._cached_load(name, "mlm", "cpu", "float32", models._stamp(name)))
    monkeypatch.setattr(warmup, "STATUS", warmup.Status())
    (tmp_path / "class.txt").write_text(TEXT + "\n", encoding="utf-8")
    before = forward_count()
    assert warmup.run(str(tmp_path / "class.txt")).state == "ready"
    assert forward_count() - before == 1
    at = open_page("pages/attention.py", model=name, attention_text=TEXT)
    assert_no_exception(at)
    assert forward_count() - before == 1  # the student's page found the warmed trace
    home = AppTest.from_file(APP, default_timeout=120)
    home.session_state["model"] = name
    home.run()
    assert any("Ready for class" in s.value for s in home.success), [s.value for s in home.success]
