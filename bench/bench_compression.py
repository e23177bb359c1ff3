"""int8 / bfloat16 vs float32 on the packaged MiniLM (real weights): what the Inside BERT compression step reports.

Runs bertexplore.inside.compression.compression_report (the page's own measurement) on a few English texts and
prints, per variant, size, last-hidden-state cosine with float32, attention max |diff| and the forward-time ratio,
with the CPU named (timings depend on it: int8 and bfloat16 kernels differ between CPUs; the agreement figures do not).

    python -m bench.bench_compression            # from the repository root
    python -m bench.bench_compression --runs 15 --repeats 3
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bertexplore.inside.compression import compression_report  # noqa: E402
from bertexplore.loading import load_model  # noqa: E402
from bertexplore.registry import OFFLINE_MODEL  # noqa: E402

TEXTS = (
    "Marta opened her bakery on the corner of Mill Street in 1998. Every morning she starts work at four o'clock, "
    "long before the first customers arrive. Her most popular loaf is a dark rye bread flavoured with caraway seeds. "
    "On Saturdays she also bakes cinnamon rolls, which are usually sold out by nine.",
    "Water moves between the oceans, the air and the land in a never-ending loop called the water cycle. The sun heats "
    "the surface of the sea, and some of the water turns into vapour. As the warm, moist air rises, it cools and the "
    "vapour condenses into tiny droplets that form clouds. When the droplets grow heavy, they fall back as rain.",
    "The man went to the store. He bought a gallon of milk.",
)


def cpu_name() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return platform.processor() or "unknown CPU"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15, help="timed forwards per variant (median)")
    parser.add_argument("--repeats", type=int, default=3, help="whole reports per text (median of their ratios)")
    args = parser.parse_args()
    loaded = load_model(OFFLINE_MODEL, head="base", device="cpu")
    print(f"model: {OFFLINE_MODEL}; CPU: {cpu_name()}, {os.cpu_count()} cores; load average "
          f"{os.getloadavg()[0]:.1f}")
    for text in TEXTS:
        inputs = loaded.tokenize(text)
        reports = [compression_report(loaded, inputs, runs=args.runs) for _ in range(args.repeats)]
        base = {r.variant: r for r in reports[0].rows}["float32"]
        print(f"\n{len(inputs)} tokens:")
        for row in reports[0].rows:
            ratios = [{r.variant: r for r in rep.rows}[row.variant].seconds /
                      {r.variant: r for r in rep.rows}["float32"].seconds for rep in reports]
            print(f"  {row.variant:9s} size {row.bytes / 1e6:6.1f} MB ({row.bytes / base.bytes:.2f}x)  "
                  f"hidden cosine {row.hidden_cosine:.4f}  attention max |diff| {row.attention_max_diff:.3f} "
                  f"(mean {row.attention_mean_diff:.1e})  forward {row.seconds * 1e3:6.1f} ms, "
                  f"time ratio {statistics.median(ratios):.2f}x (repeats: {', '.join(f'{x:.2f}' for x in ratios)})")
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
