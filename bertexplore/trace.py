"""One forward pass over the user's text, captured as a Trace: a cache of named activations every view reads.

Like TransformerLens' ActivationCache: names say what they hold (README has the table), every value is a read-only
float32 numpy array without the batch axis, and views never call the model again. A caller asks for the names its
view needs; the default is every layer's attention pattern plus the outputs of the heads the model has.

    trace = run_trace(loaded, "The cat sat.", names=["blocks.0.attn.q", "blocks.*.attn.pattern"])
    trace["blocks.0.attn.q"].shape  # (heads, T, d_head)
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np
import torch

from . import capture, heads
from .errors import InputError, UnsupportedModel
from .loading import LoadedModel, forward_count  # noqa: F401  (forward_count: part of this module's API)
from .tokens import Tokenized
from .i18n import _

PATTERNS = "blocks.*.attn.pattern"


@dataclass(frozen=True)
class Trace:
    """Everything one forward saw and produced, by name."""

    model_name: str
    inputs: Tokenized
    cache: Mapping[str, np.ndarray]
    num_layers: int
    num_heads: int
    mask_positions: tuple[int, ...] = ()
    patterns: np.ndarray | None = field(default=None, repr=False)  # [layers, heads, T, T] when all were captured
    meta: dict = field(default_factory=dict)

    @classmethod
    def from_patterns(cls, model_name: str, inputs: Tokenized, patterns: np.ndarray, **cache: np.ndarray) -> "Trace":
        """A trace holding given attention patterns [layers, heads, T, T] (and any other named arrays)."""
        patterns = _readonly(patterns)
        named = {f"blocks.{l}.attn.pattern": _view(patterns[l]) for l in range(patterns.shape[0])}
        named.update({k.replace("__", "."): _readonly(v) for k, v in cache.items()})
        return cls(model_name, inputs, named, patterns.shape[0], patterns.shape[1], patterns=patterns)

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self.cache[name]
        except KeyError:
            if self.meta.get("full_cache") is False and not (name.endswith(".attn.pattern") or name in capture.HEAD_NAMES):
                raise KeyError(_("'{model}' is not of a family whose every step is recorded: its traces hold attention "
                                 "patterns and head outputs only.").format(model=self.model_name)) from None
            raise KeyError(_("The trace holds no '{name}'; ask run_trace for it with names=[...]. It "
                             "holds: {names}{value}").format(
                               name=name, names=', '.join(self.names[:12]), value='…' if len(self.names) > 12 else '')) from None

    def __contains__(self, name: object) -> bool:
        return name in self.cache

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    @property
    def names(self) -> list[str]:
        return sorted(self.cache, key=_name_order)

    @property
    def tokens(self) -> tuple[str, ...]:
        return self.inputs.tokens

    @property
    def attentions(self) -> np.ndarray:
        """[layers, heads, T, T]: every layer's attention pattern (row i: how token i spreads its attention)."""
        if self.patterns is not None:
            return self.patterns
        missing = [l for l in range(self.num_layers) if f"blocks.{l}.attn.pattern" not in self.cache]
        if missing:
            raise KeyError(_("This trace was run without every layer's attention pattern."))
        return _readonly(np.stack([self.cache[f"blocks.{l}.attn.pattern"] for l in range(self.num_layers)]))

    @property
    def mask_log_probs(self) -> np.ndarray | None:
        """[masks, vocab] log-softmax at each [MASK]; None without a masked-LM head."""
        return self.cache.get("mlm.log_probs")

    def stack(self, name: str) -> np.ndarray:
        """`blocks.*.x` as one array with the layer first, e.g. stack("blocks.*.normalized_resid_post") -> [layers, T, D]."""
        return np.stack([self[name.replace("*", str(l))] for l in range(self.num_layers)])

    @property
    def nbytes(self) -> int:
        seen: set[int] = set()
        total = 0
        for array in list(self.cache.values()) + ([self.patterns] if self.patterns is not None else []):
            root = array
            while isinstance(root.base, np.ndarray):  # views of one buffer count once
                root = root.base
            if id(root) not in seen:
                seen.add(id(root))
                total += int(root.nbytes)
        return total


def _name_order(name: str) -> tuple:
    parts = name.split(".")
    if parts[0] == "embed":
        return (0, 0, capture.EMBED_NAMES.index(name) if name in capture.EMBED_NAMES else 99, name)
    if parts[0] == "blocks":
        rest = ".".join(parts[2:])
        return (1, int(parts[1]), capture.BLOCK_NAMES.index(rest) if rest in capture.BLOCK_NAMES else 99, name)
    return (2, 0, capture.HEAD_NAMES.index(name) if name in capture.HEAD_NAMES else 99, name)


