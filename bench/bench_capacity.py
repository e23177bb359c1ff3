"""Classroom capacity, measured where the server's cost is: the server process's own CPU seconds per interaction.

Thirty Chromium tabs on the server's two cores measure the browsers, not the server. So this bench reads the app
server's CPU time (user + system, psutil, the server process only) around each kind of interaction, with the
browsers at the lowest priority (nice 19), for each torch thread count asked for (OMP_NUM_THREADS). From those
costs: how many students one core serves at a given think time. Then, optionally, a load run: `--students N`
students whose actions arrive at the rate N students at `--think` seconds produce, played by at most `--tabs` live
browser tabs (students come and go, spread over time), on loopback only, self-stopping at `--duration` seconds or
when every student has done its actions; measured: what each student waits from its input to its result drawn.

Interactions (each by every session, `--rounds` times; the server's CPU over the phase, less its idle rate with
the same sessions connected, divided by the number of interactions):
  page open     a new tab opens the app (Home)
  Enter         a new sentence typed into Attention (one forward + the heatmap)
  layer change  the Layer slider one step on Attention (no forward: a new figure from the trace)
  mask click    a token clicked on Masked-LM (masked-LM predictions for it)
  Inside step   the next step of Inside BERT (Learn)
  analysis tab  the next tab of the Analysis lab

The model is the packaged all-MiniLM-L6-v2 with a masked-LM head (as bench_latency), or with --bert-base a random
masked-LM of bert-base-uncased's shape (12 layers, hidden 768: the cost of the real one). Also `--memory`: resident
memory of one app process with a random bert-base-shaped model and the classroom pack's five models (random weights
with each checkpoint's shape; no hub access needed) and one 512-token trace.

Run: python -m bench.bench_capacity --sessions 4 --threads 1,2 --rounds 2
     python -m bench.bench_capacity --threads 2 --rounds 0 --students 30 --think 20 --tabs 6 --duration 240
     python -m bench.bench_capacity --memory
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

from bench import bench_latency
from bench.bench_latency import SHORT, Server, build_models_dir, machine, query
from bench.browser import CHROMIUM_ARGS, chromium_path

ROOT = Path(__file__).resolve().parent.parent
MODEL = bench_latency.MODEL
BERT_BASE = "bert-base-shaped"  # --bert-base: random weights with bert-base-uncased's shape, timing only
MAX_TABS = 12  # live browser tabs at once, whatever --students says: the browsers must not starve the server
WORDS = ("cat dog river table garden window teacher student morning evening mountain city music paper bridge "
         "forest kitchen letter market station").split()

# Input event → the page's last change for it painted: the time of the last DOM mutation in the main area after the
# input, once the app's script state is notRunning and nothing has changed for 400 ms (1.5 s when no script run was
# seen: a fragment rerun can be over within one render, so the script state alone may never be seen running).
HARNESS = r"""
() => {
  const app = document.querySelector("[data-testid='stApp']");
  const main = document.querySelector("[data-testid='stMain']") || document.body;
  const L = window.__cap = {t0: null, last: null, t1: null, seen: false};
  const onInput = (e) => {
    if (L.t0 !== null) return;
    if (e.type === 'keydown' && !['Enter', 'ArrowRight', 'ArrowLeft'].includes(e.key)) return;
    L.t0 = e.timeStamp;
  };
  for (const t of ['pointerdown', 'keydown']) window.addEventListener(t, onInput, {capture: true});
  const obs = new MutationObserver(() => { if (L.t0 !== null) L.last = performance.now(); });
  obs.observe(main, {subtree: true, childList: true, attributes: true, characterData: true});
  const run = new MutationObserver(() => {
    if (L.t0 !== null && app.getAttribute('data-test-script-state') === 'running') L.seen = true;
  });
  run.observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
  const tick = () => {
    const now = performance.now();
    // quiet for 400 ms after a script run was seen, or for 1.5 s if the run was too short to be seen
    if (L.last !== null && now - L.last > (L.seen ? 400 : 1500)
        && app.getAttribute('data-test-script-state') === 'notRunning') {
      run.disconnect();
      obs.disconnect(); L.t1 = L.last; return;
    }
    if (L.t0 !== null && L.last === null && now - L.t0 > 10000) { obs.disconnect(); run.disconnect(); L.t1 = -1; return; }
    setTimeout(tick, 50);
  };
  tick();
}
"""
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"


def sentence(i: int) -> str:
    rng = random.Random(i)
    return f"The {rng.choice(WORDS)} near the {rng.choice(WORDS)} was seen by student {i} this {rng.choice(WORDS)}."


def server_cpu(server: Server) -> float:
    times = psutil.Process(server.proc.pid).cpu_times()
    return times.user + times.system


def niced_chromium(folder: Path) -> str:
    """A launcher that runs the system Chromium at nice 19: its renderers inherit it."""
    exe = chromium_path()
    if exe is None:
        raise SystemExit("bench_capacity needs a system Chromium (scripts/setup.sh dev installs one)")
    path = folder / "chromium-nice"
    path.write_text(f'#!/bin/sh\nexec nice -n 19 "{exe}" "$@"\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def renice_helpers(keep: set[int]) -> None:
    """Playwright's driver (node) is a child of this process: lowest priority too, as the browsers."""
    for child in psutil.Process().children(recursive=True):
        if child.pid not in keep:
            try:
                child.nice(19)
            except psutil.Error:
                pass


