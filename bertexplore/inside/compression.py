"""Step 8: the loaded model in float32 vs bfloat16 (float16 on GPUs) vs int8, measured on the user's text.

int8 is dynamic quantization of every Linear layer (weights int8, activations quantised per forward) with
torch.ao.quantization.quantize_dynamic. torch 2.13 marks it deprecated in favour of the torchao package, which was
tried and dropped: transformers imports torchao at import time whenever it is installed, which added ~1.5 s (idle)
to every process start and first model load, and its int8 CPU path measured 1.7-2.5x SLOWER than float32 here.
Every variant is a COPY of the shared model, built under `building()` and kept once per process (for the last model
measured): the model every session reads is never converted in place.
"""
from __future__ import annotations

import copy
import io
import statistics
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..i18n import N_
from ..loading import LoadedModel
from ..model_building import building
from ..tokens import Tokenized
from .forward import model_key

VARIANTS = {"float32": N_("float32 (as loaded)"), "bfloat16": N_("bfloat16"), "float16": N_("float16"),
            "int8": N_("int8 dynamic quantization")}

_copies: dict[tuple, tuple[torch.nn.Module, threading.Lock]] = {}
_copies_lock = threading.Lock()


def available_variants(loaded: LoadedModel) -> list[str]:
    variants = ["float32", "bfloat16"]
    if loaded.device == "cuda":
        variants.append("float16")  # half matmuls on a CPU are emulated: not a fair measurement there
    return variants + ["int8"]


def quantize_int8(model: torch.nn.Module) -> torch.nn.Module:
    """`model` (a copy) with int8 weights and per-forward dynamic int8 activations in every Linear."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the deprecation notice: see the module docstring for why this route
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def variant_model(loaded: LoadedModel, variant: str) -> tuple[torch.nn.Module, threading.Lock]:
    """A private copy of the model as `variant` (not float32: that is the shared model, run through its door), kept
    once per process with its own lock: forwards on it never take the shared model's lock."""
    if variant == "float32":
        raise ValueError("float32 is the shared model itself: run it with LoadedModel.forward")
    key = (model_key(loaded), variant)
    with _copies_lock:
        if key in _copies:
            return _copies[key]
    with building():  # one model built at a time
        with _copies_lock:
            if key in _copies:
                return _copies[key]
        with loaded.lock:  # for the copy only (no forward mid-way through it); the copy's forwards never take it
            model = copy.deepcopy(loaded.model)
        model.eval()
        if variant == "int8":
            model = quantize_int8(model.float())
        else:
            model = model.to(getattr(torch, variant))
        entry = (model, threading.Lock())
        with _copies_lock:
            for old in [k for k in _copies if k[0] != key[0]]:
                del _copies[old]  # the copies of one model at a time: a bert-base pair holds ~430 MB
            _copies[key] = entry
        return entry


def _runner(loaded: LoadedModel, variant: str):
    """forward(batch, **kwargs) for `variant`: the shared model through its door (lock per forward, counted), or a
    private copy under its own lock."""
    if variant == "float32":
        return lambda batch, **kwargs: loaded.forward(batch, **kwargs)
    model, lock = variant_model(loaded, variant)

    def run(batch: dict[str, torch.Tensor], **kwargs):
        with lock, torch.inference_mode():
            return model(**batch, **kwargs)
    return run


def state_bytes(model: torch.nn.Module) -> int:
    """Bytes of the serialised weights (what a saved checkpoint would take; tied weights are stored once)."""
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getbuffer().nbytes


@dataclass(frozen=True)
class VariantRow:
    variant: str
    bytes: int
    seconds: float  # median forward time on the user's text
    agreement: float | None  # share of top-1 predictions equal to float32's (None: the model has no head)
    hidden_cosine: float  # mean cosine of the last hidden states with float32's
    attention_max_diff: float  # max |attention - float32's| over every layer, head and token pair
    attention_mean_diff: float


@dataclass(frozen=True)
class CompressionReport:
    tokens: int
    basis: str  # what the agreement compares
    rows: tuple[VariantRow, ...]
    device: str


def _predictions(out: Any) -> np.ndarray | None:
    for name in ("logits", "prediction_logits", "start_logits"):
        value = getattr(out, name, None)
        if value is not None:
            return value[0].float().argmax(-1).cpu().numpy()
    return None


def _basis(loaded: LoadedModel) -> str:
    return {"mlm": N_("top-1 masked-LM prediction at every token"), "pretraining": N_("top-1 masked-LM prediction at every token"),
            "sequence-classification": N_("predicted label"), "token-classification": N_("predicted label of every token"),
            "question-answering": N_("predicted answer start")}.get(loaded.head if loaded.has_head else "base",
                                                                     N_("none (no head): compare the hidden states"))


def compression_report(loaded: LoadedModel, inputs: Tokenized, runs: int = 3,
                       variants: list[str] | None = None) -> CompressionReport:
    ids = torch.as_tensor(np.asarray(inputs.input_ids)[None], device=loaded.device)
    batch = {"input_ids": ids}
    if loaded.uses_segments:
        batch["token_type_ids"] = torch.as_tensor(np.asarray(inputs.segment_ids)[None], device=loaded.device)
    results = {}
    for variant in variants or available_variants(loaded):
        run = _runner(loaded, variant)
        times = []
        out = run(batch, output_attentions=True, output_hidden_states=True)  # warm-up, and the outputs
        for _run in range(runs):
            started = time.perf_counter()
            run(batch)  # a lock per forward: other sessions interleave between the timed runs
            times.append(time.perf_counter() - started)
        attentions = torch.stack([a[0].float() for a in out.attentions]).cpu().numpy()
        last = out.hidden_states[-1][0].float().cpu().numpy()
        size = state_bytes(loaded.model if variant == "float32" else variant_model(loaded, variant)[0])
        results[variant] = (size, statistics.median(times), _predictions(out) if loaded.has_head else None,
                            last, attentions)
    ref = results["float32"]
    rows = []
    for variant, (size, seconds, preds, last, att) in results.items():
        agree = None if preds is None or ref[2] is None else float(np.mean(np.atleast_1d(preds == ref[2])))
        cos = (last * ref[3]).sum(-1) / (np.linalg.norm(last, axis=-1) * np.linalg.norm(ref[3], axis=-1) + 1e-12)
        diff = np.abs(att - ref[4])
        rows.append(VariantRow(variant, size, seconds, agree, float(cos.mean()), float(diff.max()), float(diff.mean())))
    return CompressionReport(len(inputs), _basis(loaded), tuple(rows), loaded.device)
