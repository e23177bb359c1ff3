"""Attention views on tiny random models: every number checked against an independent computation."""
from __future__ import annotations

import io

import numpy as np
import pytest

from bertexplore import attention as A
from bertexplore.errors import InputError
from bertexplore.figures import figure_bytes, grid_figure, heatmap_figure, unique_labels
from bertexplore.trace import run_trace


@pytest.fixture(scope="module")
def pair_trace(tiny_mlm):
    return run_trace(tiny_mlm, "the cat sat on the unbelievable mat", "john lives in london")


@pytest.fixture(scope="module")
def single_trace(tiny_mlm):
    return run_trace(tiny_mlm, "the cat sat on the mat")


def test_every_head_row_sums_to_one(pair_trace):
    att = pair_trace.attentions
    assert att.dtype == np.float32 and att.ndim == 4
    np.testing.assert_allclose(att.sum(-1), 1.0, atol=1e-5)


def test_head_matrix_and_average(pair_trace):
    att = pair_trace.attentions
    np.testing.assert_array_equal(A.head_matrix(att, 1, 2), att[1, 2])
    avg = A.head_average(att, 1)
    np.testing.assert_allclose(avg, sum(att[1, h] for h in range(att.shape[1])) / att.shape[1], atol=1e-6)
    np.testing.assert_allclose(avg.sum(-1), 1.0, atol=1e-5)
    with pytest.raises(InputError, match="Layer 3 does not exist"):
        A.head_matrix(att, 2, 0)
    with pytest.raises(InputError, match="Head 5 does not exist"):
        A.head_matrix(att, 0, 4)


def test_word_aggregation_sums_to_and_averages_from(pair_trace):
    inputs = pair_trace.inputs
    words = inputs.words()
    split = [w for w in words if len(w.positions) > 1]
    assert split and split[0].text == "unbelievable"  # un ##believ ##able
    m = pair_trace.attentions[0, 1]
    agg, units = A.aggregate_words(m, inputs)
    assert len(units) == len(words) == agg.shape[0] == agg.shape[1]
    np.testing.assert_allclose(agg.sum(-1), 1.0, atol=1e-5)
    for i, wi in enumerate(words):
        for j, wj in enumerate(words):
            expected = np.mean([m[p, list(wj.positions)].sum() for p in wi.positions])
            assert agg[i, j] == pytest.approx(expected, abs=1e-6)
    # also works on a whole stack [L, H, T, T]
    stack, _ = A.aggregate_words(pair_trace.attentions, inputs)
    np.testing.assert_allclose(stack[0, 1], agg, atol=1e-6)
    np.testing.assert_allclose(stack.sum(-1), 1.0, atol=1e-5)


