"""Inside BERT step 6: each output head recomputed from its weights against the tiny models' own outputs."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from bertexplore.inside.heads_step import mlm_head_step, pooler_step, task_head_step
from bertexplore.inside.walk import head_for_architectures
from bertexplore.loading import load_model
from bertexplore.tokens import tokenize


def _run(loaded, text, pair=None, mask_at=()):
    inputs = tokenize(loaded.tokenizer, text, pair, max_length=64)
    ids = torch.as_tensor(inputs.input_ids).clone()
    for p in mask_at:
        ids[p] = loaded.tokenizer.mask_token_id
    with torch.no_grad():
        out = loaded.model(input_ids=ids[None], token_type_ids=torch.as_tensor(inputs.segment_ids)[None],
                           output_hidden_states=True)
    return inputs, out


@pytest.mark.parametrize("folder,head", [("tiny-mlm", "mlm"), ("tiny-pretraining", "pretraining")])
def test_masked_lm_head_is_transform_then_tied_decoder(tiny_dir, folder, head):
    loaded = load_model(str(tiny_dir / folder), head=head, device="cpu")
    inputs, out = _run(loaded, "the cat sat on the mat", mask_at=(2, 5))
    logits = out.logits if head == "mlm" else out.prediction_logits
    ref = torch.log_softmax(logits[0, [2, 5]], -1).numpy()
    step = mlm_head_step(loaded, out.hidden_states[-1][0].numpy(), (2, 5), ref, k=3)
    assert step.tied and step.vocab == loaded.config.vocab_size
    assert all(p.ok for p in step.proofs), step.proofs
    top = np.argsort(-ref[0])[:3]
    assert step.predictions[0].tokens == tuple(loaded.tokenizer.convert_ids_to_tokens(top.tolist()))
    assert np.allclose(step.predictions[0].probs, np.exp(ref[0][top]), atol=1e-5)


def test_an_untied_decoder_is_read_by_its_own_weight(tmp_path):
    """A masked-LM head whose decoder is NOT the word table: the recomputation must use the decoder's own weight."""
    from transformers import BertForMaskedLM
    from tiny import make_tiny_model

    folder = make_tiny_model(tmp_path / "untied", BertForMaskedLM, tie_word_embeddings=False)
    model = BertForMaskedLM.from_pretrained(folder)
    with torch.no_grad():
        model.cls.predictions.decoder.weight.normal_()  # clearly different from the word table
    model.save_pretrained(folder)
    loaded = load_model(str(folder), head="mlm", device="cpu")
    inputs, out = _run(loaded, "the cat sat on the mat", mask_at=(3,))
    ref = torch.log_softmax(out.logits[0, [3]], -1).numpy()
    step = mlm_head_step(loaded, out.hidden_states[-1][0].numpy(), (3,), ref, k=3)
    assert not step.tied
    assert all(p.ok for p in step.proofs), step.proofs


def test_pooler_classifier_ner_qa_and_nsp(tiny_dir):
    for folder, head, kind in [("tiny-cls", "sequence-classification", "classification"),
                               ("tiny-ner", "token-classification", "token-classification"),
                               ("tiny-qa", "question-answering", "question-answering"),
                               ("tiny-pretraining", "pretraining", "next-sentence")]:
        loaded = load_model(str(tiny_dir / folder), head=head, device="cpu")
        inputs, out = _run(loaded, "who lives in london", "john lives in london")
        last = out.hidden_states[-1][0].numpy()
        with torch.no_grad():
            pooled_ref = loaded.encoder.pooler(out.hidden_states[-1]).numpy()[0] if loaded.encoder.pooler else None
        pooled = pooler_step(loaded, last, pooled_ref)
        if pooled_ref is not None:
            assert pooled.proofs[0].ok
        refs = {"cls.logits": getattr(out, "logits", None), "token.logits": getattr(out, "logits", None),
                "qa.start_logits": getattr(out, "start_logits", None), "qa.end_logits": getattr(out, "end_logits", None),
                "nsp.logits": getattr(out, "seq_relationship_logits", None)}
        refs = {k: v[0].numpy() for k, v in refs.items() if v is not None}
        step = task_head_step(loaded, last, None if pooled is None else pooled.pooled, refs)
        assert step.kind == kind
        assert step.proofs and all(p.ok for p in step.proofs), (folder, step.proofs)
        if kind == "classification":
            assert step.labels == ("NEGATIVE", "POSITIVE") and np.isclose(step.probs.sum(), 1.0)
        if kind == "token-classification":
            assert step.logits.shape == (len(inputs), 5)


def test_base_model_has_no_task_head_and_head_choice_from_architectures(tiny_dir):
    loaded = load_model(str(tiny_dir / "tiny-base"), head="base", device="cpu")
    inputs, out = _run(loaded, "the cat")
    assert mlm_head_step(loaded, out.hidden_states[-1][0].numpy(), (), None) is None
    assert task_head_step(loaded, out.hidden_states[-1][0].numpy(), None, {}) is None
    assert head_for_architectures(["BertForMaskedLM"]) == "mlm"
    assert head_for_architectures(["BertForPreTraining"]) == "pretraining"
    assert head_for_architectures(["DistilBertForSequenceClassification"]) == "sequence-classification"
    assert head_for_architectures(None) == "base" and head_for_architectures(["BertModel"]) == "base"


def test_trace_names_keep_the_essentials_and_drop_optional_steps_over_budget(tiny_dir, monkeypatch):
    from bertexplore.inside import walk

    loaded = load_model(str(tiny_dir / "tiny-mlm"), head="mlm", device="cpu")
    names = walk.trace_names(loaded, 10)
    assert set(walk.STEP_NAMES) <= set(names)
    monkeypatch.setattr(walk, "TRACE_BUDGET", sum(walk._bytes(n, loaded, 10) for n in walk.ESSENTIAL)
                        + walk._bytes("blocks.*.attn.scores", loaded, 10))
    names = walk.trace_names(loaded, 10)
    assert "blocks.*.attn.scores" in names and "blocks.*.mlp.post" not in names
    assert "blocks.*.attn.head_out" not in names and set(walk.ESSENTIAL) <= set(names)
    # the estimate is the real size of what the trace records
    from bertexplore.trace import trace_tokens
    inputs = loaded.tokenize("the cat sat on the mat , the dog")
    trace = trace_tokens(loaded, inputs, names=list(walk.STEP_NAMES))
    for name in walk.STEP_NAMES:
        if name.startswith("blocks."):
            recorded = sum(trace[n].nbytes for n in trace.names if n.split(".", 2)[-1] == name.split(".", 2)[-1])
            assert recorded == walk._bytes(name, loaded, len(inputs)), name
