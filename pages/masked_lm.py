"""Masked-LM page: mask tokens, see the top-k guesses, fill all masks jointly, and score sentences by PLL."""
from __future__ import annotations


import streamlit as st

from bertexplore.loading import LoadedModel
from bertexplore.download import download_command
from bertexplore.mlm import fill_masks, top_k
from bertexplore.pll import MAX_TOKENS, compare_pair
from bertexplore.tokens import Tokenized
from bertexplore.trace import apply_masks
from ui.feedback import guard, show_notices, show_unknown
from bertexplore.redact import shown_path
from ui.markdown import code, label, plain
from ui.mlm_view import (chain_figure, load_examples, masked_sentence_html, memo, pair_figure, pill_labels,
                         positions_of_words, topk_figure)
from ui.head_models import expectations_note, missing_head
from ui.models import MODEL_KEY, get_model
from ui.traces import get_trace
from ui.entry import inside_app
from ui import url_state
from ui.i18n import _, ngettext, table
from ui.url_text import READ_CHARS, url_bind

inside_app()  # a deep link on a fresh server must still run through app.py

RECOMMENDED = "bert-base-uncased"
FETCH = download_command(RECOMMENDED, "--to", "models")
EXAMPLES = load_examples()  # the interface language's examples first
DEFAULT_TEXT = EXAMPLES["fill"][0]["text"] if EXAMPLES["fill"] else "Paris is the capital of [MASK]."
PAIRS = EXAMPLES["pairs"]
state = st.session_state

# Defaults go into session state (not `value=`) so a shared URL still wins on first load.
# Defaults are the interface language's examples: into the link too, so a link opens these texts in any language
url_state.default_in_link("mlm_text", DEFAULT_TEXT)
url_state.default_in_link("mlm_pair_a", PAIRS[0]["a"] if PAIRS else "The keys to the cabinet are on the table.")
url_state.default_in_link("mlm_pair_b", PAIRS[0]["b"] if PAIRS else "The keys to the cabinet is on the table.")


def _use_example() -> None:
    example = next((e for e in EXAMPLES["fill"] if e["label"] == state.get("mlm_example")), None)
    if example:
        state["mlm_text"] = example["text"]
        state["mlm_masks"] = []
        state["_mlm_pending_words"] = example.get("mask_words", [])
        if example.get("mask_words"):
            state["mlm_whole"] = True


def _use_pair() -> None:
    pair = next((p for p in PAIRS if p["label"] == state.get("mlm_pair_example")), None)
    if pair:
        state["mlm_pair_a"], state["mlm_pair_b"] = pair["a"], pair["b"]


def _clear_masks() -> None:
    state["mlm_masks"] = []  # positions refer to the old text's tokens
    state["mlm_example"] = None  # the text was edited: it is no longer the picked example


def _whole_words(inputs: Tokenized, clickable: list[int]) -> None:
    """With whole-word masking, the chips show every masked piece selected: a click on one piece of a word selects
    all of its pieces, and un-clicking any piece releases the whole word."""
    if not state.get("mlm_whole") or not state.get("mlm_masks"):
        return
    allowed = set(clickable)
    current = [p for p in state["mlm_masks"] if p in allowed]
    removed = set(state.get("_mlm_masks_prev") or []) - set(current)
    dropped = set(inputs.whole_word(sorted(removed))) if removed else set()
    expanded = sorted((set(inputs.whole_word(current)) - dropped) & allowed)
    if expanded != sorted(state["mlm_masks"]):
        state["mlm_masks"] = expanded


st.title(_("Masked-LM: fill in the blank"))
st.markdown(
    _("BERT was pre-trained to guess hidden words. Type a sentence, **click tokens to mask them** (or type "
      "`[MASK]`), and see what the model predicts for each blank, fill several blanks one after another, "
      "or score whole sentences.")
)

loaded = get_model("mlm")
if loaded is None:
    st.stop()  # get_model already showed why, with the fetch command

st.caption(
    _("Model: **{name}** (from {source}, on {device}). The recommended masked-LM checkpoint is "
      "{recommended}: `{fetch}`.").format(
        name=plain(loaded.name), source=code(shown_path(loaded.source)), device=loaded.device, recommended=RECOMMENDED,
        fetch=FETCH)
)
if not loaded.has_head:
    # Everything that needs no head stays (text, examples, token chips, token table); predictions need one.
    missing_head("mlm", MODEL_KEY, loaded.name, _("Its tokens are shown below, and the Attention page works with it."))

