"""Masked-LM predictions: top-k per mask from a Trace, and iterative joint filling of several masks.

Pipeline shape, like Hugging Face's fill-mask: preprocess (a Tokenized with masks) -> forward
(`trace_tokens`: one traced forward, counted and locked) -> postprocess into plain dataclasses.
Probabilities are always the softmax over the WHOLE vocabulary; hiding special tokens or "##" pieces
only filters what is listed, it never renormalises.
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import torch

from . import heads
from .download import download_command
from .errors import InputError, UnsupportedModel
from .loading import LoadedModel
from .tokens import Tokenized
from .trace import Trace, trace_tokens
from .i18n import N_, _

FillOrder = Literal["confident", "left-to-right"]
FILL_ORDERS: dict[str, str] = {
    "confident": N_("most confident first"),
    "left-to-right": N_("left to right"),
}
# bert-base-uncased reserves [unused0]..[unused993]: never sensible predictions, and not in all_special_ids.
_RESERVED = re.compile(r"^\[unused\d+\]$|^<unused\d+>$")


def require_mlm_head(loaded: LoadedModel) -> None:
    """Refuse, with advice, a model whose masked-LM head would be random weights."""
    head = heads.find(loaded, "mlm")
    if head is None:
        raise UnsupportedModel(_("'{name}' was loaded with the {head} head; masked-LM needs the 'mlm' head.").format(
                                   name=loaded.name, head=loaded.head))
    if not head.trained:
        raise UnsupportedModel(
            _("'{name}' has no masked-LM head (its checkpoint lacks those weights), so it cannot predict "
              "masked words. Pick bert-base-uncased (fetch it with `{command}`) or train a masked-LM head on the "
              "Fine-tune page.").format(name=loaded.name, command=download_command("bert-base-uncased", "--to", "models"))
        )
    if loaded.tokenizer.mask_token_id is None:
        raise UnsupportedModel(_("The tokenizer of '{name}' has no mask token.").format(name=loaded.name))


_cache_lock = threading.Lock()
_vocab_cache: dict[tuple, tuple[str, ...]] = {}
_allowed_cache: dict[tuple, np.ndarray] = {}
_CACHE_ENTRIES = 8  # a few models' vocabularies (~2 MB each for 30k tokens)


def _remember(cache: dict, key: tuple, value):
    with _cache_lock:
        if len(cache) >= _CACHE_ENTRIES:
            cache.pop(next(iter(cache)))
        cache[key] = value
    return value


def _vocab_key(loaded: LoadedModel, size: int) -> tuple:
    # Same checkpoint and same tokenizer length: same vocabulary, whichever LoadedModel holds it.
    return (loaded.source, type(loaded.tokenizer).__name__, len(loaded.tokenizer), size)


def vocabulary(loaded: LoadedModel, size: int) -> tuple[str, ...]:
    """Token strings for ids 0..size-1 (ids the tokenizer does not know become '[id N]'); cached per checkpoint."""
    key = _vocab_key(loaded, size)
    if key in _vocab_cache:
        return _vocab_cache[key]
    tok = loaded.tokenizer
    known = min(size, len(tok))
    tokens = loaded.tokens_of(range(known))
    vocab = tuple(t if t is not None else f"[id {i}]" for i, t in enumerate(tokens)) + tuple(
        f"[id {i}]" for i in range(known, size))
    return _remember(_vocab_cache, key, vocab)


def allowed_ids(loaded: LoadedModel, vocab: tuple[str, ...] | list[str], hide_special: bool = True,
                hide_subwords: bool = False) -> np.ndarray:
    """Read-only boolean [V]: which vocabulary entries may be listed or chosen."""
    key = _vocab_key(loaded, len(vocab)) + (hide_special, hide_subwords, hash(tuple(vocab)))
    if key in _allowed_cache:
        return _allowed_cache[key]
    allowed = np.ones(len(vocab), dtype=bool)
    if hide_special:
        for i in loaded.tokenizer.all_special_ids:
            if 0 <= i < len(vocab):
                allowed[i] = False
        allowed &= np.array([not (_RESERVED.match(t) or t.startswith("[id ")) for t in vocab], dtype=bool)
    if hide_subwords:
        allowed &= np.array([not t.startswith("##") for t in vocab], dtype=bool)
    if not allowed.any():
        raise InputError(_("Every token of the vocabulary is filtered out; show sub-word pieces or special "
                           "tokens."))
    allowed.setflags(write=False)  # shared by every session
    return _remember(_allowed_cache, key, allowed)


@dataclass(frozen=True)
class Prediction:
    token: str
    token_id: int
    probability: float
    log_prob: float


@dataclass(frozen=True)
class MaskPredictions:
    """The top-k candidates at one [MASK], plus how the model rates the token that was masked there."""

    position: int
    predictions: tuple[Prediction, ...]
    original: str | None = None  # the wordpiece the user masked (None for a typed [MASK])
    original_probability: float | None = None
    original_rank: int | None = None  # 1 = the model's first choice, over the whole vocabulary

    def rows(self) -> list[dict]:
        return [{"rank": i + 1, "token": p.token, "probability": p.probability, "log-prob": p.log_prob}
                for i, p in enumerate(self.predictions)]


def _original_ids(trace: Trace, original: Tokenized | None, mask_id: int) -> list[int | None]:
    if original is None or len(original) != len(trace.inputs):
        return [None] * len(trace.mask_positions)
    return [None if int(original.input_ids[p]) == mask_id else int(original.input_ids[p]) for p in trace.mask_positions]


def top_k(
    loaded: LoadedModel,
    trace: Trace,
    k: int = 10,
    hide_special: bool = True,
    hide_subwords: bool = False,
    original: Tokenized | None = None,
) -> list[MaskPredictions]:
    """Top-k tokens per mask, most probable first. `original` (the unmasked tokens) adds the true token's rank."""
    require_mlm_head(loaded)
    if not 1 <= k <= 1000:
        raise InputError(_("k must be between 1 and 1000, not {k}.").format(k=k))
    if not trace.mask_positions:
        raise InputError(_("There is no [MASK] in the text: click a token to mask it, or type [MASK]."))
    if trace.mask_log_probs is None:
        raise UnsupportedModel(_("The trace of '{model_name}' holds no masked-LM output.").format(
                                   model_name=trace.model_name))
    log_probs = np.asarray(trace.mask_log_probs, dtype=np.float64)
    vocab = vocabulary(loaded, log_probs.shape[1])
    allowed = allowed_ids(loaded, vocab, hide_special, hide_subwords)
    results = []
    for row, position, orig_id in zip(log_probs, trace.mask_positions, _original_ids(trace, original, loaded.tokenizer.mask_token_id)):
        scores = np.where(allowed, row, -np.inf)
        n = min(k, int(allowed.sum()))
        best = np.argpartition(-scores, n - 1)[:n]
        best = best[np.argsort(-scores[best], kind="stable")]
        preds = tuple(Prediction(vocab[i], int(i), float(np.exp(row[i])), float(row[i])) for i in best)
        extra = {}
        if orig_id is not None and 0 <= orig_id < len(row):
            extra = dict(original=vocab[orig_id], original_probability=float(np.exp(row[orig_id])),
                         original_rank=int((row > row[orig_id]).sum()) + 1)
        results.append(MaskPredictions(position=int(position), predictions=preds, **extra))
    return results


