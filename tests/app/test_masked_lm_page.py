"""AppTest of the Masked-LM page: predictions, masking by clicks/URL, joint fill, PLL, no-head and bad-input messages."""
from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from app_helpers import APP, assert_no_exception, open_page
from bertexplore.tokens import tokenize
from bertexplore.trace import forward_count
from ui.mlm_view import masked_sentence_html
from bertexplore.packs import pack_command

PAGE = "pages/masked_lm.py"


@pytest.fixture(scope="module")
def tiny(tiny_dir) -> str:
    return str(tiny_dir / "tiny-mlm")


def charts(at):
    return at.get("plotly_chart")


def test_typed_mask_shows_top_k_table_and_chart_without_rerunning_the_model(tiny):
    at = open_page(PAGE, model=tiny)  # default text: "Paris is the capital of [MASK]."
    assert_no_exception(at)
    assert not at.error
    assert "tiny-mlm" in at.caption[0].value and "python -m bertexplore download bert-base-uncased" in at.caption[0].value
    [table] = [d.value for d in at.dataframe if "probability" in d.value.columns]
    assert len(table) == 10
    probs = table["probability"].to_numpy()
    assert np.all(probs <= 1) and np.all(probs > 0) and np.all(np.diff(probs) <= 0)
    [chart] = charts(at)
    assert '"type":"bar"' in chart.proto.spec.replace(" ", "")
    for token in table["token"][:3]:
        assert token in chart.proto.spec

    before = forward_count()
    at.run()  # plain rerun
    at.slider(key="mlm_k").set_value(4).run()  # a view setting
    at.toggle(key="mlm_hide_sub").set_value(True).run()
    assert_no_exception(at)
    assert forward_count() == before
    [table] = [d.value for d in at.dataframe if "probability" in d.value.columns]
    assert len(table) == 4 and not table["token"].str.startswith("##").any()


def test_clicked_tokens_and_whole_word_masking(tiny, tiny_mlm):
    text = "The ending of the movie was unbelievable."
    at = open_page(PAGE, model=tiny, mlm_text=text)
    assert any("no mask yet" in i.value for i in at.info)
    tokens = tokenize(tiny_mlm.tokenizer, text).tokens
    # pill labels are Markdown: tokens arrive backslash-escaped (ui.markdown.plain), shown as typed
    pills = [re.sub(r"\\(.)", r"\1", o.content) for o in at.get("button_group")[0].proto.options]
    # One pill per wordpiece, [CLS]/[SEP] not clickable; repeats get a number so the URL can tell them apart.
    assert [p.split(" (")[0] for p in pills] == list(tokens[1:-1]) and pills.count("the") == 1 and "the (2)" in pills
    at.session_state["mlm_masks"] = [tokens.index("##believ")]  # a click on the middle piece
    at.run()
    assert_no_exception(at)
    assert len([d for d in at.dataframe if "probability" in d.value.columns]) == 1
    at.toggle(key="mlm_whole").set_value(True).run()
    assert_no_exception(at)
    tables = [d.value for d in at.dataframe if "probability" in d.value.columns]
    assert len(tables) == 3 and len(charts(at)) == 3  # un ##believ ##able, each masked
    assert [t.label for t in at.tabs] == ["#1 at 7 (un)", r"#2 at 8 (\#\#believ)", r"#3 at 9 (\#\#able)"]  # tokens as plain text
    # The chips show what is masked: every piece of the word is selected (issue 12: the ## pieces were not).
    assert sorted(at.session_state["mlm_masks"]) == [7, 8, 9]
    at.session_state["mlm_masks"] = [7, 9]  # un-click the middle piece: the whole word is released
    at.run()
    assert at.session_state["mlm_masks"] == [] and any("no mask yet" in i.value for i in at.info)


def test_fill_all_masks_shows_the_chain(tiny):
    at = open_page(PAGE, model=tiny, mlm_text="The [MASK] sat on the [MASK].")
    at.radio(key="mlm_order").set_value("left-to-right").run()
    before = forward_count()
    at.button(key="mlm_fill").click().run()
    assert_no_exception(at)
    assert forward_count() - before == 2  # one forward per mask
    [chain] = [d.value for d in at.dataframe if "cumulative log-prob" in d.value.columns]
    assert chain["position"].tolist() == [2, 6]
    np.testing.assert_allclose(chain["cumulative log-prob"], np.cumsum(chain["log-prob"]), atol=1e-6)
    filled = [t.value for t in at.text]
    assert len(filled) == 1 and "[MASK]" not in filled[0].upper() and filled[0].startswith("the ")
    before = forward_count()
    at.run()  # the chain is remembered, not recomputed
    assert forward_count() == before and [t.value for t in at.text] == filled