async def idle(page, timeout: float = 120_000) -> None:
    for _ in range(3):
        await page.wait_for_selector(IDLE, timeout=timeout)
        await page.wait_for_timeout(250)
        if await page.locator(IDLE).count():
            return


async def timed(page, action, timeout: float = 120_000) -> float | None:
    """Seconds from the input `action` makes to its rerun ended and painted; None if it started no rerun."""
    await page.evaluate(HARNESS)
    await action()
    # t1 = -1: nothing changed within 10 s of the input (the click hit the value already shown)
    await page.wait_for_function("window.__cap.t1 !== null", timeout=timeout, polling=50)
    t0, t1 = await page.evaluate("[window.__cap.t0, window.__cap.t1]")
    if t1 < 0:
        return None
    await idle(page)
    return (t1 - t0) / 1000 if t0 is not None else None


class Student:
    """One browser tab; `step` does the next action of a kind and returns the wait the student saw."""

    def __init__(self, browser, server: Server, i: int):
        self.browser, self.server, self.i, self.n = browser, server, i, 0
        self.context = self.page = None

    async def open(self, path: str) -> float:
        if self.context is None:
            self.context = await self.browser.new_context(viewport={"width": 1300, "height": 900})
            self.page = await self.context.new_page()
        start = time.perf_counter()
        await self.page.goto(self.server.url + path, timeout=180_000)
        await idle(self.page)
        if await self.page.locator("[data-testid='stException']").count():
            raise RuntimeError(f"exception on {path}: " + await self.page.locator("[data-testid='stException']").first.inner_text())
        return time.perf_counter() - start

    async def close(self) -> None:
        if self.context is not None:
            await self.context.close()
        self.context = self.page = None

    async def setup(self, kind: str) -> None:
        text = sentence(1000 + self.i)
        await self.open({
            "Enter": "/attention" + query(model=MODEL, attention_text=text),
            "layer change": "/attention" + query(model=MODEL, attention_text=text),
            "mask click": "/masked_lm" + query(model=MODEL, mlm_text=SHORT),
            "Inside step": "/inside_bert" + query(model=MODEL, inside_text=text, inside_step=1),
            "analysis tab": "/analysis" + query(model=MODEL, an_text=text.replace("seen", "[MASK]")),
        }[kind])

    async def step(self, kind: str) -> float | None:
        self.n += 1
        page = self.page
        if kind == "Enter":
            box = page.locator("input[aria-label='Text (sentence A)'], textarea[aria-label='Text (sentence A)']").first
            await box.fill(sentence(self.i * 1000 + self.n))
            key = "Enter" if await box.evaluate("e => e.tagName") == "INPUT" else "Control+Enter"
            return await timed(page, lambda: box.press(key))
        if kind == "layer change":
            thumb = page.locator("[data-testid='stSlider'] input[type='range'][aria-label='Layer']").first
            await thumb.focus()
            at_first = await thumb.evaluate("e => Number(e.value) <= Number(e.min)")
            return await timed(page, lambda: page.keyboard.press("ArrowRight" if at_first else "ArrowLeft"))
        if kind == "mask click":
            pills = page.locator("[data-testid='stButtonGroup']").first.locator("button")
            pill = pills.nth(1 + self.n % max(1, await pills.count() - 2))
            took = await timed(page, pill.click)
            await pill.click()  # unmask again (not counted: the phase's CPU is divided by both clicks)
            await idle(page)
            return took
        if kind == "Inside step":  # the next of the first six steps
            radio = page.locator("[data-testid='stMain'] [data-testid='stRadio']").first
            options = radio.locator("label:has(input)")
            count = min(6, await options.count())
            now = await radio.locator("input").evaluate_all("xs => xs.findIndex(x => x.checked)")
            return await timed(page, options.nth((now + 1) % count).click)
        if kind == "analysis tab":  # the next of the first three tabs
            tabs = page.get_by_role("tab")
            now = await tabs.evaluate_all("xs => xs.findIndex(x => x.getAttribute('aria-selected') === 'true')")
            return await timed(page, tabs.nth((now + 1) % 3).click)
        raise ValueError(kind)


