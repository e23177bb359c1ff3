"""Load a BERT-family checkpoint (hub id or folder) once, safely, onto a device.

The engine never trusts remote code, prefers safetensors, and turns every failure into a
user-facing error from `errors`. Offline machines get a fast, exact "how to fetch it" message.
"""
from __future__ import annotations

import os
import pickle
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Sequence, TypeVar
from urllib.parse import urlparse

import numpy as np
import torch
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForMaskedLM,
    AutoModelForPreTraining,
    AutoModelForQuestionAnswering,
    AutoModelForSequenceClassification,
    AutoModelForTokenClassification,
    AutoTokenizer,
    PretrainedConfig,
    PreTrainedModel,
)
from transformers.utils import logging as hf_logging

from . import capture, heads, limits
from .attention_function import ATTN_IMPLEMENTATION, number_attention_layers, supports_ablation
from .errors import BertExploreError, ModelUnavailable, NotAModel, UnsupportedModel, refused_pickle
from .families import PADDING_OFFSET_TYPES, has_full_cache
from .model_building import building, check_tied, has_meta_tensors
from .redact import hide_paths, shown_path
from .registry import resolve
from .tokens import Tokenized, tokenize
from .i18n import _

Head = Literal["base", "mlm", "pretraining", "sequence-classification", "token-classification", "question-answering"]

AUTO_CLASSES: dict[str, type] = {
    "base": AutoModel,
    "mlm": AutoModelForMaskedLM,
    "pretraining": AutoModelForPreTraining,
    "sequence-classification": AutoModelForSequenceClassification,
    "token-classification": AutoModelForTokenClassification,
    "question-answering": AutoModelForQuestionAnswering,
}

HEAD_NAMES = {
    "base": "encoder",
    "mlm": "masked-LM",
    "pretraining": "pre-training (masked-LM + next-sentence)",
    "sequence-classification": "sequence-classification",
    "token-classification": "token-classification",
    "question-answering": "question-answering",
}

# Encoder-only families whose attention this app knows how to read.
ENCODER_TYPES = frozenset({
    "bert", "distilbert", "roberta", "xlm-roberta", "camembert", "albert", "electra",
    "mobilebert", "megatron-bert", "ernie", "xlm-roberta-xl", "deberta", "deberta-v2", "modernbert",
})
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}

hf_logging.set_verbosity_error()  # load reports about absent heads are explained by the pages instead


