"""What a page that needs a head says when the current model lacks it: the saved models that have it, one click each,
and otherwise one calm message with the two ways to get one (copy the classroom pack, or train on the Fine-tune page).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import streamlit as st

from bertexplore.loading import HEAD_NAMES
from bertexplore.packs import PACKS, pack_command
from bertexplore.redact import shown_path
from bertexplore.registry import models_dir
from bertexplore.tasks import checkpoints

from .i18n import N_, _
from .markdown import code, plain

ROOT = Path(__file__).resolve().parent.parent

# The Fine-tune task that trains each head, and the page a head serves.
TRAINS: dict[str, str] = {"mlm": "mlm", "pretraining": "pretraining", "question-answering": "qa",
                          "sequence-classification": "classification", "token-classification": "ner"}
HEAD_TITLES: dict[str, str] = {
    "mlm": N_("masked-LM"),
    "pretraining": N_("next-sentence (pre-training)"),
    "question-answering": N_("question-answering"),
    "sequence-classification": N_("sentence-classification"),
    "token-classification": N_("named-entity (token-classification)"),
}


def head_title(head: str) -> str:
    return _(HEAD_TITLES[head]) if head in HEAD_TITLES else HEAD_NAMES.get(head, head)


def models_with(head: str) -> list[str]:
    """Saved models (models folder) whose weights carry `head`."""
    return checkpoints.local_checkpoints(head)


def pack_models(head: str) -> list[str]:
    """Classroom-pack models that bring `head`."""
    return [m.name for m in PACKS["classroom"] if m.head == head or (head == "mlm" and m.head == "pretraining")]


def switch_buttons(head: str, key: str, current: str, names: list[str] | None = None,
                   on_switch: Callable[[str], None] | None = None) -> int:
    """One button per saved model with `head`; a click puts it in the picker `key`. Returns how many were offered."""
    names = [n for n in (names if names is not None else models_with(head)) if n != current]
    if not names:
        return 0
    st.markdown(_("Saved models with a {head} head:").format(head=head_title(head)))

    def use(name: str) -> None:
        st.session_state[key] = name
        if on_switch is not None:
            on_switch(name)

    cols = st.columns(min(3, len(names)))
    for i, name in enumerate(names):
        # The label is the folder name: button labels and help are Markdown in Streamlit, so it goes in as plain text.
        cols[i % len(cols)].button(plain(name), key=f"switch_{key}_{head}_{i}", on_click=use, args=(name,),
                                   icon=":material/swap_horiz:", help=_("Use {name} on this page").format(name=plain(name)))
    return len(names)


def missing_head(head: str, key: str, current: str, what_works: str = "", reason: str | None = None) -> None:
    """One calm message: what is missing, the saved models that have it (one click), else the two ways to get one.

    `reason` replaces the first sentence (e.g. the model is not on this machine); `what_works` follows it.
    """
    offered = models_with(head)
    with st.container(border=True):
        # Model names and folders are checkpoint/user text: shown as plain text (ui.markdown), never as Markdown.
        first = reason or _("**{model}** has no {head} head, so this page cannot make its predictions with it.").format(
            model=plain(current), head=head_title(head))
        st.markdown(first + (" " + what_works if what_works else ""))
        if switch_buttons(head, key, current, offered):
            return
        st.markdown(_("Two ways to get one:"))
        pack = pack_models(head)
        st.markdown(_("1. **Copy the classroom pack**: on a machine with internet access, in the app's folder, run "
                      "the command below, then copy the `models` folder to this machine ({folder}). It brings "
                      "{models}.").format(folder=code(shown_path(models_dir())),
                                          models=", ".join(code(m) for m in pack) or _("ready-made models")))
        st.code(pack_command(), language="bash")
        task = TRAINS.get(head)
        st.markdown(_("2. **Train one here, offline**, on the Fine-tune page (a few minutes on a laptop): it is saved "
                      "into the models folder and appears on this page."))
        if task and (ROOT / "pages" / "finetune.py").is_file():
            st.page_link("pages/finetune.py", label=_("Open the Fine-tune page"), icon=":material/model_training:",
                         query_params={"ft_task": task})


# Where a model saved by the Fine-tune page appears, per task: the picker, and the pages it serves there.
SIDEBAR = "sidebar"
APPEARS_IN: dict[str, tuple[tuple[str, str], ...]] = {
    "mlm": ((SIDEBAR, "pages/masked_lm.py"),),
    "pretraining": ((SIDEBAR, "pages/masked_lm.py"), ("nsp_checkpoint", "pages/nsp.py")),
    "qa": (("qa_checkpoint", "pages/qa.py"),),
    "classification": (("cls_checkpoint", "pages/classification.py"),),
    "multilabel": (("cls_checkpoint", "pages/classification.py"),),
    "ner": (("ner_checkpoint", "pages/ner.py"),),
}
PAGE_TITLES: dict[str, str] = {
    "pages/masked_lm.py": N_("Masked-LM"), "pages/nsp.py": N_("Next sentence"), "pages/qa.py": N_("Question answering"),
    "pages/classification.py": N_("Classification"), "pages/ner.py": N_("Named entities"),
}


def where_it_appears(task: str) -> str:
    """One sentence naming exactly the pickers a model saved for `task` is listed in."""
    parts = []
    for picker, page in APPEARS_IN.get(task, ()):
        if picker == SIDEBAR:
            parts.append(_("the sidebar's model list (Masked-LM, Attention and Head ablation pages)"))
        else:
            parts.append(_("the checkpoint picker of the {page} page").format(page=_(PAGE_TITLES[page])))
    return _("It is listed in {places}.").format(places=_(" and ").join(parts)) if parts else ""


def open_saved_buttons(task: str, name: str) -> None:
    """One click each: open a page the saved model serves, with it already in that page's picker (the pickers are
    bound to the URL, so the link's query parameter selects it)."""
    for picker, page in APPEARS_IN.get(task, ()):
        if not (ROOT / page).is_file():
            continue
        key = "model" if picker == SIDEBAR else picker  # ui.models.MODEL_KEY for the sidebar
        st.page_link(page, label=_("Use it on the {page} page").format(page=_(PAGE_TITLES[page])),
                     icon=":material/open_in_new:", query_params={key: name})


def trained_in_app(name: str) -> dict | None:
    """The job config of a model this app's Fine-tune page saved (its training_config.yaml), else None."""
    from bertexplore.registry import list_local_models

    if name not in list_local_models():
        return None
    try:
        import yaml

        values = yaml.safe_load((models_dir() / name / "training_config.yaml").read_text(encoding="utf-8"))
    except (OSError, ValueError, ImportError):
        return None
    return values if isinstance(values, dict) else None


def expectations_note(name: str) -> str | None:
    """For a masked-LM head trained here on the packaged sentence-embedding model: say plainly what to expect."""
    from bertexplore.registry import OFFLINE_MODEL

    trained = trained_in_app(name)
    if not trained or trained.get("task") not in ("mlm", "pretraining"):
        return None
    base = str(trained.get("base_model", ""))
    note = _("This masked-LM head was trained in this app on a small corpus, so expect weak guesses: the measured "
             "top-1 accuracy on held-out masked words is about 15–20% (\"The capital of France is [MASK].\" → morning, "
             "sun, the…).")
    if base == OFFLINE_MODEL:
        note += " " + _("Its base, all-MiniLM-L6-v2, is a sentence-embedding model that was never trained to fill in "
                        "words.")
    return note + " " + _("For a convincing demo, use bert-base-uncased from the classroom pack (see Start here).")
