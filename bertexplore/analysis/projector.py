"""Embedding projector: PCA of hidden states across several sentences, at any layer.

One padded forward of all sentences keeps every layer's hidden states; moving the layer only reruns the PCA
(scikit-learn), never the model. Watch the two senses of a word ("bank" by a river vs at a bank) separate with depth.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch

from ..errors import InputError
from ..i18n import _
from .census import _forward

MAX_SENTENCES = 20


@dataclass(frozen=True)
class Point:
    sentence: int
    position: int
    token: str
    special: bool


@dataclass(frozen=True)
class HiddenSet:
    sentences: tuple[str, ...]
    points: tuple[Point, ...]
    states: np.ndarray  # [L+1, N, D] every real token of every sentence
    cls: np.ndarray  # [L+1, S, D] the first token of each sentence
    mean: np.ndarray  # [L+1, S, D] mean over each sentence's real tokens (special tokens included)

    @property
    def num_layers(self) -> int:
        return int(self.states.shape[0] - 1)


def collect(loaded: Any, sentences: Sequence[str], max_length: int = 64) -> HiddenSet:
    sentences = tuple(s.strip() for s in sentences if s and s.strip())
    if len(sentences) < 2:
        raise InputError(_("Type at least two sentences, one per line."))
    if len(sentences) > MAX_SENTENCES:
        raise InputError(_("At most {n} sentences at a time.").format(n=MAX_SENTENCES))
    enc = loaded.with_tokenizer(lambda tok: tok(list(sentences), padding=True, truncation=True, return_tensors="pt",
                                                max_length=min(max_length, loaded.max_length),
                                                return_special_tokens_mask=True))
    batch = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
    out = _forward(loaded, batch, output_hidden_states=True)
    hs = torch.stack(list(out.hidden_states), dim=1).float().cpu().numpy()  # [S, L+1, T, D]
    points, rows, cls, mean = [], [], [], []
    for s in range(len(sentences)):
        n = int(enc["attention_mask"][s].sum())
        tokens = loaded.tokens_of(enc["input_ids"][s, :n])
        special = enc["special_tokens_mask"][s, :n].bool().tolist()
        points += [Point(s, i, t, sp) for i, (t, sp) in enumerate(zip(tokens, special))]
        rows.append(hs[s, :, :n])
        cls.append(hs[s, :, 0])
        mean.append(hs[s, :, :n].mean(1))
    return HiddenSet(sentences, tuple(points), np.concatenate(rows, axis=1), np.stack(cls, 1), np.stack(mean, 1))


@dataclass(frozen=True)
class Projection:
    coords: np.ndarray  # [N, 2]
    explained: tuple[float, float]  # share of variance of each axis
    labels: tuple[str, ...]
    sentence: tuple[int, ...]  # which sentence each point comes from


def project(data: HiddenSet, layer: int, unit: str = "tokens", include_special: bool = False) -> Projection:
    """2-D PCA of `unit` ("tokens", "cls" or "mean") at `layer` (0 = embeddings)."""
    from sklearn.decomposition import PCA

    if not 0 <= layer <= data.num_layers:
        raise InputError(_("Layer {layer} does not exist: choose 0 (embeddings) to {top}.").format(
            layer=layer, top=data.num_layers))
    if unit == "tokens":
        keep = [k for k, p in enumerate(data.points) if include_special or not p.special]
        x = data.states[layer, keep]
        labels = tuple(data.points[k].token for k in keep)
        sentence = tuple(data.points[k].sentence for k in keep)
    elif unit in ("cls", "mean"):
        x = (data.cls if unit == "cls" else data.mean)[layer]
        labels = tuple(f"{i + 1}: {s[:40]}" for i, s in enumerate(data.sentences))
        sentence = tuple(range(len(data.sentences)))
    else:
        raise InputError(_("Unknown unit '{unit}'.").format(unit=unit))
    if len(x) < 2:
        raise InputError(_("Not enough points to project."))
    pca = PCA(n_components=2, svd_solver="full")
    coords = pca.fit_transform(x.astype(np.float64))
    ratios = tuple(float(r) for r in pca.explained_variance_ratio_)
    return Projection(coords.astype(np.float32), (ratios[0], ratios[1] if len(ratios) > 1 else 0.0), labels, sentence)
