"""Extractive QA: span decoding on hand-built logits, windows over long contexts, the planted answer."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import BertForQuestionAnswering, BertTokenizerFast

from bertexplore.errors import InputError, UnsupportedModel
from bertexplore.loading import load_model
from bertexplore.tasks import qa
from bertexplore.trace import forward_count
from tiny import tiny_config, write_vocab

FILLER = "the cat sat on the mat and the dog sat on the table . "


def test_best_span_is_highest_valid_sum():
    start = np.array([0.0, 1.0, 5.0, 0.0, 0.0, 0.0])
    end = np.array([0.0, 0.0, 0.0, 2.0, 4.0, 0.0])
    mask = np.ones(6, bool)
    spans = qa.best_spans(start, end, mask, max_answer_len=10, top_k=3)
    assert (spans[0].start, spans[0].end) == (2, 4)
    assert spans[0].score == pytest.approx(9.0)
    assert [s.score for s in spans] == sorted((s.score for s in spans), reverse=True)


def test_end_before_start_is_never_chosen():
    # The largest start is after the largest end: (4, 1) would score 20 but is invalid.
    start = np.array([0.0, 0.0, 0.0, 0.0, 10.0, 0.0])
    end = np.array([0.0, 10.0, 0.0, 0.0, 0.0, 1.0])
    spans = qa.best_spans(start, end, np.ones(6, bool), max_answer_len=10, top_k=50)
    assert all(s.end >= s.start for s in spans)
    assert (spans[0].start, spans[0].end) == (4, 5)
    assert spans[0].score == pytest.approx(11.0)


def test_max_answer_length_is_respected():
    start = np.array([9.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    end = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 9.0])
    long = qa.best_spans(start, end, np.ones(6, bool), max_answer_len=6, top_k=1)[0]
    assert (long.start, long.end) == (0, 5)
    short = qa.best_spans(start, end, np.ones(6, bool), max_answer_len=3, top_k=5)
    assert all(s.end - s.start + 1 <= 3 for s in short)
    assert (short[0].start, short[0].end) in {(0, 0), (0, 1), (0, 2), (3, 5), (4, 5), (5, 5)}
    assert short[0].score == pytest.approx(9.0)


def test_only_context_tokens_can_be_answers():
    # Positions 0-2 are [CLS] + question with the highest logits; the answer must come from 3-6.
    start = np.array([20.0, 15.0, 15.0, 1.0, 3.0, 0.0, 0.0])
    end = np.array([20.0, 15.0, 15.0, 0.0, 0.0, 2.0, 0.0])
    mask = np.array([False, False, False, True, True, True, True])
    spans = qa.best_spans(start, end, mask, max_answer_len=30, top_k=20)
    assert all(mask[s.start] and mask[s.end] for s in spans)
    assert (spans[0].start, spans[0].end) == (4, 5)
    assert qa.best_spans(start, end, np.zeros(7, bool)) == []


def _window(start, end, offsets, index=0):
    return qa.Window(index, tuple(f"t{i}" for i in range(len(start))), np.zeros(len(start), np.int64),
                     np.zeros(len(start), np.int64), tuple(offsets), 0,
                     np.asarray(start, np.float32), np.asarray(end, np.float32))


def test_squad2_null_score_wins_only_when_allowed():
    context = "paris is nice"
    offsets = [None, None, (0, 5), (6, 8), (9, 13)]
    w = _window([6.0, 0.0, 2.0, 0.0, 0.0], [6.0, 0.0, 0.0, 0.0, 2.5], offsets)
    candidates, null, best = qa.decode([w], context, allow_no_answer=True)
    assert null == pytest.approx(12.0)
    assert best is None  # 12 > 4.5
    assert candidates[0].text == "paris is nice" and candidates[0].score == pytest.approx(4.5)
    _, _, forced = qa.decode([w], context, allow_no_answer=False)
    assert forced is not None and forced.text == "paris is nice"
    w2 = _window([1.0, 0.0, 2.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0, 2.5], offsets)
    _, null2, best2 = qa.decode([w2], context, allow_no_answer=True)
    assert null2 == pytest.approx(2.0) and best2 is not None and best2.score == pytest.approx(4.5)
    # Probabilities are normalised over [CLS] and the context tokens of the window.
    p_start = np.exp([1.0, 2.0, 0.0, 0.0]) / np.exp([1.0, 2.0, 0.0, 0.0]).sum()
    p_end = np.exp([1.0, 0.0, 0.0, 2.5]) / np.exp([1.0, 0.0, 0.0, 2.5]).sum()
    assert best2.probability == pytest.approx(p_start[1] * p_end[3], rel=1e-5)


def test_null_score_across_windows_is_the_lowest():
    offsets = [None, (0, 3), (4, 7)]
    a = _window([3.0, 1.0, 0.0], [3.0, 0.0, 1.0], offsets, 0)
    b = _window([0.5, 1.0, 0.0], [0.5, 0.0, 1.0], offsets, 1)
    _, null, best = qa.decode([a, b], "abc def", allow_no_answer=True)
    assert null == pytest.approx(1.0)
    assert best is not None and best.text == "abc def"


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    folder = tmp_path_factory.mktemp("qa-tok")
    return BertTokenizerFast(vocab=str(write_vocab(folder)), do_lower_case=True, model_max_length=64)


def test_windows_cover_a_20000_character_context(tokenizer):
    context = (FILLER * 2000)[:20_000]
    windows, notices, stride = qa.make_windows(tokenizer, "where is the cat ?", context, max_length=64, stride=16)
    assert stride == 16 and len(windows) > 100
    assert any("overlapping windows" in n for n in notices)
    assert all(len(w.input_ids) <= 64 for w in windows)
    assert windows[0].char_range[0] == 0 and windows[-1].char_range[1] == len(context.rstrip())
    for prev, nxt in zip(windows, windows[1:]):
        # consecutive windows overlap (shared tokens) and advance
        assert nxt.char_range[0] < prev.char_range[1]
        assert nxt.char_range[0] > prev.char_range[0]
        shared = {o for o in prev.offsets if o} & {o for o in nxt.offsets if o}
        assert len(shared) == 16


def test_too_long_question_is_refused(tokenizer):
    with pytest.raises(InputError, match="question is too long"):
        qa.make_windows(tokenizer, "where is the cat " * 20, "the cat sat", max_length=64)


def _pointing_model(folder, word_id):
    """A tiny QA model whose start/end logits are high exactly where `word_id` appears.

    Every layer's output projections are zeroed, so a token's final vector is its normalised word embedding
    (position and segment embeddings are zeroed too); the QA head is that embedding for `word_id`.
    """
    torch.manual_seed(0)
    model = BertForQuestionAnswering(tiny_config())
    with torch.no_grad():
        emb = model.bert.embeddings
        emb.position_embeddings.weight.zero_()
        emb.token_type_embeddings.weight.zero_()
        for layer in model.bert.encoder.layer:
            for dense in (layer.attention.output.dense, layer.output.dense):
                dense.weight.zero_()
                dense.bias.zero_()
        target = torch.nn.functional.layer_norm(emb.word_embeddings.weight[word_id], (emb.word_embeddings.weight.shape[1],))
        model.qa_outputs.weight.copy_(torch.stack([target, target]) * 0.5)
        model.qa_outputs.bias.zero_()
    model.save_pretrained(folder)
    BertTokenizerFast(vocab=str(write_vocab(folder)), do_lower_case=True, model_max_length=64).save_pretrained(folder)
    return folder


def test_answer_planted_in_third_window_is_found(tmp_path, tokenizer):
    paris = tokenizer.convert_tokens_to_ids("paris")
    loaded = load_model(str(_pointing_model(tmp_path / "pointer", paris)), head="question-answering", device="cpu")
    question = "where is the capital ?"
    context = (FILLER * 400)[:5000]
    windows, _, _ = qa.make_windows(tokenizer, question, context, max_length=64, stride=8)
    second, third, fourth = windows[1], windows[2], windows[3]
    # a one-token word of the third window that no other window contains
    for off in third.offsets:
        if off and off[0] >= second.char_range[1] and off[1] <= fourth.char_range[0] and context[off[0]:off[1]] == "cat":
            planted = off
            break
    context = context[:planted[0]] + "paris" + context[planted[1]:]
    before = forward_count()
    res = qa.answer(loaded, question, context, stride=8, max_length=64)
    assert forward_count() - before == -(-len(res.windows) // qa.MAX_WINDOWS_PER_FORWARD)
    assert len(res.windows) == len(windows)
    assert res.answer is not None
    assert res.answer.text == "paris"
    assert res.answer.window == 2
    assert (res.answer.start, res.answer.end) == (planted[0], planted[0] + 5)
    assert res.context[res.answer.start:res.answer.end] == "paris"


def test_random_qa_model_reads_a_20000_character_context(tiny_dir):
    loaded = load_model(str(tiny_dir / "tiny-qa"), head="question-answering", device="cpu")
    context = (FILLER * 2000)[:20_000]
    res = qa.answer(loaded, "where is the cat?", context, max_answer_len=10, allow_no_answer=False)
    assert len(res.windows) > 100
    assert res.answer is not None
    assert 0 <= res.answer.start < res.answer.end <= len(context)
    assert res.answer.text == context[res.answer.start:res.answer.end]
    assert res.answer.end_token - res.answer.start_token + 1 <= 10
    assert res.answer.score == max(c.score for c in res.candidates)


def test_empty_question_and_context_are_clear_errors(tiny_dir):
    loaded = load_model(str(tiny_dir / "tiny-qa"), head="question-answering", device="cpu")
    with pytest.raises(InputError, match="question is empty"):
        qa.answer(loaded, "   ", "the cat sat")
    with pytest.raises(InputError, match="context is empty"):
        qa.answer(loaded, "who?", "\n\t ")


def test_wrong_head_is_explained(tiny_dir):
    loaded = load_model(str(tiny_dir / "tiny-cls"), head="question-answering", device="cpu")
    with pytest.raises(UnsupportedModel, match="BertForSequenceClassification"):
        qa.answer(loaded, "who?", "john lives in london")
