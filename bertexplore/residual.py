"""The residual stream from a trace, the way TransformerLens users read it: accumulated per layer, decomposed into
embedding / attention (or per-head) / FFN parts, per-head results stacked, and direct logit attribution.

BERT normalises AFTER each sub-layer, so the hidden state is not a plain sum of the sub-layers' outputs as in GPT-2.
It is still an exact sum of parts once each LayerNorm is applied to every part with the scale the model really used
(TransformerLens's "frozen LayerNorm scale"): LN(Σ pᵢ) = Σ (pᵢ − mean(pᵢ))·γ/σ + β, σ taken from the recorded
pre-LayerNorm sum. The β's of every LayerNorm are one more part ("LayerNorm biases"). So `decompose_resid(...).parts`
sums to the recorded hidden state to float rounding; an FFN's part is its output, itself a function of the parts
before it, exactly as in TransformerLens's decompose_resid.

    trace = run_trace(loaded, text, names=RESIDUAL_NAMES)
    parts = decompose_resid(trace, loaded, per_head=True)       # labels: embed, L0H0 … L0 attn bias, L0 mlp, …
    dla = logit_attribution(trace, loaded, parts, token=3, target=1012)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import anatomy
from .errors import InputError, UnsupportedModel
from .i18n import _
from .loading import LoadedModel
from .trace import Trace

# What decompose_resid reads: every block's attention output (or per-head results), the pre-LayerNorm sums and
# the FFN outputs, plus the final hidden states for the check and the heads' outputs.
RESIDUAL_NAMES = ("embed.out", "blocks.*.attn.out", "blocks.*.attn.head_out", "blocks.*.resid_mid",
                  "blocks.*.normalized_resid_mid", "blocks.*.mlp.out", "blocks.*.resid_post",
                  "blocks.*.normalized_resid_post")
LN_BIAS = "LayerNorm biases"


def accumulated_resid(trace: Trace) -> np.ndarray:
    """[layers + 1, T, D]: the embedding output, then every block's output (normalized_resid_post): transformers'
    `hidden_states`. BERT's residual stream after block l is that block's normalized output."""
    return np.stack([trace["embed.out"]] + [trace[f"blocks.{l}.normalized_resid_post"] for l in range(trace.num_layers)])


def stack_head_results(trace: Trace) -> np.ndarray:
    """[layers, heads, T, D]: each head's share of each block's attention output (attn.head_out, derived: see the
    README); per layer, the heads plus the output bias sum to attn.out."""
    return trace.stack("blocks.*.attn.head_out")


@dataclass(frozen=True)
class ResidualParts:
    """The hidden state after block `layer` as a sum of named parts."""

    layer: int
    labels: tuple[str, ...]  # "embed", "L{l} attn" or "L{l}H{h}" + "L{l} attn bias", "L{l} mlp", LN_BIAS
    parts: np.ndarray  # [parts, T, D], float64

    def total(self) -> np.ndarray:
        return self.parts.sum(0)


def _ln_parts(parts: list[np.ndarray], recorded_sum: np.ndarray | None, gamma: np.ndarray, beta: np.ndarray,
              eps: float) -> tuple[list[np.ndarray], np.ndarray]:
    """LayerNorm of Σ parts applied part by part with the model's own scale σ; returns (new parts, β)."""
    total = sum(parts) if recorded_sum is None else np.asarray(recorded_sum, np.float64)
    sigma = np.sqrt(total.var(-1, keepdims=True) + eps)  # [T, 1] the scale the model divided by
    return [(p - p.mean(-1, keepdims=True)) / sigma * gamma for p in parts], np.broadcast_to(beta, total.shape)


def decompose_resid(trace: Trace, loaded: LoadedModel, layer: int | None = None, per_head: bool = False) -> ResidualParts:
    """The hidden state after block `layer` (default: the last) as embedding, attention (per head when asked), FFN
    and LayerNorm-bias parts that sum to it exactly (see the module's docstring)."""
    layer = trace.num_layers - 1 if layer is None else int(layer)
    if not 0 <= layer < trace.num_layers:
        raise InputError(_("'{layer}': the model has layers 0..{last}.").format(layer=layer, last=trace.num_layers - 1))
    labels: list[str] = ["embed"]
    parts: list[np.ndarray] = [np.asarray(trace["embed.out"], np.float64)]
    bias_part = np.zeros_like(parts[0])
    for l in range(layer + 1):
        w = anatomy.layer_weights(loaded, l)
        p = f"blocks.{l}."
        if per_head:
            heads = np.asarray(trace[p + "attn.head_out"], np.float64)
            labels += [f"L{l}H{h}" for h in range(heads.shape[0])] + [f"L{l} attn bias"]
            parts += list(heads) + [np.broadcast_to(np.asarray(w.o_b, np.float64), parts[0].shape)]
        else:
            labels.append(f"L{l} attn")
            parts.append(np.asarray(trace[p + "attn.out"], np.float64))
        scaled, beta = _ln_parts(parts + [bias_part], trace[p + "resid_mid"] if p + "resid_mid" in trace else None,
                                 w.ln1_w, w.ln1_b, w.ln1_eps)
        parts, bias_part = scaled[:-1], scaled[-1] + beta
        labels.append(f"L{l} mlp")
        parts.append(np.asarray(trace[p + "mlp.out"], np.float64))
        scaled, beta = _ln_parts(parts + [bias_part], trace[p + "resid_post"] if p + "resid_post" in trace else None,
                                 w.ln2_w, w.ln2_b, w.ln2_eps)
        parts, bias_part = scaled[:-1], scaled[-1] + beta
    return ResidualParts(layer, tuple(labels) + (LN_BIAS,), np.stack(parts + [bias_part]))


