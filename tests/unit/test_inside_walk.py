"""The walk's process-wide weights cache keeps its own byte bound."""
from __future__ import annotations

from bertexplore import anatomy
from bertexplore.inside import walk


def test_weights_cache_stays_within_its_byte_bound(tiny_mlm, monkeypatch):
    monkeypatch.setattr(walk, "_weights", type(walk._weights)())
    layer = walk.weights_nbytes(anatomy.layer_weights(tiny_mlm, 0))
    embed = walk.weights_nbytes(anatomy.embedding_weights(tiny_mlm))
    assert layer > 0 and embed > 0
    monkeypatch.setattr(walk, "WEIGHTS_BUDGET", 2 * layer)
    first = walk.layer_weights(tiny_mlm, 0)
    assert walk.layer_weights(tiny_mlm, 0) is first  # cached
    walk.layer_weights(tiny_mlm, 1)
    assert walk.cached_weights_bytes() == 2 * layer
    walk.embedding_weights(tiny_mlm)  # over the bound: the least recently used go first
    assert walk.cached_weights_bytes() <= max(2 * layer, embed)
    assert walk.layer_weights(tiny_mlm, 0) is not first  # layer 0 was evicted and is read again
    monkeypatch.setattr(walk, "WEIGHTS_BUDGET", 1)  # smaller than anything: only the newest entry stays
    walk.layer_weights(tiny_mlm, 1)
    assert len(walk._weights) == 1
