"""Fine-tune page set-up: the task in the URL as a stable key, whether the base model can read the data, the name
proposed for a save. The engine parts are in bertexplore.finetune (coverage, save)."""
from __future__ import annotations

import streamlit as st

from bertexplore.finetune.config import TASKS, JobConfig
from bertexplore.finetune.coverage import CHINESE_MODEL, chinese_models_here, data_coverage, reads_chinese
from bertexplore.i18n import LANGUAGES, catalog
from bertexplore.packs import pack_command
from bertexplore.registry import OFFLINE_MODEL
from bertexplore.segment import is_han

from .i18n import _
from .markdown import code, plain

__all__ = ["TASK_KEY", "coverage_warning", "follow_task_link", "keep_task_in_url", "proposed_save_name",
           "reads_chinese", "show_task", "task_from_url"]

TASK_KEY = "ft_task"
_URL_SEEN = "_ft_task_url"  # the ft_task value this page last put into the URL itself
UNKNOWN_WARNING = 0.05  # a share of [UNK] characters above this is worth stopping for


def task_from_url(value: str | None) -> str | None:
    """A task key from a link: the key itself, or (old links) the task's label in any of the app's languages."""
    if not value:
        return None
    if value in TASKS:
        return value
    for task, label in TASKS.items():
        if any(value == catalog(lang).gettext(label) for lang in LANGUAGES):
            return task
    return None


def follow_task_link() -> None:
    """Before the task radio: a link's ?ft_task=… picks the task when it is new (another page's link, a shared
    URL) or when the radio has no value yet. Call keep_task_in_url after the radio."""
    value = st.query_params.get(TASK_KEY)
    task = task_from_url(value)
    if task is None:
        return
    if TASK_KEY not in st.session_state or value != st.session_state.get(_URL_SEEN):
        st.session_state[TASK_KEY] = task
    st.session_state[_URL_SEEN] = value


def keep_task_in_url(task: str) -> None:
    """The URL holds the task's key (the same in every language), never its translated label."""
    if st.query_params.get(TASK_KEY) != task:
        st.query_params[TASK_KEY] = task
    st.session_state[_URL_SEEN] = task


def show_task(task: str) -> None:
    """A button callback: switch the task radio (e.g. back to the task of the last run)."""
    st.session_state[TASK_KEY] = task


def _texts_have_han(data) -> bool:
    from bertexplore.finetune.coverage import data_texts

    return any(is_han(ch) for text in data_texts(data)[:50] for ch in text)


def coverage_warning(base: str, data, source: str) -> None:
    """Before training: how much of the data the base model cannot read ([UNK]), and the model that reads it."""
    key = ("ft_coverage", base, source, len(data))
    cached = st.session_state.get("_ft_coverage")
    if cached is None or cached[0] != key:
        try:
            share = data_coverage(base, data).share
        except Exception:  # noqa: BLE001 - no tokenizer to measure with: the load at Start reports the model itself
            share = 0.0
        cached = (key, share, share >= UNKNOWN_WARNING and _texts_have_han(data))
        st.session_state["_ft_coverage"] = cached
    _key, share, chinese = cached
    if share < UNKNOWN_WARNING:
        return
    text = _("**{model}** cannot read {share:.0%} of this data: those characters reach it only as [UNK], so "
             "training learns nothing from them.").format(model=plain(base), share=share)
    if chinese:
        here = [m for m in chinese_models_here() if m != base]
        if here:
            text += " " + _("Models on this machine that read Chinese: {models}. Pick one in the sidebar.").format(
                models=", ".join(code(m) for m in here))
        else:
            text += " " + _("No model on this machine reads Chinese. {model} does (character by character); it is "
                            "in the classroom pack: {command}").format(model=code(CHINESE_MODEL),
                                                                      command=code(pack_command()))
    st.warning(text, icon="⚠️")


def proposed_save_name(config: JobConfig) -> str:
    """The name the save box proposes: base, task and (for Chinese data) "zh"; never the name of a saved model."""
    from bertexplore.finetune.save import proposed_name

    base = config.base_model
    short = "minilm" if base == OFFLINE_MODEL else base.rstrip("/").split("/")[-1]
    stem = f"{short[:40]}-{config.task}" + ("-zh" if "_zh." in str(config.data) else "")
    return proposed_name(stem)
