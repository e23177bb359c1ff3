"""Saving a fine-tuned model from the page: a new name saves at once; an existing one needs a confirmation that
names what will be lost (its task and date from its model card), and says so when its head differs."""
from __future__ import annotations

import streamlit as st

from bertexplore.finetune.save import SavedModel, saved_model, save_model

from .feedback import guard
from .head_models import open_saved_buttons, where_it_appears
from .i18n import _
from .markdown import code, plain

PENDING = "ft_replace_pending"  # (name typed, SavedModel shown to the user) awaiting a confirmation


def _saved(folder, task: str) -> None:
    # Exactly where it appears (the sidebar serves the Explore pages; task models are in their page's picker).
    st.session_state["ft_saved"] = _("Saved as **{name}** in {folder}.").format(
        name=plain(folder.name), folder=code(folder)) + " " + where_it_appears(task)
    st.session_state["ft_saved_as"] = (folder.name, task)
    st.session_state.pop(PENDING, None)
    st.rerun()  # the sidebar was drawn before the save: redraw it so the new model is listed


def _confirmation(existing: SavedModel, new_architecture: str) -> str:
    text = _("A model named **{name}** already exists: {what}. Replacing it deletes it for every user of this app, "
             "and links that name it will open the new model.").format(
        name=plain(existing.name), what=plain(existing.description()))
    if existing.architecture != new_architecture:
        text += " " + _("**Its head is different** ({old}; this model is {new}): pages that use it for its current "
                        "task will stop working with it.").format(old=plain(existing.architecture or "?"),
                                                                  new=plain(new_architecture))
    return text


def save_controls(result, default_name: str) -> None:
    name = st.text_input(_("Model name"), default_name, key="ft_save_name", max_chars=64)
    if st.button(_("Save model"), key="ft_save"):
        with guard():
            existing = saved_model(name)
            if existing is None:
                _saved(save_model(result, name), result.config.task)
            st.session_state[PENDING] = (name, existing)
    pending = st.session_state.get(PENDING)
    if pending and pending[0] != name:
        st.session_state.pop(PENDING, None)  # the name changed: that confirmation is void
        pending = None
    if pending:
        existing = pending[1]
        st.warning(_confirmation(existing, type(result.model).__name__), icon="⚠️")
        c1, c2 = st.columns(2)
        if c1.button(_("Replace {name}").format(name=plain(existing.name)), key="ft_replace", type="primary"):
            with guard():
                _saved(save_model(result, name, replace=existing.fingerprint), result.config.task)
        if c2.button(_("Keep it (pick another name)"), key="ft_replace_cancel"):
            st.session_state.pop(PENDING, None)
            st.rerun()
    if saved := st.session_state.pop("ft_saved", None):
        st.success(saved)
    if saved_as := st.session_state.get("ft_saved_as"):
        open_saved_buttons(saved_as[1], saved_as[0])
