"""Many browser sessions at once on a fresh app server: errors, cross-talk, time to settle, server memory.

Starts its own `streamlit run app.py` on 127.0.0.1 (a free port, a temporary models folder holding a tiny
masked-LM checkpoint it builds) and drives real headless Chromium sessions with Playwright, the way
tests/e2e launches Chromium offline. Every session gets its own words ("markers"): a session that shows another
session's marker, or misses its own, is cross-talk.

Modes:
  open      (issue 7)  N sessions open at once on the fresh server, across two models: even ones the Attention
            page on the packaged MiniLM, odd ones the Masked-LM page on the tiny masked-LM, each with its own
            sentence in the link (the page's main action: the heatmap, or the predictions for its [MASK]).
  classroom (issue 12) N sessions sit on the Attention page; then each submits a new sentence, all within
            --spread seconds; measured: submit → its own heatmap drawn.
  same      (issue 19) N sessions open the Attention page on the packaged MiniLM with THE SAME 512-token text at
            once. Target: 1 forward in the server, server memory growth <= 1.2 x one trace.
  distinct  (issue 19) N sessions open it with N different texts at once. Target: N forwards, 0 cross-talk.
  For same and distinct the server writes its forward count and memo bytes (ui/janitor.py, BERTEXPLORE_STATS_FILE);
  one short session opens first so the model is loaded before the baseline is read. After the tabs close the
  server's RSS is read again once its sessions' reconnect time (--ttl) and one janitor sweep have passed.

Also measured, in this process (bench/work_probe.py): how long one forward holds the shared model's lock (run_trace on
MiniLM) against one whole Attention-page rerun, with torch at 1 intra-op thread and at its default: whether the
lock or the page's own work is what N submits queue on.

Run: python -m bench.bench_sessions --mode open --sessions 10
     python -m bench.bench_sessions --mode classroom --sessions 30
     python -m bench.bench_sessions --mode same --sessions 30 --ttl 20
     python -m bench.bench_sessions --mode distinct --sessions 30
     python -m bench.bench_sessions --mode distinct --long --sessions 10 --ttl 20
Bounded: at most 50 sessions, --timeout seconds per session, --budget seconds for the whole run.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.browser import CHROMIUM_ARGS, chromium_path
from bench.browser import free_port as _free_port
from bench.work_probe import work_probe

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import psutil  # noqa: E402

MAX_SESSIONS = 50
# Words every vocabulary here has as one token (the tiny test vocabulary included): session i gets its own pair.
TINY_WORDS = ("cat dog mat keys cabinet table paris france capital city good bad great terrible movie film love hate "
              "john mary london google play works lives sat").split()
ENGLISH_WORDS = ("cat dog horse cow sheep goat lion tiger bear wolf fox mouse rabbit eagle owl duck fish shark whale "
                 "apple banana cherry grape lemon orange peach pear plum melon bread cheese butter honey sugar salt "
                 "river mountain forest desert island ocean valley lake beach bridge castle tower garden kitchen "
                 "library school church market station hospital museum theater village harbor prison palace farm "
                 "violin piano guitar drum trumpet camera pencil hammer ladder candle mirror pillow blanket basket "
                 "bottle wallet ticket letter window carpet engine rocket saddle coffee tea milk wine soup rice "
                 "pepper onion potato tomato carrot garlic spoon knife plate glass chair table desk shelf sofa lamp "
                 "clock phone radio jacket shirt boot hat scarf glove ring necklace coin stamp map flag sword shield "
                 "arrow spear wheel sail anchor rope chain bucket shovel").split()


# ----------------------------------------------------------------------------------------- the server


def build_models(folder: Path) -> None:
    """A tiny masked-LM checkpoint (random weights, the tests' WordPiece vocabulary) in the models folder."""
    from transformers import BertForMaskedLM

    from tests.tiny import make_tiny_model

    make_tiny_model(folder / "tiny-mlm", BertForMaskedLM, hidden_size=64, num_hidden_layers=4,
                    intermediate_size=128, max_position_embeddings=128)


class Server:
    def __init__(self, models: Path, log: Path, torch_threads: int | None = None, ttl: float | None = None) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.stats_file = log.with_suffix(".stats.json")
        env = dict(os.environ, BERTEXPLORE_MODELS_DIR=str(models), HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1",
                   BERTEXPLORE_STATS_FILE=str(self.stats_file), BERTEXPLORE_SWEEP_S="5")
        if torch_threads:
            env["OMP_NUM_THREADS"] = str(torch_threads)  # torch's intra-op threads in the server
        self.log = open(log, "w")
        extra = ["--server.disconnectedSessionTTL", str(int(ttl))] if ttl else []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(self.port), *extra],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.ps = psutil.Process(self.proc.pid)
        self.peak = 0
        self._sampling = True
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while self._sampling:
            try:
                self.peak = max(self.peak, self.rss())
            except psutil.Error:
                return
            time.sleep(0.2)

    def rss(self) -> int:
        return self.ps.memory_info().rss

    def stats(self) -> dict:
        """The server's own counters (ui/janitor.py writes them every 0.5 s); waits for a fresh copy."""
        time.sleep(1.2)
        try:
            return json.loads(self.stats_file.read_text())
        except (OSError, ValueError):
            return {}

    def wait_healthy(self, timeout: float = 90) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("the server exited; see its log")
            try:
                if urllib.request.urlopen(self.url + "/_stcore/health", timeout=2).read() == b"ok":
                    return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("the server did not become healthy")

    def stop(self) -> None:
        self._sampling = False
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def renice_browsers(level: int = 19) -> int:
    """Give every Chromium process below this one the lowest CPU priority.

    In a classroom the browsers run on the students' machines, not on the server; here they share its CPUs. At
    nice 19 they take only what the server leaves, so the times measured are the server's, plus drawing.
    """
    count = 0
    for child in psutil.Process().children(recursive=True):
        try:
            if "chrom" in child.name().lower() and child.nice() < level:
                child.nice(level)
                count += 1
        except psutil.Error:
            pass
    return count


