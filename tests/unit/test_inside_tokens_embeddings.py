"""Inside BERT steps 1-2 against the tokenizer's vocabulary and the tiny model's own embedding module."""
from __future__ import annotations

import numpy as np
import torch

from bertexplore.inside.embeddings_step import embedding_step
from bertexplore.inside.tokens_step import token_step
from bertexplore.loading import load_model
from bertexplore.tokens import tokenize
from tiny import SPECIAL, WORDS


def test_wordpiece_split_specials_unknown_and_pair_segments(tiny_dir):
    loaded = load_model(str(tiny_dir / "tiny-base"), head="base", device="cpu")
    inputs = tokenize(loaded.tokenizer, "the unbelievable cat zebra", "he plays", max_length=64)
    step = token_step(loaded.tokenizer, inputs)
    assert step.vocab_size == len(SPECIAL) + len(dict.fromkeys(WORDS))
    assert step.continuation_prefix == "##"
    assert step.tokens[0] == "[CLS]" and step.tokens.count("[SEP]") == 2
    split = {w.text: w.pieces for w in step.split_words}
    assert split["unbelievable"] == ("un", "##believ", "##able")
    assert split["plays"] == ("play", "##s")
    assert [step.tokens[p] for p in step.unk_positions] == ["[UNK]"]
    assert [w.text for w in step.words if w.unknown] == ["zebra"]
    sep = step.tokens.index("[SEP]")
    assert set(step.segments[:sep + 1]) == {0} and set(step.segments[sep + 1:]) == {1}
    vocab = (tiny_dir / "tiny-base" / "vocab.txt").read_text().split("\n")
    assert all(vocab[i] == t for i, t in zip(step.ids, step.tokens))


def test_embeddings_are_summed_then_layer_normed_as_the_model_does(tiny_dir):
    loaded = load_model(str(tiny_dir / "tiny-base"), head="base", device="cpu")
    inputs = tokenize(loaded.tokenizer, "the cat sat", "on the mat", max_length=64)
    emb = loaded.model.embeddings
    ids = torch.as_tensor(inputs.input_ids)
    segs = torch.as_tensor(inputs.segment_ids)
    with torch.no_grad():
        word = emb.word_embeddings(ids).numpy()
        pos = emb.position_embeddings(torch.arange(len(ids))).numpy()
        seg = emb.token_type_embeddings(segs).numpy()
        model_out = loaded.model(input_ids=ids[None], token_type_ids=segs[None],
                                 output_hidden_states=True).hidden_states[0][0].numpy()
    ln = emb.LayerNorm
    step = embedding_step(word, pos, seg, ln.weight.detach().numpy(), ln.bias.detach().numpy(), ln.eps,
                          model_sum=word + pos + seg, model_out=model_out)
    assert all(p.ok for p in step.proofs), step.proofs
    assert step.summed.shape == word.shape  # summed, not concatenated
    # LayerNorm by hand: (x - mean) / sqrt(var + eps) * w + b
    x = (word + pos + seg).astype(np.float64)
    assert np.allclose(step.mean, x.mean(-1), atol=1e-6) and np.allclose(step.var, x.var(-1), atol=1e-6)
    assert np.abs(step.normed - model_out).max() < 1e-5
    wrong = embedding_step(word, pos, None, ln.weight.detach().numpy(), ln.bias.detach().numpy(), ln.eps,
                           model_out=model_out)
    assert not wrong.proofs[0].ok  # leaving the segment vector out is detected
