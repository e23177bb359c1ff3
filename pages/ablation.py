"""Head ablation: switch attention heads off and see what the model loses."""
from __future__ import annotations

import streamlit as st

from bertexplore.figures import head_effect_figure
from bertexplore.head_importance import baseline, compare, scan_heads, unavailable
from ui.feedback import guard, show_notices, show_unknown
from ui.markdown import plain
from ui.entry import inside_app
from ui.models import get_model
from ui.session_memo import memo, recall
from ui import url_state
from ui.i18n import _, current_language, ngettext
from ui.url_text import READ_CHARS, url_bind

inside_app()

st.title(_("Head ablation"))
st.markdown(
    _("Switch attention heads off (their output becomes zero) and see how the prediction changes. **Scan "
      "every head** switches each head off alone and maps how much the model relies on it for this "
      "sentence.")
)

loaded = get_model("mlm")
if loaded is None:
    st.stop()
if unavailable(loaded):
    st.warning(unavailable(loaded))
    st.stop()

has_mlm = loaded.has_head
if current_language() == "zh":
    default = "北京是中国的首[MASK]。" if has_mlm else "医生问了护士一个问题，因为她不确定药量。"
else:
    default = "The capital of France is [MASK]." if has_mlm else "The keys to the cabinet are on the table."
# One line: Enter applies the text (in a text area Enter only adds a newline).
url_state.default_in_link("abl_text", default)  # the language's own sentence: into the link too
text = st.text_input(_("Sentence (put one [MASK] in it)") if has_mlm else _("Sentence"), key="abl_text",
                     bind=url_bind("abl_text"), max_chars=READ_CHARS)
if not has_mlm:
    st.info(_("{name} has no masked-LM head, so the effect is measured on the sentence representation: how "
              "far the mean-pooled last layer moves (1 − cosine similarity).").format(name=plain(loaded.name)))

heads = [f"L{l + 1} H{h + 1}" for l in range(loaded.num_layers) for h in range(loaded.num_heads)]
off_labels = st.multiselect(_("Heads to switch off"), heads, key="abl_off", bind="query-params",
                            placeholder=_("Choose heads"),
                            help=_("Layers and heads count from 1, as on the Attention page."))
off = [(int(s.split()[0][1:]) - 1, int(s.split()[1][1:]) - 1) for s in off_labels]

with guard():
    inputs = loaded.tokenize(text)

    def base_trace():  # the unablated forward, once per sentence, shared by comparisons and the scan
        return memo("ablation-base", (loaded.key, inputs.text), lambda: baseline(loaded, inputs), keep=1)

    show_notices(inputs.notices)
    show_unknown(inputs)
    n_masks = inputs.tokens.count(loaded.tokenizer.mask_token) if loaded.tokenizer.mask_token else 0
    if has_mlm and n_masks == 0:
        st.warning(_("Put a {mask_token} in the sentence to see predictions; until then the sentence "
                     "representation is measured.").format(mask_token=plain(loaded.tokenizer.mask_token)))
    elif has_mlm and n_masks > 1:
        st.info(_("The sentence has {n_masks} masks: the effect is measured at the first one.").format(
                    n_masks=n_masks))
    if not off:
        st.caption(_("Pick heads to switch off together, or scan every head one at a time."))
    if off:
        result = memo("ablation", (loaded.key, inputs.text, tuple(off)),
                      lambda: compare(loaded, inputs, off, base=base_trace()), keep=1)
        st.subheader(ngettext("{n} head off", "{n} heads off", len(off)).format(n=len(off)))
        st.caption(_("Measured: {objective}").format(objective=plain(result.objective.describe())))
        if result.objective.kind == "mlm":
            cols = st.columns(2)
            cols[0].markdown(_("**All heads on**"))
            cols[0].dataframe([{_("token"): t, _("probability"): round(p, 4)} for t, p in result.top_before], hide_index=True)
            cols[1].markdown(_("**Selected heads off**"))
            cols[1].dataframe([{_("token"): t, _("probability"): round(p, 4)} for t, p in result.top_after], hide_index=True)
            st.metric(_("log p('{target}')").format(target=plain(result.objective.target)), f"{result.ablated:.3f}", f"{-result.effect:+.3f}")
        else:
            st.metric(_("cosine similarity to the unablated representation"), f"{result.ablated:.4f}",
                      f"{-result.effect:+.4f}")

    scan_key = ("scan", loaded.key, inputs.text)
    if st.button(_("Scan every head"), key="abl_scan", help=_("{n} ablated forwards, batched").format(
                                                             n=loaded.num_layers * loaded.num_heads)):
        bar = st.progress(0.0, text=_("Switching heads off one at a time…"))
        memo("ablation-scan", scan_key, lambda: scan_heads(loaded, inputs, progress=lambda f: bar.progress(f), base=base_trace()),
             keep=1)
        bar.empty()
    stored = recall("ablation-scan", scan_key)
    if stored:
        objective, grid = stored
        fig = head_effect_figure(grid)
        st.plotly_chart(fig, width="stretch", key="abl_grid")
        layer, head = divmod(int(grid.argmax()), grid.shape[1])
        st.caption(_("Measured: {describe}. Red: switching the head off hurts; blue: it helps. The head "
                     "that matters most here: L{layer} H{head} ({max:.4f}).").format(
                       describe=plain(objective.describe()), layer=layer + 1, head=head + 1, max=grid.max()))
