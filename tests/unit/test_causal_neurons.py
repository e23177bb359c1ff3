"""Knowledge neurons on a tiny random masked-LM: integrated gradients add up, and switching the top neurons off
hurts the answer more than switching off as many random neurons from the same layers."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from bertexplore.causal.edits import Edit, Editor, run
from bertexplore.causal.neurons import edit_neurons, knowledge_neurons
from bertexplore.errors import InputError
from bertexplore.loading import forward_count



@pytest.fixture(scope="module")
def peaked_mlm(tmp_path_factory):
    """A tiny random masked-LM with weights drawn wider (initializer_range 0.2 instead of 0.02): its predictions
    are peaked (p ≈ 0.1 instead of ≈ 1/vocab), so single neurons have measurable effects, as in a trained model."""
    from transformers import BertForMaskedLM

    from bertexplore.loading import load_model
    from tiny import make_tiny_model
    folder = make_tiny_model(tmp_path_factory.mktemp("peaked"), BertForMaskedLM, initializer_range=0.2)
    return load_model(str(folder), head="mlm", device="cpu")


FACT = "paris is the capital of [MASK] ."
CONTROL = "the cat sat on the [MASK] ."


def test_scores_add_up_and_converge(peaked_mlm):
    before = forward_count()
    result = knowledge_neurons(peaked_mlm, FACT, steps=None)  # adaptive: until every neuron's score agrees
    assert forward_count() - before == result.forwards
    assert result.scores.shape == (peaked_mlm.num_layers, peaked_mlm.config.intermediate_size)
    assert result.converged and result.convergence <= 0.02
    # Completeness: Σ scores = p(a) − p(0), up to the rule's error.
    gap = result.probability - result.baseline_probability
    assert abs(gap) > 0.05
    assert result.completeness_error < 0.02 * abs(gap)
    fixed = knowledge_neurons(peaked_mlm, FACT, steps=20)  # one 20-node rule: close to the converged scores
    assert np.abs(fixed.scores - result.scores).max() < 0.05 * np.abs(result.scores).max()


def test_baseline_is_every_neuron_at_mask_off(peaked_mlm):
    """p(0), computed another way: scale every layer's FFN neurons at [MASK] by zero (each layer's activation is
    then zero whatever the earlier layers did, which is what the path's α = 0 end means)."""
    result = knowledge_neurons(peaked_mlm, FACT, steps=4)  # p(0) is read at the path's end, whatever the rule
    inputs = peaked_mlm.tokenize(FACT)
    scale = torch.ones((1, len(inputs), peaked_mlm.config.intermediate_size))
    scale[0, result.position] = 0
    edits = {("mlp.post", layer): Edit(scale=scale) for layer in range(peaked_mlm.num_layers)}
    out = run(peaked_mlm, peaked_mlm.model_inputs(inputs.input_ids, inputs.segment_ids), Editor(edits))
    p0 = torch.softmax(out.logits[0, result.position].double(), -1)[result.answer]
    assert float(p0) == pytest.approx(result.baseline_probability, abs=1e-5)


def test_top_neurons_matter_more_than_random_ones(peaked_mlm):
    result = knowledge_neurons(peaked_mlm, FACT, steps=20)
    k = 5
    top = [(layer, neuron) for layer, neuron, _s in result.top(k)]
    hit = edit_neurons(peaked_mlm, FACT, top, factor=0.0, answer=result.answer_name)
    assert hit.before == pytest.approx(result.probability, abs=1e-5)
    rng = np.random.default_rng(0)
    width = peaked_mlm.config.intermediate_size
    random_drops = []
    for _ in range(10):  # as many random neurons, each from the layer of one top neuron
        chosen = [(layer, int(rng.integers(width))) for layer, _n in top]
        random_drops.append(edit_neurons(peaked_mlm, FACT, chosen, factor=0.0, answer=result.answer_name).change)
    assert hit.change < 0
    assert hit.change < min(random_drops)


def test_amplifying_and_the_control(peaked_mlm):
    result = knowledge_neurons(peaked_mlm, FACT, steps=8)
    top = [(layer, neuron) for layer, neuron, _s in result.top(3)]
    edit = edit_neurons(peaked_mlm, FACT, top, factor=2.0, answer=result.answer_name, control=CONTROL)
    assert edit.after > edit.before  # positive scores: more of those neurons, more of the answer
    assert edit.control_before is not None and edit.control_change is not None


def test_needs_a_mask_and_an_mlm_head(tiny_mlm, tiny_dir):
    from bertexplore.loading import load_model
    with pytest.raises(InputError, match="MASK"):
        knowledge_neurons(tiny_mlm, "paris is the capital of france")
    base = load_model(str(tiny_dir / "tiny-base"), head="base", device="cpu")
    with pytest.raises(InputError, match="masked-LM head"):
        knowledge_neurons(base, FACT)
