from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from bertexplore.ablation import ablated, head_mask, one_head_off_masks
from bertexplore.head_importance import compare, scan_heads
from bertexplore.tokens import tokenize
from bertexplore.trace import model_inputs, run_trace


def _inputs(loaded, text, pair=None):
    return tokenize(loaded.tokenizer, text, pair, max_length=loaded.max_length)


def test_no_mask_is_plain_eager(tiny_mlm):
    inputs = _inputs(tiny_mlm, "the cat sat on the mat")
    batch = model_inputs(tiny_mlm, inputs.input_ids, inputs.segment_ids)
    with torch.no_grad():
        plain = tiny_mlm.model(**batch).logits
        with ablated(head_mask(2, 4)):
            ones = tiny_mlm.model(**batch).logits
    torch.testing.assert_close(plain, ones)


def test_switching_a_head_off_equals_zeroing_its_value_projection(tiny_mlm):
    """Independent check: a head whose value vectors are zero contributes nothing, which is what ablation means."""
    inputs = _inputs(tiny_mlm, "the cat sat on the mat")
    batch = model_inputs(tiny_mlm, inputs.input_ids, inputs.segment_ids)
    layer, head, d = 1, 2, 32 // 4
    edited = copy.deepcopy(tiny_mlm.model)
    value = edited.bert.encoder.layer[layer].attention.self.value
    with torch.no_grad():
        value.weight[head * d:(head + 1) * d] = 0
        value.bias[head * d:(head + 1) * d] = 0
        expected = edited(**batch).logits
        with ablated(head_mask(2, 4, [(layer, head)])):
            got = tiny_mlm.model(**batch).logits
        untouched = tiny_mlm.model(**batch).logits
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(untouched, got)  # and the shared model itself is unchanged afterwards


def test_ablated_head_shows_zero_attention_in_trace(tiny_mlm):
    with ablated(head_mask(2, 4, [(0, 1)])):
        trace = run_trace(tiny_mlm, "the cat sat")
    assert np.allclose(trace.attentions[0, 1], 0)
    np.testing.assert_allclose(trace.attentions[0, 0].sum(-1), 1, atol=1e-5)


def test_one_head_off_masks():
    masks = one_head_off_masks(2, 3)
    assert masks.shape == (6, 2, 3)
    assert (masks.sum(dim=(1, 2)) == 5).all()
    assert masks[4, 1, 1] == 0
    with pytest.raises(ValueError, match="does not exist"):
        head_mask(2, 3, [(2, 0)])


def test_scan_matches_one_at_a_time_comparison_mlm(tiny_mlm):
    inputs = _inputs(tiny_mlm, "the cat [MASK] on the mat")
    objective, grid = scan_heads(tiny_mlm, inputs, batch_size=3)
    assert objective.kind == "mlm" and objective.position == 3 and grid.shape == (2, 4)
    for layer, head in [(0, 0), (1, 3)]:
        single = compare(tiny_mlm, inputs, [(layer, head)], objective)
        assert grid[layer, head] == pytest.approx(single.effect, abs=1e-4)
        assert single.top_before[0][0] == objective.target


def test_scan_embedding_objective_without_mlm_head(tiny_dir):
    from bertexplore.loading import load_model
    base = load_model(str(tiny_dir / "tiny-base"), "mlm")
    inputs = _inputs(base, "john lives in london")
    objective, grid = scan_heads(base, inputs)
    assert objective.kind == "embedding"
    assert (grid >= -1e-6).all() and grid.max() > 0
    everything = compare(base, inputs, [(l, h) for l in range(2) for h in range(4)])
    assert 0 < everything.effect <= 2  # 1 - cosine lies in [0, 2]


def test_ablation_in_one_thread_never_leaks_into_another(tiny_mlm):
    """Two browser sessions share one model: one session's switched-off heads must not touch the other's forward."""
    import threading

    reference = run_trace(tiny_mlm, "the cat sat on the mat").attentions
    results, start = {}, threading.Barrier(2)

    def ablating():
        start.wait()
        with ablated(head_mask(2, 4, [(0, h) for h in range(4)])):
            for _ in range(5):
                results.setdefault("ablated", []).append(run_trace(tiny_mlm, "the cat sat on the mat").attentions)

    def plain():
        start.wait()
        for _ in range(5):
            results.setdefault("plain", []).append(run_trace(tiny_mlm, "the cat sat on the mat").attentions)

    threads = [threading.Thread(target=ablating), threading.Thread(target=plain)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for attn in results["plain"]:
        np.testing.assert_array_equal(attn, reference)
    for attn in results["ablated"]:
        assert np.allclose(attn[0], 0)
