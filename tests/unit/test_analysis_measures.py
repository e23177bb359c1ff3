"""The "weight vs what moved" measures as the Attention page's views read them."""
from __future__ import annotations

import numpy as np
import pytest

from bertexplore.analysis.alti import alti, rollout
from bertexplore.analysis.arrays import analysis_names, layer_arrays
from bertexplore.analysis.measures import measure, measured_view
from bertexplore.analysis.norms import residual_ln_norms, weighted_norms
from bertexplore.attention import ViewSettings, view_matrix
from bertexplore.errors import InputError
from bertexplore.trace import run_trace


@pytest.fixture(scope="module")
def traced(tiny_mlm):
    return run_trace(tiny_mlm, "the cat sat on the mat", names=analysis_names(tiny_mlm))


def test_weights_are_the_plain_views(tiny_mlm, traced):
    shown = measure(traced, tiny_mlm, "weights")
    s = ViewSettings(layer=1, head=2)
    np.testing.assert_array_equal(measured_view(shown, s).matrix, view_matrix(traced, s).matrix)
    assert shown.bounded
    rolled = measured_view(shown, ViewSettings(layer=1, head=None, rollout=True)).matrix
    np.testing.assert_array_equal(rolled, view_matrix(traced, ViewSettings(layer=1, head=None, rollout=True)).matrix)


def test_norm_views_per_head_and_per_layer(tiny_mlm, traced):
    norm = measure(traced, tiny_mlm, "norm")
    np.testing.assert_allclose(measured_view(norm, ViewSettings(layer=1, head=3)).matrix,
                               weighted_norms(layer_arrays(traced, tiny_mlm, 1))[3], rtol=1e-6)
    assert not norm.bounded and not norm.per_layer
    res = measure(traced, tiny_mlm, "norm_residual_ln")
    expected = residual_ln_norms(layer_arrays(traced, tiny_mlm, 0))
    for head in range(tiny_mlm.num_heads):  # one matrix per layer, whatever head is chosen
        np.testing.assert_allclose(measured_view(res, ViewSettings(layer=0, head=head)).matrix, expected, rtol=1e-6)
    rolled = measured_view(res, ViewSettings(layer=1, rollout=True)).matrix
    rows = expected / expected.sum(-1, keepdims=True)
    second = residual_ln_norms(layer_arrays(traced, tiny_mlm, 1))
    np.testing.assert_allclose(rolled, (second / second.sum(-1, keepdims=True)) @ rows, rtol=1e-4, atol=1e-6)


def test_alti_view_and_its_rollout(tiny_mlm, traced):
    shown = measure(traced, tiny_mlm, "alti")
    per_layer = alti(traced, tiny_mlm)
    np.testing.assert_allclose(measured_view(shown, ViewSettings(layer=1, head=None)).matrix, per_layer[1], atol=1e-6)
    view = measured_view(shown, ViewSettings(layer=1, rollout=True))
    np.testing.assert_allclose(view.matrix, rollout(per_layer)[1], atol=1e-6)
    np.testing.assert_allclose(view.matrix.sum(-1), 1.0, atol=1e-5)
    words = measured_view(shown, ViewSettings(layer=1, head=None, level="words", hide_special=True))
    np.testing.assert_allclose(words.matrix.sum(-1), 1.0, atol=1e-5)
    with pytest.raises(InputError):
        measured_view(shown, ViewSettings(layer=9, rollout=True))
    with pytest.raises(InputError):
        measure(traced, tiny_mlm, "nonsense")


def test_a_default_trace_gets_what_it_lacks_in_one_forward(tiny_mlm):
    from bertexplore.trace import forward_count

    plain = run_trace(tiny_mlm, "the cat sat on the mat")
    before = forward_count()
    shown = measure(plain, tiny_mlm, "alti")
    assert forward_count() == before + 1
    np.testing.assert_allclose(shown.attentions[:, 0], alti(run_trace(tiny_mlm, "the cat sat on the mat",
                                                                      names=analysis_names(tiny_mlm)), tiny_mlm),
                               atol=1e-6)
