"""What a stored result holds, for the memo (ui/session_memo.py): its bytes, the array memory it shares with other
results, and freezing it when it is shared. One walk over the containers a result is made of, used by all three."""
from __future__ import annotations

import dataclasses
import sys
from typing import Any

import numpy as np


def footprint(value: Any, _seen: set[int] | None = None, _depth: int = 0,
              _buffers: dict[int, int] | None = None) -> tuple[int, dict[int, int]]:
    """(bytes outside arrays, {id of the array or storage owning the memory: its bytes}) of a stored result."""
    seen = _seen if _seen is not None else set()
    buffers = _buffers if _buffers is not None else {}
    if id(value) in seen or _depth > 6:
        return 0, buffers
    seen.add(id(value))
    if isinstance(value, np.ndarray):
        root = value
        while isinstance(root.base, np.ndarray):
            root = root.base
        if root.base is not None and not isinstance(root.base, np.ndarray):  # memory of another object (torch)
            buffers[id(root.base)] = max(buffers.get(id(root.base), 0), root.nbytes)
        else:
            buffers[id(root)] = root.nbytes
        return 0, buffers
    if hasattr(value, "untyped_storage") and hasattr(value, "element_size"):  # torch.Tensor, torch not imported
        storage = value.untyped_storage()
        buffers[storage.data_ptr()] = storage.nbytes()
        return 0, buffers
    if isinstance(value, (str, bytes, bytearray, int, float, bool, type(None))):
        return sys.getsizeof(value), buffers
    other = sys.getsizeof(value)
    for child in _children(value):
        other += footprint(child, seen, _depth + 1, buffers)[0]
    return other, buffers


def _children(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [x for kv in list(value.items()) for x in kv]
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [getattr(value, f.name, None) for f in dataclasses.fields(value)]
    if hasattr(value, "__dict__") and not isinstance(value, type):
        return [vars(value)]
    return []


def freeze(value: Any, _seen: set[int] | None = None, _depth: int = 0) -> Any:
    """Make every numpy array in a shared result read-only, so no session can change what another one sees
    (an in-place edit raises instead of leaking). Returns `value`."""
    seen = _seen if _seen is not None else set()
    if id(value) in seen or _depth > 6 or isinstance(value, (str, bytes, int, float, bool, type(None))):
        return value
    seen.add(id(value))
    if isinstance(value, np.ndarray):
        value.setflags(write=False)
        return value
    for child in _children(value):
        freeze(child, seen, _depth + 1)
    return value


def sizeof(value: Any, _seen: set[int] | None = None, _depth: int = 0) -> int:
    """Bytes a stored result holds: its `.nbytes` when it says, else arrays, tensors and containers inside it."""
    seen = _seen if _seen is not None else set()
    if id(value) in seen or _depth > 6:
        return 0
    seen.add(id(value))
    nbytes = getattr(value, "nbytes", None)
    if isinstance(nbytes, (int, np.integer)) and not isinstance(value, type):
        return int(nbytes)
    if hasattr(value, "element_size") and hasattr(value, "nelement"):  # torch.Tensor without importing torch
        return int(value.element_size() * value.nelement())
    return sys.getsizeof(value) + sum(sizeof(child, seen, _depth + 1) for child in _children(value))
