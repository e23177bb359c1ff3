"""`python -m bertexplore.finetune --config job.yaml`: the fine-tuning panel's job, from a shell.

Scales with the launchers the Trainer supports, e.g.
    accelerate launch -m bertexplore.finetune --config job.yaml
    torchrun --nproc_per_node 4 -m bertexplore.finetune --config job.yaml
Only the main process prints and saves.
"""
from __future__ import annotations

import argparse
import os
import sys
import threading

from .config import TASKS


class _Printer:
    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet

    def begin(self, total_steps: int) -> None:
        self._say(f"training for {total_steps} steps")

    def loss(self, step: int, value: float, epoch: float) -> None:
        self._say(f"step {step}  epoch {epoch:.2f}  loss {value:.4f}")

    def evaluated(self, step: int, metrics: dict[str, float]) -> None:
        self._say(f"step {step}  validation " + "  ".join(f"{k} {v:.4f}" for k, v in metrics.items() if k != "epoch"))

    def phase(self, text: str) -> None:
        self._say(text)

    def _say(self, text: str) -> None:
        if not self.quiet:
            print(text, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bertexplore.finetune", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="job YAML (the panel shows and downloads one)")
    parser.add_argument("--example", choices=list(TASKS),
                        help="print an example job YAML for a task on a bundled dataset and exit")
    parser.add_argument("--output-name", help="save under this name in the models folder (overrides output_name)")
    parser.add_argument("--max-steps", type=int, help="override max_steps (0: whole epochs)")
    args = parser.parse_args(argv)

    from ..errors import BertExploreError
    from .config import JobConfig

    if args.example:
        print(JobConfig.for_task(args.example, output_name=f"minilm-{args.example}").to_yaml(), end="")
        return 0
    if not args.config:
        parser.error("--config is required (or --example TASK to write one)")
    main_process = int(os.environ.get("RANK", os.environ.get("LOCAL_RANK", "0"))) == 0
    try:
        config = JobConfig.load(args.config)
        if args.output_name is not None:
            config.output_name = args.output_name
        if args.max_steps is not None:
            config.max_steps = args.max_steps
        config.validate()
        from .train import run_training
        result = run_training(config, _Printer(quiet=not main_process), threading.Event())
        if main_process:
            print(f"before: {_scalars(result.metrics_before)}")
            print(f"after:  {_scalars(result.metrics_after)}")
            print(f"{result.steps} steps, {result.samples_per_second:.1f} samples/s")
            if config.output_name:
                from .save import save_model
                print(f"saved in {save_model(result, config.output_name, overwrite=True)}")
    except BertExploreError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


def _scalars(metrics: dict) -> str:
    return "  ".join(f"{k} {v:.4f}" for k, v in metrics.items() if isinstance(v, float))


if __name__ == "__main__":
    sys.exit(main())
