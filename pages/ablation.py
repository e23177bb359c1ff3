"""Head ablation: switch attention heads off and see what the model loses."""
from __future__ import annotations

import streamlit as st

from bertexplore.figures import head_effect_figure
from bertexplore.head_importance import baseline, compare, scan_heads, unavailable
from ui.feedback import guard, show_notices
from ui.markdown import plain
from ui.entry import inside_app
from ui.models import get_model
from ui.session_memo import memo, recall

inside_app()

st.title("Head ablation")
st.markdown(
    "Switch attention heads off (their output becomes zero) and see how the prediction changes. "
    "**Scan every head** switches each head off alone and maps how much the model relies on it for this sentence."
)

loaded = get_model("mlm")
if loaded is None:
    st.stop()
if unavailable(loaded):
    st.warning(unavailable(loaded))
    st.stop()

has_mlm = loaded.has_head
default = "The capital of France is [MASK]." if has_mlm else "The keys to the cabinet are on the table."
text = st.text_area("Sentence" + (" (put one [MASK] in it)" if has_mlm else ""), default, key="abl_text",
                    bind="query-params", max_chars=5000)
if not has_mlm:
    st.info(f"{plain(loaded.name)} has no masked-LM head, so the effect is measured on the sentence representation: "
            "how far the mean-pooled last layer moves (1 − cosine similarity).")

heads = [f"L{l + 1} H{h + 1}" for l in range(loaded.num_layers) for h in range(loaded.num_heads)]
off_labels = st.multiselect("Heads to switch off", heads, key="abl_off", bind="query-params",
                            help="Layers and heads count from 1, as on the Attention page.")
off = [(int(s.split()[0][1:]) - 1, int(s.split()[1][1:]) - 1) for s in off_labels]

with guard():
    inputs = loaded.tokenize(text)

    def base_trace():  # the unablated forward, once per sentence, shared by comparisons and the scan
        return memo("ablation-base", (loaded.key, inputs.text), lambda: baseline(loaded, inputs), keep=1)

    show_notices(inputs.notices)
    n_masks = inputs.tokens.count(loaded.tokenizer.mask_token) if loaded.tokenizer.mask_token else 0
    if has_mlm and n_masks == 0:
        st.warning(f"Put a {plain(loaded.tokenizer.mask_token)} in the sentence to see predictions; "
                   "until then the sentence representation is measured.")
    elif has_mlm and n_masks > 1:
        st.info(f"The sentence has {n_masks} masks: the effect is measured at the first one.")
    if not off:
        st.caption("Pick heads to switch off together, or scan every head one at a time.")
    if off:
        result = memo("ablation", (loaded.key, inputs.text, tuple(off)),
                      lambda: compare(loaded, inputs, off, base=base_trace()), keep=1)
        st.subheader(f"{len(off)} head(s) off")
        st.caption("Measured: " + plain(result.objective.describe()))
        if result.objective.kind == "mlm":
            cols = st.columns(2)
            cols[0].markdown("**All heads on**")
            cols[0].dataframe([{"token": t, "probability": round(p, 4)} for t, p in result.top_before], hide_index=True)
            cols[1].markdown("**Selected heads off**")
            cols[1].dataframe([{"token": t, "probability": round(p, 4)} for t, p in result.top_after], hide_index=True)
            st.metric(f"log p('{plain(result.objective.target)}')", f"{result.ablated:.3f}", f"{-result.effect:+.3f}")
        else:
            st.metric("cosine similarity to the unablated representation", f"{result.ablated:.4f}",
                      f"{-result.effect:+.4f}")

    scan_key = ("scan", loaded.key, inputs.text)
    if st.button("Scan every head", key="abl_scan", help=f"{loaded.num_layers * loaded.num_heads} ablated forwards, batched"):
        bar = st.progress(0.0, text="Switching heads off one at a time…")
        memo("ablation-scan", scan_key, lambda: scan_heads(loaded, inputs, progress=lambda f: bar.progress(f), base=base_trace()),
             keep=1)
        bar.empty()
    stored = recall("ablation-scan", scan_key)
    if stored:
        objective, grid = stored
        fig = head_effect_figure(grid)
        st.plotly_chart(fig, width="stretch", key="abl_grid")
        layer, head = divmod(int(grid.argmax()), grid.shape[1])
        st.caption(f"Measured: {plain(objective.describe())}. Red: switching the head off hurts; blue: it helps. "
                   f"The head that matters most here: L{layer + 1} H{head + 1} ({grid.max():.4f}).")
