"""Streamlit glue for Inside BERT, steps 1–5: tokens, embeddings, one head by hand, the mask, residual + FFN.

Every step renders from the page's one trace and the model's weights; nothing here runs the model, except the
padding experiment (step 4), memoised per text.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd
import streamlit as st

from bertexplore.figures import export_config
from bertexplore.inside import figures as F
from bertexplore.inside.attention_step import head_step, mix_step, query_patterns
from bertexplore.inside.checks import Proof, from_engine, proof
from bertexplore.inside.embeddings_step import embedding_step_from_trace
from bertexplore.inside.forward import model_key
from bertexplore.inside.layer_step import ffn_step, residual_flow_from_trace, sublayer_step
from bertexplore.inside.masking import causal_what_if, padding_experiment
from bertexplore.inside.tokens_step import token_step
from bertexplore.inside.walk import FAMILY_DIFFERENCES, FAMILY_NOTES, embedding_weights, has_layer_cache, layer_weights
from bertexplore.loading import LoadedModel
from bertexplore.tokens import Tokenized
from bertexplore.trace import Trace

from .i18n import _, ngettext
from .markdown import plain
from .plot_in_place import plotly_figure
from .feedback import guard
from .session_memo import memo, recall


@dataclass(frozen=True)
class Walk:
    """What every step reads: the model, the one trace, and the user's picks (0-based)."""

    loaded: LoadedModel
    trace: Trace
    text_key: tuple  # (text, pair, masked positions): with the model's key, names this trace
    layer: int
    head: int
    token: int
    unmasked: Tokenized | None = None  # the text before step 6's masks (the trace holds the masked one)

    @property
    def key(self) -> tuple:
        return model_key(self.loaded) + self.text_key

    @property
    def plain_inputs(self) -> Tokenized:
        return self.unmasked if self.unmasked is not None else self.trace.inputs

    def step_result(self, kind: str, extra: tuple, compute: Callable[[], Any], unmasked: bool = False) -> Any:
        """A step's result for this model and text, computed once per session (extra forwards, proofs);
        `unmasked`: the result reads the text as typed, so step 6's masks do not make it run again."""
        key = model_key(self.loaded) + self.text_key[:2] + ("unmasked",) if unmasked else self.key
        return memo("inside_" + kind, key + extra, compute, keep=4)


def explain(text: str) -> None:
    st.markdown(text)


def misconception(claim: str, truth: str) -> None:
    st.warning(_("**Common misconception:** {claim}").format(claim=claim) + "\n\n"
               + _("**What this model's numbers show:** {truth}").format(truth=truth), icon=":material/lightbulb:")


def show_proofs(proofs: list[Proof] | tuple[Proof, ...]) -> None:
    """The proof beside each step: recomputed by hand = the model's own value, with the largest difference."""
    if not proofs:
        return
    worst = max(p.max_abs_diff for p in proofs)
    ok = all(p.ok for p in proofs)
    head = (ngettext("Recomputed by hand = the model's own value: {n} check, largest difference {diff:.1e}",
                     "Recomputed by hand = the model's own value: {n} checks, largest difference {diff:.1e}",
                     len(proofs)).format(n=len(proofs), diff=worst) if ok else
        _("Recomputed by hand differs from the model's own value (largest difference {diff:.1e})").format(diff=worst))
    with st.expander(head, icon=":material/check_circle:" if ok else ":material/warning:"):
        st.dataframe(pd.DataFrame({_("step"): [p.name for p in proofs],
                                   _("max |hand − model|"): [f"{p.max_abs_diff:.2e}" for p in proofs],
                                   _("largest |value|"): [f"{p.scale:.3g}" for p in proofs],
                                   _("within float32 rounding"): [p.ok for p in proofs]}),
                     hide_index=True, width="stretch")