def mlm_logits(output) -> torch.Tensor:
    """Vocabulary logits [batch, T, V] of a masked-LM (or pre-training) model output."""
    logits = getattr(output, "logits", None)
    if logits is None:
        logits = getattr(output, "prediction_logits", None)
    if logits is None:
        raise UnsupportedModel(_("The model returned no vocabulary logits; it needs a masked-LM head."))
    return logits


@dataclass(frozen=True)
class FillStep:
    step: int  # 1-based: the order in which masks were filled
    position: int
    token: str
    token_id: int
    probability: float  # of the chosen token, given the text filled so far
    log_prob: float
    cumulative_log_prob: float  # sum of log_prob over steps 1..step


@dataclass(frozen=True)
class FillResult:
    order: str
    steps: tuple[FillStep, ...]
    tokens: tuple[str, ...]  # the whole input with every mask filled
    input_ids: np.ndarray
    text: str  # the filled sequence decoded back to text (special tokens dropped)
    forwards: int

    @property
    def log_prob(self) -> float:
        return self.steps[-1].cumulative_log_prob if self.steps else 0.0

    def rows(self) -> list[dict]:
        return [{"step": s.step, "position": s.position, "token": s.token, "probability": s.probability,
                 "log-prob": s.log_prob, "cumulative log-prob": s.cumulative_log_prob} for s in self.steps]


def fill_masks(
    loaded: LoadedModel,
    inputs: Tokenized,
    order: FillOrder = "confident",
    hide_special: bool = True,
    hide_subwords: bool = False,
    max_masks: int = 64,
) -> FillResult:
    """Fill every [MASK] of `inputs` greedily, one per forward, each conditioned on those filled before.

    "confident" fills the mask whose best candidate is most probable first; "left-to-right" fills in
    reading order. Greedy decoding, so the chain is one plausible joint fill, not the most probable one.
    """
    require_mlm_head(loaded)
    if order not in FILL_ORDERS:
        raise InputError(_("Unknown fill order '{order}'; choose one of {choices}.").format(
                             order=order, choices=', '.join(FILL_ORDERS)))
    mask_id = loaded.tokenizer.mask_token_id
    ids = inputs.input_ids.copy()
    remaining = [int(p) for p in np.flatnonzero(ids == mask_id)]
    if not remaining:
        raise InputError(_("There is no [MASK] to fill: click a token to mask it, or type [MASK]."))
    if len(remaining) > max_masks:
        raise InputError(_("{n_remaining} masks would take {n_remaining} forwards; fill at most "
                           "{max_masks} at once.").format(n_remaining=len(remaining), max_masks=max_masks))
    allowed: np.ndarray | None = None
    vocab: tuple[str, ...] = ()
    steps: list[FillStep] = []
    total = 0.0
    while remaining:
        trace = trace_tokens(loaded, replace(inputs, input_ids=ids.copy()), ("mlm.log_probs",))
        log_probs = np.asarray(trace.mask_log_probs, dtype=np.float64)  # rows: the remaining masks, in reading order
        if allowed is None:
            vocab = vocabulary(loaded, log_probs.shape[1])
            allowed = allowed_ids(loaded, vocab, hide_special, hide_subwords)
        scores = np.where(allowed, log_probs, -np.inf)
        best_ids = scores.argmax(axis=1)
        best = scores[np.arange(len(remaining)), best_ids]
        # Ties keep reading order, so "confident" is deterministic.
        pick = int(np.argmax(best)) if order == "confident" else 0
        position, token_id, lp = remaining[pick], int(best_ids[pick]), float(best[pick])
        total += lp
        ids[position] = token_id
        steps.append(FillStep(len(steps) + 1, position, vocab[token_id], token_id, float(np.exp(lp)), lp, total))
        remaining.pop(pick)
    tokens = list(inputs.tokens)
    for s in steps:
        tokens[s.position] = s.token
    text = loaded.decode(ids, skip_special_tokens=True)
    return FillResult(order=order, steps=tuple(steps), tokens=tuple(tokens), input_ids=ids, text=text,
                      forwards=len(steps))
