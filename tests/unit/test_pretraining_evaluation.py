"""Pre-training's "before" and "after" come from one evaluation of the same held-out pairs, and that evaluation agrees
with perplexity, top-1 and next-sentence accuracy computed by hand from the models' logits (issue 16, item 1).

Also: the training pairs (more than one per sentence A, balanced), the heads' own learning rate, and the held-out
accuracy the Next sentence page reads from a saved model's card.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from tiny import DOCS, STORIES
from bertexplore.finetune import pretraining
from bertexplore.finetune.config import JobConfig
from bertexplore.finetune.train import _Trainer, build_model, head_parameter_names, max_tokens, run_training
from bertexplore.tasks.nsp import HeldOut, heldout_accuracy



def _by_hand(model, tokenizer, rows) -> dict[str, float]:
    """Perplexity = exp(mean -log softmax(logits)[true token]) over the masked positions, top-1 and NSP accuracy,
    one pair at a time (no padding, no Trainer, no batching)."""
    nll, hits, masked, nsp_right = 0.0, 0, 0, 0
    model.eval()
    with torch.no_grad():
        for row in rows:
            out = model(input_ids=torch.tensor([row["input_ids"]]), token_type_ids=torch.tensor([row["token_type_ids"]]),
                        attention_mask=torch.tensor([row["attention_mask"]]))
            logits = out.prediction_logits[0].double()
            labels = torch.tensor(row["labels"])
            for pos in torch.nonzero(labels != -100).flatten().tolist():
                true = int(labels[pos])
                row_logits = logits[pos]
                log_z = math.log(float(torch.exp(row_logits - row_logits.max()).sum())) + float(row_logits.max())
                nll += log_z - float(row_logits[true])
                hits += int(int(row_logits.argmax()) == true)
                masked += 1
            nsp_right += int(int(out.seq_relationship_logits[0].argmax()) == row["next_sentence_label"])
    return {"perplexity": math.exp(nll / masked), "top1_accuracy": hits / masked, "nsp_accuracy": nsp_right / len(rows),
            "masked": masked}


def test_before_and_after_are_one_evaluation_of_the_same_pairs(tiny_dir, tmp_path):
    (tmp_path / "stories.txt").write_text(STORIES * 3)
    cfg = JobConfig(task="pretraining", base_model=str(tiny_dir / "tiny-base"), data=str(tmp_path / "stories.txt"),
                    max_steps=3, batch_size=8, learning_rate=1e-3, max_length=32, device="cpu", eval_times=1, seed=3)

    class Recorder:
        def __init__(self):
            self.evals = []

        def begin(self, total): pass
        def loss(self, *args): pass
        def phase(self, text): pass

        def evaluated(self, step, metrics):
            self.evals.append((step, metrics))

    recorder = Recorder()
    result = run_training(cfg, progress=recorder)
    train, val = pretraining.PretrainingData(pretraining.documents(STORIES * 3)).split(cfg.validation_fraction, cfg.seed)

    # The untrained model, rebuilt as the run built it (same seed: the same fresh heads), scored by hand.
    fresh, tokenizer, _source = build_model(cfg, [])
    rows = pretraining.heldout_pairs(tokenizer, val.docs, max_tokens(cfg, fresh), cfg.mlm_probability, cfg.seed,
                                     others=train.docs).features
    assert len(rows) == result.val_samples and result.val_unit == "pairs"
    before = _by_hand(fresh, tokenizer, rows)
    after = _by_hand(result.model, tokenizer, rows)
    for key in ("perplexity", "top1_accuracy", "nsp_accuracy"):
        assert result.metrics_before[key] == pytest.approx(before[key], rel=1e-4, abs=1e-6), key
        assert result.metrics_after[key] == pytest.approx(after[key], rel=1e-4, abs=1e-6), key
    # An untrained masked-LM head guesses about uniformly over the vocabulary: its perplexity is of the order of the
    # vocabulary's size (a "before" far below it would mean the scored tokens were visible to the model).
    assert before["perplexity"] > 0.3 * fresh.config.vocab_size
    assert recorder.evals[0] == (0, {k: v for k, v in result.metrics_before.items() if isinstance(v, float)})


@pytest.fixture(scope="module")
def tiny_tokenizer(tiny_dir):
    from transformers import AutoTokenizer
    return AutoTokenizer.from_pretrained(str(tiny_dir / "tiny-base"))


def test_several_pairs_per_sentence_are_balanced_every_epoch(tiny_tokenizer):
    pairs = pretraining.PretrainingPairs(tiny_tokenizer, DOCS, max_length=32, seed=1, per_sentence=4)
    anchors = sum(len(d) - 1 for d in DOCS)
    assert len(pairs) == 4 * anchors and pairs.unit == "pairs"
    encoded = [[tiny_tokenizer(s, add_special_tokens=False)["input_ids"] for s in d] for d in DOCS]
    for epoch in range(2):
        labels = np.zeros((anchors, 2), dtype=int)
        for index in range(len(pairs)):
            row = pairs[index]
            anchor = index // 4
            d, s = pairs.anchors[anchor]
            ids = row["input_ids"]
            sep = ids.index(tiny_tokenizer.sep_token_id)
            assert ids[1:sep] == encoded[d][s]
            b = ids[sep + 1:-1]
            if row["next_sentence_label"] == pretraining.IS_NEXT:
                assert b == encoded[d][s + 1]
            else:
                assert any(b == sent for other, doc in enumerate(encoded) if other != d for sent in doc)
            labels[anchor, row["next_sentence_label"]] += 1
        assert (labels == 2).all()  # every A twice with its next sentence and twice with another document's


def test_the_heads_learn_at_their_own_rate(tiny_dir, tmp_path):
    from bertexplore.finetune.train import training_arguments

    cfg = JobConfig(task="pretraining", base_model=str(tiny_dir / "tiny-base"), learning_rate=1e-4, device="cpu",
                    weight_decay=0.01)
    model, _tok, _src = build_model(cfg, [])
    heads = head_parameter_names(model)
    assert heads and all(n.startswith(("cls.", "bert.pooler.")) for n in heads)
    assert any(n.startswith("cls.seq_relationship") for n in heads) and any(n.startswith("bert.pooler") for n in heads)
    trainer = _Trainer(model=model, args=training_arguments(cfg, str(tmp_path), "cpu", eval_in_training=False))
    trainer.head_lr_scale = 10.0
    optimizer = trainer.create_optimizer()
    by_param = {id(p): group for group in optimizer.param_groups for p in group["params"]}
    for name, param in model.named_parameters():
        group = by_param[id(param)]
        assert group["lr"] == pytest.approx(1e-3 if name in heads else 1e-4), name
        decayed = not (name.endswith("bias") or "LayerNorm" in name)
        assert group["weight_decay"] == (0.01 if decayed else 0.0), name
    assert sum(len(g["params"]) for g in optimizer.param_groups) == len(list(model.parameters()))


def test_heldout_accuracy_from_the_saved_models_card(tmp_path):
    assert heldout_accuracy(str(tmp_path)) is None  # a hub checkpoint: no card of ours
    (tmp_path / "README.md").write_text("# m\n\n- Data: `x.txt` (378 training / 100 validation sentence pairs, split)\n"
                                        "- Before fine-tuning: nsp_accuracy 0.5, perplexity 4.3e+04\n"
                                        "- After fine-tuning: isnext_recall 0.9, nsp_accuracy 0.81, perplexity 466\n")
    assert heldout_accuracy(str(tmp_path)) == HeldOut(0.81, 100)
    (tmp_path / "metrics.json").write_text(json.dumps({"after": {"nsp_accuracy": 0.62}, "validation_items": 90,
                                                       "validation_unit": "pairs"}))
    held = heldout_accuracy(str(tmp_path))
    assert held == HeldOut(0.62, 90) and held.weak


def test_the_lean_training_loss_is_bert_for_pretrainings_loss(tiny_dir, tiny_tokenizer):
    """Projecting only the masked positions onto the vocabulary gives the model's own loss (and its gradients)."""
    from transformers import BertForPreTraining

    model = BertForPreTraining.from_pretrained(str(tiny_dir / "tiny-pretraining"))
    model.train()
    pairs = pretraining.PretrainingPairs(tiny_tokenizer, DOCS, max_length=32, seed=4, per_sentence=2)
    batch = pretraining.PretrainingCollator(tiny_tokenizer, 0.15, seed=4)([pairs[i] for i in range(8)])
    assert (batch["labels"] != -100).any() and batch["attention_mask"].eq(0).any()  # masked and padded
    torch.manual_seed(0)
    ours = pretraining.training_loss(model, batch)
    ours.backward()
    ours_grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad()
    torch.manual_seed(0)  # the same dropout masks
    theirs = model(**batch).loss
    theirs.backward()
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-5)
    for name, param in model.named_parameters():
        torch.testing.assert_close(ours_grads[name], param.grad, rtol=1e-4, atol=1e-6, msg=name)
    weighted = pretraining.training_loss(model.eval(), batch, nsp_weight=3.0)
    plain = pretraining.training_loss(model, batch, nsp_weight=1.0)
    with torch.no_grad():
        nsp = torch.nn.functional.cross_entropy(model(**batch).seq_relationship_logits, batch["next_sentence_label"])
    assert (weighted - plain).item() == pytest.approx(2.0 * nsp.item(), rel=1e-4)
