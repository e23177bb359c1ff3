"""Every page on a tiny random model of each family, not only BERT (one walk through the pages per family).

RoBERTa stands in for XLM-R and CamemBERT here (same modules); the unit tests cover all seven families.
"""
from __future__ import annotations

import pytest

from app_helpers import assert_no_exception, open_page
from families import make_family_model

MATRIX = ("bert", "roberta", "electra", "distilbert", "albert")
TASKS = {"tiny-cls": ("sequence-classification", dict(num_labels=2, id2label={0: "NEGATIVE", 1: "POSITIVE"},
                                                       label2id={"NEGATIVE": 0, "POSITIVE": 1})),
         "tiny-ner": ("token-classification", dict(num_labels=3, id2label={0: "O", 1: "B-PER", 2: "I-PER"},
                                                    label2id={"O": 0, "B-PER": 1, "I-PER": 2})),
         "tiny-qa": ("question-answering", {}),
         "tiny-mlm": ("mlm", {})}


@pytest.fixture(scope="module", params=MATRIX)
def family_dir(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"family-{request.param}")
    for name, (head, overrides) in TASKS.items():
        make_family_model(root / name, request.param, head, **overrides)
    if request.param == "bert":
        make_family_model(root / "tiny-pretraining", "bert", "pretraining")
    return request.param, root


def test_every_page_on_the_family(family_dir, monkeypatch):
    family, root = family_dir
    monkeypatch.setenv("BERTEXPLORE_MODELS_DIR", str(root))
    mlm = str(root / "tiny-mlm")

    at = open_page("pages/attention.py", model=mlm, attention_text="the cat sat on the mat")
    assert_no_exception(at)
    assert not at.error and at.get("plotly_chart")

    at = open_page("pages/masked_lm.py", model=mlm, mlm_text="the cat [MASK] on the mat")
    assert_no_exception(at)
    assert any("probability" in d.value.columns for d in at.dataframe)

    at = open_page("pages/ablation.py", model=mlm, abl_text="the cat [MASK] on the mat")
    assert_no_exception(at)
    if family == "albert":  # one attention module shared by every layer: said plainly, nothing computed
        assert any("share ONE attention module" in w.value for w in at.warning)
        assert not at.get("multiselect")
    else:
        at.multiselect(key="abl_off").set_value(["L1 H2"]).run()
        assert_no_exception(at)
        assert "1 head off" in [s.value for s in at.subheader]

    for page, key, name in (("pages/classification.py", "cls_checkpoint", "tiny-cls"),
                            ("pages/ner.py", "ner_checkpoint", "tiny-ner"),
                            ("pages/qa.py", "qa_checkpoint", "tiny-qa")):
        at = open_page(page, model=mlm, **{key: name})
        assert_no_exception(at)
        assert not at.error and not at.warning, (page, [e.value for e in at.error], [w.value for w in at.warning])
        assert at.get("plotly_chart"), page

    at = open_page("pages/nsp.py", model=mlm, nsp_checkpoint="tiny-pretraining" if family == "bert" else "tiny-mlm")
    assert_no_exception(at)
    if family == "bert":
        assert at.get("plotly_chart") and not at.warning
    else:  # no next-sentence head in this family's checkpoints: explained, no random scores
        said = [e.value for kind in ("warning", "caption", "info", "error") for e in getattr(at, kind)]
        assert any("no trained next-sentence head" in text for text in said) and not at.get("plotly_chart")

    at = open_page("pages/finetune.py", model=mlm)
    assert_no_exception(at)
    assert not at.error
