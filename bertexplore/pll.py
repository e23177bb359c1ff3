"""Sentence scoring by pseudo-log-likelihood (Salazar et al., 2020, "Masked Language Model Scoring").

PLL(S) = sum over tokens t of log P(w_t | S with only t masked). Every non-special token gets its own
masked copy of the sentence; the copies run BATCHED, in as few forwards as memory allows.
The "word-l2r" variant (Kauf & Ivanova, 2023) also masks the later pieces of the same word, so a
multi-piece word cannot predict itself from its own remaining pieces.
"""
from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from .errors import InputError
from .loading import LoadedModel
from .mlm import mlm_logits, require_mlm_head
from .tokens import Tokenized
from .i18n import N_, _

Variant = Literal["token", "word-l2r"]
VARIANTS: dict[str, str] = {
    "token": N_("mask one token at a time (Salazar et al. 2020)"),
    "word-l2r": N_("also mask the rest of the word (Kauf & Ivanova 2023)"),
}
MAX_TOKENS = 128  # one masked copy per token: cost grows with the square of the length
LOGITS_BUDGET = 256 * 2**20  # bytes of [batch, T, vocab] logits one forward may produce


@dataclass(frozen=True)
class TokenScore:
    position: int
    token: str
    word: str
    log_prob: float  # log P(original token | the rest), natural log
    probability: float
    rank: int  # 1 = the model's first choice at that position


@dataclass(frozen=True)
class PLLResult:
    text: str
    tokens: tuple[str, ...]
    scores: tuple[TokenScore, ...]
    variant: str
    forwards: int
    notices: tuple[str, ...] = ()

    @property
    def pll(self) -> float:
        return float(sum(s.log_prob for s in self.scores))

    @property
    def mean(self) -> float:
        return self.pll / len(self.scores) if self.scores else 0.0

    @property
    def pseudo_perplexity(self) -> float:
        return math.exp(-self.mean)

    def rows(self) -> list[dict]:
        return [{"position": s.position, "token": s.token, "word": s.word, "log-prob": s.log_prob,
                 "probability": s.probability, "rank": s.rank} for s in self.scores]


def scored_positions(inputs: Tokenized, mask_id: int) -> list[int]:
    """Positions whose original token is scored: not special, not already a [MASK]."""
    return [p for p in range(len(inputs)) if not inputs.special[p] and int(inputs.input_ids[p]) != mask_id]


def masked_copies(inputs: Tokenized, mask_id: int, positions: list[int], variant: str = "token") -> np.ndarray:
    """One row per scored position: the input with that position (and, for word-l2r, its word's later pieces) masked."""
    copies = np.repeat(inputs.input_ids[None, :], len(positions), axis=0)
    owner = inputs.word_of() if variant == "word-l2r" else None
    for row, p in enumerate(positions):
        copies[row, p] = mask_id
        if owner is not None:
            for q in range(p + 1, len(inputs)):
                if owner[q] != owner[p]:
                    break
                copies[row, q] = mask_id
    return copies


