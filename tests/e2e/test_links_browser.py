"""A shared link opens the same view in every language, in a real browser.

For each page: open it, set its state by clicking (choices by position, so the same clicks work in either
language), copy the address bar, open that link in a FRESH browser context in the other language (and once more
with no `lang` in the link but a zh-CN browser), and compare every widget's value and the drawn figure's data.
Widget values are read from the DOM in a language-free form: a radio's or tab's position, a slider's number, a
toggle's state, a text box's text.
"""
from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlparse, urlunparse

import pytest
from conftest import no_exception_shown, wait_idle

pytestmark = pytest.mark.e2e

# Every keyed widget on the page, language-free (Streamlit gives a keyed widget the class st-key-<key>).
READ_STATE = """() => {
  const out = {};
  for (const el of document.querySelectorAll('[class*="st-key-"]')) {
    const key = [...el.classList].find(c => c.startsWith('st-key-')).slice(7);
    if (key.startsWith('_')) continue;
    const tablist = el.matches('[data-testid=stTabs]') ? el.querySelector('[role=tablist]') : null;
    if (tablist) {  // a tab bar: the open tab's position (its panels hold other widgets)
      const tabs = [...tablist.querySelectorAll(':scope > [role=tab]')];
      out[key] = 'tab:' + tabs.findIndex(t => t.getAttribute('aria-selected') === 'true');
      continue;
    }
    if (el.querySelector('[class*="st-key-"]')) continue;  // a container of other widgets
    const radios = [...el.querySelectorAll('input[type=radio]')];
    const slider = el.querySelector('input[type=range]');
    const box = el.querySelector('input[type=checkbox]');
    const text = el.querySelector('textarea, input[type=text], input:not([type])');
    const select = el.querySelector('input[role=combobox]');
    const pills = [...el.querySelectorAll('button')];
    if (radios.length) out[key] = 'radio:' + radios.findIndex(r => r.checked);
    else if (slider) out[key] = 'slider:' + [...el.querySelectorAll('input[type=range]')].map(s => s.value).join(',');
    else if (box) out[key] = 'toggle:' + box.checked;
    else if (select) out[key] = 'select:' + select.value + '|' + (el.querySelector('[data-testid=stMultiSelect]')
                                                                   ? el.innerText.replace(/\s+/g, ' ') : '');
    else if (text) out[key] = 'text:' + text.value;
    else if (el.querySelector('[data-testid=stButtonGroup]'))
      out[key] = 'pills:' + pills.map((b, i) => b.getAttribute('aria-checked') === 'true' ||
                                           b.getAttribute('data-selected') === 'true' ||
                                           b.getAttribute('aria-pressed') === 'true' ? i : -1).filter(i => i >= 0).join(',');
  }
  return out;
}"""

# The data of every drawn plotly figure: its traces' numbers (z of heatmaps, x/y of scatters and bars).
READ_FIGURES = """() => [...document.querySelectorAll('.js-plotly-plot')].map(gd => (gd.data || []).map(t => {
  const flat = v => v == null ? null : (ArrayBuffer.isView(v) ? Array.from(v) :
    (Array.isArray(v) ? v.map(flat) : (typeof v === 'object' ? null : v)));
  return {type: t.type, z: flat(t.z), x: t.type === 'heatmap' ? null : flat(t.x), y: t.type === 'heatmap' ? null : flat(t.y)};
}))"""

# Widgets whose value is a language's own text by design: the language switch itself, and the example pickers.
LANGUAGE_OWN = {"lang", "attention_example", "qa_example"}


def with_lang(url: str, lang: str | None) -> str:
    parts = urlparse(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "lang"]
    if lang:
        query.append(("lang", lang))
    return urlunparse(parts._replace(query=urlencode(query)))


def _english() -> dict[str, str]:
    """中文 label -> its English message: a select box shows its option translated, which is the same choice."""
    from babel.messages.pofile import read_po

    from bertexplore.i18n import LOCALES

    with (LOCALES / "zh" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return {m.string: m.id for m in read_po(handle) if isinstance(m.id, str) and m.string}


ENGLISH = _english()


def state_of(page) -> tuple[dict, list]:
    wait_idle(page)
    page.wait_for_timeout(300)
    state = {}
    for key, value in page.evaluate(READ_STATE).items():
        if key in LANGUAGE_OWN:
            continue
        kind, _sep, shown = value.partition(":")
        if kind == "select":
            chosen, _bar, rest = shown.partition("|")
            value = f"select:{ENGLISH.get(chosen, chosen)}|{rest}"
        state[key] = value
    return state, page.evaluate(READ_FIGURES)


def open_fresh(browser, url: str, locale: str | None = None):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, **({"locale": locale} if locale else {}))
    page = context.new_page()
    page.goto(url)
    wait_idle(page)
    page.locator(".js-plotly-plot").first.wait_for(timeout=90_000)  # the page's first figure: the page is built
    wait_idle(page)
    return context, page


def click_nth(page, key: str, role: str, n: int) -> None:
    what = "[data-testid=stRadioOption]" if role == "radio" else f"[role=tablist] > [role={role}]"
    page.locator(f".st-key-{key} {what}").nth(n).click()
    wait_idle(page)


