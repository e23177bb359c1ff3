"""Inside BERT step 3: one head by hand against the tiny model's own attention modules."""
from __future__ import annotations

import numpy as np
import torch

from bertexplore.inside.attention_step import head_step, mix_step, query_patterns
from bertexplore.loading import load_model
from bertexplore.tokens import tokenize


def _layer_internals(loaded, text: str, layer: int):
    inputs = tokenize(loaded.tokenizer, text, max_length=64)
    ids = torch.as_tensor(inputs.input_ids)[None]
    captured = {}
    att = loaded.model.encoder.layer[layer].attention
    def keep(module, args, output) -> None:  # returns None: the output is left as it is
        captured["out"] = output[0].detach().numpy()

    hook = att.output.dense.register_forward_hook(keep)
    try:
        with torch.no_grad():
            out = loaded.model(input_ids=ids, output_attentions=True, output_hidden_states=True)
    finally:
        hook.remove()  # a private model of this test: no other session shares it
    x = out.hidden_states[layer][0]
    heads = loaded.num_heads
    d = x.shape[-1] // heads
    split = lambda y: y.reshape(-1, heads, d).permute(1, 0, 2).numpy()  # noqa: E731
    with torch.no_grad():
        q, k, v = split(att.self.query(x)), split(att.self.key(x)), split(att.self.value(x))
    return inputs, q, k, v, out.attentions[layer][0].numpy(), captured["out"], att


def test_one_head_one_token_matches_the_model(tiny_dir):
    loaded = load_model(str(tiny_dir / "tiny-base"), head="base", device="cpu")
    inputs, q, k, v, pattern, attn_out, att = _layer_internals(loaded, "the keys to the cabinet are on the table", 1)
    query, head = 3, 2
    step = head_step(q, k, v, 1, head, query, model_pattern=pattern)
    d = q.shape[-1]
    by_hand = np.array([q[head, query] @ k[head, j] for j in range(len(inputs))]) / np.sqrt(d)
    assert np.allclose(step.scaled, by_hand, atol=1e-5)
    assert np.isclose(step.pattern.sum(), 1.0, atol=1e-6)
    assert np.abs(step.pattern - pattern[head, query]).max() < 1e-5
    assert np.allclose(step.z, (step.pattern[:, None] * v[head]).sum(0), atol=1e-5)
    assert all(p.ok for p in step.proofs)
    # without 1/sqrt(d) the softmax would not be the model's
    assert np.abs(np.exp(step.dots) / np.exp(step.dots).sum() - pattern[head, query]).max() > 1e-4

    z = np.einsum("htT,hTd->htd", pattern, v)  # every head's z
    w = att.output.dense
    mix = mix_step(z, query, w.weight.detach().numpy().T, w.bias.detach().numpy(), model_out=attn_out)
    assert all(p.ok for p in mix.proofs), mix.proofs
    assert mix.concat.shape == (q.shape[0] * d,)
    assert np.allclose(mix.per_head.sum(0) + mix.bias, mix.out, atol=1e-5)
    assert query_patterns(pattern, query).shape == (loaded.num_heads, len(inputs))


def test_the_mask_row_is_added_before_softmax():
    rng = np.random.default_rng(0)
    q, k, v = (rng.normal(size=(2, 5, 4)) for _ in range(3))
    mask = np.array([0, 0, 0, np.finfo(np.float32).min, np.finfo(np.float32).min])
    step = head_step(q, k, v, 0, 1, 0, mask=mask)
    assert step.pattern[3:].max() == 0.0 and np.isclose(step.pattern.sum(), 1.0)
    e = np.exp(step.scaled[:3] - step.scaled[:3].max())
    assert np.allclose(step.pattern[:3], e / e.sum(), atol=1e-6)
