"""Parity: the app's attention function gives what transformers' own `eager` and `sdpa` give, for every family.

Logits and every hidden state, on one sentence pair and on a padded batch (the padding mask must reach the app's
attention: without it, padded rows would attend to [PAD]).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import AutoModelForMaskedLM

from bertexplore.loading import load_model
from bertexplore.trace import run_trace, trace_batch
from families import FAMILIES, make_family_model

ATOL = 1e-5


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def family(request, tmp_path_factory):
    folder = make_family_model(tmp_path_factory.mktemp(request.param) / "model", request.param, "mlm", seed=3)
    loaded = load_model(str(folder), head="mlm", device="cpu")
    references = {impl: AutoModelForMaskedLM.from_pretrained(folder, attn_implementation=impl).eval()
                  for impl in ("eager", "sdpa")}
    return loaded, references


def _batch(loaded, texts):
    rows = [loaded.tokenize(a, b) for a, b in texts]
    width = max(len(r) for r in rows)
    ids = torch.zeros((len(rows), width), dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    segs = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = torch.as_tensor(r.input_ids)
        segs[i, :len(r)] = torch.as_tensor(r.segment_ids)
        mask[i, :len(r)] = 1
    batch = {"input_ids": ids, "attention_mask": mask}
    if loaded.uses_segments:
        batch["token_type_ids"] = segs
    return rows, batch


@pytest.mark.parametrize("impl", ["eager", "sdpa"])
@pytest.mark.parametrize("texts", [[("the cat sat on the mat", "a dog")],
                                   [("the cat sat on the mat .", "the dog sat in paris"), ("who is john ?", None)]],
                         ids=["one", "padded-batch"])
def test_logits_and_hidden_states_match_transformers(family, impl, texts):
    loaded, references = family
    rows, batch = _batch(loaded, texts)
    ours = loaded.forward(batch, output_hidden_states=True)
    with torch.no_grad():
        theirs = references[impl](**batch, output_hidden_states=True)
    keep = batch["attention_mask"].bool()
    assert len(ours.hidden_states) == len(theirs.hidden_states) == loaded.num_layers + 1
    for a, b in zip(ours.hidden_states, theirs.hidden_states):
        np.testing.assert_allclose(a[keep].numpy(), b[keep].numpy(), atol=ATOL)
    np.testing.assert_allclose(ours.logits[keep].numpy(), theirs.logits[keep].numpy(), atol=ATOL)


def test_trace_cache_matches_eager_outputs(family):
    loaded, references = family
    trace = run_trace(loaded, "the cat sat on the mat", "a dog", names=["blocks.*.attn.pattern", "blocks.*.normalized_resid_post",
                                                                      "embed.out"])
    batch = loaded.model_inputs(trace.inputs.input_ids, trace.inputs.segment_ids)
    with torch.no_grad():
        out = references["eager"](**batch, output_hidden_states=True, output_attentions=True)
    np.testing.assert_allclose(trace["embed.out"], out.hidden_states[0][0].numpy(), atol=ATOL)
    for layer in range(loaded.num_layers):
        np.testing.assert_allclose(trace[f"blocks.{layer}.attn.pattern"], out.attentions[layer][0].numpy(), atol=ATOL)
        np.testing.assert_allclose(trace[f"blocks.{layer}.normalized_resid_post"], out.hidden_states[layer + 1][0].numpy(), atol=ATOL)


def test_a_padded_batch_of_traces_equals_each_alone(family):
    loaded, _ = family
    texts = ["the cat sat on the mat in paris .", "who is john ?"]
    names = ["blocks.*.attn.pattern", "blocks.1.normalized_resid_post", "blocks.0.attn.head_out"]
    together = trace_batch(loaded, [loaded.tokenize(t) for t in texts], names)
    for text, trace in zip(texts, together):
        alone = run_trace(loaded, text, names=names)
        assert trace.names == alone.names
        for name in alone.names:
            np.testing.assert_allclose(trace[name], alone[name], atol=ATOL, err_msg=name)
