"""Analysis lab cost, measured side by side on random bert-base-shaped models (CPU unless --device says otherwise).

    .venv/bin/python -m bench.bench_analysis [--tokens 128] [--repeats 3] [--scan] [--threads N]

Prints, as ratios to a plain forward measured in the same run:
1. norm-based views (‖α·f(x)‖, + residual/LayerNorm) and ALTI for all layers vs a DEFAULT trace (issue 10 target
   ≤ 1.5x), and the trace with the values and residual stream they read vs the default trace; the peak extra memory.
2. gradient head importance (1 forward + 1 backward through per-head gates) in forward-equivalents (target ≤ 3)
   vs the ablation scan (one forward per head; run with --scan, it takes L·H forwards).
3. integrated gradients at `--tokens` to a 5% completeness error (Gauss-Legendre 4, 8, … nodes) vs a plain forward
   (target ≤ 20x), beside the fixed 32-node rule, with the steps used and the error.
4. how long another session waits for the model while integrated gradients (a fixed 32-node rule: 8 batches of 4)
   runs: the lock is held per batch, so the wait is one batch, not the run.
"""
from __future__ import annotations

import argparse
import resource
import statistics
import threading
import time
from pathlib import Path

import torch


from transformers import BertConfig, BertForMaskedLM, BertForSequenceClassification  # noqa: E402

from bertexplore.analysis.alti import CHUNK_BYTES, alti_layer  # noqa: E402
from bertexplore.analysis.arrays import analysis_names, layer_arrays  # noqa: E402
from bertexplore.analysis.gradient_importance import gradient_importance  # noqa: E402
from bertexplore.analysis.norms import parts, residual_ln_norms, weighted_norms  # noqa: E402
from bertexplore.head_importance import scan_heads  # noqa: E402
from bertexplore.loading import LoadedModel  # noqa: E402
from bertexplore.model_building import building  # noqa: E402
from bertexplore.registry import packaged_model_dir  # noqa: E402
from bertexplore.tasks.attribution import attribute  # noqa: E402
from bertexplore.trace import apply_masks, trace_tokens  # noqa: E402


def tokenizer():
    folder = packaged_model_dir()  # the bert-base-uncased WordPiece vocabulary
    if folder is not None:
        from transformers import AutoTokenizer
        return AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    import tempfile

    from tests.tiny import write_vocab
    from transformers import BertTokenizerFast
    return BertTokenizerFast(vocab=str(write_vocab(Path(tempfile.mkdtemp()))), model_max_length=512)


def random_model(cls, head: str, device: str, **config) -> LoadedModel:
    torch.manual_seed(0)
    with building():
        model = cls(BertConfig(**config)).to(device).eval()  # BertConfig(): 12 layers x 768, 12 heads
    return LoadedModel.wrap(model, tokenizer(), name=f"random bert-base ({head})", source="random", head=head)


class Timing(tuple):
    """(best wall seconds, best CPU seconds of this process); CPU time barely moves on a shared, busy machine."""

    def __truediv__(self, other: "Timing") -> float:
        return self[1] / other[1]

    def __add__(self, other: "Timing") -> "Timing":
        return Timing((self[0] + other[0], self[1] + other[1]))


def best(fn, repeats: int) -> Timing:
    walls, cpus = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return Timing((min(walls), min(cpus)))


