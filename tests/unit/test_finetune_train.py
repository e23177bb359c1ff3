"""Training runs on tiny random models: loss goes down, Stop stops, saves are atomic and reload exactly."""
from __future__ import annotations

import json
import random
import threading

import numpy as np
import pytest
import torch

from bertexplore.errors import InputError
from bertexplore.finetune.config import JobConfig
from bertexplore.finetune.job import FineTuneJob
from bertexplore.finetune.train import embeddings_tied, run_training
from bertexplore.loading import load_model
from bertexplore.ablation import ablated, head_mask
from bertexplore.trace import forward, model_inputs, run_trace
from bertexplore.tokens import tokenize

POSITIVE = ["good movie", "i love this film", "a great film", "this movie is good", "we love it", "great movie"]
NEGATIVE = ["bad movie", "i hate this film", "a terrible film", "this movie is bad", "we hate it", "terrible movie"]
CORPUS = ["the cat sat on the mat", "the dog sat on the table", "paris is the capital of france",
          "john lives in london", "mary works at google", "the keys are in the cabinet", "he sat on the mat",
          "she lives in paris", "the cat is on the table", "they play in the city"]


@pytest.fixture
def models_dir(tmp_path, monkeypatch):
    folder = tmp_path / "models"
    monkeypatch.setenv("BERTEXPLORE_MODELS_DIR", str(folder))
    return folder


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ft-data")
    rnd = random.Random(0)
    rows = [f"{rnd.choice(POSITIVE)},positive" for _ in range(24)] + [f"{rnd.choice(NEGATIVE)},negative" for _ in range(24)]
    (folder / "sentiment.csv").write_text("text,label\n" + "\n".join(rows) + "\n")
    (folder / "one-class.csv").write_text("text,label\n" + "\n".join(f"{p},positive" for p in POSITIVE) + "\n")
    topics = ["the cat sat on the mat,home|animals", "paris is the capital of france,travel|cities",
              "the dog is on the table,home|animals", "john lives in london,cities", "a good city,cities|travel",
              "the cat and the dog,animals"]
    (folder / "topics.csv").write_text("text,labels\n" + "\n".join(topics * 4) + "\n")
    ner = [{"tokens": ["john", "lives", "in", "london"], "tags": ["B-PER", "O", "O", "B-LOC"]},
           {"tokens": ["mary", "works", "at", "google", "in", "paris"], "tags": ["B-PER", "O", "O", "B-ORG", "O", "B-LOC"]},
           {"tokens": ["the", "cat", "sat", "in", "france"], "tags": ["O", "O", "O", "O", "B-LOC"]}]
    (folder / "ner.jsonl").write_text("\n".join(json.dumps(r) for r in ner * 6) + "\n")
    (folder / "corpus.txt").write_text("\n".join(CORPUS * 4) + "\n")
    return folder


def config(tiny_dir, data_dir, task="classification", data="sentiment.csv", **kw) -> JobConfig:
    settings = dict(task=task, base_model=str(tiny_dir / "tiny-base"), data=str(data_dir / data), epochs=4,
                    batch_size=8, learning_rate=2e-3, max_length=32, device="cpu", eval_times=1, seed=3,
                    label_column="labels" if task == "multilabel" else "label")
    settings.update(kw)
    return JobConfig(**settings)


class Recorder:
    def __init__(self, stop_at: int | None = None, stop: threading.Event | None = None):
        self.losses, self.evals, self.total = [], [], None
        self.stop_at, self.stop = stop_at, stop

    def begin(self, total):
        self.total = total

    def loss(self, step, value, epoch):
        self.losses.append((step, value))
        if self.stop_at is not None and step == self.stop_at:
            self.stop.set()

    def evaluated(self, step, metrics):
        self.evals.append((step, metrics))

    def phase(self, text):
        pass


def mean_first_last(losses, k=4):
    values = [v for _, v in losses]
    return float(np.mean(values[:k])), float(np.mean(values[-k:]))


def test_masked_lm_on_a_headless_base_trains_a_tied_head_and_loss_falls(tiny_dir, data_dir):
    rec = Recorder()
    result = run_training(config(tiny_dir, data_dir, "mlm", "corpus.txt", epochs=10, learning_rate=3e-3), rec)
    assert embeddings_tied(result.model)  # decoder shares the input embedding matrix, the standard init
    first, last = mean_first_last(result.losses, 5)
    assert last < first - 0.3, result.losses
    assert result.metrics_after["perplexity"] < result.metrics_before["perplexity"]
    assert result.metrics_after["masked_tokens"] == result.metrics_before["masked_tokens"] > 0  # same held-out masks
    assert rec.total == result.total_steps == result.steps and rec.evals[0][0] == 0


