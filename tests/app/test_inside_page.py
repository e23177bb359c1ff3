"""AppTest of Inside BERT: every step renders from one trace, the URL restores the state, bad params are handled."""
from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from app_helpers import assert_no_exception, open_page
from bertexplore.trace import forward_count

PAGE = "pages/inside_bert.py"
TEXT = "the cat sat on the mat . the dog sat on the table . john lives in london ."


def _titles(at) -> list[str]:
    return [json.loads(c.proto.spec)["layout"].get("title", {}).get("text", "") for c in at.get("plotly_chart")]


def _proof_headers(at) -> list[str]:
    return [e.label for e in at.expander if "Recomputed by hand" in e.label]


def _step(at, n: int) -> None:
    at.radio(key="inside_step").set_value(n).run()
    assert_no_exception(at)
    assert not at.error, [e.value for e in at.error]


def _keys(at, kind: str) -> set[str]:
    return {getattr(w, "key", None) for w in at.get(kind)}


@pytest.mark.parametrize("folder,head", [("tiny-pretraining", "auto"), ("tiny-cls", "auto")])
def test_every_step_renders_with_proofs_and_at_most_two_extra_forwards(tiny_dir, folder, head):
    at = open_page(PAGE, model=str(tiny_dir / folder), inside_text=TEXT, inside_model_head=head)
    assert_no_exception(at)
    assert at.header[0].value.startswith("1.")
    assert any("pieces" in t.lower() for t in _titles(at))
    before = forward_count()
    for n in (2, 3, 5, 6, 8):
        _step(at, n)
        assert at.get("plotly_chart"), n
        if n in (2, 3, 5):
            headers = _proof_headers(at)
            assert headers and all("= the model's own value" in h for h in headers), (n, headers)
        assert at.get("download_button"), n
    _step(at, 3)
    at.slider(key="inside_layer").set_value(2).run()
    at.slider(key="inside_head").set_value(3).run()
    at.selectbox(key="inside_token").set_value(at.selectbox(key="inside_token").options[4]).run()
    assert any("layer 2" in t for t in _titles(at))
    _step(at, 1)  # a step that reads no layer, head or token: no sliders, and the picks survive the visit
    _step(at, 3)
    assert at.slider(key="inside_layer").value == 2 and at.slider(key="inside_head").value == 3
    assert at.selectbox(key="inside_token").value == at.selectbox(key="inside_token").options[4]
    assert forward_count() == before  # steps, layer, head and token never re-run the model
    _step(at, 4)  # the padding experiment: one extra forward of one padded row, memoised
    assert forward_count() == before + 1
    assert any("PAD" in str(m.value) for m in at.metric) or any(m.value == "0.0e+00" for m in at.metric)
    assert any(w.value.startswith("**Common misconception:**") and "both directions" in w.value for w in at.warning)
    _step(at, 3)
    _step(at, 4)
    _step(at, 7)  # the masked-LM sample and the next-sentence pairs: one more forward at most
    _step(at, 6)
    _step(at, 7)
    assert forward_count() <= before + 2  # the whole page: at most two forwards beyond its trace
    _step(at, 4)
    at.button(key="inside_unmasked").click().run()  # an explicit extra experiment, on demand
    assert any("Without the mask" in c.value for c in at.caption)
    assert_no_exception(at)


@pytest.mark.parametrize("step,widgets", [(1, set()), (2, {"inside_token"}), (3, {"inside_layer", "inside_head", "inside_token"}),
                                          (4, {"inside_layer", "inside_head"}), (5, {"inside_layer", "inside_token"}),
                                          (6, set()), (7, set()), (8, set())])
def test_layer_head_token_pickers_only_where_the_step_reads_them(tiny_dir, step, widgets):
    at = open_page(PAGE, model=str(tiny_dir / "tiny-pretraining"), inside_text=TEXT, inside_step=step)
    assert_no_exception(at)
    shown = (_keys(at, "slider") | _keys(at, "selectbox")) & {"inside_layer", "inside_head", "inside_token"}
    assert shown == widgets


def test_pretraining_step_scores_the_sample_and_judges_pairs(tiny_dir):
    at = open_page(PAGE, model=str(tiny_dir / "tiny-pretraining"), inside_text=TEXT, inside_step=7,
                   inside_model_head="pretraining")
    assert_no_exception(at)
    assert any("loss" in m.label for m in at.metric)
    assert any("IsNext" in t for t in _titles(at))
    seed = at.number_input(key="inside_seed").value
    at.button(key="inside_resample").click().run()
    assert at.number_input(key="inside_seed").value == seed + 1
    assert_no_exception(at)


