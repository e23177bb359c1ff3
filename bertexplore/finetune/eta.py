"""Time left in a training run: the typical step time so far, times the steps left, plus the evaluations left.

The first steps of a run are slow (allocator warm-up, thread pools, lazy initialisation) and evaluation passes
are long pauses between two steps; an average over everything so far therefore starts far too high and drifts
for most of the run. The median of the recent step gaps ignores both, so the estimate settles after a few
steps; each evaluation still to come (and the final one after training) is added at the measured cost of one.
"""
from __future__ import annotations

import math
import statistics
import time
from typing import Callable

WINDOW = 25  # recent step gaps the median reads: long enough to ignore a spike, short enough to follow a change
MIN_GAPS = 4  # no estimate from fewer step gaps: the first steps after the start are slow (warm-up), and a median
# of one or two of them overstated a 5-minute run as 18 minutes


def planned_evaluations(total_steps: int, eval_times: int) -> list[int]:
    """Steps after which the Trainer evaluates: eval_steps = ceil(total / (eval_times + 1)), as a ratio < 1 gives."""
    if eval_times < 1 or total_steps < 1:
        return []
    every = math.ceil(total_steps * (1.0 / (eval_times + 1)))
    return list(range(every, total_steps + 1, every)) if every > 0 else []


class EtaEstimator:
    """Feed it step ends and evaluation durations; ask remaining() any time (None until it can say)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.total = 0
        self.eval_steps: list[int] = []
        self.eval_seconds: float | None = None
        self.step = 0
        self._last: float | None = None
        self._gaps: list[float] = []

    def begin(self, total_steps: int, eval_steps: list[int] | None = None) -> None:
        self.total, self.eval_steps = int(total_steps), sorted(eval_steps or [])
        self._last, self._gaps, self.step = self.clock(), [], 0

    def evaluation_took(self, seconds: float) -> None:
        """The duration of one pass over the validation set: the latest one (the pass before training, the first,
        also pays one-off start-up costs; later passes replace it)."""
        if seconds > 0:
            self.eval_seconds = seconds

    def stepped(self, step: int) -> None:
        now = self.clock()
        if self._last is not None and step > self.step:
            gap = (now - self._last) / (step - self.step)
            if self.step >= 1 or self.total <= 2:  # the first step carries the start-up cost: not typical
                self._gaps.append(gap)
                del self._gaps[:-WINDOW]
        self.step, self._last = max(self.step, step), now

    def remaining(self) -> float | None:
        if not self.total or len(self._gaps) < min(MIN_GAPS, max(1, self.total - 2)):
            return None
        per_step = statistics.median(self._gaps)
        left = max(0, self.total - self.step) * per_step
        if self.eval_seconds is not None:
            evals_left = sum(1 for s in self.eval_steps if s > self.step) + 1  # +1: the measurement after training
            left += evals_left * self.eval_seconds
        return left