def available_devices() -> list[str]:
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices.insert(0, "cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        devices.insert(0, "mps")
    return devices


def resolve_device(device: str = "auto") -> str:
    """'auto' picks cuda, then mps, then cpu; anything else must be available here."""
    devices = available_devices()
    if device == "auto":
        for preferred in ("cuda", "mps", "cpu"):
            if preferred in devices:
                return preferred
    if device not in devices:
        raise BertExploreError(_("Device '{device}' is not available on this machine; available: {devices}.").format(
                                   device=device, devices=', '.join(devices)))
    return device


def check_dtype(device: str, dtype: str) -> torch.dtype:
    if dtype not in DTYPES:
        raise BertExploreError(_("Unknown precision '{dtype}'; choose one of {choices}.").format(
                                   dtype=dtype, choices=', '.join(DTYPES)))
    if device == "cpu" and dtype != "float32":
        raise BertExploreError(_("Half precision (float16/bfloat16) is offered on GPUs only; use float32 "
                                 "on the CPU."))
    return DTYPES[dtype]


_reach_cache: dict[str, tuple[float, bool]] = {}


def hub_reachable(timeout: float = 2.0) -> bool:
    """Fast check that the Hugging Face hub answers; cached for a minute so offline pages do not hang."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return False
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    now = time.monotonic()
    cached = _reach_cache.get(endpoint)
    if cached and now - cached[0] < 60:
        return cached[1]
    url = urlparse(endpoint)
    try:
        with socket.create_connection((url.hostname or "huggingface.co", url.port or 443), timeout=timeout):
            ok = True
    except OSError:
        ok = False
    _reach_cache[endpoint] = (now, ok)
    return ok


_count_lock = threading.Lock()
_forwards = 0
_head_calls = 0
T = TypeVar("T")


def forward_count() -> int:
    """How many model forwards this process has run through `LoadedModel.forward`, with or without gradients."""
    return _forwards


def head_call_count() -> int:
    """How many head-only executions (`LoadedModel.head_call`) this process has run: no encoder forward in them."""
    return _head_calls


def position_limit(config: PretrainedConfig) -> int:
    """Tokens the position embeddings allow: RoBERTa's family starts its positions after the padding index."""
    limit = int(getattr(config, "max_position_embeddings", 512))
    if config.model_type in PADDING_OFFSET_TYPES:
        limit -= 2
    return limit


def weights_stamp(source: str) -> float | None:
    """Latest modification time of a local model folder's files (None for a hub id): a re-saved model is new."""
    if not os.path.isdir(source):
        return None
    try:
        return max((entry.stat().st_mtime for entry in os.scandir(source) if entry.is_file()), default=None)
    except OSError:
        return None


def prepare_model(model: PreTrainedModel, train: bool = False) -> PreTrainedModel:
    """Make a built model explorable, once, at build time: the app's attention function (ablation and capture),
    layer tags and capture hooks. Explorer models are also frozen in eval mode; training models are left trainable."""
    if getattr(model.config, "_attn_implementation", None) != ATTN_IMPLEMENTATION:
        model.set_attn_implementation(ATTN_IMPLEMENTATION)
    if not getattr(model, "_bertexplore_prepared", False):
        number_attention_layers(model)  # lets ablation.ablated() switch heads off per forward
        capture.install(model)
        model._bertexplore_prepared = True
    if not train:
        model.eval()
        model.requires_grad_(False)
    return model


@dataclass
class LoadedModel:
    """One checkpoint on one device, shared read-only by every session: the only door to a model.

    `tokenize` and `forward` take `lock` themselves (fast tokenizers are not thread-safe), per call, never across a
    whole multi-step method, so sessions interleave.
    """

    name: str
    source: str
    head: str
    model: PreTrainedModel
    tokenizer: Any
    config: PretrainedConfig
    device: str
    dtype: str
    has_head: bool
    missing_keys: tuple[str, ...] = ()
    load_seconds: float = 0.0
    revision: float | None = None  # weights' modification time (local folder), or when built in memory
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def __post_init__(self) -> None:
        prepare_model(self.model)  # idempotent: a model built by load_model is already prepared
        if self.revision is None:
            self.revision = weights_stamp(self.source)

    @property
    def key(self) -> tuple:
        """THE memo key: same key, same outputs (name, head, device, precision, weights' revision)."""
        return (self.name, self.head, self.device, self.dtype, self.revision)

    @property
    def model_type(self) -> str:
        return self.config.model_type

    @property
    def num_layers(self) -> int:
        return int(getattr(self.config, "num_hidden_layers", getattr(self.config, "n_layers", 0)))

    @property
    def num_heads(self) -> int:
        return int(getattr(self.config, "num_attention_heads", getattr(self.config, "n_heads", 0)))

    @property
    def max_length(self) -> int:
        limit = position_limit(self.config)
        tok_max = getattr(self.tokenizer, "model_max_length", limit) or limit
        return int(min(limit, tok_max))

    @property
    def uses_segments(self) -> bool:
        return int(getattr(self.config, "type_vocab_size", 0) or 0) > 1

    @property
    def encoder(self) -> PreTrainedModel:
        return getattr(self.model, self.model.base_model_prefix, self.model)

    @property
    def supports_ablation(self) -> bool:
        """False where heads cannot be switched off one layer at a time (ALBERT shares one attention module)."""
        return supports_ablation(self.model)

    @property
    def full_cache(self) -> bool:
        """Whether traces hold every named step (else only attention patterns and the heads' outputs)."""
        return has_full_cache(self.model)

    def tokenize(self, text: str, text_pair: str | None = None, max_length: int | None = None) -> Tokenized:
        """The model's view of the text, truncated to `max_length` (at most the model's limit) with a notice."""
        limit = min(max_length or self.max_length, self.max_length)
        with self.lock:
            return tokenize(self.tokenizer, text, text_pair, max_length=limit)

    def model_inputs(self, input_ids: np.ndarray, segment_ids: tuple[int, ...] | np.ndarray) -> dict[str, torch.Tensor]:
        """Batch of one (or many, for 2-D ids) in the form the model's forward takes."""
        # a copy: ids may come from a shared, read-only result, which torch must not wrap
        ids = torch.tensor(np.atleast_2d(input_ids), dtype=torch.long)
        # No attention_mask: rows are never padded here, and an all-ones mask only costs eager attention a [T, T] add.
        batch = {"input_ids": ids}
        if self.uses_segments:
            segs = torch.as_tensor(np.atleast_2d(np.asarray(segment_ids)), dtype=torch.long)
            batch["token_type_ids"] = segs.expand_as(ids)
        return batch

    def forward(self, batch: dict[str, torch.Tensor], encoder_only: bool = False, grad: bool = False,
                **kwargs: Any) -> Any:
        """Run the shared model once under its lock, for this forward only: THE way any code runs the model.

        `batch` holds `input_ids` or `inputs_embeds` (plus masks / segment ids). `encoder_only` skips the task head
        (e.g. the masked-LM vocabulary projection, ~14% of bert-base's compute at 512 tokens) when only the encoder's
        activations are wanted.

        grad=False: inference mode (no autograd graph). grad=True: autograd records the forward so gradients flow to
        tensors the caller marked (`inputs_embeds`, a head-mask gate, an activation an intervention replaces); the
        shared parameters stay requires_grad=False and are never written. The caller runs the backward after this
        returns, outside the lock: it only reads the frozen weights, so another session may use the model meanwhile.
        """
        global _forwards
        with _count_lock:
            _forwards += 1
        batch = {k: v.to(self.device) for k, v in batch.items()}
        module = self.encoder if encoder_only else self.model
        if grad:
            with self.lock, torch.inference_mode(False), torch.enable_grad():
                return module(**batch, **kwargs)
        with self.lock, torch.inference_mode():
            return module(**batch, **kwargs)

    def head_call(self, name: str, *inputs: torch.Tensor, grad: bool = False) -> torch.Tensor:
        """Run the model's own `name` head (see bertexplore.heads for what each takes) on given states, through the
        door: its lock for this call, counted by head_call_count(), gradients as in `forward`.

        Raises UnsupportedModel when the model has no such head. Whether its weights are trained is the caller's
        question (`heads.has`): an untrained head still runs.
        """
        global _head_calls
        head = heads.find(self, name)
        if head is None:
            raise UnsupportedModel(_("'{name}' has no {head} head.").format(name=self.name, head=name))
        with _count_lock:
            _head_calls += 1
        dtype = next(self.model.parameters()).dtype
        moved = tuple(x.to(self.device, dtype) if x.is_floating_point() else x.to(self.device) for x in inputs)
        if grad:
            with self.lock, torch.inference_mode(False), torch.enable_grad():
                return head(*moved)
        with self.lock, torch.inference_mode():
            return head(*moved)

    def with_tokenizer(self, fn: Callable[[Any], T]) -> T:
        """fn(tokenizer) under the model's lock (fast tokenizers are not thread-safe): for batch tokenisation,
        offsets, windows, anything beyond `tokenize`. Keep fn to tokenizer work: the lock also guards forwards."""
        with self.lock:
            return fn(self.tokenizer)

    def tokens_of(self, ids: Sequence[int] | np.ndarray) -> list[str]:
        """Token strings of vocabulary ids."""
        values = [int(i) for i in np.asarray(ids).ravel()]
        with self.lock:
            return list(self.tokenizer.convert_ids_to_tokens(values))

    def decode(self, ids: Sequence[int] | np.ndarray, skip_special_tokens: bool = True) -> str:
        values = [int(i) for i in np.asarray(ids).ravel()]
        with self.lock:
            return self.tokenizer.decode(values, skip_special_tokens=skip_special_tokens)

    @classmethod
    def wrap(cls, model: PreTrainedModel, tokenizer: Any, name: str, source: str, head: str,
             has_head: bool = True) -> "LoadedModel":
        """A model built in this session (fine-tuning) in the form the engine takes; frozen for exploring."""
        device = str(next(model.parameters()).device.type)
        dtype = {v: k for k, v in DTYPES.items()}.get(next(model.parameters()).dtype, "float32")
        prepare_model(model)
        return cls(name=name, source=source, head=head, model=model, tokenizer=tokenizer, config=model.config,
                   device=device, dtype=dtype, has_head=has_head, revision=time.time())


def load_config(source: str, is_local: bool, name: str) -> tuple[PretrainedConfig, bool]:
    """Return the config and whether everything must come from local files."""
    if is_local:
        if not os.path.isdir(source):
            raise NotAModel(_("The folder '{source}' does not exist.").format(source=shown_path(source)))
        if not os.path.isfile(os.path.join(source, "config.json")):
            raise NotAModel(
                _("The folder '{source}' is not a Transformers model: it has no config.json. Pick a folder "
                  "written by save_pretrained (config.json, weights and tokenizer files).").format(source=shown_path(source))
            )
    try:
        return AutoConfig.from_pretrained(source, local_files_only=True, trust_remote_code=False), True
    except (OSError, ValueError) as err:
        if is_local:
            raise NotAModel(_("The folder '{source}' does not hold a readable model config: {err}").format(
                                source=shown_path(source), err=hide_paths(str(err)))) from None
    if not hub_reachable():
        raise ModelUnavailable(name, "nothing cached for it")
    try:
        return AutoConfig.from_pretrained(source, trust_remote_code=False), False
    except (OSError, ValueError) as err:
        raise NotAModel(_("'{name}' is not a model on the Hugging Face hub or a local folder ({err}).").format(
                            name=name, err=err)) from None


@dataclass(frozen=True)
class Built:
    """What `build` returns: a prepared model and everything read alongside it."""

    model: PreTrainedModel
    tokenizer: Any
    config: PretrainedConfig
    source: str
    missing_keys: tuple[str, ...]


def build(name: str, head: str, device: str = "cpu", dtype: str = "float32", train: bool = False,
          from_browser: bool = False, **overrides: Any) -> Built:
    """THE place a checkpoint becomes a model (explorer pages, fine-tuning, its before/after compare, benchmarks).

    `overrides` go to from_pretrained (e.g. num_labels for a fresh task head). `train` leaves the model trainable.
    `from_browser`: the name was typed into the app (or read from its URL), so registry.resolve's folder policy
    applies (models folder and allowed folders only); Python callers may open any folder they name.
    Raises a user-facing error from `errors` on any failure.
    """
    if head not in AUTO_CLASSES:
        raise BertExploreError(_("Unknown model head '{head}'.").format(head=head))
    if not name or not name.strip():
        raise NotAModel(_("No model was given: pick one from the list or type a Hugging Face id or a "
                          "folder path."))
    torch_dtype = check_dtype(device, dtype)
    limits.check_name(name)
    source, is_local = resolve(name, from_browser=from_browser)
    config, local_only = load_config(source, is_local, name)
    if config.model_type not in ENCODER_TYPES:
        raise UnsupportedModel(
            _("'{name}' is a '{model_type}' model. bertexplore explores BERT-family encoders "
              "({choices}); pick one of those.").format(
                name=name, model_type=config.model_type, choices=', '.join(sorted(ENCODER_TYPES)))
        )
    auto = AUTO_CLASSES[head]
    if type(config) not in auto._model_mapping:
        raise UnsupportedModel(_("'{name}' ({model_type}) has no {choices} variant.").format(
                                   name=name, model_type=config.model_type, choices=HEAD_NAMES[head]))
    limits.check_config(config, name, source if is_local else None, torch_dtype.itemsize)  # before building anything
    kwargs = dict(local_files_only=local_only, trust_remote_code=False)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
    except (OSError, ValueError, TypeError) as err:
        raise limits.tokenizer_error(name, err) from None
    try:
        with building():  # one model built at a time in this process: see model_building
            model, info = auto.from_pretrained(
                source, output_loading_info=True, attn_implementation=ATTN_IMPLEMENTATION, dtype=torch_dtype,
                **kwargs, **overrides,
            )
            check_tied(model)
            if has_meta_tensors(model):
                raise NotAModel(_("'{name}' loaded incompletely (some weights were never materialised); "
                                  "try again.").format(name=name))
    except limits.LOAD_ERRORS as err:  # our words for mismatched sizes and damaged files; names, not paths
        raise limits.weights_error(name, err) from None
    except pickle.UnpicklingError:  # torch's weights_only loader refused it; its advice would lower safety
        raise refused_pickle(name) from None
    prefix = model.base_model_prefix
    missing = tuple(k for k in info.get("missing_keys", ()) if not k.startswith(prefix + "."))
    model.to(device)
    prepare_model(model, train=train)
    return Built(model, tokenizer, model.config, source, missing)


def load_model(name: str, head: str = "mlm", device: str = "auto", dtype: str = "float32",
               from_browser: bool = False) -> LoadedModel:
    """Load tokenizer and model with the given head; raise a user-facing error on any failure.

    `name`: a Hugging Face id, a folder in the models folder, or (Python callers) any folder on this machine, e.g.
    load_model("/path/to/my-checkpoint"). The app passes from_browser=True for names typed in the browser: those
    may only read the models folder and the folders listed in BERTEXPLORE_ALLOWED_DIRS (see registry.resolve).
    """
    started = time.perf_counter()
    device = resolve_device(device)
    built = build(name, head, device, dtype, from_browser=from_browser)
    return LoadedModel(
        name=name, source=built.source, head=head, model=built.model, tokenizer=built.tokenizer, config=built.config,
        device=device, dtype=dtype, has_head=(head == "base" or not built.missing_keys),
        missing_keys=built.missing_keys, load_seconds=time.perf_counter() - started,
    )
