"""The Causal lab page in both languages, every block with and without the head it needs."""
from __future__ import annotations

import pytest

from app_helpers import assert_no_exception, open_page
from bertexplore.trace import forward_count
from test_chinese_mode import model_names
from tiny import WORDS
from untranslated import find_leaks

PAGE = "pages/causal.py"
CLEAN, CORRUPT = "the keys to the cabinet [MASK] on the table", "the key to the cabinet [MASK] on the table"


def _charts(at) -> int:
    return len(at.get("plotly_chart"))


def _click(at, key: str):
    at.button(key=key).click().run()
    assert_no_exception(at)
    assert not at.error, [e.value for e in at.error]
    return at


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_block_with_a_masked_lm_head(tiny_dir, lang):
    at = open_page(PAGE, model=str(tiny_dir / "tiny-mlm"), lang=lang)
    assert_no_exception(at)
    at.text_input(key="causal_clean").set_value(CLEAN)
    at.text_input(key="causal_corrupt").set_value(CORRUPT)
    at.text_input(key="causal_target").set_value("is")
    at.text_input(key="causal_contrast").set_value("are").run()
    _click(at, "causal_run_patch")
    assert _charts(at) == 2  # the map and the encoder/decoder cone
    _click(at, "causal_run_heads")
    assert _charts(at) == 3
    assert any("Spearman" in c.value for c in at.caption)
    if lang == "en":
        _click(at, "causal_run_average")  # heads over the bundled minimal pairs of the page's language
    else:  # the tiny test vocabulary has no Chinese characters: every classifier is [UNK], the pairs are skipped
        at.button(key="causal_run_average").click().run()
        assert_no_exception(at)
        assert any("没有一个句对可用" in e.value for e in at.error)
    charts = 4 if lang == "en" else 3
    assert _charts(at) == charts
    at.text_input(key="causal_fact").set_value("paris is the capital of [MASK] .").run()
    _click(at, "causal_run_neurons")
    assert _charts(at) == charts + 1
    at.text_input(key="causal_control").set_value("the cat sat on the [MASK] .").run()
    _click(at, "causal_run_edit")
    assert len(at.metric) == 2
    _click(at, "causal_run_probes")
    assert _charts(at) == charts + 2
    before = forward_count()
    at.run()  # redrawn from the session's memo: no forward
    assert forward_count() == before and _charts(at) == charts + 2
    if lang == "zh":
        # the tiny model's vocabulary is data (its predictions are shown as they are)
        assert find_leaks(at, model_names() + ("Language · 语言", CLEAN, CORRUPT) + tuple(WORDS)) == []


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_without_a_head_on_the_packaged_model(lang):
    at = open_page(PAGE, lang=lang)
    assert_no_exception(at)
    assert any("cosine" in i.value or "余弦" in i.value for i in at.info)
    _click(at, "causal_run_patch")
    assert _charts(at) == 2
    _click(at, "causal_run_heads")
    assert _charts(at) == 3
    # Knowledge neurons (and the minimal pairs' [MASK] candidates) need a masked-LM head: no buttons for them.
    assert not [b for b in at.button if b.key in ("causal_run_neurons", "causal_run_average")]
    assert any("bert-base-uncased" in i.value for i in at.info)
    if lang == "zh":
        assert find_leaks(at, model_names() + ("Language · 语言",)) == []


def test_unequal_lengths_are_explained_on_the_page(tiny_dir):
    at = open_page(PAGE, model=str(tiny_dir / "tiny-mlm"))
    at.text_input(key="causal_clean").set_value(CLEAN)
    at.text_input(key="causal_corrupt").set_value("the set of keys to the cabinet [MASK] on the table").run()
    at.button(key="causal_run_patch").click().run()
    assert_no_exception(at)
    assert any("same number of tokens" in e.value for e in at.error)


def test_classifier_head_reads_label_logits(tiny_dir):
    at = open_page(PAGE, model=str(tiny_dir / "tiny-cls"), causal_head="sequence-classification")
    assert_no_exception(at)
    at.text_input(key="causal_clean").set_value("good movie")
    at.text_input(key="causal_corrupt").set_value("bad movie").run()
    _click(at, "causal_run_patch")
    assert any("NEGATIVE" in c.value or "POSITIVE" in c.value for c in at.caption)
    assert not [b for b in at.button if b.key == "causal_run_neurons"]
