"""Activation patching between a clean and a corrupted input of the same token length (Meng et al. 2022; Vig et
al. 2020), per (layer, position) and per head, and its gradient estimate (attribution patching, Nanda 2023).

Clean activations are copied into the corrupted run, one site at a time; the normalised effect
(m − m_corrupt) / (m_clean − m_corrupt) is 1 where the patch restores the clean behaviour and 0 where it changes
nothing. Each layer is ONE batched forward: batch row r patches position r (or head r), so a full map costs one
forward per layer plus one for the clean and corrupted runs together. The forward starts with ONE corrupted row
and the edit widens it at the patched site (torch.where broadcasts the [rows, T, 1] mask; every later step, the
residual adds included, broadcasts too), so the layers below the site run once per forward instead of per row.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from ..errors import InputError, UnsupportedModel
from ..i18n import _
from ..loading import LoadedModel
from ..tokens import Tokenized
from .edits import Edit, Editor, run
from .metrics import Kind, Metric, Outputs, build_metric, forward_for, head_kind, mask_position

Site = Literal["resid", "attn", "mlp"]
SITES: dict[str, str] = {"resid": "normalized_resid_post", "attn": "attn.out", "mlp": "mlp.out"}


@dataclass(frozen=True)
class Pair:
    """A clean and a corrupted input of equal length, with the metric and both runs' values."""

    clean: Tokenized
    corrupt: Tokenized
    metric: Metric
    clean_metric: float
    corrupt_metric: float

    @property
    def tokens(self) -> tuple[str, ...]:
        return self.clean.tokens

    @property
    def differs(self) -> tuple[int, ...]:
        """Token positions where the two inputs differ."""
        return tuple(int(p) for p in np.flatnonzero(self.clean.input_ids != self.corrupt.input_ids))

    def normalise(self, values: np.ndarray) -> np.ndarray:
        return (values - self.corrupt_metric) / (self.clean_metric - self.corrupt_metric)


@dataclass(frozen=True)
class PatchMap:
    """Layer × position map: `effect[r, p]` is the normalised effect of patching row r's site at position p."""

    pair: Pair
    site: str
    rows: tuple[str, ...]  # "emb" (embedding output, resid only), then "1".."L" (layers count from 1)
    values: np.ndarray  # [rows, T] the metric of each patched run
    effect: np.ndarray  # [rows, T] normalised
    forwards: int


@dataclass(frozen=True)
class HeadMap:
    """Layer × head: the normalised effect of patching each head's output (all positions) clean → corrupted."""

    pair: Pair
    method: str  # "exact" (one patched run per head) or "attribution" (first-order estimate, one backward)
    values: np.ndarray  # [layers, heads] metric (exact) or estimated metric (attribution)
    effect: np.ndarray  # [layers, heads] normalised
    forwards: int


def _tokenized(loaded: LoadedModel, text: str | Tokenized) -> Tokenized:
    return text if isinstance(text, Tokenized) else loaded.tokenize(text)


def _check_lengths(loaded: LoadedModel, clean: Tokenized, corrupt: Tokenized) -> None:
    if not loaded.full_cache:
        raise UnsupportedModel(_("Patching needs a model whose every step is recorded (BERT, RoBERTa, XLM-R, "
                                 "CamemBERT, ELECTRA, DistilBERT, ALBERT); '{name}' is not one.").format(
                                   name=loaded.name))
    if len(clean) != len(corrupt):
        raise InputError(_(
            "The clean sentence has {a} tokens and the corrupted one {b}: patching copies activations position "
            "by position, so both need the same number of tokens. Align them: change words for words of the "
            "same token count (e.g. 'keys' ↔ 'key', not 'keys' ↔ 'set of keys'). Clean: {ta}. Corrupted: "
            "{tb}.").format(a=len(clean), b=len(corrupt), ta=" ".join(clean.tokens), tb=" ".join(corrupt.tokens)))


def _batch(loaded: LoadedModel, inputs: Tokenized, rows: int) -> dict[str, torch.Tensor]:
    return loaded.model_inputs(np.repeat(inputs.input_ids[None, :], rows, axis=0), inputs.segment_ids)


def _forward(loaded: LoadedModel, pair: Pair, batch: dict[str, torch.Tensor], editor: Editor) -> Outputs:
    return forward_for(loaded, pair.metric.kind, batch, editor, pair.metric.position)


