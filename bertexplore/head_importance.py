"""What each attention head contributes: switch heads off and measure what changes.

With a masked-LM head the measure is the drop in log-probability of the model's own top prediction at the first
[MASK]; without one (e.g. the packaged MiniLM, a sentence-embedding model) it is how far the mean-pooled final
representation moves (1 - cosine similarity). Both come from the same batched forwards.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from .ablation import ablated, head_mask, one_head_off_masks, supports_ablation
from .errors import UnsupportedModel
from .loading import LoadedModel
from .tokens import Tokenized
from .trace import forward, model_inputs


@dataclass(frozen=True)
class Objective:
    kind: str  # "mlm" or "embedding"
    position: int | None  # the [MASK] scored, for "mlm"
    target_id: int | None
    target: str | None

    def describe(self) -> str:
        if self.kind == "mlm":
            return f"drop in log-probability of '{self.target}' at the [MASK] (token {self.position})"
        return "shift of the sentence representation (1 − cosine of the mean-pooled last layer)"


@dataclass(frozen=True)
class AblationComparison:
    objective: Objective
    off: tuple[tuple[int, int], ...]
    baseline: float  # log p(target) or 1.0 (cosine of itself)
    ablated: float
    top_before: list[tuple[str, float]]  # (token, probability); empty for "embedding"
    top_after: list[tuple[str, float]]

    @property
    def effect(self) -> float:
        return self.baseline - self.ablated if self.objective.kind == "mlm" else 1.0 - self.ablated


def _check(loaded: LoadedModel) -> None:
    if not supports_ablation(loaded.model):
        raise UnsupportedModel(f"Head ablation is not available for '{loaded.name}' ({loaded.model_type}).")


def _run(loaded: LoadedModel, inputs: Tokenized, mask: torch.Tensor | None, batch: int) -> tuple[torch.Tensor | None, torch.Tensor]:
    """(MLM logits or None, mean-pooled last hidden state) for `batch` copies of the input under `mask`."""
    ids = np.repeat(inputs.input_ids[None, :], batch, axis=0)
    with ablated(mask):
        out = forward(loaded, model_inputs(loaded, ids, inputs.segment_ids), output_hidden_states=True)
    logits = out.logits if (loaded.head == "mlm" and loaded.has_head) else None
    return logits, out.hidden_states[-1].float().mean(dim=1)


def objective_for(loaded: LoadedModel, inputs: Tokenized) -> Objective:
    mask_id = loaded.tokenizer.mask_token_id
    masks = [int(p) for p in np.flatnonzero(inputs.input_ids == mask_id)] if mask_id is not None else []
    if loaded.head == "mlm" and loaded.has_head and masks:
        logits, _ = _run(loaded, inputs, None, 1)
        target = int(logits[0, masks[0]].argmax())
        return Objective("mlm", masks[0], target, loaded.tokenizer.convert_ids_to_tokens(target))
    return Objective("embedding", None, None, None)


def _top(logits: torch.Tensor, loaded: LoadedModel, k: int = 5) -> list[tuple[str, float]]:
    probs = torch.softmax(logits.float(), dim=-1)
    values, ids = probs.topk(k)
    return [(tok, float(p)) for tok, p in zip(loaded.tokenizer.convert_ids_to_tokens(ids.tolist()), values.tolist())]


def compare(loaded: LoadedModel, inputs: Tokenized, off: list[tuple[int, int]], objective: Objective | None = None) -> AblationComparison:
    """The objective with all heads on vs with the heads in `off` switched off together."""
    _check(loaded)
    objective = objective or objective_for(loaded, inputs)
    mask = head_mask(loaded.num_layers, loaded.num_heads, off)
    base_logits, base_vec = _run(loaded, inputs, None, 1)
    abl_logits, abl_vec = _run(loaded, inputs, mask, 1)
    if objective.kind == "mlm":
        pos, target = objective.position, objective.target_id
        before = torch.log_softmax(base_logits[0, pos].float(), -1)
        after = torch.log_softmax(abl_logits[0, pos].float(), -1)
        return AblationComparison(objective, tuple(off), float(before[target]), float(after[target]),
                                  _top(base_logits[0, pos], loaded), _top(abl_logits[0, pos], loaded))
    cos = torch.nn.functional.cosine_similarity(base_vec, abl_vec, dim=-1)
    return AblationComparison(objective, tuple(off), 1.0, float(cos[0]), [], [])


def scan_heads(loaded: LoadedModel, inputs: Tokenized, batch_size: int = 16,
               progress: Callable[[float], None] | None = None) -> tuple[Objective, np.ndarray]:
    """Effect of switching each head off alone: [layers, heads], larger = the head matters more here."""
    _check(loaded)
    objective = objective_for(loaded, inputs)
    base_logits, base_vec = _run(loaded, inputs, None, 1)
    masks = one_head_off_masks(loaded.num_layers, loaded.num_heads)
    scores = []
    for start in range(0, len(masks), batch_size):
        chunk = masks[start:start + batch_size]
        logits, vec = _run(loaded, inputs, chunk, len(chunk))
        if objective.kind == "mlm":
            pos, target = objective.position, objective.target_id
            base = torch.log_softmax(base_logits[0, pos].float(), -1)[target]
            scores.append(base - torch.log_softmax(logits[:, pos].float(), -1)[:, target])
        else:
            scores.append(1.0 - torch.nn.functional.cosine_similarity(base_vec.expand_as(vec), vec, dim=-1))
        if progress:
            progress(min(1.0, (start + len(chunk)) / len(masks)))
    grid = torch.cat(scores).reshape(loaded.num_layers, loaded.num_heads)
    return objective, grid.cpu().numpy().astype(np.float32)