# ----------------------------------------------------------------------------------------- one session
@dataclass
class Session:
    index: int
    page: str  # "attention" or "masked_lm"
    model: str
    markers: tuple[str, str]
    sentence: str
    settle_s: float | None = None
    errors: list[str] = field(default_factory=list)
    crosstalk: list[str] = field(default_factory=list)


IDLE_JS = "document.querySelector(\"[data-testid='stApp']\")?.dataset.testScriptState === 'notRunning'"
# Tokens the session's main output shows: heatmap ticks (Attention) or the masked sentence's chips (Masked-LM).
SHOWN_JS = """() => {
  const ticks = Array.from(document.querySelectorAll('.js-plotly-plot .xtick text')).map(t => t.textContent.replace(/\\u200b/g, ''));
  const chips = Array.from(document.querySelectorAll("[data-testid='stHtml'] span")).map(s => s.childNodes[0]?.textContent || '');
  return ticks.concat(chips);
}"""


def ready_js(kind: str, markers: tuple[str, ...]) -> str:
    want = " && ".join(f"shown.includes({m!r})" for m in markers) or "true"  # 512 ticks: plotly thins them
    drawn = ("document.querySelector('.js-plotly-plot .heatmaplayer image')" if kind == "attention"
             else "document.querySelector(\"[data-testid='stHtml'] span\")")
    return f"() => {{ const shown = ({SHOWN_JS})(); return {IDLE_JS} && !!{drawn} && {want}; }}"


