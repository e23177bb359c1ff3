"""Causal lab: intervene on the encoder (patching, heads, knowledge neurons) and probe what its layers encode."""
from __future__ import annotations

import streamlit as st

from bertexplore.causal import head_kind
from ui.causal_view import inputs, heads_block, neurons_block, patching_block, probes_block
from ui.entry import inside_app
from ui.i18n import N_, _
from ui.models import get_model

inside_app()

st.title(_("Causal lab"))
st.markdown(_("Attention maps show where information *could* flow. Here you change the model's activations and "
              "measure what changes: which layer and position carry the difference between two sentences, which "
              "heads, which FFN neurons hold a fact, and what a probe can and cannot prove."))

HEADS = {"mlm": N_("masked-LM head"), "sequence-classification": N_("classifier head")}
# Labels translated now: a format_func that translates later would run outside this session's language.
head_labels = {h: _(label) for h, label in HEADS.items()}
head = st.radio(_("Read the effect with the model's"), list(HEADS), format_func=head_labels.get,
                horizontal=True, key="causal_head")
loaded = get_model(head)
if loaded is None:
    st.stop()
if not loaded.full_cache:
    st.warning(_("The causal lab needs a model whose every step is recorded (BERT, RoBERTa, XLM-R, CamemBERT, "
                 "ELECTRA, DistilBERT, ALBERT)."))
    st.stop()

patch_tab, heads_tab, neurons_tab, probes_tab = st.tabs(
    [_("Patching"), _("Heads"), _("Knowledge neurons"), _("Probes")])
with patch_tab:
    chosen = inputs(loaded)
    patching_block(loaded, chosen)
with heads_tab:
    if head_kind(loaded) == "cosine":
        st.caption(_("Without a head the heads are scored on the cosine of the pooled sentence vector."))
    heads_block(loaded, chosen)
with neurons_tab:
    neurons_block(loaded)
with probes_tab:
    probes_block(loaded)
