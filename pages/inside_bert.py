"""Inside BERT: the forward pass step by step, on the user's own text, with the model's real numbers.

One forward per (model, text, pair, masks) records every step; moving a slider never re-runs the model.
"""
from collections.abc import Container

import streamlit as st

from bertexplore.inside.forward import model_key
from bertexplore.inside.walk import MAX_TOKENS, auto_head, trace_names
from bertexplore.trace import apply_masks, trace_tokens
from ui.entry import inside_app
from ui.feedback import guard, show_notices, show_unknown
from ui.i18n import N_, _
from ui.inside_output_view import step_heads, step_practical, step_pretraining
from ui.markdown import plain
from ui.inside_view import Walk, step_attention, step_embeddings, step_layer, step_mask, step_tokens
from ui.models import current_model_name, get_model
from ui.session_memo import memo
from ui.url_text import READ_CHARS, url_bind

inside_app()  # a deep link on a fresh server must still run through app.py

STEPS = {1: N_("Tokens"), 2: N_("Embeddings"), 3: N_("Self-attention"), 4: N_("Attention mask"),
         5: N_("Residual + FFN"), 6: N_("Output heads"), 7: N_("Pre-training"), 8: N_("Practical questions")}
# The steps that read each pick: a slider shows only where moving it changes something.
LAYER_STEPS, HEAD_STEPS, TOKEN_STEPS = {3, 4, 5}, {3, 4}, {2, 3, 5}
HEADS = ("auto", "base", "pretraining", "mlm", "sequence-classification", "token-classification", "question-answering")
DEFAULT_TEXT = "The keys to the cabinet are on the table. She put them there this morning."


def clamp(key: str, low: int, high: int) -> None:
    """A value from another model or text (or a shared link) may lie outside this one's range."""
    value = st.session_state.get(key)
    if isinstance(value, (int, float)) and not low <= value <= high:
        st.session_state[key] = int(min(max(low, value), high))


def restore(key: str, allowed: Container) -> None:
    """A pick kept while its widget is hidden (Streamlit drops a widget's state on a run that does not draw it):
    put it back before the widget is drawn again (the widget then gets no default: passing both makes Streamlit
    warn)."""
    shadow = "_kept_" + key
    if key not in st.session_state and shadow not in st.session_state and key in st.query_params:
        value = st.query_params[key]  # a shared link opened on a step without this picker keeps the link's pick
        value = int(value) if key != "inside_token" and value.isdigit() else value
        if value in allowed:
            st.session_state[shadow] = value
    kept = st.session_state.get(shadow)
    if key not in st.session_state and kept is not None and (isinstance(kept, int) or kept in allowed):
        st.session_state[key] = kept  # numbers are clamped below; a token of another text is dropped


def keep(key: str, value: object) -> None:
    st.session_state["_kept_" + key] = value


def resample() -> None:
    st.session_state["inside_seed"] = (int(st.session_state.get("inside_seed") or 0) + 1) % (2**31 - 1)


st.title(_("Inside BERT"))
st.markdown(_("The forward pass step by step, on your own text: every number below is taken from one run of the "
              "model, and every step is recomputed by hand from the model's weights to prove it."))

name = current_model_name()
c1, c2 = st.columns([3, 1])
with c2:
    head_choice = st.selectbox(_("Model head"), HEADS, key="inside_model_head", bind="query-params",
                               help=_("auto: the head the checkpoint was saved with. 'pretraining' gives BERT's "
                                      "masked-LM and next-sentence heads."))
head = auto_head(name) if head_choice == "auto" else head_choice
loaded = get_model(head, name)
if loaded is None:
    st.stop()
with c1:
    st.caption(_("Model: {name}, {layers} layers × {heads} heads, head: {head}, on {device}.").format(
        name=plain(name), layers=loaded.num_layers, heads=loaded.num_heads, head=head, device=loaded.device))

text = st.text_area(_("Your text"), DEFAULT_TEXT, key="inside_text", bind=url_bind("inside_text"), height=80,
                    max_chars=READ_CHARS,
                    help=_("Two or more sentences make the next-sentence step richer; type [MASK] for the output heads."))
