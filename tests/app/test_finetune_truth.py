"""AppTest: the Fine-tune page says what is true (issue 16 items 1, 5, 6) and the Next sentence page its model's
held-out accuracy."""
from __future__ import annotations

import json
import re
import shutil

import pytest

from app_helpers import assert_no_exception, open_page
from bertexplore.finetune.config import TASKS
from bertexplore.i18n import catalog
from bertexplore.registry import OFFLINE_MODEL


def test_a_link_with_the_task_key_opens_that_task(tiny_dir, models_dir):
    at = open_page("pages/finetune.py", model=str(tiny_dir / "tiny-base"), query={"ft_task": "pretraining"})
    assert_no_exception(at)
    assert at.radio(key="ft_task").value == "pretraining"
    assert at.query_params["ft_task"] == "pretraining"  # the key goes back into the URL, never the label
    # The data summary counts paragraphs (the pairs are drawn from them), not "examples".
    assert any("training and" in s.value and "validation paragraphs" in s.value for s in at.success)
    # Another page's "Open the Fine-tune page" link for another task, in the same session: it lands on that task.
    at.query_params["ft_task"] = "qa"
    at.run()
    assert at.radio(key="ft_task").value == "qa"
    assert any("validation questions" in s.value for s in at.success)
    at.radio(key="ft_task").set_value("ner").run()
    assert at.query_params["ft_task"] == "ner"


def test_an_old_link_with_the_chinese_label_still_opens_its_task(tiny_dir, models_dir):
    label = catalog("zh").gettext(TASKS["ner"])
    assert label != TASKS["ner"]
    at = open_page("pages/finetune.py", model=str(tiny_dir / "tiny-base"), query={"ft_task": label})
    assert_no_exception(at)
    assert at.radio(key="ft_task").value == "ner"


def test_chinese_mode_with_only_the_english_model(models_dir):
    at = open_page("pages/finetune.py", model=OFFLINE_MODEL, lang="zh")
    assert_no_exception(at)
    picked = at.selectbox(key="ft_bundled_classification").value
    assert not picked.startswith("Chinese")  # the English set first: this model cannot read the Chinese one
    assert not at.warning
    # (AppTest re-formats every widget's value in English when it sends a change: open again with the choice made)
    at = open_page("pages/finetune.py", model=OFFLINE_MODEL, lang="zh",
                   ft_bundled_classification="Chinese sentiment (正面 / 负面)")
    assert_no_exception(at)
    warning = " ".join(w.value for w in at.warning)
    assert "bert-base-chinese" in warning and "[UNK]" in warning
    share = int(re.search(r"(\d+)%", warning).group(1))  # "…读不懂这份数据中 67% 的字符…"
    assert 50 <= share <= 90


def test_a_very_long_model_name_is_a_message_not_a_crash(models_dir):
    at = open_page("pages/finetune.py", model="m" * 300)
    assert_no_exception(at)
    # one message naming the limit and the name's length (the sidebar's loader and the page share bertexplore.limits)
    assert any("200" in e.value and "300" in e.value for e in at.error), [e.value for e in at.error]
    # the page goes on with the packaged model, and says so: nothing is trained under the refused name
    assert any(OFFLINE_MODEL in c.value for c in at.caption) and not any("m" * 300 in c.value for c in at.caption)


def test_results_stay_with_their_task_and_the_status_says_it_once(tiny_dir, models_dir):
    at = open_page("pages/finetune.py", model=str(tiny_dir / "tiny-base"))
    at.number_input(key="ft_epochs_classification").set_value(1.0)
    at.number_input(key="ft_batch_classification").set_value(64).run()
    at.button(key="ft_start").click().run()
    job = at.session_state["ft_job"]
    assert job.wait(180)
    at.run()
    assert_no_exception(at)
    text = at.get("progress")[0].proto.text
    assert text.startswith("**Finished** · step") and text.count("Finished") == 1 and "Done" not in text
    assert any(h.value == "4 · Results" for h in at.subheader)
    assert at.text_input(key="ft_save_name").value == "tiny-base-classification"

    at.radio(key="ft_task").set_value("ner").run()
    assert_no_exception(at)
    assert not any(h.value == "4 · Results" for h in at.subheader)  # not under NER: that run trained a classifier
    assert not at.get("plotly_chart") and not at.get("progress")
    assert any("Sentence classification" in i.value for i in at.info)
    at.button(key="ft_show_run").click().run()
    assert at.radio(key="ft_task").value == "classification"
    assert any(h.value == "4 · Results" for h in at.subheader)

    (models_dir / "tiny-base-classification").mkdir()  # a model of that name exists now: never proposed again
    at.run()
    assert at.text_input(key="ft_save_name").value == "tiny-base-classification"  # the box keeps what it shows...
    from ui.finetune_setup import proposed_save_name
    assert proposed_save_name(job.config) == "tiny-base-classification-2"  # ...but a new run proposes a free name


@pytest.mark.parametrize("accuracy, warned", [(0.55, True), (0.82, False)])
def test_next_sentence_page_shows_the_held_out_accuracy(tiny_dir, models_dir, accuracy, warned):
    shutil.copytree(tiny_dir / "tiny-pretraining", models_dir / "nsp-model")
    (models_dir / "nsp-model" / "metrics.json").write_text(json.dumps(
        {"after": {"nsp_accuracy": accuracy}, "validation_items": 100, "validation_unit": "pairs"}))
    at = open_page("pages/nsp.py", nsp_checkpoint="nsp-model")
    assert_no_exception(at)
    shown = f"{accuracy:.0%} on 100 sentence pairs it did not train on"
    if warned:
        assert any(shown in w.value and "guessing" in w.value for w in at.warning)
    else:
        assert not at.warning and any(shown in c.value for c in at.caption)
