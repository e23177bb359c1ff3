"""Attention views computed from one Trace: plain numpy, no model calls, no plotting.

Conventions: a matrix row is the token that attends (FROM), a column the token attended to (TO),
so every row of a raw head sums to 1. Every transformation below says what it does to row sums.
"""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from typing import Literal, Sequence

import numpy as np

from .errors import InputError
from .tokens import Tokenized
from .trace import Trace
from .i18n import N_, _

Level = Literal["tokens", "words"]

# Segment filters: (segment of the attending rows, segment of the attended columns); None = any.
FILTERS: dict[str, tuple[int | None, int | None]] = {
    N_("All"): (None, None),
    N_("A → A (within A)"): (0, 0),
    N_("B → B (within B)"): (1, 1),
    "A → B": (0, 1),
    "B → A": (1, 0),
}
PAIR_ONLY = tuple(name for name, (r, c) in FILTERS.items() if 1 in (r, c))
# The filters' stable names in links (?attention_filter=a_b), the same in every language: ui/url_state.py.
FILTER_KEYS: dict[str, str] = {"all": "All", "a_a": "A → A (within A)", "b_b": "B → B (within B)", "a_b": "A → B",
                               "b_a": "B → A"}


@dataclass(frozen=True)
class Units:
    """The rows/columns of a matrix: tokens or words, with their segment and whether they are special."""

    labels: tuple[str, ...]
    segments: tuple[int, ...]
    special: tuple[bool, ...]
    positions: tuple[tuple[int, ...], ...]  # token positions each unit covers

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, index: Sequence[int]) -> "Units":
        idx = list(index)
        return Units(
            tuple(self.labels[i] for i in idx), tuple(self.segments[i] for i in idx),
            tuple(self.special[i] for i in idx), tuple(self.positions[i] for i in idx),
        )


def token_units(inputs: Tokenized) -> Units:
    return Units(tuple(inputs.tokens), tuple(inputs.segment_ids), tuple(inputs.special),
                 tuple((i,) for i in range(len(inputs))))


def word_units(inputs: Tokenized) -> Units:
    words = inputs.words()
    return Units(
        tuple(w.text for w in words), tuple(w.segment for w in words),
        tuple(all(inputs.special[p] for p in w.positions) for w in words),
        tuple(w.positions for w in words),
    )


def _check_layer_head(attentions: np.ndarray, layer: int, head: int | None) -> None:
    layers, heads = attentions.shape[:2]
    if not 0 <= layer < layers:
        raise InputError(_("Layer {layer} does not exist: this model has layers 1 to {layers}.").format(
                             layer=layer + 1, layers=layers))
    if head is not None and not 0 <= head < heads:
        raise InputError(_("Head {head} does not exist: this model has heads 1 to {heads}.").format(
                             head=head + 1, heads=heads))


def head_matrix(attentions: np.ndarray, layer: int, head: int) -> np.ndarray:
    """One head's [T, T] weights (a read-only view into the trace)."""
    _check_layer_head(attentions, layer, head)
    return attentions[layer, head]


def head_average(attentions: np.ndarray, layer: int) -> np.ndarray:
    """Mean over the heads of one layer; a mean of row-stochastic matrices is row-stochastic."""
    _check_layer_head(attentions, layer, None)
    return attentions[layer].mean(axis=0, dtype=np.float32)


def membership(units: Units, length: int) -> np.ndarray:
    """[T, U] 0/1 matrix: token t belongs to unit u."""
    out = np.zeros((length, len(units)), dtype=np.float32)
    for u, positions in enumerate(units.positions):
        out[list(positions), u] = 1.0
    return out


def aggregate_words(matrix: np.ndarray, inputs: Tokenized) -> tuple[np.ndarray, Units]:
    """Token matrix [..., T, T] -> word matrix [..., W, W].

    Attention TO a word sums over its pieces (it is all the attention the word received); attention
    FROM a word is the mean over its pieces (each piece spreads 1 unit), so rows still sum to 1.
    """
    units = word_units(inputs)
    member = membership(units, len(inputs))
    counts = member.sum(axis=0)
    to_words = matrix @ member  # sum over the pieces of the attended word
    from_words = (member.T @ to_words) / counts[:, None]  # mean over the pieces of the attending word
    return from_words.astype(np.float32), units


def hide_special(matrix: np.ndarray, units: Units, renormalize: bool = True) -> tuple[np.ndarray, Units]:
    """Drop [CLS]/[SEP]-like units from rows and columns.

    With `renormalize` every remaining row is rescaled to sum to 1 over the remaining columns (the share
    of attention among real words); without it rows keep their raw weights and sum to less than 1,
    the missing part being what went to the special tokens.
    """
    keep = [i for i, s in enumerate(units.special) if not s]
    if not keep:
        raise InputError(_("The input has only special tokens; there is nothing left to show once they are "
                           "hidden."))
    sub = matrix[..., keep, :][..., :, keep].astype(np.float32)
    if renormalize:
        sums = sub.sum(axis=-1, keepdims=True)
        sub = np.divide(sub, sums, out=np.zeros_like(sub), where=sums > 0)
    return sub, units.take(keep)