# Clicks per counted interaction: a mask click is followed by the unmask click that restores the page.
CLICKS = {"mask click": 2}


async def measure_costs(browser, server: Server, sessions: int, rounds: int) -> dict[str, tuple[float, list[float]]]:
    """{interaction: (server CPU seconds per interaction, the waits the students saw)}."""
    students = [Student(browser, server, i) for i in range(sessions)]
    out: dict[str, tuple[float, list[float]]] = {}
    first = Student(browser, server, -1)  # the first visit loads the model (once per server): not a page's cost
    await first.open("/" + query(model=MODEL))
    await first.close()
    await asyncio.sleep(2.0)
    cpu0, t0 = server_cpu(server), time.perf_counter()
    waits = [await s.open("/" + query(model=MODEL)) for s in students]
    out["page open"] = ((server_cpu(server) - cpu0) / sessions, waits)
    print(f"  {'page open':<14} {out['page open'][0] * 1000:7.1f} ms server CPU per interaction; student median "
          f"{np.median(waits):.3f} s", flush=True)
    for kind in ("Enter", "layer change", "mask click", "Inside step", "analysis tab"):
        for s in students:
            await s.setup(kind)
        await asyncio.sleep(1.0)
        cpu0, t0 = server_cpu(server), time.perf_counter()
        await asyncio.sleep(3.0)
        idle_rate = (server_cpu(server) - cpu0) / (time.perf_counter() - t0)
        waits, done = [], 0
        cpu0, t0 = server_cpu(server), time.perf_counter()
        for _ in range(rounds):
            for s in students:
                took = await s.step(kind)
                done += CLICKS.get(kind, 1) if took is not None else 0
                if took is not None:
                    waits.append(took)
        raw, wall = server_cpu(server) - cpu0, time.perf_counter() - t0
        spent = raw - idle_rate * wall
        out[kind] = (spent / max(done, 1) * CLICKS.get(kind, 1), waits)
        print(f"  {kind:<14} {out[kind][0] * 1000:7.1f} ms server CPU per interaction; student median "
              f"{np.median(waits) if waits else float('nan'):.3f} s (n={len(waits)}; phase: {raw:.2f} s CPU in {wall:.1f} s, "
              f"idle rate {idle_rate * 100:.1f}% of a core)", flush=True)
    for s in students:
        await s.close()
    return out


