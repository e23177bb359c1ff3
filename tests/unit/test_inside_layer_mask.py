"""Inside BERT steps 4-5: the padding experiment, the causal what-if, residual + LayerNorm and the FFN by hand."""
from __future__ import annotations

import numpy as np
import torch

from bertexplore.inside.layer_step import ffn_step, residual_flow, sublayer_step
from bertexplore.inside.masking import causal_what_if, padding_experiment
from bertexplore.loading import load_model
from bertexplore.tokens import tokenize


def _alone(loaded, inputs):
    with torch.no_grad():
        out = loaded.model(input_ids=torch.as_tensor(inputs.input_ids)[None],
                           token_type_ids=torch.as_tensor(inputs.segment_ids)[None], output_hidden_states=True)
    return [h[0].numpy() for h in out.hidden_states]


def test_padding_gets_zero_weight_and_changes_no_real_output(tiny_dir):
    loaded = load_model(str(tiny_dir / "tiny-base"), head="base", device="cpu")
    inputs = tokenize(loaded.tokenizer, "the cat sat on the mat", max_length=64)
    exp = padding_experiment(loaded, inputs, _alone(loaded, inputs), unmasked=True)
    assert exp.pads >= 4 and exp.tokens[exp.real:] == ("[PAD]",) * exp.pads
    assert exp.attention_mask == (1,) * exp.real + (0,) * exp.pads
    assert np.all(exp.additive_mask[:exp.real] == 0)
    assert np.all(exp.additive_mask[exp.real:] == np.finfo(np.float32).min)  # the value eager attention adds
    assert exp.pad_weight_max == 0.0
    assert np.allclose(exp.pattern.sum(-1), 1.0, atol=1e-5)
    assert exp.output_diff.max() < 1e-5
    assert exp.unmasked_diff.max() > 1e-4  # the same batch WITHOUT the mask leaks padding into the outputs


def test_causal_what_if_hides_later_tokens_only():
    rng = np.random.default_rng(1)
    scores = rng.normal(size=(5, 5))
    pattern = np.exp(scores) / np.exp(scores).sum(-1, keepdims=True)
    what = causal_what_if(scores, pattern)
    assert np.all(np.triu(what.causal, k=1) == 0) and np.allclose(what.causal.sum(-1), 1.0, atol=1e-6)
    row = np.exp(scores[2, :3]) / np.exp(scores[2, :3]).sum()
    assert np.allclose(what.causal[2, :3], row, atol=1e-6)
    assert np.isclose(what.future_share[1], pattern[1, 2:].sum(), atol=1e-6) and what.future_share[-1] == 0


def test_residual_layer_norm_and_ffn_match_the_model(tiny_dir):
    loaded = load_model(str(tiny_dir / "tiny-base"), head="base", device="cpu")
    inputs = tokenize(loaded.tokenizer, "john works at google in london", max_length=64)
    layer = loaded.model.encoder.layer[0]
    seen = {}

    def keep(name):
        def hook(module, args, output) -> None:
            seen[name] = (args[0].detach()[0].numpy(), output.detach()[0].numpy() if torch.is_tensor(output) else None)
        return hook

    hooks = [layer.attention.output.dense.register_forward_hook(keep("attn_out")),
             layer.attention.output.register_forward_hook(keep("resid_mid")),
             layer.intermediate.dense.register_forward_hook(keep("pre")),
             layer.intermediate.register_forward_hook(keep("post")),
             layer.output.dense.register_forward_hook(keep("ffn_out")),
             layer.output.register_forward_hook(keep("resid_post"))]
    try:
        hidden = _alone(loaded, inputs)
    finally:
        for h in hooks:
            h.remove()
    x, attn_out, mid = hidden[0], seen["attn_out"][1], seen["resid_mid"][1]
    pre, post, ffn_out, post_ln = seen["pre"][1], seen["post"][1], seen["ffn_out"][1], seen["resid_post"][1]
    t = 2
    ln1, ln2 = layer.attention.output.LayerNorm, layer.output.LayerNorm
    p = lambda m: m.detach().numpy()  # noqa: E731
    s1 = sublayer_step("attention", x[t], attn_out[t], p(ln1.weight), p(ln1.bias), ln1.eps, model_out=mid[t])
    assert s1.proofs[0].ok, s1.proofs
    assert np.isclose(s1.mean, (x[t] + attn_out[t]).mean(), atol=1e-6)
    ffn = ffn_step(mid, p(layer.intermediate.dense.weight).T, p(layer.intermediate.dense.bias),
                   p(layer.output.dense.weight).T, p(layer.output.dense.bias), loaded.config.hidden_act, t,
                   model_pre=pre, model_post=post, model_out=ffn_out, k=5)
    assert all(c.ok for c in ffn.proofs), ffn.proofs
    assert ffn.width == loaded.config.intermediate_size and ffn.ratio == 2.0  # the tiny config: 64 / 32
    assert [n for n, _pre, _post in ffn.top] == list(np.argsort(-post[t])[:5])
    s2 = sublayer_step("FFN", mid[t], ffn_out[t], p(ln2.weight), p(ln2.bias), ln2.eps, model_out=post_ln[t])
    assert s2.proofs[0].ok and np.abs(post_ln - hidden[1]).max() < 1e-6
    flow = residual_flow([x], [attn_out], [mid], [ffn_out], [post_ln])
    assert flow.norm_in.shape == (1, len(inputs))
    assert np.allclose(flow.norm_attn[0], np.linalg.norm(attn_out, axis=-1), atol=1e-5)
    same = residual_flow([x], [attn_out], [x], [ffn_out], [x])
    assert np.allclose(same.change_attn, 0, atol=1e-6)
