"""Attention views on the packaged all-MiniLM-L6-v2 (real weights, 6 layers x 12 heads)."""
from __future__ import annotations

import numpy as np
import pytest

from bertexplore import attention as A
from bertexplore.bertviz_offline import head_view_html, model_view_html
from bertexplore.trace import run_trace


@pytest.fixture(scope="module")
def trace(minilm):
    return run_trace(minilm, "The unbelievably photogenic hippopotamus yawned.", "It was tired.")


def test_real_attention_is_row_stochastic_and_words_join_pieces(trace):
    assert trace.attentions.shape[:2] == (6, 12)
    np.testing.assert_allclose(trace.attentions.sum(-1), 1.0, atol=1e-4)
    words = trace.inputs.words()
    hippo = next(w for w in words if w.text == "hippopotamus")
    assert len(hippo.positions) > 1  # split into wordpieces by the bert-base-uncased vocabulary
    agg, units = A.aggregate_words(trace.attentions, trace.inputs)
    assert "hippopotamus" in units.labels
    np.testing.assert_allclose(agg.sum(-1), 1.0, atol=1e-4)


def test_rollout_and_grid_on_real_weights(trace):
    r = A.rollout(trace.attentions)
    np.testing.assert_allclose(r.sum(-1), 1.0, atol=1e-4)
    # after one layer a token keeps at least the residual's half of itself
    assert (np.diag(A.rollout(trace.attentions, upto=0)) >= 0.5 - 1e-6).all()
    last = 0.5 * np.eye(len(trace.tokens)) + 0.5 * trace.attentions[5].mean(0)
    np.testing.assert_allclose(r, last @ A.rollout(trace.attentions, upto=4), atol=1e-5)
    grid = A.tiled_grid(trace.attentions)
    assert (grid.layers, grid.heads) == (6, 12)
    np.testing.assert_array_equal(grid.tile(5, 11), trace.attentions[5, 11])


def test_pair_filters_on_real_pair(trace):
    view = A.view_matrix(trace, A.ViewSettings(layer=3, head=None, filter="B → A", level="words", hide_special=True))
    assert view.rows.labels == ("It", "was", "tired", ".")
    assert view.cols.labels[0] == "The"


def test_long_input_gets_truncated_and_bertviz_subset(minilm):
    long_trace = run_trace(minilm, "the cat sat on the mat . " * 120)
    assert len(long_trace.tokens) == 512 and long_trace.inputs.truncated
    grid = A.tiled_grid(long_trace.attentions)
    assert grid.pooled and grid.z.size <= A.GRID_MAX_CELLS * 1.1
    view = model_view_html(long_trace, layer=2, head=4)
    assert not view.subset.complete and view.subset.layers == (2,) and 4 in view.subset.heads
    assert view.offline and view.nbytes < 6_000_000
    head = head_view_html(long_trace, layer=2, head=4)
    assert head.nbytes < 6_000_000
