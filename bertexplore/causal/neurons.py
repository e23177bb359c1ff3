"""Knowledge neurons (Dai et al. 2022): which FFN neurons at the [MASK] position carry a fact, and what switching
them off or amplifying them does to the fact's probability, and to an unrelated prompt's (the control).

Attribution is integrated gradients of p(answer) over the FFN intermediate activations (after GELU) at the [MASK]
position, every layer's at once: along the path α·a (α from 0 to 1), each layer's activations at [MASK] are REPLACED
by α times their value in the unedited run, so the path is well defined although later layers would otherwise
recompute them. The integral is the engine's (bertexplore.integrated_gradients): adaptive Gauss-Kronrod pairs that
stop when every NEURON's score agrees between two rules and completeness (Σ scores = p(a) − p(0)) holds, or one
fixed Gauss-Legendre rule. Dai et al. scale one layer at a time; scaling all layers together costs one batched
forward per batch of nodes instead of L.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..errors import InputError
from ..i18n import _
from ..integrated_gradients import integrated_gradients
from ..loading import LoadedModel, forward_count
from ..tokens import Tokenized
from .edits import Edit, Editor
from .metrics import _top, forward_for, head_kind, token_id


@dataclass(frozen=True)
class NeuronScores:
    """Integrated-gradients scores of every FFN neuron at the prompt's [MASK] for p(answer)."""

    prompt: Tokenized
    position: int
    answer: int
    answer_name: str
    scores: np.ndarray  # [layers, d_ff]
    probability: float  # p(answer) in the unedited run
    baseline_probability: float  # p(answer) with every layer's neurons at [MASK] set to 0
    completeness_error: float  # |Σ scores − (p − p0)|
    convergence: float  # max per-neuron change between the last two rules / max |score| (0 for a fixed rule)
    converged: bool  # the IG engine's verdict: per-neuron agreement and completeness (False for a fixed rule)
    steps: int  # nodes of the rule the scores come from
    forwards: int

    def top(self, k: int = 10, per_layer: int | None = None) -> list[tuple[int, int, float]]:
        """The k highest-scoring neurons as (layer, neuron, score); `per_layer` caps how many one layer gives."""
        order = np.argsort(self.scores, axis=None)[::-1]
        chosen: list[tuple[int, int, float]] = []
        counts: dict[int, int] = {}
        for flat in order:
            layer, neuron = np.unravel_index(flat, self.scores.shape)
            if per_layer is not None and counts.get(int(layer), 0) >= per_layer:
                continue
            counts[int(layer)] = counts.get(int(layer), 0) + 1
            chosen.append((int(layer), int(neuron), float(self.scores[layer, neuron])))
            if len(chosen) == k:
                break
        return chosen


def _prompt(loaded: LoadedModel, prompt: str | Tokenized) -> tuple[Tokenized, int]:
    if head_kind(loaded) != "mlm":
        raise InputError(_("Knowledge neurons need a masked-LM head: the fact's probability is read at the "
                           "[MASK]. Load a model with one (bert-base-uncased online, or train one on the Fine-tune "
                           "page)."))
    inputs = prompt if isinstance(prompt, Tokenized) else loaded.tokenize(prompt)
    where = np.flatnonzero(inputs.input_ids == loaded.tokenizer.mask_token_id)
    if not len(where):
        raise InputError(_("Put a {mask} in the prompt where the fact's answer goes.").format(
                             mask=loaded.tokenizer.mask_token))
    return inputs, int(where[0])


