"""Pre-training (masked-LM + next sentence) and extractive QA training on tiny random models, and the ETA.

Values are checked against what is computed another way: pairs against the documents they came from, answer
spans against the characters of the paragraph, EM/F1 against the QA page's own pipeline on the saved model,
next-sentence logits against a hand-built [CLS] A [SEP] B [SEP] forward of transformers' BertForPreTraining.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from transformers import AutoTokenizer, BertForPreTraining

from tiny import DOCS, STORIES
from bertexplore.errors import InputError
from bertexplore.finetune import pretraining, qa
from bertexplore.finetune.config import JobConfig
from bertexplore.finetune.task_table import prepare, split
from bertexplore.finetune.files import ASSETS, BUNDLED, read_data, read_path
from bertexplore.finetune.eta import EtaEstimator, planned_evaluations
from bertexplore.finetune.save import save_model
from bertexplore.finetune.train import run_training
from bertexplore.loading import load_model
from bertexplore.registry import OFFLINE_MODEL, resolve


QA_ROWS = [
    ("who lives in london?", "john lives in london. mary works at google.", "john"),
    ("where does mary work?", "john lives in london. mary works at google.", "google"),
    ("where does john live?", "john lives in london. mary works at google.", "london"),
    ("what is the capital of france?", "paris is the capital of france. she lives in paris.", "paris"),
    ("who lives in paris?", "paris is the capital of france. she lives in paris.", "she"),
    ("where is the cat?", "the cat sat on the mat. the dog sat on the table.", "the mat"),
    ("where is the dog?", "the cat sat on the mat. the dog sat on the table.", "the table"),
    ("what did the cat do?", "the cat sat on the mat. the dog sat on the table.", "sat on the mat"),
    ("what is great?", "i love this film. it is a great movie.", "a great movie"),
    ("what do i love?", "i love this film. it is a great movie.", "this film"),
    ("where are the keys?", "the keys are on the table. the cat is on the mat.", "on the table"),
    ("what is on the mat?", "the keys are on the table. the cat is on the mat.", "the cat"),
]


@pytest.fixture
def models_dir(tmp_path, monkeypatch):
    folder = tmp_path / "models"
    monkeypatch.setenv("BERTEXPLORE_MODELS_DIR", str(folder))
    return folder


@pytest.fixture(scope="module")
def tiny_tokenizer(tiny_dir):
    return AutoTokenizer.from_pretrained(str(tiny_dir / "tiny-base"))


# ------------------------------------------------------------------------------------------ pre-training data
def test_documents_split_on_blank_lines_and_sentences():
    text = "One sentence. Two sentences!\nThree here?\n\n  Another doc. With two.\n\nLast one."
    assert pretraining.documents(text) == [["One sentence.", "Two sentences!", "Three here?"],
                                           ["Another doc.", "With two."], ["Last one."]]
    # No blank line at all: one document per line.
    assert pretraining.documents("A b. C d.\nE f. G h.") == [["A b.", "C d."], ["E f.", "G h."]]
    stories = pretraining.documents((ASSETS / "stories.txt").read_text())
    assert len(stories) == 48 and all(len(d) >= 5 for d in stories)


def test_pairs_are_built_as_bert_did(tiny_tokenizer):
    pairs = pretraining.PretrainingPairs(tiny_tokenizer, DOCS, max_length=32, seed=1)
    assert len(pairs) == sum(len(d) - 1 for d in DOCS)
    encoded = [[tiny_tokenizer(s, add_special_tokens=False)["input_ids"] for s in d] for d in DOCS]
    labels = []
    for draw in range(400):
        index = draw % len(pairs)
        row = pairs[index]
        d, s = pairs.anchors[index]
        ids, seg = row["input_ids"], row["token_type_ids"]
        first_sep = ids.index(tiny_tokenizer.sep_token_id)
        a, b = ids[1:first_sep], ids[first_sep + 1:-1]
        assert ids[0] == tiny_tokenizer.cls_token_id and ids[-1] == tiny_tokenizer.sep_token_id
        assert seg == [0] * (first_sep + 1) + [1] * (len(ids) - first_sep - 1)
        assert a == encoded[d][s]
        if row["next_sentence_label"] == pretraining.IS_NEXT:
            assert b == encoded[d][s + 1]
        else:  # a sentence of ANOTHER document
            assert any(b == sent for other, doc in enumerate(encoded) if other != d for sent in doc)
        labels.append(row["next_sentence_label"])
    assert 0.42 < np.mean(labels) < 0.58  # 400 draws of a fair coin: 0.5 ± 0.08 is 3 standard deviations


def test_heldout_pairs_are_balanced_fixed_and_masked(tiny_tokenizer):
    first = pretraining.heldout_pairs(tiny_tokenizer, DOCS[:2], 32, 0.15, seed=5)
    again = pretraining.heldout_pairs(tiny_tokenizer, DOCS[:2], 32, 0.15, seed=5)
    assert [r["input_ids"] for r in first.features] == [r["input_ids"] for r in again.features]
    labels = [r["next_sentence_label"] for r in first.features]
    assert labels.count(0) == labels.count(1) == sum(len(d) - 1 for d in DOCS[:2])
    for row in first.features:
        masked = [i for i, y in enumerate(row["labels"]) if y != -100]
        assert masked and all(row["input_ids"][i] == tiny_tokenizer.mask_token_id for i in masked)


def test_pretraining_metrics_by_hand():
    scores = np.zeros((2, 3, 3), dtype=np.float32)
    scores[0, 1] = [np.log(0.5), 1, 1]
    scores[1, 2] = [np.log(0.25), 0, 1]
    mlm_labels = np.array([[-100, 7, -100], [-100, -100, 9]])
    nsp_logits = np.array([[2.0, 0.0], [2.0, 1.0]])  # both predict IsNext
    out = pretraining.evaluate_pretraining((scores, nsp_logits), (mlm_labels, np.array([0, 1])))
    assert out["nsp_accuracy"] == 0.5 and out["isnext_recall"] == 1.0 and out["notnext_recall"] == 0.0
    assert out["top1_accuracy"] == 0.5 and out["top5_accuracy"] == 1.0
    assert out["perplexity"] == pytest.approx(np.exp(-(np.log(0.5) + np.log(0.25)) / 2), rel=1e-5)


def test_pretraining_rejects_too_little_text():
    with pytest.raises(InputError, match="several documents"):
        pretraining.prepare_text("One. Two.\n\nThree. Four.", "x.txt")
    table = read_data(b"text\nhello world\n", "x.csv")
    with pytest.raises(InputError, match="plain text"):
        prepare(table, JobConfig(task="pretraining"))


def test_pretraining_trains_and_the_next_sentence_page_reads_the_saved_model(tiny_dir, tmp_path, models_dir):
    from bertexplore.tasks.checkpoints import head_problem, local_checkpoints
    from bertexplore.tasks.nsp import predict_next

    (tmp_path / "stories.txt").write_text(STORIES * 3)
    cfg = JobConfig(task="pretraining", base_model=str(tiny_dir / "tiny-base"), data=str(tmp_path / "stories.txt"),
                    epochs=1, batch_size=8, learning_rate=1e-3, max_length=32, device="cpu", eval_times=1, seed=2)
    result = run_training(cfg)
    assert isinstance(result.model, BertForPreTraining)
    for metrics in (result.metrics_before, result.metrics_after):
        assert 0.0 <= metrics["nsp_accuracy"] <= 1.0 and metrics["perplexity"] > 1
    folder = save_model(result, "tiny-pretrained")
    assert "tiny-pretrained" in local_checkpoints("pretraining")
    loaded = load_model("tiny-pretrained", head="pretraining", device="cpu")
    assert head_problem(loaded, "pretraining") is None
    out = predict_next(loaded, "the cat sat on the mat.", "the dog sat on the table.")
    reference = BertForPreTraining.from_pretrained(folder).eval()
    tok = loaded.tokenizer
    a = tok("the cat sat on the mat.", add_special_tokens=False)["input_ids"]
    b = tok("the dog sat on the table.", add_special_tokens=False)["input_ids"]
    ids = torch.tensor([[tok.cls_token_id, *a, tok.sep_token_id, *b, tok.sep_token_id]])
    types = torch.tensor([[0] * (len(a) + 2) + [1] * (len(b) + 1)])
    with torch.no_grad():
        logits = reference(input_ids=ids, token_type_ids=types).seq_relationship_logits[0]
    np.testing.assert_allclose(out.logits, logits.numpy(), rtol=1e-4, atol=1e-5)
    card = (folder / "README.md").read_text()
    assert "pipeline_tag: fill-mask" in card and "nsp_accuracy" in card


# ------------------------------------------------------------------------------------------------ QA data
def _qa_file(tmp_path, rows=QA_ROWS, name="qa.jsonl", nested=False):
    lines = []
    for q, c, a in rows:
        if nested:
            lines.append(json.dumps({"question": q, "context": c,
                                     "answers": {"text": [a] if a else [], "answer_start": [c.find(a)] if a else []}}))
        else:
            lines.append(json.dumps({"question": q, "context": c, "answer_text": a}))
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_bundled_qa_set_answers_are_spans_and_split_by_paragraph():
    rows = [json.loads(line) for line in (ASSETS / "qa.jsonl").read_text().splitlines()]
    assert len(rows) >= 300 and len({r["context"] for r in rows}) >= 40
    for r in rows:
        assert r["context"][r["answer_start"]:r["answer_start"] + len(r["answer_text"])] == r["answer_text"]
    cfg = JobConfig.for_task("qa")
    data = prepare(read_path(cfg.data), cfg)
    train, val = split(data, cfg.validation_fraction, cfg.seed)
    assert not set(train.contexts) & set(val.contexts)
    assert len(train) + len(val) == len(rows)
    assert {v[0] for v in BUNDLED.values()} >= {"qa.jsonl", "stories.txt"}


def test_qa_table_formats_and_errors(tmp_path):
    cfg = JobConfig(task="qa")
    nested = prepare(read_path(_qa_file(tmp_path, nested=True, name="n.jsonl")), cfg)
    flat = prepare(read_path(_qa_file(tmp_path)), cfg)
    assert nested.answers == flat.answers and all(start >= 0 for _, start in flat.answers)
    csv = "question,context,answer_text,answer_start\n" + "\n".join(
        f'"{q}","{c}","{a}",{0 if i == 0 else c.find(a)}' for i, (q, c, a) in enumerate(QA_ROWS)) + "\n"
    data = prepare(read_data(csv.encode(), "qa.csv"), cfg)
    assert data.answers[0] == ("john", 0)  # start 0 pointed at "john" already
    moved = QA_ROWS[:1] + [(q, c, a) for q, c, a in QA_ROWS[1:]]
    wrong = csv.replace(f'"google",{QA_ROWS[1][1].find("google")}', '"google",3')
    data = prepare(read_data(wrong.encode(), "qa.csv"), cfg)
    assert data.answers[1] == ("google", QA_ROWS[1][1].find("google")) and data.notices
    assert moved
    bad = QA_ROWS + [("who?", "nobody here.", "somebody")]
    with pytest.raises(InputError, match=r"not a span of its paragraph in row\(s\) 13"):
        prepare(read_path(_qa_file(tmp_path, bad, "bad.jsonl")), cfg)
    squad2 = prepare(read_path(_qa_file(tmp_path, QA_ROWS + [("who is here?", "nobody here.", "")], "u.jsonl")), cfg)
    assert squad2.unanswerable == 1 and squad2.answers[-1] == ("", -1)
    with pytest.raises(InputError, match="table"):
        prepare(read_data(b"just text\nmore\n", "x.txt"), cfg)


@pytest.mark.parametrize("max_length", [160, 40])
def test_training_targets_point_at_the_answer_characters(max_length):
    """Every window that holds the answer marks exactly its first and last token; the others mark [CLS]."""
    cfg = JobConfig.for_task("qa")
    data = prepare(read_path(cfg.data), cfg).subset(range(0, 384, 3))
    tokenizer = AutoTokenizer.from_pretrained(resolve(OFFLINE_MODEL)[0])
    features, meta = qa.encode(tokenizer, data, max_length)
    found = set()
    for row, info in zip(features, meta):
        text, start = data.answers[info["example"]]
        s, e = row["start_positions"], row["end_positions"]
        if s == info["cls"]:
            assert e == info["cls"]
            inside = [o for o in info["offsets"] if o is not None]
            assert not (inside[0][0] <= start and inside[-1][1] >= start + len(text))  # the answer is not all here
            continue
        span = data.contexts[info["example"]][info["offsets"][s][0]:info["offsets"][e][1]]
        assert span == text, (span, text)
        found.add(info["example"])
    assert found == set(range(len(data)))  # every answer is found in some window
    if max_length == 40:
        assert len(features) > len(data)  # long paragraphs were split into windows


def test_squad_scores_by_hand():
    assert qa.score_answer("The Ring of Fire", "ring of fire!") == (1.0, 1.0)
    em, f1 = qa.score_answer("a dark rye bread", "dark rye bread flavoured with caraway seeds")
    assert em == 0.0 and f1 == pytest.approx(2 * (3 / 3) * (3 / 7) / (3 / 3 + 3 / 7))  # 3 of 3 predicted, 3 of 7 gold words
    assert qa.score_answer("", "") == (1.0, 1.0) and qa.score_answer("x", "") == (0.0, 0.0)


def test_decoding_picks_the_best_span_and_no_answer_only_for_squad2_data():
    context = "john lives in london."
    data = qa.QAData(["where?"], [context], [("london", 14)])
    offsets = [None, None, None, (0, 4), (5, 10), (11, 13), (14, 20), (20, 21), None]
    logits = np.full((1, 9, 2), -5.0, dtype=np.float32)
    logits[0, 6] = [4.0, 4.0]  # "london"
    logits[0, 0] = [5.0, 5.0]  # [CLS]: the no-answer score is higher
    meta = [{"example": 0, "offsets": offsets, "cls": 0}]
    assert qa.decode_answers(logits, meta, data) == ["london"]
    data2 = qa.QAData(["where?", "who?"], [context, context], [("london", 14), ("", -1)])
    meta2 = meta + [{"example": 1, "offsets": offsets, "cls": 0}]
    assert qa.decode_answers(np.concatenate([logits, logits]), meta2, data2) == ["", ""]


def test_qa_trains_and_its_scores_match_the_question_answering_page(tiny_dir, tmp_path, models_dir):
    from bertexplore.tasks import qa as qa_page
    from bertexplore.tasks.checkpoints import local_checkpoints

    path = _qa_file(tmp_path, QA_ROWS * 2)
    cfg = JobConfig(task="qa", base_model=str(tiny_dir / "tiny-base"), data=str(path), epochs=2, batch_size=8,
                    learning_rate=1e-3, max_length=64, device="cpu", eval_times=1, seed=4, validation_fraction=0.3)
    result = run_training(cfg)
    assert result.steps > 0 and {"exact_match", "f1"} <= set(result.metrics_after)
    save_model(result, "tiny-qa-trained")
    assert "tiny-qa-trained" in local_checkpoints("question-answering")
    loaded = load_model("tiny-qa-trained", head="question-answering", device="cpu")
    _, val = split(prepare(read_path(path), cfg), cfg.validation_fraction, cfg.seed)
    scores = []
    for question, context, (gold, _start) in zip(val.questions, val.contexts, val.answers):
        answer = qa_page.answer(loaded, question, context, max_answer_len=qa.MAX_ANSWER_TOKENS, max_length=64).answer
        scores.append(qa.score_answer(answer.text if answer else "", gold))
    assert result.metrics_after["exact_match"] == pytest.approx(np.mean([s[0] for s in scores]))
    assert result.metrics_after["f1"] == pytest.approx(np.mean([s[1] for s in scores]))
    assert len(result.metrics_after["answers"]) == len(val)


# ------------------------------------------------------------------------------------------------------ ETA
class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_eta_settles_within_the_first_tenth_of_the_steps():
    """A slow first step and evaluation pauses: by 10% of the steps the estimate is within 5% of the truth."""
    clock = FakeClock()
    total, step_s, eval_s = 200, 0.8, 6.0
    evals = planned_evaluations(total, 4)
    assert evals == [40, 80, 120, 160, 200]
    eta = EtaEstimator(clock)
    eta.evaluation_took(eval_s)  # the pass before training
    eta.begin(total, evals)
    schedule = []
    for step in range(1, total + 1):
        clock.now += step_s * (12 if step == 1 else 1) * (1.0 + 0.2 * ((step * 7) % 3 - 1))  # jitter ±20%
        if step in evals:
            clock.now += eval_s
        schedule.append(clock.now)
    end = schedule[-1] + eval_s  # plus the measurement after training
    clock.now = 0.0
    eta = EtaEstimator(clock)
    eta.evaluation_took(eval_s)
    eta.begin(total, evals)
    errors = {}
    for step, at in enumerate(schedule, start=1):
        clock.now = at
        eta.stepped(step)
        if step == 3:
            assert eta.remaining() is None  # two step gaps are no basis for a forecast
        if step in (total // 10, total // 2):
            errors[step] = abs(eta.remaining() - (end - at)) / (end - at)
    assert errors[total // 10] < 0.05 and errors[total // 2] < 0.05
    # The old estimate (average of everything so far) was still far off at 10% of the steps.
    at = schedule[total // 10 - 1]
    naive = at / (total // 10) * (total - total // 10)
    assert abs(naive - (end - at)) / (end - at) > 0.1


def test_eta_job_uses_the_estimator(monkeypatch):
    from bertexplore.finetune.job import FineTuneJob

    clock = FakeClock()
    clock.now = 100.0
    job = FineTuneJob(JobConfig(eval_times=0))
    job._eta = EtaEstimator(clock)
    monkeypatch.setattr("bertexplore.finetune.job.time.monotonic", clock)
    job.status = "running"
    job.begin(10)
    for step in range(1, 6):
        clock.now += 5.0 if step == 1 else 1.0
        job.loss(step, 1.0, 0.1 * step)
        if step < 5:
            assert job.snapshot().eta_s is None  # fewer than 4 typical steps: no estimate yet
    assert job.snapshot().eta_s == pytest.approx(5.0)  # 5 steps left at 1 s; the slow first step is not typical


# ------------------------------------------------------------------------------------------- finding heads
def test_saved_heads_come_from_the_weights(tmp_path, monkeypatch):
    """A checkpoint saved as BertForMaskedLM WITH next-sentence weights (as bert-base-uncased ships) serves the
    Next-sentence page; a plain encoder serves neither head page."""
    from safetensors.torch import load_file, save_file
    from transformers import BertForMaskedLM, BertModel

    from bertexplore.tasks.checkpoints import local_checkpoints, saved_heads
    from tiny import make_tiny_model

    monkeypatch.setenv("BERTEXPLORE_MODELS_DIR", str(tmp_path))
    make_tiny_model(tmp_path / "like-bert-base-uncased", BertForPreTraining)
    config = json.loads((tmp_path / "like-bert-base-uncased" / "config.json").read_text())
    config["architectures"] = ["BertForMaskedLM"]
    (tmp_path / "like-bert-base-uncased" / "config.json").write_text(json.dumps(config))
    make_tiny_model(tmp_path / "mlm-only", BertForMaskedLM)
    make_tiny_model(tmp_path / "encoder", BertModel)
    weights = load_file(str(tmp_path / "like-bert-base-uncased" / "model.safetensors"))
    assert any("seq_relationship" in k for k in weights)
    assert set(saved_heads(tmp_path / "like-bert-base-uncased")) == {"pretraining", "mlm"}
    assert saved_heads(tmp_path / "mlm-only") == ("mlm",)
    assert saved_heads(tmp_path / "encoder") == ()
    assert local_checkpoints("pretraining") == ["like-bert-base-uncased"]
    assert local_checkpoints("mlm") == ["like-bert-base-uncased", "mlm-only"]
    # The page's own check agrees: the next-sentence head loads from it.
    from bertexplore.tasks.checkpoints import head_problem
    loaded = load_model("like-bert-base-uncased", head="pretraining", device="cpu")
    assert head_problem(loaded, "pretraining") is None
    # Without the NSP weights, it is not offered.
    save_file({k: v.contiguous() for k, v in weights.items() if "seq_relationship" not in k},
              str(tmp_path / "like-bert-base-uncased" / "model.safetensors"), metadata={"format": "pt"})
    assert local_checkpoints("pretraining") == []


# --------------------------------------------------------------------------------------- before / after
def test_before_and_after_for_pairs_and_questions_use_the_pages_engines(tiny_dir, tmp_path):
    from bertexplore.finetune.compare import before_model
    from bertexplore.finetune.compare_pairs import compare_answers, compare_next_sentence
    from bertexplore.tasks.nsp import predict_next
    from bertexplore.tasks.qa import answer

    (tmp_path / "stories.txt").write_text(STORIES * 3)
    common = dict(base_model=str(tiny_dir / "tiny-base"), epochs=0.5, batch_size=8, learning_rate=1e-3,
                  max_length=32, device="cpu", eval_times=0, seed=2)
    nsp = run_training(JobConfig(task="pretraining", data=str(tmp_path / "stories.txt"), **common))
    before = before_model(nsp)
    cmp = compare_next_sentence(before, nsp.as_loaded(), "the cat sat on the mat.", "the dog sat on the table.")
    expected = predict_next(nsp.as_loaded(), "the cat sat on the mat.", "the dog sat on the table.")
    assert [r["label"] for r in cmp.after.rows] == ["IsNext", "NotNext"]
    assert [r["probability"] for r in cmp.after.rows] == pytest.approx(expected.probs.tolist())
    assert sum(r["probability"] for r in cmp.before.rows) == pytest.approx(1.0)
    assert cmp.before.rows != cmp.after.rows  # trained: the head moved

    path = _qa_file(tmp_path, QA_ROWS * 2)
    qa_run = run_training(JobConfig(task="qa", data=str(path), **(common | {"max_length": 64})))
    cmp = compare_answers(before_model(qa_run), qa_run.as_loaded(), "where does mary work?", QA_ROWS[1][1])
    expected = answer(qa_run.as_loaded(), "where does mary work?", QA_ROWS[1][1], top_k=3)
    assert [r["answer"] for r in cmp.after.rows] == [c.text for c in expected.candidates]
    assert all(r["answer"] in QA_ROWS[1][1] for r in cmp.before.rows)


def test_heads_of_names_what_each_picker_entry_brings(tiny_dir, monkeypatch):
    from bertexplore.registry import heads_of

    monkeypatch.setenv("BERTEXPLORE_MODELS_DIR", str(tiny_dir))
    assert heads_of("bert-base-uncased") == ("mlm", "pretraining")
    assert heads_of(OFFLINE_MODEL) == ()
    assert heads_of("tiny-ner") == ("token-classification",)
    assert set(heads_of("tiny-pretraining")) == {"pretraining", "mlm"}
    assert heads_of("some/unknown-model") == ()