@dataclass(frozen=True)
class LogitAttribution:
    """Each part's direct contribution to one output logit at one token: part · direction."""

    labels: tuple[str, ...]
    values: np.ndarray  # [parts]
    logit: float  # the model's own logit (from the trace where it holds it, else recomputed from the head)
    constant: float  # what the head adds on its own (its bias), included in `logit`
    exact: bool  # True for linear heads: values.sum() + constant == logit; False: a linearisation at the real input

    @property
    def linear_estimate(self) -> float:
        return float(self.values.sum() + self.constant)


def _np(t) -> np.ndarray:
    return t.detach().double().cpu().numpy()


def _head_direction(loaded: LoadedModel, hidden: np.ndarray, token: int, target: int) -> tuple[np.ndarray, float, float, bool]:
    """(direction [D], constant, the logit, exact) of output `target` at `token`, from the final hidden states."""
    import torch

    model = loaded.model
    head = loaded.head
    h = np.asarray(hidden, np.float64)
    if head in ("token-classification", "question-answering"):
        linear = getattr(model, "classifier" if head == "token-classification" else "qa_outputs", None)
        if not isinstance(linear, torch.nn.Linear):
            raise UnsupportedModel(_("This family's task head is laid out differently from BERT's."))
        w, b = _np(linear.weight)[target], float(_np(linear.bias)[target]) if linear.bias is not None else 0.0
        return w, b, float(h[token] @ w + b), True
    # Non-linear heads: the gradient of the logit at the model's real final hidden state (first-order), from the
    # model's own head module run through its door with gradients on (bertexplore.heads says what each takes).
    from . import heads

    name = {"mlm": "mlm", "pretraining": "mlm", "sequence-classification": "cls"}.get(head)
    if name is None or heads.find(loaded, name) is None:
        raise UnsupportedModel(_("Direct logit attribution covers masked-LM heads, BERT's [CLS] classifier "
                                 "(token 0), token classification and question answering."))
    seq = torch.tensor(h[None], dtype=torch.float32, requires_grad=True)  # [1, T, D]
    if name == "mlm":
        logit = loaded.head_call("mlm", seq[:, token], grad=True)[0, target]
    else:  # the classifier reads the sequence ([CLS] through the pooler, or its own dense layer)
        logit = loaded.head_call("cls", seq, grad=True)[0, target]
    logit.backward()
    return seq.grad[0, token].double().cpu().numpy(), 0.0, float(logit.detach()), False


def logit_attribution(trace: Trace, loaded: LoadedModel, parts: ResidualParts, token: int, target: int) -> LogitAttribution:
    """Direct logit attribution of `parts` (decompose_resid of the LAST layer) to output `target` at `token`:
    a vocabulary id for masked-LM heads, a label for classifiers (token 0 = [CLS]), 0 / 1 = start / end for QA.

    Token classification and QA heads are linear in the hidden state: the values plus the head's bias ARE the
    logit. Masked-LM and [CLS] classifier heads are not (dense + activation + LayerNorm; pooler's tanh): there each
    part is projected on the gradient of the logit at the model's real hidden state, a first-order attribution
    (`exact` False; `linear_estimate` shows how far the linearisation is from the logit)."""
    if parts.layer != trace.num_layers - 1:
        raise InputError(_("Direct logit attribution reads the decomposition of the last layer."))
    if not 0 <= token < len(trace.tokens):
        raise InputError(_("Token positions {bad} are outside the input (0..{n_inputs}).").format(
            bad=[token], n_inputs=len(trace.tokens) - 1))
    hidden = trace[f"blocks.{trace.num_layers - 1}.normalized_resid_post"]
    direction, constant, logit, exact = _head_direction(loaded, hidden, token, target)
    values = parts.parts[:, token] @ direction
    recorded = {"token-classification": ("token.logits", (token, target)),
                "question-answering": (("qa.start_logits", "qa.end_logits")[min(target, 1)], (token,))}.get(loaded.head)
    if recorded is not None and recorded[0] in trace:  # the model's own logit, recorded by its forward
        logit = float(trace[recorded[0]][recorded[1]])
    return LogitAttribution(parts.labels, values, logit, constant, exact)
