"""Activation patching identities on tiny random models of every family with the full cache, and attribution
patching against exact patching in the linear limit."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from bertexplore.causal import edits
from bertexplore.causal.edits import Edit, Editor
from bertexplore.causal.patching import (attribution_patch_heads, patch, patch_heads, patched_value, prepare_pair,
                                         rank_correlation)
from bertexplore.errors import InputError
from bertexplore.loading import LoadedModel, forward_count, load_model
from families import FAMILIES, make_family_model

CLEAN = "the keys to the cabinet [MASK] on the table"
CORRUPT = "the key to the cabinet [MASK] on the table"


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def family_mlm(request, tmp_path_factory) -> LoadedModel:
    folder = make_family_model(tmp_path_factory.mktemp(request.param), request.param, head="mlm")
    return load_model(str(folder), head="mlm", device="cpu")


def _mask(n_rows: int, n: int, rows_positions: list[tuple[int, int]]) -> torch.Tensor:
    mask = torch.zeros((n_rows, n, 1), dtype=torch.bool)
    for r, p in rows_positions:
        mask[r, p] = True
    return mask


def test_patch_identities(family_mlm):
    loaded = family_mlm
    last = loaded.num_layers - 1
    pair, editor = prepare_pair(loaded, CLEAN, CORRUPT, keep={("normalized_resid_post", last), ("embed", 0)})
    n = len(pair.clean)
    # Everything at the last layer's output: the clean run's final states, hence exactly the clean metric.
    every = Edit(mask=torch.ones((1, n, 1), dtype=torch.bool), source=editor.kept[("normalized_resid_post", last)][0])
    assert patched_value(loaded, pair, {("normalized_resid_post", last): every}) == pytest.approx(pair.clean_metric, abs=1e-5)
    # Nothing patched: the corrupted metric.
    assert patched_value(loaded, pair, {}) == pytest.approx(pair.corrupt_metric, abs=1e-5)
    # Layer 0 (the embedding output) at a position where the inputs agree changes nothing; at the one position
    # where they differ it carries the whole difference (everything downstream flows from it).
    (p,) = pair.differs
    embed = editor.kept[("embed", 0)][0]
    same = Edit(mask=_mask(1, n, [(0, p + 1)]), source=embed)
    diff = Edit(mask=_mask(1, n, [(0, p)]), source=embed)
    assert patched_value(loaded, pair, {("embed", 0): same}) == pytest.approx(pair.corrupt_metric, abs=1e-5)
    assert patched_value(loaded, pair, {("embed", 0): diff}) == pytest.approx(pair.clean_metric, abs=1e-4)


def test_full_map_rows_and_the_encoder_cone(family_mlm):
    loaded = family_mlm
    before = forward_count()
    result = patch(loaded, CLEAN, CORRUPT, site="resid")
    assert forward_count() - before == result.forwards == loaded.num_layers + 2
    (p,) = result.pair.differs
    assert result.rows[0] == "emb" and len(result.rows) == loaded.num_layers + 1
    # Row "emb": only the differing position matters, and it restores everything.
    assert result.values[0, p] == pytest.approx(result.pair.clean_metric, abs=1e-4)
    assert np.allclose(np.delete(result.values[0], p), result.pair.corrupt_metric, atol=1e-5)
    # The batched map equals patching one position at a time.
    _, editor = prepare_pair(loaded, CLEAN, CORRUPT, keep={("normalized_resid_post", 0)})
    n = len(result.pair.clean)
    for q in (0, p, n - 1):
        one = Edit(mask=_mask(1, n, [(0, q)]), source=editor.kept[("normalized_resid_post", 0)][0])
        assert result.values[1, q] == pytest.approx(patched_value(loaded, result.pair, {("normalized_resid_post", 0): one}),
                                                     abs=1e-4)
    # After one layer the difference has reached other positions: an encoder's cone is whole rows (a random model
    # still mixes every position).
    assert np.abs(np.delete(result.effect[1], p)).max() > 1e-4


@pytest.mark.parametrize("site", ["attn", "mlp"])
def test_sublayer_sites(tiny_mlm, site):
    result = patch(tiny_mlm, CLEAN, CORRUPT, site=site)
    assert result.effect.shape == (tiny_mlm.num_layers, len(result.pair.clean))
    # A site's output at the position where the inputs agree in layer 0... differs already (attention mixes), but
    # patching every position of the LAST layer's FFN output with the clean one, with the clean residual input,
    # is not the clean run: only the resid site has the exact identity; here the values are finite and vary.
    assert np.isfinite(result.effect).all() and result.effect.std() > 0


def test_unequal_lengths_are_explained(tiny_mlm):
    with pytest.raises(InputError, match="same number of tokens"):
        patch(tiny_mlm, CLEAN, "the set of keys to the cabinet [MASK] on the table")


def test_cosine_metric_without_a_head(tiny_dir):
    loaded = load_model(str(tiny_dir / "tiny-base"), head="base", device="cpu")
    result = patch(loaded, "the cat sat on the mat", "the dog sat on the mat")
    assert result.pair.metric.kind == "cosine"
    assert result.pair.clean_metric == pytest.approx(1.0, abs=1e-6)
    (p,) = result.pair.differs
    assert result.values[0, p] == pytest.approx(1.0, abs=1e-6)
    assert np.allclose(np.delete(result.values[0], p), result.pair.corrupt_metric, atol=1e-6)


def test_label_metric(tiny_dir):
    loaded = load_model(str(tiny_dir / "tiny-cls"), head="sequence-classification", device="cpu")
    result = patch(loaded, "good movie", "bad movie", target="POSITIVE", contrast="NEGATIVE")
    assert result.pair.metric.kind == "label" and result.pair.metric.target_name == "POSITIVE"
    (p,) = result.pair.differs
    assert result.values[0, p] == pytest.approx(result.pair.clean_metric, abs=1e-5)


def test_patching_a_head_equals_patching_its_output_share(tiny_mlm):
    """Exact head patching, checked another way: the clean head's share z_h · W_O[h]ᵀ added in place of the
    corrupted share at the attention output."""
    loaded = tiny_mlm
    heads = patch_heads(loaded, CLEAN, CORRUPT)
    layer, head, d = 1, 2, 32 // 4
    pair, editor = prepare_pair(loaded, CLEAN, CORRUPT, keep={("attn.z", layer), ("attn.out", layer)})
    weight = loaded.model.bert.encoder.layer[layer].attention.output.dense.weight  # [D, H*d]
    zc, zx = editor.kept[("attn.z", layer)][0], editor.kept[("attn.z", layer)][1]
    s = slice(head * d, (head + 1) * d)
    corrected = editor.kept[("attn.out", layer)][1] + (zc[:, s] - zx[:, s]) @ weight[:, s].T
    value = patched_value(loaded, pair, {("attn.out", layer): Edit(mask=torch.ones((1, 1, 1), dtype=torch.bool),
                                                                   source=corrected)})
    assert heads.values[layer, head] == pytest.approx(value, abs=1e-4)


def _near_linear(loaded: LoadedModel, eps: float) -> LoadedModel:
    """A copy whose 'key' embedding is 'keys' + eps·noise: clean and corrupted activations differ by O(eps), the
    regime where the first-order estimate is exact up to O(eps²)."""
    import copy
    model = copy.deepcopy(loaded.model).double()
    tok = loaded.tokenizer
    emb = model.bert.embeddings.word_embeddings.weight
    keys, key = tok.convert_tokens_to_ids("keys"), tok.convert_tokens_to_ids("key")
    if key == tok.unk_token_id:  # the test vocabulary has "keys" only; use another word as the corrupted one
        key = tok.convert_tokens_to_ids("cat")
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        emb[key] = emb[keys] + eps * torch.randn(emb.shape[1], generator=g, dtype=emb.dtype)
    return LoadedModel.wrap(model, tok, name=f"near-linear-{eps}", source="memory", head="mlm"), key


def test_attribution_patching_is_exact_in_the_linear_limit(tiny_mlm):
    errors = []
    for eps in (1e-2, 1e-3):
        loaded, key = _near_linear(tiny_mlm, eps)
        word = loaded.tokenizer.convert_ids_to_tokens(key)
        corrupt = CLEAN.replace("keys", word)
        exact = patch_heads(loaded, CLEAN, corrupt, target="is", contrast="are")
        approx = attribution_patch_heads(loaded, CLEAN, corrupt, target="is", contrast="are")
        delta_exact = exact.values - exact.pair.corrupt_metric
        delta_approx = approx.values - approx.pair.corrupt_metric
        scale = np.abs(delta_exact).max()
        errors.append(np.abs(delta_exact - delta_approx).max() / scale)
        assert rank_correlation(delta_exact, delta_approx) > 0.95
    # Relative error O(eps): shrinks about tenfold with eps, and is small at the smaller one.
    assert errors[1] < errors[0] / 5 and errors[1] < 1e-2


def test_editor_is_per_thread_and_per_forward(tiny_mlm):
    """The shared model is untouched outside an editing block: hooks are permanent, edits are not."""
    inputs = tiny_mlm.tokenize(CLEAN)
    batch = tiny_mlm.model_inputs(inputs.input_ids, inputs.segment_ids)
    plain = tiny_mlm.forward(batch).logits
    zero = Edit(scale=torch.zeros(1))
    edited = edits.run(tiny_mlm, batch, Editor({("normalized_resid_post", 0): zero}))
    again = tiny_mlm.forward(batch).logits
    assert not torch.allclose(plain, edited.logits)
    torch.testing.assert_close(plain, again)


def test_attribution_patching_is_one_forward(tiny_mlm):
    before = forward_count()
    first = attribution_patch_heads(tiny_mlm, CLEAN, CORRUPT, target="is", contrast="are")
    assert forward_count() - before == first.forwards == 1
    again = attribution_patch_heads(tiny_mlm, CLEAN, CORRUPT, pair=first.pair)  # the candidates as ids
    np.testing.assert_allclose(again.values, first.values, atol=1e-6)
    assert first.pair.metric.target_name == "is"


def test_average_heads_is_the_mean_of_the_pairs(tiny_mlm):
    from bertexplore.causal import average_heads, minimal_pairs
    pairs = minimal_pairs("en")[:3]
    average = average_heads(tiny_mlm, pairs, method="attribution")
    maps = []
    for p in pairs:
        try:
            maps.append(attribution_patch_heads(tiny_mlm, p.clean, p.corrupt, target=p.target,
                                                contrast=p.contrast).effect)
        except InputError:
            pass
    assert average.used == len(maps) and average.used + len(average.skipped) == 3
    np.testing.assert_allclose(average.effect, np.mean(maps, axis=0), atol=1e-6)
