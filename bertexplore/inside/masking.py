"""Step 4: the attention mask. It hides [PAD], not the future: measured on a real padded batch."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..errors import InputError
from ..i18n import _
from ..loading import LoadedModel
from ..tokens import Tokenized
from .checks import softmax
from .forward import run_forward, tokenize_plain


@dataclass(frozen=True)
class PaddingExperiment:
    tokens: tuple[str, ...]  # the user's row as batched: its tokens, then [PAD]s
    real: int  # how many of them are real
    partner_tokens: int  # length of the longer sentence it was batched with
    attention_mask: tuple[int, ...]  # the 1/0 row the tokenizer's padding gives
    additive_mask: np.ndarray  # [T_pad] what the model adds to every score row: 0 or a huge negative
    pattern: np.ndarray  # [layers, heads, real, T_pad] the user's row's attention in the batch
    pad_weight_max: float  # largest weight any real token gives any [PAD] column, over every layer and head
    output_diff: np.ndarray  # [layers + 1] max |padded - alone| over real tokens, per hidden state
    unmasked_diff: np.ndarray  # [layers + 1] the same when the padding is NOT masked (attention_mask all ones)

    @property
    def pads(self) -> int:
        return len(self.tokens) - self.real


def partner_sentence(text: str) -> str:
    """A longer sentence to batch beside the user's: its own text repeated, so it needs no other input."""
    return " ".join([text.strip()] * 2)


def padding_experiment(loaded: LoadedModel, inputs: Tokenized, alone: list[np.ndarray],
                       partner: str | None = None, extra: int = 4) -> PaddingExperiment:
    """Batch the user's input with a longer one so it is padded; compare its outputs with `alone`.

    `alone`: the hidden states of the unpadded forward (embedding output, then each layer's output), from the trace.
    One forward of three rows: [user + PAD with its mask, the longer sentence, user + PAD with an all-ones mask].
    """
    real = len(inputs)
    tok = loaded.tokenizer
    pad_id = tok.pad_token_id if tok.pad_token_id is not None else 0
    if real >= loaded.max_length:
        raise InputError(_("The text fills the model's whole window ({limit} tokens): there is no room for padding. "
                           "Shorten it to run this experiment.").format(limit=loaded.max_length))
    partner = partner or partner_sentence(inputs.text)
    partner_ids = list(tokenize_plain(loaded, partner)["input_ids"])
    width = min(max(len(partner_ids), real + extra), loaded.max_length)
    partner_ids = partner_ids[:width]
    user_ids = list(int(i) for i in inputs.input_ids) + [pad_id] * (width - real)
    partner_row = partner_ids + [pad_id] * (width - len(partner_ids))
    ids = torch.tensor([user_ids, partner_row, user_ids], dtype=torch.long)
    am = torch.tensor([[1] * real + [0] * (width - real),
                       [1] * len(partner_ids) + [0] * (width - len(partner_ids)),
                       [1] * width], dtype=torch.long)
    batch = {"input_ids": ids, "attention_mask": am}
    if loaded.uses_segments:
        segs = list(inputs.segment_ids) + [0] * (width - real)
        batch["token_type_ids"] = torch.tensor([segs, [0] * width, segs], dtype=torch.long)
    out = run_forward(loaded, batch, output_attentions=True, output_hidden_states=True)
    attentions = torch.stack([a[0] for a in out.attentions]).float().cpu().numpy()  # [L, H, Tp, Tp]
    hidden = [h.float().cpu().numpy() for h in out.hidden_states]
    pattern = attentions[:, :, :real, :]
    pad_weight = float(pattern[..., real:].max()) if width > real else 0.0
    n = min(len(alone), len(hidden))
    diff = np.array([np.abs(hidden[i][0, :real] - alone[i]).max() for i in range(n)], np.float32)
    unmasked = np.array([np.abs(hidden[i][2, :real] - alone[i]).max() for i in range(n)], np.float32)
    return PaddingExperiment(
        tokens=tuple(inputs.tokens) + (tok.pad_token or "[PAD]",) * (width - real), real=real,
        partner_tokens=len(partner_ids), attention_mask=tuple(int(x) for x in am[0]),
        additive_mask=additive_mask(loaded, am)[0], pattern=pattern.astype(np.float32), pad_weight_max=pad_weight,
        output_diff=diff, unmasked_diff=unmasked,
    )


def additive_mask(loaded: LoadedModel, attention_mask: torch.Tensor) -> np.ndarray:
    """[batch, T] the value added to each column's score, built by the very function the model's forward calls."""
    from transformers.masking_utils import create_bidirectional_mask

    config = loaded.model.config
    embeds = torch.zeros(attention_mask.shape[0], attention_mask.shape[1], 1, dtype=loaded.model.dtype)
    mask = create_bidirectional_mask(config=config, inputs_embeds=embeds, attention_mask=attention_mask)
    if mask is None:  # no padding at all: nothing is added
        return np.zeros(tuple(attention_mask.shape), np.float32)
    mask = mask[:, 0, 0]  # every query row of a sequence gets the same row
    if mask.dtype == torch.bool:  # a boolean mask (sdpa-style): True = attend
        return np.where(mask.cpu().numpy(), 0.0, -np.inf).astype(np.float32)
    return mask.float().cpu().numpy()


@dataclass(frozen=True)
class CausalWhatIf:
    bidirectional: np.ndarray  # [T, T] the model's real pattern for one head
    causal: np.ndarray  # [T, T] softmax of the same scores with every later token masked out
    future_share: np.ndarray  # [T] how much of each token's attention the real model puts on LATER tokens


def causal_what_if(scores: np.ndarray, pattern: np.ndarray) -> CausalWhatIf:
    """`scores`, `pattern`: [T, T] of one head (the trace's scores already hold the padding mask)."""
    scores = np.asarray(scores, np.float64)
    t = scores.shape[0]
    future = np.triu(np.ones((t, t), bool), k=1)
    causal = softmax(np.where(future, -np.inf, scores))
    share = np.where(future, np.asarray(pattern, np.float64), 0.0).sum(-1)
    return CausalWhatIf(np.asarray(pattern, np.float32), causal.astype(np.float32), share.astype(np.float32))
