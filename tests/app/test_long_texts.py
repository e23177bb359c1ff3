"""Issue 18 §4 and §5: a long text never makes the app's own link unopenable; an impossible model name is refused."""
from __future__ import annotations

from urllib.parse import quote

import pytest
from app_helpers import assert_no_exception, open_page

from ui.url_text import LINK_BYTES, READ_CHARS

NOTICE = "too long to travel in the page's link"


def _captions(at) -> str:
    return " ".join(c.value for c in at.caption)


@pytest.mark.parametrize("page, key", [("pages/masked_lm.py", "mlm_text"), ("pages/attention.py", "attention_text")])
def test_a_long_text_leaves_the_link_and_a_short_one_stays(tiny_dir, page, key):
    short = "the cat sat on the mat"
    at = open_page(page, model=str(tiny_dir / "tiny-mlm"), query={key: short})
    assert_no_exception(at)
    assert at.query_params[key] == short and NOTICE not in _captions(at)
    long = "猫" * 400  # 400 characters, 3,600 bytes in a link (9 per character)
    assert len(quote(long)) > LINK_BYTES
    at.text_input(key=key).input(long).run()
    assert_no_exception(at)
    assert key not in at.query_params  # before: bound whatever its length (18,000 characters: 400 Bad Request)
    assert NOTICE in _captions(at)
    assert not at.text_input(key=key).proto.HasField("query_param_key")  # the browser writes it no more
    at.text_input(key=key).input(short).run()
    assert NOTICE not in _captions(at)
    assert at.text_input(key=key).proto.query_param_key == key  # bound again: the browser writes it


def test_text_boxes_take_what_their_page_reads(tiny_dir):
    at = open_page("pages/masked_lm.py", model=str(tiny_dir / "tiny-mlm"))
    assert at.text_input(key="mlm_text").max_chars == READ_CHARS
    at = open_page("pages/attention.py", model=str(tiny_dir / "tiny-mlm"))
    assert at.text_input(key="attention_text").max_chars == READ_CHARS  # before: 100,000


@pytest.mark.parametrize("page", ["pages/finetune.py", "pages/attention.py"])
def test_a_20000_character_model_name_gets_a_message_not_a_crash(page):
    at = open_page(page, model="a" * 20_000)
    assert_no_exception(at)
    assert any("at most 200 characters" in e.value for e in at.error), [e.value for e in at.error]
    assert not any("Something went wrong" in e.value for e in at.error)
