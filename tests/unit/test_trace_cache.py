"""The named activation cache: names, shapes, read-only values, thread isolation, and one forward per capability."""
from __future__ import annotations

import os
import shutil
import threading
import time

import numpy as np
import pytest

from bertexplore import head_importance
from bertexplore.errors import InputError, UnsupportedModel
from bertexplore.loading import load_model
from bertexplore.trace import forward_count, run_trace, trace_batch
from families import make_family_model


def test_names_expand_validate_and_shape(tiny_mlm):
    trace = run_trace(tiny_mlm, "the cat sat", "a dog", names=["blocks.*.attn.v", "blocks.1.mlp.pre", "embed.segment",
                                                              "blocks.0.attn.head_out", "blocks.0.attn.scores"])
    T, H, d, D = len(trace.tokens), 4, 8, 32
    assert trace.names == ["embed.segment", "blocks.0.attn.v", "blocks.0.attn.scores", "blocks.0.attn.head_out",
                           "blocks.1.attn.v", "blocks.1.mlp.pre"]
    assert trace["blocks.1.attn.v"].shape == (H, T, d) and trace["blocks.0.attn.head_out"].shape == (H, T, D)
    assert trace["blocks.1.mlp.pre"].shape == (T, 64) and trace["embed.segment"].shape == (T, D)
    assert "blocks.0.attn.z" not in trace  # z was needed for head_out, but not asked for
    assert "blocks.0.attn.pattern" not in trace
    for name in trace.names:
        assert trace[name].dtype == np.float32 and not trace[name].flags.writeable
    with pytest.raises(KeyError, match="ask run_trace for it"):
        trace["blocks.0.attn.pattern"]
    with pytest.raises(KeyError):
        trace.attentions
    for bad in (["blocks.0.attn.nope"], ["blocks.9.attn.q"], ["logits"]):
        with pytest.raises(InputError):
            run_trace(tiny_mlm, "the cat", names=bad)


def test_default_trace_holds_patterns_and_head_outputs_only(tiny_dir):
    cls = load_model(str(tiny_dir / "tiny-cls"), head="sequence-classification", device="cpu")
    trace = run_trace(cls, "good movie")
    assert set(trace.names) == {"blocks.0.attn.pattern", "blocks.1.attn.pattern", "pooler.out", "cls.logits"}
    T = len(trace.tokens)
    # memory: the patterns (one buffer) plus two tiny vectors; no hidden states
    assert trace.nbytes == 2 * 4 * T * T * 4 + 32 * 4 + 2 * 4
    assert np.shares_memory(trace["blocks.1.attn.pattern"], trace.attentions)


def test_masked_lm_log_probs_only_with_masks_and_a_head(tiny_mlm):
    assert "mlm.log_probs" not in run_trace(tiny_mlm, "the cat sat")
    masked = run_trace(tiny_mlm, "the cat sat", masked=[2])
    assert masked["mlm.log_probs"].shape == (1, tiny_mlm.config.vocab_size)


def test_concurrent_traces_never_mix(tiny_mlm):
    """Hooks are shared by every session; each thread's recorder sees only its own forwards."""
    names = ["blocks.*.normalized_resid_post", "blocks.0.attn.q", "embed.out"]
    texts = ["the cat sat on the mat", "who is john ?"]
    reference = {t: run_trace(tiny_mlm, t, names=names) for t in texts}
    errors = []

    def work(text):
        try:
            for _ in range(20):
                trace = run_trace(tiny_mlm, text, names=names)
                for name in names[1:]:
                    np.testing.assert_array_equal(trace[name], reference[text][name])
                tiny_mlm.forward(tiny_mlm.model_inputs(trace.inputs.input_ids, trace.inputs.segment_ids))
        except Exception as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=work, args=(t,)) for t in texts * 2]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors


def test_batch_of_traces_is_one_forward(tiny_mlm):
    inputs = [tiny_mlm.tokenize(t) for t in ("the cat", "the cat sat on the mat", "who")]
    before = forward_count()
    traces = trace_batch(tiny_mlm, inputs)
    assert forward_count() - before == 1
    assert [t.attentions.shape[-1] for t in traces] == [len(i) for i in inputs]


