"""Benchmark the fine-tuning panel's training path on the packaged MiniLM (CPU or GPU).

1. Throughput: samples/s of bertexplore.finetune.train.run_training (the panel's path: its callback,
   per-step logging, progress reporting) vs a plain Hugging Face Trainer script on the same model, data,
   batch size and number of steps, same torch thread count. Runs alternate; medians are reported.
2. Fine-tuning the packaged MiniLM on each bundled dataset with the panel's default settings, several
   runs each: median wall time (and every run's, with the load average: the machines are shared) and
   validation metrics (accuracy / macro-F1, micro/macro-F1, entity F1, masked-LM perplexity and top-5
   accuracy on held-out masked tokens, next-sentence accuracy, QA exact match / F1 on held-out paragraphs).

    python -m bench.bench_finetune            # from the repository root; several minutes on 2 CPU cores
    python -m bench.bench_finetune --quick    # fewer steps and epochs
    python -m bench.bench_finetune --skip-throughput --runs 3 --tasks pretraining qa
    python -m bench.bench_finetune --nsp-baseline   # next-sentence reference: logistic regression on the cosine
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
from transformers import (AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding,  # noqa: E402
                          Trainer, TrainingArguments, set_seed)

from bertexplore.finetune.config import JobConfig  # noqa: E402
from bertexplore.finetune.datasets import classification_dataset  # noqa: E402
from bertexplore.finetune.train import prepare_data, run_training  # noqa: E402
from bertexplore.registry import OFFLINE_MODEL, resolve  # noqa: E402


def plain_trainer(config: JobConfig, train, threads: int) -> float:
    """The textbook HF script: tokenizer, model, collator, Trainer.train(); returns samples/s."""
    torch.set_num_threads(threads)
    source, _ = resolve(config.base_model)
    tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
    set_seed(config.seed)
    model = AutoModelForSequenceClassification.from_pretrained(source, num_labels=len(train.label_names),
                                                               local_files_only=True)
    dataset = classification_dataset(train, tokenizer, config.max_length)
    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(output_dir=out, per_device_train_batch_size=config.batch_size, max_steps=config.max_steps,
                                 learning_rate=config.learning_rate, report_to="none", save_strategy="no",
                                 use_cpu=not torch.cuda.is_available(), seed=config.seed, disable_tqdm=True,
                                 remove_unused_columns=False, logging_steps=500)
        trainer = Trainer(model=model, args=args, train_dataset=dataset, data_collator=DataCollatorWithPadding(tokenizer))
        started = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - started
    return config.max_steps * config.batch_size / seconds


def panel_path(config: JobConfig, data, threads: int) -> float:
    os.environ["BERTEXPLORE_TRAIN_THREADS"] = str(threads)
    try:
        return run_training(config, data=data).samples_per_second
    finally:
        os.environ.pop("BERTEXPLORE_TRAIN_THREADS", None)


def throughput(quick: bool) -> dict:
    steps = 12 if quick else 30
    config = JobConfig.for_task("classification", max_steps=steps, eval_times=0,
                                device="cuda" if torch.cuda.is_available() else "cpu")
    data = prepare_data(config)
    threads = torch.get_num_threads()
    panel, plain = [], []
    warm = JobConfig(**(config.to_dict() | {"max_steps": 2}))
    plain_trainer(warm, data[0], threads)  # the first backward in a process pays one-off start-up costs
    panel_path(warm, data, threads)
    for i in range(2 if quick else 3):
        order = (("plain", plain_trainer, data[0]), ("panel", panel_path, data))
        for name, fn, arg in (order if i % 2 == 0 else order[::-1]):
            (plain if name == "plain" else panel).append(fn(config, arg, threads))
    torch.set_num_threads(threads)
    shared = run_training(config, data=data).samples_per_second  # the panel's default thread policy
    return {"steps": steps, "batch_size": config.batch_size, "threads": threads,
            "panel_samples_per_s": statistics.median(panel), "plain_samples_per_s": statistics.median(plain),
            "ratio": statistics.median(panel) / statistics.median(plain), "runs_panel": panel, "runs_plain": plain,
            "panel_default_threads_samples_per_s": shared}


TASKS = ("classification", "multilabel", "ner", "mlm", "pretraining", "qa")


def machine() -> str:
    """What the numbers were measured on, and how busy it was (these lab machines are shared)."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return (f"{os.cpu_count()} CPU cores, torch {torch.__version__} with {torch.get_num_threads()} threads, "
            f"cuda {torch.cuda.is_available()}, load average {load[0]:.1f}")


