"""Step 5: around each attention and feed-forward sub-layer, the residual stream and LayerNorm (post-LN BERT).

BERT adds each sub-layer's output back to its input, then normalises (TransformerLens's names):
resid_mid = x + attn_out, normalized_resid_mid = LN1(resid_mid), resid_post = normalized_resid_mid + FFN(...),
normalized_resid_post = LN2(resid_post), with FFN(h) = act(h @ W_in + b_in) @ W_out + b_out.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..i18n import _
from .checks import Proof, layer_norm, proof


def activation(name: str, x: np.ndarray) -> np.ndarray:
    """The model's activation written out by its formula (anatomy.ACTIVATIONS), in float64."""
    from ..anatomy import activation as by_formula

    return by_formula(name, x)


@dataclass(frozen=True)
class SublayerStep:
    """x → x + f(x) → LayerNorm, for one token."""

    name: str  # "attention" or "feed-forward"
    x: np.ndarray  # [D] input of the sub-layer (the residual stream)
    update: np.ndarray  # [D] f(x): the attention output or the FFN output
    added: np.ndarray  # [D] x + f(x)
    mean: float
    var: float
    out: np.ndarray  # [D] LayerNorm(x + f(x))
    proofs: tuple[Proof, ...]


def sublayer_step(name: str, x: np.ndarray, update: np.ndarray, ln_w: np.ndarray, ln_b: np.ndarray, ln_eps: float,
                  model_out: np.ndarray | None = None, model_added: np.ndarray | None = None) -> SublayerStep:
    """`model_added`: the sum the model fed its LayerNorm (the trace's resid_mid / resid_post), where recorded."""
    added = np.asarray(x, np.float64) + np.asarray(update, np.float64)
    out, mean, var = layer_norm(added, ln_w, ln_b, ln_eps)
    proofs = () if model_added is None else (proof(_("x + {what} = the sum the model normalised").format(what=name),
                                                    added, model_added),)
    proofs += () if model_out is None else (proof(_("LayerNorm(x + {what}) = the model's output").format(what=name),
                                                   out, model_out),)
    f = lambda a: np.asarray(a, np.float32)  # noqa: E731
    return SublayerStep(name, f(x), f(update), f(added), float(mean), float(var), f(out), proofs)


@dataclass(frozen=True)
class FFNStep:
    token: int
    width: int  # F, the inner width
    hidden: int  # D
    activation: str
    pre: np.ndarray  # [F] h @ W_in + b_in
    post: np.ndarray  # [F] act(pre)
    out: np.ndarray  # [D] post @ W_out + b_out
    top: tuple[tuple[int, float, float], ...]  # (neuron, pre, post) of the most active neurons
    active_share: float  # share of neurons with a positive output for this token
    proofs: tuple[Proof, ...]

    @property
    def ratio(self) -> float:
        return self.width / self.hidden


def ffn_step(h: np.ndarray, w_in: np.ndarray, b_in: np.ndarray, w_out: np.ndarray, b_out: np.ndarray, act: str,
             token: int, model_pre: np.ndarray | None = None, model_post: np.ndarray | None = None,
             model_out: np.ndarray | None = None, k: int = 10) -> FFNStep:
    """`h`: [T, D] (normalized_resid_mid); weights in x @ W convention; `model_*`: the trace's mlp.pre / .post / .out, [T, *]."""
    x = np.asarray(h[token], np.float64)
    pre = x @ np.asarray(w_in, np.float64) + b_in
    post = activation(act, pre)
    out = post @ np.asarray(w_out, np.float64) + b_out
    order = np.argsort(-post)[:k]
    proofs = []
    if model_pre is not None:
        proofs.append(proof(_("h @ W_in + b_in = the model's FFN input"), pre, model_pre[token]))
    if model_post is not None:
        proofs.append(proof(_("{act}(…) = the model's activations").format(act=act), post, model_post[token]))
    if model_out is not None:
        proofs.append(proof(_("act @ W_out + b_out = the model's FFN output"), out, model_out[token]))
    f = lambda a: np.asarray(a, np.float32)  # noqa: E731
    return FFNStep(token, int(pre.shape[0]), int(x.shape[0]), act, f(pre), f(post), f(out),
                   tuple((int(i), float(pre[i]), float(post[i])) for i in order), float((post > 0).mean()), tuple(proofs))


@dataclass(frozen=True)
class ResidualFlow:
    """Per layer and token, how big the residual stream is and how much each sub-layer changes it."""

    norm_in: np.ndarray  # [L, T] |x| entering the layer
    norm_attn: np.ndarray  # [L, T] |attention output|
    norm_mid: np.ndarray  # [L, T] |LN1(x + attn)|
    norm_ffn: np.ndarray  # [L, T] |FFN output|
    norm_out: np.ndarray  # [L, T] |LN2(mid + ffn)|
    change_attn: np.ndarray  # [L, T] 1 - cos(x, normalized_resid_mid): how much attention + LN1 turned the vector
    change_ffn: np.ndarray  # [L, T] 1 - cos(normalized_resid_mid, normalized_resid_post)


def _cos_change(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    cos = (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1) + 1e-12)
    return (1.0 - cos).astype(np.float32)


def residual_flow(resid_in: list[np.ndarray], attn_out: list[np.ndarray], normalized_mid: list[np.ndarray],
                  ffn_out: list[np.ndarray], normalized_post: list[np.ndarray]) -> ResidualFlow:
    """Lists over layers of [T, D] arrays (the trace's blocks.l.* and embed.out for the first input)."""
    n = lambda xs: np.stack([np.linalg.norm(np.asarray(x, np.float64), axis=-1) for x in xs]).astype(np.float32)  # noqa: E731
    return ResidualFlow(
        n(resid_in), n(attn_out), n(normalized_mid), n(ffn_out), n(normalized_post),
        np.stack([_cos_change(a, b) for a, b in zip(resid_in, normalized_mid)]),
        np.stack([_cos_change(a, b) for a, b in zip(normalized_mid, normalized_post)]),
    )


def residual_flow_from_trace(trace, num_layers: int) -> ResidualFlow:
    ins = [trace["embed.out"]] + [trace[f"blocks.{l}.normalized_resid_post"] for l in range(num_layers - 1)]
    return residual_flow(
        ins, [trace[f"blocks.{l}.attn.out"] for l in range(num_layers)],
        [trace[f"blocks.{l}.normalized_resid_mid"] for l in range(num_layers)],
        [trace[f"blocks.{l}.mlp.out"] for l in range(num_layers)],
        [trace[f"blocks.{l}.normalized_resid_post"] for l in range(num_layers)],
    )
