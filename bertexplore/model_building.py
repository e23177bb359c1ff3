"""Build models one at a time, with process-wide state checked before and after.

While `from_pretrained` runs, transformers 5 temporarily replaces process-wide functions (`PreTrainedModel.tie_weights`
and `init_weights`, torch.nn.init's initialisers, `torch.linspace`, torch's default dtype) and puts them back when it
finishes. Two loads that overlap (two sessions opening different models at once) restore each other's replacements,
which leaves `tie_weights` a no-op for the rest of the process: every later model with a tied masked-LM head is left
on the meta device. So every model this app builds is built under one lock, and the replaced state is compared with a
snapshot taken at import and repaired if anything else left it changed.
"""
from __future__ import annotations

import logging
import sys
import threading
from contextlib import contextmanager
from typing import Any, Iterator

import torch
from transformers import PreTrainedModel
from transformers import initialization as hf_init

from .errors import BertExploreError
from .i18n import _

log = logging.getLogger("bertexplore")
BUILD_LOCK = threading.RLock()
_CLASS_METHODS = ("tie_weights", "init_weights")


def _snapshot() -> dict[tuple[Any, str], Any]:
    state: dict[tuple[Any, str], Any] = {(PreTrainedModel, name): PreTrainedModel.__dict__[name] for name in _CLASS_METHODS}
    state[(torch, "linspace")] = torch.linspace
    for module_name in hf_init.TORCH_MODULES_TO_PATCH:
        module = sys.modules.get(module_name)
        if module is None:
            continue
        for func_name in hf_init.TORCH_INIT_FUNCTIONS:
            if hasattr(module, func_name):
                state[(module, func_name)] = getattr(module, func_name)
    return state


def _genuine(state: dict[tuple[Any, str], Any]) -> bool:
    """A snapshot taken mid-load would hold transformers' temporary stand-ins."""
    return all(getattr(fn, "__module__", "") != hf_init.__name__ for fn in state.values())


_ORIGINAL = _snapshot()
if not _genuine(_ORIGINAL):  # imported while some other code was inside from_pretrained: unlikely, but say so
    log.warning("bertexplore was imported while a model was being loaded; process state checks are weaker")
_DEFAULT_DTYPE = torch.float32


def repair_process_state() -> list[str]:
    """Put back any function a load left replaced; return what was repaired (empty when all was well)."""
    repaired = []
    for (owner, name), original in _ORIGINAL.items():
        current = owner.__dict__.get(name) if owner is PreTrainedModel else getattr(owner, name, None)
        if current is not original:
            setattr(owner, name, original)
            repaired.append(f"{getattr(owner, '__name__', owner)}.{name}")
    if torch.get_default_dtype() != _DEFAULT_DTYPE:
        torch.set_default_dtype(_DEFAULT_DTYPE)
        repaired.append("torch default dtype")
    if repaired:
        log.warning("repaired process state left changed by another model load: %s", ", ".join(repaired))
    return repaired


@contextmanager
def building() -> Iterator[None]:
    """Hold this around every from_pretrained / model construction; it serialises them and checks the state."""
    with BUILD_LOCK:
        repair_process_state()
        try:
            yield
        finally:
            repair_process_state()


def check_tied(model: PreTrainedModel) -> None:
    """A model whose config ties the output embeddings must really share them; re-tie once, else refuse it."""
    if not getattr(model.config, "tie_word_embeddings", False):
        return
    output, inp = model.get_output_embeddings(), model.get_input_embeddings()
    if output is None or inp is None:
        return
    if output.weight is inp.weight or output.weight.data_ptr() == inp.weight.data_ptr():
        return
    model.tie_weights()
    if output.weight.data_ptr() != inp.weight.data_ptr():
        raise BertExploreError(_("The model's output layer could not be tied to its word embeddings; it "
                                 "was not loaded."))
    log.warning("re-tied the output embeddings of a %s model", model.config.model_type)


def has_meta_tensors(model: torch.nn.Module) -> bool:
    return any(t.is_meta for t in model.parameters()) or any(t.is_meta for t in model.buffers())