def segment_block(matrix: np.ndarray, units: Units, name: str) -> tuple[np.ndarray, Units, Units]:
    """The block of rows in one segment attending to columns in another (see FILTERS)."""
    if name not in FILTERS:
        raise InputError(_("Unknown filter '{name}'; choose one of {choices}.").format(
                             name=name, choices=', '.join(FILTERS)))
    row_seg, col_seg = FILTERS[name]
    rows = [i for i, s in enumerate(units.segments) if row_seg is None or s == row_seg]
    cols = [i for i, s in enumerate(units.segments) if col_seg is None or s == col_seg]
    if not rows or not cols:
        raise InputError(_("The filter '{name}' needs a second sentence (segment B): type one above, or "
                           "choose 'All'.").format(name=name))
    return matrix[..., rows, :][..., :, cols], units.take(rows), units.take(cols)


@dataclass(frozen=True)
class AttentionView:
    """What one heatmap shows: a matrix with labelled rows (FROM) and columns (TO)."""

    matrix: np.ndarray  # float32 [rows, cols]
    rows: Units
    cols: Units
    title: str
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ViewSettings:
    layer: int = 0  # zero-based
    head: int | None = 0  # None: average over heads
    level: Level = "tokens"
    hide_special: bool = False
    renormalize: bool = True
    filter: str = "All"
    rollout: bool = False  # show the rollout up to `layer` instead of the layer's own weights


def view_matrix(trace: Trace, settings: ViewSettings) -> AttentionView:
    """Apply the page's settings to one trace: select, aggregate, hide, filter (in that order)."""
    att = trace.attentions
    _check_layer_head(att, settings.layer, settings.head)
    notes: list[str] = []
    if settings.rollout:
        matrix = rollout(att, upto=settings.layer)
        what = _("Attention rollout through layer {layer} (heads averaged, residual 0.5·I)").format(layer=settings.layer + 1)
    elif settings.head is None:
        matrix = head_average(att, settings.layer)
        what = _("Layer {layer}, mean of {heads} heads").format(layer=settings.layer + 1, heads=att.shape[1])
    else:
        matrix = head_matrix(att, settings.layer, settings.head)
        what = _("Layer {layer}, head {head}").format(layer=settings.layer + 1, head=settings.head + 1)
    if settings.level == "words":
        matrix, units = aggregate_words(matrix, trace.inputs)
        notes.append(_("Words: attention TO a word sums its wordpieces, FROM a word averages them; rows "
                       "still sum to 1."))
    else:
        units = token_units(trace.inputs)
    if settings.hide_special:
        matrix, units = hide_special(matrix, units, settings.renormalize)
        notes.append(_("Special tokens hidden; rows renormalised to sum to 1 over the remaining tokens.")
                     if settings.renormalize else
                     _("Special tokens hidden, rows NOT renormalised: each row sums to what did not go to "
                       "[CLS]/[SEP]."))
    matrix, rows, cols = segment_block(matrix, units, settings.filter)
    if settings.filter != "All":
        notes.append(_("Showing {filter}: rows attend, columns are attended to; a row sums to the share of "
                       "its attention that lands in that segment.").format(filter=_(settings.filter)))
    return AttentionView(np.ascontiguousarray(matrix, dtype=np.float32), rows, cols, what, tuple(notes))


def rollout(attentions: np.ndarray, upto: int | None = None, residual: float = 0.5) -> np.ndarray:
    """Attention rollout (Abnar & Zuidema, 2020) from the input up to layer `upto` (zero-based, inclusive).

    Each layer's head-mean A becomes residual·I + (1 - residual)·A (the skip connection carries the token
    itself), rows are renormalised, and layers compose by matrix product: R_l = Â_l · R_{l-1}.
    Products of row-stochastic matrices are row-stochastic, so rows sum to 1.
    """
    layers = attentions.shape[0]
    upto = layers - 1 if upto is None else upto
    if not 0 <= upto < layers:
        raise InputError(_("Layer {upto} does not exist: this model has layers 1 to {layers}.").format(
                             upto=upto + 1, layers=layers))
    length = attentions.shape[-1]
    eye = np.eye(length, dtype=np.float64)
    result = eye
    for layer in range(upto + 1):
        mixed = residual * eye + (1.0 - residual) * attentions[layer].mean(axis=0, dtype=np.float64)
        mixed /= mixed.sum(axis=-1, keepdims=True)
        result = mixed @ result
    return result.astype(np.float32)