async def check(page, s: Session, all_markers: set[str]) -> None:
    if await page.locator("[data-testid='stException']").count():
        s.errors.append("exception: " + (await page.locator("[data-testid='stException']").first.inner_text())[:200])
    for alert in await page.locator("[data-testid='stAlertContentError']").all_inner_texts():
        s.errors.append("error: " + alert[:200])
    shown = set(await page.evaluate(SHOWN_JS))
    foreign = (shown & all_markers) - set(s.markers)
    if foreign:
        s.crosstalk.append(f"shows other sessions' words {sorted(foreign)}")
    missing = set(s.markers) - shown
    if missing and not s.errors:
        s.crosstalk.append(f"misses its own words {sorted(missing)}")


async def open_session(browser, url: str, s: Session, all_markers: set[str], timeout: float, errors: list) -> object:
    context = await browser.new_context(viewport={"width": 1300, "height": 900})
    page = await context.new_page()
    page.on("pageerror", lambda exc: s.errors.append(f"page error: {exc}"))
    params = {"model": s.model, ("attention_text" if s.page == "attention" else "mlm_text"): s.sentence}
    started = time.perf_counter()
    try:
        await page.goto(f"{url}/{s.page}?{urllib.parse.urlencode(params)}", timeout=timeout * 1000)
        await page.wait_for_function(ready_js(s.page, s.markers), timeout=timeout * 1000, polling=100)
        s.settle_s = time.perf_counter() - started
    except Exception as err:  # noqa: BLE001 - a timeout is a measured failure, not a crash of the bench
        s.errors.append(f"did not settle: {type(err).__name__}")
    await check(page, s, all_markers)
    return context, page


async def submit(page, s: Session, sentence: str, markers: tuple[str, str], all_markers: set[str],
                 delay: float, timeout: float) -> None:
    await asyncio.sleep(delay)
    s.markers, s.sentence, s.settle_s = markers, sentence, None
    try:
        box = page.locator(TEXT_BOX).first
        await box.fill(sentence, timeout=timeout * 1000)
        key = "Enter" if (await box.evaluate("e => e.tagName")) == "INPUT" else "Control+Enter"
        started = time.perf_counter()
        await box.press(key, timeout=timeout * 1000)
        await page.wait_for_function(ready_js("attention", markers), timeout=timeout * 1000, polling=50)
        s.settle_s = time.perf_counter() - started
    except Exception as err:  # noqa: BLE001 - a timeout is a measured failure, not a crash of the bench
        s.errors.append(f"did not redraw: {type(err).__name__}")
    await check(page, s, all_markers)


# A one-line box where Enter applies the text (older checkouts: a text area applied with Ctrl+Enter).
TEXT_BOX = "input[aria-label='Text (sentence A)'], textarea[aria-label='Text (sentence A)']"


def single_tokens(words: tuple[str, ...] | list[str]) -> list[str]:
    """The words MiniLM's WordPiece vocabulary keeps whole (so a heatmap tick shows exactly the word)."""
    from transformers import AutoTokenizer

    from bertexplore.registry import packaged_model_dir

    tokenizer = AutoTokenizer.from_pretrained(packaged_model_dir())
    return list(dict.fromkeys(w for w in words if tokenizer.tokenize(w) == [w]))


# ----------------------------------------------------------------------------------------- measuring
def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q * 100)) if values else float("nan")  # linear interpolation, as before


def summary(label: str, sessions: list[Session]) -> dict:
    settled = [s.settle_s for s in sessions if s.settle_s is not None]
    out = {
        "label": label, "sessions": len(sessions), "settled": len(settled),
        "errors": sum(bool(s.errors) for s in sessions), "crosstalk": sum(bool(s.crosstalk) for s in sessions),
        "p50_s": percentile(settled, 0.5), "p95_s": percentile(settled, 0.95), "max_s": max(settled, default=float("nan")),
    }
    print(f"{label}: {out['settled']}/{out['sessions']} settled, errors {out['errors']}, cross-talk {out['crosstalk']}, "
          f"p50 {out['p50_s']:.2f} s, p95 {out['p95_s']:.2f} s, max {out['max_s']:.2f} s")
    for s in sessions:
        for problem in s.errors + s.crosstalk:
            print(f"  session {s.index} ({s.page}, {s.model}): {problem}")
    return out


