"""The causal lab's cost in plain forwards, on the bert-base shape (random weights, masked-LM head, 16 tokens).

    .venv/bin/python -m bench.bench_causal [--repeats 3] [--threads N] [--steps 20]

Side by side in one run, each as the best of `repeats` (wall-clock and CPU seconds), then the ratio to one plain
forward of the same 16 tokens (batch of 1, inference mode) and the issue's target:
    full residual patching map (L + 1 rows of T batched rows, + 1 clean/corrupted forward)   target <= L + 1
    attribution patching for every head (clean forward + one forward and one backward)      target <= 3
    knowledge neurons, 20 integration steps (one forward + a batched forward/backward)       target <= 60
The plain forward is re-timed between the others and its minimum kept, so a busy shared machine inflates neither
side of a ratio. CPU seconds move less than wall-clock when other processes share the cores.
"""
from __future__ import annotations

import argparse
import os
import platform
import time

import torch
from transformers import AutoTokenizer, BertConfig, BertForMaskedLM

from bertexplore.causal import attribution_patch_heads, knowledge_neurons, patch
from bertexplore.loading import LoadedModel
from bertexplore.registry import packaged_model_dir

TOKENS = 16


def cpu_name() -> str:
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def bert_base_mlm() -> LoadedModel:
    torch.manual_seed(0)
    config = BertConfig()  # 12 layers x 768, 12 heads, the bert-base-uncased vocabulary size
    model = BertForMaskedLM(config)
    folder = packaged_model_dir()
    if folder is None:
        raise SystemExit("The bench needs the packaged MiniLM's tokenizer (bert-base-uncased WordPiece): "
                         "bash scripts/setup.sh installs it.")
    tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    return LoadedModel.wrap(model, tokenizer, name="random bert-base (MLM)", source="random", head="mlm")


def pair(loaded: LoadedModel) -> tuple[str, str, str]:
    """A minimal pair of exactly TOKENS tokens ([CLS] and [SEP] included) and a fact prompt of the same length."""
    tail = " and the old lamp near the door".split()
    clean_words = "the keys to the cabinet [MASK] on the table".split()
    while len(loaded.tokenize(" ".join(clean_words))) < TOKENS:
        clean_words.append(tail[(len(clean_words) - 9) % len(tail)])
    clean = " ".join(clean_words)
    corrupt = clean.replace("keys", "key", 1)
    fact = "paris is the capital of [MASK] , a country in europe with many old cities"
    assert len(loaded.tokenize(clean)) == len(loaded.tokenize(corrupt)) == TOKENS, loaded.tokenize(clean).tokens
    return clean, corrupt, fact


def timed(fn, repeats: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    loaded = bert_base_mlm()
    clean, corrupt, fact = pair(loaded)
    inputs = loaded.tokenize(clean)
    batch = loaded.model_inputs(inputs.input_ids, inputs.segment_ids)
    load_before = os.getloadavg()

    plain: list[tuple[float, float]] = []

    def forward_unit() -> None:
        plain.append(timed(lambda: loaded.forward(batch), args.repeats))

    layers = loaded.num_layers
    rows = []
    forward_unit()
    rows.append(("full residual patching map", timed(lambda: patch(loaded, clean, corrupt, site="resid",
                                                                  target="are", contrast="is"), args.repeats),
                 layers + 1))
    forward_unit()
    rows.append(("attribution patching, all heads",
                 timed(lambda: attribution_patch_heads(loaded, clean, corrupt, target="are", contrast="is"),
                       args.repeats), 3))
    forward_unit()
    rows.append((f"knowledge neurons, {args.steps} steps",
                 timed(lambda: knowledge_neurons(loaded, fact, steps=args.steps), args.repeats), 60))
    forward_unit()
    unit_wall = min(w for w, _c in plain)
    unit_cpu = min(c for _w, c in plain)
    load_after = os.getloadavg()

    print(f"bench_causal: random bert-base-shaped BertForMaskedLM ({layers} layers, 12 heads), {TOKENS} tokens, "
          f"best of {args.repeats}")
    print(f"CPU: {cpu_name()}; {os.cpu_count()} cores; torch {torch.__version__} with {torch.get_num_threads()} "
          f"threads; load average {load_before[0]:.1f} before, {load_after[0]:.1f} after")
    print(f"one plain forward: {unit_wall * 1000:.1f} ms wall, {unit_cpu * 1000:.1f} ms CPU")
    print(f"{'experiment':36} {'wall s':>8} {'CPU s':>8} {'x fwd (wall)':>13} {'x fwd (CPU)':>12} {'target':>8}")
    for name, (wall, cpu), target in rows:
        print(f"{name:36} {wall:8.3f} {cpu:8.3f} {wall / unit_wall:13.1f} {cpu / unit_cpu:12.1f} {'<= ' + str(target):>8}")


if __name__ == "__main__":
    main()
