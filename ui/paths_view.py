"""The Home page's three ways to run a lesson, as numbered steps, with the pages each one unlocks on THIS machine.

1. Online: the hub's checkpoints download on first use.
2. Offline, with the classroom pack: one command on a connected machine, then copy the models folder.
3. Offline with nothing: the packaged MiniLM, and every head trained on the Fine-tune page from bundled data.
The advice is computed from what this machine has (hub reachable, pack models and saved models on disk), so it is
never "pick bert-base-uncased" where that model cannot load.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from bertexplore.loading import hub_reachable
from bertexplore.packs import PACKS, pack_command
from bertexplore.redact import shown_path
from bertexplore.registry import DEFAULT_ONLINE_MODEL, list_local_models, models_dir

from .head_models import head_title, models_with
from .i18n import N_, _
from .markdown import code

ROOT = Path(__file__).resolve().parent.parent

# page file -> (title, the head it needs or None); titles as the navigation names them.
PAGES: dict[str, tuple[str, str | None]] = {
    "pages/masked_lm.py": (N_("Masked-LM"), "mlm"),
    "pages/attention.py": (N_("Attention"), None),
    "pages/ablation.py": (N_("Head ablation"), None),
    "pages/classification.py": (N_("Classification"), "sequence-classification"),
    "pages/ner.py": (N_("Named entities"), "token-classification"),
    "pages/qa.py": (N_("Question answering"), "question-answering"),
    "pages/nsp.py": (N_("Next sentence"), "pretraining"),
}
# What to train on the Fine-tune page for each head (the task's name there).
TRAIN_FOR: dict[str, str] = {
    "mlm": N_("Masked-LM continued pre-training, or Pre-training (masked-LM and next sentence)"),
    "pretraining": N_("Pre-training: masked-LM and next-sentence prediction together"),
    "question-answering": N_("Extractive question answering"),
    "sequence-classification": N_("Sentence classification"),
    "token-classification": N_("Token classification (named entities)"),
}


def _links(pages: list[str]) -> None:
    cols = st.columns(max(1, min(4, len(pages))))
    for i, path in enumerate(p for p in pages if (ROOT / p).is_file()):
        cols[i % len(cols)].page_link(path, label=_(PAGES[path][0]))


def situation() -> tuple[bool, list[str], list[str]]:
    """(hub reachable, classroom-pack models on disk, pack models missing)."""
    local = set(list_local_models())
    pack = [m.name for m in PACKS["classroom"]]
    return hub_reachable(), [m for m in pack if m in local], [m for m in pack if m not in local]


def paths_view() -> None:
    online, have, missing = situation()
    st.subheader(_("Three ways to run a lesson"))
    if online:
        st.success(_("This machine reaches the Hugging Face hub: path 1 works here."), icon=":material/wifi:")
    elif have:
        st.info(_("This machine is offline; {n} of the {total} classroom-pack models are in the models folder: "
                  "path 2.").format(n=len(have), total=len(have) + len(missing)), icon=":material/folder:")
    else:
        st.info(_("This machine is offline and its models folder holds no classroom pack: path 3 works now, path 2 "
                  "once the pack is copied here."), icon=":material/wifi_off:")
    tabs = st.tabs([_("1 · Online"), _("2 · Offline: copy the classroom pack"), _("3 · Offline with nothing: train here")],
                   default=_("1 · Online") if online else (_("2 · Offline: copy the classroom pack") if have
                                                           else _("3 · Offline with nothing: train here")))
    with tabs[0]:
        st.markdown(_("1. Pick **{model}** in the sidebar: it downloads once (about 440 MB) and brings the masked-LM "
                      "and next-sentence heads.").format(model=DEFAULT_ONLINE_MODEL))
        st.markdown(_("2. On each task page, pick the recommended checkpoint in the page's own picker: it downloads on "
                      "first use."))
        st.markdown(_("3. To prepare offline machines, run path 2's command here."))
        st.caption(_("Unlocks every page:"))
        _links(list(PAGES))
    with tabs[1]:
        st.markdown(_("1. On a machine with internet access, in the app's folder, run (it states each model's size and "
                      "the total before downloading, and resumes if interrupted):"))
        st.code(pack_command(), language="bash")
        st.markdown(_("2. Copy the `models` folder into the app's folder on each offline machine. Here it is:") + " "
                    + code(shown_path(models_dir())))
        st.markdown(_("3. Pick **{model}** in the sidebar for the Explore pages; each task page finds its model in its "
                      "own picker.").format(model=DEFAULT_ONLINE_MODEL))
        rows = []
        for model in PACKS["classroom"]:
            rows.append({_("model"): model.name, _("what it brings"): _(model.what),
                         _("unlocks"): ", ".join(_(p) for p in model.pages),
                         _("on this machine"): "✓" if model.name in have else "—"})
        st.dataframe(rows, hide_index=True, width="stretch")
    with tabs[2]:
        st.markdown(_("1. **Attention** and **Head ablation** work now with the packaged all-MiniLM-L6-v2."))
        st.markdown(_("2. On the **Fine-tune** page, pick a task and press **Start training**: the defaults suit the "
                      "packaged model and the bundled data (a few minutes on a laptop). Then **Save model**."))
        st.markdown(_("3. The saved model appears in the picker of the page it fits; each page below lists the saved "
                      "models it can use."))
        rows = []
        for path, (title, head) in PAGES.items():
            if head is None:
                continue
            saved = models_with(head)
            rows.append({_("page"): _(title), _("needs a head"): head_title(head), _("train on Fine-tune"): _(TRAIN_FOR[head]),
                         _("saved here"): ", ".join(saved) if saved else "—"})
        st.dataframe(rows, hide_index=True, width="stretch")
        st.caption(_("Honest expectations: the packaged MiniLM is a sentence-embedding model and the bundled data is a "
                     "few hundred sentences, so heads trained here show the mechanics but guess poorly (\"The capital of "
                     "France is [MASK].\" → morning, sun, the…). The classroom pack is the real demo."))
        if (ROOT / "pages" / "finetune.py").is_file():
            st.page_link("pages/finetune.py", label=_("Open the Fine-tune page"), icon=":material/model_training:")
