"""TransformerLens names and the residual-stream helpers, checked against transformers' own forward (an independent
copy of each tiny checkpoint, loaded by transformers with eager attention, no app hooks)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from bertexplore import residual
from bertexplore.errors import InputError
from bertexplore.loading import load_model
from bertexplore.trace import run_trace
from families import AUTO, FAMILIES, make_family_model

TEXT, PAIR = "the cat sat on the mat", "a dog"
NAMES = list(residual.RESIDUAL_NAMES) + ["blocks.*.resid_pre", "cls.logits", "token.logits", "qa.start_logits"]


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def family(request, tmp_path_factory):
    folder = make_family_model(tmp_path_factory.mktemp(request.param) / "model", request.param, "mlm")
    loaded = load_model(str(folder), head="mlm", device="cpu")
    own = AUTO["mlm"].from_pretrained(folder, attn_implementation="eager").eval()
    return loaded, own


def hf_hidden(loaded, own, text=TEXT, pair=PAIR):
    inputs = loaded.tokenize(text, pair)
    batch = {k: v for k, v in loaded.model_inputs(inputs.input_ids, inputs.segment_ids).items()}
    with torch.no_grad():
        out = own(**batch, output_hidden_states=True)
    return [h[0].double().numpy() for h in out.hidden_states], out


def test_names_mean_what_transformer_lens_means(family):
    """resid_pre = the block's input; resid_mid / resid_post = the sums BEFORE LayerNorm; normalized_* = after."""
    loaded, own = family
    trace = run_trace(loaded, TEXT, PAIR, names=NAMES)
    hidden, _ = hf_hidden(loaded, own)
    for l in range(loaded.num_layers):
        p = f"blocks.{l}."
        np.testing.assert_allclose(trace[p + "resid_pre"], hidden[l], atol=1e-5)
        np.testing.assert_allclose(trace[p + "normalized_resid_post"], hidden[l + 1], atol=1e-5)
        np.testing.assert_allclose(trace[p + "resid_mid"], trace[p + "resid_pre"] + trace[p + "attn.out"], atol=1e-5)
        np.testing.assert_allclose(trace[p + "resid_post"], trace[p + "normalized_resid_mid"] + trace[p + "mlp.out"],
                                   atol=1e-5)
    assert not np.allclose(trace["blocks.0.resid_mid"], trace["blocks.0.normalized_resid_mid"], atol=1e-3)


def test_accumulated_resid_is_transformers_hidden_states(family):
    loaded, own = family
    trace = run_trace(loaded, TEXT, PAIR, names=NAMES)
    hidden, _ = hf_hidden(loaded, own)
    acc = residual.accumulated_resid(trace)
    assert acc.shape[0] == loaded.num_layers + 1
    np.testing.assert_allclose(acc, np.stack(hidden), atol=1e-5)
    heads = residual.stack_head_results(trace)
    assert heads.shape[:2] == (loaded.num_layers, loaded.num_heads)
    for l in range(loaded.num_layers):  # each layer's heads + the output bias = that layer's attention output
        from bertexplore import anatomy
        np.testing.assert_allclose(heads[l].sum(0) + anatomy.layer_weights(loaded, l).o_b, trace[f"blocks.{l}.attn.out"],
                                   atol=1e-5)


@pytest.mark.parametrize("per_head", [False, True])
def test_decomposed_parts_sum_to_every_hidden_state(family, per_head):
    loaded, own = family
    trace = run_trace(loaded, TEXT, PAIR, names=NAMES)
    hidden, _ = hf_hidden(loaded, own)
    for layer in range(loaded.num_layers):
        parts = residual.decompose_resid(trace, loaded, layer, per_head=per_head)
        np.testing.assert_allclose(parts.total(), hidden[layer + 1], atol=5e-5)
        n_attn = loaded.num_heads + 1 if per_head else 1
        assert len(parts.labels) == 1 + (layer + 1) * (n_attn + 1) + 1 == parts.parts.shape[0]
    assert parts.labels[0] == "embed" and parts.labels[-1] == residual.LN_BIAS