def test_minimal_pair_scoring(tiny):
    at = open_page(PAGE, model=tiny)
    assert at.text_input(key="mlm_pair_a").value == "The keys to the cabinet are on the table."
    at.button(key="mlm_score").click().run()
    assert_no_exception(at)
    a, b, diff = (float(m.value) for m in at.metric)
    assert diff == pytest.approx(a - b, abs=2e-3)
    assert at.success[0].value.startswith("Sentence A" if diff > 0 else "Sentence B")
    [rows] = [d.value for d in at.dataframe if "token A" in d.value.columns]
    assert rows.loc[~rows["same token"], ["token A", "token B"]].values.tolist() == [["are", "is"]]
    assert rows["log-prob A"].sum() == pytest.approx(a, abs=2e-3)


def test_packaged_minilm_explains_the_missing_head(tiny):
    at = open_page(PAGE)
    assert_no_exception(at)
    assert any("has no masked-LM head" in m.value for m in at.markdown)
    assert any(c.value == pack_command("classroom") for c in at.code)
    assert not charts(at) and not at.error and not at.warning
    assert at.get("button_group")  # the token chips stay without the head (issue 12, friction 1)


def test_empty_text_and_missing_mask_messages(tiny):
    at = open_page(PAGE, model=tiny, mlm_text="   ")
    assert_no_exception(at)
    assert any("empty" in e.value for e in at.error)
    at.text_input(key="mlm_text").input("the cat sat on the mat .").run()
    assert_no_exception(at)
    assert any("no mask yet" in i.value for i in at.info) and not at.error
    at.text_input(key="mlm_pair_a").input("").run()
    at.button(key="mlm_score").click().run()
    assert_no_exception(at)
    assert any("empty" in e.value for e in at.error)


def test_hostile_text_is_handled_and_tokens_are_escaped(tiny, tiny_mlm):
    at = open_page(PAGE, model=tiny, mlm_text="<script>alert(1)</script> 🙂 中文 שלום [MASK]\x07")
    assert_no_exception(at)
    assert any("Control characters" in i.value for i in at.info)
    assert len(charts(at)) == 1 and "[MASK]" in at.get("html")[0].proto.body
    # The tiny vocabulary turns markup into [UNK]; a real one keeps "<", so the renderer must escape tokens.
    inputs = tokenize(tiny_mlm.tokenizer, "the cat sat")
    hostile = dataclasses.replace(inputs, tokens=("[CLS]", "<script>", "<b>x</b>", "sat", "[SEP]"))
    html = masked_sentence_html(hostile, [2], {2: "<img src=x onerror=alert(1)>"})
    assert "<script>" not in html and "<b>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html and "&lt;img src=x onerror=alert(1)&gt;" in html


def test_shared_url_opens_the_same_masks(tiny):
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["model"] = tiny
    at.query_params.update({"mlm_text": "the cat sat on the mat .", "mlm_masks": ["cat", "mat"], "mlm_k": "5"})
    at.run()
    at.switch_page(PAGE)
    at.run()
    assert_no_exception(at)
    assert at.session_state["mlm_masks"] == [2, 6]
    tables = [d.value for d in at.dataframe if "probability" in d.value.columns]
    assert len(tables) == 2 and all(len(t) == 5 for t in tables)


def test_curated_example_masks_its_word(tiny):
    at = open_page(PAGE, model=tiny)
    at.selectbox(key="mlm_example").set_value("Whole-word masking").run()
    assert_no_exception(at)
    assert at.text_input(key="mlm_text").value == "The ending of the movie was unbelievable."
    assert at.toggle(key="mlm_whole").value is True
    assert [t.label for t in at.tabs] == ["#1 at 7 (un)", r"#2 at 8 (\#\#believ)", r"#3 at 9 (\#\#able)"]  # tokens as plain text
    # The chips show what is masked: every piece of the word is selected (issue 12: the ## pieces were not).
    assert sorted(at.session_state["mlm_masks"]) == [7, 8, 9]
    at.session_state["mlm_masks"] = [7, 9]  # un-click the middle piece: the whole word is released
    at.run()
    assert at.session_state["mlm_masks"] == [] and any("no mask yet" in i.value for i in at.info)
    at.selectbox(key="mlm_pair_example").set_value("Simple agreement").run()
    assert at.text_input(key="mlm_pair_b").value == "The cat sit on the mat."


def test_unusable_models_get_a_message_not_a_traceback(tiny_dir):
    at = open_page(PAGE, model="no-such-org/no-such-bert")
    assert_no_exception(at)
    assert any("python -m bertexplore download no-such-org/no-such-bert" in e.value for e in at.error)
    at = open_page(PAGE, model=str(tiny_dir / "tiny-cls"))  # a classifier: no masked-LM weights
    assert_no_exception(at)
    assert any("has no masked-LM head" in m.value for m in at.markdown) and not charts(at)