def engine_proofs(recompute: Callable[[], list]) -> list[Proof]:
    """anatomy's checks as Proofs; a recomputation that raises becomes a failing proof the page shows, not silence."""
    try:
        return from_engine(recompute())
    except Exception as err:  # noqa: BLE001 - shown as a failed proof with the reason
        return [Proof(_("recomputing from the weights failed: {error}").format(error=f"{type(err).__name__}: {err}"),
                      float("inf"))]


def show_chart(chart: F.Chart, key: str) -> None:
    plotly_figure(chart.fig, key=f"inside_fig_{key}", config=export_config(chart.name))
    st.download_button(_("Data of this figure (CSV)"), data=chart.csv, file_name=f"{chart.name}.csv", mime="text/csv",
                       key=f"inside_csv_{key}", on_click="ignore", icon=":material/table:")


def family_note(loaded: LoadedModel) -> bool:
    """Say what differs in this family; True when the step-by-step math cannot be shown for it."""
    note = FAMILY_NOTES.get(loaded.model_type)
    if note or not getattr(loaded, "full_cache", True):
        st.info(_("This page rebuilds BERT's own computation. {note} The steps below show what the trace holds "
                  "for this model, not BERT's formulas.").format(note=_(note) if note else ""), icon=":material/info:")
        return True
    diff = FAMILY_DIFFERENCES.get(loaded.model_type)
    if diff:
        st.caption(_(diff))
    return False


def layer_scores(trace: Trace, layer: int) -> np.ndarray:
    """[H, T, T] scores as recorded, or (long inputs, where they are not kept) q·kᵀ/√d from the recorded q and k."""
    name = f"blocks.{layer}.attn.scores"
    if name in trace:
        return trace[name]
    q, k = trace[f"blocks.{layer}.attn.q"], trace[f"blocks.{layer}.attn.k"]
    return (q @ k.transpose(0, 2, 1)) / np.sqrt(q.shape[-1])


def token_label(trace: Trace, i: int) -> str:
    return f"{i}: {trace.tokens[i]}"


# ---------------------------------------------------------------- step 1
def step_tokens(w: Walk) -> None:
    tok = w.loaded.tokenizer
    s = token_step(tok, w.trace.inputs)
    explain(_("The model never sees letters. Its tokenizer cuts the text into pieces from a fixed vocabulary "
              "(WordPiece for BERT): a word it knows stays whole, a rarer word is split into known pieces, and "
              "pieces that continue a word start with “{prefix}”. It adds [CLS] at the start and [SEP] after each "
              "sentence, and hands the model one integer id per piece.").format(prefix=plain(s.continuation_prefix or "·")))
    c = st.columns(4)
    c[0].metric(_("tokens"), len(s.tokens))
    c[1].metric(_("vocabulary size"), f"{s.vocab_size:,}")
    c[2].metric(_("words split into pieces"), len(s.split_words))
    c[3].metric(_("[UNK] tokens"), len(s.unk_positions))
    st.dataframe(pd.DataFrame(s.rows()).rename(columns={"position": _("position"), "token": _("token"), "id": _("id"),
                                                      "segment": _("segment"), "special": _("special")}),
                 hide_index=True, width="stretch", height=min(400, 38 + 35 * len(s.tokens)))
    words = [w_ for w_ in s.words if not w_.special]
    chart = F.bar_chart("pieces_per_word", _("Pieces per word"), [w_.text for w_ in words],
                        [len(w_.pieces) for w_ in words], _("pieces"), highlight=[len(w_.pieces) > 1 for w_ in words])
    show_chart(chart, "pieces")
    if s.has_cjk:
        st.info(_("Chinese, Japanese and Korean characters are split by a fixed rule BEFORE WordPiece: BERT's "
                  "tokenizer puts a space around every CJK character, so each character is its own token whatever "
                  "the data (the vocabulary holds single characters). Nothing about this split was learned."),
                icon=":material/rule:")
        if s.cjk_split_words:
            st.dataframe(pd.DataFrame({_("word"): [w_.text for w_ in s.cjk_split_words],
                                       _("characters (fixed rule)"): [" · ".join(w_.pieces) for w_ in s.cjk_split_words]}),
                         hide_index=True, width="stretch")
    if s.learned_split_words:
        st.markdown(_("**Split words** (a piece is whatever the vocabulary holds; the split is learned from data, "
                      "not from grammar):"))
        st.dataframe(pd.DataFrame({_("word"): [w_.text for w_ in s.learned_split_words],
                                   _("pieces"): [" · ".join(w_.pieces) for w_ in s.learned_split_words]}),
                     hide_index=True, width="stretch")
    if s.unk_positions:
        st.warning(_("{n} piece(s) became the unknown token {unk}: the vocabulary has no piece for some character "
                     "(often an emoji or a rare script). The model sees only “unknown” there: the meaning is "
                     "lost.").format(n=len(s.unk_positions), unk=plain(s.unk_token)))
        st.dataframe(pd.DataFrame({_("word"): [w_.text for w_ in s.words if w_.unknown]}), hide_index=True)
    if s.has_pair:
        st.caption(_("Two sentences: segment id 0 marks [CLS], sentence A and its [SEP]; 1 marks sentence B and the "
                     "last [SEP]. The model adds a segment embedding for each (step 2)."))
    mask = getattr(tok, "mask_token", None)
    if mask is not None:
        misconception(_("“[MASK] adds an extra embedding vector to the input.”"),
                      _("{mask} is an ordinary entry of the vocabulary, id {id} of {size:,}: it has its own learned "
                        "row in the word-embedding table, and the position and segment vectors are added to it like "
                        "to any other token.").format(mask=plain(mask), id=tok.mask_token_id, size=s.vocab_size))


