""""Weight vs what moved": the four measures every attention view (heatmap, all heads, rollout) can show.

`measure(trace, loaded, name)` returns a `MeasuredTrace` that the attention views read exactly like a trace
(`.attentions` [L, H, T, T] and `.inputs`); per-layer measures (residual + LayerNorm, ALTI) repeat the layer's one
matrix for every head (a broadcast view, no copy). `measured_view` is `attention.view_matrix` with the measure's
own rollout and title.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..attention import AttentionView, ViewSettings, rollout as weight_rollout, view_matrix
from ..errors import InputError
from ..i18n import N_, _
from . import alti as alti_mod
from .arrays import layer_arrays, patterns, with_names
from .norms import parts, residual_ln_norms, weighted_norms

MEASURES: dict[str, str] = {
    "weights": N_("Attention weights α"),
    "norm": N_("Norm-weighted ‖α·f(x)‖"),
    "norm_residual_ln": N_("Norm with residual + LayerNorm"),
    "alti": N_("ALTI contributions"),
}
EXPLANATIONS: dict[str, str] = {
    "weights": N_("The softmax weights: how much each token (row) looks at each other token (column); rows sum to 1."),
    "norm": N_("Weight times the size of what is sent, ‖α·f(x)‖ (Kobayashi et al. 2020): a big weight on a token "
               "whose transformed vector is short, typically [CLS], [SEP] or punctuation, moves little."),
    "norm_residual_ln": N_("The norm of each token's share of the block output after the residual connection and the "
                           "LayerNorm (Kobayashi et al. 2021), one matrix per layer: the diagonal is the token keeping "
                           "itself."),
    "alti": N_("ALTI (Ferrando et al. 2022): each token's share of the block output measured by how close its vector "
               "is to the result (Manhattan distance), one matrix per layer, rows sum to 1; the rollout multiplies "
               "layers."),
}


@dataclass(frozen=True)
class MeasuredTrace:
    """What the attention views draw for one measure: reads like a trace (attentions + inputs)."""

    name: str
    attentions: np.ndarray  # [L, H, T, T]
    inputs: Any
    per_layer: bool  # one matrix per layer, repeated for every head
    rolled: np.ndarray | None  # [L, T, T] the measure's own rollout; None = attention rollout of `attentions`

    @property
    def tokens(self) -> tuple[str, ...]:
        return self.inputs.tokens

    @property
    def num_layers(self) -> int:
        return int(self.attentions.shape[0])

    @property
    def num_heads(self) -> int:
        return int(self.attentions.shape[1])

    @property
    def bounded(self) -> bool:
        """Values lie in [0, 1] (a fixed 0–1 colour scale makes sense)."""
        return self.name in ("weights", "alti")

    @property
    def label(self) -> str:
        return _(MEASURES[self.name])


def _row_normalised(m: np.ndarray) -> np.ndarray:
    sums = m.sum(-1, keepdims=True)
    return np.divide(m, sums, out=np.zeros_like(m), where=sums > 0)


def _product_rollout(per_layer: np.ndarray) -> np.ndarray:
    return alti_mod.rollout(_row_normalised(per_layer.astype(np.float32)))


def measure(trace: Any, loaded: Any, name: str) -> MeasuredTrace:
    """Compute measure `name` for every layer of the trace (norms and ALTI read the layer weights too)."""
    if name not in MEASURES:
        raise InputError(_("Unknown measure '{name}'; choose one of {choices}.").format(
            name=name, choices=", ".join(MEASURES)))
    att = patterns(trace)
    layers, heads = att.shape[:2]
    if name == "weights":
        return MeasuredTrace(name, att, trace.inputs, False, None)
    trace = with_names(trace, loaded)  # one more forward where the trace lacks the values and residual stream
    per_layer = []
    for layer in range(layers):
        arrays = layer_arrays(trace, loaded, layer)
        if name == "norm":
            per_layer.append(weighted_norms(arrays))
        elif name == "norm_residual_ln":
            per_layer.append(residual_ln_norms(arrays))
        else:
            per_layer.append(alti_mod.alti_layer(arrays, parts(arrays)))
    stacked = np.stack(per_layer).astype(np.float32)
    if name == "norm":
        stacked.setflags(write=False)
        return MeasuredTrace(name, stacked, trace.inputs, False, None)
    rolled = alti_mod.rollout(stacked) if name == "alti" else _product_rollout(stacked)
    stacked.setflags(write=False)
    shape = (layers, heads) + stacked.shape[1:]
    return MeasuredTrace(name, np.broadcast_to(stacked[:, None], shape), trace.inputs, True, rolled)


def measured_view(shown: MeasuredTrace, settings: ViewSettings) -> AttentionView:
    """The heatmap of `shown` under the page's settings (selection, words, hidden specials, segment filter)."""
    if not settings.rollout:
        view = view_matrix(shown, settings)
        if shown.name == "weights":
            return view
        where = (_("layer {layer} (all heads together)").format(layer=settings.layer + 1) if shown.per_layer
                 else view.title)
        return replace(view, title=f"{shown.label}: {where}")
    if shown.name == "weights":
        return view_matrix(shown, settings)  # the page's own attention rollout
    if shown.rolled is None:
        rolled = weight_rollout(_row_normalised(np.asarray(shown.attentions)), upto=settings.layer)
        title = _("{measure}: rollout through layer {layer} (0.5·I for the residual)").format(
            measure=shown.label, layer=settings.layer + 1)
    else:
        if not 0 <= settings.layer < shown.num_layers:
            raise InputError(_("Layer {layer} does not exist: this model has layers 1 to {top}.").format(
                layer=settings.layer + 1, top=shown.num_layers))
        rolled = shown.rolled[settings.layer]
        title = _("{measure}: rollout through layer {layer} (product of the layers' matrices)").format(
            measure=shown.label, layer=settings.layer + 1)
    proxy = replace(shown, attentions=np.broadcast_to(rolled[None, None], (shown.num_layers, 1) + rolled.shape))
    view = view_matrix(proxy, replace(settings, rollout=False, head=None))
    return replace(view, title=title)
