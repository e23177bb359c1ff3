"""The contribution graph's starting threshold shows more than one chain: the largest slider step whose graph
reaches MIN_INPUTS input tokens, checked against every step by brute force, on a tiny model and on hand-built
per-layer matrices where the answer is known."""
from __future__ import annotations

import numpy as np
import pytest

from bertexplore.analysis.arrays import analysis_names
from bertexplore.analysis.graph import (MIN_INPUTS, THRESHOLD_STEPS, Contributions, build_graph, contributions,
                                        default_threshold)
from bertexplore.trace import run_trace


def _inputs(graph) -> int:
    return sum(1 for level, _t in graph.nodes if level == 0)


def test_hand_built_residual_heavy_layers():
    # 2 layers, 4 tokens; each token keeps 88% of itself, the rest spread: at 0.04 only the output's own chain.
    t = 4
    layer = np.full((t, t), 0.04) + np.eye(t) * (0.88 - 0.04)
    layer /= layer.sum(1, keepdims=True)
    contrib = Contributions(("a", "b", "c", "d"), np.stack([layer, layer]), np.zeros((2, t, 2)))
    assert _inputs(build_graph(contrib, 1, 0.04)) == 1  # the single chain
    chosen = default_threshold(contrib, 1)
    assert _inputs(build_graph(contrib, 1, chosen)) >= MIN_INPUTS
    larger = [s for s in THRESHOLD_STEPS if s > chosen]
    assert all(_inputs(build_graph(contrib, 1, s)) < MIN_INPUTS for s in larger)


def test_packaged_minilm_default_shows_more_than_one_chain(minilm):
    """The issue's own case: "The capital of France is [MASK]." gave one chain of 7 nodes at 0.04."""
    trace = run_trace(minilm, "The capital of France is [MASK].", names=analysis_names(minilm))
    contrib = contributions(trace, minilm)
    out = trace.mask_positions[0]
    assert len(build_graph(contrib, out, 0.04).nodes) == contrib.num_layers + 1  # one chain, as reported
    chosen = default_threshold(contrib, out)
    graph = build_graph(contrib, out, chosen)
    assert _inputs(graph) >= MIN_INPUTS and len(graph.nodes) <= 60
    reached = [s for s in THRESHOLD_STEPS if _inputs(build_graph(contrib, out, s)) >= MIN_INPUTS]
    assert chosen == pytest.approx(max(reached))
