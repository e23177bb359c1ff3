"""Contribution graph (flows are the ALTI rollout, edges add up) and the embedding projector (PCA of real states)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from bertexplore.analysis.alti import alti, rollout
from bertexplore.analysis.arrays import layer_arrays
from bertexplore.analysis.graph import build_graph, contributions, head_shares, node_detail
from bertexplore.analysis.norms import parts
from bertexplore.analysis.projector import collect, project
from bertexplore.errors import InputError
from bertexplore.analysis.arrays import analysis_names, hidden
from bertexplore.trace import run_trace


@pytest.fixture(scope="module")
def traced(tiny_mlm):
    return run_trace(tiny_mlm, "the cat sat on the mat", masked=[3], names=analysis_names(tiny_mlm))


def test_graph_flows_are_the_rollout_and_edges_add_up(tiny_mlm, traced):
    contrib = contributions(traced, tiny_mlm)
    np.testing.assert_allclose(contrib.per_layer, alti(traced, tiny_mlm), atol=1e-6)
    out = traced.mask_positions[0]
    full = build_graph(contrib, out, threshold=0.0)
    rolled = rollout(contrib.per_layer)
    for j in range(len(traced.tokens)):
        assert full.flow[(0, j)] == pytest.approx(rolled[-1][out, j], abs=1e-5)
    for node in full.nodes:
        if node[0] < contrib.num_layers:
            incoming = sum(w for up, low, w in full.edges if low == node)
            assert incoming == pytest.approx(full.flow[node], abs=1e-5)
    kept = build_graph(contrib, out, threshold=0.2)
    assert set(kept.nodes) <= set(full.nodes) and all(w >= 0.2 for *_, w in kept.edges)
    assert len(kept.edges) < len(full.edges)
    detail = node_detail(contrib, kept, (contrib.num_layers, out))
    assert detail.sources[0][2] == pytest.approx(contrib.per_layer[-1][out].max())
    assert sum(s for _, s in node_detail(contrib, full, (1, 0), top=100).heads) == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(InputError):
        build_graph(contrib, 99)


def test_head_shares_decompose_the_block_output(tiny_mlm, traced):
    p = parts(layer_arrays(traced, tiny_mlm, 1))
    shares = head_shares(p)
    np.testing.assert_allclose(shares.sum(-1), 1.0, atol=1e-5)
    heads_ln = torch.bmm(p.alpha, p.f_ln) / p.sigma[None, :, None]
    rebuilt = heads_ln.sum(0) + p.x_ln / p.sigma[:, None] + p.bias_ln
    np.testing.assert_allclose(rebuilt.numpy(), p.y.numpy(), atol=1e-4)


def test_projector_states_are_the_models_and_pca_is_sklearns(tiny_mlm):
    sentences = ["the cat sat on the mat", "a dog", "paris is the capital of france"]
    data = collect(tiny_mlm, sentences)
    assert data.states.shape[0] == tiny_mlm.num_layers + 1
    offset = 0
    for s, text in enumerate(sentences):
        trace = run_trace(tiny_mlm, text, names=analysis_names(tiny_mlm))
        n = len(trace.tokens)
        states = np.stack([hidden(trace, l) for l in range(trace.num_layers + 1)])
        np.testing.assert_allclose(data.states[:, offset:offset + n], states, atol=1e-4)
        np.testing.assert_allclose(data.cls[:, s], states[:, 0], atol=1e-4)
        offset += n
    proj = project(data, 2, "tokens")
    assert "[CLS]" not in proj.labels and len(proj.labels) == len(proj.coords)
    from sklearn.decomposition import PCA
    keep = [k for k, p in enumerate(data.points) if not p.special]
    ref = PCA(2, svd_solver="full").fit(data.states[2, keep].astype(np.float64))
    assert proj.explained == pytest.approx(tuple(ref.explained_variance_ratio_), rel=1e-5)
    assert project(data, 0, "mean").coords.shape == (3, 2)
    with pytest.raises(InputError):
        project(data, 99)
    with pytest.raises(InputError):
        collect(tiny_mlm, ["only one"])
