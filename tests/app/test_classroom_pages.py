"""A teacher's classroom day through the pages (AppTest): the offline paths, heads from the Fine-tune page, one-click
switches to saved models with the head a page needs, and the frictions seen in the browser."""
from __future__ import annotations

import json
import shutil

import pytest

from app_helpers import assert_no_exception, open_page
from bertexplore.registry import OFFLINE_MODEL
from bertexplore.packs import pack_command


@pytest.fixture
def models(models_dir):
    """The models folder of tests/app/conftest.py, under the short name these tests use."""
    return models_dir


def _texts(at) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info]
    parts += [s.value for s in at.success] + [w.value for w in at.warning] + [e.value for e in at.error]
    return "\n".join(str(p) for p in parts).replace("\\", "")


def _saved_mlm(models, tiny_dir, name="my-mlm", trained_here=True):
    shutil.copytree(tiny_dir / "tiny-mlm", models / name)
    if trained_here:
        (models / name / "training_config.yaml").write_text(f"task: mlm\nbase_model: {OFFLINE_MODEL}\n")
    return name


# ------------------------------------------------------------------------------------------------ Home
def test_home_offline_with_nothing_gives_numbered_paths_and_true_advice(models):
    at = open_page("pages/home.py")
    assert_no_exception(at)
    labels = [t.label for t in at.tabs]
    assert labels[:3] == ["1 · Online", "2 · Offline: copy the classroom pack", "3 · Offline with nothing: train here"]
    text = _texts(at)
    assert "path 3 works now" in text
    assert pack_command("classroom") in [c.value for c in at.code]
    # Offline and without it, the page never advises picking bert-base-uncased in the sidebar as what to do now.
    assert "Pick bert-base-uncased (online)" not in text


def test_home_with_a_saved_masked_lm_offers_it_in_one_click(models, tiny_dir):
    name = _saved_mlm(models, tiny_dir)
    at = open_page("pages/home.py", model=OFFLINE_MODEL)
    assert_no_exception(at)
    buttons = [b for b in at.button if b.label == name]
    assert buttons
    buttons[0].click()
    at.run()
    assert at.session_state["model"] == name


# ------------------------------------------------------------------------------------------- Masked-LM
def test_masked_lm_without_a_head_keeps_tokens_and_points_to_the_saved_model(models, tiny_dir):
    name = _saved_mlm(models, tiny_dir)
    shutil.copytree(tiny_dir / "tiny-base", models / "plain-encoder")
    at = open_page("pages/masked_lm.py", model="plain-encoder", mlm_text="the cat sat on the mat .")
    assert_no_exception(at)
    assert at.get("button_group"), "the token chips stay"
    assert any(b.label == name for b in at.button)
    assert not at.get("plotly_chart")  # no predictions without the head
    [b for b in at.button if b.label == name][0].click()
    at.run()
    assert_no_exception(at)
    assert at.session_state["model"] == name


def test_masked_lm_head_trained_here_comes_with_honest_expectations(models, tiny_dir):
    name = _saved_mlm(models, tiny_dir)
    at = open_page("pages/masked_lm.py", model=name, mlm_text="the cat sat on the [MASK] .")
    assert_no_exception(at)
    assert at.get("plotly_chart")
    assert "expect weak guesses" in _texts(at) and "classroom pack" in _texts(at)
    _saved_mlm(models, tiny_dir, "real-mlm", trained_here=False)
    at = open_page("pages/masked_lm.py", model="real-mlm", mlm_text="the cat sat on the [MASK] .")
    assert "expect weak guesses" not in _texts(at)


def test_masked_lm_text_applies_on_enter_and_example_name_follows_edits(models, tiny_dir):
    _saved_mlm(models, tiny_dir, trained_here=False)
    at = open_page("pages/masked_lm.py", model="my-mlm")
    assert_no_exception(at)
    assert at.text_input(key="mlm_text")  # a single-line box: Enter applies it
    examples = at.selectbox(key="mlm_example")
    examples.set_value(examples.options[0]).run()
    assert at.session_state["mlm_example"] == examples.options[0]
    at.text_input(key="mlm_text").set_value("the dog sat on the [MASK] .").run()
    assert at.session_state["mlm_example"] is None  # edited: no longer that example


# ------------------------------------------------------------------------------------------ task pages
TASK_PAGES = {"pages/classification.py": "cls_checkpoint", "pages/ner.py": "ner_checkpoint",
              "pages/qa.py": "qa_checkpoint", "pages/nsp.py": "nsp_checkpoint"}


@pytest.mark.parametrize("page", list(TASK_PAGES))
def test_offline_task_page_opens_with_one_calm_message(models, page):
    at = open_page(page)
    assert_no_exception(at)
    assert not at.error and not at.warning  # no red error, no second box repeating it
    text = _texts(at)
    assert "Copy the classroom pack" in text and "Train one here, offline" in text
    assert [c.value for c in at.code] == [pack_command("classroom")]


def test_bert_base_uncased_copied_from_the_pack_serves_the_next_sentence_page(models, tiny_dir):
    from tiny import make_tiny_model
    from transformers import BertForPreTraining

    folder = make_tiny_model(models / "bert-base-uncased", BertForPreTraining)
    config = json.loads((folder / "config.json").read_text())
    config["architectures"] = ["BertForMaskedLM"]  # as the real checkpoint declares
    (folder / "config.json").write_text(json.dumps(config))
    at = open_page("pages/nsp.py")
    assert_no_exception(at)
    assert at.selectbox(key="nsp_checkpoint").value == "bert-base-uncased"
    assert at.get("plotly_chart") and not at.warning


