"""Integrated gradients cost vs one plain forward on the bert-base shape (random weights, CPU).

    .venv/bin/python -m bench.bench_ig [--tokens 128] [--steps 32] [--repeats 2] [--device cpu] [--threads N]

Prints the best (minimum) time of: one plain forward (inference mode, eager attention, batch of 1), IG with the
interpolation steps batched (internal_batch_size = steps), IG unbatched (internal_batch_size = 1), and IG
with the app's memory-bounded automatic batch; then the ratios to the plain forward. Issue 3's target is
batched IG <= 20x a plain forward. The plain forward is re-timed between the IG runs and the minimum is
kept, so that a busy shared machine inflates neither side of the ratio.

Arithmetic floor: each IG step is one forward plus one backward to the input embeddings (about two
forwards of work), so 32 steps are ~64 forwards of FLOPs; batching can only win back what a batch of one
leaves idle (little on a CPU, a lot on a GPU).
"""
from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import torch


from transformers import BertConfig, BertForSequenceClassification  # noqa: E402

from bertexplore.loading import LoadedModel  # noqa: E402
from bertexplore.registry import packaged_model_dir  # noqa: E402
from bertexplore.tasks.attribution import attribute, auto_batch_size  # noqa: E402
from bertexplore.tokens import tokenize  # noqa: E402
from bertexplore.trace import forward, model_inputs  # noqa: E402


def bert_base_classifier(device: str) -> LoadedModel:
    """A random BertForSequenceClassification of the bert-base shape, wrapped like a loaded checkpoint."""
    torch.manual_seed(0)
    config = BertConfig(num_labels=2, attn_implementation="eager")  # BertConfig() defaults: 12 x 768, 12 heads
    model = BertForSequenceClassification(config).to(device).eval()
    model.requires_grad_(False)
    folder = packaged_model_dir()  # the bert-base-uncased WordPiece vocabulary, when the packaged model is installed
    if folder is not None:
        from transformers import AutoTokenizer
        tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    else:
        import tempfile

        from tests.tiny import write_vocab
        from transformers import BertTokenizerFast
        tokenizer = BertTokenizerFast(vocab=str(write_vocab(Path(tempfile.mkdtemp()))), model_max_length=512)
    return LoadedModel(name="random bert-base", source="random", head="sequence-classification", model=model,
                       tokenizer=tokenizer, config=config, device=device, dtype="float32", has_head=True)


def timed(fn, repeats: int) -> tuple[float, float]:
    """Best wall-clock seconds and best CPU seconds (all threads of this process) over `repeats` runs.

    CPU seconds barely move when other processes share the cores, so their ratios stay meaningful on a
    busy machine where wall-clock times can swing tenfold.
    """
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--steps", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch CPU threads (0: torch's default). 1 gives steady CPU-time ratios on a shared machine.")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    loaded = bert_base_classifier(args.device)
    text = " ".join(["the cat sat on the mat while the dog played in the garden"] * 64)
    inputs = tokenize(loaded.tokenizer, text, max_length=args.tokens)
    assert len(inputs) == args.tokens, len(inputs)
    batch = model_inputs(loaded, inputs.input_ids, inputs.segment_ids)
    print(f"bert-base shape (random weights), {len(inputs)} tokens, {args.steps} IG steps, device {args.device}, "
          f"torch threads {torch.get_num_threads()}")

    forward(loaded, batch)  # warm-up
    plain_times = [timed(lambda: forward(loaded, batch), 5)]
    auto = auto_batch_size(loaded, len(inputs), args.steps)
    runs = {
        f"IG batched (internal_batch_size={args.steps})": args.steps,
        f"IG auto batch (internal_batch_size={auto})": auto,
        "IG unbatched (internal_batch_size=1)": 1,
    }
    results = {}
    for label, size in runs.items():
        if label.startswith("IG auto") and size == args.steps:
            continue  # same run as the batched one
        repeats = 1 if size == 1 else args.repeats
        results[label] = timed(lambda s=size: attribute(loaded, inputs, target=1, steps=args.steps,
                                                        internal_batch_size=s, tolerance=None), repeats)
        plain_times.append(timed(lambda: forward(loaded, batch), 5))
    gxi = timed(lambda: attribute(loaded, inputs, target=1, method="gradient-x-input"), max(3, args.repeats))
    plain_times.append(timed(lambda: forward(loaded, batch), 5))
    plain = min(t[0] for t in plain_times)
    plain_cpu = min(t[1] for t in plain_times)

    print(f"{'':45s} {'wall ms':>9s} {'ratio':>6s} {'CPU ms':>9s} {'ratio':>6s}")

    def line(label: str, wall: float, cpu: float) -> None:
        print(f"{label:45s} {wall * 1000:9.1f} {wall / plain:5.1f}x {cpu * 1000:9.1f} {cpu / plain_cpu:5.1f}x")

    line("plain forward", plain, plain_cpu)
    for label, (wall, cpu) in results.items():
        line(label, wall, cpu)
    line("gradient x input (1 forward + backward)", *gxi)
    batched = results[f"IG batched (internal_batch_size={args.steps})"]
    unbatched = results["IG unbatched (internal_batch_size=1)"]
    print(f"batched IG vs unbatched: {unbatched[0] / batched[0]:.2f}x faster (wall), "
          f"{unbatched[1] / batched[1]:.2f}x less CPU time")
    print(f"target <= 20x a plain forward: {'met' if batched[0] / plain <= 20 else 'missed'} "
          f"({batched[0] / plain:.1f}x wall, {batched[1] / plain_cpu:.1f}x CPU)")
    print(f"plain forward minima between runs (wall ms): {', '.join(f'{t[0] * 1000:.0f}' for t in plain_times)}")
    print(f"peak resident memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
