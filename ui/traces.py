"""Per-session memo of traces: moving a slider re-renders from the stored trace, never re-runs the model."""
from __future__ import annotations

from collections import OrderedDict

import streamlit as st

from bertexplore.loading import LoadedModel
from bertexplore.trace import Trace, run_trace

_KEY = "_bertexplore_traces"
_KEEP = 3  # traces of 512 tokens on bert-base are ~150 MB: keep only the last few per session


def get_trace(loaded: LoadedModel, text: str, text_pair: str | None = None,
              masked: tuple[int, ...] = ()) -> Trace:
    memo: OrderedDict = st.session_state.setdefault(_KEY, OrderedDict())
    key = (loaded.name, loaded.head, loaded.device, loaded.dtype, text, text_pair or None, tuple(sorted(masked)))
    if key in memo:
        memo.move_to_end(key)
        return memo[key]
    trace = run_trace(loaded, text, text_pair, masked=masked)
    memo[key] = trace
    while len(memo) > _KEEP:
        memo.popitem(last=False)
    return trace
