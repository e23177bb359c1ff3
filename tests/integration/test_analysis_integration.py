"""The analysis on real weights (the packaged all-MiniLM-L6-v2): the decomposition rebuilds the model's own states."""
from __future__ import annotations

import numpy as np

from bertexplore.analysis.alti import alti_layer
from bertexplore.analysis.arrays import analysis_names, layer_arrays
from bertexplore.analysis.census import census_of_set
from bertexplore.analysis.norms import parts
from bertexplore.trace import run_trace


def test_decomposition_rebuilds_the_cached_states_and_alti_rows_sum_to_one(minilm):
    names = analysis_names(minilm) + ("blocks.*.normalized_resid_mid",)
    trace = run_trace(minilm, "The keys to the cabinet are on the table.", names=names)
    for layer in range(trace.num_layers):
        arrays = layer_arrays(trace, minilm, layer)
        p = parts(arrays)
        # y = LN(x + attention) rebuilt from the per-token shares equals what the model computed
        np.testing.assert_allclose(p.y.numpy(), trace[f"blocks.{layer}.normalized_resid_mid"], atol=2e-4)
        np.testing.assert_allclose(alti_layer(arrays, p).sum(-1), 1.0, atol=1e-5)


def test_census_of_the_bundled_set_on_real_weights(minilm):
    census = census_of_set(minilm)
    assert census.sentences == 24
    assert sum(census.counts().values()) == minilm.num_layers * minilm.num_heads
    share = census.stats["cls"] + census.stats["sep"] + census.stats["punct"]
    assert ((share >= 0) & (share <= 1 + 1e-5)).all()