# ---------------------------------------------------------------- step 2
def step_embeddings(w: Walk) -> None:
    loaded, trace = w.loaded, w.trace
    if family_note(loaded) or "embed.word" not in trace:
        return
    ew = embedding_weights(loaded)
    es = embedding_step_from_trace(trace, ew)
    explain(_("Each token id picks one row of the **word-embedding** table; its position picks a row of the "
              "**position** table and its sentence a row of the **segment** table. The three vectors are "
              "**added**, then LayerNorm rescales each token's sum to mean 0 and variance 1 (then a learned "
              "scale and shift)."))
    kinds = [(_("word"), es.word), (_("position"), es.position)]
    if es.segment is not None:
        kinds.append((_("segment"), es.segment))
    kinds += [(_("sum"), es.summed), (_("after LayerNorm"), trace["embed.out"])]
    show_chart(F.strips_chart(trace.tokens, kinds), "strips")
    if len(trace.tokens) > F.MAX_ROWS:
        st.caption(_("The figure shows the first {n} tokens; the CSV holds all of them.").format(n=F.MAX_ROWS))
    normed = (es.summed - es.mean[:, None]) / np.sqrt(es.var[:, None] + ew.ln_eps)
    chart = F.grouped_bars("layernorm", _("Each token's sum before and after LayerNorm"), trace.tokens,
                           [(_("mean before"), es.mean), (_("variance before"), es.var),
                            (_("mean after normalising"), normed.mean(-1)),
                            (_("variance after normalising"), normed.var(-1))], _("value"))
    show_chart(chart, "layernorm")
    t = w.token
    table = {_("dimension"): list(range(8)), _("word"): es.word[t, :8], _("position"): es.position[t, :8]}
    if es.segment is not None:
        table[_("segment")] = es.segment[t, :8]
    table[_("sum")] = es.summed[t, :8]
    st.caption(_("The first 8 of {width} dimensions for the chosen token:").format(width=es.width))
    st.dataframe(pd.DataFrame(table), hide_index=True)
    proofs = list(es.proofs)
    from bertexplore import anatomy
    proofs += w.step_result("embed_proofs", (), lambda: engine_proofs(lambda: anatomy.recompute_embeddings(trace, loaded)))
    show_proofs(proofs)
    n_kinds = 3 if es.segment is not None else 2
    misconception(_("“The word, position and segment embeddings are concatenated.”"),
                  _("They are added: each is {width} numbers wide and so is their sum (concatenated they would be "
                    "{cat} wide). The sum above matches the model's own to {diff:.1e}.").format(
                      width=es.width, cat=n_kinds * es.width, diff=es.proofs[0].max_abs_diff if es.proofs else 0.0))
    misconception(_("“BERT's word embeddings come from Word2Vec or GloVe.”"),
                  _("The table is one of this model's own parameters, {rows:,} × {width}, trained with the rest of "
                    "the model; it has rows for word pieces such as “##ing” and for [CLS], [SEP] and [MASK], which "
                    "Word2Vec never had.").format(rows=ew.word.shape[0], width=ew.word.shape[1]))


