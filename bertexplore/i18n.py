"""Translations for every user-facing string: gettext catalogs managed with Babel.

`_("text")` translates into the language of the current script run (English when none is set). The UI installs a
language provider (the session's choice); the engine never imports Streamlit, so the language otherwise lives in a
context variable. `N_("text")` only marks a module-level constant for extraction: translate it with `_()` where it
is shown, so each session sees its own language.

Catalogs: bertexplore/locales/<lang>/LC_MESSAGES/messages.po, compiled to .mo at setup (scripts/setup.sh). A checkout
that was never set up still gets translations: the .po is compiled in memory with Babel on first use.
"""
from __future__ import annotations

import gettext
import io
import threading
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Callable, Iterator

LOCALES = Path(__file__).resolve().parent / "locales"
DOMAIN = "messages"
LANGUAGES: dict[str, str] = {"en": "English", "zh": "中文"}
DEFAULT_LANGUAGE = "en"

_language: ContextVar[str] = ContextVar("bertexplore_language", default=DEFAULT_LANGUAGE)
_provider: Callable[[], str | None] | None = None
_catalogs: dict[str, gettext.NullTranslations] = {}
_catalog_lock = threading.Lock()


def _load(lang: str) -> gettext.NullTranslations:
    if lang == DEFAULT_LANGUAGE:
        return gettext.NullTranslations()
    folder = LOCALES / lang / "LC_MESSAGES"
    mo, po = folder / f"{DOMAIN}.mo", folder / f"{DOMAIN}.po"
    if mo.is_file() and (not po.is_file() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as handle:
            return gettext.GNUTranslations(handle)
    if po.is_file():
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        with po.open("rb") as handle:
            catalog = read_po(handle, locale=lang)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        return gettext.GNUTranslations(buffer)
    return gettext.NullTranslations()


def catalog(lang: str) -> gettext.NullTranslations:
    """The translations of `lang`, loaded once per process."""
    with _catalog_lock:
        if lang not in _catalogs:
            _catalogs[lang] = _load(lang)
        return _catalogs[lang]


def normalize(lang: str | None) -> str:
    """'zh', 'zh-CN', 'zh_TW' → 'zh'; anything unknown → English."""
    code = (lang or "").strip().lower().replace("_", "-").split("-")[0]
    return code if code in LANGUAGES else DEFAULT_LANGUAGE


def set_language_provider(provider: Callable[[], str | None] | None) -> None:
    """The UI's way to say which language the current session wants (None: use the context variable)."""
    global _provider
    _provider = provider


def current_language() -> str:
    if _provider is not None:
        lang = _provider()
        if lang:
            return normalize(lang)
    return _language.get()


@contextmanager
def language(lang: str) -> Iterator[None]:
    """Within the block, `_()` in this thread translates into `lang` (notebooks, tests, worker threads)."""
    token = _language.set(normalize(lang))
    try:
        yield
    finally:
        _language.reset(token)


def _(message: str) -> str:
    return catalog(current_language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return catalog(current_language()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    return message
