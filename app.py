"""bertexplore entrypoint: page config, the sidebar's model pickers, and navigation."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui.entry import app_run
from ui.jobs import sidebar_job_status
from ui.models import sidebar

ROOT = Path(__file__).resolve().parent

# (file, title, icon, section); pages whose file is absent in this checkout are skipped.
PAGES = [
    ("pages/home.py", "Start here", ":material/home:", "Explore"),
    ("pages/masked_lm.py", "Masked-LM", ":material/text_fields:", "Explore"),
    ("pages/attention.py", "Attention", ":material/grid_on:", "Explore"),
    ("pages/ablation.py", "Head ablation", ":material/block:", "Explore"),
    ("pages/analysis.py", "Analysis lab", ":material/science:", "Analyse"),
    ("pages/classification.py", "Classification", ":material/label:", "Task demos"),
    ("pages/ner.py", "Named entities", ":material/person_search:", "Task demos"),
    ("pages/qa.py", "Question answering", ":material/quiz:", "Task demos"),
    ("pages/nsp.py", "Next sentence", ":material/arrow_forward:", "Task demos"),
    ("pages/finetune.py", "Fine-tune", ":material/model_training:", "Train"),
    ("pages/inside_bert.py", "Inside BERT", ":material/school:", "Learn"),
]

# An emoji favicon: a material-icon favicon is fetched from Google's font CDN, which offline classrooms lack.
st.set_page_config(page_title="bertexplore", page_icon="🔎", layout="wide")

sections: dict[str, list] = {}
for i, (path, title, icon, section) in enumerate(PAGES):
    if (ROOT / path).is_file():
        sections.setdefault(section, []).append(st.Page(path, title=title, icon=icon, default=(i == 0)))

page = st.navigation(sections)
st.sidebar.title("bertexplore")
sidebar()
sidebar_job_status()
with app_run():
    page.run()
