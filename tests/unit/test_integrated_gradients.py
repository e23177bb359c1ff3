"""Integrated gradients converged per token: the Gauss-Kronrod rules by hand, a constructed case where completeness
passes early and per-token agreement does not, and captum's IntegratedGradients at 1,000 steps on sharpened heads
(tiny models and the packaged MiniLM): per-token error ≤ 3% of max |attribution|, no sign flip above 10% of it."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.attr import IntegratedGradients
from numpy.polynomial import legendre
from transformers import BertForSequenceClassification

from bertexplore.integrated_gradients import gauss_kronrod, integrated_gradients
from bertexplore.loading import LoadedModel, build, load_model
from bertexplore.registry import OFFLINE_MODEL
from bertexplore.tasks.attribution import attribute
from bertexplore.tasks.classify import encode
from tiny import make_tiny_model


@pytest.mark.parametrize("n", [7, 8, 16, 32])
def test_gauss_kronrod_rule_is_exact_to_degree_3n_plus_1_and_contains_the_gauss_rule(n):
    nodes, kronrod, gauss = gauss_kronrod(n)
    assert len(nodes) == 2 * n + 1 and (np.diff(nodes) > 0).all() and 0 < nodes[0] and nodes[-1] < 1
    for degree in range(3 * n + 2):  # ∫₀¹ α^d dα = 1 / (d + 1)
        assert float(kronrod @ nodes ** degree) == pytest.approx(1 / (degree + 1), abs=1e-13)
    x, w = legendre.leggauss(n)
    np.testing.assert_allclose(nodes[gauss != 0], (x + 1) / 2, atol=1e-14)
    np.testing.assert_allclose(gauss[gauss != 0], w / 2, atol=1e-14)
    if n == 7:  # the published G7-K15 rule on [-1, 1]: centre weight and outermost node
        assert kronrod[7] * 2 == pytest.approx(0.209482141084727828012999174892, abs=1e-13)
        assert nodes[-1] * 2 - 1 == pytest.approx(0.991455371120812639206854697526, abs=1e-13)


def _oscillating(k: float):
    """f(x1, x2) = x1 + x2 + sin(k x1) − sin(k x2): along the diagonal path from 0 to (1, 1) the sine terms cancel,
    so every rule gets completeness exactly, while each token's integral of k·cos(kα) needs many nodes.
    Exact attributions: 1 + sin(k) and 1 − sin(k)."""
    def objective(points: torch.Tensor) -> torch.Tensor:
        return points[:, 0] + points[:, 1] + torch.sin(k * points[:, 0]) - torch.sin(k * points[:, 1])
    return objective


def test_completeness_passes_at_once_but_tokens_disagree_so_the_rule_goes_on():
    k = 60.0
    res = integrated_gradients(_oscillating(k), torch.ones(2, dtype=torch.float64),
                               torch.zeros(2, dtype=torch.float64))
    first = res.history[0]
    assert abs(first.completeness_error) < 1e-9  # a completeness-only rule would stop here ...
    assert first.max_change > 0.02  # ... with tokens still far from converged
    assert res.converged and len(res.history) >= 2
    np.testing.assert_allclose(res.attributions, [1 + np.sin(k), 1 - np.sin(k)], atol=1e-8)
    assert res.evaluations == sum(h.kronrod_nodes for h in res.history)
    assert res.max_change <= 0.02 and abs(res.completeness_error) < 1e-9
    # Within a budget that allows only the first pair: the same evidence, reported unconverged.
    capped = integrated_gradients(_oscillating(k), torch.ones(2, dtype=torch.float64),
                                  torch.zeros(2, dtype=torch.float64), max_evaluations=33)
    assert not capped.converged and len(capped.history) == 1 and capped.evaluations == 33


def test_reduce_groups_elements_into_units_and_keeps_elementwise():
    """A quadratic objective on a [3, 2] input: IG of x·Ax is exact for any rule of degree ≥ 1 per element."""
    a = torch.tensor([[1.0, 2.0, 0.5, 0.0, 1.0, -1.0]], dtype=torch.float64)
    quad = a.T @ a + torch.eye(6, dtype=torch.float64)

    def objective(points):
        flat = points.reshape(len(points), -1)
        return torch.einsum("ki,ij,kj->k", flat, quad, flat)

    x = torch.arange(1.0, 7.0, dtype=torch.float64).reshape(3, 2)
    res = integrated_gradients(objective, x, torch.zeros_like(x), lambda e: e.sum(-1), keep_elementwise=True)
    flat = x.reshape(-1)
    # IG_i = x_i ∫ 2 (Q α x)_i dα = x_i (Q x)_i for a quadratic form from 0.
    exact = (flat * (quad @ flat)).reshape(3, 2)
    np.testing.assert_allclose(res.elementwise, exact.numpy(), rtol=1e-12)
    np.testing.assert_allclose(res.attributions, exact.sum(-1).numpy(), rtol=1e-12)
    assert res.converged and res.value == pytest.approx(float(flat @ quad @ flat))


def _captum(loaded: LoadedModel, inputs, target: int, output: str, n_steps: int, method: str) -> np.ndarray:
    ids = torch.as_tensor(inputs.input_ids)[None]
    words = loaded.model.get_input_embeddings().weight
    special = torch.as_tensor(inputs.special)[None]
    x = words[ids].detach()
    b = words[torch.where(special, ids, torch.full_like(ids, loaded.tokenizer.pad_token_id))].detach()
    segments = torch.as_tensor(inputs.segment_ids)[None]

    def forward(embeds, segs):
        logits = loaded.model(inputs_embeds=embeds, token_type_ids=segs.expand(len(embeds), -1)).logits
        return torch.softmax(logits, -1)[:, target] if output == "softmax" else logits[:, target]

    attr = IntegratedGradients(forward).attribute(x, baselines=b, additional_forward_args=(segments,),
                                                  n_steps=n_steps, method=method, internal_batch_size=100)
    return attr[0].sum(-1).detach().double().numpy()


def _agrees(ours: np.ndarray, reference: np.ndarray) -> None:
    peak = float(np.abs(reference).max())
    assert peak > 0
    assert float(np.abs(ours - reference).max()) <= 0.03 * peak, (ours, reference)
    big = np.abs(reference) > 0.1 * peak
    assert (np.sign(ours[big]) == np.sign(reference[big])).all(), (ours, reference)


@pytest.fixture(scope="module")
def sharp_tiny(tmp_path_factory):
    """A tiny classifier whose head is sharpened (classifier weights x 8) so the output bends along the path."""
    folder = make_tiny_model(tmp_path_factory.mktemp("ig") / "sharp", BertForSequenceClassification, num_labels=2,
                             initializer_range=0.5)
    loaded = load_model(str(folder), head="sequence-classification", device="cpu")
    with torch.no_grad():  # our own test model, before anyone shares it
        loaded.model.classifier.weight.mul_(8.0)
    return loaded


@pytest.mark.parametrize("text,output", [("the movie was great and i love it", "softmax"),
                                         ("this film was terrible , i hate it", "softmax"),
                                         ("john lives in london and works at google", "logit")])
def test_tiny_sharpened_head_matches_captum_at_1000_steps(sharp_tiny, text, output):
    inputs = encode(sharp_tiny, text)
    res = attribute(sharp_tiny, inputs, target=1, output=output)
    assert res.converged and abs(res.value - res.baseline_value) > 0.05
    _agrees(res.scores.astype(np.float64), _captum(sharp_tiny, inputs, 1, output, 1000, "gausslegendre"))


@pytest.fixture(scope="module")
def sharp_minilm():
    """The packaged MiniLM with a seeded classification head, its weights scaled so the softmax is sharp."""
    built = build(OFFLINE_MODEL, "sequence-classification", num_labels=2)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        built.model.classifier.weight.copy_(torch.randn(built.model.classifier.weight.shape, generator=generator))
        built.model.classifier.bias.zero_()
    return LoadedModel.wrap(built.model, built.tokenizer, "minilm-sharp", built.source, "sequence-classification")


def test_packaged_minilm_sharpened_head_matches_captum_at_1000_steps(sharp_minilm):
    inputs = encode(sharp_minilm, "The plot was thin, but the music and the last minutes made it worth watching.")
    res = attribute(sharp_minilm, inputs, target=1, output="softmax")
    assert res.converged and abs(res.value - res.baseline_value) > 0.05
    reference = _captum(sharp_minilm, inputs, 1, "softmax", 1000, "gausslegendre")
    _agrees(res.scores.astype(np.float64), reference)
    # The failure the check exists for: a 4-node rule on this head is far off per token.
    four = attribute(sharp_minilm, inputs, target=1, output="softmax", steps=4, tolerance=None)
    assert float(np.abs(four.scores - reference).max()) > 0.03 * float(np.abs(reference).max())
