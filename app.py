"""bertexplore entrypoint: page config, the sidebar's model pickers, and navigation."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui.heap import startup

with startup():  # the first run imports torch and transformers: see ui/heap.py
    from ui.entry import app_run
    from ui.i18n import N_, _, finish_language_switch, language_switch
    from ui.jobs import sidebar_job_status
    from ui.lesson_hook import lesson_hook
    from ui.models import sidebar

ROOT = Path(__file__).resolve().parent

# (file, title, icon, section); pages whose file is absent in this checkout are skipped.
PAGES = [
    ("pages/home.py", N_("Start here"), ":material/home:", N_("Explore")),
    ("pages/masked_lm.py", N_("Masked-LM"), ":material/text_fields:", N_("Explore")),
    ("pages/attention.py", N_("Attention"), ":material/grid_on:", N_("Explore")),
    ("pages/ablation.py", N_("Head ablation"), ":material/block:", N_("Explore")),
    ("pages/analysis.py", N_("Analysis lab"), ":material/science:", N_("Analyse")),
    ("pages/causal.py", N_("Causal lab"), ":material/biotech:", N_("Analyse")),
    ("pages/classification.py", N_("Classification"), ":material/label:", N_("Task demos")),
    ("pages/ner.py", N_("Named entities"), ":material/person_search:", N_("Task demos")),
    ("pages/qa.py", N_("Question answering"), ":material/quiz:", N_("Task demos")),
    ("pages/nsp.py", N_("Next sentence"), ":material/arrow_forward:", N_("Task demos")),
    ("pages/finetune.py", N_("Fine-tune"), ":material/model_training:", N_("Train")),
    ("pages/inside_bert.py", N_("Inside BERT"), ":material/school:", N_("Learn")),
    ("pages/lesson.py", N_("Lessons"), ":material/cast_for_education:", N_("Learn")),
]

# An emoji favicon: a material-icon favicon is fetched from Google's font CDN, which offline classrooms lack.
st.set_page_config(page_title="bertexplore", page_icon="🔎", layout="wide")

st.sidebar.title("bertexplore")
# The language comes first: page titles and section names below are shown in it.
language_switch()
sections: dict[str, list] = {}
for i, (path, title, icon, section) in enumerate(PAGES):
    if (ROOT / path).is_file():
        sections.setdefault(_(section), []).append(st.Page(path, title=_(title), icon=icon, default=(i == 0)))

page = st.navigation(sections, expanded=True)  # every page listed: students should not hunt behind "View more"
finish_language_switch()
sidebar()
sidebar_job_status()
lesson_hook(page)  # presenter mode, the tour, "Add this view to a lesson"
with app_run():
    page.run()
