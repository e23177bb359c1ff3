"""Issue 19 §1 in the app: two sessions on the same text share one trace; private choices stay private."""
from __future__ import annotations

from app_helpers import assert_no_exception, open_page
from bertexplore.loading import forward_count

PAGE = "pages/attention.py"
TEXT = "the dog sat on the keys of the table"  # no other test opens this text


def _trace_of(at):
    return next(v for (kind, _), v in at.session_state["_bertexplore_memo"].values.items() if kind == "trace")


def test_second_session_on_the_same_text_runs_no_forward_and_gets_the_same_trace(tiny_dir):
    model = str(tiny_dir / "tiny-mlm")
    before = forward_count()
    a = open_page(PAGE, model=model, attention_text=TEXT)
    assert_no_exception(a)
    assert forward_count() - before == 1
    b = open_page(PAGE, model=model, attention_text=TEXT)
    assert_no_exception(b)
    assert forward_count() - before == 1  # b drew from a's trace
    assert _trace_of(a) is _trace_of(b)
    c = open_page(PAGE, model=model, attention_text=TEXT + " again")
    assert forward_count() - before == 2  # another text: its own forward, its own trace
    assert _trace_of(c).inputs.text == TEXT + " again" and _trace_of(a).inputs.text == TEXT
    assert _trace_of(c) is not _trace_of(a)
