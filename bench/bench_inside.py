"""Inside BERT's cost on a random bert-base-shaped pre-training model (BertConfig() defaults), CPU, 128 tokens.

1. the page's trace (every step of every layer recorded) vs a plain forward of the same model;
2. everything the eight steps compute beyond that trace (hand recomputations, the padding experiment's one padded
   row, the masked-LM sample and the next-sentence pairs in ONE forward with labels), in units of one plain forward
   [issue: ≤ 2];
3. compression, on its button: float32 vs bfloat16 vs int8 (torch.ao dynamic quantization) size, forward time and agreement.

Run: python -m bench.bench_inside [--runs 5] [--tokens 128]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402
from transformers import AutoTokenizer, BertConfig, BertForPreTraining  # noqa: E402

from bertexplore import anatomy  # noqa: E402
from bertexplore.inside.attention_step import head_step, mix_step  # noqa: E402
from bertexplore.inside.compression import compression_report  # noqa: E402
from bertexplore.inside.embeddings_step import embedding_step_from_trace  # noqa: E402
from bertexplore.inside.heads_step import mlm_head_step, pooler_step, task_head_step  # noqa: E402
from bertexplore.inside.layer_step import ffn_step, residual_flow_from_trace  # noqa: E402
from bertexplore.inside.masking import causal_what_if, padding_experiment  # noqa: E402
from bertexplore.inside.practical import long_text_windows, softmax_vs_sigmoid  # noqa: E402
from bertexplore.inside.pretraining import (NSP_SENTENCES, nsp_pairs, pretraining_forward, sample_masking,  # noqa: E402
                                            split_sentences)
from bertexplore.inside.tokens_step import token_step  # noqa: E402
from bertexplore.inside.walk import embedding_weights, layer_weights, trace_names  # noqa: E402
from bertexplore.loading import forward_count, load_model  # noqa: E402
from bertexplore.registry import packaged_model_dir  # noqa: E402
from bertexplore.trace import apply_masks, trace_tokens  # noqa: E402


def text_of(tokenizer, n_tokens: int) -> str:
    sentences = ("The cat sat on the mat and looked at the dog. The keys to the cabinet are on the table. " * 40)
    ids = tokenizer(sentences, add_special_tokens=False)["input_ids"][: n_tokens - 2]
    return tokenizer.decode(ids)


def page_work(loaded, trace, inputs, layer: int = 5, head: int = 3, token: int = 4) -> dict[str, float]:
    """What the eight steps compute from the trace, and their own extra forwards; seconds per part."""
    tok = loaded.tokenizer
    parts: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        parts[name] = parts.get(name, 0.0) + now - clock
        clock = now

    token_step(tok, inputs)
    embedding_step_from_trace(trace, embedding_weights(loaded))
    anatomy.recompute_embeddings(trace, loaded)
    p = f"blocks.{layer}."
    lw = layer_weights(loaded, layer)
    head_step(trace[p + "attn.q"], trace[p + "attn.k"], trace[p + "attn.v"], layer, head, token,
              model_scores=trace[p + "attn.scores"], model_pattern=trace[p + "attn.pattern"], model_z=trace[p + "attn.z"])
    mix_step(trace[p + "attn.z"], token, lw.o_w, lw.o_b, model_out=trace[p + "attn.out"])
    if p + "attn.head_out" in trace:
        anatomy.recompute_layer(trace, loaded, layer)
    lap("hand recomputations (steps 1-6)")
    alone = [trace["embed.out"]] + [trace[f"blocks.{l}.normalized_resid_post"] for l in range(trace.num_layers)]
    padding_experiment(loaded, trace.inputs, alone)
    lap("padding experiment: one padded row")
    causal_what_if(trace[p + "attn.scores"][head], trace[p + "attn.pattern"][head])
    residual_flow_from_trace(trace, trace.num_layers)
    ffn_step(trace[p + "normalized_resid_mid"], lw.ffn_in_w, lw.ffn_in_b, lw.ffn_out_w, lw.ffn_out_b, lw.activation, token,
             model_pre=trace[p + "mlp.pre"], model_post=trace[p + "mlp.post"], model_out=trace[p + "mlp.out"])
    last = trace[f"blocks.{trace.num_layers - 1}.normalized_resid_post"]
    mlm_head_step(loaded, last, trace.mask_positions, trace["mlm.log_probs"] if "mlm.log_probs" in trace else None)
    pooled = pooler_step(loaded, last, trace["pooler.out"])
    task_head_step(loaded, last, pooled.pooled, {"nsp.logits": trace["nsp.logits"]})
    lap("hand recomputations (steps 1-6)")
    sample = sample_masking(inputs, tok.mask_token_id, len(tok), set(tok.all_special_ids), seed=0)
    pretraining_forward(loaded, inputs, sample, nsp_pairs(split_sentences(inputs.text)[:NSP_SENTENCES], seed=0))
    lap("masked-LM sample with labels (+ pairs: in its forward, or apart)")
    long_text_windows(loaded, inputs.text, 32, 8)
    softmax_vs_sigmoid(("IsNext", "NotNext"), trace["nsp.logits"], 0.5)
    lap("hand recomputations (steps 1-6)")
    return parts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=128)
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    folder = Path(tempfile.mkdtemp(prefix="bench-inside-"))
    os.environ["BERTEXPLORE_ALLOWED_DIRS"] = str(folder)  # the app opens local folders only where allowed
    try:
        run(folder, args)
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # 440 MB of random weights


def run(folder: Path, args) -> None:
    torch.manual_seed(0)
    BertForPreTraining(BertConfig()).save_pretrained(folder)
    AutoTokenizer.from_pretrained(packaged_model_dir()).save_pretrained(folder)  # the bert-base-uncased vocabulary
    loaded = load_model(str(folder), head="pretraining", device="cpu")
    text = text_of(loaded.tokenizer, args.tokens)
    inputs = loaded.tokenize(text)
    masked = apply_masks(loaded, inputs, (5, 17))
    names = trace_names(loaded, len(inputs))
    batch = loaded.model_inputs(masked.input_ids, masked.segment_ids)

    def plain() -> None:
        loaded.forward(batch)

    def traced():
        return trace_tokens(loaded, masked, names=names)

    plain(), traced()  # warm-up
    t_plain, t_trace, parts = [], [], []
    trace = traced()
    page_work(loaded, trace, inputs)  # warm-up: weights read once per process
    for _ in range(args.runs):
        for fn, times in ((plain, t_plain), (traced, t_trace)):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        before = forward_count()
        parts.append(page_work(loaded, trace, inputs))
        forwards = forward_count() - before
    fwd = statistics.median(t_plain)
    total = statistics.median(sum(p.values()) for p in parts)
    print(f"machine: {os.cpu_count()} CPU cores, torch {torch.__version__}, {len(inputs)} tokens, bert-base shape")
    print(f"plain forward (masked-LM + NSP heads)    {fwd * 1e3:8.1f} ms   1.00x")
    print(f"the page's trace (every step recorded)   {statistics.median(t_trace) * 1e3:8.1f} ms   "
          f"{statistics.median(t_trace) / fwd:.2f}x  ({trace.nbytes / 1e6:.0f} MB)")
    print(f"all eight steps beyond the trace         {total * 1e3:8.1f} ms   {total / fwd:.2f} forwards of model time "
          f"[target <= 2]; {forwards} extra forwards:")
    for name in parts[0]:
        value = statistics.median(p[name] for p in parts)
        print(f"    {name:55s} {value * 1e3:8.1f} ms   {value / fwd:.2f}")
    start = time.perf_counter()
    report = compression_report(loaded, inputs, runs=args.runs)
    built = time.perf_counter() - start
    print(f"compression (on its button; copies built once per process): {built:.1f} s the first time")
    base = report.rows[0]
    for r in report.rows:
        print(f"  {r.variant:9s} {r.bytes / 1e6:7.1f} MB ({r.bytes / base.bytes:.2f}x)  forward {r.seconds * 1e3:7.1f} ms "
              f"({r.seconds / base.seconds:.2f}x)  top-1 agreement {r.agreement:.3f}  "
              f"attention max |diff| {r.attention_max_diff:.2e}")


if __name__ == "__main__":
    main()
