"""Masked-LM engine against the packaged MiniLM: its real tokenizer and vocabulary, and its missing MLM head."""
from __future__ import annotations

import numpy as np
import pytest
from transformers import BertForMaskedLM

from bertexplore.errors import UnsupportedModel
from bertexplore.loading import LoadedModel
from bertexplore.mlm import allowed_ids, fill_masks, top_k, vocabulary
from bertexplore.pll import score_sentence
from bertexplore.tokens import tokenize
from bertexplore.trace import forward_count, run_trace

FETCH = "python -m bertexplore download bert-base-uncased --to models"


@pytest.fixture(scope="module")
def random_head(minilm) -> LoadedModel:
    """MiniLM's real tokenizer and vocabulary (30,522 ids) on a small random masked-LM: mechanics at full vocab size."""
    config = minilm.config.__class__.from_dict({**minilm.config.to_dict(), "num_hidden_layers": 1})
    model = BertForMaskedLM._from_config(config, attn_implementation="eager").eval().requires_grad_(False)
    return LoadedModel(name="minilm-vocab-random-mlm", source="test", head="mlm", model=model,
                       tokenizer=minilm.tokenizer, config=config, device="cpu", dtype="float32", has_head=True)


def test_minilm_has_no_mlm_head_and_every_capability_says_so(minilm):
    assert minilm.has_head is False
    trace = run_trace(minilm, "Paris is the capital of [MASK].")
    assert trace.mask_log_probs is None  # nothing to rank: the head would be random weights
    inputs = tokenize(minilm.tokenizer, "Paris is the capital of [MASK].")
    before = forward_count()
    for call in (lambda: top_k(minilm, trace), lambda: fill_masks(minilm, inputs),
                 lambda: score_sentence(minilm, "The keys to the cabinet are on the table.")):
        with pytest.raises(UnsupportedModel) as err:
            call()
        assert "no masked-LM head" in str(err.value) and FETCH in str(err.value)
    assert forward_count() == before  # refused before running anything


def test_whole_word_masking_with_the_real_wordpiece_vocabulary(minilm):
    inputs = tokenize(minilm.tokenizer, "Strawberries and embeddings.")
    assert inputs.tokens[1:3] == ("straw", "##berries")
    emb = [i for i, w in enumerate(inputs.word_ids) if w == 2]
    assert [inputs.tokens[i] for i in emb] == ["em", "##bed", "##ding", "##s"]
    assert inputs.whole_word([emb[2]]) == emb
    assert inputs.whole_word([2, emb[-1]]) == [1, 2] + emb


def test_real_vocabulary_filters(minilm):
    vocab = vocabulary(minilm, 30522)
    assert vocab[minilm.tokenizer.mask_token_id] == "[MASK]" and "[unused0]" in vocab
    allowed = allowed_ids(minilm, vocab)
    hidden = {vocab[i] for i in np.flatnonzero(~allowed)}
    assert {"[CLS]", "[SEP]", "[MASK]", "[PAD]", "[UNK]", "[unused0]", "[unused993]"} <= hidden
    assert not any(t.startswith("##") for t in hidden)
    words = allowed_ids(minilm, vocab, hide_subwords=True)
    assert (~words).sum() > (~allowed).sum() + 5000  # bert-base-uncased has ~5.8k "##" pieces
    assert all(not vocab[i].startswith("##") for i in np.flatnonzero(words))


def test_mechanics_at_full_vocabulary_size(random_head):
    trace = run_trace(random_head, "The keys to the [MASK] are on the [MASK].")
    assert trace.mask_log_probs.shape == (2, 30522)
    for r in top_k(random_head, trace, k=5, hide_subwords=True):
        probs = [p.probability for p in r.predictions]
        assert probs == sorted(probs, reverse=True) and all(0 < p <= 1 for p in probs)
        assert not any(p.token.startswith(("##", "[unused")) for p in r.predictions)
    fill = fill_masks(random_head, trace.inputs, order="left-to-right")
    assert [s.position for s in fill.steps] == list(trace.mask_positions)
    assert "[MASK]" not in fill.text.upper()
    batched = score_sentence(random_head, "The keys to the cabinet are on the table.")
    chunked = score_sentence(random_head, "The keys to the cabinet are on the table.", batch_size=4)
    assert batched.forwards == 1 and chunked.forwards == 3
    assert batched.pll == pytest.approx(chunked.pll, abs=1e-3)