def per_dataset(quick: bool, runs: int = 3, tasks: tuple[str, ...] = TASKS) -> list[dict]:
    """Each bundled task with the panel's defaults, `runs` times: the median wall time (and the spread).

    Runs of one task are seeded alike, so their metrics agree on a CPU; the times vary with the machine's load.
    """
    rows = []
    for task in tasks:
        config = JobConfig.for_task(task, device="cuda" if torch.cuda.is_available() else "cpu", eval_times=0)
        if quick:
            config.epochs = min(config.epochs, 2.0)
        walls, trains, loads = [], [], []
        result = None
        for _ in range(runs):
            started = time.perf_counter()
            result = run_training(config)
            walls.append(time.perf_counter() - started)
            trains.append(result.train_seconds)
            loads.append(os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan"))
            scores = {k: round(v, 4) for k, v in result.metrics_after.items() if isinstance(v, float)}
            print(f"  {task} run {len(walls)}: {walls[-1]:.1f} s wall, {trains[-1]:.1f} s training, load average "
                  f"{loads[-1]:.1f}; after: {scores}", flush=True)  # partial results survive an interrupted benchmark
        scalars = lambda m: {k: round(v, 4) for k, v in m.items() if isinstance(v, float)}  # noqa: E731
        rows.append({"task": task, "data": config.data, "epochs": config.epochs, "steps": result.steps,
                     "train": result.train_samples, "validation": result.val_samples, "runs": runs,
                     "wall_s": round(statistics.median(walls), 1), "wall_s_runs": [round(w, 1) for w in walls],
                     "train_s": round(statistics.median(trains), 1), "load_average": [round(x, 1) for x in loads],
                     "before": scalars(result.metrics_before), "after": scalars(result.metrics_after),
                     "notes": result.notes})
        print(json.dumps(rows[-1]), flush=True)
        del result
    return rows


def nsp_baseline(seed: int = 42) -> dict:
    """A reference for the next-sentence accuracy: logistic regression on ONE number, the cosine of the two sentences'
    MiniLM embeddings (mean of the last hidden states, as sentence-transformers pools them), fitted on pairs of the
    training paragraphs and scored on exactly the held-out pairs the pre-training run scores (same split and seed).
    """
    import random

    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from transformers import AutoModel, AutoTokenizer

    from bertexplore.finetune import pretraining

    config = JobConfig.for_task("pretraining", seed=seed)
    train, val = prepare_data(config)
    source, _ = resolve(config.base_model)
    tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
    model = AutoModel.from_pretrained(source, local_files_only=True).eval()
    sentences = sorted({s for d in train.docs + val.docs for s in d})
    vectors = {}
    with torch.no_grad():
        for i in range(0, len(sentences), 64):
            chunk = sentences[i:i + 64]
            enc = tokenizer(chunk, padding=True, truncation=True, max_length=config.max_length, return_tensors="pt")
            hidden = model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).float()
            pooled = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)
            vectors.update(zip(chunk, pooled.numpy()))

    def features(pairs):
        return (np.array([[float(vectors[a] @ vectors[b])] for a, b, _label in pairs]),
                np.array([label for _a, _b, label in pairs]))

    # Training pairs as the run draws them: every A with its next sentence and with one from another paragraph.
    rng = random.Random(seed)
    fit_pairs = []
    for epoch in range(4):
        fit_pairs += [(doc[s], b, label) for d, doc in enumerate(train.docs) for s in range(len(doc) - 1)
                      for b, label in ((doc[s + 1], pretraining.IS_NEXT),
                                       (pretraining._random_sentence(rng, train.docs, d), pretraining.NOT_NEXT))]
    x_fit, y_fit = features(fit_pairs)
    x_val, y_val = features(pretraining.heldout_sentence_pairs(val.docs, seed, train.docs))
    classifier = LogisticRegression().fit(x_fit, y_fit)
    predicted = classifier.predict(x_val)
    return {"heldout_pairs": int(len(y_val)), "accuracy": float((predicted == y_val).mean()),
            "isnext_recall": float((predicted[y_val == 0] == 0).mean()),
            "notnext_recall": float((predicted[y_val == 1] == 1).mean()),
            "mean_cosine_isnext": float(x_val[y_val == 0].mean()), "mean_cosine_notnext": float(x_val[y_val == 1].mean())}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer steps and epochs")
    parser.add_argument("--json", help="also write the numbers to this file")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--runs", type=int, default=3, help="runs per task; the table gives the median time")
    parser.add_argument("--tasks", nargs="+", choices=TASKS, default=list(TASKS))
    parser.add_argument("--nsp-baseline", action="store_true",
                        help="only the next-sentence baseline: logistic regression on the embedding cosine")
    args = parser.parse_args()
    print(f"model: {OFFLINE_MODEL}; {machine()}", flush=True)
    report: dict = {}
    if args.nsp_baseline:
        report["nsp_baseline"] = nsp_baseline()
        print(json.dumps(report["nsp_baseline"]), flush=True)
        if args.json:
            Path(args.json).write_text(json.dumps(report, indent=2))
        return 0
    if not args.skip_throughput:
        report["throughput"] = throughput(args.quick)
        t = report["throughput"]
        print(f"panel {t['panel_samples_per_s']:.1f} samples/s vs plain Trainer {t['plain_samples_per_s']:.1f} "
              f"samples/s: {t['ratio']:.3f}x ({t['steps']} steps, batch {t['batch_size']}, {t['threads']} threads); "
              f"panel with its default thread policy: {t['panel_default_threads_samples_per_s']:.1f} samples/s", flush=True)
    report["datasets"] = per_dataset(args.quick, max(1, args.runs), tuple(args.tasks))
    report["machine_after"] = machine()
    print(f"\nafter the runs: {report['machine_after']}")
    print("\n| task | data | epochs | steps | wall s (median; runs) | before | after |\n|---|---|---|---|---|---|---|")
    for row in report["datasets"]:
        fmt = lambda m: ", ".join(f"{k} {v:g}" for k, v in m.items())  # noqa: E731
        print(f"| {row['task']} | {row['data']} | {row['epochs']:g} | {row['steps']} | {row['wall_s']} "
              f"({', '.join(map(str, row['wall_s_runs']))}) | {fmt(row['before'])} | {fmt(row['after'])} |")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