def test_classification_loss_falls_and_shared_model_is_untouched(tiny_dir, data_dir):
    # The explorer's model of the very checkpoint being fine-tuned is in memory during the run (as on a server).
    shared = load_model(str(tiny_dir / "tiny-base"), head="base", device="cpu")
    snapshot = {k: v.clone() for k, v in shared.model.state_dict().items()}
    shared_storage = {p.untyped_storage().data_ptr() for p in shared.model.parameters()}
    result = run_training(config(tiny_dir, data_dir, epochs=15, learning_rate=5e-3))
    # The run trained its own copy: not one parameter shares memory with the shared model (a loader that handed
    # out cached or memory-mapped weights would fail here, and the training would have written into them).
    assert result.model is not shared.model
    assert not shared_storage & {p.untyped_storage().data_ptr() for p in result.model.parameters()}
    assert any(not torch.equal(p, snapshot["encoder.layer.0.attention.self.query.weight"])
               for n, p in result.model.named_parameters() if n.endswith("encoder.layer.0.attention.self.query.weight"))
    first, last = mean_first_last(result.losses, 6)
    assert last < first, result.losses
    assert result.metrics_after["accuracy"] >= result.metrics_before["accuracy"]
    assert set(result.metrics_after) >= {"accuracy", "macro_f1", "confusion_matrix", "per_class_f1"}
    assert np.asarray(result.metrics_after["confusion_matrix"]).sum() == result.val_samples
    for name, tensor in shared.model.state_dict().items():
        assert torch.equal(tensor, snapshot[name]), name
    assert not any(p.requires_grad for p in shared.model.parameters())


def test_same_seed_same_model_other_seed_other_model(tiny_dir, data_dir):
    a = run_training(config(tiny_dir, data_dir, epochs=1))
    b = run_training(config(tiny_dir, data_dir, epochs=1))
    c = run_training(config(tiny_dir, data_dir, epochs=1, seed=4))
    assert a.losses == b.losses
    for (name, pa), pb in zip(a.model.state_dict().items(), b.model.state_dict().values()):
        assert torch.equal(pa, pb), name
    assert a.losses != c.losses


