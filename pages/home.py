"""Landing page: what the app shows and where to start."""
from pathlib import Path

import streamlit as st

from bertexplore.download import download_command
from bertexplore.figures import plotly_warm_up_figure
from bertexplore.registry import OFFLINE_MODEL, RECOMMENDED
from ui.entry import inside_app
from ui.markdown import plain
from ui.head_models import missing_head
from ui.models import MODEL_KEY, current_model_name, get_model
from ui.paths_view import paths_view
from ui.warmup import notice as warmup_notice
from ui.i18n import N_, _

inside_app()

st.title(_("See inside BERT"))
st.markdown(
    _("Type a sentence, mask a word, and watch what BERT predicts and **why**: which heads look where, "
      "layer by layer. Use the sidebar to pick a model; every page uses it.")
)
links = [
    ("pages/masked_lm.py", N_("Masked-LM: fill in the blank, score sentences"), ":material/text_fields:"),
    ("pages/attention.py", N_("Attention: every head, layer by layer, and bertviz"), ":material/grid_on:"),
    ("pages/ablation.py", N_("Head ablation: switch heads off, see what breaks"), ":material/block:"),
    ("pages/classification.py", N_("Classification, and which words drove it"), ":material/label:"),
    ("pages/ner.py", N_("Named entities"), ":material/person_search:"),
    ("pages/qa.py", N_("Question answering"), ":material/quiz:"),
    ("pages/nsp.py", N_("Next-sentence prediction"), ":material/arrow_forward:"),
    ("pages/finetune.py", N_("Fine-tune a model on your own data"), ":material/model_training:"),
]
cols = st.columns(2)
shown = [link for link in links if (Path(__file__).parent.parent / link[0]).is_file()]
for i, (path, label, icon) in enumerate(shown):
    cols[i % 2].page_link(path, label=_(label), icon=icon)

paths_view()

name = current_model_name()
loaded = get_model("mlm", name)
if loaded is not None:
    st.success(
        _("**{name}** is ready on {device}: {num_layers} layers × {num_heads} heads, up to {max_length} "
          "tokens, loaded in {load_seconds:.1f} s.").format(
            name=plain(name), device=loaded.device, num_layers=loaded.num_layers, num_heads=loaded.num_heads,
            max_length=loaded.max_length, load_seconds=loaded.load_seconds)
    )
    if not loaded.has_head:
        # True offline too: saved masked-LM models one click away, else the pack or the Fine-tune page.
        missing_head("mlm", MODEL_KEY, name, _("The Attention and Head ablation pages work with it."),
                     reason=_("**{model}** has no masked-LM head, so the Masked-LM page cannot fill in blanks with "
                              "it.").format(model=plain(name)))
warmup_notice()  # a server started with --warmup: how far the class's texts are (ui/warmup.py)

st.subheader(_("Models"))
st.dataframe(
    [{_("model"): m.name, _("about"): _(m.description)} for m in RECOMMENDED], hide_index=True, width="stretch",
)
st.caption(
    _("With no internet the app uses **{offline_model}**, which ships with the app. To use another model "
      "offline, fetch it once on a connected machine with `{command}` (in a terminal opened in the app "
      "folder) and copy the models folder over.").format(offline_model=OFFLINE_MODEL,
                                                          command=download_command("MODEL", "--to", "models"))
)

# A tiny heatmap drawn off-screen: the first plotly figure of a browser tab loads and compiles plotly's 4.6 MB
# script (~1-2 s), so Home pays that while the student reads, and the first heatmap on Attention draws at once.
with st.container(key="plotly_warm_up"):
    st.html("<style>.st-key-plotly_warm_up{position:absolute;left:-10000px;top:0;width:240px;height:120px;"
            "overflow:hidden}</style>")
    st.plotly_chart(plotly_warm_up_figure(), width="content", key="plotly_warm_up_chart", config={"staticPlot": True})
