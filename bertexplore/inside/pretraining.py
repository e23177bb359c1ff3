"""Step 7: the two pre-training objectives on the user's own text.

Masked-LM as in BERT's create_pretraining_data: round(15%) of the non-special tokens (at least one) are chosen; of
those, 80% become [MASK], 10% a random vocabulary token, 10% stay unchanged; the loss is cross-entropy at the chosen
positions only. Next-sentence prediction: IsNext pairs are consecutive sentences, NotNext pairs take B from ANOTHER
text (BERT drew it from another document), here a paragraph of a bundled text.

The sample and the pairs go through the model in ONE padded forward of the model with its pre-training head and
labels, so the loss shown is the model's own (transformers' BertForPreTraining / BertForMaskedLM loss), not one
recomputed from the logits; the hand computation from the logits is its proof.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from .. import heads
from ..errors import InputError, UnsupportedModel
from ..i18n import _
from ..loading import LoadedModel
from ..tokens import Tokenized
from .checks import Proof, proof, softmax
from .forward import run_forward

MASK_RATE = 0.15
NSP_SENTENCES = 3  # pairs from the first three sentences: 2 IsNext + 2 NotNext
BUNDLED_TEXTS = Path(__file__).resolve().parents[2] / "assets" / "datasets"
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
KINDS = ("mask", "random", "keep")


@dataclass(frozen=True)
class MaskingSample:
    seed: int
    positions: tuple[int, ...]  # the chosen tokens
    kinds: tuple[str, ...]  # per chosen token: "mask" (80%), "random" (10%), "keep" (10%)
    original_ids: np.ndarray  # [T]
    input_ids: np.ndarray  # [T] what the model reads
    eligible: int  # how many tokens could be chosen (special tokens never are)


def sample_masking(inputs: Tokenized, mask_id: int, vocab_size: int, special_ids: set[int], seed: int,
                   rate: float = MASK_RATE) -> MaskingSample:
    rng = np.random.default_rng(seed)
    original = np.asarray(inputs.input_ids, np.int64)
    eligible = [i for i, s in enumerate(inputs.special) if not s]
    if not eligible:
        raise InputError(_("The text has no ordinary tokens to mask."))
    count = max(1, int(round(len(eligible) * rate)))
    chosen = sorted(int(p) for p in rng.choice(eligible, size=count, replace=False))
    ids = original.copy()
    normal = np.array([i for i in range(vocab_size) if i not in special_ids], np.int64)
    kinds = []
    for pos in chosen:
        draw = rng.random()
        if draw < 0.8:
            ids[pos] = mask_id
            kinds.append("mask")
        elif draw < 0.9:
            ids[pos] = int(rng.choice(normal))
            kinds.append("random")
        else:
            kinds.append("keep")
    return MaskingSample(seed, tuple(chosen), tuple(kinds), original, ids, len(eligible))


@dataclass(frozen=True)
class SampleLoss:
    loss: float  # masked-LM cross-entropy at the chosen tokens, from the logits (checked against the model's loss)
    per_token: tuple[tuple[int, str, str, str, float, float], ...]  # (position, original, input, top-1, p(original), loss)
    proofs: tuple[Proof, ...]
    model_loss: float = float("nan")  # the loss transformers' forward returned with the labels
    nsp_loss: float | None = None  # next-sentence cross-entropy over the pairs (pre-training head), by hand


def has_mlm_head(loaded: LoadedModel) -> bool:
    return heads.has(loaded, "mlm")


def has_nsp_head(loaded: LoadedModel) -> bool:
    """BERT's next-sentence head, trained (ALBERT's pre-training head predicts sentence ORDER: not this task)."""
    return loaded.head == "pretraining" and heads.has(loaded, "nsp") and \
        getattr(getattr(loaded.model, "cls", None), "seq_relationship", None) is not None


def _pad(rows: list[list[int]], value: int) -> torch.Tensor:
    width = max(len(r) for r in rows)
    return torch.tensor([r + [value] * (width - len(r)) for r in rows], dtype=torch.long)


def pretraining_forward(loaded: LoadedModel, inputs: Tokenized, sample: MaskingSample,
                        pairs: list[NSPPair]) -> tuple[SampleLoss, list[NSPPair]]:
    """ONE forward of the model with its own head and labels: row 0 is the masked sample (labels at the chosen
    tokens, -100 elsewhere), the other rows the next-sentence pairs (with the pre-training head: their labels,
    IsNext = 0, NotNext = 1; row 0's is -100, ignored). The loss transformers computes is compared with the
    masked-LM cross-entropy plus the next-sentence cross-entropy computed by hand from the logits.

    Batched rows are padded to the longest: when the sample is much longer than the pairs (a long text), the pairs
    would cost more padded than alone, so they get their own short encoder forward instead (see `share_forward`)."""
    if not has_mlm_head(loaded):
        raise UnsupportedModel(_("This model has no masked-LM head, so it cannot score the sample."))
    has_nsp = has_nsp_head(loaded)
    enc = loaded.with_tokenizer(lambda tok: tok([p.a for p in pairs], [p.b for p in pairs], truncation=True,
                                                max_length=loaded.max_length)) if has_nsp and pairs else None
    nsp = enc is not None and share_forward(len(sample.input_ids), [len(r) for r in enc["input_ids"]])
    rows = [[int(i) for i in sample.input_ids]] + (list(enc["input_ids"]) if nsp else [])
    segs = [list(inputs.segment_ids)] + (list(enc.get("token_type_ids") or [[0] * len(r) for r in enc["input_ids"]])
                                         if nsp else [])
    chosen = list(sample.positions)
    labels = [[-100] * len(rows[0])]
    for pos in chosen:
        labels[0][pos] = int(sample.original_ids[pos])
    labels += [[-100] * len(r) for r in rows[1:]]
    pad = loaded.tokenizer.pad_token_id if loaded.tokenizer.pad_token_id is not None else 0
    batch = {"input_ids": _pad(rows, pad), "attention_mask": _pad([[1] * len(r) for r in rows], 0),
             "labels": _pad(labels, -100)}
    if loaded.uses_segments:
        batch["token_type_ids"] = _pad(segs, 0)
    # transformers' pre-training loss needs both labels; row 0 (the sample) takes part in the next-sentence loss
    # only when there are no pairs (as IsNext: it is your text as written).
    gold = [0 if p.label == "IsNext" else 1 for p in pairs] if nsp else []
    nsp_labels = ([-100] + gold) if nsp else [0]
    if has_nsp:
        batch["next_sentence_label"] = torch.tensor(nsp_labels)
    out = run_forward(loaded, batch)
    vocab_logits = out.prediction_logits if getattr(out, "prediction_logits", None) is not None else out.logits
    logits = vocab_logits[0, chosen].double().cpu().numpy()
    targets = sample.original_ids[chosen]
    log_probs = np.log(softmax(logits))
    losses = -log_probs[np.arange(len(targets)), targets]
    mlm_loss = float(losses.mean())
    model_loss = float(out.loss)
    nsp_loss, judged = None, list(pairs)
    if enc is not None and not nsp:  # the pairs alone: encoder + pooler once for all, then the model's NSP layer
        judged = _pair_verdicts(loaded, pairs, enc)
    if has_nsp:
        probs = softmax(out.seq_relationship_logits.double().cpu().numpy())  # index 0 = IsNext, as BERT was trained
        scored = [i for i, g in enumerate(nsp_labels) if g != -100]
        nsp_loss = float(-np.mean([np.log(probs[i, nsp_labels[i]]) for i in scored]))
        proofs = (proof(_("mean −log p(original) + mean −log p(pair label) = the model's own loss (forward with labels)"),
                        mlm_loss + nsp_loss, model_loss),)
        if nsp:
            lengths = [len(r) for r in enc["input_ids"]]
            toks = [loaded.tokens_of(r) for r in enc["input_ids"]]
            judged = [replace(p, tokens=tuple(toks[i]), segments=tuple(int(x) for x in segs[i + 1][:lengths[i]]),
                              p_is_next=float(probs[i + 1, 0])) for i, p in enumerate(pairs)]
    else:
        proofs = (proof(_("mean of −log p(original) = the model's own loss (forward with labels)"), mlm_loss, model_loss),)
    originals = loaded.tokens_of([int(sample.original_ids[pos]) for pos in chosen])
    read = loaded.tokens_of([int(sample.input_ids[pos]) for pos in chosen])
    top = loaded.tokens_of([int(np.argmax(log_probs[i])) for i in range(len(chosen))])
    per = tuple((pos, originals[i], read[i], top[i], float(np.exp(-losses[i])), float(losses[i]))
                for i, pos in enumerate(chosen))
    return SampleLoss(mlm_loss, per, proofs, model_loss, nsp_loss), judged


def share_forward(sample_tokens: int, pair_tokens: list[int]) -> bool:
    """Whether the pairs ride in the sample's forward: padded to one width they cost (1 + n) × width token-rows;
    apart, sample + pairs (+ about half a forward of fixed cost for the second call, on a CPU)."""
    width = max([sample_tokens] + pair_tokens)
    return (1 + len(pair_tokens)) * width <= 1.5 * (sample_tokens + len(pair_tokens) * max(pair_tokens))


def _pair_verdicts(loaded: LoadedModel, pairs: list[NSPPair], enc) -> list[NSPPair]:
    """Each pair's P(IsNext): one padded encoder forward, then the model's own next-sentence layer (the door)."""
    rows = list(enc["input_ids"])
    segs = list(enc.get("token_type_ids") or [[0] * len(r) for r in rows])
    batch = {"input_ids": _pad(rows, loaded.tokenizer.pad_token_id or 0),
             "attention_mask": _pad([[1] * len(r) for r in rows], 0)}
    if loaded.uses_segments:
        batch["token_type_ids"] = _pad(segs, 0)
    pooled = run_forward(loaded, batch, encoder_only=True).pooler_output
    probs = softmax(loaded.head_call("nsp", pooled).double().cpu().numpy())
    return [replace(p, tokens=tuple(loaded.tokens_of(rows[i])), segments=tuple(int(x) for x in segs[i]),
                    p_is_next=float(probs[i, 0])) for i, p in enumerate(pairs)]


def sample_loss(loaded: LoadedModel, inputs: Tokenized, sample: MaskingSample) -> SampleLoss:
    """The masked-LM sample alone through the model with labels (pretraining_forward without pairs)."""
    return pretraining_forward(loaded, inputs, sample, [])[0]


SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+")


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE_END.split(text.strip()) if s.strip()]


@dataclass(frozen=True)
class NSPPair:
    a: str
    b: str
    label: str  # "IsNext" or "NotNext": what pre-training would have taught
    tokens: tuple[str, ...] = ()
    segments: tuple[int, ...] = ()
    p_is_next: float | None = None  # the model's verdict, with a next-sentence head
    source: str = "yours"  # where the pair comes from: "yours" (A and B), "other" (B from a bundled text),
    # "bundled" (both from a bundled paragraph: your text had one sentence)


@lru_cache(maxsize=2)
def bundled_paragraphs(chinese: bool = False) -> tuple[tuple[str, ...], ...]:
    """Paragraphs (blank-line separated, one sentence per line) of a bundled text: the "other documents"."""
    path = BUNDLED_TEXTS / ("corpus_zh.txt" if chinese else "stories.txt")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return ()
    paragraphs = [tuple(s for line in block.splitlines() for s in split_sentences(line))
                  for block in re.split(r"\n\s*\n", text)]
    if len(paragraphs) == 1:  # one sentence per line and no blank lines: groups of five lines
        lines = paragraphs[0]
        paragraphs = [lines[i:i + 5] for i in range(0, len(lines), 5)]
    return tuple(p for p in paragraphs if p)


def nsp_pairs(sentences: list[str], seed: int, others: tuple[tuple[str, ...], ...] | None = None) -> list[NSPPair]:
    """IsNext: each sentence with its successor; NotNext: the same A with a B from ANOTHER text (a sentence of a
    paragraph of `others`, default the bundled text), as BERT drew it from another document. With one sentence:
    an IsNext pair from a bundled paragraph, and a NotNext pair of that paragraph's first sentence with yours."""
    rng = np.random.default_rng(seed)
    if others is None:
        others = bundled_paragraphs(any(_CJK.search(s) for s in sentences))
    sentences = [s for s in sentences if s]
    if not others:
        raise InputError(_("The bundled texts that next-sentence pairs take their random sentences from are missing."))

    def elsewhere() -> str:
        paragraph = others[int(rng.integers(len(others)))]
        return paragraph[int(rng.integers(len(paragraph)))]

    pairs = []
    if len(sentences) == 1:
        paragraph = next((p for p in rng.permutation(len(others)) if len(others[p]) >= 2), None)
        if paragraph is None:
            return []
        a, b = others[paragraph][:2]
        return [NSPPair(a, b, "IsNext", source="bundled"), NSPPair(a, sentences[0], "NotNext", source="bundled")]
    for i in range(len(sentences) - 1):
        pairs.append(NSPPair(sentences[i], sentences[i + 1], "IsNext"))
        pairs.append(NSPPair(sentences[i], elsewhere(), "NotNext", source="other"))
    return pairs


def nsp_verdicts(loaded: LoadedModel, pairs: list[NSPPair]) -> list[NSPPair]:
    """Tokenise every pair (segment ids 0 / 1); the model's verdicts come from pretraining_forward."""
    if not pairs:
        return []
    enc = loaded.with_tokenizer(lambda tok: tok([p.a for p in pairs], [p.b for p in pairs], truncation=True,
                                                max_length=loaded.max_length))
    tokens = [loaded.tokens_of(ids) for ids in enc["input_ids"]]
    segs = enc.get("token_type_ids")
    return [replace(p, tokens=tuple(tokens[i]), segments=tuple(segs[i]) if segs is not None else ())
            for i, p in enumerate(pairs)]