def test_stop_ends_the_run_within_one_step(tiny_dir, data_dir):
    stop = threading.Event()
    rec = Recorder(stop_at=2, stop=stop)
    result = run_training(config(tiny_dir, data_dir, epochs=20), rec, stop)
    assert result.stopped
    assert result.total_steps == 20 * -(-result.train_samples // 8)
    assert 2 <= result.steps <= 3  # the step in progress when Stop came may finish; no more


def test_job_thread_stop_and_result(tiny_dir, data_dir):
    class StopAtTwo(FineTuneJob):
        def loss(self, step, value, epoch):
            super().loss(step, value, epoch)
            if step == 2:
                self.stop()

    job = StopAtTwo(config(tiny_dir, data_dir, epochs=20)).start()
    assert job.wait(60)
    snap = job.snapshot()
    assert job.status == "stopped" and job.result is not None and job.result.stopped
    assert snap.step <= 3 and job.result.steps <= 3 and snap.total_steps == 20 * -(-job.result.train_samples // 8)
    assert job.stop_reason == "stopped by the user"


def test_failed_run_leaves_no_model_folder(tiny_dir, data_dir, models_dir):
    job = FineTuneJob(config(tiny_dir, data_dir, data="one-class.csv", output_name="never")).start()
    assert job.wait(60)
    assert job.status == "failed" and "single class" in job.error and job.result is None
    assert not models_dir.exists() or not any(models_dir.iterdir())


def test_save_failure_midway_leaves_nothing(tiny_dir, data_dir, models_dir, monkeypatch):
    from bertexplore.finetune.save import save_model

    result = run_training(config(tiny_dir, data_dir, epochs=1))

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(result.tokenizer, "save_pretrained", broken)
    with pytest.raises(OSError, match="disk full"):
        save_model(result, "half")
    assert list(models_dir.iterdir()) == []


def predict_logits(loaded, text):
    inputs = tokenize(loaded.tokenizer, text, max_length=32)
    return forward(loaded, model_inputs(loaded, inputs.input_ids, inputs.segment_ids)).logits.numpy()


@pytest.mark.parametrize("task,data,head", [
    ("classification", "sentiment.csv", "sequence-classification"),
    ("multilabel", "topics.csv", "sequence-classification"),
    ("ner", "ner.jsonl", "token-classification"),
    ("mlm", "corpus.txt", "mlm"),
])
def test_saved_model_reloads_with_identical_predictions(tiny_dir, data_dir, models_dir, task, data, head):
    from bertexplore.finetune.save import save_model
    from bertexplore.registry import list_local_models, picker_choices

    result = run_training(config(tiny_dir, data_dir, task, data, epochs=2))
    folder = save_model(result, f"  Tiny {task}/../model ✓ ")
    assert folder.name == f"Tiny-{task}-.-model"
    assert folder.parent == models_dir and "/" not in folder.name and not folder.name.startswith(".")
    assert folder.name in list_local_models()
    # the sidebar (Explore pages) offers masked-LM models; a task model is offered by its task page's picker
    assert (folder.name in picker_choices()) == (head == "mlm")
    if head != "mlm":
        from bertexplore.tasks.checkpoints import choices
        assert folder.name in choices(head)
    assert sorted(p.name for p in models_dir.iterdir()) == [folder.name]  # no temp folder left behind
    card = (folder / "README.md").read_text()
    assert str(tiny_dir / "tiny-base") in card and "learning_rate=0.002" in card and "After fine-tuning" in card
    assert JobConfig.load(folder / "training_config.yaml").task == task

    loaded = load_model(folder.name, head=head, device="cpu")
    assert loaded.has_head
    text = "mary works at google in paris" if task != "mlm" else "the cat sat on the [MASK]"
    after = result.as_loaded()
    np.testing.assert_allclose(predict_logits(loaded, text), predict_logits(after, text), atol=1e-5)
    if task != "mlm":
        assert loaded.config.id2label == dict(enumerate(result.label_names))
        assert loaded.config.label2id == {n: i for i, n in enumerate(result.label_names)}
    if task == "multilabel":
        assert loaded.config.problem_type == "multi_label_classification"
    if task == "mlm":
        assert embeddings_tied(loaded.model)


def test_save_refuses_bad_names_and_existing_folders(tiny_dir, data_dir, models_dir):
    from bertexplore.finetune.save import sanitize_name, save_model

    assert sanitize_name("../../etc/passwd") == "etc-passwd"
    assert sanitize_name("Café model v2") == "Cafe-model-v2"
    for bad in ("", "...", "///", "😀"):
        with pytest.raises(InputError):
            sanitize_name(bad)
    result = run_training(config(tiny_dir, data_dir, epochs=1))
    save_model(result, "same")
    with pytest.raises(InputError, match="already exists"):
        save_model(result, "same")
    again = save_model(result, "same", overwrite=True)
    assert sorted(p.name for p in models_dir.iterdir()) == ["same"] and (again / "config.json").is_file()


def test_before_after_comparison(tiny_dir, data_dir):
    from bertexplore.finetune.compare import before_model, compare

    result = run_training(config(tiny_dir, data_dir, "ner", "ner.jsonl", epochs=2))
    before = before_model(result)
    assert before.model is not result.model
    comparison = compare(before, result.as_loaded(), "ner", "john lives in paris")
    change = comparison.attention_change
    assert change.shape == (2, 4, len(comparison.tokens), len(comparison.tokens))
    assert np.abs(change).max() > 0  # training moved attention
    np.testing.assert_allclose(change.sum(-1), 0, atol=1e-5)  # rows of both maps sum to one
    assert [r["word"] for r in comparison.after.rows] == ["john", "lives", "in", "paris"]
    assert {r["tag"] for r in comparison.after.rows} <= set(result.label_names)

    mlm = run_training(config(tiny_dir, data_dir, "mlm", "corpus.txt", epochs=1))
    fill = compare(before_model(mlm), mlm.as_loaded(), "mlm", "the cat sat on the mat")
    assert fill.notices and "was masked" in fill.notices[0]
    assert len(fill.after.rows) == 5 and fill.after.rows[0]["rank"] == 1


def test_fine_tuned_model_runs_the_apps_attention_and_can_be_ablated(tiny_dir, data_dir):
    result = run_training(config(tiny_dir, data_dir, epochs=1))
    loaded = result.as_loaded()
    assert loaded.model.config._attn_implementation == "bertexplore_eager" and loaded.supports_ablation
    base = run_trace(loaded, "good movie", names=["cls.logits", "blocks.1.attn.pattern"])
    with ablated(head_mask(loaded.num_layers, loaded.num_heads, [(1, 0)])):
        off = run_trace(loaded, "good movie", names=["cls.logits", "blocks.1.attn.pattern"])
    assert np.allclose(off["blocks.1.attn.pattern"][0], 0) and not np.allclose(base["blocks.1.attn.pattern"][0], 0)
    assert not np.allclose(base["cls.logits"], off["cls.logits"])