def chunk_size(length: int, vocab_size: int, batch_size: int, budget: int = LOGITS_BUDGET) -> int:
    """Copies per forward: as many as `batch_size` while the float32 logits stay within `budget`."""
    return max(1, min(batch_size, budget // max(1, length * vocab_size * 4)))


def score_tokens(loaded: LoadedModel, inputs: Tokenized, variant: Variant = "token", batch_size: int = 64,
                 max_tokens: int = MAX_TOKENS) -> PLLResult:
    """PLL of an already tokenised input; see the module docstring."""
    require_mlm_head(loaded)
    if variant not in VARIANTS:
        raise InputError(_("Unknown PLL variant '{variant}'; choose one of {choices}.").format(
                             variant=variant, choices=', '.join(VARIANTS)))
    mask_id = loaded.tokenizer.mask_token_id
    positions = scored_positions(inputs, mask_id)
    notices = list(inputs.notices)
    if not positions:
        raise InputError(_("There is no token to score: type a sentence without [MASK]."))
    if len(inputs) > max_tokens:
        # full_length: a text past the model's limit was already cut to it; say how long the text really is.
        raise InputError(
            _("Scoring needs one masked copy of the text per token; this text has {full_length} tokens. "
              "Score sentences of up to {max_tokens} tokens.").format(
                full_length=max(inputs.full_length, len(inputs)), max_tokens=max_tokens)
        )
    if len(positions) < sum(not s for s in inputs.special):
        notices.append(_("Tokens that already are [MASK] are not scored."))
    copies = masked_copies(inputs, mask_id, positions, variant)
    vocab_size = int(getattr(loaded.config, "vocab_size", 0) or len(loaded.tokenizer))
    step = chunk_size(len(inputs), vocab_size, batch_size)
    log_probs, ranks, forwards = [], [], 0
    for start in range(0, len(positions), step):
        rows = copies[start:start + step]
        where = torch.as_tensor(positions[start:start + step])
        logits = mlm_logits(loaded.forward(loaded.model_inputs(rows, inputs.segment_ids)))
        forwards += 1
        at = torch.log_softmax(logits[torch.arange(len(rows)), where.to(logits.device)].float(), dim=-1).cpu()
        truth = torch.as_tensor(inputs.input_ids[positions[start:start + step]])
        gold = at[torch.arange(len(rows)), truth]
        log_probs += gold.tolist()
        ranks += ((at > gold[:, None]).sum(dim=1) + 1).tolist()
    words = inputs.words()
    owner = inputs.word_of()
    scores = tuple(
        TokenScore(p, inputs.tokens[p], words[owner[p]].text, float(lp), float(math.exp(lp)), int(r))
        for p, lp, r in zip(positions, log_probs, ranks)
    )
    return PLLResult(text=inputs.text, tokens=inputs.tokens, scores=scores, variant=variant, forwards=forwards,
                     notices=tuple(notices))


def score_sentence(loaded: LoadedModel, text: str, variant: Variant = "token", batch_size: int = 64,
                   max_tokens: int = MAX_TOKENS) -> PLLResult:
    """Tokenise `text` and return its pseudo-log-likelihood with per-token contributions."""
    require_mlm_head(loaded)
    inputs = loaded.tokenize(text)
    return score_tokens(loaded, inputs, variant, batch_size, max_tokens)


@dataclass(frozen=True)
class PairComparison:
    a: PLLResult
    b: PLLResult

    @property
    def difference(self) -> float:
        """PLL(A) - PLL(B): positive when the model finds A more natural."""
        return self.a.pll - self.b.pll

    @property
    def preferred(self) -> str:
        if abs(self.difference) < 1e-6:
            return "tie"
        return "A" if self.difference > 0 else "B"

    def rows(self) -> list[dict]:
        """Per-token breakdown, the two token sequences aligned so shared tokens sit side by side."""
        ta = [s.token for s in self.a.scores]
        tb = [s.token for s in self.b.scores]
        rows: list[dict] = []
        matcher = difflib.SequenceMatcher(a=ta, b=tb, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            for k in range(max(i2 - i1, j2 - j1)):
                sa = self.a.scores[i1 + k] if i1 + k < i2 else None
                sb = self.b.scores[j1 + k] if j1 + k < j2 else None
                rows.append({
                    "token A": sa.token if sa else "",
                    "log-prob A": sa.log_prob if sa else None,
                    "token B": sb.token if sb else "",
                    "log-prob B": sb.log_prob if sb else None,
                    "A - B": (sa.log_prob - sb.log_prob) if (sa and sb) else None,
                    "same token": tag == "equal",
                })
        return rows


def compare_pair(loaded: LoadedModel, text_a: str, text_b: str, variant: Variant = "token", batch_size: int = 64,
                 max_tokens: int = MAX_TOKENS) -> PairComparison:
    """Minimal-pair test: which of two sentences does the model find more probable, and where?"""
    return PairComparison(score_sentence(loaded, text_a, variant, batch_size, max_tokens),
                          score_sentence(loaded, text_b, variant, batch_size, max_tokens))
