"""The causal lab's four blocks: patching, heads, knowledge neurons, probes. Each computes on a button, keeps the
result in the session's memo (keyed by model and inputs), and redraws from it on every rerun without a forward."""
from __future__ import annotations

import numpy as np
import streamlit as st

from bertexplore.causal import (attribution_patch_heads, average_heads, edit_neurons, head_kind, knowledge_neurons, minimal_pairs,
                                patch, patch_heads, probe_tagset, rank_correlation)
from bertexplore.causal.figures import average_heads_figure, cone_figure, head_maps_figure, neuron_figure, patch_map_figure, probe_figure
from bertexplore.causal.figures import reach
from bertexplore.loading import LoadedModel
from ui.feedback import guard, show_unknown
from ui.i18n import N_, _, current_language
from ui.markdown import plain
from ui.session_memo import memo, recall

SITES = {"resid": N_("residual stream (layer output)"), "attn": N_("attention output"), "mlp": N_("FFN output")}
TAGSETS = {"pos": N_("part of speech"), "ner": N_("named-entity type")}
LANGUAGES = {"en": "English", "zh": "中文"}
DEFAULTS = {
    "en": ("The keys to the cabinet [MASK] on the table.", "The key to the cabinet [MASK] on the table.",
           "are", "is", "Paris is the capital of [MASK].", "The cat sat on the [MASK]."),
    "zh": ("桌子上放着一[MASK]书，旁边有辆车。", "桌子上放着一[MASK]车，旁边有本书。", "本", "辆",
           "巴黎是[MASK]国的首都。", "小猫坐在[MASK]子上。"),
}
NO_HEAD = {"en": ("The keys to the cabinet are on the table.", "The key to the cabinet is on the table."),
           "zh": ("桌子上的钥匙是我的。", "桌子上的书本是我的。")}


def _lang() -> str:
    return "zh" if current_language() == "zh" else "en"


def _use_pair() -> None:
    index = st.session_state.get("causal_pair", -1)
    if index is None or index < 0:
        return
    pair = minimal_pairs(_lang())[index]
    st.session_state.update(causal_clean=pair.clean, causal_corrupt=pair.corrupt, causal_target=pair.target,
                            causal_contrast=pair.contrast)


def inputs(loaded: LoadedModel) -> dict:
    """The pair, the site and the candidates every patching block reads."""
    kind = head_kind(loaded)
    lang = _lang()
    clean_default, corrupt_default, target_default, contrast_default = DEFAULTS[lang][:4]
    if kind != "mlm":
        clean_default, corrupt_default = NO_HEAD[lang]
    if kind == "mlm":
        pairs = minimal_pairs(lang)
        own = _("(my own sentences)")
        st.selectbox(_("Start from a bundled minimal pair"), [-1] + list(range(len(pairs))), key="causal_pair",
                     format_func=lambda i: own if i < 0 else pairs[i].clean,
                     on_change=_use_pair)
    cols = st.columns(2)
    clean = cols[0].text_input(_("Clean sentence"), clean_default, key="causal_clean", max_chars=500)
    corrupt = cols[1].text_input(_("Corrupted sentence (same number of tokens)"), corrupt_default,
                                 key="causal_corrupt", max_chars=500)
    target = contrast = None
    if kind == "mlm":
        cols = st.columns(2)
        target = cols[0].text_input(_("Word the clean sentence expects at [MASK]"), target_default,
                                    key="causal_target", max_chars=50)
        contrast = cols[1].text_input(_("Word the corrupted sentence expects"), contrast_default,
                                      key="causal_contrast", max_chars=50)
        st.caption(_("Metric: logit(first word) − logit(second word) at the [MASK], read by the masked-LM head."))
    elif kind == "label":
        labels = [str(loaded.config.id2label[i]) for i in range(int(loaded.config.num_labels))]
        cols = st.columns(2)
        target = cols[0].selectbox(_("Label of the clean sentence"), labels, key="causal_target_label")
        contrast = cols[1].selectbox(_("Label to compare with"), labels, index=min(1, len(labels) - 1),
                                     key="causal_contrast_label")
        st.caption(_("Metric: the logit difference of the two labels, read by the classifier head."))
    else:
        st.info(_("{name} has no masked-LM or classifier head here, so the metric is the cosine between the "
                  "pooled sentence vector (mean of the last layer) and the clean sentence's. Load a model with a "
                  "head (bert-base-uncased online, or train one on the Fine-tune page) to compare two candidate "
                  "words.").format(name=plain(loaded.name)))
    site_labels = {s: _(label) for s, label in SITES.items()}  # translated now, not when a test replays it
    site = st.radio(_("Where to patch"), list(SITES), format_func=site_labels.get, horizontal=True,
                    key="causal_site")
    return dict(clean=clean, corrupt=corrupt, target=target or None, contrast=contrast or None, site=site)


