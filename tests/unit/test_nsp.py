"""Next-sentence prediction: probabilities from the NSP head, segment ids, models without the head."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from bertexplore.errors import InputError, UnsupportedModel
from bertexplore.loading import load_model
from bertexplore.tasks.nsp import predict_next


@pytest.fixture(scope="module")
def pretraining(tiny_dir):
    return load_model(str(tiny_dir / "tiny-pretraining"), head="pretraining", device="cpu")


def test_probabilities_match_the_head(pretraining):
    res = predict_next(pretraining, "the cat sat on the mat.", "it was good.")
    ids = torch.as_tensor(res.inputs.input_ids)[None]
    types = torch.as_tensor(res.inputs.segment_ids)[None]
    with torch.no_grad():
        logits = pretraining.model(input_ids=ids, token_type_ids=types).seq_relationship_logits[0]
    np.testing.assert_allclose(res.logits, logits.numpy(), rtol=1e-5)
    np.testing.assert_allclose(res.probs, torch.softmax(logits, -1).numpy(), rtol=1e-5)
    assert res.is_next + res.not_next == pytest.approx(1.0)
    assert res.verdict == ("IsNext" if res.is_next >= res.not_next else "NotNext")


def test_segment_ids_the_model_saw(pretraining):
    res = predict_next(pretraining, "the cat sat.", "on the mat.")
    rows = res.segment_rows()
    assert [r["token"] for r in rows] == ["[CLS]", "the", "cat", "sat", ".", "[SEP]", "on", "the", "mat", ".", "[SEP]"]
    assert [r["token_type_id"] for r in rows] == [0] * 6 + [1] * 5
    # Swapping A and B changes what the model sees, and so its logits.
    swapped = predict_next(pretraining, "on the mat.", "the cat sat.")
    assert not np.allclose(swapped.logits, res.logits)


def test_empty_sentence_b_is_refused(pretraining):
    with pytest.raises(InputError, match="sentence B is empty"):
        predict_next(pretraining, "the cat sat.", "   ")


def test_models_without_nsp_head_are_explained(tiny_dir):
    mlm = load_model(str(tiny_dir / "tiny-mlm"), head="pretraining", device="cpu")
    with pytest.raises(UnsupportedModel, match="BertForMaskedLM"):
        predict_next(mlm, "a", "b")
    base = load_model(str(tiny_dir / "tiny-base"), head="pretraining", device="cpu")
    with pytest.raises(UnsupportedModel, match="plain encoder"):
        predict_next(base, "a", "b")


def test_nsp_weights_count_not_the_declared_architecture(tiny_dir, tmp_path):
    # bert-base-uncased's config declares BertForMaskedLM, yet its checkpoint carries the NSP head.
    import json
    import shutil
    folder = tmp_path / "declares-mlm"
    shutil.copytree(tiny_dir / "tiny-pretraining", folder)
    config = json.loads((folder / "config.json").read_text())
    config["architectures"] = ["BertForMaskedLM"]
    (folder / "config.json").write_text(json.dumps(config))
    loaded = load_model(str(folder), head="pretraining", device="cpu")
    original = load_model(str(tiny_dir / "tiny-pretraining"), head="pretraining", device="cpu")
    res = predict_next(loaded, "the cat sat.", "on the mat.")
    np.testing.assert_allclose(res.probs, predict_next(original, "the cat sat.", "on the mat.").probs, rtol=1e-6)
