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