async def load_run(browser, server: Server, students: int, think: float, tabs: int, actions: int,
                   duration: float) -> tuple[list[float], float, float]:
    """`students` students at `think` s, played by at most `tabs` tabs: each tab acts every think*tabs/students s
    on average (exponential), so the server sees the students' action rate. Returns (waits, CPU s, wall s)."""
    tabs = min(tabs, students, MAX_TABS)
    gap = think * tabs / students
    waits: list[float] = []
    deadline = time.perf_counter() + duration
    cpu0, t0 = server_cpu(server), time.perf_counter()
    queue = list(range(students))

    async def tab(slot: int) -> None:
        rng = random.Random(slot)
        await asyncio.sleep(rng.uniform(0, gap))  # arrivals spread, not all at once
        while queue and time.perf_counter() < deadline:
            student = Student(browser, server, queue.pop(0))
            try:
                await student.setup("Enter")
                for n in range(actions):
                    await asyncio.sleep(rng.expovariate(1 / gap))
                    if time.perf_counter() > deadline:
                        break
                    took = await student.step("Enter" if n % 3 == 0 else "layer change")
                    if took is not None:
                        waits.append(took)
            except Exception as exc:  # noqa: BLE001 - a timed-out student is counted, the run goes on
                failures.append(f"student {student.i}: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}")
            finally:
                await student.close()

    failures: list[str] = []
    await asyncio.gather(*(tab(k) for k in range(tabs)))
    for failure in failures:
        print("  failed:", failure, flush=True)
    return waits, server_cpu(server) - cpu0, time.perf_counter() - t0


def queue_p95(costs: list[float], students: int, think: float, servers: int = 1, actions: int = 200_000,
              seed: int = 0) -> tuple[float, float]:
    """(median, p95) of the server-side time an action takes, queueing included: `students` acting every `think` s
    on average (Poisson arrivals), each action one of `costs` (CPU seconds, equal shares), served first come first
    served by `servers` workers. One app process runs its Python one action at a time (the GIL): servers=1 is the
    conservative model of one replica; torch's own threads shorten the forwards inside the costs measured."""
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(think / students, actions))
    service = rng.choice(np.asarray(costs), actions)
    free = np.zeros(servers)
    waits = np.empty(actions)
    for i in range(actions):
        k = int(np.argmin(free))
        start = max(arrivals[i], free[k])
        free[k] = start + service[i]
        waits[i] = free[k] - arrivals[i]
    return float(np.median(waits)), float(np.percentile(waits, 95))


def build_bert_base(models: Path) -> None:
    """A masked-LM with bert-base-uncased's shape and random weights (the hub is out of reach here), with the
    packaged MiniLM's tokenizer (the same bert-base-uncased WordPiece vocabulary)."""
    from transformers import AutoTokenizer, BertConfig, BertForMaskedLM

    from bertexplore.registry import packaged_model_dir

    BertForMaskedLM(BertConfig(vocab_size=30522)).save_pretrained(models / BERT_BASE)
    AutoTokenizer.from_pretrained(packaged_model_dir()).save_pretrained(models / BERT_BASE)