pair = st.text_input(_("Second sentence (B, optional)"), "", key="inside_pair", bind=url_bind("inside_pair"),
                     max_chars=READ_CHARS)

inputs = None
with guard():
    inputs = loaded.tokenize(text, pair.strip() or None)
    show_notices(inputs.notices)
    show_unknown(inputs)
    if len(inputs) > MAX_TOKENS:
        inputs = loaded.tokenize(text, pair.strip() or None, max_length=MAX_TOKENS)
        st.info(_("This walk reads the first {n} tokens (every step of every layer is kept for them); step 8 shows "
                  "how a longer text is cut into windows.").format(n=MAX_TOKENS), icon="✂️")
if inputs is None:
    st.stop()
labels = [f"{i}: {t}" for i, t in enumerate(inputs.tokens)]
maskable = [lab for i, lab in enumerate(labels) if not inputs.special[i]]
masks = st.multiselect(_("Mask tokens (for the output heads)"), maskable, key="inside_masks", bind="query-params",
                       placeholder=_("Choose tokens"),
                       help=_("Each choice re-runs the model once on the masked text."))
positions = tuple(sorted(labels.index(m) for m in masks if m in labels))

trace = None
with guard(), st.spinner(_("Running the model once…")):
    def compute():
        masked = apply_masks(loaded, inputs, positions) if positions else inputs
        return trace_tokens(loaded, masked, names=trace_names(loaded, len(inputs)))

    trace = memo("inside_trace", model_key(loaded) + (text, pair.strip() or None, positions), compute, keep=2)
if trace is None:
    st.stop()

step = st.radio(_("Step"), list(STEPS), horizontal=True, key="inside_step", bind="query-params",
                captions=[_(STEPS[i]) for i in STEPS])
L, H, T = trace.num_layers, trace.num_heads, len(trace.tokens)
c1, c2, c3 = st.columns(3)
for key, allowed in (("inside_layer", range(1, L + 1)), ("inside_head", range(1, H + 1)),
                     ("inside_token", labels)):
    restore(key, allowed)
clamp("inside_layer", 1, L)
clamp("inside_head", 1, H)
layer = st.session_state.get("_kept_inside_layer", 1)
head_no = st.session_state.get("_kept_inside_head", 1)
token_labels = labels  # the unmasked tokens: masking one does not reset the choice
picked = st.session_state.get("_kept_inside_token")
if step in LAYER_STEPS and L > 1:
    with c1:
        layer = st.slider(_("Layer"), 1, L, **({} if "inside_layer" in st.session_state else {"value": 1}),
                          key="inside_layer", bind="query-params")
if step in HEAD_STEPS and H > 1:
    with c2:
        head_no = st.slider(_("Head"), 1, H, **({} if "inside_head" in st.session_state else {"value": 1}),
                            key="inside_head", bind="query-params")
if step in TOKEN_STEPS:
    with c3:
        picked = st.selectbox(_("Token"), token_labels, key="inside_token", bind="query-params",
                              **({} if "inside_token" in st.session_state else {"index": min(1, T - 1)}))
layer = int(min(max(1, int(layer)), L))
head_no = int(min(max(1, int(head_no)), H))
keep("inside_layer", layer)
keep("inside_head", head_no)
token = token_labels.index(picked) if picked in token_labels else min(1, T - 1)
keep("inside_token", token_labels[token])

walk = Walk(loaded, trace, (text, pair.strip() or None, positions), layer - 1, head_no - 1, token, unmasked=inputs)
st.header(f"{step}. {_(STEPS[step])}")
SECTIONS = {1: step_tokens, 2: step_embeddings, 3: step_attention, 4: step_mask, 5: step_layer, 6: step_heads,
            8: step_practical}
with guard():
    if step == 7:  # the only step with its own controls: the masking sample's seed
        c1, c2 = st.columns([1, 3])
        seed = int(c1.number_input(_("Sample seed"), 0, 2**31 - 2, 0, key="inside_seed", bind="query-params"))
        c2.button(_("Re-sample"), key="inside_resample", icon=":material/casino:", on_click=resample)
        step_pretraining(walk, seed)
    else:
        SECTIONS.get(step, step_practical)(walk)
