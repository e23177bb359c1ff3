"""Step 7: the two pre-training objectives on the user's own text.

Masked-LM as in BERT's create_pretraining_data: round(15%) of the non-special tokens (at least one) are chosen; of
those, 80% become [MASK], 10% a random vocabulary token, 10% stay unchanged; the loss is cross-entropy at the chosen
positions only. Next-sentence prediction: IsNext pairs are consecutive sentences, NotNext pairs swap in another one.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import torch

from .. import heads
from ..errors import InputError, UnsupportedModel
from ..i18n import _
from ..loading import LoadedModel
from ..tokens import Tokenized
from .checks import Proof, proof, softmax
from .forward import apply_head, mlm_head, run_forward

MASK_RATE = 0.15
NSP_SENTENCES = 3  # pairs from the first three sentences: 2 IsNext + 2 NotNext, one short batched forward
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
    loss: float  # the model's own loss (labels at the chosen positions, -100 elsewhere)
    per_token: tuple[tuple[int, str, str, str, float, float], ...]  # (position, original, input, top-1, p(original), loss)
    proofs: tuple[Proof, ...]


def sample_loss(loaded: LoadedModel, inputs: Tokenized, sample: MaskingSample) -> SampleLoss:
    """One forward on the sampled input with labels; the loss recomputed from the logits beside the model's."""
    if not heads.has(loaded, "mlm"):
        raise UnsupportedModel(_("This model has no masked-LM head, so it cannot score the sample."))
    chosen = list(sample.positions)
    batch = {"input_ids": torch.as_tensor(sample.input_ids[None])}
    if loaded.uses_segments:
        batch["token_type_ids"] = torch.as_tensor(np.asarray(inputs.segment_ids, np.int64)[None])
    head = mlm_head(loaded)
    if head is not None:  # the encoder once, then the model's own head at the chosen tokens only
        hidden = run_forward(loaded, batch, encoder_only=True).last_hidden_state[0, chosen]
        logits_t = apply_head(loaded, head, hidden).float()
    else:
        out = run_forward(loaded, batch)
        logits_t = out.prediction_logits if getattr(out, "prediction_logits", None) is not None else out.logits
        logits_t = logits_t[0, chosen].float()
    targets = sample.original_ids[chosen]
    # The loss the model's forward applies to its masked-LM logits: cross-entropy over the vocabulary.
    model_loss = float(torch.nn.functional.cross_entropy(logits_t, torch.as_tensor(targets, device=logits_t.device)))
    logits = logits_t.cpu().numpy().astype(np.float64)
    log_probs = np.log(softmax(logits))
    losses = -log_probs[np.arange(len(targets)), targets]
    originals = loaded.tokens_of([sample.original_ids[pos] for pos in chosen])
    read = loaded.tokens_of([sample.input_ids[pos] for pos in chosen])
    top = loaded.tokens_of([np.argmax(log_probs[i]) for i in range(len(chosen))])
    rows = tuple((pos, originals[i], read[i], top[i], float(np.exp(-losses[i])), float(losses[i]))
                 for i, pos in enumerate(chosen))
    proofs = (proof(_("mean of −log p(original) = the model's loss"), losses.mean(), model_loss),)
    return SampleLoss(model_loss, rows, proofs)


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


def nsp_pairs(sentences: list[str], seed: int) -> list[NSPPair]:
    """For each sentence with a successor: the IsNext pair, and a NotNext pair with another sentence (not its next)."""
    rng = np.random.default_rng(seed)
    pairs = []
    for i in range(len(sentences) - 1):
        pairs.append(NSPPair(sentences[i], sentences[i + 1], "IsNext"))
        others = [j for j in range(len(sentences)) if j not in (i, i + 1)]
        if others:  # pre-training drew the other sentence from another document; here, from the user's text
            pairs.append(NSPPair(sentences[i], sentences[int(rng.choice(others))], "NotNext"))
        else:  # two sentences only: the pair in the wrong order
            pairs.append(NSPPair(sentences[i + 1], sentences[i], "NotNext"))
    return pairs


def nsp_verdicts(loaded: LoadedModel, pairs: list[NSPPair]) -> list[NSPPair]:
    """Tokenise every pair (segment ids 0 / 1); with a next-sentence head, one padded forward for all of them."""
    if not pairs:
        return []
    def encode(tok):
        enc = tok([p.a for p in pairs], [p.b for p in pairs], truncation=True, max_length=loaded.max_length,
                  padding=True, return_tensors="pt")
        return enc, [tok.convert_ids_to_tokens(ids) for ids in enc["input_ids"].tolist()]

    enc, tokens = loaded.with_tokenizer(encode)
    lengths = enc["attention_mask"].sum(-1).tolist()
    segs = enc.get("token_type_ids")
    probs = [None] * len(pairs)
    seq_rel = getattr(getattr(loaded.model, "cls", None), "seq_relationship", None)
    if loaded.head == "pretraining" and loaded.has_head and seq_rel is not None:
        # The encoder (with its pooler) once for all pairs, then the model's own next-sentence layer.
        pooled = run_forward(loaded, dict(enc), encoder_only=True).pooler_output
        logits = apply_head(loaded, seq_rel, pooled).float().cpu().numpy()
        probs = [float(softmax(row)[0]) for row in logits]  # index 0 = IsNext, as BERT was trained
    result = []
    for i, p in enumerate(pairs):
        n = int(lengths[i])
        seg = tuple(int(s) for s in segs[i][:n].tolist()) if segs is not None else ()
        result.append(NSPPair(p.a, p.b, p.label, tuple(tokens[i][:n]), seg, probs[i]))
    return result
