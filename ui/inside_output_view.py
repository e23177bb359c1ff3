"""Streamlit glue for Inside BERT, steps 6–8: output heads, pre-training objectives, practical questions.

Extra forwards (the masked-LM sample, the next-sentence pairs, compression, the second model) run only here,
each memoised per session; compression's model copies are kept once per process by the engine.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from bertexplore.download import download_command
from bertexplore.errors import BertExploreError
from bertexplore.inside import figures as F
from bertexplore.inside.compression import VARIANTS, available_variants, compression_report
from bertexplore.inside.heads_step import mlm_head_step, pooler_step, task_head_step
from bertexplore.inside.practical import compare_configs, long_text_windows, model_agreement, softmax_vs_sigmoid
from bertexplore.inside.pretraining import (NSP_SENTENCES, has_mlm_head, has_nsp_head, nsp_pairs, nsp_verdicts,
                                            pretraining_forward, sample_masking, split_sentences)
from bertexplore.registry import DEFAULT_ONLINE_MODEL, OFFLINE_MODEL

from .feedback import guard, show_error
from .i18n import _
from .inside_view import Walk, explain, misconception, plain, show_chart, show_proofs, token_label

FETCH = download_command(DEFAULT_ONLINE_MODEL, "--to", "models")


def _missing_head(what: str, heads: tuple[str, ...] = ("mlm",)) -> None:
    """Name the saved models that DO have one of `heads`, and fetch a checkpoint that has it (bert-base-uncased
    only for the masked-LM head: it has no classification, NER or QA head)."""
    from bertexplore.tasks.checkpoints import recommended

    from .head_models import models_with

    st.info(_("This model has no {what} head. Train one on the **Fine-tune** page, or fetch a checkpoint that has "
              "one (on a machine with internet access) and pick it in the sidebar:").format(what=what),
            icon=":material/info:")
    saved = sorted({name for head in heads for name in models_with(head)})
    if saved:
        st.markdown(_("Saved models on this machine that have it: {names}.").format(
            names=", ".join(plain(n) for n in saved)))
    hub = [name for head in heads for name in recommended(head)] or [DEFAULT_ONLINE_MODEL]
    st.code(download_command(hub[0], "--to", "models"), language="bash")


def _mlm_ready(w: Walk) -> bool:
    return has_mlm_head(w.loaded)


def _last_hidden(w: Walk) -> np.ndarray | None:
    name = f"blocks.{w.trace.num_layers - 1}.normalized_resid_post"
    return w.trace[name] if name in w.trace else None


# ---------------------------------------------------------------- step 6
def step_heads(w: Walk) -> None:
    loaded, trace = w.loaded, w.trace
    explain(_("After the last layer every token has one vector. A **head** is a small network on top that reads some "
              "of them: the masked-LM head reads the vector at each [MASK]; the pooler reads only [CLS] and feeds "
              "sentence classification and next-sentence prediction; a token classifier (NER) reads every token; a "
              "question-answering head scores every token as the start and the end of the answer."))
    last = _last_hidden(w)
    if last is None:
        st.info(_("This model's trace has no final hidden states to recompute the heads from."))
        return
    rows = [{_("head"): _("masked-LM"), _("reads"): _("the vector at each [MASK]"), _("gives"): _("a score for every vocabulary entry")},
            {_("head"): _("pooler → classifier / next sentence"), _("reads"): _("the [CLS] vector"), _("gives"): _("one score per label")},
            {_("head"): _("token classification (NER)"), _("reads"): _("every token's vector"), _("gives"): _("one score per label per token")},
            {_("head"): _("question answering"), _("reads"): _("every token's vector"), _("gives"): _("a start and an end score per token")}]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    misconception(_("“BERT can translate or hold a dialogue.”"),
                  _("Every head in this table scores what is already in the input (a vocabulary entry at a [MASK], a "
                    "label, a span); none writes a new sequence. Generating text needs a decoder (GPT, or the decoder "
                    "of an encoder-decoder such as T5)."))

    st.subheader(_("Masked-LM"))
    if not _mlm_ready(w):
        _missing_head(_("masked-LM"))
    else:
        positions = tuple(getattr(trace, "mask_positions", ()) or ())
        ref = trace["mlm.log_probs"] if "mlm.log_probs" in trace else None
        # The decoder multiplies by the whole word table (~94 MB on bert-base): once per text, not per rerun.
        mlm = w.step_result("mlm_head", (), lambda: mlm_head_step(loaded, last, positions, ref))
        if mlm is None:
            st.info(_("This family's masked-LM head is laid out differently; its predictions are on the Masked-LM page."))
        elif not positions:
            st.info(_("Type [MASK] in the text, or pick tokens to mask above the steps, to see the head predict them."))
        else:
            if mlm.tied:
                explain(_("The vector at each [MASK] goes through a dense layer, {act} and LayerNorm, then is "
                          "multiplied by the word-embedding table itself ({V:,} × {D}){tied}, and softmax gives a "
                          "probability to every vocabulary entry.").format(
                    act=plain(mlm.activation), V=mlm.vocab, D=mlm.hidden,
                    tied=_(": the decoder is TIED to the input embeddings, the same tensor")))
            else:
                explain(_("The vector at each [MASK] goes through a dense layer, {act} and LayerNorm, then is "
                          "multiplied by the decoder's own matrix ({V:,} × {D}; this model's decoder is NOT tied to "
                          "the word embeddings), and softmax gives a probability to every vocabulary entry.").format(
                    act=plain(mlm.activation), V=mlm.vocab, D=mlm.hidden))
            for pred in mlm.predictions:
                show_chart(F.bar_chart(f"mask_{pred.position}", _("Top predictions at {label}").format(
                    label=token_label(trace, pred.position)), pred.tokens, pred.probs, _("probability")),
                    f"mask{pred.position}")
            show_proofs(mlm.proofs)

    st.subheader(_("[CLS] → pooler → classifier"))
    pooled = pooler_step(loaded, last, trace["pooler.out"] if "pooler.out" in trace else None)
    if pooled is None:
        st.info(_("This model has no pooler: its checkpoint was saved without one (a question-answering or "
                  "token-classification model reads every token, not [CLS]; DistilBERT and RoBERTa-style "
                  "classifiers read [CLS] with their own dense layer)."))
    else:
        explain(_("The pooler multiplies the [CLS] vector by a learned matrix and applies tanh; classification and "
                  "next-sentence heads read that pooled vector."))
        show_proofs(pooled.proofs)
    refs = {n: trace[n] for n in ("cls.logits", "token.logits", "qa.start_logits", "qa.end_logits", "nsp.logits") if n in trace}
    task = task_head_step(loaded, last, None if pooled is None else pooled.pooled, refs) if loaded.has_head else None
    if task is None:
        if loaded.head not in ("mlm", "pretraining", "base"):
            st.info(_("This family's task head is laid out differently from BERT's: its outputs are on the task pages."))
        else:
            _missing_head(_("classification, token-classification or question-answering"),
                          ("sequence-classification", "token-classification", "question-answering"))
        return
    labels = [token_label(trace, i) for i in range(len(trace.tokens))]
    if task.kind == "next-sentence" and not trace.inputs.text_pair:
        st.info(_("Next-sentence prediction needs a pair: sentence A and sentence B, with segment ids 0 and 1. Your "
                  "input is a single text, so the IsNext / NotNext scores below judge a pair that does not exist. "
                  "Type a second sentence B above to ask the real question (step 7 builds pairs for you)."),
                icon=":material/info:")
    if task.kind in ("classification", "next-sentence"):
        show_chart(F.bar_chart("task_probs", _("Label probabilities (softmax of the logits)"), task.labels, task.probs,
                               _("probability")), "task")
    elif task.kind == "token-classification":
        show_chart(F.heatmap_chart("token_labels", _("Each token's label probabilities"), task.probs, task.labels, labels,
                                   value_title=_("probability")), "task")
    else:
        show_chart(F.grouped_bars("qa_logits", _("Start and end scores of every token"), labels,
                                  [(_("start"), task.logits[:, 0]), (_("end"), task.logits[:, 1])], _("logit")), "task")
        st.caption(_("With a question as sentence A and a context as sentence B, the answer is the span with the best "
                     "start + end score (the Question answering page decodes it)."))
    show_proofs(task.proofs)


# ---------------------------------------------------------------- step 7
def step_pretraining(w: Walk, seed: int) -> None:
    loaded = w.loaded
    tok = loaded.tokenizer
    st.subheader(_("Masked-LM: 15% of the tokens, 80 / 10 / 10"))
    explain(_("Pre-training hides part of the text and asks the model to restore it. 15% of the ordinary tokens are "
              "chosen; of those, 80% become [MASK], 10% a random vocabulary token and 10% stay unchanged (so the model "
              "cannot tell which tokens to fix from the input alone). The loss is the cross-entropy at the chosen "
              "tokens only. The sample below is drawn from your text with the seed shown: re-sample for another."))
    if tok.mask_token_id is None:
        st.info(_("This tokenizer has no mask token."))
        return
    inputs = w.plain_inputs  # the sample is drawn from your text as typed, never from step 6's masked copy
    if w.trace.mask_positions:
        st.caption(_("The tokens you masked for step 6 are unmasked here: pre-training draws its own sample."))
    try:
        sample = sample_masking(inputs, tok.mask_token_id, len(tok), set(tok.all_special_ids), seed)
    except BertExploreError as err:
        show_error(err)
        return
    table = pd.DataFrame({
        _("position"): list(sample.positions),
        _("original"): loaded.tokens_of([sample.original_ids[p] for p in sample.positions]),
        _("the model reads"): loaded.tokens_of([sample.input_ids[p] for p in sample.positions]),
        _("rule"): [{"mask": _("[MASK] (80%)"), "random": _("random token (10%)"), "keep": _("unchanged (10%)")}[k]
                    for k in sample.kinds]})
    st.caption(_("{chosen} of {eligible} ordinary tokens chosen (seed {seed}).").format(
        chosen=len(sample.positions), eligible=sample.eligible, seed=seed))
    st.dataframe(table, hide_index=True, width="stretch")

    sentences = split_sentences(inputs.text) + (split_sentences(inputs.text_pair) if inputs.text_pair else [])
    pairs = []
    with guard():
        pairs = nsp_pairs(sentences[:NSP_SENTENCES], seed)
    result, judged = None, nsp_verdicts(loaded, pairs)
    if not _mlm_ready(w):
        _missing_head(_("masked-LM"))
    else:
        with guard():
            # ONE forward for the sample and the pairs, with labels: the loss below is the model's own.
            result, judged = w.step_result("pretraining", (seed,), lambda: pretraining_forward(
                loaded, inputs, sample, pairs if has_nsp_head(loaded) else []), unmasked=True)
            if not has_nsp_head(loaded):
                judged = nsp_verdicts(loaded, pairs)
    if result is not None:
        st.metric(_("the model's loss on exactly this sample"), f"{result.loss:.3f}")
        per = pd.DataFrame([{_("position"): r[0], _("original"): r[1], _("read"): r[2], _("top-1"): r[3],
                             _("p(original)"): r[4], _("loss"): r[5]} for r in result.per_token])
        show_chart(F.bar_chart("sample_loss", _("Loss at each chosen token"), [f"{r[0]}: {r[1]}" for r in result.per_token],
                               [r[5] for r in result.per_token], _("loss")), "sample")
        st.dataframe(per, hide_index=True, width="stretch")
        show_proofs(result.proofs)

    st.subheader(_("Next-sentence prediction"))
    explain(_("BERT's second task: given sentence A and sentence B (segment ids 0 and 1), was B the sentence that "
              "really followed A (IsNext), or a sentence taken from another document (NotNext)? Pre-training made "
              "half of its pairs each way."))
    if not judged:
        return
    if any(p.source == "bundled" for p in judged):
        st.caption(_("Your text has one sentence, so the IsNext pair comes from a paragraph of a bundled text, and "
                     "your sentence is the NotNext pair's B: it comes from another text."))
    else:
        st.caption(_("IsNext: consecutive sentences of your text (its first {n} sentences). NotNext: the same "
                     "sentence A with a B taken from another text (a paragraph of a bundled text).").format(n=NSP_SENTENCES))
    has_nsp = any(p.p_is_next is not None for p in judged)
    st.dataframe(pd.DataFrame([{
        _("sentence A"): p.a, _("sentence B"): p.b, _("label"): p.label,
        _("segment ids"): "".join(str(s) for s in p.segments),
        **({_("model: P(IsNext)"): p.p_is_next} if has_nsp else {})} for p in judged]), hide_index=True, width="stretch")
    if has_nsp:
        show_chart(F.bar_chart("nsp", _("The model's P(IsNext) for each pair"),
                               [f"{i + 1}: {p.label}" for i, p in enumerate(judged)], [p.p_is_next for p in judged],
                               _("P(IsNext)"), highlight=[p.label == "NotNext" for p in judged]), "nsp")
    else:
        st.info(_("This model has no next-sentence head (only BERT's pre-training checkpoints have one: choose "
                  "the 'pretraining' head with bert-base-uncased)."))
        st.code(FETCH, language="bash")


# ---------------------------------------------------------------- step 8
def step_practical(w: Walk) -> None:
    loaded, trace = w.loaded, w.trace
    st.subheader(_("Long texts: {limit} tokens at most").format(limit=loaded.max_length))
    explain(_("The position table has {limit} rows, so the model reads at most {limit} tokens at once. A longer "
              "text is cut into windows that overlap by a stride, so that no sentence loses its context at a cut; "
              "predictions from the windows are then merged. Set a small window to see it on your text.").format(
        limit=loaded.max_length))
    c1, c2 = st.columns(2)
    size = c1.slider(_("window (tokens, with [CLS] and [SEP])"), 8, int(loaded.max_length),
                     min(16, int(loaded.max_length)), key="inside_window")
    stride = c2.slider(_("overlap (stride, tokens)"), 0, max(0, size - 3), min(4, max(0, size - 3)), key="inside_stride")
    with guard():
        lt = long_text_windows(loaded, trace.inputs.text, size, stride)
        st.caption(_("Your text has {total} tokens (without [CLS]/[SEP]): {n} window(s).").format(total=lt.total,
                                                                                              n=len(lt.windows)))
        show_chart(F.windows_chart(lt.windows, lt.total), "windows")

    st.subheader(_("Multi-label: softmax or sigmoid?"))
    labels, logits = None, None
    if "cls.logits" in trace and loaded.has_head:
        logits = trace["cls.logits"]
        names = getattr(loaded.config, "id2label", {}) or {}
        labels = tuple(str(names.get(i, f"LABEL_{i}")) for i in range(len(logits)))
        st.caption(_("The logits of this model's classifier on your text."))
    else:
        typed = st.text_input(_("Logits (comma-separated; this model has no classifier)"), "2.0, 1.5, -0.5, -2.0",
                              key="inside_logits")
        try:
            logits = np.array([float(v) for v in typed.split(",") if v.strip()], np.float64)
            if not len(logits) or len(logits) > 50 or not np.all(np.isfinite(logits)):
                raise ValueError
        except ValueError:
            st.error(_("Type between 1 and 50 numbers separated by commas."))
            logits = None
        labels = tuple(_("label {n}").format(n=i + 1) for i in range(len(logits))) if logits is not None else None
    threshold = st.slider(_("threshold for sigmoid"), 0.05, 0.95, 0.5, 0.05, key="inside_threshold")
    if logits is not None:
        rows = softmax_vs_sigmoid(labels, logits, threshold)
        show_chart(F.grouped_bars("softmax_vs_sigmoid", _("The same logits: softmax vs sigmoid"), [r.label for r in rows],
                                  [(_("softmax"), [r.softmax for r in rows]), (_("sigmoid"), [r.sigmoid for r in rows])],
                                  _("probability"), threshold=threshold), "multilabel")
        on = [r.label for r in rows if r.on_sigmoid]
        st.caption(_("Softmax shares one unit of probability, so labels compete: it picks one label. Sigmoid gives "
                     "each label its own yes/no probability: {n} label(s) pass the threshold.").format(n=len(on)))
        misconception(_("“Multi-label classification: train with BCEWithLogitsLoss, then softmax gives each label's "
                        "probability.”"),
                      _("Softmax makes the probabilities sum to 1 ({sm:.2f} here), so two true labels can never both "
                        "be near 1. BCEWithLogitsLoss trains one sigmoid per label; at prediction use sigmoid and a "
                        "threshold per label (sigmoids here sum to {sg:.2f}).").format(
                          sm=sum(r.softmax for r in rows), sg=sum(r.sigmoid for r in rows)))
        misconception(_("“A two-class classifier: two logits, trained with binary cross-entropy.”"),
                      _("Two logits (one per class) go through softmax and are trained with softmax cross-entropy; "
                        "binary cross-entropy belongs with ONE logit per label and a sigmoid."))

    st.subheader(_("Compression: float32 vs bfloat16 vs int8"))
    explain(_("Smaller numbers make a smaller, often faster model, at some cost in agreement. int8 uses dynamic "
              "quantization of every linear layer (torch.ao.quantization.quantize_dynamic). Each variant is a copy "
              "of the model kept once per server process; the model the other pages use is never changed."))
    if st.button(_("Measure on my text"), key="inside_compress", icon=":material/speed:"):
        with guard(), st.spinner(_("Building the copies and timing them…"), show_time=True):
            w.step_result("compression", (), lambda: compression_report(loaded, trace.inputs))
    report = memo_get(w, "compression", ())
    if report is not None:
        df = pd.DataFrame([{
            _("variant"): _(VARIANTS[r.variant]), _("size (MB)"): r.bytes / 1e6,
            _("forward (ms)"): r.seconds * 1e3,
            _("top-1 agreement"): r.agreement, _("cosine of last hidden states"): r.hidden_cosine,
            _("attention max |diff|"): r.attention_max_diff, _("attention mean |diff|"): r.attention_mean_diff,
        } for r in report.rows])
        st.dataframe(df, hide_index=True, width="stretch")
        show_chart(F.grouped_bars("compression", _("Size and time relative to float32"), [_(VARIANTS[r.variant]) for r in report.rows],
                                  [(_("size"), [r.bytes / report.rows[0].bytes for r in report.rows]),
                                   (_("forward time"), [r.seconds / report.rows[0].seconds for r in report.rows])],
                                  _("× float32")), "compression")
        st.caption(_("Measured on your {n} tokens on {device} (median of 3 forwards); agreement compares: {basis}.").format(
            n=report.tokens, device=report.device, basis=_(report.basis)))
    elif "float16" not in available_variants(loaded):
        st.caption(_("float16 is measured on GPUs only: on a CPU it is emulated and its timing means little."))

    st.subheader(_("Distillation: a small student of a big teacher"))
    from transformers import BertConfig

    teacher = BertConfig()  # transformers' defaults ARE bert-base-uncased's shape
    small = loaded.config if loaded.model_type == "bert" else None
    if small is None:
        st.info(_("The comparison below needs a BERT model; pick the packaged MiniLM."))
        return
    rows = compare_configs(small, teacher)
    st.dataframe(pd.DataFrame([{_("setting"): _(r.field), _("this model"): r.small, _("BERT-base (12 layers)"): r.large,
                                _("ratio"): r.small / r.large if r.large else None} for r in rows]),
                 hide_index=True, width="stretch")
    explain(_("A distilled model such as MiniLM (the packaged model) keeps BERT's recipe with fewer and narrower "
              "layers, and is trained to imitate a big teacher's outputs and attention. Where both models are on "
              "this machine, compare how alike they see your text."))
    other = _other_model(w)
    if not model_reachable(other):
        st.info(_("{model} is not on this machine, and this machine cannot download it. On a machine with internet "
                  "access, fetch it once into the models folder; the comparison then runs here:").format(model=plain(other)),
                icon=":material/cloud_off:")
        st.code(FETCH, language="bash")
        return
    if st.button(_("Compare with {model}").format(model=plain(other)), key="inside_distill"):
        with guard():
            w.step_result("distill", (), lambda: _agreement(w))
    result = memo_get(w, "distill", ())
    if result is not None:
        st.metric(_("agreement of the token-similarity structure (correlation)"), f"{result:.3f}",
                  help=_("Correlation of the two models' token-by-token cosine similarities of the last hidden "
                         "states: 1 means they arrange your tokens identically."))


def memo_get(w: Walk, kind: str, extra: tuple):
    from .session_memo import recall

    return recall("inside_" + kind, w.key + extra)


def _other_model(w: Walk) -> str:
    return DEFAULT_ONLINE_MODEL if w.loaded.name != DEFAULT_ONLINE_MODEL else OFFLINE_MODEL


def model_reachable(name: str) -> bool:
    """Whether `name` can be loaded here: a local folder, or a hub id that is cached or downloadable (not offline)."""
    import os

    from bertexplore.registry import resolve

    try:
        source, is_local = resolve(name)
    except Exception:  # noqa: BLE001 - a refused name is not reachable
        return False
    if is_local:
        return True
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() not in ("1", "true", "yes", "on"):
        return True  # the hub may serve it; a failure then shows one message
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(source, "config.json"), str)


def _agreement(w: Walk) -> float:
    from .models import load_quietly

    other = load_quietly("base", _other_model(w))  # raises one error, shown once by the caller's guard
    inputs = w.plain_inputs
    return model_agreement(w.loaded, other, inputs.text, inputs.text_pair, max_length=len(inputs))