# ---------------------------------------------------------------- input and masking
st.selectbox(_("Start from an example"), [e["label"] for e in EXAMPLES["fill"]], index=None, key="mlm_example",
             placeholder=_("Pick an example…"), on_change=_use_example)
# One line: Enter applies the text (a text area's Enter only adds a newline).
st.text_input(_("Text"), key="mlm_text", bind=url_bind("mlm_text"), on_change=_clear_masks, max_chars=READ_CHARS,
              help=_("Type [MASK] where you want a prediction, or click tokens below."))

inputs = None
with guard():
    inputs = loaded.tokenize(state["mlm_text"])
    show_notices(inputs.notices)
    show_unknown(inputs)

@st.fragment
def masking(loaded: LoadedModel, inputs: Tokenized) -> None:
    """Token pills, predictions and joint fill. Clicking a token reruns only this fragment (one forward for the
    new mask), not the text box above or the scoring below."""
    mask_id = loaded.tokenizer.mask_token_id
    clickable = [p for p in range(len(inputs)) if not inputs.special[p] and int(inputs.input_ids[p]) != mask_id]
    labels = pill_labels(inputs, clickable)
    pending = state.pop("_mlm_pending_words", None)
    if pending:
        state["mlm_masks"] = positions_of_words(inputs, pending)
    _whole_words(inputs, clickable)
    picked = st.pills(_("Click tokens to mask them"), clickable, selection_mode="multi", key="mlm_masks",
                      format_func=lambda p: label(labels.get(p, str(p))), bind="query-params")
    state["_mlm_masks_prev"] = list(picked or [])
    whole = st.toggle(_("Whole-word masking"), key="mlm_whole", bind="query-params",
                      help=_("Mask every wordpiece of a clicked word (un ##believ ##able), as BERT's later "
                             "checkpoints were trained."))
    masked = tuple(sorted(inputs.whole_word(picked) if whole else picked))
    with st.expander(_("Token table ({n_inputs} tokens)").format(n_inputs=len(inputs))):
        st.dataframe(table(inputs.table()), hide_index=True, width="stretch")

    typed = [p for p in range(len(inputs)) if int(inputs.input_ids[p]) == mask_id]
    if not loaded.has_head:
        st.caption(_("Predictions appear here once a model with a masked-LM head is picked (see above)."))
        return
    if not masked and not typed:
        st.info(_("There is no mask yet: click one or more tokens above, or type [MASK] in the text."))
    else:
        with guard():
            trace = get_trace(loaded, state["mlm_text"], None, masked=masked, inputs=inputs)
            c1, c2 = st.columns(2)
            k = c1.slider(_("Top-k"), 1, 30, 10, key="mlm_k", bind="query-params")
            hide_sub = c2.toggle(_("Hide ## sub-word pieces"), key="mlm_hide_sub", bind="query-params")
            results = top_k(loaded, trace, k=k, hide_subwords=hide_sub, original=inputs)
            st.html(masked_sentence_html(trace.inputs, trace.mask_positions,
                                         {r.position: r.predictions[0].token for r in results if r.predictions}))
            st.subheader(ngettext("Predictions for {n} mask", "Predictions for {n} masks", len(results)).format(
                n=len(results)))
            if note := expectations_note(loaded.name):
                st.info(note, icon=":material/info:")
            tabs = st.tabs([_("#{n} at {position}").format(n=i + 1, position=r.position)
                            + (f" ({plain(r.original)})" if r.original else "")
                            for i, r in enumerate(results)]) if len(results) > 1 else [st.container()]
            for tab, r in zip(tabs, results):
                with tab:
                    left, right = st.columns([2, 3])
                    left.dataframe(table(r.rows()), hide_index=True, width="stretch",
                                   column_config={_("probability"): st.column_config.ProgressColumn(
                                       _("probability"), format="%.4f", min_value=0.0, max_value=1.0)})
                    if r.original is not None:
                        left.caption(_("The masked token **{original}** has probability "
                                       "{original_probability:.4f} (rank {original_rank:,} of {shape:,}).").format(
                                         original=plain(r.original), original_probability=r.original_probability,
                                         original_rank=r.original_rank, shape=trace.mask_log_probs.shape[1]))
                    right.plotly_chart(topk_figure(r, _("Mask at position {position}").format(position=r.position)), width="stretch",
                                       key=f"mlm_chart_{r.position}")
            st.caption(_("Probabilities are over the whole vocabulary; hidden special tokens and pieces "
                         "are not renormalised."))

            # ------------------------------------------------------- joint fill
            st.subheader(_("Fill all masks"))
            st.markdown(_("Fill the blanks one at a time, each choice feeding the next prediction (one "
                          "forward per mask)."))
            order = url_state.choice(st.radio, _("Order"), "mlm_order", horizontal=True)
            key = ("fill", loaded.key, state["mlm_text"], masked, order, hide_sub)
            if st.button(_("Fill all masks"), key="mlm_fill", icon=":material/auto_fix_high:"):
                masked_inputs = apply_masks(loaded, inputs, masked)
                memo(key, lambda: fill_masks(loaded, masked_inputs, order=order, hide_subwords=hide_sub))
            fill = memo(key)
            if fill is not None:
                st.markdown(_("**Filled:**"))
                st.text(fill.text)  # plain text: the sentence is the user's, never markdown
                st.dataframe(table(fill.rows()), hide_index=True, width="stretch")
                st.plotly_chart(chain_figure(fill), width="stretch", key="mlm_chain_chart")
                st.caption(ngettext("Joint log-probability of the chain: {log_prob:.3f} ({forwards} forward). "
                                    "Greedy: each step keeps the single best token.",
                                    "Joint log-probability of the chain: {log_prob:.3f} ({forwards} forwards). "
                                    "Greedy: each step keeps the single best token.", fill.forwards).format(
                               log_prob=fill.log_prob, forwards=fill.forwards))


