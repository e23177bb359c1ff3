"""Shared links carry stable values (ui/url_state.py): the same link opens the same view in every language, old
label-style links still open, and what the page writes into the link is the stable value, not a label."""
from __future__ import annotations

import pytest

from app_helpers import assert_no_exception, open_page
from bertexplore.i18n import catalog
from ui.url_state import URL_VALUES, resolve

ATTENTION = "pages/attention.py"
ANALYSIS = "pages/analysis.py"


def test_every_stable_value_is_a_plain_word_and_labels_resolve_in_both_languages():
    for params in URL_VALUES.values():
        for param, table in params.items():
            for value, msgid in table.items():
                assert value.replace("_", "").replace("-", "").isalnum() and value.isascii(), (param, value)
                assert resolve(param, value) == value
                assert resolve(param, msgid) == value  # an old English-label link
                assert resolve(param, catalog("zh").gettext(msgid)) == value  # an old 中文-label link
    assert resolve("attention_measure", "no such thing") is None


LINK = {"attention_measure": "alti", "attention_tab": "all_heads", "attention_level": "words",
        "attention_layer": "2", "attention_head": "3"}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_stable_link_opens_the_same_view_in_every_language(tiny_dir, lang):
    # (?lang= itself is tested in test_chinese_mode.py and in the browser: AppTest's page switch drops it)
    at = open_page(ATTENTION, model=str(tiny_dir / "tiny-mlm"), query=LINK, lang=lang, attention_text="the cat sat")
    assert_no_exception(at)
    assert at.radio(key="attention_measure").value == "alti"
    assert at.radio(key="attention_level").value == "words"
    assert at.slider(key="attention_layer").value == 2
    assert at.session_state["attention_tab"] == catalog(lang).gettext("All heads")
    for param in ("attention_measure", "attention_tab", "attention_level"):
        assert at.query_params[param] == [LINK[param]] or at.query_params[param] == LINK[param]


@pytest.mark.parametrize("labels", ["en", "zh"])
def test_old_label_links_still_open(tiny_dir, labels):
    gt = catalog(labels).gettext
    query = {"attention_measure": gt("ALTI contributions"), "attention_tab": gt("Rollout"),
             "attention_level": gt("words"), "attention_filter": gt("All")}
    at = open_page(ATTENTION, model=str(tiny_dir / "tiny-mlm"), query=query, attention_text="the cat sat")
    assert_no_exception(at)
    assert at.radio(key="attention_measure").value == "alti"
    assert at.radio(key="attention_level").value == "words"
    assert at.session_state["attention_tab"] == "Rollout"
    # ...and the link is rewritten to the stable values (the default filter leaves the link)
    assert str(at.query_params["attention_measure"]).strip("[]'") == "alti"
    assert "attention_filter" not in at.query_params


def test_the_choice_survives_a_language_switch(tiny_dir):
    at = open_page(ATTENTION, model=str(tiny_dir / "tiny-mlm"), attention_text="the cat sat")
    at.radio(key="attention_measure").set_value("norm").run()
    at.session_state["attention_tab"] = "Rollout"
    at.run()
    at.session_state["lang"] = "zh"
    at.run()
    assert_no_exception(at)
    assert at.radio(key="attention_measure").value == "norm"
    assert at.session_state["attention_tab"] == catalog("zh").gettext("Rollout")
    assert str(at.query_params["attention_tab"]).strip("[]'") == "rollout"


def test_analysis_tab_and_position_in_the_link(tiny_dir):
    at = open_page(ANALYSIS, model=str(tiny_dir / "tiny-mlm"), query={"an_tab": "graph", "an_graph_out": "2"},
                   lang="zh", an_text="the cat sat")
    assert_no_exception(at)
    assert at.selectbox(key="an_graph_out").value == 2


def test_analysis_offers_a_saved_masked_lm_model_where_the_head_is_missing(tiny_dir, monkeypatch):
    monkeypatch.setenv("BERTEXPLORE_MODELS_DIR", str(tiny_dir))
    for tab in ("Logit lens", "Head importance"):
        at = open_page(ANALYSIS, model="tiny-base", an_text="the cat [MASK]", an_tab=tab)
        assert_no_exception(at)
        buttons = [b for b in at.button if b.key and b.key.startswith("switch_model_mlm")]
        assert buttons, tab
        buttons[0].click().run()
        assert_no_exception(at)
        assert at.session_state["model"] != "tiny-base"
        assert not [b for b in at.button if b.key and b.key.startswith("switch_model_mlm")]


def test_qa_context_travels_in_the_link_unless_too_long(tiny_dir, monkeypatch):
    from ui.url_state import LINK_TEXT_BYTES

    monkeypatch.setenv("BERTEXPLORE_MODELS_DIR", str(tiny_dir))
    context = "Ada Lovelace wrote the first program in 1843 for the Analytical Engine."
    at = open_page("pages/qa.py", query={"qa_question": "Who wrote the first program?", "qa_context": context},
                   lang="zh", qa_checkpoint="tiny-qa")
    assert_no_exception(at)
    assert at.text_area(key="qa_context").value == context  # not the 中文 default paragraph
    assert str(at.query_params["qa_context"]).strip("[]'") == context
    long_text = "长" * (LINK_TEXT_BYTES // 9 + 10)  # 9 URL-encoded bytes per character
    at.session_state["qa_context"] = long_text  # (typed and applied: the box sits in a form)
    at.run()
    assert at.text_area(key="qa_context").value == long_text
    assert "qa_context" not in at.query_params
    assert any("too long for a link" in c.value or "太长" in c.value for c in at.caption)


def test_fine_tune_link_with_a_task_key_opens_that_task(tiny_dir, monkeypatch):
    """The Start-here and missing-head boxes link to ?ft_task=qa: a stable value the page now reads."""
    monkeypatch.setenv("BERTEXPLORE_MODELS_DIR", str(tiny_dir))
    at = open_page("pages/finetune.py", query={"ft_task": "qa"}, lang="zh")
    assert_no_exception(at)
    assert at.radio(key="ft_task").value == "qa"


def test_a_lesson_notebook_reads_the_stable_filter_name():
    from bertexplore.lessons.notebook import _attention_cells

    cells = "\n".join(_attention_cells({"attention_filter": "a_b", "attention_measure": "alti"}, "en"))
    assert "filter='A → B'" in cells and "'alti'" in cells