# ---------------------------------------------------------------- step 3
def step_attention(w: Walk) -> None:
    loaded, trace, L, H, t = w.loaded, w.trace, w.layer, w.head, w.token
    if family_note(loaded) or f"blocks.{L}.attn.q" not in trace:
        return
    lw = layer_weights(loaded, L)
    p = f"blocks.{L}."
    q, k, v = trace[p + "attn.q"], trace[p + "attn.k"], trace[p + "attn.v"]
    recorded_scores = trace[p + "attn.scores"] if p + "attn.scores" in trace else None
    hs = head_step(q, k, v, L, H, t, model_scores=recorded_scores, model_pattern=trace[p + "attn.pattern"],
                   model_z=trace[p + "attn.z"])
    x = trace["embed.out"] if L == 0 else trace[f"blocks.{L - 1}.normalized_resid_post"]
    d = lw.d_head
    cols = slice(H * d, (H + 1) * d)
    proj = [proof(_("x·W_Q + b_Q = the model's q"), x[t] @ lw.q_w[:, cols] + lw.q_b[cols], q[H, t]),
            proof(_("x·W_K + b_K = the model's k (every token)"), x @ lw.k_w[:, cols] + lw.k_b[cols], k[H]),
            proof(_("x·W_V + b_V = the model's v (every token)"), x @ lw.v_w[:, cols] + lw.v_b[cols], v[H])]
    explain(_("Every token's vector x is multiplied by three learned matrices: **q = x·W_Q** (what it looks for), "
              "**k = x·W_K** (what it offers), **v = x·W_V** (what it passes on). Each of the {heads} heads uses its "
              "own {d}-number slice. The chosen token's q is compared with every k by a dot product, divided by "
              "√{d} = {sqrt:.2f}, the mask is added, and softmax turns the scores into weights that sum to 1. The "
              "head's output z is the weighted sum of the v vectors.").format(heads=lw.heads, d=d, sqrt=np.sqrt(d)))
    labels = [token_label(trace, j) for j in range(len(trace.tokens))]
    qk = np.vstack([hs.q[None], hs.k])
    show_chart(F.heatmap_chart("q_and_k", _("q of the chosen token (top row) and every token's k"), qk,
                               [str(i) for i in range(d)], [_("q · {tok}").format(tok=labels[t])] + labels,
                               colorscale="RdBu_r", zmid=0.0), "qk")
    show_chart(F.grouped_bars("scores", _("q·k / √d for every key, then softmax"), labels,
                              [(_("q·k/√d"), hs.scaled), (_("mask added"), hs.mask), (_("softmax weight"), hs.pattern)],
                              _("value")), "scores")
    weighted = hs.pattern[:, None] * hs.v
    show_chart(F.heatmap_chart("weighted_values", _("weight × v for every token, and their sum z (bottom row)"),
                               np.vstack([weighted, hs.z[None]]), [str(i) for i in range(d)], labels + ["z"],
                               colorscale="RdBu_r", zmid=0.0), "weighted")
    mix = mix_step(trace[p + "attn.z"], t, lw.o_w, lw.o_b, model_out=trace[p + "attn.out"])
    explain(_("**All heads together.** The {heads} z vectors of the token are concatenated ({hd} numbers), "
              "multiplied by the learned output matrix W_O ({hd} × {D}) and the bias is added: that is the "
              "attention output the residual step (5) adds back. Below: how much each head contributes to it.").format(
        heads=lw.heads, hd=lw.heads * d, D=lw.o_w.shape[1]))
    show_chart(F.bar_chart("head_shares", _("Length of each head's share of the output"),
                           [_("H{head}").format(head=h + 1) for h in range(lw.heads)], mix.head_norms, _("norm"),
                           highlight=[h == H for h in range(lw.heads)]), "shares")
    patterns = query_patterns(trace[p + "attn.pattern"], t)
    show_chart(F.heatmap_chart("token_in_every_head", _("The chosen token's attention in every head of layer {layer}").format(
        layer=L + 1), patterns, labels, [_("H{head}").format(head=h + 1) for h in range(patterns.shape[0])],
        value_title=_("weight")), "multihead")
    proofs = proj + list(hs.proofs) + list(mix.proofs)
    if has_layer_cache(trace, L):
        from bertexplore import anatomy
        proofs += w.step_result("layer_proofs", (L,), lambda: engine_proofs(lambda: anatomy.recompute_layer(trace, loaded, L)))
    show_proofs(proofs)
    no_sqrt = float(np.max(np.abs(hs.dots - hs.scores)))
    misconception(_("“Attention compares the embeddings directly: Q = K = V = the input, and softmax(Q·Kᵀ)·V.”"),
                  _("BERT first projects x with learned W_Q, W_K, W_V ({D} × {hd} each, split into {heads} heads of "
                    "{d}) and divides the scores by √d_head = {sqrt:.2f}. Without that division the scores of this "
                    "token would be off by up to {off:.2f}; with it they match the model's to {diff:.1e}.").format(
                      D=lw.q_w.shape[0], hd=lw.q_w.shape[1], heads=lw.heads, d=d, sqrt=np.sqrt(d), off=no_sqrt,
                      diff=max(pr.max_abs_diff for pr in hs.proofs)))


