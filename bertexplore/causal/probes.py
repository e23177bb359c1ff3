"""Linear probes per layer with a control task (Hewitt & Liang 2019).

A probe is a linear classifier (ridge, one-vs-rest) from one layer's vector of a word (its first wordpiece) to the word's tag. High
accuracy alone proves little: a probe can memorise word identities. The control task gives every word TYPE a random
tag (drawn once from the tags' frequencies, seeded), so only memorisation can solve it; selectivity = task accuracy
− control accuracy says how much of the accuracy the layer's representation explains beyond that. Sentences are
split into train and test sets (never words of one sentence on both sides).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from ..errors import InputError, UnsupportedModel
from ..i18n import _
from ..loading import LoadedModel
from .bundled import TAGSETS, Tagged
from .edits import Editor, run


@dataclass(frozen=True)
class WordVectors:
    """Every word's first-wordpiece vector at every layer: [layers + 1, words, hidden] (row 0: embeddings)."""

    vectors: np.ndarray
    words: tuple[str, ...]
    tags: tuple[str, ...]
    sentence: np.ndarray  # [words] which sentence each word came from
    unknown: float  # share of words whose first wordpiece is the unknown token
    forwards: int


@dataclass(frozen=True)
class ProbeResult:
    layers: tuple[str, ...]  # "emb", "1".."L"
    accuracy: np.ndarray  # [layers + 1] on the held-out sentences
    control: np.ndarray  # [layers + 1] control task, same words, same split
    majority: float  # the most frequent training tag's accuracy on the test words
    tags: tuple[str, ...]
    n_train: int
    n_test: int
    unknown: float

    @property
    def selectivity(self) -> np.ndarray:
        return self.accuracy - self.control


def word_vectors(loaded: LoadedModel, sentences: Sequence[Tagged], batch_size: int = 16) -> WordVectors:
    """One forward per `batch_size` sentences (padded), keeping the embedding output and every layer's output."""
    if not loaded.full_cache:
        raise UnsupportedModel(_("Probing needs a model whose every step is recorded; '{name}' is not one.").format(
                                   name=loaded.name))
    keep = {("embed", 0)} | {("normalized_resid_post", layer) for layer in range(loaded.num_layers)}
    order = [("embed", 0)] + [("normalized_resid_post", layer) for layer in range(loaded.num_layers)]
    chunks, words, tags, sentence_of = [], [], [], []
    unk, forwards = 0, 0
    for start in range(0, len(sentences), batch_size):
        group = sentences[start:start + batch_size]
        with loaded.lock:  # fast tokenizers are not thread-safe
            enc = loaded.tokenizer([list(s.words) for s in group], is_split_into_words=True, padding=True,
                                   truncation=True, max_length=loaded.max_length, return_tensors="np")
            word_ids = [enc.word_ids(i) for i in range(len(group))]
        batch = loaded.model_inputs(enc["input_ids"], np.zeros_like(enc["input_ids"]))
        batch["attention_mask"] = torch.as_tensor(enc["attention_mask"])
        editor = Editor(keep=keep)
        run(loaded, batch, editor, encoder_only=True)
        forwards += 1
        stacked = torch.stack([editor.kept[key] for key in order]).float()  # [layers+1, B, T, D]
        rows, cols = [], []
        for i, (s, ids) in enumerate(zip(group, word_ids)):
            seen = set()
            for pos, wid in enumerate(ids):
                if wid is None or wid in seen:
                    continue
                seen.add(wid)
                rows.append(i)
                cols.append(pos)
                words.append(s.words[wid])
                tags.append(s.tags[wid])
                sentence_of.append(start + i)
                unk += int(enc["input_ids"][i, pos] == loaded.tokenizer.unk_token_id)
        chunks.append(stacked[:, rows, cols].numpy())
    if not words:
        raise InputError(_("No tagged words to probe."))
    return WordVectors(np.concatenate(chunks, axis=1), tuple(words), tuple(tags), np.asarray(sentence_of),
                       unk / len(words), forwards)


def control_tags(words: Sequence[str], tags: Sequence[str], seed: int = 0) -> tuple[str, ...]:
    """Each word type (lower-cased) gets one tag drawn at random from the tags' empirical distribution."""
    rng = np.random.default_rng(seed)
    names, counts = np.unique(np.asarray(tags), return_counts=True)
    p = counts / counts.sum()
    types = sorted({w.lower() for w in words})
    drawn = dict(zip(types, rng.choice(names, size=len(types), p=p)))
    return tuple(str(drawn[w.lower()]) for w in words)


def split_sentences(sentence: np.ndarray, test_share: float = 0.25, seed: int = 0) -> np.ndarray:
    """Boolean [words]: True for the words of the held-out sentences."""
    ids = np.unique(sentence)
    rng = np.random.default_rng(seed)
    test = rng.choice(ids, size=max(1, int(round(test_share * len(ids)))), replace=False)
    return np.isin(sentence, test)


PROBE_ALPHA = 10.0  # ridge penalty on standardised features


def _fit_score(x: np.ndarray, y: np.ndarray, test: np.ndarray) -> float:
    from sklearn.linear_model import RidgeClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if len(set(y[~test])) < 2:
        return float(np.mean(y[test] == y[~test][0]))
    # A least-squares linear classifier: closed form, so a page's 2 × (L + 1) probes take well under a second
    # (logistic regression's iterations took minutes on a loaded 2-core machine) and the result is deterministic.
    probe = make_pipeline(StandardScaler(), RidgeClassifier(alpha=PROBE_ALPHA))
    probe.fit(x[~test], y[~test])
    return float(probe.score(x[test], y[test]))


def probe(vectors: WordVectors, seed: int = 0, test_share: float = 0.25) -> ProbeResult:
    """Train a task probe and a control probe per layer on the same words and split; score on held-out sentences."""
    y = np.asarray(vectors.tags)
    y_control = np.asarray(control_tags(vectors.words, vectors.tags, seed))
    test = split_sentences(vectors.sentence, test_share, seed)
    if test.all() or not test.any():
        raise InputError(_("Too few sentences to hold some out for testing."))
    accuracy = np.array([_fit_score(v, y, test) for v in vectors.vectors])
    control = np.array([_fit_score(v, y_control, test) for v in vectors.vectors])
    names, counts = np.unique(y[~test], return_counts=True)
    majority = float(np.mean(y[test] == names[np.argmax(counts)]))
    layers = ("emb",) + tuple(str(l + 1) for l in range(vectors.vectors.shape[0] - 1))
    return ProbeResult(layers, accuracy, control, majority, tuple(str(n) for n in names), int((~test).sum()),
                       int(test.sum()), vectors.unknown)


def probe_tagset(loaded: LoadedModel, tagset: str = "pos", language: str = "en", seed: int = 0) -> ProbeResult:
    """Probe the bundled `tagset` ("pos" or "ner") sentences in `language` ("en" or "zh")."""
    if tagset not in TAGSETS:
        raise InputError(_("Unknown tag set '{name}'; choose one of {choices}.").format(
                             name=tagset, choices=", ".join(TAGSETS)))
    return probe(word_vectors(loaded, TAGSETS[tagset](language)), seed=seed)
