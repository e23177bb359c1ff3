"""Turn engine errors into friendly messages; never let a traceback reach the page."""
from __future__ import annotations

import logging
import re
from contextlib import contextmanager
from typing import Iterator

import streamlit as st

from bertexplore.errors import BertExploreError, ModelUnavailable

log = logging.getLogger("bertexplore")


def show_error(err: BaseException) -> None:
    if isinstance(err, ModelUnavailable):
        st.error(str(err))
        st.code(err.command, language="bash")
    elif isinstance(err, BertExploreError):
        st.error(str(err))
    else:
        log.exception("unexpected error", exc_info=err)
        st.error(f"Something went wrong ({type(err).__name__}: {err}). The app is still running; "
                 "try other input or another model.")


@contextmanager
def guard() -> Iterator[None]:
    """Show any error raised inside as a message and carry on rendering the rest of the page."""
    try:
        yield
    except Exception as err:  # noqa: BLE001 - the page must survive anything
        if type(err).__name__ in ("RerunException", "StopException"):  # st.rerun()/st.stop() must work
            raise
        show_error(err)


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$])")


def plain(text: str) -> str:
    """Text that Streamlit's Markdown shows literally (user text inside st.info/st.warning)."""
    return _MARKDOWN.sub(r"\\\1", text)


def show_unknown(inputs) -> None:
    """The shared [UNK] notice: which characters the model's vocabulary lacks, how much of the text they are, and
    a model that covers them. `inputs`: a Tokenized (or anything with `.unknown`), or an UnknownReport."""
    report = getattr(inputs, "unknown", inputs)
    if report is not None:
        st.warning(plain(report.message()), icon="❓")


def show_notices(notices) -> None:
    for notice in notices:
        st.info(notice, icon="✂️" if "cut" in notice else "ℹ️")
