"""Probes: the control task's construction, the split, and the word vectors the probes read."""
from __future__ import annotations

import numpy as np

from bertexplore.causal.bundled import minimal_pairs, ner_sentences, pos_sentences
from bertexplore.causal.probes import control_tags, split_sentences, word_vectors
from bertexplore.trace import run_trace


def test_control_task_gives_each_word_type_one_tag():
    words = ["The", "cat", "the", "dog", "cat", "runs"]
    tags = ["DET", "NOUN", "DET", "NOUN", "NOUN", "VERB"]
    control = control_tags(words, tags, seed=3)
    assert control[0] == control[2] and control[1] == control[4]  # same type (case-folded), same tag
    assert set(control) <= set(tags)
    assert control == control_tags(words, tags, seed=3)


def test_split_keeps_sentences_whole():
    sentence = np.repeat(np.arange(20), 5)
    test = split_sentences(sentence, 0.25, seed=0)
    for s in range(20):
        assert len(set(test[sentence == s])) == 1
    assert test.sum() == 25


def test_bundled_sets_are_well_formed():
    for language in ("en", "zh"):
        for tagged in pos_sentences(language) + ner_sentences(language):
            assert len(tagged.words) == len(tagged.tags) > 0
        assert minimal_pairs(language)
    assert {"NOUN", "VERB", "DET", "ADJ"} <= {t for s in pos_sentences("en") for t in s.tags}
    assert {"PER", "LOC", "O"} <= {t for s in ner_sentences("en") for t in s.tags}


def test_word_vectors_are_the_first_wordpiece_of_each_layer(tiny_mlm):
    """Padded batched vectors equal a single-sentence trace's values (embeddings and every layer's output)."""
    sentences = pos_sentences("en")[:3]
    vectors = word_vectors(tiny_mlm, sentences, batch_size=2)
    assert vectors.vectors.shape[:2] == (tiny_mlm.num_layers + 1, sum(len(s.words) for s in sentences))
    text = " ".join(sentences[1].words)
    trace = run_trace(tiny_mlm, text, names=["embed.out", "blocks.*.normalized_resid_post"])
    first = [w.positions[0] for w in trace.inputs.words() if not trace.inputs.special[w.positions[0]]]
    rows = np.flatnonzero(vectors.sentence == 1)
    np.testing.assert_allclose(vectors.vectors[0, rows], trace["embed.out"][first], atol=1e-5)
    np.testing.assert_allclose(vectors.vectors[-1, rows], trace[f"blocks.{tiny_mlm.num_layers - 1}.normalized_resid_post"][first],
                               atol=1e-5)


def test_reach_is_whole_rows_in_an_encoder_and_a_triangle_in_a_decoder():
    from bertexplore.causal.figures import reach
    encoder, decoder = reach(4, 6, (2,), causal=False), reach(4, 6, (2,), causal=True)
    assert encoder[0].tolist() == decoder[0].tolist() == [0, 0, 1, 0, 0, 0]  # the embeddings: the changed token only
    assert (encoder[1:] == 1).all()
    assert (decoder[1:, :2] == 0).all() and (decoder[1:, 2:] == 1).all()


def test_rank_correlation_is_scipys_spearman():
    from scipy.stats import spearmanr

    from bertexplore.causal import rank_correlation
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    b[0, 0] = b[0, 1]  # a tie
    assert abs(rank_correlation(a, b) - spearmanr(a.ravel(), b.ravel()).statistic) < 1e-12