def patching_block(loaded: LoadedModel, chosen: dict) -> None:
    st.subheader(_("Activation patching"))
    st.markdown(_("Copy one activation of the clean run into the corrupted run and measure how much of the clean "
                  "behaviour comes back: 1 = all of it, 0 = none. Each layer is one batched forward (one row per "
                  "position)."))
    key = (loaded.key, chosen["clean"], chosen["corrupt"], chosen["site"], chosen["target"], chosen["contrast"])
    with guard():
        show_unknown(loaded.tokenize(chosen["clean"]))
        if st.button(_("Run patching"), key="causal_run_patch", type="primary"):
            memo("causal-patch", key, lambda: patch(loaded, chosen["clean"], chosen["corrupt"], site=chosen["site"],
                                                    target=chosen["target"], contrast=chosen["contrast"]), keep=2)
        result = recall("causal-patch", key)
        if result is None:
            st.caption(_("Press the button to run {n} forwards.").format(n=loaded.num_layers + 2))
            return
        st.caption(_("Measured: {metric}. Clean {clean:.4f}, corrupted {corrupt:.4f}; {n} forwards.").format(
            metric=plain(result.pair.metric.describe()), clean=result.pair.clean_metric,
            corrupt=result.pair.corrupt_metric, n=result.forwards))
        st.plotly_chart(patch_map_figure(result), width="stretch", key="causal_patch_fig")
        _cone(result)


def _cone(result) -> None:
    """The encoder's cone beside a causal decoder's triangle, and what the measured map says about it."""
    differs = result.pair.differs
    if not differs or result.site != "resid":
        return
    st.markdown(_("**Why whole rows?** In an encoder every position attends to every other, so a change at one "
                  "position reaches every position one layer later. A causal decoder (GPT) only lets a position "
                  "read earlier ones: the difference can never reach the positions before it, and its causal-"
                  "tracing maps are triangles."))
    st.plotly_chart(cone_figure(result), width="stretch", key="causal_cone_fig")
    first = min(differs)
    before = np.abs(result.effect[1:, :first]).sum()
    total = np.abs(result.effect[1:]).sum()
    blocked = reach(len(result.rows), len(result.pair.clean), differs, causal=True)[1:] == 0
    if total > 0:
        st.caption(_("Measured here: {share:.0%} of the effect (sum of |effect| over layers 1–{layers}) sits at "
                     "positions before the first changed token ({token}), cells that a causal decoder could not "
                     "use at all ({cells} of {all} cells).").format(
            share=before / total, layers=len(result.rows) - 1, token=plain(result.pair.tokens[first]),
            cells=int(blocked.sum()), all=blocked.size))


