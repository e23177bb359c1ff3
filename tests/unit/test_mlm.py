"""Masked-LM engine on tiny random checkpoints: top-k, joint fill, pseudo-log-likelihood, minimal pairs."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from bertexplore.errors import InputError, UnsupportedModel
from bertexplore.loading import load_model
from bertexplore.mlm import allowed_ids, fill_masks, top_k, vocabulary
from bertexplore.pll import chunk_size, compare_pair, masked_copies, score_sentence, score_tokens
from bertexplore.tokens import tokenize
from bertexplore.trace import apply_masks, forward_count, run_trace

KEYS_ARE = "The keys to the cabinet are on the table."
KEYS_IS = "The keys to the cabinet is on the table."


def independent_log_probs(loaded, ids: np.ndarray) -> np.ndarray:
    """log-softmax over the vocabulary at every position, straight from the torch model (no engine code)."""
    with torch.no_grad():
        logits = loaded.model(input_ids=torch.as_tensor(ids[None, :], dtype=torch.long)).logits[0]
    return torch.log_softmax(logits.double(), dim=-1).numpy()


def tok(loaded, text):
    return tokenize(loaded.tokenizer, text, max_length=loaded.max_length)


@pytest.fixture(scope="module")
def no_head(tiny_dir):
    return load_model(str(tiny_dir / "tiny-base"), head="mlm", device="cpu")


# ------------------------------------------------------------------------------------------ top-k


def test_top_k_is_sorted_softmax_of_independent_logits(tiny_mlm):
    trace = run_trace(tiny_mlm, "The cat sat on the [MASK] in [MASK] .")
    results = top_k(tiny_mlm, trace, k=8, hide_special=False)
    assert [r.position for r in results] == list(trace.mask_positions) and len(results) == 2
    reference = independent_log_probs(tiny_mlm, trace.inputs.input_ids)
    vocab = vocabulary(tiny_mlm, reference.shape[1])
    for r in results:
        probs = [p.probability for p in r.predictions]
        assert len(probs) == 8
        assert all(0.0 < p <= 1.0 for p in probs)
        assert probs == sorted(probs, reverse=True)
        expected = np.exp(reference[r.position])
        chosen = [p.token_id for p in r.predictions]
        assert [p.token for p in r.predictions] == [vocab[i] for i in chosen]
        np.testing.assert_allclose(probs, expected[chosen], rtol=1e-4, atol=1e-6)
        # They are the k best: nothing left out beats the last one (float32 vs float64 near-ties aside).
        left_out = np.delete(expected, chosen)
        assert left_out.max() <= expected[chosen].min() + 1e-6


def test_top_k_over_whole_vocabulary_sums_to_one(tiny_mlm):
    trace = run_trace(tiny_mlm, "[MASK] is the capital of france .")
    size = trace.mask_log_probs.shape[1]
    [r] = top_k(tiny_mlm, trace, k=size, hide_special=False)
    assert len(r.predictions) == size
    assert sum(p.probability for p in r.predictions) == pytest.approx(1.0, abs=1e-4)


def test_filters_hide_special_tokens_and_subword_pieces(tiny_mlm):
    trace = run_trace(tiny_mlm, "the [MASK] sat .")
    size = trace.mask_log_probs.shape[1]
    [shown] = top_k(tiny_mlm, trace, k=size)
    tokens = {p.token for p in shown.predictions}
    assert not tokens & {"[CLS]", "[SEP]", "[MASK]", "[PAD]", "[UNK]"}
    assert any(t.startswith("##") for t in tokens)
    [words] = top_k(tiny_mlm, trace, k=size, hide_subwords=True)
    assert words.predictions and not any(p.token.startswith("##") for p in words.predictions)
    # Filtering never renormalises: the same token keeps the same probability.
    by_id = {p.token_id: p.probability for p in shown.predictions}
    assert all(by_id[p.token_id] == p.probability for p in words.predictions)
    allowed = allowed_ids(tiny_mlm, vocabulary(tiny_mlm, size), hide_special=True, hide_subwords=True)
    assert len(words.predictions) == int(allowed.sum())


def test_original_token_rank_and_probability(tiny_mlm):
    inputs = tok(tiny_mlm, "the cat sat on the mat .")
    trace = run_trace(tiny_mlm, inputs.text, masked=[2])
    [r] = top_k(tiny_mlm, trace, k=3, hide_special=False, original=inputs)
    assert r.original == "cat"
    row = independent_log_probs(tiny_mlm, trace.inputs.input_ids)[2]
    cat = tiny_mlm.tokenizer.convert_tokens_to_ids("cat")
    assert r.original_probability == pytest.approx(math.exp(row[cat]), rel=1e-4)
    assert r.original_rank == int((row > row[cat]).sum()) + 1


def test_top_k_needs_a_mask_and_a_head(tiny_mlm, no_head):
    with pytest.raises(InputError, match="no \\[MASK\\]"):
        top_k(tiny_mlm, run_trace(tiny_mlm, "the cat sat ."))
    with pytest.raises(InputError, match="between 1 and 1000"):
        top_k(tiny_mlm, run_trace(tiny_mlm, "the [MASK] sat ."), k=0)
    assert no_head.has_head is False
    with pytest.raises(UnsupportedModel, match="no masked-LM head") as err:
        top_k(no_head, run_trace(no_head, "the [MASK] sat ."))
    assert "python -m bertexplore download bert-base-uncased --to models" in str(err.value)


# ------------------------------------------------------------------------------------------ masking


def test_whole_word_masking_masks_every_piece(tiny_mlm):
    inputs = tok(tiny_mlm, "The movie was unbelievable.")
    pieces = [i for i, t in enumerate(inputs.tokens) if t in ("un", "##believ", "##able")]
    assert [inputs.tokens[i] for i in pieces] == ["un", "##believ", "##able"]
    middle = pieces[1]
    assert inputs.whole_word([middle]) == pieces
    trace = run_trace(tiny_mlm, inputs.text, masked=inputs.whole_word([middle]))
    assert trace.mask_positions == tuple(pieces)
    assert [trace.tokens[i] for i in pieces] == ["[MASK]"] * 3
    assert trace.mask_log_probs.shape[0] == 3
    assert len(top_k(tiny_mlm, trace, k=2)) == 3


# ------------------------------------------------------------------------------------------ joint fill


@pytest.mark.parametrize("order", ["confident", "left-to-right"])
def test_fill_masks_fills_every_mask_and_chain_matches_recomputation(tiny_mlm, order):
    inputs = apply_masks(tiny_mlm, tok(tiny_mlm, "the cat sat on the mat in paris ."), [2, 5, 7])
    mask_id = tiny_mlm.tokenizer.mask_token_id
    before = forward_count()
    result = fill_masks(tiny_mlm, inputs, order=order)
    assert forward_count() - before == 3 == result.forwards
    assert sorted(s.position for s in result.steps) == [2, 5, 7]
    assert mask_id not in result.input_ids and "[MASK]" not in result.tokens
    if order == "left-to-right":
        assert [s.position for s in result.steps] == [2, 5, 7]
    allowed = allowed_ids(tiny_mlm, vocabulary(tiny_mlm, tiny_mlm.config.vocab_size))
    ids = inputs.input_ids.copy()
    total = 0.0
    for step in result.steps:
        reference = independent_log_probs(tiny_mlm, ids)
        remaining = [p for p in np.flatnonzero(ids == mask_id)]
        best = {p: np.where(allowed, reference[p], -np.inf).max() for p in remaining}
        assert step.log_prob == pytest.approx(reference[step.position, step.token_id], abs=1e-4)
        assert step.log_prob == pytest.approx(best[step.position], abs=1e-4)  # greedy: the best allowed token
        if order == "confident":
            assert best[step.position] == pytest.approx(max(best.values()), abs=1e-5)
        assert step.probability == pytest.approx(math.exp(step.log_prob), rel=1e-6)
        total += step.log_prob
        assert step.cumulative_log_prob == pytest.approx(total, abs=1e-6)
        assert result.tokens[step.position] == step.token
        ids[step.position] = step.token_id
    assert result.log_prob == pytest.approx(total)
    np.testing.assert_array_equal(ids, result.input_ids)


def test_fill_masks_refuses_bad_requests(tiny_mlm, no_head):
    with pytest.raises(InputError, match="no \\[MASK\\]"):
        fill_masks(tiny_mlm, tok(tiny_mlm, "the cat sat ."))
    with pytest.raises(InputError, match="Unknown fill order"):
        fill_masks(tiny_mlm, tok(tiny_mlm, "the [MASK] sat ."), order="random")
    with pytest.raises(UnsupportedModel):
        fill_masks(no_head, tok(no_head, "the [MASK] sat ."))


# ------------------------------------------------------------------------------------------ PLL


def test_pll_equals_sum_of_one_by_one_masked_log_probs(tiny_mlm):
    before = forward_count()
    result = score_sentence(tiny_mlm, KEYS_ARE)
    assert result.forwards == 1 == forward_count() - before  # all masked copies in one batched forward
    inputs = tok(tiny_mlm, KEYS_ARE)
    scored = [p for p in range(len(inputs)) if not inputs.special[p]]
    assert [s.position for s in result.scores] == scored
    one_by_one = []
    for p in scored:
        trace = run_trace(tiny_mlm, KEYS_ARE, masked=[p])  # a separate forward per token
        one_by_one.append(float(trace.mask_log_probs[0, inputs.input_ids[p]]))
    np.testing.assert_allclose([s.log_prob for s in result.scores], one_by_one, atol=1e-4)
    assert result.pll == pytest.approx(sum(one_by_one), abs=1e-3)
    assert result.pll < 0 and result.mean == pytest.approx(result.pll / len(scored))
    assert result.pseudo_perplexity == pytest.approx(math.exp(-result.mean))
    for s in result.scores:
        assert s.probability == pytest.approx(math.exp(s.log_prob)) and s.rank >= 1


def test_pll_chunks_give_the_same_scores(tiny_mlm):
    whole = score_sentence(tiny_mlm, KEYS_ARE)
    before = forward_count()
    chunked = score_sentence(tiny_mlm, KEYS_ARE, batch_size=3)
    n = len(whole.scores)
    assert chunked.forwards == math.ceil(n / 3) == forward_count() - before
    np.testing.assert_allclose([s.log_prob for s in chunked.scores], [s.log_prob for s in whole.scores], atol=1e-5)


def test_chunk_size_respects_the_logits_budget():
    assert chunk_size(12, 30522, 64) == 64
    assert chunk_size(512, 30522, 64) == (256 * 2**20) // (512 * 30522 * 4) == 4
    assert chunk_size(512, 250_000, 64, budget=1) == 1


def test_word_l2r_variant_masks_later_pieces_of_the_word(tiny_mlm):
    inputs = tok(tiny_mlm, "it was unbelievable")
    mask_id = tiny_mlm.tokenizer.mask_token_id
    positions = [p for p in range(len(inputs)) if not inputs.special[p]]
    copies = masked_copies(inputs, mask_id, positions, "word-l2r")
    un = inputs.tokens.index("un")
    row = copies[positions.index(un)]
    assert list(np.flatnonzero(row == mask_id)) == [un, un + 1, un + 2]
    plain = masked_copies(inputs, mask_id, positions, "token")
    assert all((r == mask_id).sum() == 1 for r in plain)
    result = score_tokens(tiny_mlm, inputs, variant="word-l2r")
    trace = run_trace(tiny_mlm, inputs.text, masked=[un, un + 1, un + 2])
    assert result.scores[positions.index(un)].log_prob == pytest.approx(
        float(trace.mask_log_probs[0, inputs.input_ids[un]]), abs=1e-4)


def test_pll_skips_typed_masks_and_refuses_bad_input(tiny_mlm, no_head):
    result = score_sentence(tiny_mlm, "the [MASK] sat on the mat .")
    assert "[MASK]" not in [s.token for s in result.scores]
    assert any("not scored" in n for n in result.notices)
    with pytest.raises(InputError, match="empty"):
        score_sentence(tiny_mlm, "   ")
    with pytest.raises(InputError, match="up to 5 tokens"):
        score_sentence(tiny_mlm, KEYS_ARE, max_tokens=5)
    with pytest.raises(InputError, match="no token to score"):
        score_sentence(tiny_mlm, "[MASK]")
    with pytest.raises(UnsupportedModel):
        score_sentence(no_head, KEYS_ARE)


def test_minimal_pair_comparison(tiny_mlm):
    cmp = compare_pair(tiny_mlm, KEYS_ARE, KEYS_IS)
    assert cmp.a.pll == pytest.approx(score_sentence(tiny_mlm, KEYS_ARE).pll)
    assert cmp.difference == pytest.approx(cmp.a.pll - cmp.b.pll)
    assert cmp.preferred == ("A" if cmp.difference > 0 else "B")
    rows = cmp.rows()
    assert len(rows) == len(cmp.a.scores) == len(cmp.b.scores)
    changed = [r for r in rows if not r["same token"]]
    assert [(r["token A"], r["token B"]) for r in changed] == [("are", "is")]
    assert sum(r["log-prob A"] for r in rows) == pytest.approx(cmp.a.pll)
    same = compare_pair(tiny_mlm, KEYS_ARE, KEYS_ARE)
    assert same.preferred == "tie" and same.difference == 0.0


def test_pll_refusal_names_the_real_length_of_a_text_past_the_model_limit(tiny_mlm):
    """The tiny model reads 64 tokens: a 90-token text is cut to 64 first, but the message gives its 90 tokens."""
    text = " ".join(["the cat sat on the mat ."] * 13)  # 7 words x 13 = 91 tokens + [CLS] [SEP]
    full = len(tiny_mlm.tokenizer(text)["input_ids"])
    assert full > tiny_mlm.max_length
    with pytest.raises(InputError, match=f"this text has {full} tokens"):
        score_sentence(tiny_mlm, text, max_tokens=32)
