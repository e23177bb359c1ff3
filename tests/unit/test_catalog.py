"""The Chinese catalog covers every message the sources mark, and every translation keeps its placeholders."""
from __future__ import annotations

import ast
import gettext
import importlib.util
import io
import string
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("i18n_tool", ROOT / "scripts" / "i18n.py")
tool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tool)


@pytest.fixture(scope="module")
def template():
    return tool.extract()  # extracted now, from the sources as they are: not the committed .pot


@pytest.fixture(scope="module")
def zh():
    return tool.read("zh")


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_extraction_finds_the_marked_messages(template):
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in template if m.id}
    assert {"Start here", "Fine-tune", "Characters missing from the model's vocabulary: {chars}."} <= ids
    assert len(ids) > 20


def test_every_message_has_a_chinese_translation(template, zh):
    missing = tool.missing(zh, template)
    assert not missing, (f"{len(missing)} messages lack a Chinese translation (run `python scripts/i18n.py update` "
                         f"and translate them in bertexplore/locales/zh/LC_MESSAGES/messages.po): {missing[:20]}")


def test_translations_keep_their_placeholders(template, zh):
    wrong = []
    for message in template:
        if not message.id:
            continue
        found = zh.get(message.id)
        if found is None or not found.string or found.fuzzy:  # fuzzy ones count as missing (test above)
            continue
        ids = (message.id,) if isinstance(message.id, str) else message.id
        strings = (found.string,) if isinstance(found.string, str) else found.string
        expected = set().union(*(_fields(i) for i in ids))
        for text in strings:
            if text and _fields(text) != expected:
                wrong.append((ids[0], text))
    assert not wrong, wrong


def test_translations_format_like_the_english(template, zh):
    # Format specs too ({share:.0%}): format every message with sample values in both languages.
    samples = {"count": 3, "share": 0.25}
    for message in template:
        found = zh.get(message.id) if message.id else None
        if found is None or found.fuzzy:
            continue
        ids = (message.id,) if isinstance(message.id, str) else message.id
        strings = (found.string,) if isinstance(found.string, str) else found.string
        for text in ids + tuple(strings):
            for sample in ("x", 1.5, 3):  # strings, then numbers for numeric specs ({:.1f}, {:02x})
                values = {name: samples.get(name, sample) for name in _fields(text)}
                try:
                    text.format(**values)
                    break
                except (ValueError, TypeError):
                    continue
            else:
                raise AssertionError(f"cannot format {text!r}")


def _marked_calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("_", "N_", "ngettext"):
            yield node


def test_messages_are_literal_strings():
    """_(f"..."), _("..." + x) or _("...".format(x)) cannot be extracted nor translated: translate, then format.
    A plain name is allowed: _(title) translates a constant marked with N_ where it was defined."""
    bad = []
    for pattern in ("app.py", "pages/**/*.py", "ui/**/*.py", "bertexplore/**/*.py"):
        for path in ROOT.glob(pattern):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for call in _marked_calls(tree):
                for arg in call.args[: 2 if call.func.id == "ngettext" else 1]:
                    if isinstance(arg, (ast.JoinedStr, ast.BinOp, ast.Call)) or (
                            isinstance(arg, ast.Constant) and not isinstance(arg.value, str)):
                        bad.append(f"{path.relative_to(ROOT)}:{call.lineno}")
    assert not bad, bad


def test_compiled_catalog_translates(tmp_path, zh):
    buffer = io.BytesIO()
    write_mo(buffer, zh, use_fuzzy=False)
    buffer.seek(0)
    translations = gettext.GNUTranslations(buffer)
    assert translations.gettext("Fine-tune") == "微调"
    assert translations.ngettext("{count} token became [UNK]: {share:.0%} of the text reached the model as an "
                                 "unknown token.", "{count} tokens became [UNK]: {share:.0%} of the text reached the "
                                 "model as unknown tokens.", 2).startswith("{count} 个词元")


def test_language_context_and_provider():
    from bertexplore import i18n

    assert i18n._("Fine-tune") == "Fine-tune"
    with i18n.language("zh-CN"):
        assert i18n._("Fine-tune") == "微调"
        assert i18n.current_language() == "zh"
    assert i18n.normalize("zh_TW") == "zh" and i18n.normalize("fr") == "en" and i18n.normalize(None) == "en"


def test_a_worker_thread_speaks_the_language_of_the_session_that_started_it():
    """Fine-tuning runs in a thread without Streamlit's context: the job carries the language over."""
    from bertexplore import i18n
    from bertexplore.finetune.config import JobConfig
    from bertexplore.finetune.job import FineTuneJob

    job = FineTuneJob(JobConfig.for_task("classification", base_model="/nonexistent/model", epochs=0.05))
    with i18n.language("zh"):
        job.start()
    job.wait(60)
    assert job.status == "failed" and job.error
    seen = job.snapshot()
    assert any("\u4e00" <= ch <= "\u9fff" for ch in job.error + seen.phase), (job.error, seen.phase)
