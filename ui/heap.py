"""Keep Python's cyclic garbage collector off the interaction path.

Once torch, transformers, streamlit and a model are loaded the heap holds ~460k long-lived objects, and one full
collection walks all of them: 0.3 s on an idle 2-core machine, about 1 s under load. Streamlit's `postScriptGC`
ran one after every script run while holding the GIL, so the last deltas of each rerun waited for it (switched off
in .streamlit/config.toml), and Python's own full collections would still stall a rerun now and then. Objects that
live as long as the process (modules, the shared models) are frozen: collections then skip them.
"""
from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from typing import Iterator

_started = threading.Event()
_lock = threading.Lock()
_paused = 0  # how many no_collection() blocks are open, in any thread
_was_enabled = False


@contextmanager
def no_collection() -> Iterator[None]:
    """Collection paused while long-lived objects are made (imports ~30% faster), then all of them frozen.

    Freezing also freezes whatever else is alive at that moment, so use this only around things made once per
    process: the startup imports and a model load. Blocks may overlap across sessions' threads: the collector comes
    back on when the last one ends, and only if it was on before the first.
    """
    global _paused, _was_enabled
    with _lock:
        if _paused == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _paused += 1
    try:
        yield
    finally:
        with _lock:
            _paused -= 1
            gc.freeze()
            if _paused == 0 and _was_enabled:
                gc.enable()


@contextmanager
def startup() -> Iterator[None]:
    """`no_collection()` around app.py's imports on the process's first run; later reruns import nothing new."""
    if _started.is_set():
        yield
        return
    with no_collection():
        yield
    _started.set()
