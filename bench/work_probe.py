"""Where one Attention submit's server time goes: the forward that holds the shared model's lock vs the whole rerun.

Used by bench_sessions (it prints the result beside the browser numbers); runnable alone:
    python -m bench.work_probe
"""
from __future__ import annotations

import statistics
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def work_probe(sentences: list[str], runs: int = 9) -> list[tuple[int, float, float]]:
    """Where a submit's server time goes, per torch intra-op thread count: (threads, forward s, page rerun s).

    Interleaved, in this process: one forward (run_trace on MiniLM, what holds the shared model's lock) on a
    worker thread, as the server's script threads run it; then one whole Attention-page rerun for a new sentence
    (AppTest, no browser). Medians of `runs`.
    """
    import torch
    from streamlit.testing.v1 import AppTest

    from bertexplore.loading import load_model
    from bertexplore.registry import OFFLINE_MODEL
    from bertexplore.trace import run_trace

    default = torch.get_num_threads()
    out = []
    for threads in sorted({1, default}):
        torch.set_num_threads(threads)
        loaded = load_model(OFFLINE_MODEL, head="mlm", device="cpu")
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.run()
        at.switch_page("pages/attention.py")
        at.run()
        forwards: list[float] = []
        pages: list[float] = []

        def forward(text: str) -> None:
            started = time.perf_counter()
            run_trace(loaded, text)
            forwards.append(time.perf_counter() - started)

        for i in range(runs + 1):
            text = f"{sentences[i % len(sentences)]} ({i})"
            worker = threading.Thread(target=forward, args=(text,))
            worker.start()
            worker.join()
            box = next(w for w in [*at.text_input, *at.text_area] if w.key == "attention_text")
            box.set_value(text + " again")
            started = time.perf_counter()
            at.run()
            pages.append(time.perf_counter() - started)
            assert not at.exception, at.exception
        out.append((threads, statistics.median(forwards[1:]), statistics.median(pages[1:])))
    torch.set_num_threads(default)
    return out


if __name__ == "__main__":
    for threads, held, rerun in work_probe(["The keys to the cabinet are on the table.", "A teacher types a sentence."]):
        print(f"torch threads {threads}: one forward {held * 1e3:.0f} ms, one whole Attention rerun {rerun * 1e3:.0f} ms "
              f"(the forward is {held / rerun:.0%} of it)")
