"""Integrated gradients: cost in forwards and per-token accuracy, the converged rule vs captum's 50 steps, real texts.

    .venv/bin/python -m bench.bench_ig [--model PATH] [--texts 6] [--reference-steps 1000] [--threads 1]
                                       [--train-steps 60] [--device cpu] [--sharpen 1,4]

The classifier is one the Fine-tune page trains: a saved folder (--model, e.g. models/minilm-classification), or,
without one, the Fine-tune page's default classification job (the packaged MiniLM on the bundled sentiment set),
run here for --train-steps steps in memory. Texts: the bundled sentiment set's validation rows (the job's own split),
the first --texts of them. --sharpen repeats the comparison with the classifier's weights scaled (a sharper softmax,
the case of issue 17.1 where a completeness-only rule stopped with tokens 38% off).

Per text, side by side:
  - a plain forward (the unit of cost);
  - ours: `attribute` (Gauss 16 / Kronrod 33, 32/65, ... until every token agrees within 2% of the largest attribution
    AND completeness is within 5%); its gradient evaluations are counted by the engine;
  - captum IntegratedGradients with its defaults (n_steps=50, method="gausslegendre");
  - captum with 50 Riemann steps (method="riemann_trapezoid"; the issue calls captum's default "50 Riemann steps");
each against captum at --reference-steps Gauss-Legendre steps: per-token error = max |Δ| / max |reference|, and sign
flips on tokens above 10% of the max. Cost in forwards = time / plain forward (wall; CPU time beside it, steadier on a
shared machine). Medians over the texts; the load average is printed before and after.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from captum.attr import IntegratedGradients

from bertexplore.loading import LoadedModel, load_model
from bertexplore.tasks.attribution import attribute
from bertexplore.tasks.classify import encode

def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "n/a"


def trained_classifier(path: str | None, train_steps: int, device: str) -> tuple[LoadedModel, list[str]]:
    """(the classifier, validation texts): a saved Fine-tune page model, or the page's default job run here."""
    from bertexplore.finetune.config import JobConfig

    config = JobConfig.for_task("classification", max_steps=train_steps, device=device)
    texts = validation_texts(config)
    if path:
        return load_model(path, head="sequence-classification", device=device), texts
    from bertexplore.finetune.train import run_training

    started = time.perf_counter()
    result = run_training(config)
    print(f"trained the Fine-tune page's default classification job for {result.steps} steps in "
          f"{time.perf_counter() - started:.0f} s (validation {result.metrics_after})")
    return LoadedModel.wrap(result.model, result.tokenizer, "minilm-classification (trained here)", "memory",
                            "sequence-classification"), texts


def validation_texts(config) -> list[str]:
    """The job's validation rows (its own seeded split of the bundled set), as the Fine-tune page holds them out."""
    from bertexplore.finetune.train import prepare_data

    _train, val = prepare_data(config)
    return list(val.texts)


def captum_scores(loaded: LoadedModel, inputs, target: int, n_steps: int, method: str) -> np.ndarray:
    ids = torch.as_tensor(inputs.input_ids)[None].to(loaded.device)
    words = loaded.model.get_input_embeddings().weight
    special = torch.as_tensor(inputs.special, device=ids.device)[None]
    x = words[ids].detach()
    b = words[torch.where(special, ids, torch.full_like(ids, loaded.tokenizer.pad_token_id))].detach()
    segments = torch.as_tensor(inputs.segment_ids, device=ids.device)[None]

    def forward(embeds, segs):
        logits = loaded.model(inputs_embeds=embeds, token_type_ids=segs.expand(len(embeds), -1)).logits
        return torch.softmax(logits, -1)[:, target]

    attr = IntegratedGradients(forward).attribute(x, baselines=b, additional_forward_args=(segments,),
                                                  n_steps=n_steps, method=method, internal_batch_size=50)
    return attr[0].sum(-1).detach().double().cpu().numpy()


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return value, time.perf_counter() - wall, time.process_time() - cpu


