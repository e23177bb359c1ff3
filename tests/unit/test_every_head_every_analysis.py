"""Every analysis with every head a BERT checkpoint can be loaded with: each gives a result checked against the
model's own output, or a user-facing refusal, never a TypeError (the pre-training head's `cls` is a combined head)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import BertForMaskedLM

from bertexplore import heads
from bertexplore.analysis.arrays import analysis_names, hidden
from bertexplore.analysis.census import census_of_set, census_of_trace
from bertexplore.analysis.gradient_importance import gradient_importance
from bertexplore.analysis.graph import contributions
from bertexplore.analysis.lens import logit_lens
from bertexplore.analysis.measures import MEASURES, measure
from bertexplore.analysis.projector import collect
from bertexplore.errors import BertExploreError, UnsupportedModel
from bertexplore.head_importance import scan_heads
from bertexplore.inside.heads_step import mlm_head_step
from bertexplore.loading import load_model
from bertexplore.tasks.attribution import attribute
from bertexplore.trace import run_trace
from tiny import make_tiny_model

TEXT = "the cat sat on the mat in paris"
LOADS = {
    "base": "tiny-base",
    "mlm": "tiny-mlm",
    "pretraining": "tiny-pretraining",
    "sequence-classification": "tiny-cls",
    "token-classification": "tiny-ner",
    "question-answering": "tiny-qa",
}


@pytest.fixture(scope="module", params=list(LOADS))
def loaded(request, tiny_dir):
    return load_model(str(tiny_dir / LOADS[request.param]), head=request.param, device="cpu")


def _vocab_log_probs(model_out, positions):
    logits = getattr(model_out, "prediction_logits", None)
    logits = model_out.logits if logits is None else logits
    return torch.log_softmax(logits[0, list(positions)], -1).numpy()


def test_logit_lens(loaded):
    trace = run_trace(loaded, TEXT, masked=[2, 5], names=analysis_names(loaded))
    ids = torch.as_tensor(trace.inputs.input_ids)[None]
    if heads.has(loaded, "mlm"):
        lens = logit_lens(loaded, trace)
        with torch.no_grad():
            out = loaded.model(input_ids=ids)
        np.testing.assert_allclose(lens.log_probs[:, -1], _vocab_log_probs(out, (2, 5)), atol=1e-4)
        # layer 1 by hand through the MLM part of the head (cls.predictions for a pre-training model)
        h = torch.from_numpy(np.array(hidden(trace, 1)[[2, 5]]))
        with torch.no_grad():
            expected = torch.log_softmax(loaded.model.cls.predictions(h), -1).numpy()
        np.testing.assert_allclose(lens.log_probs[:, 1], expected, atol=1e-4)
    elif heads.has(loaded, "cls"):
        lens = logit_lens(loaded, trace)
        with torch.no_grad():
            logits = loaded.model(input_ids=ids).logits[0]
        np.testing.assert_allclose(lens.log_probs[0, -1], torch.log_softmax(logits, -1).numpy(), atol=1e-5)
    else:
        with pytest.raises(UnsupportedModel):
            logit_lens(loaded, trace)


def test_gradient_importance(loaded):
    trace = run_trace(loaded, TEXT, masked=[3])
    if not heads.has(loaded, "mlm"):
        with pytest.raises(UnsupportedModel):
            gradient_importance(loaded, trace.inputs)
        return
    result = gradient_importance(loaded, trace.inputs)
    with torch.no_grad():
        out = loaded.model(input_ids=torch.as_tensor(trace.inputs.input_ids)[None])
    lp = _vocab_log_probs(out, (3,))[0]
    assert result.target_id == int(lp.argmax()) and result.value == pytest.approx(float(lp.max()), abs=1e-4)
    assert result.gradient.shape == (loaded.num_layers, loaded.num_heads) and np.isfinite(result.gradient).all()


def test_attention_measures_graph_census_projector(loaded):
    trace = run_trace(loaded, TEXT, names=analysis_names(loaded))
    n = len(trace.inputs)
    with torch.no_grad():
        own = loaded.encoder(input_ids=torch.as_tensor(trace.inputs.input_ids)[None], output_attentions=True,
                             output_hidden_states=True)
    for name in MEASURES:
        shown = measure(trace, loaded, name)
        assert shown.attentions.shape == (loaded.num_layers, loaded.num_heads, n, n), name
    np.testing.assert_allclose(measure(trace, loaded, "weights").attentions,
                               torch.stack(own.attentions)[:, 0].numpy(), atol=1e-5)
    contrib = contributions(trace, loaded)
    assert contrib.per_layer.shape == (loaded.num_layers, n, n)
    assert census_of_trace(trace).sentences == 1
    assert census_of_set(loaded, [("the cat sat", "on the mat")]).sentences == 1
    data = collect(loaded, ["the cat sat on the mat in paris", "a dog"])
    np.testing.assert_allclose(data.cls[-1][0], own.hidden_states[-1][0, 0].numpy(), atol=1e-5)


def test_head_scan(loaded):
    trace = run_trace(loaded, TEXT, masked=[3])
    _objective, scan = scan_heads(loaded, trace.inputs)
    assert scan.shape == (loaded.num_layers, loaded.num_heads) and np.isfinite(scan).all()


def test_attribution_only_with_a_sequence_classifier(loaded):
    inputs = loaded.tokenize("the movie was great")
    if heads.has(loaded, "cls"):
        res = attribute(loaded, inputs, target=1, method="gradient-x-input", output="logit")
        assert res.scores.shape == (len(inputs),)
    else:
        with pytest.raises(BertExploreError):
            attribute(loaded, inputs, target=1, method="gradient-x-input")


def test_untied_decoder_recomputed_from_its_own_weight(tmp_path):
    """A masked-LM whose decoder is NOT the word-embedding table: the Inside BERT recomputation must use the
    decoder's weight (else its proof fails and its top-k is wrong)."""
    folder = make_tiny_model(tmp_path / "untied", BertForMaskedLM, tie_word_embeddings=False)
    model = BertForMaskedLM.from_pretrained(folder)
    with torch.no_grad():
        model.cls.predictions.decoder.weight.normal_(0, 1.0, generator=torch.Generator().manual_seed(3))
    model.save_pretrained(folder)
    loaded = load_model(str(folder), head="mlm", device="cpu")
    words = loaded.model.get_input_embeddings().weight
    decoder = heads.find(loaded, "mlm").decoder
    assert decoder is not None and not torch.equal(decoder.weight, words)
    ids = torch.as_tensor(loaded.tokenize(TEXT).input_ids)[None]
    with torch.no_grad():
        out = loaded.model(input_ids=ids, output_hidden_states=True)
    ref = _vocab_log_probs(out, (2, 5))
    step = mlm_head_step(loaded, out.hidden_states[-1][0].numpy(), (2, 5), ref, k=3)
    assert not step.tied and all(p.ok for p in step.proofs), step.proofs
    assert step.predictions[0].tokens == tuple(loaded.tokens_of(np.argsort(-ref[0])[:3]))