def test_masked_tokens_feed_the_mlm_head(tiny_dir):
    at = open_page(PAGE, model=str(tiny_dir / "tiny-mlm"), inside_text="the cat sat on the mat", inside_step=6)
    assert_no_exception(at)
    assert any("[MASK]" in i.value for i in at.info)  # asks for a mask
    at.multiselect(key="inside_masks").set_value(["2: cat"]).run()
    assert_no_exception(at)
    assert any("Top predictions at 2: [MASK]" in t for t in _titles(at))
    assert any("= the model's own value" in h for h in _proof_headers(at))


def test_packaged_minilm_offline_every_step_with_real_weights():
    at = open_page(PAGE, inside_text="The keys to the cabinet are on the table. She put them there.", inside_step=6)
    assert_no_exception(at)
    assert any("no masked-LM head" in i.value for i in at.info)
    assert any("bertexplore download" in c.value for c in at.code)
    for n in (1, 2, 3, 4, 5, 7, 8):
        _step(at, n)
        headers = _proof_headers(at)
        assert all("= the model's own value" in h for h in headers), (n, headers)  # real weights, float32 rounding
        if n in (2, 3, 5):
            assert headers, n


def _open_with_url(tiny_dir, params: dict) -> AppTest:
    return open_page(PAGE, model=str(tiny_dir / "tiny-mlm"), query=params)


def test_url_restores_text_step_layer_head_token(tiny_dir):
    at = _open_with_url(tiny_dir, {"inside_text": "john lives in london", "inside_step": "3", "inside_layer": "2",
                                   "inside_head": "4", "inside_token": "2: lives"})
    assert_no_exception(at)
    assert at.header[0].value.startswith("3.")
    assert at.slider(key="inside_layer").value == 2 and at.slider(key="inside_head").value == 4
    assert at.selectbox(key="inside_token").value == "2: lives"
    assert any("layer 2" in t for t in _titles(at))


def test_garbage_url_params_are_ignored(tiny_dir):
    at = _open_with_url(tiny_dir, {"inside_text": "the cat sat", "inside_step": "banana", "inside_layer": "99",
                                   "inside_head": "-4", "inside_token": "7: nowhere", "inside_seed": "x",
                                   "inside_model_head": "evil", "inside_masks": "nope"})
    assert_no_exception(at)
    assert at.header[0].value.startswith("1.")
    _step(at, 3)
    assert at.slider(key="inside_layer").value == 1 and 1 <= at.slider(key="inside_head").value <= 4


def test_empty_text_gets_a_message(tiny_dir):
    at = open_page(PAGE, model=str(tiny_dir / "tiny-mlm"), inside_text="   ")
    assert_no_exception(at)
    assert any("empty" in e.value for e in at.error)


def test_practical_step_compression_and_distillation_buttons(tiny_dir):
    at = open_page(PAGE, model=str(tiny_dir / "tiny-cls"), inside_text=TEXT, inside_step=8)
    assert_no_exception(at)
    assert any("window" in t.lower() for t in _titles(at))
    assert any("softmax vs sigmoid" in t for t in _titles(at))
    assert any("classifier on your text" in c.value for c in at.caption)  # the model's own logits, not typed ones
    at.button(key="inside_compress").click().run()
    assert_no_exception(at)
    tables = [d.value for d in at.dataframe if "variant" in d.value.columns]
    assert len(tables) == 1
    variants = [str(v) for v in tables[0]["variant"]]
    assert len(variants) == 3 and "bfloat16" in variants[1] and "int8" in variants[2]
    assert tables[0]["size (MB)"].iloc[1] < tables[0]["size (MB)"].iloc[0]
    assert any("relative to float32" in t for t in _titles(at))
    # Offline, bert-base-uncased is not on this machine: no button that can only fail, ONE plain message (no red
    # boxes, no raw backticks) and the command that fetches it.
    assert "inside_distill" not in _keys(at, "button")
    assert not at.error
    notes = [i.value for i in at.info if "bert-base-uncased" in i.value]
    assert len(notes) == 1 and "`" not in notes[0] and "not on this machine" in notes[0]
    assert any("bertexplore download bert-base-uncased" in c.value for c in at.code)
    at.slider(key="inside_stride").set_value(12).run()
    assert_no_exception(at)


def test_long_inputs_keep_a_smaller_trace_and_every_step_still_proves_itself(tiny_dir, monkeypatch):
    from bertexplore.inside import walk

    monkeypatch.setattr(walk, "TRACE_BUDGET", 1)  # nothing optional fits: scores, FFN activations, head shares
    at = open_page(PAGE, model=str(tiny_dir / "tiny-mlm"), inside_text=TEXT, inside_step=3)
    assert_no_exception(at)
    for n in (3, 4, 5):
        _step(at, n)
        headers = _proof_headers(at)
        assert all("= the model's own value" in h for h in headers), (n, headers)
        if n != 4:
            assert headers, n


