"""Per-session traces: moving a slider re-renders from the stored trace, never re-runs the model."""
from __future__ import annotations

from typing import Iterable

from bertexplore.loading import LoadedModel
from bertexplore.tokens import Tokenized
from bertexplore.trace import Trace, apply_masks, run_trace, trace_tokens

from .session_memo import memo, recall


def get_trace(loaded: LoadedModel, text: str, text_pair: str | None = None, masked: tuple[int, ...] = (),
              inputs: Tokenized | None = None, names: Iterable[str] | None = None) -> Trace:
    """The trace of `text` (and `text_pair`) with `masked` token positions; `inputs`: the page's own tokenisation
    of exactly that text, so it is not tokenised twice; `names`: the activations the view needs (None: default)."""
    names = None if names is None else tuple(sorted(set(names)))
    key = (loaded.key, text, text_pair or None, tuple(sorted(masked)), names)

    def compute() -> Trace:
        if inputs is None:
            return run_trace(loaded, text, text_pair, masked=masked, names=names)
        return trace_tokens(loaded, apply_masks(loaded, inputs, masked) if masked else inputs, names)

    return memo("trace", key, compute)


def held_trace(loaded: LoadedModel, text: str, text_pair: str | None = None,
               names: Iterable[str] | None = None) -> Trace | None:
    """The trace get_trace(loaded, text, text_pair, names=names) returns, if this session already holds it; nothing
    is run (a page that recorded more names for this text reuses that trace instead of running a smaller one)."""
    names = None if names is None else tuple(sorted(set(names)))
    return recall("trace", (loaded.key, text, text_pair or None, (), names))