def fastest(*timings: Timing) -> Timing:
    return Timing((min(t[0] for t in timings), min(t[1] for t in timings)))


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def line(label: str, t: Timing, base: Timing, note: str = "") -> None:
    print(f"  {label:66s} wall {t[0] * 1000:8.0f} ms {t[0] / base[0]:6.2f}x | CPU {t[1] * 1000:8.0f} ms "
          f"{t[1] / base[1]:6.2f}x  {note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--scan", action="store_true", help="also run the exhaustive ablation scan (L·H forwards)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    text = " ".join(["the cat sat on the mat while the dog played in the garden ."] * 64)

    mlm = random_model(BertForMaskedLM, "mlm", args.device)
    inputs = mlm.tokenize(text, max_length=args.tokens)
    inputs = apply_masks(mlm, inputs, [args.tokens // 2])
    batch = mlm.model_inputs(inputs.input_ids, inputs.segment_ids)
    print(f"bert-base shape (random weights), {len(inputs)} tokens, device {args.device}, "
          f"torch threads {torch.get_num_threads()}")
    mlm.forward(batch)  # warm-up
    plain = best(lambda: mlm.forward(batch), args.repeats + 2)
    default = best(lambda: trace_tokens(mlm, inputs), args.repeats)
    names = analysis_names(mlm)
    named = best(lambda: trace_tokens(mlm, inputs, names), args.repeats)
    trace = trace_tokens(mlm, inputs, names)
    layers = range(trace.num_layers)
    before = rss_mb()

    def norms_only():
        for l in layers:
            a = layer_arrays(trace, mlm, l)
            weighted_norms(a)
            residual_ln_norms(a)

    def all_measures():
        for l in layers:
            a = layer_arrays(trace, mlm, l)
            p = parts(a)
            weighted_norms(a, p)
            residual_ln_norms(a, p)
            alti_layer(a, p)

    t_norms = best(norms_only, args.repeats)
    t_alti = best(lambda: [alti_layer(layer_arrays(trace, mlm, l)) for l in layers], args.repeats)
    t_all = best(all_measures, args.repeats)
    peak = rss_mb() - before
    default = fastest(default, best(lambda: trace_tokens(mlm, inputs), args.repeats))  # re-timed: a busy machine
    print("\n1. Weight vs what moved (all layers), ratios to a DEFAULT trace:")
    line("plain forward (masked-LM)", plain, default)
    line("default trace (patterns + MLM output)", default, default)
    line("trace with values + residual stream (what the norms read)", named, default)
    line("norms ‖α·f(x)‖ and residual + LayerNorm, all layers", t_norms, default)
    line("ALTI, all layers", t_alti, default)
    line("norms + residual/LN + ALTI together (shared parts)", t_all, default, "[target <= 1.5x]")
    line("extra trace + all three (what the page costs on top of the default trace)", named + t_all, default)
    print(f"  peak extra resident memory during the analysis: {peak:.0f} MB "
          f"(ALTI builds {CHUNK_BYTES >> 20} MB row chunks, never [H, T, T, D] = "
          f"{12 * args.tokens * args.tokens * 768 * 4 / 2 ** 20:.0f} MB per layer)")

    print("\n2. Head importance, in forward-equivalents (plain masked-LM forward = 1):")
    t_grad = best(lambda: gradient_importance(mlm, inputs), args.repeats)
    line("gradient importance: 1 forward + 1 backward, every head", t_grad, plain, "[target <= 3]")
    heads = mlm.num_layers * mlm.num_heads
    if args.scan:
        t_scan = best(lambda: scan_heads(mlm, inputs), 1)
        line(f"ablation scan: {heads} heads, one forward each (batched)", t_scan, plain)
        print(f"  gradient is {t_scan / t_grad:.0f}x cheaper (CPU time) than the scan")
    else:
        print(f"  ablation scan: {heads} forwards (run with --scan to time it)")

    print("\n3. Integrated gradients (classifier), ratios to a plain forward:")
    cls = random_model(BertForSequenceClassification, "sequence-classification", args.device, num_labels=2)
    cinputs = cls.tokenize(text, max_length=args.tokens)
    cbatch = cls.model_inputs(cinputs.input_ids, cinputs.segment_ids)
    cls.forward(cbatch)
    cplain = best(lambda: cls.forward(cbatch), args.repeats + 2)
    adaptive = []
    t_adapt = best(lambda: adaptive.append(attribute(cls, cinputs, target=1)), args.repeats)
    res = adaptive[-1]
    change = res.value - res.baseline_value
    t_fixed = best(lambda: attribute(cls, cinputs, target=1, steps=32, tolerance=None), 1)
    fixed = attribute(cls, cinputs, target=1, steps=32, tolerance=None)
    cplain = fastest(cplain, best(lambda: cls.forward(cbatch), args.repeats + 2))
    line("plain forward", cplain, cplain)
    line(f"IG converged per token: G{res.history[-1].gauss_nodes}/K{res.steps}, {res.evaluations} gradient "
         f"evaluations", t_adapt, cplain,
         f"[target <= 20x] completeness {abs(res.delta) / max(abs(change), 1e-12):.2%} of |f(x) - f(b)| = "
         f"{abs(change):.4f}, per-token change {res.max_change or 0:.2%}, converged {res.converged}")
    print("  (per-token error against captum at 1,000 steps and captum's 50 steps side by side: bench.bench_ig)")
    line("IG fixed 32-node Gauss-Legendre rule", t_fixed, cplain,
         f"error {abs(fixed.delta) / max(abs(change), 1e-12):.2%}")

    print("\n4. Another session's wait for the model while integrated gradients runs:")
    waits: list[float] = []
    done = threading.Event()

    def other_session():
        while not done.is_set():
            t0 = time.perf_counter()
            with cls.lock:
                waits.append(time.perf_counter() - t0)
            cls.forward(cbatch)
            time.sleep(0.01)

    worker = threading.Thread(target=other_session)
    worker.start()
    t0 = time.perf_counter()
    held = attribute(cls, cinputs, target=1, steps=32, tolerance=None)  # 8 batches of 4 nodes
    run = time.perf_counter() - t0
    done.set()
    worker.join()
    print(f"  IG run {run:.2f} s; longest single hold of the lock {held.longest_lock_seconds:.2f} s (one batch of "
          f"{held.internal_batch_size} nodes); the other session's forwards: {len(waits)}, longest wait "
          f"{max(waits):.2f} s, median {statistics.median(waits):.3f} s")
    print(f"  (holding the lock for the whole run, as before, the wait would have been up to {run:.2f} s)")
    print(f"\npeak resident memory {rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