def heads_block(loaded: LoadedModel, chosen: dict) -> None:
    st.subheader(_("Heads that carry it"))
    st.markdown(_("Patch each attention head's output (at every position) from the clean run, one head at a time, "
                  "and beside it the gradient estimate for all heads at once (attribution patching: one forward "
                  "and one backward). Where the estimate's ranking agrees, the cheap method can scan big models."))
    key = (loaded.key, chosen["clean"], chosen["corrupt"], chosen["target"], chosen["contrast"])
    with guard():
        if st.button(_("Patch every head"), key="causal_run_heads"):
            def both():
                exact = patch_heads(loaded, chosen["clean"], chosen["corrupt"], target=chosen["target"],
                                    contrast=chosen["contrast"])
                estimate = attribution_patch_heads(loaded, chosen["clean"], chosen["corrupt"], pair=exact.pair)
                return exact, estimate
            memo("causal-heads", key, both, keep=2)
        result = recall("causal-heads", key)
        if result is None:
            return
        exact, estimate = result
        st.plotly_chart(head_maps_figure(exact, estimate), width="stretch", key="causal_heads_fig")
        rho = rank_correlation(exact.effect, estimate.effect)
        layer, head = np.unravel_index(np.nanargmax(np.abs(exact.effect)), exact.effect.shape)
        st.caption(_("Rank correlation (Spearman) of the two maps: {rho:.2f}. Strongest head by exact patching: "
                     "L{layer} H{head} ({effect:+.2f}). Exact: {n_exact} forwards; estimate: {n_est} forwards and one "
                     "backward.").format(rho=rho, layer=layer + 1, head=head + 1,
                                         effect=float(exact.effect[layer, head]), n_exact=exact.forwards,
                                         n_est=estimate.forwards))
    if head_kind(loaded) == "mlm":
        _average_block(loaded)


def _average_block(loaded: LoadedModel) -> None:
    """Heads across all bundled agreement pairs of the page's language (one attribution forward per pair)."""
    pairs = minimal_pairs(_lang())
    key = (loaded.key, _lang())
    with guard():
        if st.button(_("Average over the {n} bundled minimal pairs").format(n=len(pairs)), key="causal_run_average"):
            memo("causal-average", key, lambda: average_heads(loaded, pairs, method="attribution"), keep=2)
        average = recall("causal-average", key)
        if average is None:
            return
        st.plotly_chart(average_heads_figure(average), width="stretch", key="causal_average_fig")
        layer, head = np.unravel_index(np.argmax(np.abs(average.effect)), average.effect.shape)
        st.caption(_("Attribution patching on {used} pairs ({skipped} skipped: the model could not tell them apart "
                     "or a candidate is not one token). Strongest on average: L{layer} H{head} ({effect:+.2f}); "
                     "{n} forwards.").format(used=average.used, skipped=len(average.skipped), layer=layer + 1,
                                             head=head + 1, effect=float(average.effect[layer, head]),
                                             n=average.forwards))


