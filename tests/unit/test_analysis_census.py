"""Head census: statistics and pattern labels on constructed attention patterns, and on a tiny model's batch."""
from __future__ import annotations

import numpy as np
import pytest

from bertexplore.analysis.census import (census_of_set, census_of_trace, head_scores, is_punctuation, label_heads,
                                         token_kinds)
from bertexplore.trace import run_trace

T = 10
TOKENS = ["[CLS]", "the", "cat", "sat", ".", "[SEP]", "it", "was", "warm", "[SEP]"]
SPECIAL = [True, False, False, False, False, True, False, False, False, True]
SEGMENTS = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1]


def _rows(m: np.ndarray) -> np.ndarray:
    return (m / m.sum(-1, keepdims=True)).astype(np.float32)


def constructed() -> dict[str, np.ndarray]:
    eye = np.eye(T)
    vertical = np.full((T, T), 0.02)
    vertical[:, 0] = 1.0  # everyone looks at [CLS]
    previous = np.eye(T, k=-1) + 0.01
    previous[0, 0] = 1.0
    block = np.where(np.equal.outer(SEGMENTS, SEGMENTS), 1.0, 0.02)
    block = block * (1 - 0.5 * eye)  # spread inside the segment, not on itself
    mixed = 0.6 * np.eye(T) + 0.01
    mixed[:, 5] += 0.5  # half on [SEP], half on itself
    rng = np.random.default_rng(0)
    hetero = rng.random((T, T)) + 0.5
    return {"vertical": _rows(vertical), "diagonal": _rows(previous), "block": _rows(block),
            "vertical + diagonal": _rows(mixed), "heterogeneous": _rows(hetero)}


def test_constructed_patterns_get_their_labels():
    pats = constructed()
    names = list(pats)
    att = np.stack([pats[n] for n in names])[None]  # [1 layer, 5 heads, T, T]
    kinds = token_kinds(TOKENS, SPECIAL, SEGMENTS)
    stats, scores = head_scores(att, kinds)
    assert list(label_heads(scores)[0]) == names
    # Statistics by hand: the vertical head puts 1/(1+0.02*9) on [CLS]; the diagonal head's previous-token share.
    assert stats["cls"][0, 0] == pytest.approx(1 / 1.18, rel=1e-5)
    prev = pats["diagonal"]
    assert stats["prev"][0, 1] == pytest.approx(sum(prev[i, i - 1] for i in range(1, T)) / T, rel=1e-5)
    assert stats["sep"][0, 3] == pytest.approx(pats["vertical + diagonal"][:, [5, 9]].sum(-1).mean(), rel=1e-5)
    assert stats["punct"][0, 4] == pytest.approx(pats["heterogeneous"][:, 4].mean(), rel=1e-5)
    uniform = np.full((1, 1, T, T), 1 / T, np.float32)
    assert head_scores(uniform, kinds)[0]["entropy"][0, 0] == pytest.approx(np.log(T), rel=1e-5)
    assert label_heads(head_scores(uniform, kinds)[1])[0, 0] == "heterogeneous"


def test_block_needs_two_segments():
    kinds = token_kinds(TOKENS, SPECIAL, [0] * T)
    _, scores = head_scores(constructed()["block"][None, None], kinds)
    assert scores["block"][0, 0] == 0 and label_heads(scores)[0, 0] == "heterogeneous"


def test_punctuation():
    assert is_punctuation(".") and is_punctuation("##,") and is_punctuation("\u0120!")
    assert not is_punctuation("cat") and not is_punctuation("##")


def test_census_of_a_trace_and_of_the_bundled_set(tiny_mlm):
    trace = run_trace(tiny_mlm, "the cat sat on the mat .", "it was good")
    single = census_of_trace(trace)
    assert single.stats["cls"].shape == (tiny_mlm.num_layers, tiny_mlm.num_heads)
    att = np.asarray(trace.attentions)
    np.testing.assert_allclose(single.stats["cls"], att[..., 0].mean(-1), rtol=1e-5)
    # The batch (padded) gives for one pair exactly what its own unpadded trace gives.
    one = census_of_set(tiny_mlm, [("the cat sat on the mat .", "it was good")])
    for k in single.stats:
        np.testing.assert_allclose(one.stats[k], single.stats[k], rtol=1e-4, atol=1e-5)
    pairs = [("the cat sat on the mat .", "it was good"), ("a dog", "the table was great , he said .")]
    both = census_of_set(tiny_mlm, pairs)
    second = census_of_trace(run_trace(tiny_mlm, *pairs[1]))
    for k in single.stats:
        np.testing.assert_allclose(both.stats[k], (single.stats[k] + second.stats[k]) / 2, rtol=1e-4, atol=1e-5)
    assert sum(both.counts().values()) == tiny_mlm.num_layers * tiny_mlm.num_heads