def memory_report() -> None:
    """Resident memory of one fresh app-engine process: imports, then the classroom pack's models one by one."""
    code = r'''
import os, sys, tempfile, gc
from pathlib import Path
import psutil
proc = psutil.Process()
rss = lambda: proc.memory_info().rss / 2**20
uss = lambda: proc.memory_full_info().uss / 2**20  # not shared with other processes (file pages excluded)
base0 = rss()
import streamlit, torch, transformers, plotly  # the server's imports
from transformers import (BertConfig, DistilBertConfig, BertForPreTraining, BertForTokenClassification,
                          BertForQuestionAnswering, DistilBertForSequenceClassification)
from bertexplore.loading import LoadedModel
from bertexplore.trace import run_trace
from bertexplore.registry import packaged_model_dir
print(f"imports (python, torch, transformers, streamlit, plotly): {rss():.0f} MiB", flush=True)
pack = [
    ("bert-base-uncased (pre-training heads)", BertForPreTraining, BertConfig(vocab_size=30522)),
    ("distilbert-base-uncased-finetuned-sst-2-english", DistilBertForSequenceClassification, DistilBertConfig(vocab_size=30522, num_labels=2)),
    ("dslim/bert-base-NER", BertForTokenClassification, BertConfig(vocab_size=28996, num_labels=9)),
    ("deepset/bert-base-cased-squad2", BertForQuestionAnswering, BertConfig(vocab_size=28996)),
    ("bert-base-chinese", BertForPreTraining, BertConfig(vocab_size=21128)),
]
root = Path(tempfile.mkdtemp())
kept = []
for i, (name, cls, cfg) in enumerate(pack):
    cfg._attn_implementation = "eager"
    folder = root / str(i)
    cls(cfg).save_pretrained(folder)  # random weights, the checkpoint's shape, as a file like a download
    gc.collect()
    before = rss()
    kept.append(cls.from_pretrained(folder, attn_implementation="eager").eval())
    with torch.no_grad():  # a first use touches every weight (safetensors are memory-mapped until then)
        kept[-1](input_ids=torch.ones(1, 16, dtype=torch.long))
    gc.collect()
    print(f"+ {name}: {sum(p.numel() for p in kept[-1].parameters()) / 1e6:.0f} M parameters, +{rss() - before:.0f} MiB "
          f"-> {rss():.0f} MiB resident, {uss():.0f} MiB unique", flush=True)
    if i == 0:
        from transformers import AutoTokenizer
        tok = AutoTokenizer.from_pretrained(packaged_model_dir())  # the bert-base-uncased WordPiece vocabulary
        loaded = LoadedModel.wrap(kept[0], tok, "bert-base-shaped", str(folder), "pretraining")
        before = rss()
        trace = run_trace(loaded, " ".join(["word"] * 600))
        print(f"+ one 512-token trace on it (kept, as a session shows it): +{rss() - before:.0f} MiB "
              f"({trace.attentions.nbytes / 2**20:.0f} MiB of attention patterns) -> {rss():.0f} MiB", flush=True)
        del trace
        gc.collect()
print(f"all five models loaded and used once: {rss():.0f} MiB resident, {uss():.0f} MiB unique", flush=True)
'''
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    subprocess.run([sys.executable, "-c", code], env=env, check=True)