def neurons_block(loaded: LoadedModel) -> None:
    st.subheader(_("Knowledge neurons"))
    st.markdown(_("Integrated gradients of the answer's probability over every FFN neuron at the [MASK] (Dai et "
                  "al. 2022), then switch the top neurons off or amplify them, and check an unrelated prompt as a "
                  "control."))
    if head_kind(loaded) != "mlm":
        st.info(_("This needs a masked-LM head: {name} has none here. Fetch bert-base-uncased (`python -m "
                  "bertexplore download bert-base-uncased --to models`) or train a masked-LM head on the Fine-tune "
                  "page.").format(name=plain(loaded.name)))
        return
    lang = _lang()
    cols = st.columns([3, 1, 1])
    prompt = cols[0].text_input(_("Fact prompt with one [MASK]"), DEFAULTS[lang][4], key="causal_fact", max_chars=300)
    answer = cols[1].text_input(_("Answer (empty: the model's top guess)"), "", key="causal_answer", max_chars=50)
    auto = _("until converged")
    steps = cols[2].select_slider(_("Integration steps"), [0, 8, 20, 50], value=0, key="causal_steps",
                                  format_func=lambda n: auto if n == 0 else str(n),
                                  help=_("Until converged: the rule doubles until every neuron's score agrees "
                                         "between two rules and the scores add up (completeness)."))
    key = (loaded.key, prompt, answer, steps)
    with guard():
        if st.button(_("Find the neurons"), key="causal_run_neurons"):
            memo("causal-neurons", key, lambda: knowledge_neurons(loaded, prompt, answer or None,
                                                                  steps=steps or None), keep=2)
        scores = recall("causal-neurons", key)
        if scores is None:
            return
        st.plotly_chart(neuron_figure(scores), width="stretch", key="causal_neurons_fig")
        gap = scores.probability - scores.baseline_probability
        st.caption(_("p('{answer}') = {p:.4f}; with every layer's neurons at [MASK] set to zero {p0:.4f}. The scores "
                     "sum to that difference within {err:.2g} (completeness); {nodes}-node rule, {n} forwards.").format(
            answer=plain(scores.answer_name), p=scores.probability, p0=scores.baseline_probability,
            err=scores.completeness_error, nodes=scores.steps, n=scores.forwards))
        if steps == 0 and scores.converged:
            st.caption(_("Converged: between the last two rules no neuron's score changed by more than {conv:.1%} of "
                         "the largest.").format(conv=scores.convergence))
        elif steps == 0 or (abs(gap) > 0 and scores.completeness_error > 0.05 * abs(gap)):
            st.warning(_("The integral has not converged: use more steps."))
        top = scores.top(20)
        labels = {f"L{layer + 1} N{neuron + 1}": (layer, neuron) for layer, neuron, _s in top}
        cols = st.columns([3, 1])
        picked = cols[0].multiselect(_("Neurons to edit"), list(labels), default=list(labels)[:5],
                                     key="causal_picked")
        factor = cols[1].select_slider(_("Multiply them by"), [0.0, 0.5, 2.0, 3.0], value=0.0, key="causal_factor",
                                       help=_("0 switches them off."))
        control = st.text_input(_("Control prompt (unrelated, with one [MASK])"), DEFAULTS[lang][5],
                                key="causal_control", max_chars=300)
        edit_key = key + (tuple(picked), factor, control)
        if picked and st.button(_("Edit the neurons"), key="causal_run_edit"):
            memo("causal-edit", edit_key, lambda: edit_neurons(
                loaded, prompt, [labels[p] for p in picked], factor, answer=scores.answer_name, control=control),
                 keep=2)
        edit = recall("causal-edit", edit_key)
        if edit is not None:
            cols = st.columns(2)
            cols[0].metric(_("p('{answer}') in the fact").format(answer=plain(edit.answer_name)),
                           f"{edit.after:.4f}", f"{edit.change:+.0%}")
            if edit.control_change is not None:
                cols[1].metric(_("p('{answer}') in the control").format(answer=plain(edit.control_answer_name)),
                               f"{edit.control_after:.4f}", f"{edit.control_change:+.0%}")


def probes_block(loaded: LoadedModel) -> None:
    st.subheader(_("Probes with a control task"))
    st.markdown(_("A linear probe per layer learns to read each word's tag from that layer's vector. The control "
                  "task gives every word type a random tag, which only memorising words can solve: selectivity "
                  "(accuracy − control accuracy) says what the layer encodes beyond word identity (Hewitt & Liang "
                  "2019). Sentences written for the app; held-out sentences score the probes."))
    cols = st.columns(2)
    tag_labels = {t: _(label) for t, label in TAGSETS.items()}
    tagset = cols[0].radio(_("Tags"), list(TAGSETS), format_func=tag_labels.get, horizontal=True,
                           key="causal_tagset")
    language = cols[1].radio(_("Sentences"), list(LANGUAGES), format_func=LANGUAGES.get, horizontal=True,
                             key="causal_probe_lang", index=1 if _lang() == "zh" else 0)
    key = (loaded.key, tagset, language)
    with guard():
        if st.button(_("Train the probes"), key="causal_run_probes"):
            memo("causal-probes", key, lambda: probe_tagset(loaded, tagset, language), keep=2)
        result = recall("causal-probes", key)
        if result is None:
            return
        st.plotly_chart(probe_figure(result), width="stretch", key="causal_probes_fig")
        best = int(np.argmax(result.selectivity))
        st.caption(_("{n_train} training and {n_test} test words. Most selective: {layer} (accuracy {acc:.2f}, "
                     "control {ctrl:.2f}, selectivity {sel:.2f}); the most frequent tag alone scores {maj:.2f}.").format(
            n_train=result.n_train, n_test=result.n_test, layer=_("emb") if best == 0 else f"L{result.layers[best]}",
            acc=result.accuracy[best], ctrl=result.control[best], sel=result.selectivity[best], maj=result.majority))
        if result.unknown > 0.05:
            st.warning(_("{share:.0%} of the words are unknown to this model's vocabulary ([UNK]): their vectors "
                         "carry no identity, so the probes read context only.").format(share=result.unknown))
