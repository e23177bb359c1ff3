"""A fine-tuning run in a background thread, owned by one browser session.

The panel keeps the FineTuneJob in its session state and reads `snapshot()` from a fragment that
reruns every second; the worker thread never touches Streamlit. One run trains at a time per process
(a slot): the Trainer's accelerate state is process-wide, and two runs on two CPU cores would make
every page crawl. A second session's run waits in the queue and says so.
"""
from __future__ import annotations

import threading
import time
import traceback
from dataclasses import dataclass

from ..errors import BertExploreError
from ..i18n import _, current_language, language
from .config import JobConfig
from .eta import EtaEstimator, planned_evaluations
from .train import TrainResult, run_training

_SLOT = threading.Semaphore(1)
ABANDON_AFTER_S = 120.0  # no page has looked at the job for this long: the tab is gone, stop training


@dataclass
class Snapshot:
    """A consistent copy of the job's progress for drawing (lists are copies)."""

    status: str
    phase: str
    step: int
    total_steps: int
    epoch: float
    losses: list[tuple[int, float]]
    evals: list[tuple[int, dict[str, float]]]
    elapsed_s: float
    eta_s: float | None
    error: str | None

    @property
    def fraction(self) -> float:
        return min(1.0, self.step / self.total_steps) if self.total_steps else 0.0

    @property
    def running(self) -> bool:
        return self.status in ("queued", "running", "stopping")


class FineTuneJob:
    """Start with `start()`; `stop()` ends training at the end of the current step; `result` when done."""

    def __init__(self, config: JobConfig, raw: bytes | None = None, filename: str | None = None,
                 data: tuple | None = None) -> None:
        self.config = config
        self._raw, self._filename, self._data = raw, filename, data
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.status = "created"
        self._phase = ""
        self._step = 0
        self._total = 0
        self._epoch = 0.0
        self._losses: list[tuple[int, float]] = []
        self._evals: list[tuple[int, dict[str, float]]] = []
        self._train_started: float | None = None
        self._eta = EtaEstimator()
        self._created = time.monotonic()
        self._finished: float | None = None
        self._seen = time.monotonic()
        self.error: str | None = None
        self.result: TrainResult | None = None
        self.thread: threading.Thread | None = None
        self.stop_reason = ""

    # -- control (called from the page) --------------------------------------------------------
    def start(self) -> "FineTuneJob":
        if self.thread is not None:
            raise RuntimeError(_("a job starts once"))
        self.status = "queued"
        # The worker's messages (phases, errors) in the language of the session that started it.
        lang = current_language()

        def work() -> None:
            with language(lang):
                self._work()

        self.thread = threading.Thread(target=work, name="bertexplore-finetune", daemon=True)
        self.thread.start()
        return self

    def stop(self, reason: str = "stopped by the user") -> None:
        if not self._stop.is_set():
            self.stop_reason = reason
        self._stop.set()
        with self._lock:
            if self.status in ("queued", "running"):
                self.status = "stopping"

    def heartbeat(self) -> None:
        """The page calls this whenever it draws the job; a job nobody draws for long stops itself."""
        self._seen = time.monotonic()

    def wait(self, timeout: float | None = None) -> bool:
        if self.thread is not None:
            self.thread.join(timeout)
        return not self.running

    @property
    def running(self) -> bool:
        return self.status in ("queued", "running", "stopping")

    def snapshot(self) -> Snapshot:
        with self._lock:
            now = self._finished or time.monotonic()
            elapsed = now - (self._train_started or now)
            eta = None
            if self._train_started and self._step and self._total and self.status in ("running", "stopping"):
                eta = self._eta.remaining()
            return Snapshot(self.status, self._phase, self._step, self._total, self._epoch, list(self._losses),
                            [(s, dict(m)) for s, m in self._evals], elapsed, eta, self.error)

    # -- Progress protocol (called from the worker thread) -------------------------------------
    def begin(self, total_steps: int) -> None:
        with self._lock:
            self._total = total_steps
            self._train_started = time.monotonic()
            self._eta.begin(total_steps, planned_evaluations(total_steps, int(self.config.eval_times)))

    def loss(self, step: int, value: float, epoch: float) -> None:
        with self._lock:
            self._step, self._epoch = step, epoch
            self._losses.append((step, value))
            self._eta.stepped(step)
        if time.monotonic() - self._seen > ABANDON_AFTER_S:
            self.stop("abandoned: the browser tab stopped asking for progress")

    def evaluated(self, step: int, metrics: dict[str, float]) -> None:
        with self._lock:
            self._evals.append((step, dict(metrics)))

    def phase(self, text: str) -> None:
        with self._lock:
            self._phase = text

    def evaluation_took(self, seconds: float) -> None:
        with self._lock:
            self._eta.evaluation_took(seconds)

    # -- worker ------------------------------------------------------------------------------
    def _work(self) -> None:
        try:
            self.phase(_("Waiting for another training run in this app to finish"))
            while not _SLOT.acquire(timeout=0.5):
                if self._stop.is_set():
                    self._end("stopped")
                    return
            try:
                if self._stop.is_set():
                    self._end("stopped")
                    return
                with self._lock:
                    if self.status == "queued":
                        self.status = "running"
                result = run_training(self.config, self, self._stop, raw=self._raw, filename=self._filename,
                                      data=self._data)
                self._raw = None  # the upload is not needed any more
                self.result = result
                self._end("stopped" if result.stopped else "finished")
            finally:
                _SLOT.release()
        except BertExploreError as err:
            self.error = str(err)
            self._end("failed")
        except Exception as err:  # noqa: BLE001 - a worker must report, never die silently
            traceback.print_exc()
            self.error = f"Training failed ({type(err).__name__}: {err})."
            self._end("failed")

    def _end(self, status: str) -> None:
        with self._lock:
            self.status = status
            self._finished = time.monotonic()
            self._phase = {"finished": _("Done"), "stopped": _("Stopped"), "failed": _("Failed")}.get(status, status)
