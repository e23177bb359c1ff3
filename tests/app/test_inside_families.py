"""Inside BERT on a tiny random model of every family: each step renders, and its proofs hold (or it says why not)."""
from __future__ import annotations

import json

import pytest

from app_helpers import assert_no_exception, open_page
from families import FAMILIES, make_family_model

PAGE = "pages/inside_bert.py"


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_steps_on_every_family(family, tmp_path_factory):
    folder = make_family_model(tmp_path_factory.mktemp("inside-" + family) / "model", family, "mlm")
    at = open_page(PAGE, model=str(folder), inside_text="the cat sat on the mat . the dog sat .",
                   inside_masks=["3: sat"], inside_model_head="mlm")
    assert_no_exception(at)
    for step in (2, 3, 4, 5, 6, 7):
        at.radio(key="inside_step").set_value(step).run()
        assert_no_exception(at)
        assert not at.error, (family, step, [e.value for e in at.error])
        proofs = [e.label for e in at.expander if "Recomputed by hand" in e.label]
        assert all("= the model's own value" in p for p in proofs), (family, step, proofs)
        if step in (2, 3, 5, 6):
            assert proofs, (family, step)
        if step == 6:
            titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
            assert any("Top predictions at 3: [MASK]" in t for t in titles), (family, titles)
        if step == 7:
            assert any("loss" in m.label for m in at.metric), family


def test_a_family_with_different_internals_says_so(tmp_path_factory):
    """ModernBERT normalises before each sub-layer and rotates positions: the page names the difference instead of
    showing BERT's formulas, and every step still renders."""
    from transformers import BertTokenizerFast, ModernBertConfig, ModernBertForMaskedLM

    from families import VOCAB
    from tiny import write_vocab

    folder = tmp_path_factory.mktemp("inside-modernbert") / "model"
    ModernBertForMaskedLM(ModernBertConfig(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                           intermediate_size=64, max_position_embeddings=64, pad_token_id=0,
                                           bos_token_id=2, eos_token_id=3, cls_token_id=2, sep_token_id=3)
                          ).save_pretrained(folder)
    BertTokenizerFast(vocab=str(write_vocab(folder)), do_lower_case=True, model_max_length=64).save_pretrained(folder)
    at = open_page(PAGE, model=str(folder), inside_text="the cat sat on the mat .", inside_model_head="mlm")
    assert_no_exception(at)
    for step in range(1, 9):
        at.radio(key="inside_step").set_value(step).run()
        assert_no_exception(at)
        assert not at.error, (step, [e.value for e in at.error])
        if step in (2, 3, 5):
            assert any("ModernBERT normalises BEFORE" in i.value for i in at.info), step
            assert not [e for e in at.expander if "Recomputed by hand" in e.label], step