def _readonly(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array, dtype=np.float32)
    array.setflags(write=False)  # a trace may be shared between views; nobody may edit it
    return array


def _view(array: np.ndarray) -> np.ndarray:
    view = array.view()
    view.setflags(write=False)
    return view


def forward(loaded: LoadedModel, batch: dict[str, torch.Tensor], encoder_only: bool = False, **kwargs: Any) -> Any:
    """Run the shared model once (see LoadedModel.forward, which this forwards to)."""
    return loaded.forward(batch, encoder_only=encoder_only, **kwargs)


def model_inputs(loaded: LoadedModel, input_ids: np.ndarray, segment_ids: tuple[int, ...] | np.ndarray) -> dict[str, torch.Tensor]:
    """Batch of one (or many, for 2-D ids) in the form the model's forward takes (LoadedModel.model_inputs)."""
    return loaded.model_inputs(input_ids, segment_ids)


def apply_masks(loaded: LoadedModel, inputs: Tokenized, positions: list[int] | tuple[int, ...]) -> Tokenized:
    """Replace the tokens at `positions` with the mask token (special tokens are never masked)."""
    mask_id = loaded.tokenizer.mask_token_id
    if mask_id is None:
        raise UnsupportedModel(_("The tokenizer of '{name}' has no mask token.").format(name=loaded.name))
    bad = [p for p in positions if not (0 <= p < len(inputs))]
    if bad:
        raise InputError(_("Token positions {bad} are outside the input (0..{n_inputs}).").format(
                             bad=bad, n_inputs=len(inputs) - 1))
    chosen = sorted({p for p in positions if not inputs.special[p]})
    if not chosen:
        return inputs
    ids = inputs.input_ids.copy()
    ids[chosen] = mask_id
    tokens = list(inputs.tokens)
    for p in chosen:
        tokens[p] = loaded.tokenizer.mask_token
    return dataclasses.replace(inputs, tokens=tuple(tokens), input_ids=ids)


# Which model output each head name comes from.
_HEAD_OUTPUTS = {
    "cls.logits": ("sequence-classification", "logits"),
    "token.logits": ("token-classification", "logits"),
    "qa.start_logits": ("question-answering", "start_logits"),
    "qa.end_logits": ("question-answering", "end_logits"),
    "nsp.logits": ("pretraining", "seq_relationship_logits"),
}


def head_names(loaded: LoadedModel) -> tuple[str, ...]:
    """The head outputs this model gives (empty where the head's weights were not in the checkpoint)."""
    names = ["pooler.out"] if loaded.full_cache else []
    if heads.has(loaded, "mlm"):
        names.append("mlm.log_probs")
    if loaded.has_head:
        names += [n for n, (head, _) in _HEAD_OUTPUTS.items() if head == loaded.head]
    return tuple(names)


def default_names(loaded: LoadedModel) -> tuple[str, ...]:
    return (PATTERNS,) + head_names(loaded)


def mask_positions_of(loaded: LoadedModel, inputs: Tokenized) -> tuple[int, ...]:
    mask_id = loaded.tokenizer.mask_token_id
    return tuple(int(p) for p in np.flatnonzero(inputs.input_ids == mask_id)) if mask_id is not None else ()


def run_trace(
    loaded: LoadedModel,
    text: str,
    text_pair: str | None = None,
    masked: Sequence[int] = (),
    names: Iterable[str] | None = None,
    max_length: int | None = None,
) -> Trace:
    """Tokenise, optionally mask token positions, and run ONE forward that records `names` (None: the default)."""
    inputs = loaded.tokenize(text, text_pair, max_length=max_length)
    if masked:
        inputs = apply_masks(loaded, inputs, masked)
    return trace_tokens(loaded, inputs, names)


def trace_tokens(loaded: LoadedModel, inputs: Tokenized, names: Iterable[str] | None = None) -> Trace:
    """The forward half of run_trace, for callers that built their own Tokenized."""
    return trace_batch(loaded, [inputs], names)[0]