def test_hide_special_with_and_without_renormalising(pair_trace):
    m = pair_trace.attentions[1, 0]
    units = A.token_units(pair_trace.inputs)
    keep = [i for i, s in enumerate(pair_trace.inputs.special) if not s]
    raw, kept = A.hide_special(m, units, renormalize=False)
    assert "[CLS]" not in kept.labels and "[SEP]" not in kept.labels and len(kept) == len(keep)
    np.testing.assert_allclose(raw, m[np.ix_(keep, keep)])
    assert (raw.sum(-1) < 1.0).all()
    norm, _ = A.hide_special(m, units, renormalize=True)
    np.testing.assert_allclose(norm.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(norm, raw / raw.sum(-1, keepdims=True), atol=1e-6)


def test_segment_filters_select_the_right_blocks(pair_trace):
    m = pair_trace.attentions[0, 0]
    units = A.token_units(pair_trace.inputs)
    seg = np.array(pair_trace.inputs.segment_ids)
    a, b = np.flatnonzero(seg == 0), np.flatnonzero(seg == 1)
    assert pair_trace.tokens[a[-1]] == "[SEP]" and pair_trace.tokens[b[0]] == "john"
    expected = {"All": (np.arange(len(seg)), np.arange(len(seg))), "A → A (within A)": (a, a),
                "B → B (within B)": (b, b), "A → B": (a, b), "B → A": (b, a)}
    for name, (rows, cols) in expected.items():
        block, r, c = A.segment_block(m, units, name)
        np.testing.assert_array_equal(block, m[np.ix_(rows, cols)])
        assert r.labels == tuple(pair_trace.tokens[i] for i in rows)
        assert c.labels == tuple(pair_trace.tokens[i] for i in cols)
    # A→A and A→B split each A row: together they hold all of its attention
    aa, _, _ = A.segment_block(m, units, "A → A (within A)")
    ab, _, _ = A.segment_block(m, units, "A → B")
    np.testing.assert_allclose(aa.sum(-1) + ab.sum(-1), 1.0, atol=1e-5)


def test_pair_filters_without_second_sentence_explain(single_trace):
    units = A.token_units(single_trace.inputs)
    with pytest.raises(InputError, match="second sentence"):
        A.segment_block(single_trace.attentions[0, 0], units, "A → B")
    with pytest.raises(InputError, match="Unknown filter"):
        A.segment_block(single_trace.attentions[0, 0], units, "sideways")


def test_view_matrix_pipeline_order(pair_trace):
    s = A.ViewSettings(layer=1, head=None, level="words", hide_special=True, renormalize=True, filter="B → A")
    view = A.view_matrix(pair_trace, s)
    words, units = A.aggregate_words(A.head_average(pair_trace.attentions, 1), pair_trace.inputs)
    hidden, kept = A.hide_special(words, units, True)
    block, rows, cols = A.segment_block(hidden, kept, "B → A")
    np.testing.assert_allclose(view.matrix, block)
    assert view.rows.labels == ("john", "lives", "in", "london")
    assert "unbelievable" in view.cols.labels and "[CLS]" not in view.cols.labels
    assert view.title == "Layer 2, mean of 4 heads" and len(view.notes) == 3


def test_rollout_matches_hand_computation_on_3x3():
    a1 = np.array([[0.5, 0.3, 0.2], [0.1, 0.8, 0.1], [0.25, 0.25, 0.5]], dtype=np.float32)
    a2 = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.6, 0.2, 0.2]], dtype=np.float32)
    att = np.stack([np.stack([a1, a1]), np.stack([a2, a2])])  # 2 layers x 2 identical heads
    eye = np.eye(3)
    r1 = 0.5 * a1 + 0.5 * eye  # rows of 0.5*A + 0.5*I already sum to 1
    r2 = 0.5 * a2 + 0.5 * eye
    np.testing.assert_allclose(A.rollout(att, upto=0), r1, atol=1e-6)
    np.testing.assert_allclose(A.rollout(att), r2 @ r1, atol=1e-6)
    # hand value: row 0 of r2 @ r1 = 1.0 * r1[0] (r2[0] = [1, 0, 0])
    np.testing.assert_allclose(A.rollout(att)[0], [0.75, 0.15, 0.1], atol=1e-6)
    np.testing.assert_allclose(A.rollout(att)[1], 0.5 * r1[1] + 0.5 * r1[2], atol=1e-6)


def test_rollout_rows_sum_to_one_on_a_model(pair_trace):
    for layer in range(pair_trace.num_layers):
        r = A.rollout(pair_trace.attentions, upto=layer)
        assert r.shape == (len(pair_trace.tokens),) * 2
        np.testing.assert_allclose(r.sum(-1), 1.0, atol=1e-5)
    with pytest.raises(InputError):
        A.rollout(pair_trace.attentions, upto=5)


def test_tiled_grid_has_every_head_in_place(pair_trace):
    att = pair_trace.attentions
    grid = A.tiled_grid(att)
    L, H, T = att.shape[0], att.shape[1], att.shape[-1]
    assert (grid.layers, grid.heads, grid.side, grid.factor) == (L, H, T, 1)
    assert grid.z.shape == (L * (T + 1) - 1, H * (T + 1) - 1)
    for layer in range(L):
        for head in range(H):
            np.testing.assert_array_equal(grid.tile(layer, head), att[layer, head])
    assert np.isnan(grid.z[T, :]).all() and np.isnan(grid.z[:, T]).all()  # the gaps
    assert np.count_nonzero(~np.isnan(grid.z)) == L * H * T * T