def knowledge_neurons(loaded: LoadedModel, prompt: str | Tokenized, answer: str | None = None,
                      steps: int | None = 20) -> NeuronScores:
    """Integrated gradients of p(answer) at the first [MASK] over every layer's FFN neurons there, by the engine's
    IG (bertexplore.integrated_gradients): `steps` nodes of one Gauss-Legendre rule, or None for its adaptive
    Gauss-Kronrod pairs that stop when every neuron's score agrees between two rules and completeness holds.

    Forwards through the door: the unedited run (activations; default answer = its top prediction), one of two rows
    for f(x) and f(0), and one batched forward + backward per batch of nodes; each row's [MASK] activations are
    REPLACED by the path point, layer by layer, through a per-forward edit.
    """
    if steps is not None and steps < 2:
        raise InputError(_("Use at least 2 integration steps."))
    inputs, position = _prompt(loaded, prompt)
    layers = loaded.num_layers
    before = forward_count()
    keep = {("mlp.post", layer) for layer in range(layers)}
    editor = Editor(keep=keep)
    out = forward_for(loaded, "mlm", loaded.model_inputs(inputs.input_ids, inputs.segment_ids), editor, position)
    logits = out.mask_logits[0].detach()
    answer_id = token_id(loaded, answer) if answer else _top(logits, set(loaded.tokenizer.all_special_ids), ())
    acts = torch.stack([editor.kept[("mlp.post", layer)][0, position] for layer in range(layers)]).double()
    t = len(inputs)
    mask = torch.zeros((1, t, 1), dtype=torch.bool)
    mask[0, position] = True

    def objective(points: torch.Tensor) -> torch.Tensor:  # [k, layers, d_ff] -> p(answer) [k]
        edits = {("mlp.post", layer): Edit(mask=mask, source=points[:, layer][:, None, :]) for layer in range(layers)}
        batch = loaded.model_inputs(np.repeat(inputs.input_ids[None, :], len(points), axis=0), inputs.segment_ids)
        result = forward_for(loaded, "mlm", batch, Editor(edits), position, grad=torch.is_grad_enabled())
        return torch.softmax(result.mask_logits.double(), dim=-1)[:, answer_id]

    ig = integrated_gradients(objective, acts, torch.zeros_like(acts), reduce=lambda e: e,
                              fixed_nodes=steps, batch_size=max(1, min(64, 2048 // t)))
    return NeuronScores(inputs, position, int(answer_id), loaded.tokenizer.convert_ids_to_tokens(int(answer_id)),
                        np.asarray(ig.attributions), ig.value, ig.baseline_value, abs(ig.completeness_error),
                        ig.max_change, ig.converged, ig.nodes, forwards=forward_count() - before)


@dataclass(frozen=True)
class NeuronEdit:
    """p(answer) before and after scaling chosen neurons at the [MASK], on the fact and on a control prompt."""

    neurons: tuple[tuple[int, int], ...]
    factor: float  # 0 switches them off, 2 doubles them
    answer_name: str
    before: float
    after: float
    control_answer_name: str = ""
    control_before: float | None = None
    control_after: float | None = None

    @property
    def change(self) -> float:
        """Relative change of the fact's probability (−1: gone)."""
        return (self.after - self.before) / self.before if self.before else 0.0

    @property
    def control_change(self) -> float | None:
        if self.control_before is None or not self.control_before:
            return None
        return (self.control_after - self.control_before) / self.control_before


def _scaled_probabilities(loaded: LoadedModel, inputs: Tokenized, position: int, neurons, factor: float,
                          answer_id: int | None) -> tuple[int, float, float]:
    """ONE forward of two rows (unedited, edited): the answer and its probability in each."""
    d_ff = None
    scale_by_layer: dict[int, list[int]] = {}
    for layer, neuron in neurons:
        scale_by_layer.setdefault(int(layer), []).append(int(neuron))
    edits = {}
    for layer, chosen in scale_by_layer.items():
        edits[("mlp.post", layer)] = Edit(scale=_scale(loaded, len(inputs), position, chosen, factor, d_ff))
    batch = loaded.model_inputs(np.repeat(inputs.input_ids[None, :], 2, axis=0), inputs.segment_ids)
    out = forward_for(loaded, "mlm", batch, Editor(edits), position)
    probs = torch.softmax(out.mask_logits.double(), dim=-1)
    if answer_id is None:
        answer_id = _top(probs[0], set(loaded.tokenizer.all_special_ids), ())
    return int(answer_id), float(probs[0, answer_id]), float(probs[1, answer_id])


def _scale(loaded: LoadedModel, t: int, position: int, chosen: list[int], factor: float, d_ff) -> torch.Tensor:
    width = int(getattr(loaded.config, "intermediate_size", 0) or getattr(loaded.config, "hidden_dim", 0))
    scale = torch.ones((2, t, width), dtype=torch.float64)
    scale[1, position, chosen] = factor  # row 0 stays unedited
    return scale


def edit_neurons(loaded: LoadedModel, prompt: str | Tokenized, neurons: list[tuple[int, int]], factor: float = 0.0,
                 answer: str | None = None, control: str | Tokenized | None = None,
                 control_answer: str | None = None) -> NeuronEdit:
    """Multiply the chosen (layer, neuron) activations at the [MASK] by `factor` (0: off) and compare p(answer);
    the same edit on `control` (another prompt with a [MASK]) shows whether the neurons are specific to the fact.
    One forward per prompt (two rows: unedited and edited)."""
    if not neurons:
        raise InputError(_("Choose at least one neuron."))
    inputs, position = _prompt(loaded, prompt)
    answer_id = token_id(loaded, answer) if answer else None
    answer_id, before, after = _scaled_probabilities(loaded, inputs, position, neurons, factor, answer_id)
    result = dict(neurons=tuple((int(a), int(b)) for a, b in neurons), factor=float(factor),
                  answer_name=loaded.tokenizer.convert_ids_to_tokens(answer_id), before=before, after=after)
    if control:
        c_inputs, c_position = _prompt(loaded, control)
        c_id = token_id(loaded, control_answer) if control_answer else None
        c_id, c_before, c_after = _scaled_probabilities(loaded, c_inputs, c_position, neurons, factor, c_id)
        result.update(control_answer_name=loaded.tokenizer.convert_ids_to_tokens(c_id), control_before=c_before,
                      control_after=c_after)
    return NeuronEdit(**result)