def test_task_page_with_a_model_lacking_the_head_offers_the_saved_ones(models, tiny_dir):
    shutil.copytree(tiny_dir / "tiny-qa", models / "my-qa")
    at = open_page("pages/qa.py", qa_checkpoint=OFFLINE_MODEL)
    assert_no_exception(at)
    switch = [b for b in at.button if b.label == "my-qa"]
    assert switch and not at.get("plotly_chart")
    switch[0].click()
    at.run()
    assert_no_exception(at)
    assert at.session_state["qa_checkpoint"] == "my-qa"


# ------------------------------------------------------------------------------------------- Fine-tune
def _train(at, task: str, **settings):
    at.radio(key="ft_task").set_value(task).run()
    assert_no_exception(at)
    for key, value in settings.items():
        at.number_input(key=f"{key}_{task}").set_value(value)
    at.run()
    at.button(key="ft_start").click()
    at.run()
    assert_no_exception(at)
    assert at.button(key="ft_start").disabled  # drawn disabled in the very run that started it
    job = at.session_state["ft_job"]
    assert job.wait(600), "training did not finish"
    at.run()
    assert_no_exception(at)
    assert job.status == "finished", job.error
    return job


def test_pretraining_on_the_fine_tune_page_feeds_the_next_sentence_page(models, tiny_dir):
    at = open_page("pages/finetune.py", model=str(tiny_dir / "tiny-base"))
    job = _train(at, "pretraining", ft_epochs=0.5, ft_batch=32)
    assert "nsp_accuracy" in job.result.metrics_after
    metrics = at.dataframe[-1].value if "metric" in at.dataframe[-1].value.columns else \
        next(d.value for d in at.dataframe if "metric" in d.value.columns)
    assert "next-sentence accuracy" in list(metrics["metric"])
    at.text_input(key="ft_save_name").set_value("tiny-nsp").run()
    at.button(key="ft_save").click().run()
    assert_no_exception(at)
    saved = " ".join(s.value for s in at.success).replace("\\", "")
    assert "tiny-nsp" in saved and "Next sentence page" in saved and "sidebar" in saved
    at.button(key="ft_compare").click().run()  # before/after on a sentence pair
    assert_no_exception(at)
    tables = [d.value for d in at.dataframe if "label" in d.value.columns]
    assert len(tables) == 2 and all(list(t["label"]) == ["IsNext", "NotNext"] for t in tables)
    nsp = open_page("pages/nsp.py")
    assert nsp.selectbox(key="nsp_checkpoint").value == "tiny-nsp" and nsp.get("plotly_chart")


def test_qa_on_the_fine_tune_page_reports_exact_match_and_feeds_the_qa_page(models, tiny_dir):
    at = open_page("pages/finetune.py", model=str(tiny_dir / "tiny-base"))
    job = _train(at, "qa", ft_epochs=0.3, ft_batch=32, ft_maxlen=64)
    assert {"exact_match", "f1"} <= set(job.result.metrics_after)
    assert any("Held-out questions" in e.label for e in at.expander)
    at.text_input(key="ft_save_name").set_value("tiny-qa-here").run()
    at.button(key="ft_save").click().run()
    assert "Question answering page" in " ".join(s.value for s in at.success)
    at.button(key="ft_compare").click().run()
    assert_no_exception(at)
    assert len([d for d in at.dataframe if "answer" in d.value.columns]) == 2
    qa = open_page("pages/qa.py")
    assert qa.selectbox(key="qa_checkpoint").value == "tiny-qa-here"


def test_each_task_keeps_its_own_before_after_sentence(models, tiny_dir):
    at = open_page("pages/finetune.py", model=str(tiny_dir / "tiny-base"))
    _train(at, "classification", ft_epochs=0.2, ft_batch=64)
    assert at.text_input(key="ft_sentence_classification").value.startswith("The service was slow")
    _train(at, "ner", ft_epochs=0.2, ft_batch=64)
    assert at.text_input(key="ft_sentence_ner").value == "Maria Lopez works for Siemens in Berlin."


def test_attention_example_name_clears_when_the_text_is_edited(tiny_dir):
    at = open_page("pages/attention.py", model=str(tiny_dir / "tiny-mlm"))
    assert_no_exception(at)
    picker = at.selectbox(key="attention_example")
    picker.set_value(picker.options[0]).run()
    assert at.session_state["attention_example"] == picker.options[0]
    at.text_input(key="attention_text").set_value("the cat sat on the mat").run()
    assert_no_exception(at)
    assert at.session_state["attention_example"] is None


def test_use_the_saved_model_in_one_click_from_the_save_message(models, tiny_dir):
    at = open_page("pages/finetune.py", model=str(tiny_dir / "tiny-base"))
    _train(at, "mlm", ft_epochs=0.2, ft_batch=64)
    at.text_input(key="ft_save_name").set_value("tiny-mlm-here").run()
    at.button(key="ft_save").click().run()
    assert "sidebar" in " ".join(s.value for s in at.success)
    links = [link.proto for link in at.get("page_link") if link.proto.label.startswith("Use it on the Masked-LM page")]
    assert links and "model=tiny-mlm-here" in links[0].query_string
    # What the link opens: the Masked-LM page with the model in the sidebar picker (bound to the URL).
    page = open_page("pages/masked_lm.py", model="tiny-mlm-here", mlm_text="the cat sat on the [MASK] .")
    assert_no_exception(page)
    assert page.get("plotly_chart")
