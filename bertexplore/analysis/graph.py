"""The contribution graph: from one output position ([MASK] or [CLS]) down through the layers to the input tokens.

Design idea from the LLM Transparency Tool (Tufanov et al. 2024; ideas only, none of its code): nodes are
(layer, token) states, edges carry how much of the upper state the lower one makes up, and only edges above a
threshold are drawn, starting from the output and following kept edges down.

Scores are ALTI contributions (alti.py): C_l[i, j] is token j's share of token i after block l. The flow of node
(l, i) is its total share of the output position p, the ALTI rollout R_l[p, i]; the edge (l, i) → (l−1, j) carries
R_l[p, i]·C_l[i, j], so the edges into a node add up to its flow. Heads: each state's share of the attention
heads and of the residual (the same proximity measure, over the heads' outputs and the token's own input).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..errors import InputError
from ..i18n import _
from .alti import alti_layer
from .arrays import layer_arrays, with_names
from .norms import parts

DEFAULT_THRESHOLD = 0.04
# The default threshold is chosen per graph (default_threshold): a fixed 0.04 left "The capital of France is [MASK]."
# on the packaged MiniLM with ONE chain (the [MASK] keeping itself, 7 nodes), since each layer's residual keeps
# 80-90% of a token and the rest is spread thin. Tried from the largest down, in the slider's 0.01 steps.
THRESHOLD_STEPS = tuple(round(0.01 * k, 2) for k in range(10, 0, -1))
MIN_INPUTS = 3  # input tokens the default graph reaches: more than one chain
MAX_NODES = 60  # ...without becoming a hairball


@dataclass(frozen=True)
class Contributions:
    """Everything the graph needs, computed once per trace (sliders then only filter)."""

    tokens: tuple[str, ...]
    per_layer: np.ndarray  # [L, T, T] ALTI C_l
    heads: np.ndarray  # [L, T, H + 1] share of each head (and, last, the residual) in each token's block output

    @property
    def num_layers(self) -> int:
        return int(self.per_layer.shape[0])


def head_shares(p) -> np.ndarray:
    """[T, H + 1] ALTI-style share of each head and of the residual in each token's block output."""
    heads_ln = torch.bmm(p.alpha, p.f_ln) / p.sigma[None, :, None]  # [H, T, D] head h's part of y_i
    residual = (p.x_ln / p.sigma[:, None])[None]  # [1, T, D]
    parts_ = torch.cat([heads_ln, residual])  # [H + 1, T, D]
    closeness = (p.y.abs().sum(-1)[None] - (p.y[None] - parts_).abs().sum(-1)).clamp_min(0)  # [H + 1, T]
    sums = closeness.sum(0, keepdim=True)
    return torch.where(sums > 0, closeness / sums.clamp_min(1e-30), 0.0).T.numpy().astype(np.float32)


def contributions(trace: Any, loaded: Any) -> Contributions:
    trace = with_names(trace, loaded)
    per_layer, heads = [], []
    for layer in range(trace.num_layers):
        arrays = layer_arrays(trace, loaded, layer)
        p = parts(arrays)
        per_layer.append(alti_layer(arrays, p))
        heads.append(head_shares(p))
    return Contributions(tuple(trace.tokens), np.stack(per_layer), np.stack(heads))


@dataclass(frozen=True)
class Graph:
    """Kept nodes and edges. Level 0 = input embeddings, level L = after the last block."""

    output: int
    threshold: float
    nodes: tuple[tuple[int, int], ...]  # (level, token)
    flow: dict[tuple[int, int], float]  # share of the output position, per kept node
    edges: tuple[tuple[tuple[int, int], tuple[int, int], float], ...]  # (upper node, lower node, weight)


def build_graph(contrib: Contributions, output: int, threshold: float = DEFAULT_THRESHOLD) -> Graph:
    length = len(contrib.tokens)
    if not 0 <= output < length:
        raise InputError(_("Token {pos} does not exist: the input has tokens 0 to {last}.").format(
            pos=output, last=length - 1))
    if not 0.0 <= threshold <= 1.0:
        raise InputError(_("The threshold must lie between 0 and 1."))
    top = contrib.num_layers
    flow_row = np.zeros(length)
    flow_row[output] = 1.0
    flows = {top: flow_row}
    for level in range(top, 0, -1):  # the exact rollout of the output's row, level by level
        flows[level - 1] = flows[level] @ contrib.per_layer[level - 1]
    kept = {(top, output)}
    edges = []
    for level in range(top, 0, -1):
        uppers = sorted(i for (lv, i) in kept if lv == level)
        for i in uppers:
            weights = flows[level][i] * contrib.per_layer[level - 1][i]
            for j in np.flatnonzero(weights >= threshold):
                edges.append(((level, i), (level - 1, int(j)), float(weights[j])))
                kept.add((level - 1, int(j)))
    nodes = tuple(sorted(kept))
    return Graph(output, threshold, nodes, {n: float(flows[n[0]][n[1]]) for n in nodes}, tuple(edges))


def default_threshold(contrib: Contributions, output: int, min_inputs: int = MIN_INPUTS,
                      max_nodes: int = MAX_NODES) -> float:
    """The largest threshold (0.10 down to 0.01) whose graph reaches `min_inputs` input tokens (or every token of
    a shorter input), stopping before the graph exceeds `max_nodes`."""
    wanted = min(min_inputs, len(contrib.tokens))
    chosen = THRESHOLD_STEPS[0]
    for threshold in THRESHOLD_STEPS:
        graph = build_graph(contrib, output, threshold)
        if len(graph.nodes) > max_nodes:
            break
        chosen = threshold
        if sum(1 for level, _t in graph.nodes if level == 0) >= wanted:
            break
    return chosen


@dataclass(frozen=True)
class NodeDetail:
    level: int
    token: int
    flow: float
    sources: list[tuple[int, str, float]]  # (token, text, share of this state), largest first
    heads: list[tuple[str, float]]  # ("head 3" / "residual", share), largest first


def node_detail(contrib: Contributions, graph: Graph, node: tuple[int, int], top: int = 8) -> NodeDetail:
    level, token = node
    if level == 0:
        return NodeDetail(level, token, graph.flow.get(node, 0.0), [], [])
    row = contrib.per_layer[level - 1][token]
    order = np.argsort(-row)[:top]
    shares = contrib.heads[level - 1][token]
    names = [_("head {h}").format(h=h + 1) for h in range(len(shares) - 1)] + [_("residual (itself)")]
    head_order = np.argsort(-shares)[:top]
    return NodeDetail(level, token, graph.flow.get(node, 0.0),
                      [(int(j), contrib.tokens[j], float(row[j])) for j in order],
                      [(names[h], float(shares[h])) for h in head_order])
