"""Figures are built once per trace and view, then reused from the session's memo (issue 13)."""
from __future__ import annotations

import json

import ui.attention_view as attention_view
from app_helpers import assert_no_exception, open_page
from bertexplore.trace import forward_count

PAGE = "pages/attention.py"


def _counting(monkeypatch, name: str) -> list:
    calls: list = []
    real = getattr(attention_view, name)

    def counted(*args, **kwargs):
        calls.append(args[1:])
        return real(*args, **kwargs)

    monkeypatch.setattr(attention_view, name, counted)
    return calls


def test_heatmaps_are_reused_when_going_back_to_a_head(tiny_dir, monkeypatch):
    built = _counting(monkeypatch, "heatmap_figure")
    at = open_page(PAGE, model=str(tiny_dir / "tiny-mlm"), attention_text="the cat sat on the mat")
    assert_no_exception(at)
    before = forward_count()
    for head in (2, 1, 2, 1):
        at.slider(key="attention_head").set_value(head).run()
        assert_no_exception(at)
        title = json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]["title"]["text"]
        assert f"head {head}" in title
    assert len(built) == 2  # head 1 on opening, head 2 once; every later visit came from the memo
    assert forward_count() == before

    at.text_input(key="attention_text").set_value("a new sentence").run()  # a new trace: its figures are new
    assert_no_exception(at)
    assert len(built) == 3


def test_the_memo_does_not_keep_a_trace_alive():
    from streamlit.testing.v1 import AppTest

    def script():  # derived() in a bare script: AppTest gives it a session state
        import gc
        import weakref

        import numpy as np
        import streamlit as st

        from ui.view_memo import derived

        class Trace:
            attentions = np.zeros((1, 1, 2, 2), dtype=np.float32)

        trace = Trace()
        value = derived("test", trace, ("a",), lambda: object())
        st.session_state["same"] = derived("test", trace, ("a",), lambda: object()) is value
        ref = weakref.ref(trace)
        del trace
        gc.collect()
        st.session_state["freed"] = ref() is None

    at = AppTest.from_function(script).run()
    assert_no_exception(at)
    assert at.session_state["same"] and at.session_state["freed"]