def slide(page, key: str, steps: int) -> None:
    handle = page.locator(f".st-key-{key} input[type=range]").first
    handle.focus()
    for _ in range(steps):
        handle.press("ArrowRight")
    wait_idle(page)


def set_attention(page) -> None:
    click_nth(page, "attention_measure", "radio", 3)  # ALTI
    click_nth(page, "attention_level", "radio", 1)  # words
    slide(page, "attention_layer", 1)
    click_nth(page, "attention_tab", "tab", 2)  # Rollout


def set_masked_lm(page) -> None:
    page.locator(".st-key-mlm_masks button").nth(2).click()  # mask the third token
    wait_idle(page)
    slide(page, "mlm_k", 3)
    click_nth(page, "mlm_order", "radio", 1)  # left to right


def set_analysis(page) -> None:
    page.locator(".st-key-an_graph_out input[role=combobox]").first.click()
    page.locator("[role=option]").nth(2).click()  # output position 2
    wait_idle(page)
    click_nth(page, "an_tab", "tab", 0)


PAGES = [
    ("attention", "", set_attention, {"attention_measure", "attention_tab"}),
    ("masked_lm", "mlm_text=the+cat+%5BMASK%5D+on+the+mat", set_masked_lm, {"mlm_masks", "mlm_order"}),
    ("analysis", "an_text=the+cat+sat+on+the+mat", set_analysis, {"an_graph_out"}),
]


@pytest.mark.parametrize("start", ["en", "zh"])
@pytest.mark.parametrize("path,query,set_state,expected_in_link", PAGES, ids=[p[0] for p in PAGES])
def test_a_link_reopens_the_same_view_in_the_other_language(app_url, browser, path, query, set_state,
                                                             expected_in_link, start):
    first_lang = "中文" if start == "zh" else None
    context, page = open_fresh(browser, with_lang(f"{app_url}/{path}?model=tiny-mlm&{query}", first_lang))
    try:
        set_state(page)
        no_exception_shown(page)
        state, figures = state_of(page)
        link = page.url
    finally:
        context.close()
    params = dict(parse_qsl(urlparse(link).query))
    for key in expected_in_link:
        assert key in params and params[key].isascii(), (key, params)  # a stable value, never a translated label
    assert figures and any(figures), "no figure drawn"

    others = [(with_lang(link, None if start == "zh" else "中文"), None)]
    if start == "en":
        others.append((link, "zh-CN"))  # no lang in the link, a Chinese browser: opens in Chinese, same view
    for url, locale in others:
        context, page = open_fresh(browser, url, locale)
        try:
            no_exception_shown(page)
            if locale:
                assert dict(parse_qsl(urlparse(page.url).query)).get("lang") == "中文"
            again, figures_again = state_of(page)
        finally:
            context.close()
        differ = {k: (state.get(k), again.get(k)) for k in set(state) | set(again) if state.get(k) != again.get(k)}
        assert not differ, (url, locale, differ)
        assert figures_again == figures, (url, locale)


def test_students_see_no_deploy_button(app_url, web):
    web.goto(app_url)
    wait_idle(web)
    web.locator("[data-testid='stToolbar'], header").first.wait_for(timeout=30_000)
    assert web.locator("[data-testid='stAppDeployButton']").count() == 0
    assert web.get_by_text("Deploy", exact=True).count() == 0


GEOMETRY = """() => {
  const gd = document.querySelector('.js-plotly-plot');
  const box = e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const scatter = [...gd.querySelectorAll('.scatterlayer .trace')].pop();  // the nodes' trace (after the edges)
  return {plot: box(gd.querySelector('.main-svg')), area: box(gd.querySelector('.nsewdrag')),
          clipped: gd.data[gd.data.length - 1].cliponaxis !== false,
          points: [...scatter.querySelectorAll('.point')].map(box),
          texts: [...scatter.querySelectorAll('.textpoint text')].map(box),
          y: Array.from(gd.data[gd.data.length - 1].y)};
}"""


def test_contribution_graph_default_shows_several_chains_with_clear_labels(app_url, web):
    """The packaged MiniLM on "The capital of France is [MASK]." drew ONE chain (7 nodes) at the old fixed
    threshold; labels sat on the circles of the level above and the top one was clipped."""
    web.goto(app_url + "/analysis?an_text=The+capital+of+France+is+%5BMASK%5D.")
    wait_idle(web)
    web.locator(".js-plotly-plot .scatterlayer .point").first.wait_for(timeout=120_000)
    wait_idle(web)
    no_exception_shown(web)
    g = web.evaluate(GEOMETRY)
    assert sum(1 for level in g["y"] if level == 0) >= 3  # at least three input tokens: more than one chain
    left, top, right, bottom = g["plot"]
    for text in g["texts"]:
        assert text[1] >= top - 0.5 and text[3] <= bottom + 0.5, (text, g["plot"])  # inside the figure...
        if g["clipped"]:  # ...and, where plotly clips text to the axes, inside the axes
            assert text[1] >= g["area"][1] - 0.5, (text, g["area"])
        for point in g["points"]:
            overlap_x = min(text[2], point[2]) - max(text[0], point[0])
            overlap_y = min(text[3], point[3]) - max(text[1], point[1])
            assert overlap_x <= 1 or overlap_y <= 1, (text, point)