def error(scores: np.ndarray, reference: np.ndarray) -> tuple[float, int]:
    peak = float(np.abs(reference).max())
    big = np.abs(reference) > 0.1 * peak
    return float(np.abs(scores - reference).max()) / peak, int((np.sign(scores[big]) != np.sign(reference[big])).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a classifier saved by the Fine-tune page (else one is trained here)")
    parser.add_argument("--texts", type=int, default=6)
    parser.add_argument("--reference-steps", type=int, default=1000)
    parser.add_argument("--train-steps", type=int, default=60)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--sharpen", default="1",
                        help="comma-separated factors for the classifier's weights, one table each (e.g. 1,4: also a "
                             "sharper softmax, as in issue 17.1)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"load average before: {load_average()} ({os.cpu_count()} CPUs); torch threads {torch.get_num_threads()}")
    loaded, texts = trained_classifier(args.model, args.train_steps, args.device)
    texts = texts[:args.texts]
    original = loaded.model.classifier.weight.detach().clone()
    for factor in (float(f) for f in args.sharpen.split(",")):
        with torch.no_grad():  # this process's own copy of the model
            loaded.model.classifier.weight.copy_(original * factor)
        run(loaded, texts, args, factor)
    print(f"load average after: {load_average()}")


def run(loaded: LoadedModel, texts: list[str], args, factor: float) -> None:
    rows = {key: [] for key in ("ours", "captum GL 50 (default)", "captum Riemann 50")}
    details = []
    for text in texts:
        inputs = encode(loaded, text)
        batch = loaded.model_inputs(inputs.input_ids, inputs.segment_ids)
        loaded.forward(batch)  # warm-up
        plains = [timed(lambda: loaded.forward(batch))[1:] for _ in range(5)]
        plain_wall, plain_cpu = min(p[0] for p in plains), min(p[1] for p in plains)
        with torch.no_grad():
            target = int(loaded.model(**batch).logits[0].argmax())
        ours, wall, cpu = timed(lambda: attribute(loaded, inputs, target, output="softmax"))
        reference = captum_scores(loaded, inputs, target, args.reference_steps, "gausslegendre")
        err, flips = error(ours.scores.astype(np.float64), reference)
        rows["ours"].append((wall / plain_wall, cpu / plain_cpu, err, flips, ours.evaluations))
        details.append(f"  {len(inputs):3d} tokens: ours G{ours.history[-1].gauss_nodes}/K{ours.steps}, "
                       f"{ours.evaluations} evaluations in batches of {ours.internal_batch_size}, converged "
                       f"{ours.converged}, per-token change {ours.max_change:.2%}, completeness "
                       f"{ours.relative_delta:.2%}; error {err:.2%}")
        for label, method in (("captum GL 50 (default)", "gausslegendre"), ("captum Riemann 50", "riemann_trapezoid")):
            scores, wall, cpu = timed(lambda m=method: captum_scores(loaded, inputs, target, 50, m))
            err, flips = error(scores, reference)
            rows[label].append((wall / plain_wall, cpu / plain_cpu, err, flips, 50))

    print(f"\n{loaded.name}, classifier weights x{factor:g}, {len(texts)} validation texts, device {args.device}; "
          f"reference: captum Gauss-Legendre {args.reference_steps} steps")
    print(f"{'':26s} {'evaluations':>11s} {'cost (wall)':>12s} {'cost (CPU)':>11s} {'per-token error':>16s} "
          f"{'worst':>7s} {'sign flips':>10s}")
    for label, values in rows.items():
        evals = statistics.median(v[4] for v in values)
        print(f"{label:26s} {evals:11.0f} {statistics.median(v[0] for v in values):11.1f}x "
              f"{statistics.median(v[1] for v in values):10.1f}x {statistics.median(v[2] for v in values):15.2%} "
              f"{max(v[2] for v in values):7.2%} {sum(v[3] for v in values):10d}")
    print("(median over texts; cost = time / one plain forward; sign flips summed over texts, tokens above 10% of "
          "the max)")
    print("\n".join(details), flush=True)


if __name__ == "__main__":
    main()
