"""Interventions on a shared model, per forward: an `Editor` the capture hooks consult through a context variable.

The edit sites are hooks installed ONCE when the model is prepared (bertexplore/capture.py, `editing`); they do
nothing unless the running thread has set an editor. So one session's patch never reaches another session's
forward, and no hook is added or removed per request. Every run goes through `LoadedModel.forward` (the door).

Sites (what a hook hands the editor, batch axis first):
    "embed"       the embedding output that enters layer 0 (after ALBERT's/ELECTRA's projection)   [B, T, D]
    "attn.z"      the heads' outputs, concatenated, before the attention output projection         [B, T, H*d]
    "attn.out"    the attention output projection (before the residual add and LayerNorm)          [B, T, D]
    "mlp.post"    the FFN's intermediate activations (after GELU): its "neurons"                   [B, T, D_ff]
    "mlp.out"     the FFN output (before the residual add and LayerNorm)                           [B, T, D]
    "normalized_resid_post"  the layer's output (after its LayerNorm): what the next layer reads  [B, T, D]
A site fires once per layer in layer order (also for ALBERT, whose layers share modules), so the editor counts.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from .. import capture
from ..loading import LoadedModel


@dataclass
class Edit:
    """What to do to one site of one layer: x ← where(mask, source, x) · scale (+ a zero leaf when `grad`).

    `mask` and `source` broadcast against x ([B, T, D]); `scale` multiplies after the replacement. With `grad` a
    zero tensor that requires grad is added, so d(metric)/d(x) is that tensor's gradient (attribution patching,
    integrated gradients) without cutting the graph through x.
    """

    mask: torch.Tensor | None = None
    source: torch.Tensor | None = None
    scale: torch.Tensor | None = None
    grad: bool = False


class Editor:
    """One forward's edits by (site, layer), and the (site, layer) values to keep (after editing)."""

    def __init__(self, edits: dict[tuple[str, int], Edit] | None = None,
                 keep: set[tuple[str, int]] | None = None) -> None:
        self.edits = edits or {}
        self.keep = keep or set()
        self.kept: dict[tuple[str, int], torch.Tensor] = {}
        self.leaves: dict[tuple[str, int], torch.Tensor] = {}
        self.values: torch.Tensor | None = None  # a caller's differentiable metric, kept for its backward
        self._counts: dict[str, int] = {}

    def edit(self, site: str, x: torch.Tensor) -> torch.Tensor | None:
        layer = self._counts.get(site, 0)
        self._counts[site] = layer + 1
        key = (site, layer)
        spec = self.edits.get(key)
        out = None
        if spec is not None:
            out = x
            if spec.mask is not None:
                mask = spec.mask.to(x.device)
                out = torch.where(mask, spec.source.to(device=x.device, dtype=x.dtype), out)
            if spec.scale is not None:
                out = out * spec.scale.to(device=x.device, dtype=x.dtype)
            if spec.grad:
                leaf = torch.zeros_like(out, requires_grad=True)
                self.leaves[key] = leaf
                out = out + leaf
        if key in self.keep:
            self.kept[key] = (x if out is None else out).detach()
        return out


def run(loaded: LoadedModel, batch: dict[str, torch.Tensor], editor: Editor, encoder_only: bool = False,
        grad: bool = False) -> Any:
    """One forward through the door with `editor` active in this thread only (grad: autograd records it, so the
    editor's leaves get gradients; the shared parameters never do)."""
    with capture.editing(editor):
        return loaded.forward(batch, encoder_only=encoder_only, grad=grad)
