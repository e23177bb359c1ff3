"""Keep Python's cyclic garbage collector off the interaction path, without ever pinning garbage.

Once torch, transformers, streamlit and a model are loaded the heap holds ~460k long-lived objects, and one full
collection walks all of them: 0.3 s on an idle 2-core machine, about 1 s under load. Streamlit's `postScriptGC`
ran one after every script run while holding the GIL, so the last deltas of each rerun waited for it (switched off
in .streamlit/config.toml). The objects that live as long as the process (the imported modules, the model loaded
while the server starts) are frozen ONCE, at start-up: later collections skip them.

Why only once (issue 18 §1): `gc.freeze()` moves EVERY object alive at that moment to the permanent generation,
garbage included, where the collector never sees it again. Page-script namespaces are reference cycles that hold a
session's model and traces; freezing after each model load pinned whatever namespaces were alive then, for good
(+110 MB per load, no plateau). At start-up no session exists yet, and a collection just before the freeze drops the
imports' own garbage. A model loaded later adds ~1k tracked objects (measured on a 2-layer model): cheap to walk.
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
    """Collection paused while many objects are made (imports ~30% faster, a model load); nothing is frozen.

    Blocks may overlap across sessions' threads: the collector comes back on when the last one ends, and only if
    it was on before the first.
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
            if _paused == 0 and _was_enabled:
                gc.enable()


def freeze_now() -> int:
    """Collect, then freeze what survives; returns how many objects are frozen in all.

    Only for the process's start-up (`startup()`), before any session has made objects that will die later.
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


@contextmanager
def startup() -> Iterator[None]:
    """Around the process's first imports (ui/serve.py's warm-up, or app.py's first run): collection paused, then
    one collect-and-freeze. Later calls do nothing: reruns import nothing new, and freezing then would pin
    sessions' garbage."""
    if _started.is_set():
        yield
        return
    with no_collection():
        yield
    with _lock:
        if not _started.is_set():
            _started.set()
            freeze_now()
