"""NER: tag aggregation into words and entities, one forward for tags and attention, head checks."""
from __future__ import annotations

import numpy as np
import pytest
from transformers import BertTokenizerFast

from bertexplore.errors import InputError, UnsupportedModel
from bertexplore.loading import load_model
from bertexplore.tasks import ner
from bertexplore.tasks.checkpoints import head_problem
from bertexplore.tokens import tokenize
from bertexplore.trace import forward_count
from tiny import write_vocab

LABELS = ("O", "B-PER", "I-PER", "B-LOC", "I-LOC")


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    return BertTokenizerFast(vocab=str(write_vocab(tmp_path_factory.mktemp("ner-tok"))), do_lower_case=True)


def one_hot(label: str, p: float = 0.9) -> np.ndarray:
    row = np.full(len(LABELS), (1 - p) / (len(LABELS) - 1), np.float32)
    row[LABELS.index(label)] = p
    return row


def test_split_tag():
    assert ner.split_tag("O") == ("O", "")
    assert ner.split_tag("B-PER") == ("B", "PER")
    assert ner.split_tag("I-LOC") == ("I", "LOC")
    assert ner.split_tag("S-ORG") == ("B", "ORG")
    assert ner.split_tag("E-ORG") == ("I", "ORG")
    assert ner.split_tag("MISC") == ("I", "MISC")


def test_strategies_differ_on_a_split_word(tokenizer):
    inputs = tokenize(tokenizer, "john unbelievable london")
    assert inputs.tokens == ("[CLS]", "john", "un", "##believ", "##able", "london", "[SEP]")
    probs = np.stack([
        one_hot("O"), one_hot("B-PER"),
        one_hot("B-LOC", 0.5),  # un: weakly LOC
        one_hot("B-PER", 0.95),  # ##believ: strongly PER
        one_hot("O", 0.9),  # ##able: O
        one_hot("B-LOC"), one_hot("O"),
    ])
    first = ner.word_tags(inputs, probs, LABELS, "first")
    maxed = ner.word_tags(inputs, probs, LABELS, "max")
    avg = ner.word_tags(inputs, probs, LABELS, "average")
    assert [w.text for w in first] == ["john", "unbelievable", "london"]
    assert first[1].label == "B-LOC" and first[1].score == pytest.approx(0.5)
    assert maxed[1].label == "B-PER" and maxed[1].score == pytest.approx(0.95)
    mean = probs[2:5].mean(axis=0)
    assert avg[1].label == LABELS[int(np.argmax(mean))]
    assert avg[1].score == pytest.approx(float(mean.max()))
    assert (first[1].start, first[1].end) == (5, 17)
    with pytest.raises(InputError, match="strategy"):
        ner.word_tags(inputs, probs, LABELS, "median")


def test_grouping_bio_into_entities(tokenizer):
    text = "john mary london paris google the london"
    inputs = tokenize(tokenizer, text)
    tags = ["B-PER", "I-PER", "B-LOC", "B-LOC", "I-PER", "O", "I-LOC"]
    probs = np.stack([one_hot("O")] + [one_hot(t, 0.8 + 0.02 * i) for i, t in enumerate(tags)] + [one_hot("O")])
    words, entities = ner.word_tags(inputs, probs, LABELS), None
    entities = ner.group_entities(words, text)
    assert [(e.text, e.type) for e in entities] == [
        ("john mary", "PER"), ("london", "LOC"), ("paris", "LOC"), ("google", "PER"), ("london", "LOC")]
    assert entities[0].score == pytest.approx(np.mean([0.8, 0.82]))
    assert (entities[0].start, entities[0].end) == (0, 9)
    assert entities[-1].start == text.rindex("london")
    assert entities[0].positions == (1, 2)


def test_tag_runs_one_forward_and_keeps_attention(tiny_dir):
    loaded = load_model(str(tiny_dir / "tiny-ner"), head="token-classification", device="cpu")
    before = forward_count()
    tags = ner.tag(loaded, "John lives in London and works at Google.")
    assert forward_count() - before == 1
    T = len(tags.inputs)
    assert tags.labels == LABELS
    assert tags.probs.shape == (T, 5)
    np.testing.assert_allclose(tags.probs.sum(axis=1), 1.0, rtol=1e-5)
    assert tags.attentions.shape == (2, 4, T, T)
    assert not tags.attentions.flags.writeable
    for strategy in ner.STRATEGIES:
        words, entities = ner.entities(tags, strategy)
        assert [w.text for w in words] == ["John", "lives", "in", "London", "and", "works", "at", "Google", "."]
        for e in entities:
            assert tags.inputs.text[e.start:e.end] == e.text
    assert forward_count() - before == 1  # changing the strategy never re-runs the model
    from_w, to_w = ner.entity_attention(tags.attentions, (4,), layer=1, head=2)
    np.testing.assert_allclose(from_w, tags.attentions[1, 2, 4])
    np.testing.assert_allclose(to_w, tags.attentions[1, 2, :, 4])
    assert from_w.sum() == pytest.approx(1.0, rel=1e-5)
    two_w, _ = ner.entity_attention(tags.attentions, (4, 5), layer=0, head=0)
    np.testing.assert_allclose(two_w, tags.attentions[0, 0, [4, 5]].mean(axis=0), rtol=1e-6)
    with pytest.raises(InputError, match="Layer 5"):
        ner.entity_attention(tags.attentions, (4,), layer=5, head=0)


def test_classifier_on_ner_page_is_explained(tiny_dir):
    # Its `classifier` tensors have the same names and shapes as a token classifier's: only the
    # saved architecture tells them apart.
    loaded = load_model(str(tiny_dir / "tiny-cls"), head="token-classification", device="cpu")
    assert loaded.has_head
    problem = head_problem(loaded, "token-classification")
    assert "BertForSequenceClassification" in problem and "Fine-tune page" in problem
    with pytest.raises(UnsupportedModel):
        ner.tag(loaded, "john lives in london")


def test_base_model_has_no_ner_head(tiny_dir):
    loaded = load_model(str(tiny_dir / "tiny-base"), head="token-classification", device="cpu")
    assert "plain encoder" in head_problem(loaded, "token-classification")


def test_missing_head_weights_are_explained(tiny_dir, tmp_path):
    import json
    import shutil
    folder = tmp_path / "no-arch"
    shutil.copytree(tiny_dir / "tiny-base", folder)
    config = json.loads((folder / "config.json").read_text())
    config.pop("architectures", None)
    (folder / "config.json").write_text(json.dumps(config))
    loaded = load_model(str(folder), head="token-classification", device="cpu")
    assert "no trained" in head_problem(loaded, "token-classification")


def test_empty_text(tiny_dir):
    loaded = load_model(str(tiny_dir / "tiny-ner"), head="token-classification", device="cpu")
    with pytest.raises(InputError, match="empty"):
        ner.tag(loaded, "  \n ")