def test_ablation_compare_runs_two_forwards_and_scan_one_baseline(tiny_mlm):
    inputs = tiny_mlm.tokenize("the cat [MASK] on the mat")
    before = forward_count()
    result = head_importance.compare(tiny_mlm, inputs, [(0, 1)])
    assert forward_count() - before == 2  # the baseline once, the ablated forward once
    assert result.objective.kind == "mlm"
    before = forward_count()
    _, grid = head_importance.scan_heads(tiny_mlm, inputs, batch_size=3)
    assert forward_count() - before == 1 + -(-8 // 3)
    # the scan's (layer 0, head 1) equals the pairwise comparison of that head alone
    assert grid[0, 1] == pytest.approx(result.effect, abs=1e-5)


def test_albert_traces_fully_but_refuses_ablation(tmp_path):
    albert = load_model(str(make_family_model(tmp_path / "albert", "albert", "mlm")), head="mlm", device="cpu")
    assert not albert.supports_ablation and albert.full_cache
    trace = run_trace(albert, "the cat sat", names=["blocks.*.normalized_resid_post", "blocks.*.attn.pattern"])
    assert not np.allclose(trace["blocks.0.normalized_resid_post"], trace["blocks.1.normalized_resid_post"])  # two layers, one module
    with pytest.raises(UnsupportedModel, match="share ONE attention module"):
        head_importance.compare(albert, albert.tokenize("the cat [MASK]"), [(0, 0)])


def test_key_changes_when_a_model_is_saved_again(tiny_dir, tmp_path):
    folder = tmp_path / "resaved"
    shutil.copytree(tiny_dir / "tiny-mlm", folder)
    first = load_model(str(folder), head="mlm", device="cpu")
    assert first.key[:4] == (str(folder), "mlm", "cpu", "float32")
    later = time.time() + 5
    os.utime(folder / "model.safetensors", (later, later))  # what save_pretrained into the same folder does
    again = load_model(str(folder), head="mlm", device="cpu")
    assert again.key != first.key
    assert load_model(str(folder), head="base", device="cpu").key[1] == "base"


def test_task_results_carry_the_trace_of_their_one_forward(tiny_dir):
    from bertexplore.tasks import classify, ner, nsp, qa

    cls = load_model(str(tiny_dir / "tiny-cls"), head="sequence-classification", device="cpu")
    before = forward_count()
    result = classify.classify(cls, "good movie")
    assert forward_count() - before == 1
    np.testing.assert_array_equal(result.logits, result.trace["cls.logits"])
    assert result.trace.attentions.shape[:2] == (2, 4)

    tagger = load_model(str(tiny_dir / "tiny-ner"), head="token-classification", device="cpu")
    tags = ner.tag(tagger, "john lives in london")
    assert tags.attentions is tags.trace.attentions and tags.probs.shape == tags.trace["token.logits"].shape

    pre = load_model(str(tiny_dir / "tiny-pretraining"), head="pretraining", device="cpu")
    res = nsp.predict_next(pre, "the cat sat", "the dog sat")
    np.testing.assert_allclose(res.probs.sum(), 1.0, atol=1e-6)
    assert res.trace["nsp.logits"].shape == (2,)

    reader = load_model(str(tiny_dir / "tiny-qa"), head="question-answering", device="cpu")
    context = " ".join(["the cat sat on the mat in paris ."] * 20)
    reading = qa.read(reader, "where is the cat ?", context, max_length=48, stride=8)
    assert len(reading.traces) == len(reading.windows) > 1
    for window, trace in zip(reading.windows, reading.traces):
        np.testing.assert_array_equal(window.start_logits, trace["qa.start_logits"])
        assert len(trace.tokens) == len(window.input_ids)


def test_other_encoders_keep_patterns_and_say_what_else_is_missing(tmp_path):
    """ModernBERT (not a full-cache family): its patterns are recorded, other names are refused with the reason."""
    from transformers import AutoModelForMaskedLM, BertTokenizerFast, ModernBertConfig

    from families import VOCAB
    from tiny import write_vocab

    folder = tmp_path / "modernbert"
    config = ModernBertConfig(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                              intermediate_size=64, max_position_embeddings=64, pad_token_id=0, bos_token_id=2,
                              eos_token_id=3, cls_token_id=2, sep_token_id=3)
    AutoModelForMaskedLM.from_config(config).save_pretrained(folder)
    BertTokenizerFast(vocab=str(write_vocab(folder)), model_max_length=64).save_pretrained(folder)
    loaded = load_model(str(folder), head="mlm", device="cpu")
    assert not loaded.full_cache and not loaded.supports_ablation
    trace = run_trace(loaded, "the cat sat", names=["blocks.*.attn.pattern", "blocks.0.normalized_resid_post"])
    assert trace.names == ["blocks.0.attn.pattern", "blocks.1.attn.pattern"]
    np.testing.assert_allclose(trace.attentions.sum(-1), 1.0, atol=1e-5)
    with pytest.raises(KeyError, match="attention patterns and head outputs only"):
        trace["blocks.0.normalized_resid_post"]
