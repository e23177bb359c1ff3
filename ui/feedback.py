"""Turn engine errors into friendly messages; never let a traceback reach the page."""
from __future__ import annotations

import logging
import pickle
from contextlib import contextmanager
from typing import Iterator

import streamlit as st

from bertexplore.errors import BertExploreError, ModelUnavailable, refused_pickle

from .i18n import _
from .markdown import plain

log = logging.getLogger("bertexplore")


def show_error(err: BaseException) -> None:
    if isinstance(err, ModelUnavailable):
        st.error(plain(err))  # messages quote names the user typed: shown as plain text, never Markdown
        st.code(err.command, language="bash")
    elif isinstance(err, BertExploreError):
        st.error(plain(err))
    elif isinstance(err, pickle.UnpicklingError):  # a refused checkpoint reached here some other way
        st.error(plain(refused_pickle("this model")))
    elif isinstance(err, RecursionError):
        st.error(_("The input is nested too deeply to be read. Use flat records (one level of lists at most)."))
    else:
        log.exception("unexpected error", exc_info=err)
        st.error(_("Something went wrong ({name}: {err}). The app is still running; try other input or "
                   "another model.").format(name=type(err).__name__, err=plain(err)))


@contextmanager
def guard() -> Iterator[None]:
    """Show any error raised inside as a message and carry on rendering the rest of the page."""
    try:
        yield
    except Exception as err:  # noqa: BLE001 - the page must survive anything
        if type(err).__name__ in ("RerunException", "StopException"):  # st.rerun()/st.stop() must work
            raise
        show_error(err)


def show_unknown(inputs) -> None:
    """The shared [UNK] notice: which characters the model's vocabulary lacks, how much of the text they are, and
    a model that covers them. `inputs`: a Tokenized (or anything with `.unknown`), or an UnknownReport."""
    report = getattr(inputs, "unknown", inputs)
    if report is not None:
        st.info(plain(report.message()), icon="❓")  # an explanation, not a fault of the input


def show_notices(notices) -> None:
    for notice in notices:
        st.info(plain(notice), icon="✂️" if "cut" in notice else "ℹ️")
