"""One forward pass over the user's text, captured as a Trace that every view renders from.

Like TransformerLens' activation cache: names say what they hold, everything is float32 numpy,
and views never call the model again. `forward_count()` lets tests prove that.
"""
from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .errors import InputError, UnsupportedModel
from .loading import LoadedModel
from .tokens import Tokenized, tokenize

_count_lock = threading.Lock()
_forwards = 0


def forward_count() -> int:
    """How many model forwards this process has run through `forward` (tests use it)."""
    return _forwards


def forward(loaded: LoadedModel, batch: dict[str, torch.Tensor], encoder_only: bool = False, **kwargs: Any) -> Any:
    """Run the shared model once, without gradients, serialised by the model's lock.

    `encoder_only` skips the task head (e.g. the masked-LM vocabulary projection, ~14% of bert-base's compute at
    512 tokens) when only attentions and hidden states are wanted.
    """
    global _forwards
    with _count_lock:
        _forwards += 1
    batch = {k: v.to(loaded.device) for k, v in batch.items()}
    module = loaded.encoder if encoder_only else loaded.model
    with loaded.lock, torch.inference_mode():
        return module(**batch, **kwargs)


def model_inputs(loaded: LoadedModel, input_ids: np.ndarray, segment_ids: tuple[int, ...] | np.ndarray) -> dict[str, torch.Tensor]:
    """Batch of one (or many, for 2-D ids) in the form the model's forward takes."""
    ids = torch.as_tensor(np.atleast_2d(input_ids), dtype=torch.long)
    # No attention_mask: rows are never padded here, and an all-ones mask only costs eager attention a [T, T] add.
    batch = {"input_ids": ids}
    if loaded.uses_segments:
        segs = torch.as_tensor(np.atleast_2d(np.asarray(segment_ids)), dtype=torch.long)
        batch["token_type_ids"] = segs.expand_as(ids)
    return batch


@dataclass(frozen=True)
class Trace:
    """Everything one forward saw and produced, as read-only float32 numpy arrays."""

    model_name: str
    inputs: Tokenized
    attentions: np.ndarray  # [layers, heads, T, T]; row i: how token i spreads its attention
    hidden_states: np.ndarray  # [layers + 1, T, hidden]; index 0 is the embedding output
    mask_positions: tuple[int, ...] = ()
    mask_log_probs: np.ndarray | None = None  # [masks, vocab] log-softmax at each [MASK]; None without an MLM head
    meta: dict = field(default_factory=dict)

    @property
    def tokens(self) -> tuple[str, ...]:
        return self.inputs.tokens

    @property
    def num_layers(self) -> int:
        return int(self.attentions.shape[0])

    @property
    def num_heads(self) -> int:
        return int(self.attentions.shape[1])

    @property
    def nbytes(self) -> int:
        extra = 0 if self.mask_log_probs is None else self.mask_log_probs.nbytes
        return int(self.attentions.nbytes + self.hidden_states.nbytes + extra)


def _readonly(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array, dtype=np.float32)
    array.setflags(write=False)  # a trace may be shared between views; nobody may edit it
    return array


def apply_masks(loaded: LoadedModel, inputs: Tokenized, positions: list[int] | tuple[int, ...]) -> Tokenized:
    """Replace the tokens at `positions` with the mask token (special tokens are never masked)."""
    mask_id = loaded.tokenizer.mask_token_id
    if mask_id is None:
        raise UnsupportedModel(f"The tokenizer of '{loaded.name}' has no mask token.")
    bad = [p for p in positions if not (0 <= p < len(inputs))]
    if bad:
        raise InputError(f"Token positions {bad} are outside the input (0..{len(inputs) - 1}).")
    chosen = sorted({p for p in positions if not inputs.special[p]})
    if not chosen:
        return inputs
    ids = inputs.input_ids.copy()
    ids[chosen] = mask_id
    tokens = list(inputs.tokens)
    for p in chosen:
        tokens[p] = loaded.tokenizer.mask_token
    return dataclasses.replace(inputs, tokens=tuple(tokens), input_ids=ids)


def run_trace(
    loaded: LoadedModel,
    text: str,
    text_pair: str | None = None,
    masked: list[int] | tuple[int, ...] = (),
    max_length: int | None = None,
) -> Trace:
    """Tokenise, optionally mask token positions, and run ONE forward that captures everything."""
    limit = min(max_length or loaded.max_length, loaded.max_length)
    with loaded.lock:
        inputs = tokenize(loaded.tokenizer, text, text_pair, max_length=limit)
    if masked:
        inputs = apply_masks(loaded, inputs, masked)
    return trace_tokens(loaded, inputs)


def trace_tokens(loaded: LoadedModel, inputs: Tokenized) -> Trace:
    """The forward half of run_trace, for callers that built their own Tokenized."""
    mask_id = loaded.tokenizer.mask_token_id
    positions = tuple(int(p) for p in np.flatnonzero(inputs.input_ids == mask_id)) if mask_id is not None else ()
    wants_mlm = bool(positions) and loaded.head == "mlm" and loaded.has_head
    out = forward(loaded, model_inputs(loaded, inputs.input_ids, inputs.segment_ids), encoder_only=not wants_mlm,
                  output_attentions=True, output_hidden_states=True)
    if not out.attentions:
        raise UnsupportedModel(f"'{loaded.name}' returned no attention weights; it needs eager attention.")
    attentions = torch.stack([a[0] for a in out.attentions]).float().cpu().numpy()
    hidden = torch.stack([h[0] for h in out.hidden_states]).float().cpu().numpy()
    log_probs = None
    if wants_mlm:
        log_probs = torch.log_softmax(out.logits[0, list(positions)].float(), dim=-1).cpu().numpy()
    return Trace(
        model_name=loaded.name, inputs=inputs, attentions=_readonly(attentions),
        hidden_states=_readonly(hidden), mask_positions=positions,
        mask_log_probs=None if log_probs is None else _readonly(log_probs),
    )