# ---------------------------------------------------------------- step 4
def step_mask(w: Walk) -> None:
    loaded, trace, L, H = w.loaded, w.trace, w.layer, w.head
    explain(_("Sentences in one batch must have the same length, so shorter ones are filled with [PAD]. The "
              "**attention mask** (1 for real tokens, 0 for padding) becomes a number added to every score: 0 for "
              "real tokens and a huge negative for [PAD], so softmax gives padding a weight of exactly 0. Here your "
              "text is padded with [PAD] tokens, as a batch pads it beside a longer sentence, and run once more."))
    if len(trace.tokens) >= loaded.max_length:
        st.info(_("The text fills the model's whole window: there is no room for padding. Shorten it to run "
                  "this experiment."))
    else:
        alone = [trace["embed.out"]] + [trace[f"blocks.{l}.normalized_resid_post"] for l in range(trace.num_layers)] \
            if "embed.out" in trace else []
        exp = w.step_result("padding", (), lambda: padding_experiment(loaded, trace.inputs, alone))
        c = st.columns(3)
        c[0].metric(_("[PAD] tokens added"), exp.pads)
        c[1].metric(_("largest weight on any [PAD]"), f"{exp.pad_weight_max:.1e}",
                    help=_("Over every layer, head and real token."))
        if len(exp.output_diff):
            c[2].metric(_("outputs changed by padding (max)"), f"{float(exp.output_diff.max()):.1e}",
                        help=_("Largest difference of any real token's hidden state, any layer, padded vs alone."))
        mask_table = pd.DataFrame({_("token"): exp.tokens, _("attention_mask"): [str(m) for m in exp.attention_mask],
                                   _("added to the score"): [f"{v:.3g}" for v in exp.additive_mask]})
        st.dataframe(mask_table.T, width="stretch")
        st.caption(_("The model adds {value:.4g} (the smallest float32) for [PAD], not −∞: exp of it is exactly 0 "
                     "in float32 all the same.").format(value=float(exp.additive_mask.min())) if exp.pads else "")
        padded_labels = [f"{i}: {t}" for i, t in enumerate(exp.tokens)]
        show_chart(F.heatmap_chart("padded_attention", _("Layer {layer}, head {head}: your tokens attending, in the "
                                                         "padded batch").format(layer=L + 1, head=H + 1),
                                   exp.pattern[L, H], padded_labels, padded_labels[:exp.real], value_title=_("weight")),
                   "padded")
        if st.button(_("What if there were no mask?"), key="inside_unmasked",
                     help=_("Runs the padded batch once more with attention_mask all 1.")):
            with guard():
                w.step_result("padding_unmasked", (), lambda: padding_experiment(loaded, trace.inputs, alone, unmasked=True))
        leak = recall("inside_padding_unmasked", w.key)
        if leak is not None and len(leak.unmasked_diff):
            st.caption(_("Without the mask (attention_mask all 1) the same padded batch changes your tokens' outputs "
                         "by up to {bad:.2g}; with it, by {good:.1e}.").format(bad=float(leak.unmasked_diff.max()),
                                                                          good=float(exp.output_diff.max())))
    if f"blocks.{L}.attn.pattern" not in trace or (f"blocks.{L}.attn.scores" not in trace
                                                    and f"blocks.{L}.attn.q" not in trace):
        return
    st.markdown(_("**What if the mask hid the future?** A GPT-style (causal) mask adds −∞ to every later token. "
                  "Below, the same scores of layer {layer}, head {head} with BERT's real mask and with a causal one.").format(
        layer=L + 1, head=H + 1))
    what = causal_what_if(layer_scores(trace, L)[H], trace[f"blocks.{L}.attn.pattern"][H])
    show_chart(F.side_by_side("bidirectional_vs_causal", _("BERT (real) vs causal (what if)"),
                              [(_("BERT: every token sees every token"), what.bidirectional),
                               (_("causal: only earlier tokens"), what.causal)], trace.tokens), "causal")
    show_chart(F.bar_chart("future_share", _("Share of each token's attention on LATER tokens (real model, layer {layer}, "
                                             "head {head})").format(layer=L + 1, head=H + 1),
                           [token_label(trace, i) for i in range(len(trace.tokens))], what.future_share, _("share")),
               "future")
    misconception(_("“attention_mask holds the position embeddings.”"),
                  _("attention_mask is the 1/0 row above: it marks real tokens and padding. Positions come from the "
                    "position-embedding table, one learned row per position (step 2)."))
    misconception(_("“BERT's attention mask stops it from looking at future words.”"),
                  _("BERT reads in both directions: in this head, tokens put on average {share:.0%} of their attention "
                    "on tokens AFTER them. Its mask only hides [PAD]; hiding the future is what GPT-style decoders "
                    "do.").format(share=float(what.future_share[:-1].mean()) if len(what.future_share) > 1 else 0.0))


