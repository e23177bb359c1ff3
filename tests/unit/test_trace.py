from __future__ import annotations

import numpy as np
import pytest
import torch

from bertexplore.errors import InputError
from bertexplore.trace import apply_masks, forward_count, run_trace


def test_trace_shapes_and_rows_sum_to_one(tiny_mlm):
    trace = run_trace(tiny_mlm, "The cat sat on the mat.", "Dogs play!")
    T = len(trace.tokens)
    assert trace.attentions.shape == (2, 4, T, T)
    assert "blocks.0.normalized_resid_post" not in trace  # nobody asked for hidden states: none are kept
    assert trace.names == ["blocks.0.attn.pattern", "blocks.1.attn.pattern"]  # tiny-mlm: no pooler, no mask
    np.testing.assert_allclose(trace.attentions.sum(-1), 1.0, atol=1e-5)
    assert trace.attentions.dtype == np.float32 and not trace.attentions.flags.writeable
    assert trace.mask_log_probs is None and trace.mask_positions == ()


def test_trace_matches_a_direct_forward(tiny_mlm):
    trace = run_trace(tiny_mlm, "the cat sat", "the dog", names=["blocks.*.attn.pattern", "blocks.1.normalized_resid_post"])
    ids = torch.from_numpy(trace.inputs.input_ids)[None]
    segs = torch.tensor([trace.inputs.segment_ids])
    with torch.no_grad():
        out = tiny_mlm.model(input_ids=ids, token_type_ids=segs, output_attentions=True, output_hidden_states=True)
    np.testing.assert_allclose(trace.attentions[1], out.attentions[1][0].numpy(), atol=1e-6)
    np.testing.assert_allclose(trace["blocks.1.normalized_resid_post"], out.hidden_states[-1][0].numpy(), atol=1e-5)
    assert not trace["blocks.1.normalized_resid_post"].flags.writeable


def test_masks_give_log_probs_only_at_masks(tiny_mlm):
    trace = run_trace(tiny_mlm, "the cat sat on the mat", masked=[2, 5, 0])  # 0 is [CLS]: never masked
    assert trace.mask_positions == (2, 5)
    assert trace.tokens[2] == "[MASK]" and trace.tokens[0] == "[CLS]"
    assert trace.mask_log_probs.shape == (2, tiny_mlm.config.vocab_size)
    np.testing.assert_allclose(np.exp(trace.mask_log_probs).sum(-1), 1.0, atol=1e-5)


def test_one_forward_per_trace(tiny_mlm):
    before = forward_count()
    run_trace(tiny_mlm, "the cat sat", masked=[1])
    assert forward_count() == before + 1


def test_mask_positions_out_of_range(tiny_mlm):
    trace = run_trace(tiny_mlm, "the cat")
    with pytest.raises(InputError, match="outside the input"):
        apply_masks(tiny_mlm, trace.inputs, [99])