def pool(matrix: np.ndarray, factor: int) -> np.ndarray:
    """Shrink [..., T, T] by `factor` per side: rows (FROM) averaged, columns (TO) summed, so rows still sum to 1."""
    if factor <= 1:
        return np.asarray(matrix, dtype=np.float32)
    length = matrix.shape[-1]
    blocks = math.ceil(length / factor)
    pad = blocks * factor - length
    padded = np.pad(np.asarray(matrix, dtype=np.float32), [(0, 0)] * (matrix.ndim - 2) + [(0, pad), (0, pad)])
    shaped = padded.reshape(*matrix.shape[:-2], blocks, factor, blocks, factor)
    summed = shaped.sum(axis=(-3, -1))
    rows_per_block = np.full(blocks, factor, dtype=np.float32)
    rows_per_block[-1] = factor - pad  # the last block may be short
    return (summed / rows_per_block[:, None]).astype(np.float32)


@dataclass(frozen=True)
class TiledGrid:
    """All layers x heads as ONE matrix: tile (l, h) occupies rows l*(side+gap)..., columns h*(side+gap)...; gaps are NaN."""

    z: np.ndarray  # float32 [L*(side+gap)-gap, H*(side+gap)-gap]
    layers: int
    heads: int
    side: int  # cells per tile side
    factor: int  # tokens per cell side (1 = no pooling)
    gap: int
    length: int  # tokens in the input

    def tile(self, layer: int, head: int) -> np.ndarray:
        r, c = layer * (self.side + self.gap), head * (self.side + self.gap)
        return self.z[r:r + self.side, c:c + self.side]

    @property
    def pooled(self) -> bool:
        return self.factor > 1


GRID_MAX_CELLS = 2 ** 18  # as many cells as one 512x512 heatmap: draws in ~0.1 s, ~1.4 MB as base64


def tiled_grid(attentions: np.ndarray, max_cells: int = GRID_MAX_CELLS, gap: int = 1) -> TiledGrid:
    """Lay every head of every layer out in one matrix, pooling tiles when all of them would not fit `max_cells`."""
    layers, heads, length = attentions.shape[0], attentions.shape[1], attentions.shape[-1]
    max_side = max(1, int(math.sqrt(max_cells / (layers * heads))))
    factor = max(1, math.ceil(length / max_side))
    tiles = pool(attentions, factor)  # [L, H, side, side]
    side = tiles.shape[-1]
    z = np.full((layers * (side + gap) - gap, heads * (side + gap) - gap), np.nan, dtype=np.float32)
    for layer in range(layers):
        for head in range(heads):
            r, c = layer * (side + gap), head * (side + gap)
            z[r:r + side, c:c + side] = tiles[layer, head]
    return TiledGrid(z, layers, heads, side, factor, gap, length)


def view_csv(view: AttentionView) -> str:
    """The shown matrix as CSV: first column the attending unit, header the attended units."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["from \\ to"] + list(view.cols.labels))
    for label, row in zip(view.rows.labels, view.matrix):
        writer.writerow([label] + [f"{v:.6g}" for v in row])
    return buf.getvalue()


def trace_npz(trace: Trace) -> bytes:
    """Every attention weight of the trace plus its tokens, as a NumPy .npz file."""
    buf = io.BytesIO()
    np.savez(
        buf, attentions=np.asarray(trace.attentions), tokens=np.array(trace.tokens, dtype=str),
        input_ids=trace.inputs.input_ids, segment_ids=np.asarray(trace.inputs.segment_ids, dtype=np.int8),
    )
    return buf.getvalue()


@dataclass(frozen=True)
class HeadSummary:
    """Per-head statistics for captions: how peaked and where attention goes."""

    entropy: np.ndarray = field(repr=False)  # [L, H] mean row entropy in nats
    to_special: np.ndarray = field(repr=False)  # [L, H] mean share of attention landing on special tokens


def _summarise(att: np.ndarray, special: np.ndarray) -> HeadSummary:
    """Statistics of [..., T, T] attention, one value per leading index."""
    att = np.asarray(att, dtype=np.float32)
    ent = -(att * np.log(np.clip(att, 1e-12, None))).sum(axis=-1).mean(axis=-1)
    to_special = att[..., special].sum(axis=-1).mean(axis=-1) if special.any() else np.zeros(att.shape[:-2], np.float32)
    return HeadSummary(ent.astype(np.float32), np.asarray(to_special, dtype=np.float32))


def head_summary(trace: Trace) -> HeadSummary:
    """Every head's statistics, [L, H] (about 0.15 s at 512 tokens on a 6-layer, 12-head model)."""
    return _summarise(trace.attentions, np.asarray(trace.inputs.special, dtype=bool))


def head_stats(trace: Trace, layer: int, head: int) -> tuple[float, float]:
    """(mean row entropy in nats, mean share of attention on special tokens) of one head: head_summary's values at
    [layer, head] for 1/(L*H) of its work, which is what a caption under one head's heatmap needs."""
    _check_layer_head(trace.attentions, layer, head)
    one = _summarise(trace.attentions[layer, head], np.asarray(trace.inputs.special, dtype=bool))
    return float(one.entropy), float(one.to_special)
