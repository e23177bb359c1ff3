"""Recompute: every step of every layer rebuilt by hand from the cache and the weights, for every family."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from bertexplore import anatomy
from bertexplore.loading import load_model
from bertexplore.trace import run_trace
from families import FAMILIES, make_family_model


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def family_mlm(request, tmp_path_factory):
    folder = make_family_model(tmp_path_factory.mktemp(request.param) / "model", request.param, "mlm")
    return load_model(str(folder), head="mlm", device="cpu")


def full_trace(loaded, text="the cat sat on the mat", pair="a dog"):
    names = anatomy.embedding_names(loaded) + [n for l in range(loaded.num_layers) for n in anatomy.layer_names(loaded, l)]
    return run_trace(loaded, text, pair, names=names)


def test_every_step_of_every_layer_recomputes_to_1e5(family_mlm):
    trace = full_trace(family_mlm)
    checks = anatomy.recompute_embeddings(trace, family_mlm)
    for layer in range(family_mlm.num_layers):
        checks += anatomy.recompute_layer(trace, family_mlm, layer)
    proven = set(anatomy.LAYER_STEPS + anatomy.SUM_STEPS) - set(anatomy.DERIVED_STEPS)
    assert {c.name for c in checks} >= {f"blocks.1.{s}" for s in proven}
    assert "blocks.1.attn.head_out" not in {c.name for c in checks}  # derived: no proof against itself
    worst = max(checks, key=lambda c: c.max_abs_diff)
    assert worst.max_abs_diff <= 1e-5, worst.name  # tiny random models, float32: 1e-5 for every family
    for check in checks:  # the recomputed arrays have the cached shapes
        assert check.recomputed.shape == trace[check.name].shape


def test_recompute_notices_a_wrong_weight(family_mlm):
    """The check can fail: a layer's recomputation against another layer's cache is far off."""
    trace = full_trace(family_mlm)
    w = anatomy.layer_weights(family_mlm, 0)
    x = trace["embed.out"]
    wrong = x @ (w.q_w * 1.01) + w.q_b
    right = x @ w.q_w + w.q_b
    T, H, d = x.shape[0], w.heads, w.d_head
    assert np.abs(right.reshape(T, H, d).transpose(1, 0, 2) - trace["blocks.0.attn.q"]).max() <= 1e-5
    assert np.abs(wrong.reshape(T, H, d).transpose(1, 0, 2) - trace["blocks.0.attn.q"]).max() > 1e-4


def test_weights_are_read_only_and_shaped(family_mlm):
    w = anatomy.layer_weights(family_mlm, 1)
    D = family_mlm.config.hidden_size if hasattr(family_mlm.config, "hidden_size") else family_mlm.config.dim
    assert w.q_w.shape == (D, w.heads * w.d_head) and w.o_w.shape == (w.heads * w.d_head, D)
    assert w.ffn_in_w.shape[0] == D and w.ffn_out_w.shape[1] == D
    assert not w.q_w.flags.writeable
    e = anatomy.embedding_weights(family_mlm)
    assert (e.projection_w is not None) == (family_mlm.model_type in ("albert", "electra"))
    assert (e.segment is None) == (family_mlm.model_type == "distilbert")
    if family_mlm.model_type in ("roberta", "xlm-roberta", "camembert"):
        assert e.position_ids(np.array([2, 7, 3]))[0] == e.padding_idx + 1


def test_head_out_sums_to_attn_out(family_mlm):
    trace = full_trace(family_mlm)
    w = anatomy.layer_weights(family_mlm, 0)
    np.testing.assert_allclose(trace["blocks.0.attn.head_out"].sum(0) + w.o_b, trace["blocks.0.attn.out"], atol=1e-5)


def test_a_wrong_head_share_fails_the_attention_output_proof(family_mlm):
    """head_out is derived, but its proof is not circular: shares that do not add up to the model's own attn.out fail."""
    import dataclasses

    trace = full_trace(family_mlm)
    cache = dict(trace.cache)
    shares = trace["blocks.0.attn.head_out"].copy()
    shares[0, 1, 0] += 1e-3
    cache["blocks.0.attn.head_out"] = shares
    bad = dataclasses.replace(trace, cache=cache)
    check = next(c for c in anatomy.recompute_layer(bad, family_mlm, 0) if c.name == "blocks.0.attn.out")
    assert check.max_abs_diff > 1e-4


@pytest.mark.parametrize("name", sorted(anatomy.ACTIVATIONS))
def test_activations_by_formula_match_transformers(name):
    """Written out by formula, checked against transformers' ACT2FN (the implementation the models run)."""
    from transformers.activations import ACT2FN

    x = np.linspace(-6, 6, 241)
    ours = anatomy.activation(name, x)
    theirs = ACT2FN[name](torch.as_tensor(x)).numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-12 if name not in ("gelu_fast",) else 1e-9)


def test_activation_formulas_tell_the_two_gelus_apart():
    x = np.linspace(-4, 4, 81)
    assert np.abs(anatomy.activation("gelu", x) - anatomy.activation("gelu_new", x)).max() > 1e-4
    with pytest.raises(Exception):
        anatomy.activation("no-such-activation", x)
