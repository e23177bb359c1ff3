"""English mode shows English example pills (Chinese ones there read as a mistake); 中文 mode shows its own first."""
from __future__ import annotations

import re

import pytest

from app_helpers import assert_no_exception, open_page

CJK = re.compile(r"[\u3400-\u9fff]")
PAGES = {"pages/nsp.py": "nsp_example", "pages/qa.py": "qa_example", "pages/classification.py": "cls_example",
         "pages/ner.py": "ner_example"}


@pytest.fixture
def local_models(tiny_dir, monkeypatch):
    monkeypatch.setenv("BERTEXPLORE_MODELS_DIR", str(tiny_dir))
    return tiny_dir


@pytest.mark.parametrize("page", sorted(PAGES))
def test_english_mode_has_english_example_pills(local_models, page):
    at = open_page(page, lang="en")
    assert_no_exception(at)
    pills = at.get("button_group")
    options = [o.content for p in pills for o in p.proto.options]
    assert options, page
    assert not [o for o in options if CJK.search(o)], options
    texts = [t.value for t in at.text_input] + [t.value for t in at.text_area]
    assert not [t for t in texts if CJK.search(t or "")], texts


@pytest.mark.parametrize("page", sorted(PAGES))
def test_chinese_mode_lists_its_own_examples_first(local_models, page):
    at = open_page(page, lang="zh")
    assert_no_exception(at)
    options = [o.content for p in at.get("button_group") for o in p.proto.options]
    assert options and CJK.search(options[0]), options
