"""The language switch in a real browser: 中文 navigation, links that keep the language, the browser's default."""
from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from conftest import no_exception_shown, wait_idle

pytestmark = pytest.mark.e2e

NAV = "[data-testid='stSidebarNav']"


def lang_in_url(page) -> str | None:
    values = parse_qs(urlparse(page.url).query).get("lang")
    return values[0] if values else None


def nav_text(page) -> str:
    page.locator(NAV).first.wait_for(timeout=60_000)
    return page.locator(NAV).first.inner_text()


def test_switch_to_chinese_translates_navigation_and_stays_in_the_link(app_url, web):
    web.goto(app_url)
    wait_idle(web)
    assert "Start here" in nav_text(web) and "从这里开始" not in nav_text(web)
    web.locator("[data-testid='stSidebar'] label").filter(has_text="中文").first.click()
    wait_idle(web)
    web.locator(NAV).get_by_text("从这里开始").wait_for(timeout=30_000)
    text = nav_text(web)
    for title in ("掩码语言模型", "注意力", "微调", "探索", "任务演示"):
        assert title in text
    assert "Start here" not in text
    assert lang_in_url(web) == "中文"
    web.locator("h1").filter(has_text="看清 BERT 的内部").first.wait_for(timeout=30_000)  # the page's own title
    # Another page keeps the language, and so does its link
    web.locator(NAV).get_by_text("注意力", exact=True).first.click()
    wait_idle(web)
    assert "attention" in web.url and lang_in_url(web) == "中文"
    assert "掩码语言模型" in nav_text(web)
    web.locator("h1").filter(has_text="注意力").first.wait_for(timeout=60_000)
    assert web.get_by_text("每个注意力头在看哪些词元").count() >= 1  # the intro, translated
    no_exception_shown(web)
    # Back to English
    web.locator("[data-testid='stSidebar'] label").filter(has_text="English").first.click()
    wait_idle(web)
    web.locator(NAV).get_by_text("Start here").wait_for(timeout=30_000)
    web.locator("h1").filter(has_text="Attention").first.wait_for(timeout=30_000)
    assert lang_in_url(web) is None  # English is the default: a clean link
    assert web.errors == []


def test_shared_link_with_lang_code_opens_in_chinese(app_url, web):
    web.goto(app_url + "/masked_lm?lang=zh")
    wait_idle(web)
    web.locator(NAV).get_by_text("从这里开始").wait_for(timeout=30_000)
    web.wait_for_timeout(300)
    assert "masked_lm" in web.url and lang_in_url(web) == "中文"  # rewritten to the switch's own form
    no_exception_shown(web)


def test_chinese_browser_opens_in_chinese_and_writes_it_into_the_link(app_url, browser):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        page.goto(app_url)
        wait_idle(page)
        page.locator(NAV).get_by_text("从这里开始").wait_for(timeout=30_000)
        page.wait_for_timeout(500)
        assert lang_in_url(page) == "中文"  # a link copied now opens in Chinese for anyone
        no_exception_shown(page)
    finally:
        context.close()