def test_decomposition_can_fail():
    """The scale comes from the recorded sum: a wrong sum gives a wrong total (the check is not circular)."""
    parts = [np.ones((2, 4)), np.arange(8.0).reshape(2, 4)]
    scaled, beta = residual._ln_parts(parts, None, np.ones(4), np.zeros(4), 1e-12)
    wrong, _ = residual._ln_parts(parts, 2 * sum(parts), np.ones(4), np.zeros(4), 1e-12)
    np.testing.assert_allclose(sum(scaled).std(-1), 1.0, atol=1e-6)
    assert not np.allclose(sum(wrong), sum(scaled))


def test_linear_head_attribution_is_exact(tmp_path):
    folder = make_family_model(tmp_path / "ner", "bert", "token-classification", num_labels=3)
    loaded = load_model(str(folder), head="token-classification", device="cpu")
    own = AUTO["token-classification"].from_pretrained(folder, attn_implementation="eager").eval()
    trace = run_trace(loaded, TEXT, names=NAMES)
    parts = residual.decompose_resid(trace, loaded, per_head=True)
    _, out = hf_hidden(loaded, own, TEXT, None)
    for token, label in ((1, 0), (3, 2)):
        dla = residual.logit_attribution(trace, loaded, parts, token, label)
        assert dla.exact
        assert dla.linear_estimate == pytest.approx(float(out.logits[0, token, label]), abs=1e-4)


def test_mlm_attribution_uses_the_heads_gradient(tiny_mlm, tiny_dir):
    from transformers import BertForMaskedLM

    own = BertForMaskedLM.from_pretrained(tiny_dir / "tiny-mlm", attn_implementation="eager").eval()
    trace = run_trace(tiny_mlm, "the cat sat on the [MASK] .", names=NAMES)
    parts = residual.decompose_resid(trace, tiny_mlm)
    token, target = 6, 12
    dla = residual.logit_attribution(trace, tiny_mlm, parts, token, target)
    h = torch.tensor(trace[f"blocks.{trace.num_layers - 1}.normalized_resid_post"][token], requires_grad=True)
    logit = own.cls(h[None])[0, target]
    logit.backward()
    assert not dla.exact
    assert dla.logit == pytest.approx(float(logit.detach()), abs=1e-4)
    np.testing.assert_allclose(dla.values, parts.parts[:, token] @ h.grad.double().numpy(), rtol=1e-4, atol=1e-5)
    assert dla.values.sum() == pytest.approx(float(h.grad.double() @ h.detach().double()), abs=1e-4)


def test_classifier_attribution_at_cls(tiny_dir):
    from transformers import BertForSequenceClassification

    loaded = load_model(str(tiny_dir / "tiny-cls"), head="sequence-classification", device="cpu")
    own = BertForSequenceClassification.from_pretrained(tiny_dir / "tiny-cls", attn_implementation="eager").eval()
    trace = run_trace(loaded, TEXT, names=NAMES)
    parts = residual.decompose_resid(trace, loaded)
    dla = residual.logit_attribution(trace, loaded, parts, 0, 1)
    h = torch.tensor(trace[f"blocks.{trace.num_layers - 1}.normalized_resid_post"][0], requires_grad=True)
    logit = own.classifier(own.bert.pooler(h[None, None]))[0, 1]
    logit.backward()
    assert dla.logit == pytest.approx(float(trace["cls.logits"][1]), abs=1e-4) == pytest.approx(float(logit.detach()), abs=1e-4)
    np.testing.assert_allclose(dla.values, parts.parts[:, 0] @ h.grad.double().numpy(), rtol=1e-4, atol=1e-5)
    with pytest.raises(InputError):
        residual.logit_attribution(trace, loaded, residual.decompose_resid(trace, loaded, 0), 0, 1)