def test_tiled_grid_pools_long_inputs_and_keeps_row_sums(pair_trace):
    att = pair_trace.attentions
    T = att.shape[-1]
    grid = A.tiled_grid(att, max_cells=8 * 9 * 9)  # 8 heads, at most 9x9 cells each
    assert grid.pooled and grid.side <= 9 and grid.factor == -(-T // 9)
    tile = grid.tile(1, 3)
    f = grid.factor
    assert tile[0, 0] == pytest.approx(att[1, 3, :f, :f].sum() / f, abs=1e-6)
    np.testing.assert_allclose(tile.sum(-1), 1.0, atol=1e-5)
    for layer in range(grid.layers):
        for head in range(grid.heads):
            np.testing.assert_allclose(grid.tile(layer, head), A.pool(att[layer, head], f), atol=1e-6)


def test_pool_with_short_last_block():
    m = np.full((5, 5), 0.2, dtype=np.float32)
    pooled = A.pool(m, 2)
    assert pooled.shape == (3, 3)
    np.testing.assert_allclose(pooled, [[0.4, 0.4, 0.2]] * 3, atol=1e-6)


def test_exports(pair_trace):
    view = A.view_matrix(pair_trace, A.ViewSettings(layer=0, head=1))
    rows = A.view_csv(view).strip().splitlines()
    assert len(rows) == len(pair_trace.tokens) + 1
    assert rows[0].split(",")[1] == "[CLS]"
    first = [float(x) for x in rows[1].split(",")[1:]]
    np.testing.assert_allclose(first, pair_trace.attentions[0, 1, 0], rtol=1e-5)
    data = np.load(io.BytesIO(A.trace_npz(pair_trace)))
    np.testing.assert_array_equal(data["attentions"], pair_trace.attentions)
    assert tuple(data["tokens"]) == pair_trace.tokens


def test_figures_are_compact_and_labelled(pair_trace):
    view = A.view_matrix(pair_trace, A.ViewSettings(layer=0, head=0))
    fig = heatmap_figure(view)
    spec = fig.to_dict()["data"][0]
    assert len(set(spec["x"])) == len(pair_trace.tokens)  # repeated "the" kept apart
    assert [x.replace("\u200b", "") for x in spec["x"]] == list(pair_trace.tokens)
    assert '"bdata"' in fig.to_json() and '"dtype":"f4"' in fig.to_json()  # float32 base64, not JSON text
    n = len(pair_trace.tokens)
    assert figure_bytes(fig) < 12_000 + n * n * 4 * 4 / 3 + n * 40
    grid_fig = grid_figure(A.tiled_grid(pair_trace.attentions), selected=(1, 2))
    assert len(grid_fig.data) == 1 and len(grid_fig.layout.shapes) == 1
    assert list(grid_fig.layout.xaxis.ticktext) == ["H1", "H2", "H3", "H4"]
    assert unique_labels(["a", "a", "b", "a"]) == ["a", "a\u200b", "b", "a\u200b\u200b"]


def test_heatmap_needs_no_measuring_pass_in_the_browser(pair_trace):
    """The colour range and margins come with the figure, so plotly neither scans z nor redraws to fit labels."""
    view = A.view_matrix(pair_trace, A.ViewSettings(layer=1, head=2))
    layout = heatmap_figure(view).to_dict()["layout"]
    trace = heatmap_figure(view).to_dict()["data"][0]
    assert trace["zmin"] == 0.0 and trace["zmax"] == pytest.approx(float(view.matrix.max()))
    assert heatmap_figure(view, zmax=1.0).to_dict()["data"][0]["zmax"] == 1.0  # the fixed 0-1 scale
    assert not layout["xaxis"].get("automargin") and not layout["yaxis"].get("automargin")
    long_cols = A.Units(tuple("x" * 20 for _ in view.cols.labels), view.cols.segments, view.cols.special,
                        view.cols.positions)
    longer = A.AttentionView(view.matrix, view.rows, long_cols, view.title)
    assert heatmap_figure(longer).to_dict()["layout"]["margin"]["t"] > layout["margin"]["t"]  # room for long labels


def test_one_head_stats_match_the_full_summary_and_a_hand_computation(pair_trace):
    summary = A.head_summary(pair_trace)
    special = np.asarray(pair_trace.inputs.special)
    for layer, head in [(0, 0), (1, 3)]:
        entropy, to_special = A.head_stats(pair_trace, layer, head)
        assert entropy == pytest.approx(float(summary.entropy[layer, head]), rel=1e-5)
        assert to_special == pytest.approx(float(summary.to_special[layer, head]), rel=1e-5)
        rows = pair_trace.attentions[layer, head].astype(np.float64)
        by_hand = np.mean([-sum(p * np.log(p) for p in row if p > 0) for row in rows])
        assert entropy == pytest.approx(by_hand, rel=1e-4)
        assert to_special == pytest.approx(rows[:, special].sum(axis=1).mean(), rel=1e-5)
    with pytest.raises(InputError):
        A.head_stats(pair_trace, 0, pair_trace.num_heads)