async def main_async(args) -> None:
    from playwright.async_api import async_playwright

    results: dict[int, dict[str, tuple[float, list[float]]]] = {}
    loads: dict[int, tuple[list[float], float, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-capacity-") as tmp:
        tmp = Path(tmp)
        models = build_models_dir(tmp)
        if args.bert_base:
            build_bert_base(models)
            global MODEL
            MODEL = BERT_BASE
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=niced_chromium(tmp), headless=True, args=CHROMIUM_ARGS)
            for threads in args.threads:
                server = Server(ROOT, models, env={"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)})
                server.start()
                renice_helpers(keep={server.proc.pid})
                try:
                    print(f"\ntorch threads {threads}: server pid {server.proc.pid}, load {os.getloadavg()[0]:.1f}", flush=True)
                    if args.rounds:
                        results[threads] = await measure_costs(browser, server, args.sessions, args.rounds)
                        print(f"  ({threads} torch threads: " + ", ".join(
                            f"{k} {v[0] * 1000:.0f} ms" for k, v in results[threads].items()) + ")", flush=True)
                    if args.students:
                        loads[threads] = await load_run(browser, server, args.students, args.think, args.tabs,
                                                        args.actions, args.duration)
                        waits, cpu, wall = loads[threads]
                        print(f"  load run: {args.students} students at {args.think:g} s think time, {len(waits)} actions "
                              f"in {wall:.0f} s, server CPU {cpu / wall * 100:.0f}% of a core", flush=True)
                finally:
                    server.stop()
            await browser.close()

    load = os.getloadavg()
    print(f"\n{machine()}; load average at end {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    if results:
        print("\n| interaction | " + " | ".join(f"{t} torch thread{'s' if t > 1 else ''}: server CPU per interaction "
                                               f"/ student median (p95)" for t in results) + " |")
        print("|---|" + "---|" * len(results))
        kinds = list(next(iter(results.values())))
        for kind in kinds:
            cells = []
            for t in results:
                cpu, waits = results[t][kind]
                cells.append(f"{cpu * 1000:.0f} ms / {np.median(waits):.2f} s ({np.percentile(waits, 95):.2f} s)"
                             if waits else f"{cpu * 1000:.0f} ms / –")
            print(f"| {kind} | " + " | ".join(cells) + " |")
        # A student's action: the mean of the interactions above except opening the page (once per lesson).
        print(f"\nstudents one core serves (its CPU {args.utilisation:.0%} busy: queues stay short), a student acting "
              "every T seconds on average, the actions above in equal shares:")
        for t in results:
            mean = np.mean([results[t][k][0] for k in kinds if k != "page open"])
            row = ", ".join(f"T = {think:g} s: {args.utilisation * think / mean:.0f}" for think in (10, 20, 30, 60))
            print(f"  {t} torch thread(s): {mean * 1000:.0f} ms CPU per action → {row}")
        print("\nmodelled server-side time per action (queueing included; one replica runs one action at a time):")
        for t in results:
            costs = [results[t][k][0] for k in kinds if k != "page open"]
            for n in (30, 100):
                cells = []
                for think in (10, 30):
                    if n * np.mean(costs) / think >= 0.98:
                        cells.append(f"T = {think:g} s: overloaded ({n * np.mean(costs) / think:.0%} of a core)")
                        continue
                    med, p95 = queue_p95(costs, n, think)
                    cells.append(f"T = {think:g} s: median {med:.2f} s, p95 {p95:.2f} s")
                print(f"  {t} torch thread(s), {n} students: " + "; ".join(cells))
    for t, (waits, cpu, wall) in loads.items():
        if waits:
            print(f"\nload run, {t} torch thread(s): {args.students} students at {args.think:g} s think time "
                  f"(≤ {min(args.tabs, MAX_TABS)} tabs at once): wait median {np.median(waits):.2f} s, p95 "
                  f"{np.percentile(waits, 95):.2f} s over {len(waits)} actions; {len(waits) / wall:.2f} actions/s "
                  f"(the students' rate: {args.students / args.think:.2f}/s); server CPU {cpu / wall:.2f} cores")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=4, help="tabs open at once while the costs are measured")
    parser.add_argument("--threads", default="1,2", help="torch thread counts to measure, comma-separated")
    parser.add_argument("--rounds", type=int, default=2, help="each interaction per session (0: skip the costs)")
    parser.add_argument("--students", type=int, default=0, help="load run: students (0: none)")
    parser.add_argument("--think", type=float, default=30.0, help="load run: a student's mean think time, seconds")
    parser.add_argument("--tabs", type=int, default=6, help=f"load run: live tabs at once (at most {MAX_TABS})")
    parser.add_argument("--actions", type=int, default=4, help="load run: actions per student")
    parser.add_argument("--duration", type=float, default=300.0, help="load run: stops after this many seconds")
    parser.add_argument("--utilisation", type=float, default=0.7)
    parser.add_argument("--memory", action="store_true", help="only the memory report")
    parser.add_argument("--bert-base", action="store_true",
                        help="measure with a random bert-base-shaped masked-LM instead of the packaged MiniLM")
    args = parser.parse_args()
    args.threads = [int(t) for t in args.threads.split(",") if t.strip()]
    if not 1 <= args.sessions <= MAX_TABS:
        raise SystemExit(f"--sessions: 1 to {MAX_TABS}")
    load = os.getloadavg()
    print(machine(), f"\nload average at start: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}", flush=True)
    if args.memory:
        memory_report()
        return
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