if inputs is not None:
    masking(loaded, inputs)

# ---------------------------------------------------------------- sentence scoring
@st.fragment
def scoring(loaded: LoadedModel) -> None:
    """Minimal-pair scoring: its inputs and Compare button rerun only this fragment."""
    st.divider()
    st.subheader(_("Score sentences (pseudo-log-likelihood)"))
    st.markdown(
        _("Mask each token in turn and add up the log-probability the model gives the original token "
          "(Salazar et al., 2020). Higher (closer to 0) means the model finds the sentence more natural. "
          "Compare a **minimal pair**: two sentences that differ in one spot.")
    )
    if PAIRS:
        st.selectbox(_("Minimal pairs"), [p["label"] for p in PAIRS], index=None, key="mlm_pair_example",
                     placeholder=_("Pick a minimal pair…"), on_change=_use_pair)
    a_col, b_col = st.columns(2)
    a_col.text_input(_("Sentence A"), key="mlm_pair_a", bind=url_bind("mlm_pair_a"), max_chars=READ_CHARS)
    b_col.text_input(_("Sentence B"), key="mlm_pair_b", bind=url_bind("mlm_pair_b"), max_chars=READ_CHARS)
    variant = url_state.choice(st.radio, _("Scoring"), "mlm_pll_variant", horizontal=True)
    pair_key = ("pll", loaded.key, state["mlm_pair_a"], state["mlm_pair_b"], variant)
    with guard():
        if st.button(_("Compare"), key="mlm_score", icon=":material/balance:"):
            memo(pair_key, lambda: compare_pair(loaded, state["mlm_pair_a"], state["mlm_pair_b"], variant,
                                                max_tokens=MAX_TOKENS))
        comparison = memo(pair_key)
        if comparison is not None:
            show_notices(comparison.a.notices + comparison.b.notices)
            m1, m2, m3 = st.columns(3)
            m1.metric(_("PLL of A"), f"{comparison.a.pll:.3f}", help=_("{n_scores} tokens").format(
                                                                      n_scores=len(comparison.a.scores)))
            m2.metric(_("PLL of B"), f"{comparison.b.pll:.3f}", help=_("{n_scores} tokens").format(
                                                                      n_scores=len(comparison.b.scores)))
            m3.metric("A − B", f"{comparison.difference:+.3f}")
            verdict = {"A": _("Sentence A is more probable to the model."), "B": _("Sentence B is more probable to the model."),
                       "tie": _("The model scores both sentences the same.")}[comparison.preferred]
            st.success(verdict)
            st.plotly_chart(pair_figure(comparison), width="stretch", key="mlm_pair_chart")
            st.dataframe(table(comparison.rows()), hide_index=True, width="stretch")
            forwards = comparison.a.forwards + comparison.b.forwards
            st.caption(ngettext("Pseudo-perplexity: A {pseudo_perplexity:.2f}, B {pseudo_perplexity2:.2f}. "
                                "{forwards} batched forward.",
                                "Pseudo-perplexity: A {pseudo_perplexity:.2f}, B {pseudo_perplexity2:.2f}. "
                                "{forwards} batched forwards.", forwards).format(
                           pseudo_perplexity=comparison.a.pseudo_perplexity,
                           pseudo_perplexity2=comparison.b.pseudo_perplexity,
                           forwards=forwards))


if loaded.has_head:
    scoring(loaded)
