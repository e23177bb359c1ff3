"""Inside BERT step 7: the 15% / 80-10-10 sample, the model's loss on it, next-sentence pairs and verdicts."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch

from bertexplore.errors import InputError
from bertexplore.inside.pretraining import nsp_pairs, sample_loss, sample_masking, split_sentences
from bertexplore.loading import load_model
from bertexplore.tokens import Tokenized, tokenize

TEXT = "the cat sat on the mat . the dog sat on the table . john lives in london and works at google ."


@pytest.fixture(scope="module")
def tiny_pt(tiny_dir):
    return load_model(str(tiny_dir / "tiny-pretraining"), head="pretraining", device="cpu")


def _sample(loaded, inputs, seed):
    tok = loaded.tokenizer
    return sample_masking(inputs, tok.mask_token_id, len(tok), set(tok.all_special_ids), seed)


def test_sample_follows_the_15_and_80_10_10_rule(tiny_pt):
    inputs = tokenize(tiny_pt.tokenizer, TEXT, max_length=64)
    eligible = sum(not s for s in inputs.special)
    kinds = Counter()
    for seed in range(400):
        s = _sample(tiny_pt, inputs, seed)
        assert len(s.positions) == max(1, round(eligible * 0.15)) and s.eligible == eligible
        assert not any(inputs.special[p] for p in s.positions)
        untouched = [i for i in range(len(inputs)) if i not in s.positions]
        assert np.array_equal(s.input_ids[untouched], s.original_ids[untouched])
        for p, kind in zip(s.positions, s.kinds):
            kinds[kind] += 1
            if kind == "mask":
                assert s.input_ids[p] == tiny_pt.tokenizer.mask_token_id
            elif kind == "keep":
                assert s.input_ids[p] == s.original_ids[p]
            else:
                assert s.input_ids[p] not in tiny_pt.tokenizer.all_special_ids
    total = sum(kinds.values())
    assert abs(kinds["mask"] / total - 0.8) < 0.03 and abs(kinds["random"] / total - 0.1) < 0.03
    same = _sample(tiny_pt, inputs, 7), _sample(tiny_pt, inputs, 7)
    assert same[0].positions == same[1].positions and np.array_equal(same[0].input_ids, same[1].input_ids)
    only_special = Tokenized(text="x", text_pair=None, tokens=("[CLS]", "[SEP]"), input_ids=np.array([2, 3]),
                             word_ids=(None, None), segment_ids=(0, 0), offsets=((0, 0), (0, 0)),
                             special=(True, True), full_length=2)
    with pytest.raises(InputError):
        _sample(tiny_pt, only_special, 0)


@pytest.mark.parametrize("folder,head", [("tiny-pretraining", "pretraining"), ("tiny-mlm", "mlm")])
def test_loss_on_the_sample_is_cross_entropy_at_the_chosen_tokens(tiny_dir, folder, head):
    loaded = load_model(str(tiny_dir / folder), head=head, device="cpu")
    inputs = tokenize(loaded.tokenizer, TEXT, max_length=64)
    s = _sample(loaded, inputs, 3)
    result = sample_loss(loaded, inputs, s)
    with torch.no_grad():
        out = loaded.model(input_ids=torch.as_tensor(s.input_ids)[None],
                           token_type_ids=torch.as_tensor(inputs.segment_ids)[None])
    logits = (out.prediction_logits if head == "pretraining" else out.logits)[0].double()
    lp = torch.log_softmax(logits, -1)
    by_hand = -np.mean([lp[p, int(s.original_ids[p])].item() for p in s.positions])
    assert abs(result.loss - by_hand) < 1e-5
    assert all(p.ok for p in result.proofs)
    assert [r[0] for r in result.per_token] == list(s.positions)


OTHERS = (("A bakery opened.", "It sells bread."), ("Rain fell all day.", "The river rose.", "Boats stayed in."))


def test_not_next_takes_b_from_another_text():
    sentences = split_sentences("The cat sat. The dog sat! John lives in London. He works at Google?")
    assert len(sentences) == 4
    pairs = nsp_pairs(sentences, seed=0, others=OTHERS)
    assert [p.label for p in pairs] == ["IsNext", "NotNext"] * 3
    other = {s for para in OTHERS for s in para}
    for i in range(3):
        assert (pairs[2 * i].a, pairs[2 * i].b) == (sentences[i], sentences[i + 1])
        assert pairs[2 * i + 1].a == sentences[i] and pairs[2 * i + 1].b in other  # never the user's own text
    two = nsp_pairs(["A one.", "B two."], seed=0, others=OTHERS)
    assert [(p.a, p.label) for p in two] == [("A one.", "IsNext"), ("A one.", "NotNext")]
    assert two[0].b == "B two." and two[1].b in other  # not the same pair swapped (that is ALBERT's task)
    one = nsp_pairs(["Only one sentence."], seed=0, others=OTHERS)
    assert [p.label for p in one] == ["IsNext", "NotNext"] and all(p.source == "bundled" for p in one)
    assert (one[0].a, one[0].b) in {para[:2] for para in OTHERS} and one[1].b == "Only one sentence."
    assert nsp_pairs(["x."], seed=0)  # the bundled text is found by default


def test_bundled_paragraphs_are_real_texts():
    from bertexplore.inside.pretraining import bundled_paragraphs

    english, chinese = bundled_paragraphs(False), bundled_paragraphs(True)
    assert len(english) >= 10 and all(len(p) >= 2 for p in english)
    assert chinese and any("。" in s for p in chinese for s in p)


def test_one_forward_scores_the_sample_and_the_pairs_with_the_models_own_loss(tiny_pt):
    """The sample and the pairs in one padded forward with labels: the loss is transformers' own, and the hand
    computation (masked-LM + next-sentence cross-entropy from the logits) must equal it; each pair's verdict equals
    the pair run alone."""
    from bertexplore.inside.pretraining import pretraining_forward
    from bertexplore.loading import forward_count

    inputs = tokenize(tiny_pt.tokenizer, "the cat sat on the mat .", max_length=64)  # as short as the pairs
    s = _sample(tiny_pt, inputs, 5)
    pairs = nsp_pairs(split_sentences("The cat sat. The dog sat! John lives in London."), seed=1, others=OTHERS)
    before = forward_count()
    result, judged = pretraining_forward(tiny_pt, inputs, s, pairs)
    assert forward_count() == before + 1
    for p in judged:
        alone = tiny_pt.tokenizer(p.a, p.b, return_tensors="pt")
        assert list(p.segments) == alone["token_type_ids"][0].tolist()
        with torch.no_grad():
            logits = tiny_pt.model(**alone).seq_relationship_logits[0]
        assert abs(p.p_is_next - torch.softmax(logits, -1)[0].item()) < 1e-5  # padding in the batch changed nothing
    with torch.no_grad():
        out = tiny_pt.model(input_ids=torch.as_tensor(s.input_ids)[None],
                            token_type_ids=torch.as_tensor(inputs.segment_ids)[None])
    lp = torch.log_softmax(out.prediction_logits[0].double(), -1)
    assert abs(result.loss - -np.mean([lp[p, int(s.original_ids[p])].item() for p in s.positions])) < 1e-5
    gold = torch.tensor([0 if p.label == "IsNext" else 1 for p in pairs])
    probs = torch.tensor([[p.p_is_next, 1 - p.p_is_next] for p in judged], dtype=torch.float64)
    assert abs(result.nsp_loss - float(-torch.log(probs[torch.arange(len(pairs)), gold]).mean())) < 1e-5
    assert result.proofs[0].ok and abs(result.model_loss - (result.loss + result.nsp_loss)) < 1e-4


def test_the_loss_proof_can_fail(tiny_pt):
    """The proof compares with transformers' loss, not with itself: a wrong hand value is caught."""
    from bertexplore.inside.checks import proof

    inputs = tokenize(tiny_pt.tokenizer, TEXT, max_length=64)
    result = sample_loss(tiny_pt, inputs, _sample(tiny_pt, inputs, 2))
    assert not proof("x", result.loss + result.nsp_loss + 1e-3, result.model_loss).ok


def test_a_long_sample_leaves_the_short_pairs_their_own_forward(tiny_pt):
    """Padded to the sample's width, four short pairs would cost four long rows: they run apart, same verdicts."""
    from bertexplore.inside.pretraining import pretraining_forward, share_forward
    from bertexplore.loading import forward_count

    assert share_forward(20, [18, 22, 15, 20]) and not share_forward(60, [8, 9, 8, 10])
    inputs = tokenize(tiny_pt.tokenizer, TEXT * 3, max_length=64)
    s = _sample(tiny_pt, inputs, 4)
    pairs = nsp_pairs(["The cat sat.", "The dog sat."], seed=2, others=OTHERS)
    before = forward_count()
    result, judged = pretraining_forward(tiny_pt, inputs, s, pairs)
    assert forward_count() == before + 2
    assert result.proofs[0].ok
    for p in judged:
        alone = tiny_pt.tokenizer(p.a, p.b, return_tensors="pt")
        with torch.no_grad():
            logits = tiny_pt.model(**alone).seq_relationship_logits[0]
        assert abs(p.p_is_next - torch.softmax(logits, -1)[0].item()) < 1e-5
        assert list(p.segments) == alone["token_type_ids"][0].tolist()
