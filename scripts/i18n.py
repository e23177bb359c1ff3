"""The translation workflow with Babel: extract → update the .po files → compile to .mo.

    python scripts/i18n.py update     # extract every _(), N_() and ngettext() into bertexplore/locales/messages.pot
                                      # and merge it into each language's messages.po (new strings appear empty)
    python scripts/i18n.py check      # list messages without a translation (empty or fuzzy); exit 1 if any
    python scripts/i18n.py compile    # .po → .mo (scripts/setup.sh runs this; the .mo files are not committed)

The same as pybabel extract -F babel.cfg -k _ -k N_ -k ngettext:1,2 / pybabel update / pybabel compile, without
depending on where the pybabel executable lives.
"""
from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "bertexplore" / "locales"
POT = LOCALES / "messages.pot"
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}
# What is extracted: the entrypoint, the pages, the UI glue and the engine (never tests, scripts, bench, .venv).
SOURCES = ("app.py", "pages/**.py", "ui/**.py", "bertexplore/**.py")
COMMENT_TAGS = ("TRANSLATORS:",)


def extract() -> Catalog:
    """Every translatable message in the sources, with where it is used."""
    template = Catalog(project="bertexplore", charset="utf-8", fuzzy=False)
    method_map = [(pattern, "python") for pattern in SOURCES]
    for filename, lineno, message, comments, context in extract_from_dir(
        str(ROOT), method_map=method_map, keywords=KEYWORDS, comment_tags=COMMENT_TAGS, strip_comment_tags=True,
    ):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def languages() -> list[str]:
    return sorted(p.name for p in LOCALES.iterdir() if (p / "LC_MESSAGES" / "messages.po").is_file())


def po_path(lang: str) -> Path:
    return LOCALES / lang / "LC_MESSAGES" / "messages.po"


def read(lang: str) -> Catalog:
    with po_path(lang).open("rb") as handle:
        return read_po(handle, locale=lang)


def missing(catalog: Catalog, template: Catalog) -> list[str]:
    """Message ids of `template` that `catalog` does not translate (absent, empty or fuzzy)."""
    out = []
    for message in template:
        if not message.id:
            continue
        found = catalog.get(message.id, context=message.context)
        strings = () if found is None else (found.string if isinstance(found.string, tuple) else (found.string,))
        if found is None or found.fuzzy or not strings or not all(strings):
            out.append(message.id if isinstance(message.id, str) else message.id[0])
    return out


def update(langs: list[str] | None = None) -> None:
    template = extract()
    LOCALES.mkdir(parents=True, exist_ok=True)
    with POT.open("wb") as handle:
        write_po(handle, template, width=120, sort_output=True, include_lineno=False)
    for lang in langs or languages() or ["zh"]:
        path = po_path(lang)
        if path.is_file():
            catalog = read(lang)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            catalog = Catalog(locale=lang, project="bertexplore", charset="utf-8", fuzzy=False)
        catalog.update(template, update_header_comment=False)
        with path.open("wb") as handle:
            write_po(handle, catalog, width=120, sort_output=True, include_lineno=False, ignore_obsolete=True,
                     include_previous=True)
        print(f"{path.relative_to(ROOT)}: {len(missing(catalog, template))} of {len(template)} to translate")


def compile_all() -> None:
    for lang in languages():
        catalog = read(lang)
        with po_path(lang).with_suffix(".mo").open("wb") as handle:
            write_mo(handle, catalog, use_fuzzy=False)


def check() -> int:
    template = extract()
    status = 0
    for lang in languages():
        todo = missing(read(lang), template)
        for msgid in todo:
            print(f"{lang}: {msgid!r}")
        status |= bool(todo)
    return status


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "update"
    if command == "update":
        update(sys.argv[2:] or None)
    elif command == "compile":
        compile_all()
    elif command == "check":
        sys.exit(check())
    else:
        sys.exit(__doc__)
