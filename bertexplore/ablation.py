"""Head masks for switching attention heads off (applied by attention_function.ablated)."""
from __future__ import annotations

from typing import Iterable

import torch

from .attention_function import ablated, supports_ablation  # noqa: F401  (the public ablation API)
from .i18n import _


def head_mask(num_layers: int, num_heads: int, off: Iterable[tuple[int, int]] = ()) -> torch.Tensor:
    """A [1, layers, heads] mask of ones with zeros at the (layer, head) pairs to switch off."""
    mask = torch.ones(1, num_layers, num_heads)
    for layer, head in off:
        if not (0 <= layer < num_layers and 0 <= head < num_heads):
            raise ValueError(_("Head L{layer} H{head} does not exist (layers 0..{num_layers}, heads "
                               "0..{num_heads}).").format(
                                 layer=layer, head=head, num_layers=num_layers - 1, num_heads=num_heads - 1))
        mask[0, layer, head] = 0.0
    return mask


def one_head_off_masks(num_layers: int, num_heads: int) -> torch.Tensor:
    """[layers*heads, layers, heads]: batch row k switches off head k alone (an importance scan in one batch)."""
    masks = torch.ones(num_layers * num_heads, num_layers, num_heads)
    idx = torch.arange(num_layers * num_heads)
    masks[idx, idx // num_heads, idx % num_heads] = 0.0
    return masks