def test_the_walk_reads_at_most_max_tokens(tiny_dir, monkeypatch):
    from bertexplore.inside import walk

    monkeypatch.setattr(walk, "MAX_TOKENS", 16)
    at = open_page(PAGE, model=str(tiny_dir / "tiny-mlm"), inside_text="the cat sat on the mat . " * 30)
    assert_no_exception(at)
    assert any("cut to 64" in i.value for i in at.info)  # the model's own limit first
    assert any("first 16 tokens" in i.value for i in at.info)  # then the walk's
    _step(at, 2)
    assert len(at.selectbox(key="inside_token").options) == 16
    _step(at, 8)
    assert any("210 tokens" in c.value for c in at.caption)  # the windows still cover the whole text


def test_pretraining_sample_is_drawn_from_the_unmasked_text(tiny_dir):
    """A token masked for step 6 must not stay masked in step 7's 15% sample (the model would be asked to restore
    "[MASK]"): the sample's originals are the typed tokens."""
    at = open_page(PAGE, model=str(tiny_dir / "tiny-pretraining"), inside_text=TEXT, inside_step=6,
                   inside_model_head="pretraining")
    labels = at.multiselect(key="inside_masks").options
    at.multiselect(key="inside_masks").set_value(list(labels[:6])).run()  # six tokens masked for step 6
    assert_no_exception(at)
    _step(at, 7)
    for seed in range(4):
        at.number_input(key="inside_seed").set_value(seed).run()
        assert_no_exception(at)
        sample = next(d.value for d in at.dataframe if "the model reads" in d.value.columns)
        assert "[MASK]" not in set(sample["original"])
        scored = next(d.value for d in at.dataframe if "p(original)" in d.value.columns)
        assert "[MASK]" not in set(scored["original"])
    assert any("unmasked here" in c.value for c in at.caption)


def test_not_next_pairs_take_b_from_another_text(tiny_dir):
    at = open_page(PAGE, model=str(tiny_dir / "tiny-pretraining"), inside_text="the cat sat on the mat . the dog sat .",
                   inside_step=7, inside_model_head="pretraining")
    assert_no_exception(at)
    pairs = next(d.value for d in at.dataframe if "sentence B" in d.value.columns)
    mine = {"the cat sat on the mat .", "the dog sat ."}
    assert list(pairs["label"]) == ["IsNext", "NotNext"]
    assert pairs["sentence B"].iloc[0] == "the dog sat ." and pairs["sentence B"].iloc[1] not in mine
    assert pairs["sentence A"].iloc[1] == "the cat sat on the mat ."
    assert any("taken from another text" in c.value for c in at.caption)
    assert not any("random one" in m.value for m in at.markdown)
    one = open_page(PAGE, model=str(tiny_dir / "tiny-pretraining"), inside_text="the cat sat on the mat", inside_step=7,
                    inside_model_head="pretraining")
    pairs = next(d.value for d in one.dataframe if "sentence B" in d.value.columns)
    assert list(pairs["label"]) == ["IsNext", "NotNext"] and pairs["sentence B"].iloc[1] == "the cat sat on the mat"
    assert any("one sentence" in c.value for c in one.caption)


def test_output_heads_say_next_sentence_needs_a_pair(tiny_dir):
    at = open_page(PAGE, model=str(tiny_dir / "tiny-pretraining"), inside_text="the cat sat on the mat", inside_step=6,
                   inside_model_head="pretraining")
    assert_no_exception(at)
    assert any("needs a pair" in i.value for i in at.info)
    paired = open_page(PAGE, model=str(tiny_dir / "tiny-pretraining"), inside_text="the cat sat on the mat",
                       inside_pair="the dog sat", inside_step=6, inside_model_head="pretraining")
    assert_no_exception(paired)
    assert not any("needs a pair" in i.value for i in paired.info)
    assert any("IsNext" in str(c.proto.spec) for c in paired.get("plotly_chart"))


@pytest.mark.parametrize("lang,rule", [("en", "fixed rule"), ("zh", "固定规则")])
def test_cjk_characters_are_split_by_a_fixed_rule_not_learned(lang, rule):
    at = open_page(PAGE, inside_text="人工智能改变了世界。", lang=lang)
    assert_no_exception(at)
    notes = [i.value for i in at.info if rule in i.value]
    assert len(notes) == 1
    learned = [m.value for m in at.markdown if "learned from data" in m.value or "从数据中学" in m.value]
    assert not learned  # every split here is the fixed CJK rule: nothing claims it was learned
    english = open_page(PAGE, inside_text="The keys to the cabinet are unbelievable.", lang=lang)
    assert not any(rule in i.value for i in english.info)


def test_a_link_to_a_step_without_pickers_keeps_the_links_picks(tiny_dir):
    at = _open_with_url(tiny_dir, {"inside_text": "john lives in london", "inside_step": "1", "inside_layer": "2",
                                   "inside_head": "3", "inside_token": "2: lives"})
    assert_no_exception(at)
    _step(at, 3)
    assert at.slider(key="inside_layer").value == 2 and at.slider(key="inside_head").value == 3
    assert at.selectbox(key="inside_token").value == "2: lives"
