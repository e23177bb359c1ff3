"""Token attributions for a classifier's output: integrated gradients and gradient x input.

Both work in the space of the input word embeddings: the model is called with `inputs_embeds`, and the
position / segment embeddings are added inside it as usual. Integrating along the word embeddings this way
is what captum's LayerIntegratedGradients on the word-embedding layer computes, without registering hooks
on the shared model. Gradients flow only to the embeddings: the model's parameters stay frozen and in eval mode.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


import numpy as np
import torch

from .. import heads
from ..errors import InputError, UnsupportedModel
from ..loading import LoadedModel
from ..tokens import Tokenized
from ..trace import model_inputs
from ..i18n import N_, _
from ..integrated_gradients import (AGREEMENT, COMPLETENESS, MAX_EVALUATIONS, RuleCheck,
                                    integrated_gradients)

Method = Literal["integrated-gradients", "gradient-x-input"]
Output = Literal["softmax", "sigmoid", "logit"]

METHOD_NAMES = {"integrated-gradients": N_("Integrated gradients"), "gradient-x-input": N_("Gradient × input")}

# Activations autograd keeps per interpolation step; the IG batch is sized to stay under this. The estimate in
# auto_batch_size gives 94 MB per step for bert-base at 128 tokens; measured: ~85 MB (3.7 GB peak RSS at 32 steps).
MEMORY_BUDGET_BYTES = 1_500_000_000
MAX_STEPS = MAX_EVALUATIONS  # the most gradient evaluations one attribution may take (adaptive), or nodes (fixed)
TOLERANCE = COMPLETENESS  # completeness: |Σ attributions − (f(x) − f(b))| within 5% of |f(x) − f(b)|
# Nodes per batch on a CPU: at least 4, and as many as keep a batch within CPU_BATCH_TOKENS tokens, so another
# session waits at most about one long forward. Short texts batch a whole rule: one 17-node batch of 10 tokens measured
# ~2x faster than five batches of 4 (bench_ig); at 128 tokens batching wins only ~1.2x.
CPU_BATCH = 4
CPU_BATCH_TOKENS = 512


@dataclass(frozen=True)
class Attribution:
    method: Method
    tokens: tuple[str, ...]
    target: int
    output: Output
    scores: np.ndarray  # [T] float32: per-token attribution, summed over the embedding dimension
    value: float  # f(x): the explained output at the input
    baseline_value: float | None = None  # f(baseline), integrated gradients only
    delta: float | None = None  # sum(scores) - (f(x) - f(baseline)): completeness error of the integral
    steps: int = 0  # nodes of the rule the scores come from
    internal_batch_size: int = 0
    evaluations: int = 0  # gradient evaluations in all (every rule tried)
    converged: bool = True  # per-token agreement of the last two rules AND completeness, within the budget
    longest_lock_seconds: float = 0.0  # the longest the model's lock was held at once (one batch)
    change: np.ndarray | None = None  # [T] |last rule − the rule before| per token (None: fixed rule or not IG)
    history: tuple[RuleCheck, ...] = ()  # every pair of rules tried, with its completeness and per-token change

    @property
    def max_change(self) -> float | None:
        """Largest per-token change between the last two rules, relative to the largest |attribution|."""
        if self.change is None or not self.change.size:
            return None
        peak = float(np.max(np.abs(self.scores)))
        return float(np.max(self.change)) / peak if peak > 0 else 0.0

    @property
    def relative_delta(self) -> float | None:
        """|completeness error| / |f(x) − f(baseline)|."""
        if self.delta is None or self.baseline_value is None:
            return None
        diff = abs(self.value - self.baseline_value)
        return abs(self.delta) / diff if diff > 0 else float("inf") if self.delta else 0.0

    def normalized(self) -> np.ndarray:
        """Scores scaled into [-1, 1] by the largest magnitude, for colouring."""
        peak = float(np.max(np.abs(self.scores))) if self.scores.size else 0.0
        return (self.scores / peak).astype(np.float32) if peak > 0 else np.zeros_like(self.scores)

    def rows(self) -> list[dict]:
        """Per token; with integrated gradients also its change between the last two rules (the convergence)."""
        rows = [{"position": i, "token": t, "attribution": float(s)} for i, (t, s) in enumerate(zip(self.tokens, self.scores))]
        if self.change is not None and len(self.change) == len(rows):
            for row, c in zip(rows, self.change):
                row["change"] = float(c)
        return rows


def _explained(logits: torch.Tensor, target: int, output: Output) -> torch.Tensor:
    if output == "softmax":
        return torch.softmax(logits.float(), dim=-1)[:, target]
    if output == "sigmoid":
        return torch.sigmoid(logits.float()[:, target])
    return logits.float()[:, target]


def auto_batch_size(loaded: LoadedModel, length: int, steps: int) -> int:
    """How many interpolation steps to run per forward/backward, bounded by a memory estimate."""
    hidden = int(getattr(loaded.config, "hidden_size", getattr(loaded.config, "dim", 768)))
    # Eager attention keeps scores and probabilities per head; the feed-forward keeps ~4x hidden per token.
    per_step = loaded.num_layers * (3 * loaded.num_heads * length * length + 14 * length * hidden) * 4
    return int(max(1, min(steps, MEMORY_BUDGET_BYTES // max(per_step, 1))))


def attribute(
    loaded: LoadedModel,
    inputs: Tokenized,
    target: int,
    method: Method = "integrated-gradients",
    output: Output = "softmax",
    steps: int = MAX_STEPS,
    internal_batch_size: int | None = None,
    tolerance: float | None = TOLERANCE,
    agreement: float = AGREEMENT,
) -> Attribution:
    """Attribute the model's `output`(logits)[target] to the input tokens.

    Integrated gradients (bertexplore.integrated_gradients): Gauss 16 / Kronrod 33 nodes, then 32/65, 64/129, ...
    until two successive rules agree per token (max |Δ| ≤ `agreement` × max |attribution|) AND the completeness
    error is within `tolerance` of |f(x) − f(baseline)|, or the next pair would pass `steps` gradient evaluations
    (converged False). tolerance None: exactly `steps` Gauss-Legendre nodes, no check. The model runs through its
    door, its lock held per batch of nodes, so other sessions wait at most one batch.

    The integrated-gradients baseline keeps the special tokens and replaces every other token by [PAD]
    (or [MASK] when there is no pad token), the usual choice for text.
    """
    if not heads.has(loaded, "cls"):
        raise UnsupportedModel(_("Token attributions explain a sequence classifier's output; '{name}' has no trained "
                                 "sequence-classification head.").format(name=loaded.name))
    num_labels = int(getattr(loaded.config, "num_labels", 0) or 0)
    if not 0 <= target < max(num_labels, 1):
        raise InputError(_("Label index {target} does not exist: this checkpoint has labels "
                           "0..{num_labels}.").format(target=target, num_labels=num_labels - 1))
    if method not in METHOD_NAMES:
        raise InputError(_("Unknown attribution method '{method}'; choose {choices}.").format(
                             method=method, choices=' or '.join(METHOD_NAMES)))
    if not 1 <= steps <= MAX_STEPS:
        raise InputError(_("Integrated gradients needs between 1 and {limit} steps, not {steps}.").format(
                             limit=MAX_STEPS, steps=steps))
    batch = model_inputs(loaded, inputs.input_ids, inputs.segment_ids)
    batch = {k: v.to(loaded.device) for k, v in batch.items()}
    ids = batch.pop("input_ids")
    words = loaded.model.get_input_embeddings().weight  # read, never written: the lookup nn.Embedding does
    extra = {k: batch[k] for k in ("attention_mask", "token_type_ids") if k in batch}

    def explained(embeds: torch.Tensor) -> torch.Tensor:
        """[k, T, D] word embeddings -> [k] explained outputs, through the model's door."""
        rows = {name: t.expand(len(embeds), -1) for name, t in extra.items()}
        out = loaded.forward({"inputs_embeds": embeds, **rows}, grad=torch.is_grad_enabled())
        return _explained(out.logits, target, output)

    embeds = words[ids].detach().clone()  # [1, T, D]: gradients are taken w.r.t. fresh tensors only
    if method == "gradient-x-input":
        with torch.inference_mode(False), torch.enable_grad():
            embeds.requires_grad_()
            value_t = explained(embeds)[0]
            (grad,) = torch.autograd.grad(value_t, embeds)
        scores = (grad * embeds.detach())[0].sum(dim=-1).float().cpu().numpy()
        return Attribution(method, inputs.tokens, target, output, scores.astype(np.float32), float(value_t.detach()))
    pad = loaded.tokenizer.pad_token_id
    if pad is None:
        pad = loaded.tokenizer.mask_token_id if loaded.tokenizer.mask_token_id is not None else 0
    special = torch.as_tensor(inputs.special, device=ids.device).unsqueeze(0)
    baseline = words[torch.where(special, ids, torch.full_like(ids, pad))].detach().clone()
    size = internal_batch_size or auto_batch_size(loaded, ids.shape[1], steps)
    if internal_batch_size is None and loaded.device == "cpu":
        size = min(size, max(CPU_BATCH, CPU_BATCH_TOKENS // max(1, ids.shape[1])))  # others wait one batch
    result = integrated_gradients(
        explained, embeds[0], baseline[0], lambda e: e.sum(-1), max_evaluations=steps, agreement=agreement,
        completeness=tolerance if tolerance is not None else COMPLETENESS,
        fixed_nodes=steps if tolerance is None else None, batch_size=size)
    return Attribution(
        method, inputs.tokens, target, output, result.attributions.astype(np.float32), value=result.value,
        baseline_value=result.baseline_value, delta=result.completeness_error, steps=result.nodes,
        internal_batch_size=size, evaluations=result.evaluations, converged=tolerance is None or result.converged,
        longest_lock_seconds=result.longest_batch_seconds,
        change=result.change.astype(np.float32) if result.change.size else None, history=result.history,
    )