async def run(args) -> int:
    from playwright.async_api import async_playwright

    n = min(args.sessions, MAX_SESSIONS)
    work = Path(tempfile.mkdtemp(prefix="bench-sessions-"))
    models = work / "models"
    build_models(models)
    from bertexplore.registry import OFFLINE_MODEL

    rng = random.Random(args.seed)
    server = Server(models, work / "streamlit.log", args.torch_threads)
    try:
        server.wait_healthy()
        time.sleep(1.0)
        rss_before = server.rss()
        print(f"server pid {server.proc.pid}, RSS at start {rss_before / 2**20:.0f} MB; {n} sessions, mode {args.mode}; "
              f"browsers at {'nice 19' if args.nice_browsers else 'the same priority'}; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; "
              f"server torch threads {args.torch_threads or 'default'}")
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
            if args.nice_browsers:
                renice_browsers()  # the zygote too: renderers forked later inherit its priority
            sessions: list[Session] = []
            words = TINY_WORDS if args.mode == "open" else single_tokens(ENGLISH_WORDS)
            pairs = [tuple(words[2 * i:2 * i + 2]) for i in range(len(words) // 2)]
            need = n if args.mode == "open" else 2 * n
            if need > len(pairs):
                raise SystemExit(f"at most {len(pairs) if args.mode == 'open' else len(pairs) // 2} sessions in this "
                                 "mode (distinct words run out)")
            for i in range(n):
                a, b = pairs[i % len(pairs)]
                if args.mode == "open" and i % 2:
                    sessions.append(Session(i, "masked_lm", "tiny-mlm", (a, b), f"the {a} and the {b} sat on the [MASK] ."))
                else:
                    sessions.append(Session(i, "attention", OFFLINE_MODEL, (a, b), f"The {a} saw the {b} near the road."))
            all_markers = {m for s in sessions for m in s.markers}
            results = []
            batch = n if args.mode == "open" else args.open_batch  # issue 7 opens all at once; a class sits down first
            opened = []
            for start in range(0, n, batch):
                opened += await asyncio.wait_for(asyncio.gather(*[
                    open_session(browser, server.url, s, all_markers, args.timeout, [])
                    for s in sessions[start:start + batch]]), args.budget)
            rss_after_open = server.rss()
            if args.nice_browsers:
                renice_browsers()
            results.append(summary("open at once" if args.mode == "open" else "open (before the class submits)",
                                   sessions))
            if args.mode == "classroom":
                for s in sessions:
                    s.errors, s.crosstalk = [], []
                new_markers = pairs[n:2 * n]  # never anyone's old words either
                all_markers |= {m for pr in new_markers for m in pr}
                await asyncio.wait_for(asyncio.gather(*[
                    submit(page, s, f"A {a} and a {b} were in the picture.", (a, b), all_markers,
                           rng.uniform(0, args.spread), args.timeout)
                    for (context, page), s, (a, b) in zip(opened, sessions, new_markers)]), args.budget)
                results.append(summary(f"new sentence submitted by all within {args.spread:.0f} s → own heatmap",
                                       sessions))
            rss_after = server.rss()
            for context, _ in opened:
                await context.close()
            await browser.close()
        time.sleep(args.close_wait)
        rss_closed = server.rss()
        print(f"server RSS: start {rss_before / 2**20:.0f} MB, after opening {rss_after_open / 2**20:.0f} MB, "
              f"after the actions {rss_after / 2**20:.0f} MB, peak {server.peak / 2**20:.0f} MB, "
              f"{args.close_wait:.0f} s after closing every tab {rss_closed / 2**20:.0f} MB")
    finally:
        server.stop()
    if args.lock_probe:
        sentences = [s.sentence for s in sessions if s.page == "attention"] or ["The cat sat on the mat."]
        for threads, held, rerun in work_probe(sentences):
            print(f"torch threads {threads}: one Attention forward (what holds the model lock) {held * 1e3:.0f} ms, "
                  f"one whole page rerun {rerun * 1e3:.0f} ms (the forward is {held / rerun:.0%} of it); "
                  f"{n} submits: {n * held:.1f} s behind the lock, {n * rerun:.1f} s of server work in all")
    shutil.rmtree(work, ignore_errors=True)
    bad = sum(r["errors"] + r["crosstalk"] for r in results)
    return 1 if bad else 0


async def run_shared(args) -> int:
    """Modes same / distinct (issue 19 §1): forwards and memory of N sessions on one text or on N texts."""
    from playwright.async_api import async_playwright

    from bertexplore.registry import OFFLINE_MODEL

    n = min(args.sessions, MAX_SESSIONS)
    work = Path(tempfile.mkdtemp(prefix="bench-sessions-"))
    (work / "models").mkdir()
    server = Server(work / "models", work / "streamlit.log", args.torch_threads, args.ttl)
    words = single_tokens(ENGLISH_WORDS)
    pairs = [tuple(words[2 * i:2 * i + 2]) for i in range(len(words) // 2)]
    if args.mode == "distinct" and n > len(pairs):
        raise SystemExit(f"at most {len(pairs)} sessions in this mode (distinct words run out)")
    long_text = " ".join(f"The {a} saw the {b} near the road." for a, b in pairs * 2)  # cut at 512 tokens
    bad = 0
    try:
        server.wait_healthy()
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
            primer = Session(-1, "attention", OFFLINE_MODEL, ("cat",), "The cat sat on the mat.")
            context, _ = await open_session(browser, server.url, primer, set(), args.timeout, [])
            await context.close()
            if args.nice_browsers:
                renice_browsers()
            base = server.stats()
            rss_base = server.rss()
            print(f"server pid {server.proc.pid}, RSS with the model loaded {rss_base / 2**20:.0f} MB; {n} sessions, "
                  f"mode {args.mode}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
            if args.mode == "same":
                sessions = [Session(i, "attention", OFFLINE_MODEL, (), long_text) for i in range(n)]
            elif args.long:  # N different 512-token texts: the memory one session costs (ticks too thin to check)
                sessions = [Session(i, "attention", OFFLINE_MODEL, (), f"{pairs[i][0]} {pairs[i][1]}. " + long_text)
                            for i in range(n)]
            else:
                sessions = [Session(i, "attention", OFFLINE_MODEL, pairs[i], f"The {pairs[i][0]} saw the "
                                    f"{pairs[i][1]} near the road.") for i in range(n)]
            all_markers = {m for s in sessions for m in s.markers}
            opened = await asyncio.wait_for(asyncio.gather(*[
                open_session(browser, server.url, s, all_markers, args.timeout, []) for s in sessions]), args.budget)
            results = [summary(f"{n} sessions open at once ({args.mode})", sessions)]
            after_open = server.stats()
            rss_open = server.rss()
            for s in sessions:
                s.errors, s.crosstalk = [], []

            async def reload(page, s: Session) -> None:  # a second action: the page rerun from the URL
                s.settle_s, started = None, time.perf_counter()
                try:
                    await page.reload(timeout=args.timeout * 1000)
                    await page.wait_for_function(ready_js("attention", s.markers), timeout=args.timeout * 1000,
                                                 polling=100)
                    s.settle_s = time.perf_counter() - started
                except Exception as err:  # noqa: BLE001 - measured, not fatal
                    s.errors.append(f"did not redraw after reload: {type(err).__name__}")
                await check(page, s, all_markers)

            if args.mode == "distinct" and not args.long:  # a 512-token text does not travel in the link
                await asyncio.wait_for(asyncio.gather(*[reload(page, s) for (_, page), s in zip(opened, sessions)]),
                                       args.budget)
                results.append(summary("each session reloaded", sessions))
            after_reload = server.stats()
            for context, _ in opened:
                await context.close()
            await browser.close()
        forwards = after_open.get("forwards", 0) - base.get("forwards", 0)
        again = after_reload.get("forwards", 0) - after_open.get("forwards", 0)
        trace = after_open.get("largest_trace_bytes", 0)
        growth = rss_open - rss_base
        want = 1 if args.mode == "same" else n
        print(f"forwards for the {n} sessions: {forwards} (target {want}); after the reloads: {again} more (target 0)")
        print(f"memo: {after_open.get('memo_bytes', 0) / 2**20:.1f} MB in {after_open.get('entries')} entries, "
              f"{after_open.get('trace_entries')} traces ({after_open.get('trace_bytes', 0) / 2**20:.1f} MB); "
              f"one trace {trace / 2**20:.1f} MB; by kind (MB): "
              + ", ".join(f"{k} {v / 2**20:.1f}" for k, v in after_open.get("bytes_by_kind", {}).items()))
        print(f"server budget for the memo {int(os.environ.get('BERTEXPLORE_MEMO_SERVER_MB', 2048))} MB; "
              f"peak growth per session {(server.peak - rss_base) / n / 2**20:.0f} MB")
        print(f"server RSS growth for {n} sessions: {growth / 2**20:.0f} MB = "
              f"{growth / trace if trace else float('nan'):.2f} x one trace"
              + (" (target <= 1.2)" if args.mode == "same" else "") + f"; peak {server.peak / 2**20:.0f} MB")
        wait = (args.ttl or 120) + 2 * 5 + 5  # BERTEXPLORE_SWEEP_S=5 in the server
        print(f"tabs closed; waiting {wait:.0f} s (reconnect time {args.ttl or 120:.0f} s + two sweeps)...")
        time.sleep(wait)
        closed = server.stats()
        print(f"after close: server RSS {server.rss() / 2**20:.0f} MB (with the model loaded {rss_base / 2**20:.0f} "
              f"MB), memo {closed.get('memo_bytes', 0) / 2**20:.1f} MB in {closed.get('entries')} entries")
        bad = sum(r["errors"] + r["crosstalk"] for r in results) + (forwards != want) + (again != 0)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 1 if bad else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=("open", "classroom", "same", "distinct"), default="open")
    parser.add_argument("--sessions", type=int, default=None, help="default: 10 (open), 30 (classroom); at most 50")
    parser.add_argument("--timeout", type=float, default=180, help="seconds one session may take to settle")
    parser.add_argument("--budget", type=float, default=600, help="seconds for each phase of the whole run")
    parser.add_argument("--spread", type=float, default=3.0, help="classroom: submits spread over this many seconds")
    parser.add_argument("--close-wait", type=float, default=10.0, help="seconds to wait after closing the tabs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--long", action="store_true", help="distinct: 512-token texts (memory per session)")
    parser.add_argument("--ttl", type=float, default=None,
                        help="server.disconnectedSessionTTL for the server (default: Streamlit's 120 s)")
    parser.add_argument("--torch-threads", type=int, default=None,
                        help="OMP_NUM_THREADS for the server (default: torch's own choice)")
    parser.add_argument("--open-batch", type=int, default=5, help="classroom: sessions opened together before the test")
    parser.add_argument("--no-lock-probe", dest="lock_probe", action="store_false")
    parser.add_argument("--nice-browsers", action="store_true",
                        help="lower the browsers' CPU priority below the server's (on a machine nobody else uses: "
                             "in a classroom the browsers run on the students' machines)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so `finally` stops the server on kill
    if args.sessions is None:
        args.sessions = 10 if args.mode == "open" else 30
    if args.mode in ("same", "distinct"):
        return asyncio.run(run_shared(args))
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
