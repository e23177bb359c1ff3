"""Inside BERT step 8: windows over long text, softmax vs sigmoid, configurations, agreement, compression."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import BertConfig, BertModel

from bertexplore.errors import InputError
from bertexplore.inside.compression import compression_report, variant_model
from bertexplore.inside.practical import (bert_parameter_count, compare_configs, long_text_windows, model_agreement,
                                          representation_agreement, softmax_vs_sigmoid)
from bertexplore.loading import load_model
from bertexplore.tokens import tokenize

TEXT = "the cat sat on the mat . " * 6


def test_windows_cover_the_text_with_the_stride_as_overlap(tiny_mlm):
    lt = long_text_windows(tiny_mlm, TEXT, max_length=12, stride=3)
    ids = tiny_mlm.tokenizer(TEXT, add_special_tokens=False)["input_ids"]
    assert lt.total == len(ids) and len(lt.windows) > 1
    assert lt.windows[0].first == 0 and lt.windows[-1].last == len(ids) - 1
    for prev, cur in zip(lt.windows, lt.windows[1:]):
        assert cur.overlap(prev) == 3
    for w in lt.windows:
        assert w.tokens == w.last - w.first + 1 <= 10  # 12 minus [CLS] and [SEP]
        piece = tiny_mlm.tokenizer(TEXT[w.start_char:w.end_char], add_special_tokens=False)["input_ids"]
        assert piece == ids[w.first:w.last + 1]
    assert long_text_windows(tiny_mlm, "the cat", 12, 3).fits
    for size, stride in [(2, 0), (12, 10), (10_000, 3)]:
        with pytest.raises(InputError):
            long_text_windows(tiny_mlm, TEXT, size, stride)


def test_softmax_vs_sigmoid_by_hand():
    rows = softmax_vs_sigmoid(("a", "b", "c"), np.array([2.0, 1.5, -3.0]), threshold=0.5)
    e = np.exp([2.0, 1.5, -3.0])
    assert np.allclose([r.softmax for r in rows], e / e.sum())
    assert np.allclose([r.sigmoid for r in rows], 1 / (1 + np.exp([-2.0, -1.5, 3.0])))
    assert [r.on_softmax for r in rows] == [True, False, False]
    assert [r.on_sigmoid for r in rows] == [True, True, False]  # two labels at once: only sigmoid allows it


def test_parameter_count_and_config_comparison():
    small = BertConfig(vocab_size=100, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                       intermediate_size=64, max_position_embeddings=32)
    assert bert_parameter_count(small) == BertModel(small).num_parameters()
    rows = {r.field: (r.small, r.large) for r in compare_configs(small, BertConfig())}
    assert rows["layers"] == (2, 12) and rows["hidden size"] == (16, 768) and rows["FFN width"] == (64, 3072)
    assert rows["parameters"][1] == bert_parameter_count(BertConfig())  # 109,482,240 for bert-base-uncased
    assert rows["parameters"][1] == 109_482_240


def test_representation_agreement():
    rng = np.random.default_rng(0)
    h = rng.normal(size=(7, 16))
    rotation, _ = np.linalg.qr(rng.normal(size=(16, 16)))
    assert np.isclose(representation_agreement(h, (h @ rotation) * 3.0), 1.0)  # any width, rotation, scale
    wide = np.concatenate([h, np.zeros((7, 8))], axis=1)
    assert np.isclose(representation_agreement(h, wide), 1.0)
    assert representation_agreement(h, rng.normal(size=(7, 32))) < 0.9
    with pytest.raises(InputError):
        representation_agreement(h, h[:5])


def test_agreement_between_two_models_on_the_same_text(tiny_dir):
    a = load_model(str(tiny_dir / "tiny-base"), head="base", device="cpu")
    b = load_model(str(tiny_dir / "tiny-mlm"), head="mlm", device="cpu")
    text = "the cat sat on the mat"
    assert np.isclose(model_agreement(a, a, text), 1.0)
    with torch.no_grad():
        ha = a.model(**a.tokenizer(text, return_tensors="pt")).last_hidden_state[0].numpy()
        hb = b.encoder(**b.tokenizer(text, return_tensors="pt")).last_hidden_state[0].numpy()
    assert np.isclose(model_agreement(a, b, text), representation_agreement(ha, hb), atol=1e-6)


def test_compression_on_copies_never_touches_the_shared_model(tiny_dir):
    loaded = load_model(str(tiny_dir / "tiny-mlm"), head="mlm", device="cpu")
    before = {k: v.clone() for k, v in loaded.model.state_dict().items()}
    inputs = tokenize(loaded.tokenizer, "the cat sat on the mat", max_length=64)
    report = compression_report(loaded, inputs, runs=1)
    rows = {r.variant: r for r in report.rows}
    assert set(rows) == {"float32", "bfloat16", "int8"}
    assert rows["float32"].agreement == 1.0 and rows["float32"].attention_max_diff == 0.0
    assert 0.4 < rows["bfloat16"].bytes / rows["float32"].bytes < 0.6  # two bytes per weight instead of four
    for r in report.rows:
        assert 0.0 <= r.agreement <= 1.0 and r.hidden_cosine > 0.9 and r.seconds > 0
    after = loaded.model.state_dict()
    assert all(after[k].dtype == torch.float32 and torch.equal(after[k], v) for k, v in before.items())
    int8, _lock = variant_model(loaded, "int8")
    assert int8 is not loaded.model and variant_model(loaded, "int8")[0] is int8  # built once, kept
    assert int8.bert.encoder.layer[0].attention.self.query.weight().dtype == torch.qint8  # int8 weights really
    with torch.no_grad():
        ids = torch.as_tensor(inputs.input_ids)[None]
        ref = loaded.model(input_ids=ids).logits
        mine = int8(input_ids=ids).logits
    agree = (ref.argmax(-1) == mine.argmax(-1)).float().mean().item()
    assert abs(agree - rows["int8"].agreement) < 1e-9
