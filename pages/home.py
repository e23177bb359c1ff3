"""Landing page: what the app shows and where to start."""
from pathlib import Path

import streamlit as st

from bertexplore.registry import OFFLINE_MODEL, RECOMMENDED
from ui.entry import inside_app
from ui.markdown import plain
from ui.models import current_model_name, get_model

inside_app()

st.title("See inside BERT")
st.markdown(
    "Type a sentence, mask a word, and watch what BERT predicts and **why**: which heads look where, layer by layer. "
    "Use the sidebar to pick a model; every page uses it."
)
links = [
    ("pages/masked_lm.py", "Masked-LM: fill in the blank, score sentences", ":material/text_fields:"),
    ("pages/attention.py", "Attention: every head, layer by layer, and bertviz", ":material/grid_on:"),
    ("pages/ablation.py", "Head ablation: switch heads off, see what breaks", ":material/block:"),
    ("pages/classification.py", "Classification, and which words drove it", ":material/label:"),
    ("pages/ner.py", "Named entities", ":material/person_search:"),
    ("pages/qa.py", "Question answering", ":material/quiz:"),
    ("pages/nsp.py", "Next-sentence prediction", ":material/arrow_forward:"),
    ("pages/finetune.py", "Fine-tune a model on your own data", ":material/model_training:"),
]
cols = st.columns(2)
shown = [link for link in links if (Path(__file__).parent.parent / link[0]).is_file()]
for i, (path, label, icon) in enumerate(shown):
    cols[i % 2].page_link(path, label=label, icon=icon)

name = current_model_name()
loaded = get_model("mlm", name)
if loaded is not None:
    st.success(
        f"**{plain(name)}** is ready on {loaded.device}: {loaded.num_layers} layers × {loaded.num_heads} heads, "
        f"up to {loaded.max_length} tokens, loaded in {loaded.load_seconds:.1f} s."
    )
    if not loaded.has_head:
        st.info("This checkpoint has no masked-LM head, so the Masked-LM page cannot predict words with it; "
                "the attention views work. Pick bert-base-uncased (online) or fine-tune a masked-LM head on the Fine-tune page.")

st.subheader("Models")
st.dataframe(
    [{"model": m.name, "about": m.description} for m in RECOMMENDED], hide_index=True, width="stretch",
)
st.caption(
    f"With no internet the app uses **{OFFLINE_MODEL}**, which ships with the app. "
    "To use another model offline, fetch it once on a connected machine with `python -m bertexplore download MODEL --to models` "
    "and copy the models folder over."
)