def prepare_pair(loaded: LoadedModel, clean: str | Tokenized, corrupt: str | Tokenized,
                 target: str | int | None = None, contrast: str | int | None = None, kind: Kind | None = None,
                 keep: set[tuple[str, int]] | None = None, edits: dict[tuple[str, int], Edit] | None = None,
                 grad: bool = False) -> tuple[Pair, Editor]:
    """ONE forward over [clean, corrupt]: the metric, its two values, and the kept activations (batch row 0:
    clean, row 1: corrupted) in the returned editor. With `grad` (and `edits` holding grad leaves) the editor also
    holds `values`, the differentiable [clean, corrupt] metric, for a backward."""
    clean, corrupt = _tokenized(loaded, clean), _tokenized(loaded, corrupt)
    _check_lengths(loaded, clean, corrupt)
    both = loaded.model_inputs(np.stack([clean.input_ids, corrupt.input_ids]),
                               np.stack([clean.segment_ids, corrupt.segment_ids]))
    kind = kind or head_kind(loaded)
    position = mask_position(loaded, clean, corrupt) if kind == "mlm" else None
    editor = Editor(edits, keep=keep)
    out = forward_for(loaded, kind, both, editor, position, grad=grad)
    metric = build_metric(loaded, clean, corrupt, out, target, contrast, kind)
    differentiable = metric.values(out)
    values = differentiable.detach().double().cpu().numpy()
    if abs(values[0] - values[1]) < 1e-6:
        raise InputError(_("The clean and corrupted inputs give the same value of the metric ({value:.4f}): "
                           "there is no difference to trace. Pick a pair (or candidates) that the model tells "
                           "apart.").format(value=float(values[0])))
    editor.values = differentiable
    return Pair(clean, corrupt, metric, float(values[0]), float(values[1])), editor


def _row_sites(site: str, num_layers: int) -> list[tuple[str, int, str]]:
    if site not in SITES:
        raise InputError(_("Unknown site '{site}'; choose one of {choices}.").format(site=site,
                                                                                     choices=", ".join(SITES)))
    rows = [(SITES[site], layer, str(layer + 1)) for layer in range(num_layers)]
    return ([("embed", 0, "emb")] if site == "resid" else []) + rows


def patch(loaded: LoadedModel, clean: str | Tokenized, corrupt: str | Tokenized, site: Site = "resid",
          target: str | int | None = None, contrast: str | int | None = None, kind: Kind | None = None) -> PatchMap:
    """Patch the clean activation of `site` into the corrupted run at every (layer, position).

    site: "resid" (the residual stream: the embedding output, then each layer's output), "attn" (each layer's
    attention output) or "mlp" (each layer's FFN output), both before their residual add. One batched forward
    per layer (rows = positions); `loaded.forward` counts each.
    """
    rows = _row_sites(site, loaded.num_layers)
    pair, editor = prepare_pair(loaded, clean, corrupt, target, contrast, kind,
                                keep={(name, layer) for name, layer, _label in rows})
    n = len(pair.clean)
    values = np.full((len(rows), n), pair.corrupt_metric)
    forwards = 1
    for i, (name, layer, _label) in enumerate(rows):
        kept = editor.kept[(name, layer)]  # [clean, corrupt]
        # Where the clean and corrupted values are equal, the patch changes nothing: that cell is the corrupted
        # metric exactly, no row needed (at the embeddings, every position whose token is the same).
        positions = torch.nonzero((kept[0] != kept[1]).any(dim=-1)).flatten()
        if not len(positions):
            continue
        mask = torch.zeros((len(positions), n, 1), dtype=torch.bool)
        mask[torch.arange(len(positions)), positions] = True  # row r patches the r-th differing position
        edit = Editor({(name, layer): Edit(mask=mask, source=kept[0])})
        # A batch of ONE corrupted row: the edit's [rows, T, 1] mask broadcasts it to one row per position at this
        # site, so the layers below run once, not once per row (about half a map's compute).
        out = _forward(loaded, pair, _batch(loaded, pair.corrupt, 1), edit)
        values[i, positions.numpy()] = pair.metric.values(out).double().cpu().numpy()
        forwards += 1
    return PatchMap(pair, site, tuple(label for _n, _l, label in rows), values, pair.normalise(values),
                    forwards=forwards)


def patched_value(loaded: LoadedModel, pair: Pair, edits: dict[tuple[str, int], Edit]) -> float:
    """The metric of ONE corrupted run under the given edits (a building block for custom experiments)."""
    out = _forward(loaded, pair, _batch(loaded, pair.corrupt, 1), Editor(edits))
    return float(pair.metric.values(out)[0])


def clean_activations(loaded: LoadedModel, pair: Pair, sites: set[tuple[str, int]]) -> dict[tuple[str, int], torch.Tensor]:
    """The clean run's values at `sites` ([T, width] each), one forward."""
    editor = Editor(keep=sites)
    run(loaded, _batch(loaded, pair.clean, 1), editor, encoder_only=True)
    return {key: value[0] for key, value in editor.kept.items()}


def _head_width(loaded: LoadedModel) -> int:
    return int(loaded.config.hidden_size if hasattr(loaded.config, "hidden_size") else loaded.config.dim) \
        // loaded.num_heads


