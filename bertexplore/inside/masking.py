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
from .forward import run_forward


@dataclass(frozen=True)
class PaddingExperiment:
    tokens: tuple[str, ...]  # the user's row as batched: its tokens, then [PAD]s
    real: int  # how many of them are real
    partner_tokens: int  # the padded length (what a longer sentence in the same batch would set)
    attention_mask: tuple[int, ...]  # the 1/0 row the tokenizer's padding gives
    additive_mask: np.ndarray  # [T_pad] what the model adds to every score row: 0 or a huge negative
    pattern: np.ndarray  # [layers, heads, real, T_pad] the user's row's attention in the batch
    pad_weight_max: float  # largest weight any real token gives any [PAD] column, over every layer and head
    output_diff: np.ndarray  # [layers + 1] max |padded - alone| over real tokens, per hidden state
    unmasked_diff: np.ndarray  # [layers + 1] the same when the padding is NOT masked (empty unless asked for)

    @property
    def pads(self) -> int:
        return len(self.tokens) - self.real


def padding_experiment(loaded: LoadedModel, inputs: Tokenized, alone: list[np.ndarray], extra: int = 4,
                       unmasked: bool = False) -> PaddingExperiment:
    """The user's input padded with `extra` [PAD]s, as a batch gives it beside a longer sentence (the padding is
    what matters, not the neighbour: rows of a batch never see each other); compare its outputs with `alone` (the
    unpadded forward's embedding output, then each layer's output, from the trace). ONE encoder forward of one
    row; `unmasked` adds a second row: the same padded input with an all-ones attention mask, to show what the mask
    prevents.
    """
    real = len(inputs)
    if real >= loaded.max_length:
        raise InputError(_("The text fills the model's whole window ({limit} tokens): there is no room for padding. "
                           "Shorten it to run this experiment.").format(limit=loaded.max_length))
    tok = loaded.tokenizer
    pad_id = tok.pad_token_id if tok.pad_token_id is not None else 0
    width = min(real + extra, loaded.max_length)
    user = [int(i) for i in inputs.input_ids] + [pad_id] * (width - real)
    rows = [user] + ([user] if unmasked else [])
    masks = [[1] * real + [0] * (width - real)] + ([[1] * width] if unmasked else [])
    am = torch.tensor(masks, dtype=torch.long)
    batch = {"input_ids": torch.tensor(rows, dtype=torch.long), "attention_mask": am}
    if loaded.uses_segments:
        segs = list(inputs.segment_ids) + [inputs.segment_ids[-1]] * (width - real)
        batch["token_type_ids"] = torch.tensor([segs] * len(rows), dtype=torch.long)
    out = run_forward(loaded, batch, encoder_only=True, output_attentions=True, output_hidden_states=True)
    attentions = torch.stack([a[0] for a in out.attentions]).float().cpu().numpy()  # [L, H, Tp, Tp]
    hidden = [h.float().cpu().numpy() for h in out.hidden_states]
    pattern = attentions[:, :, :real, :]
    n = min(len(alone), len(hidden))
    diff = np.array([np.abs(hidden[i][0, :real] - alone[i]).max() for i in range(n)], np.float32)
    leak = np.array([np.abs(hidden[i][1, :real] - alone[i]).max() for i in range(n)], np.float32) if unmasked \
        else np.zeros(0, np.float32)
    return PaddingExperiment(
        tokens=tuple(inputs.tokens) + (tok.pad_token or "[PAD]",) * (width - real), real=real,
        partner_tokens=width, attention_mask=tuple(int(x) for x in am[0]),
        additive_mask=additive_mask(loaded, am[:1])[0], pattern=pattern.astype(np.float32),
        pad_weight_max=float(pattern[..., real:].max()), output_diff=diff, unmasked_diff=leak,
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
