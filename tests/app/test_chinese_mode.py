"""Every page in both languages: no exceptions, and in Chinese no English that skipped the catalog."""
from __future__ import annotations

from pathlib import Path

import pytest

from app_helpers import assert_no_exception, open_page
from bertexplore.registry import RECOMMENDED, picker_choices
from untranslated import find_leaks, leaks

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "pages").glob("*.py"))
# Every page, present and future, must be translated: a new page that leaks English fails here (no allow-list).


# The model each page is opened with (a tiny checkpoint from the models folder), so that its results render too.
PAGE_MODEL = {"pages/masked_lm.py": "tiny-mlm", "pages/attention.py": "tiny-mlm", "pages/ablation.py": "tiny-mlm"}
# Data the page shows under its own names: the column names of the training file (the user maps them by name).
PAGE_DATA = {"pages/finetune.py": ("text", "label", "labels", "tokens", "tags")}


@pytest.fixture
def local_models(tiny_dir, monkeypatch):
    """The tiny checkpoints play the models folder, so the task pages draw their results."""
    monkeypatch.setenv("BERTEXPLORE_MODELS_DIR", str(tiny_dir))
    return tiny_dir


def model_names() -> tuple[str, ...]:
    from bertexplore.registry import list_local_models

    return tuple(info.name for info in RECOMMENDED) + tuple(picker_choices()) + tuple(list_local_models())


def test_the_leak_finder_finds_english_and_spares_data():
    assert leaks("Top predictions for the mask") == ["Top", "predictions", "for", "the", "mask"]
    assert leaks("第 3 层的注意力头 2 · [CLS] → [SEP]") == []
    assert leaks("用 `python -m bertexplore download bert-base-uncased` 下载") == []
    assert leaks("模型 all-MiniLM-L6-v2 (packaged, offline) 已加载", model_names()) == []
    assert leaks("softmax 之后的 F1 分数") == []
    assert leaks("来自 PyPI 的 sentence-transformers 权重") == []
    assert leaks("图层 Layer 3") == ["Layer"]


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("page", PAGES)
def test_page_runs_in_both_languages(local_models, page, lang):
    at = open_page(page, lang=lang)
    assert_no_exception(at)
    assert at.session_state["lang"] == lang


def test_every_page_is_checked():
    assert len(PAGES) >= 11 and "pages/inside_bert.py" in PAGES


@pytest.mark.parametrize("page", PAGES)
def test_no_untranslated_english_in_chinese_mode(local_models, page):
    at = open_page(page, model=PAGE_MODEL.get(page), lang="zh")
    assert_no_exception(at)
    found = find_leaks(at, model_names() + ("Language · 语言",) + PAGE_DATA.get(page, ()))
    assert not found, "\n".join(f"{where}: {text!r} → {words}" for where, text, words in found)


def test_link_with_lang_code_opens_in_chinese():
    from streamlit.testing.v1 import AppTest

    from app_helpers import APP

    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["lang"] = "zh-CN"
    at.run()
    assert_no_exception(at)
    assert at.session_state["lang"] == "zh"
    assert at.sidebar.radio[0].value == "zh"


def test_garbage_lang_falls_back_to_english():
    from streamlit.testing.v1 import AppTest

    from app_helpers import APP

    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["lang"] = "<script>"
    at.run()
    assert_no_exception(at)
    assert at.sidebar.radio[0].value == "en"


def test_unknown_notice_on_the_page_counts_the_unknown_tokens(local_models):
    """Chinese text through the tiny English vocabulary: every character is [UNK], and the page says so, in Chinese."""
    from bertexplore.loading import load_model

    text = "北京是中国的首都。"
    at = open_page("pages/masked_lm.py", model="tiny-mlm", lang="zh", mlm_text=text)
    assert_no_exception(at)
    tokenizer = load_model(str(local_models / "tiny-mlm"), head="mlm", device="cpu").tokenizer
    ids = tokenizer(text)["input_ids"]
    unknown = sum(i == tokenizer.unk_token_id for i in ids)
    assert unknown > 0
    notices = [i.value for i in at.info if "UNK" in i.value]
    assert len(notices) == 1, [i.value for i in at.info]
    assert notices[0].startswith(f"{unknown} 个词元变成了") and "bert-base-chinese" in notices[0]
