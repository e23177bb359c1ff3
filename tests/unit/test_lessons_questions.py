"""Lesson questions: the model's answer equals what transformers itself computes, and grading normalises."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import AutoTokenizer, BertForPreTraining

from bertexplore.errors import UnsupportedModel
from bertexplore.lessons.format import Question
from bertexplore.lessons.questions import can_answer, grade, model_answer, normalize


@pytest.fixture(scope="module")
def pretraining(tiny_dir):
    from bertexplore.loading import load_model
    return load_model(str(tiny_dir / "tiny-pretraining"), head="pretraining", device="cpu")


@pytest.fixture(scope="module")
def mlm(tiny_dir):
    from bertexplore.loading import load_model
    return load_model(str(tiny_dir / "tiny-pretraining"), head="mlm", device="cpu")  # its masked-LM head


@pytest.fixture(scope="module")
def reference(tiny_dir):
    """The same checkpoint straight from transformers, eager attention (returns the weights)."""
    folder = str(tiny_dir / "tiny-pretraining")
    model = BertForPreTraining.from_pretrained(folder, attn_implementation="eager").eval()
    return model, AutoTokenizer.from_pretrained(folder)


def _run(reference, text, pair=None):
    model, tok = reference
    enc = tok(text, pair, return_tensors="pt")
    with torch.no_grad():
        out = model(**enc, output_attentions=True, output_hidden_states=True)
    return enc, out, tok


def test_wordpieces_counts_the_tokenizers_pieces(pretraining, reference):
    answer = model_answer(pretraining, Question("wordpieces", {"word": "unbelievable"}))
    expected = reference[1].tokenize("unbelievable")
    assert expected == ["un", "##believ", "##able"]
    assert answer.answer == "3" and answer.accepted == ("3",) and "3" in answer.choices
    assert grade(answer, " ３ ").correct and grade(answer, "三").correct and not grade(answer, "2").correct


def test_attention_top_is_the_heads_argmax(pretraining, reference):
    text = "the keys to the cabinet are on the table"
    for layer, head in ((1, 1), (2, 3)):
        answer = model_answer(pretraining, Question("attention_top", {"text": text, "layer": layer, "head": head,
                                                                      "token": "cabinet"}))
        enc, out, tok = _run(reference, text)
        tokens = tok.convert_ids_to_tokens(enc["input_ids"][0])
        row = out.attentions[layer - 1][0, head - 1, tokens.index("cabinet")]
        assert answer.answer == tokens[int(row.argmax())]
        assert answer.choices == tuple(dict.fromkeys(tokens))
        assert abs(answer.rows[0]["weight"] - float(row.max())) < 1e-4


def test_mask_fill_grades_against_the_top_k(mlm, reference):
    text = "the capital of france is [MASK] ."
    answer = model_answer(mlm, Question("mask_fill", {"text": text, "k": 3}))
    enc, out, tok = _run(reference, text)
    pos = int((enc["input_ids"][0] == tok.mask_token_id).nonzero()[0, 0])
    logits = out.prediction_logits[0, pos].clone()
    # The page hides special tokens and ## pieces from the guesses: so does the reference.
    vocab = tok.convert_ids_to_tokens(range(logits.shape[0]))
    for i, t in enumerate(vocab):
        if t in tok.all_special_tokens or t.startswith("##"):
            logits[i] = -np.inf
    top3 = [vocab[i] for i in logits.topk(3).indices.tolist()]
    assert answer.answer == top3[0] and answer.accepted == tuple(top3)
    assert grade(answer, top3[2].upper() + "!").correct  # third of the top 3, normalised
    assert "number 3" in grade(answer, top3[2]).message
    assert not grade(answer, "zzz").correct and not grade(answer, "").correct


def test_mask_fill_choices_come_from_the_model(mlm):
    answer = model_answer(mlm, Question("mask_fill", {"text": "the [MASK] sat on the mat", "choices": True}))
    assert answer.answer in answer.choices and len(answer.choices) >= 2


def test_lens_layer_is_the_first_layer_whose_top_is_final(mlm, reference):
    text = "the cat sat on the [MASK] ."
    answer = model_answer(mlm, Question("lens_layer", {"text": text}))
    enc, out, tok = _run(reference, text)
    pos = int((enc["input_ids"][0] == tok.mask_token_id).nonzero()[0, 0])
    model = reference[0]
    with torch.no_grad():  # BERT's masked-LM head on every hidden state (0 = embeddings)
        tops = [int(model.cls.predictions(h[:, pos]).argmax()) for h in out.hidden_states]
    first = next(i for i, t in enumerate(tops) if t == tops[-1])
    assert answer.answer == str(first)
    assert answer.choices == tuple(str(i) for i in range(len(out.hidden_states)))


def test_nsp_is_the_heads_softmax(pretraining, reference):
    a, b = "the cat sat on the mat .", "john works at google ."
    answer = model_answer(pretraining, Question("nsp", {"a": a, "b": b}))
    _enc, out, _tok = _run(reference, a, b)
    probs = torch.softmax(out.seq_relationship_logits[0], -1)
    assert answer.answer == ("IsNext" if probs[0] > probs[1] else "NotNext")
    assert grade(answer, answer.answer.lower()).correct
    assert grade(answer, "是" if answer.answer == "IsNext" else "否").correct


def test_a_model_without_the_head_says_so(minilm, mlm):
    assert not can_answer(mlm, Question("nsp", {"a": "x", "b": "y"}))  # loaded without its NSP head
    q = Question("mask_fill", {"text": "Paris is the [MASK] of France."})
    assert not can_answer(minilm, q) and can_answer(minilm, Question("wordpieces", {"word": "x"}))
    with pytest.raises(UnsupportedModel, match="no mlm head"):
        model_answer(minilm, q)


def test_normalize():
    assert normalize("  “Paris”. ") == "paris" == normalize("ＰＡＲＩＳ")
    assert normalize("##ing") == "ing" and normalize("Is Next") == "isnext" and normalize("七") == "7"