def patch_heads(loaded: LoadedModel, clean: str | Tokenized, corrupt: str | Tokenized,
                target: str | int | None = None, contrast: str | int | None = None,
                kind: Kind | None = None) -> HeadMap:
    """Patch each head's output (at every position) clean → corrupted: one batched forward per layer (rows =
    heads). A head's output is z_h · W_O[h], so replacing z_h (the input of the output projection) patches it."""
    keep = {("attn.z", layer) for layer in range(loaded.num_layers)}
    pair, editor = prepare_pair(loaded, clean, corrupt, target, contrast, kind, keep=keep)
    heads, d = loaded.num_heads, _head_width(loaded)
    mask = torch.zeros((heads, 1, heads * d), dtype=torch.bool)
    for h in range(heads):
        mask[h, :, h * d:(h + 1) * d] = True  # row h patches head h
    values = np.zeros((loaded.num_layers, heads))
    for layer in range(loaded.num_layers):
        edit = Editor({("attn.z", layer): Edit(mask=mask, source=editor.kept[("attn.z", layer)][0])})
        out = _forward(loaded, pair, _batch(loaded, pair.corrupt, 1), edit)  # widened to `heads` rows at the site
        values[layer] = pair.metric.values(out).double().cpu().numpy()
    return HeadMap(pair, "exact", values, pair.normalise(values), forwards=loaded.num_layers + 1)


def attribution_patch_heads(loaded: LoadedModel, clean: str | Tokenized, corrupt: str | Tokenized,
                            target: str | int | None = None, contrast: str | int | None = None,
                            kind: Kind | None = None, pair: Pair | None = None) -> HeadMap:
    """First-order estimate of `patch_heads` for every head at once (attribution patching):
    m(patch h) − m_corrupt ≈ Σ_{t, i ∈ h} (z_clean − z_corrupt)[t, i] · ∂m/∂z[t, i] at the corrupted run.

    ONE forward over [clean, corrupt] with gradients through the door (the clean row gives z_clean, the corrupted
    row the metric and z_corrupt) and one backward from the corrupted row's metric. `pair` (from an exact run)
    fixes the metric's candidates.
    """
    layers, heads, d = loaded.num_layers, loaded.num_heads, _head_width(loaded)
    keep = {("attn.z", layer) for layer in range(layers)}
    if pair is not None:
        clean, corrupt, kind = pair.clean, pair.corrupt, pair.metric.kind
        target, contrast = pair.metric.target, pair.metric.contrast  # ids
    pair, editor = prepare_pair(loaded, clean, corrupt, target, contrast, kind, keep=keep,
                                edits={key: Edit(grad=True) for key in keep}, grad=True)
    leaves = [editor.leaves[("attn.z", layer)] for layer in range(layers)]
    grads = torch.autograd.grad(editor.values[1], leaves)  # row 1 (corrupted) only: rows do not mix
    estimate = np.zeros((layers, heads))
    for layer in range(layers):
        z = editor.kept[("attn.z", layer)]  # [2, T, H*d]: clean, corrupted
        contrib = ((z[0] - z[1]) * grads[layer][1]).view(z.shape[1], heads, d).sum(dim=(0, 2))
        estimate[layer] = contrib.detach().double().cpu().numpy()
    values = pair.corrupt_metric + estimate
    return HeadMap(pair, "attribution", values, pair.normalise(values), forwards=1)


def _ranks(x: np.ndarray) -> np.ndarray:
    """Ranks from 0, ties sharing their average rank."""
    _values, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return ((ends - counts + ends - 1) / 2.0)[inverse]


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation of two maps (average ranks for ties): Pearson's r of the ranks."""
    a, b = np.ravel(a), np.ravel(b)
    if a.size < 2 or np.all(a == a[0]) or np.all(b == b[0]):
        return float("nan")
    return float(np.corrcoef(_ranks(a), _ranks(b))[0, 1])


@dataclass(frozen=True)
class HeadAverage:
    """The mean normalised head effect over several minimal pairs (pairs the model could not tell apart, or whose
    candidates are not one token each, are skipped and counted)."""

    method: str
    effect: np.ndarray  # [layers, heads] mean over the pairs used
    used: int
    skipped: tuple[str, ...]  # why each skipped pair was skipped
    forwards: int


def average_heads(loaded: LoadedModel, pairs: list, method: str = "attribution") -> HeadAverage:
    """Head effects averaged over minimal pairs (objects with clean, corrupt, target, contrast; e.g. the bundled
    agreement pairs): which heads a phenomenon relies on across sentences, not in one. "attribution" costs one
    forward per pair, "exact" L + 1."""
    run_one = attribution_patch_heads if method == "attribution" else patch_heads
    maps, skipped, forwards = [], [], 0
    for p in pairs:
        try:
            result = run_one(loaded, p.clean, p.corrupt, target=p.target, contrast=p.contrast)
        except InputError as err:
            skipped.append(str(err))
            continue
        maps.append(result.effect)
        forwards += result.forwards
    if not maps:
        raise InputError(_("None of the pairs could be used: {why}").format(why=skipped[0] if skipped else ""))
    return HeadAverage(method, np.mean(maps, axis=0), len(maps), tuple(skipped), forwards)