# ---------------------------------------------------------------- step 5
def step_layer(w: Walk) -> None:
    loaded, trace, L, t = w.loaded, w.trace, w.layer, w.token
    if family_note(loaded) or f"blocks.{L}.normalized_resid_mid" not in trace:
        return
    lw = layer_weights(loaded, L)
    p = f"blocks.{L}."
    x = trace["embed.out"] if L == 0 else trace[f"blocks.{L - 1}.normalized_resid_post"]
    explain(_("Each layer has two sub-layers, and around each one the same two moves: **add** its output back to "
              "its input (the residual connection: the layer only has to learn a change), then **LayerNorm**. "
              "Between them sits the feed-forward network (FFN): the same two linear layers for every token, "
              "{F} neurons wide ({ratio:.0f}× the hidden size {D}) with one {act} between them.").format(
        F=lw.ffn_in_w.shape[1], ratio=lw.ffn_in_w.shape[1] / lw.ffn_in_w.shape[0], D=lw.ffn_in_w.shape[0],
        act=plain(lw.activation)))
    flow = residual_flow_from_trace(trace, trace.num_layers)
    show_chart(F.layer_token_chart("sublayer_change", _("How much each sub-layer turns each token's vector (1 − cosine)"),
                                   [(_("attention + LayerNorm"), flow.change_attn), (_("FFN + LayerNorm"), flow.change_ffn)],
                                   trace.tokens, _("1 − cos")), "change")
    layers = [_("L{layer}").format(layer=l + 1) for l in range(trace.num_layers)]
    show_chart(F.lines_chart("norms", _("Length of the chosen token's vectors, layer by layer"), layers,
                             [(_("input x"), flow.norm_in[:, t]), (_("attention output"), flow.norm_attn[:, t]),
                              (_("after add + LayerNorm 1"), flow.norm_mid[:, t]), (_("FFN output"), flow.norm_ffn[:, t]),
                              (_("after add + LayerNorm 2"), flow.norm_out[:, t])], _("norm")), "norms")
    attn = sublayer_step(_("attention"), x[t], trace[p + "attn.out"][t], lw.ln1_w, lw.ln1_b, lw.ln1_eps,
                         model_out=trace[p + "normalized_resid_mid"][t],
                         model_added=trace[p + "resid_mid"][t] if p + "resid_mid" in trace else None)
    ffn = ffn_step(trace[p + "normalized_resid_mid"], lw.ffn_in_w, lw.ffn_in_b, lw.ffn_out_w, lw.ffn_out_b, lw.activation, t,
                   model_pre=trace[p + "mlp.pre"] if p + "mlp.pre" in trace else None,
                   model_post=trace[p + "mlp.post"] if p + "mlp.post" in trace else None, model_out=trace[p + "mlp.out"])
    out = sublayer_step(_("FFN"), trace[p + "normalized_resid_mid"][t], trace[p + "mlp.out"][t], lw.ln2_w, lw.ln2_b, lw.ln2_eps,
                        model_out=trace[p + "normalized_resid_post"][t],
                        model_added=trace[p + "resid_post"][t] if p + "resid_post" in trace else None)
    st.dataframe(pd.DataFrame({
        _("sub-layer"): [_("attention"), _("FFN")],
        _("|x|"): [np.linalg.norm(attn.x), np.linalg.norm(out.x)],
        _("|update|"): [np.linalg.norm(attn.update), np.linalg.norm(out.update)],
        _("|x + update|"): [np.linalg.norm(attn.added), np.linalg.norm(out.added)],
        _("mean before LN"): [attn.mean, out.mean], _("variance before LN"): [attn.var, out.var],
        _("|after LN|"): [np.linalg.norm(attn.out), np.linalg.norm(out.out)],
    }), hide_index=True, width="stretch")
    neurons = [str(i) for i, _pre, _post in ffn.top]
    show_chart(F.grouped_bars("top_neurons", _("The chosen token's most active FFN neurons (layer {layer})").format(layer=L + 1),
                              neurons, [(_("before {act}").format(act=ffn.activation), [pre for _i, pre, _p in ffn.top]),
                                        (_("after {act}").format(act=ffn.activation), [post for _i, _p, post in ffn.top])],
                              _("activation")), "neurons")
    st.caption(_("{share:.0%} of the {F} neurons give this token a positive output.").format(share=ffn.active_share,
                                                                                             F=ffn.width))
    show_proofs(list(attn.proofs) + list(ffn.proofs) + list(out.proofs))
    misconception(_("“The feed-forward network has two layers with different activations.”"),
                  _("It is one {act} between two linear layers: {D} → {F} → {D} ({ratio:.0f}× wider inside). The "
                    "recomputation above uses exactly that and matches the model's output.").format(
                      act=plain(ffn.activation), D=ffn.hidden, F=ffn.width, ratio=ffn.ratio))
