"""Logit lens and gradient head importance on tiny random models, against the models' own outputs."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from bertexplore.analysis.gradient_importance import gradient_importance, objective, rank_correlation
from bertexplore.analysis.lens import logit_lens
from bertexplore.errors import InputError
from bertexplore.head_importance import scan_heads
from bertexplore.loading import load_model
from bertexplore.analysis.arrays import analysis_names, hidden
from bertexplore.trace import run_trace

TEXT = "the cat sat on the mat in paris"


def test_lens_at_the_last_layer_is_the_models_own_mlm_output(tiny_mlm):
    trace = run_trace(tiny_mlm, TEXT, masked=[2, 5], names=analysis_names(tiny_mlm))
    lens = logit_lens(tiny_mlm, trace)
    assert lens.positions == trace.mask_positions and lens.log_probs.shape[1] == tiny_mlm.num_layers + 1
    np.testing.assert_allclose(lens.log_probs[:, -1], trace.mask_log_probs, atol=1e-4)
    ranks, probs = lens.final_rank(), lens.final_prob()
    assert (ranks[:, -1] == 1).all()
    np.testing.assert_allclose(probs[:, -1], np.exp(trace.mask_log_probs.max(-1)), rtol=1e-5)
    ids, top = lens.top_k(3)
    assert ids.shape == (2, tiny_mlm.num_layers + 1, 3) and (np.diff(top, axis=-1) <= 0).all()
    # An earlier layer by hand: the same head on layer 1's hidden state.
    with torch.no_grad():
        h = torch.from_numpy(np.array(hidden(trace, 1)[list(trace.mask_positions)]))
        expected = torch.log_softmax(tiny_mlm.model.cls(h), -1).numpy()
    np.testing.assert_allclose(lens.log_probs[:, 1], expected, atol=1e-4)


def test_lens_needs_a_mask(tiny_mlm):
    with pytest.raises(InputError):
        logit_lens(tiny_mlm, run_trace(tiny_mlm, TEXT))


def test_classifier_lens_at_the_last_layer_is_the_classifiers_output(tiny_dir):
    loaded = load_model(str(tiny_dir / "tiny-cls"), head="sequence-classification", device="cpu")
    trace = run_trace(loaded, TEXT)
    lens = logit_lens(loaded, trace)
    with torch.no_grad():
        logits = loaded.model(input_ids=torch.as_tensor(trace.inputs.input_ids)[None]).logits[0]
    np.testing.assert_allclose(lens.log_probs[0, -1], torch.log_softmax(logits, -1).numpy(), atol=1e-5)
    assert lens.labels == ("NEGATIVE", "POSITIVE")


def test_gradient_importance_matches_finite_differences_and_leaves_the_model_alone(tiny_mlm):
    trace = run_trace(tiny_mlm, TEXT, masked=[3])
    before = {k: v.clone() for k, v in tiny_mlm.model.state_dict().items()}
    result = gradient_importance(tiny_mlm, trace.inputs)
    assert result.gradient.shape == (tiny_mlm.num_layers, tiny_mlm.num_heads)
    assert all(not p.requires_grad and p.grad is None for p in tiny_mlm.model.parameters())
    assert all(torch.equal(before[k], v) for k, v in tiny_mlm.model.state_dict().items())
    eps = 1e-3
    with torch.no_grad():
        for layer in range(tiny_mlm.num_layers):
            for head in range(tiny_mlm.num_heads):
                values = []
                for sign in (1, -1):
                    gates = torch.ones(1, tiny_mlm.num_layers, tiny_mlm.num_heads, dtype=torch.float64).float()
                    gates[0, layer, head] += sign * eps
                    values.append(float(objective(tiny_mlm, trace.inputs, gates, result.position, result.target_id)[0]))
                fd = (values[0] - values[1]) / (2 * eps)
                assert result.gradient[layer, head] == pytest.approx(fd, rel=2e-2, abs=2e-3)


def test_rank_correlation_of_gradient_and_scan(tiny_mlm):
    trace = run_trace(tiny_mlm, TEXT, masked=[3])
    result = gradient_importance(tiny_mlm, trace.inputs)
    _, scan = scan_heads(tiny_mlm, trace.inputs)
    rho = rank_correlation(result.gradient, scan)
    assert np.isfinite(rho)
    assert rank_correlation(scan, scan) == pytest.approx(1.0)
    assert rank_correlation(scan, -scan) == pytest.approx(-1.0)
    assert rank_correlation(np.array([1.0, 2, 3, 4]), np.array([10.0, 30, 20, 40])) == pytest.approx(0.8)
