"""Norm-based attention and ALTI against explicit computations on a tiny random BERT (its own modules, by hand)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from bertexplore.analysis.alti import alti, alti_layer, rollout
from bertexplore.analysis.arrays import layer_arrays
from bertexplore.analysis.norms import head_vectors, parts, residual_ln_norms, summed_norms, weighted_norms
from bertexplore.analysis.arrays import analysis_names, hidden
from bertexplore.trace import run_trace

TEXT = "the cat sat on the mat . the dog played"


@pytest.fixture(scope="module")
def traced(tiny_mlm):
    return run_trace(tiny_mlm, TEXT, names=analysis_names(tiny_mlm) + ("blocks.*.attn.head_out",))


def _block(loaded, layer):
    return loaded.encoder.encoder.layer[layer]


def _explicit_vectors(loaded, trace, layer):
    """[H, T, T, D] α^h_ij f^h(x_j) built from the model's own modules, and the block's attention output."""
    block = _block(loaded, layer)
    x = torch.from_numpy(np.array(hidden(trace, layer)))[None]
    with torch.no_grad():
        attn = block.attention
        heads, d = loaded.num_heads, attn.self.attention_head_size
        v = attn.self.value(x)[0].reshape(-1, heads, d).permute(1, 0, 2)  # [H, T, d]
        alpha = torch.from_numpy(np.array(trace.attentions[layer]))
        w_o = attn.output.dense.weight  # [D, H*d]
        f = torch.stack([v[h] @ w_o[:, h * d:(h + 1) * d].T for h in range(heads)])  # [H, T, D]
        vectors = alpha[..., None] * f[:, None, :, :]
        out = attn(x)[0][0]  # LN(x + attention): the block's real output
    return vectors, out, x[0], attn


def test_weighted_norms_are_the_norms_of_each_heads_real_output_shares(tiny_mlm, traced):
    for layer in range(traced.num_layers):
        arrays = layer_arrays(traced, tiny_mlm, layer)
        vectors, _, x, attn = _explicit_vectors(tiny_mlm, traced, layer)
        got = weighted_norms(arrays)
        np.testing.assert_allclose(got, vectors.norm(dim=-1).numpy(), rtol=1e-4, atol=1e-6)
        # The shares add up to what each head really outputs: its context through its slice of W_O.
        with torch.no_grad():
            ctx = attn.self(x[None])[0][0]  # [T, H*d]
            d = attn.self.attention_head_size
            for h in range(tiny_mlm.num_heads):
                head_out = ctx[:, h * d:(h + 1) * d] @ attn.output.dense.weight[:, h * d:(h + 1) * d].T
                np.testing.assert_allclose(vectors[h].sum(1).numpy(), head_out.numpy(), rtol=1e-4, atol=1e-5)
        # ... and to the engine's cached per-head outputs of the same forward.
        np.testing.assert_allclose(vectors.sum(2).numpy(), traced[f"blocks.{layer}.attn.head_out"], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(summed_norms(arrays), vectors.sum(0).norm(dim=-1).numpy(), rtol=1e-4, atol=1e-5)


def _explicit_transformed(tiny_mlm, traced, layer):
    vectors, out, x, attn = _explicit_vectors(tiny_mlm, traced, layer)
    ln = attn.output.LayerNorm
    z = vectors.sum(0) + torch.diag_embed(torch.ones(len(x)))[..., None] * x[None, :, :]  # [T_i, T_j, D] + δ_ij x_i
    r = z.sum(1) + attn.output.dense.bias
    sigma = torch.sqrt(r.var(-1, unbiased=False) + ln.eps)
    t = ln.weight * (z - z.mean(-1, keepdim=True)) / sigma[:, None, None]
    return t, out, ln, attn, sigma


def test_residual_layernorm_norms_match_the_explicit_decomposition(tiny_mlm, traced):
    for layer in range(traced.num_layers):
        arrays = layer_arrays(traced, tiny_mlm, layer)
        t, out, ln, attn, sigma = _explicit_transformed(tiny_mlm, traced, layer)
        p = parts(arrays)
        # The decomposition is exact: the shares plus the bias part rebuild the block's real output.
        with torch.no_grad():
            np.testing.assert_allclose((t.sum(1) + p.bias_ln).numpy(), out.numpy(), rtol=1e-4, atol=1e-4)
            np.testing.assert_allclose(p.y.numpy(), out.numpy(), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(residual_ln_norms(arrays), t.norm(dim=-1).numpy(), rtol=1e-4, atol=1e-5)


def test_alti_matches_the_papers_definition_and_rows_sum_to_one(tiny_mlm, traced):
    for layer in range(traced.num_layers):
        arrays = layer_arrays(traced, tiny_mlm, layer)
        t, out, *_ = _explicit_transformed(tiny_mlm, traced, layer)
        with torch.no_grad():
            raw = (out.abs().sum(-1)[:, None] - (out[:, None, :] - t).abs().sum(-1)).clamp_min(0)
            expected = (raw / raw.sum(-1, keepdim=True)).numpy()
        for chunk in (1, 10 ** 9):  # row chunking must not change anything
            got = alti_layer(arrays, chunk_bytes=chunk)
            np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
            np.testing.assert_allclose(got.sum(-1), 1.0, atol=1e-5)
            assert (got >= 0).all()


def test_alti_rollout_is_the_product_of_layers(tiny_mlm, traced):
    per_layer = alti(traced, tiny_mlm)
    rolled = rollout(per_layer)
    np.testing.assert_allclose(rolled[0], per_layer[0], atol=1e-6)
    np.testing.assert_allclose(rolled[1], per_layer[1] @ per_layer[0], atol=1e-5)
    np.testing.assert_allclose(rolled[-1].sum(-1), 1.0, atol=1e-5)


def test_head_vectors_shape(tiny_mlm, traced):
    f = head_vectors(layer_arrays(traced, tiny_mlm, 0))
    assert tuple(f.shape) == (tiny_mlm.num_heads, len(traced.tokens), tiny_mlm.config.hidden_size)
