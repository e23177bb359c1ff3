"""Token attributions for a classifier's output: integrated gradients (captum) and gradient x input.

Both work in the space of the input word embeddings: the model is called with `inputs_embeds`, and the
position / segment embeddings are added inside it as usual. Integrating along the word embeddings this way
is what captum's LayerIntegratedGradients on the word-embedding layer computes, without registering hooks
on the shared model. Gradients flow only to the embeddings: the model's parameters stay frozen and in eval mode.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import time

import numpy as np
import torch
from captum.attr import InputXGradient

from .. import heads
from ..errors import InputError, UnsupportedModel
from ..loading import LoadedModel
from ..tokens import Tokenized
from ..trace import model_inputs
from ..i18n import N_, _

Method = Literal["integrated-gradients", "gradient-x-input"]
Output = Literal["softmax", "sigmoid", "logit"]

METHOD_NAMES = {"integrated-gradients": N_("Integrated gradients"), "gradient-x-input": N_("Gradient × input")}

# Activations autograd keeps per interpolation step; the IG batch is sized to stay under this. The estimate in
# auto_batch_size gives 94 MB per step for bert-base at 128 tokens; measured: ~85 MB (3.7 GB peak RSS at 32 steps).
MEMORY_BUDGET_BYTES = 1_500_000_000
MAX_STEPS = 300
TOLERANCE = 0.05  # stop once the completeness error is under 5% of |f(x) − f(baseline)|
ABS_TOLERANCE = 1e-6  # ... or negligible in absolute terms (f barely changes between baseline and input)
FIRST_RULE = 4
CPU_BATCH = 4  # nodes per batch on a CPU: batching wins ~1.2x there, and a batch is what another session may wait


def step_schedule(max_steps: int) -> list[int]:
    """Quadrature sizes tried in turn: 4, 8, 16, ... and finally `max_steps` itself."""
    sizes, n = [], min(FIRST_RULE, max_steps)
    while n < max_steps:
        sizes.append(n)
        n *= 2
    return sizes + [max_steps]


def _integrate(loaded: LoadedModel, explained, embeds: torch.Tensor, baseline: torch.Tensor, extra: tuple,
               n: int, batch: int) -> tuple[torch.Tensor, list[float]]:
    """(x − b) · Σ_k w_k ∇f(b + a_k (x − b)) with n Gauss-Legendre nodes; the lock is taken per batch of nodes."""
    from captum.attr._utils.approximation_methods import approximation_parameters

    step_sizes, alphas = approximation_parameters("gausslegendre")
    weights, nodes = step_sizes(n), alphas(n)
    diff = embeds.detach() - baseline
    total = torch.zeros_like(diff[0])
    holds = []
    for start in range(0, n, batch):
        a = torch.tensor(nodes[start:start + batch], dtype=diff.dtype, device=diff.device)
        w = torch.tensor(weights[start:start + batch], dtype=diff.dtype, device=diff.device)
        t0 = time.perf_counter()
        with torch.inference_mode(False), torch.enable_grad():
            points = (baseline + a[:, None, None] * diff).requires_grad_()
            out = explained(points, *(t.expand(len(a), -1) for t in extra))  # the door: lock for the forward only
            holds.append(time.perf_counter() - t0)
            (grad,) = torch.autograd.grad(out.sum(), points)  # reads the frozen weights only: no lock needed
        total += (w[:, None, None] * grad.detach()).sum(0)
        time.sleep(0.001)  # Python locks are not fair: let a waiting session in before the next batch
    return (diff[0] * total).sum(-1), holds


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
    steps: int = 0  # nodes of the last quadrature rule
    internal_batch_size: int = 0
    evaluations: int = 0  # gradient evaluations in all (every rule tried)
    converged: bool = True  # the completeness error reached the tolerance within the step budget
    longest_lock_seconds: float = 0.0  # the longest the model's lock was held at once (one batch)

    def normalized(self) -> np.ndarray:
        """Scores scaled into [-1, 1] by the largest magnitude, for colouring."""
        peak = float(np.max(np.abs(self.scores))) if self.scores.size else 0.0
        return (self.scores / peak).astype(np.float32) if peak > 0 else np.zeros_like(self.scores)

    def rows(self) -> list[dict]:
        return [{"position": i, "token": t, "attribution": float(s)} for i, (t, s) in enumerate(zip(self.tokens, self.scores))]


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
    steps: int = 32,
    internal_batch_size: int | None = None,
    tolerance: float | None = TOLERANCE,
) -> Attribution:
    """Attribute the model's `output`(logits)[target] to the input tokens.

    Integrated gradients uses Gauss-Legendre quadrature (captum's nodes and weights) on 4, 8, 16, ... nodes up to
    `steps`, stopping at the first rule whose completeness error |Σ attributions − (f(x) − f(baseline))| is within
    `tolerance` of |f(x) − f(baseline)| (tolerance None: exactly `steps` nodes). The model's lock is held per batch
    of nodes, never across the run, so other sessions wait at most one batch.

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
    extra = tuple(batch[k] for k in ("attention_mask", "token_type_ids") if k in batch)
    extra_names = tuple(k for k in ("attention_mask", "token_type_ids") if k in batch)

    def explained(embeds: torch.Tensor, *args: torch.Tensor) -> torch.Tensor:
        kwargs = dict(zip(extra_names, args))
        out = loaded.forward({"inputs_embeds": embeds, **kwargs}, grad=torch.is_grad_enabled())
        return _explained(out.logits, target, output)

    # The shared model is read-only; gradients are taken w.r.t. a fresh embeddings tensor only.
    with torch.inference_mode(False), torch.enable_grad():
        embeds = words[ids].detach().clone().requires_grad_()
        if method == "gradient-x-input":
            attr = InputXGradient(explained).attribute(embeds, additional_forward_args=extra)
            with torch.no_grad():
                value = float(explained(embeds, *extra)[0])
            scores = attr[0].detach().sum(dim=-1).float().cpu().numpy()
            return Attribution(method, inputs.tokens, target, output, scores.astype(np.float32), value)
        pad = loaded.tokenizer.pad_token_id
        if pad is None:
            pad = loaded.tokenizer.mask_token_id if loaded.tokenizer.mask_token_id is not None else 0
        special = torch.as_tensor(inputs.special, device=ids.device).unsqueeze(0)
        baseline_ids = torch.where(special, ids, torch.full_like(ids, pad))
        baseline = words[baseline_ids].detach().clone()
        with torch.no_grad():
            both = explained(torch.cat([embeds, baseline]), *(t.expand(2, -1) for t in extra))
    change = float(both[0] - both[1])
    size = internal_batch_size or auto_batch_size(loaded, ids.shape[1], steps)
    if internal_batch_size is None and loaded.device == "cpu":
        size = min(size, CPU_BATCH)  # a CPU gains little from big batches, and other sessions wait one batch
    schedule = [steps] if tolerance is None else step_schedule(steps)
    evaluations, holds = 0, []
    for n in schedule:
        attr, hold = _integrate(loaded, explained, embeds, baseline, extra, n, size)
        evaluations += n
        holds.extend(hold)
        delta = float(attr.sum()) - change
        if tolerance is not None and abs(delta) <= tolerance * abs(change) + ABS_TOLERANCE:
            break
    scores = attr.detach().float().cpu().numpy().astype(np.float32)
    return Attribution(
        method, inputs.tokens, target, output, scores, value=float(both[0]), baseline_value=float(both[1]),
        delta=delta, steps=n, internal_batch_size=size, evaluations=evaluations,
        converged=tolerance is None or abs(delta) <= tolerance * abs(change) + ABS_TOLERANCE,
        longest_lock_seconds=max(holds) if holds else 0.0,
    )
