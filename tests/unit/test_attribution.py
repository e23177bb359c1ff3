"""Token attributions: integrated gradients completeness, batching, gradient x input, the shared model untouched."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import BertForSequenceClassification

from bertexplore.errors import InputError
from bertexplore.loading import load_model
from bertexplore.tasks.attribution import attribute, auto_batch_size
from bertexplore.tasks.classify import encode
from tiny import make_tiny_model


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    # A wider initialisation than BERT's 0.02 so that the output really changes between baseline and input.
    folder = make_tiny_model(tmp_path_factory.mktemp("attr") / "cls", BertForSequenceClassification,
                             num_labels=2, initializer_range=0.5)
    return load_model(str(folder), head="sequence-classification", device="cpu")


@pytest.mark.parametrize("output", ["logit", "softmax"])
def test_integrated_gradients_completeness(classifier, output):
    inputs = encode(classifier, "the movie was great and i love it")
    res = attribute(classifier, inputs, target=1, output=output, steps=64)
    change = res.value - res.baseline_value
    assert abs(change) > 0.05  # a real change to explain, else the test proves nothing
    assert float(res.scores.sum()) == pytest.approx(change, abs=0.02 * abs(change) + 1e-4)
    assert abs(res.delta) < 0.02 * abs(change) + 1e-4
    # The baseline keeps [CLS] and [SEP], so they get exactly zero attribution.
    assert res.scores[0] == 0 and res.scores[-1] == 0
    # The explained value is the model's own output.
    with torch.no_grad():
        logits = classifier.model(input_ids=torch.as_tensor(inputs.input_ids)[None]).logits[0]
    expected = float(logits[1]) if output == "logit" else float(torch.softmax(logits, -1)[1])
    assert res.value == pytest.approx(expected, rel=1e-4)


def test_more_steps_shrink_the_completeness_error(classifier):
    inputs = encode(classifier, "this film was terrible")
    coarse = attribute(classifier, inputs, target=0, output="logit", steps=4, tolerance=None)
    fine = attribute(classifier, inputs, target=0, output="logit", steps=96, tolerance=None)
    assert (coarse.steps, fine.steps) == (4, 96)
    assert abs(fine.delta) < abs(coarse.delta)


def test_batched_steps_equal_unbatched(classifier):
    inputs = encode(classifier, "john loves the movie")
    batched = attribute(classifier, inputs, target=1, steps=16, internal_batch_size=16, tolerance=None)
    unbatched = attribute(classifier, inputs, target=1, steps=16, internal_batch_size=1, tolerance=None)
    assert batched.internal_batch_size == 16 and unbatched.internal_batch_size == 1
    np.testing.assert_allclose(batched.scores, unbatched.scores, rtol=1e-4, atol=1e-6)


def test_gradient_times_input_matches_autograd(classifier):
    inputs = encode(classifier, "a good movie")
    res = attribute(classifier, inputs, target=1, method="gradient-x-input", output="logit")
    ids = torch.as_tensor(inputs.input_ids)[None]
    emb = classifier.model.get_input_embeddings()(ids).detach().requires_grad_()
    logit = classifier.model(inputs_embeds=emb, token_type_ids=torch.zeros_like(ids)).logits[0, 1]
    (grad,) = torch.autograd.grad(logit, emb)
    np.testing.assert_allclose(res.scores, (grad * emb).sum(-1)[0].detach().numpy(), rtol=1e-4, atol=1e-6)
    assert res.value == pytest.approx(float(logit.detach()), rel=1e-5)
    assert res.delta is None


def test_shared_model_is_left_untouched(classifier):
    before = {k: v.clone() for k, v in classifier.model.state_dict().items()}
    attribute(classifier, encode(classifier, "the cat sat"), target=0, steps=33)
    assert not classifier.model.training
    assert all(not p.requires_grad and p.grad is None for p in classifier.model.parameters())
    after = classifier.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_bad_settings_are_clear_errors(classifier):
    inputs = encode(classifier, "the cat sat")
    with pytest.raises(InputError, match="Label index 5"):
        attribute(classifier, inputs, target=5)
    with pytest.raises(InputError, match="steps"):
        attribute(classifier, inputs, target=0, steps=0)
    with pytest.raises(InputError, match="method"):
        attribute(classifier, inputs, target=0, method="saliency")


def test_auto_batch_size_shrinks_with_length(classifier):
    assert auto_batch_size(classifier, 16, 32) == 32
    assert auto_batch_size(classifier, 2048, 32) < auto_batch_size(classifier, 512, 32) <= 32
    assert auto_batch_size(classifier, 100_000, 32) == 1


def test_adaptive_quadrature_stops_at_the_first_pair_that_agrees_per_token_and_sums_right(classifier):
    inputs = encode(classifier, "the movie was great and i love it")
    res = attribute(classifier, inputs, target=1, output="logit", internal_batch_size=3)
    change = res.value - res.baseline_value
    assert res.converged and abs(res.delta) <= 0.05 * abs(change) + 1e-6
    peak = float(np.abs(res.scores).max())
    assert res.change is not None and float(res.change.max()) <= 0.02 * peak + 1e-6
    assert res.max_change == pytest.approx(float(res.change.max()) / peak)
    # Evidence: every pair tried, its cost, and why each earlier pair did not stop.
    assert res.evaluations == sum(h.kronrod_nodes for h in res.history) and res.steps == res.history[-1].kronrod_nodes
    assert [h.gauss_nodes for h in res.history] == [16 * 2 ** i for i in range(len(res.history))]
    for h in res.history[:-1]:
        assert h.max_change > 0.02 or abs(h.completeness_error) > 0.05
    assert 0 < res.longest_lock_seconds


def test_a_budget_too_small_to_agree_is_reported_unconverged(classifier):
    inputs = encode(classifier, "the movie was great and i love it")
    res = attribute(classifier, inputs, target=1, output="softmax", steps=33, agreement=1e-9)
    assert not res.converged and len(res.history) == 1 and res.evaluations == 33


def test_one_node_gauss_legendre_is_the_midpoint_rule(classifier):
    # One Gauss-Legendre node sits at the midpoint with weight 1: attributions are (x - b)·∇f at the midpoint.
    inputs = encode(classifier, "a good movie")
    one = attribute(classifier, inputs, target=1, output="logit", steps=1, tolerance=None)
    ids = torch.as_tensor(inputs.input_ids)[None]
    emb = classifier.model.get_input_embeddings()
    x = emb(ids).detach()
    special = torch.as_tensor(inputs.special)[None]
    b = emb(torch.where(special, ids, torch.full_like(ids, classifier.tokenizer.pad_token_id))).detach()
    mid = ((x + b) / 2).requires_grad_()
    logit = classifier.model(inputs_embeds=mid, token_type_ids=torch.zeros_like(ids)).logits[0, 1]
    (grad,) = torch.autograd.grad(logit, mid)
    np.testing.assert_allclose(one.scores, ((x - b) * grad).sum(-1)[0].numpy(), rtol=1e-4, atol=1e-6)