def trace_batch(loaded: LoadedModel, batch: Sequence[Tokenized], names: Iterable[str] | None = None) -> list[Trace]:
    """ONE forward over several inputs (padded to the longest), one Trace each, cropped to its own tokens.

    Under `ablation.ablated(mask)` a mask with one row per input switches different heads off in each.
    """
    if not batch:
        return []
    wanted = capture.expand_names(default_names(loaded) if names is None else names, loaded.num_layers)
    positions = [mask_positions_of(loaded, inputs) for inputs in batch]
    wants_mlm = "mlm.log_probs" in wanted and any(positions) and heads.has(loaded, "mlm")
    wants_head = wants_mlm or any(n in wanted for n in _HEAD_OUTPUTS if _HEAD_OUTPUTS[n][0] == loaded.head)
    if not loaded.full_cache:
        # Other families: only what the attention function itself sees (patterns) and the heads' outputs.
        wanted = frozenset(n for n in wanted if n.endswith(".attn.pattern") or n in capture.HEAD_NAMES)
    lengths = [len(inputs) for inputs in batch]
    width = max(lengths)
    if len(batch) == 1:
        tensors = loaded.model_inputs(batch[0].input_ids, batch[0].segment_ids)
    else:
        pad = loaded.tokenizer.pad_token_id or 0
        ids = np.full((len(batch), width), pad, dtype=np.int64)
        segs = np.zeros((len(batch), width), dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, inputs in enumerate(batch):
            ids[row, :len(inputs)] = inputs.input_ids
            segs[row, :len(inputs)] = inputs.segment_ids
            mask[row, :len(inputs)] = 1
        tensors = loaded.model_inputs(ids, segs)
        if min(lengths) < width:
            tensors["attention_mask"] = torch.as_tensor(mask)
    recorder = capture.Recorder(wanted, loaded.num_layers)
    with capture.recording(recorder):
        out = loaded.forward(tensors, encoder_only=not wants_head)
    return [_build(loaded, inputs, recorder, out, row, n, pos, wanted, wants_head)
            for row, (inputs, n, pos) in enumerate(zip(batch, lengths, positions))]


def _token_axes(name: str) -> tuple[int, ...]:
    """Which axes of a cached value (batch axis removed) run over tokens."""
    if name.endswith((".attn.scores", ".attn.pattern")):
        return (1, 2)
    if name.endswith((".attn.q", ".attn.k", ".attn.v", ".attn.z", ".attn.head_out")):
        return (1,)
    if name in ("pooler.out", "cls.logits", "nsp.logits", "mlm.log_probs"):
        return ()
    return (0,)


def _crop(name: str, tensor: torch.Tensor, row: int, n: int) -> np.ndarray:
    """Row `row` of a batched activation (broadcast rows shared), its token axes cut to the first `n` tokens."""
    t = tensor[min(row, tensor.shape[0] - 1)]
    index = [slice(None)] * t.dim()
    for axis in _token_axes(name):
        index[axis] = slice(0, n)
    return _readonly(t[tuple(index)].float().cpu().numpy())


def _build(loaded: LoadedModel, inputs: Tokenized, recorder: capture.Recorder, out: Any, row: int, n: int,
           positions: tuple[int, ...], wanted: frozenset[str], ran_head: bool) -> Trace:
    cache: dict[str, np.ndarray] = {}
    for name, tensor in recorder.store.items():
        cache[name] = _crop(name, tensor, row, n)
    patterns = None
    if recorder.patterns is not None:
        block = recorder.patterns[row]
        patterns = _readonly(block.numpy() if n == block.shape[-1] else block[..., :n, :n].numpy())
        for layer in range(loaded.num_layers):
            cache[f"blocks.{layer}.attn.pattern"] = _view(patterns[layer])
    if ran_head:
        for name, (head, attr) in _HEAD_OUTPUTS.items():
            value = getattr(out, attr, None)
            if name in wanted and head == loaded.head and value is not None:
                cache[name] = _crop(name, value, row, n)
        vocab_logits = getattr(out, "prediction_logits", None)  # pre-training models; masked-LMs call it logits
        if vocab_logits is None:
            vocab_logits = getattr(out, "logits", None)
        vocab = int(getattr(loaded.config, "vocab_size", -1))
        if "mlm.log_probs" in wanted and positions and vocab_logits is not None and vocab_logits.dim() == 3 \
                and vocab_logits.shape[-1] == vocab:  # not ELECTRA's per-token discriminator scores
            logits = vocab_logits[row, list(positions)].float()
            cache["mlm.log_probs"] = _readonly(torch.log_softmax(logits, dim=-1).cpu().numpy())
    asked_patterns = any(n.endswith(".attn.pattern") for n in wanted)
    if asked_patterns and not any(n.endswith(".attn.pattern") for n in cache):
        raise UnsupportedModel(_("'{name}' returned no attention weights; it needs the app's attention "
                                 "function.").format(name=loaded.name))
    return Trace(model_name=loaded.name, inputs=inputs, cache=cache, num_layers=loaded.num_layers,
                 num_heads=loaded.num_heads, mask_positions=positions, patterns=patterns,
                 meta={"full_cache": loaded.full_cache})
