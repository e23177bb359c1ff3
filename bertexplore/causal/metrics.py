"""What a patching experiment measures: one number per batch row, computed from the model's output.

    mlm     logit(target) − logit(contrast) at the [MASK] (two candidate words), with a masked-LM head
    label   logit(target label) − logit(contrast label), with a sequence-classification head
    cosine  cosine between the run's pooled sentence vector (mean of the last layer over the tokens) and the clean
            run's, for models with no usable head (e.g. the packaged MiniLM, a sentence-embedding model)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from .. import heads
from ..errors import InputError
from ..i18n import _
from ..loading import LoadedModel
from ..tokens import Tokenized

Kind = Literal["mlm", "label", "cosine"]


def head_kind(loaded: LoadedModel) -> Kind:
    """Which metric the model's head allows (a head whose weights were not in the checkpoint counts as none)."""
    if heads.has(loaded, "mlm") and loaded.tokenizer.mask_token_id is not None:
        return "mlm"
    if heads.has(loaded, "cls"):
        return "label"
    return "cosine"


@dataclass(frozen=True)
class Metric:
    """The scalar a patching run reports, with what it compares (ids and readable names)."""

    kind: Kind
    position: int | None = None  # the [MASK] position ("mlm")
    target: int | None = None  # token id ("mlm") or label id ("label")
    contrast: int | None = None
    target_name: str = ""
    contrast_name: str = ""
    reference: np.ndarray | None = None  # the clean pooled vector ("cosine")

    def describe(self) -> str:
        if self.kind == "mlm":
            return _("logit('{target}') − logit('{contrast}') at the [MASK] (token {position})").format(
                target=self.target_name, contrast=self.contrast_name, position=self.position)
        if self.kind == "label":
            return _("logit of '{target}' − logit of '{contrast}'").format(
                target=self.target_name, contrast=self.contrast_name)
        return _("cosine of the pooled sentence vector (mean of the last layer) with the clean one")

    def values(self, output: "Outputs") -> torch.Tensor:
        """[B]: the metric of each batch row (differentiable when the forward recorded a graph)."""
        if self.kind == "mlm":
            logits = output.mask_logits
            return logits[:, self.target] - logits[:, self.contrast]
        if self.kind == "label":
            return output.logits[:, self.target] - output.logits[:, self.contrast]
        pooled = output.hidden.mean(dim=1)
        ref = torch.as_tensor(self.reference, dtype=pooled.dtype, device=pooled.device)
        return torch.nn.functional.cosine_similarity(pooled, ref[None, :], dim=-1)


@dataclass
class Outputs:
    """What a metric reads from one forward: the last layer, the classifier's logits, the [MASK] row's logits."""

    hidden: torch.Tensor | None = None  # [B, T, D]
    logits: torch.Tensor | None = None  # [B, labels]
    mask_logits: torch.Tensor | None = None  # [B, V]


def forward_for(loaded: LoadedModel, kind: Kind, batch: dict[str, torch.Tensor], editor: Any,
                position: int | None = None, grad: bool = False) -> Outputs:
    """ONE forward through the door, reading only what `kind` needs: for "mlm" the encoder, then the model's own
    masked-LM head on the [MASK] row only (the vocabulary projection of every other token, ~20% of a 16-token
    bert-base forward, is skipped)."""
    from .edits import run

    if kind == "label":
        out = run(loaded, batch, editor, grad=grad)
        return Outputs(logits=out.logits)
    out = run(loaded, batch, editor, encoder_only=True, grad=grad)
    hidden = out.last_hidden_state
    if kind == "mlm":
        return Outputs(hidden, mask_logits=loaded.head_call("mlm", hidden[:, position], grad=grad))
    return Outputs(hidden)


def token_id(loaded: LoadedModel, word: str) -> int:
    """The vocabulary id of a candidate word, which must be ONE token (a logit belongs to one token)."""
    word = word.strip()
    pieces = loaded.tokenizer.tokenize(word) if word else []
    if len(pieces) != 1:
        raise InputError(_("'{word}' is {n} tokens ({pieces}) for this model; pick a candidate that is one "
                           "token.").format(word=word, n=len(pieces), pieces=" ".join(pieces) or "∅"))
    return int(loaded.tokenizer.convert_tokens_to_ids(pieces[0]))


def label_id(loaded: LoadedModel, label: str | int) -> int:
    names = {str(v): int(k) for k, v in (getattr(loaded.config, "id2label", None) or {}).items()}
    if isinstance(label, int) or str(label).isdigit():
        index = int(label)
    elif str(label) in names:
        index = names[str(label)]
    else:
        raise InputError(_("Unknown label '{label}'; the model's labels are {labels}.").format(
                             label=label, labels=", ".join(names)))
    if not 0 <= index < int(loaded.config.num_labels):
        raise InputError(_("Unknown label '{label}'; the model's labels are {labels}.").format(
                             label=label, labels=", ".join(names)))
    return index


def label_name(loaded: LoadedModel, index: int) -> str:
    id2label = getattr(loaded.config, "id2label", None) or {}
    return str(id2label.get(index, id2label.get(str(index), index)))


def mask_position(loaded: LoadedModel, clean: Tokenized, corrupt: Tokenized) -> int:
    """The first [MASK], which must sit at the same position in both inputs."""
    mask_id = loaded.tokenizer.mask_token_id
    a = np.flatnonzero(clean.input_ids == mask_id)
    b = np.flatnonzero(corrupt.input_ids == mask_id)
    if not len(a) or not len(b):
        raise InputError(_("Put a {mask} in both sentences: the metric compares two candidate words there.").format(
                             mask=loaded.tokenizer.mask_token))
    if a[0] != b[0]:
        raise InputError(_("The {mask} is token {a} in the clean sentence and token {b} in the corrupted one; "
                           "it must be at the same position.").format(
                             mask=loaded.tokenizer.mask_token, a=int(a[0]), b=int(b[0])))
    return int(a[0])


def build_metric(loaded: LoadedModel, clean: Tokenized, corrupt: Tokenized, output: Outputs,
                 target: str | int | None = None, contrast: str | int | None = None, kind: Kind | None = None) -> Metric:
    """The metric for this pair. `output` is the forward of [clean, corrupt] (two rows); it picks the defaults:
    the clean run's top candidate against the corrupted run's (its second if they agree)."""
    kind = kind or head_kind(loaded)
    if kind == "cosine":
        pooled = output.hidden.mean(dim=1)
        return Metric("cosine", reference=pooled[0].detach().cpu().numpy())
    if kind == "mlm":
        position = mask_position(loaded, clean, corrupt)
        logits = output.mask_logits.detach().float()
        special = set(loaded.tokenizer.all_special_ids)
        t = _word(loaded, target) if target not in (None, "") else _top(logits[0], special, ())
        c = _word(loaded, contrast) if contrast not in (None, "") else _top(logits[1], special, (t,))
        if t == c:
            raise InputError(_("The two candidate words are the same; pick two different ones."))
        tok = loaded.tokenizer.convert_ids_to_tokens
        return Metric("mlm", position=position, target=t, contrast=c, target_name=tok(t), contrast_name=tok(c))
    logits = output.logits.detach().float()
    t = label_id(loaded, target) if target not in (None, "") else int(logits[0].argmax())
    c = label_id(loaded, contrast) if contrast not in (None, "") else _top(logits[1], set(), (t,))
    if t == c:
        raise InputError(_("The two labels are the same; pick two different ones."))
    return Metric("label", target=t, contrast=c, target_name=label_name(loaded, t), contrast_name=label_name(loaded, c))


def _word(loaded: LoadedModel, word: str | int) -> int:
    """A candidate given as a word, or already as a vocabulary id (an int)."""
    return int(word) if isinstance(word, int) else token_id(loaded, str(word))


def _top(logits: torch.Tensor, special: set[int], exclude: tuple[int, ...]) -> int:
    order = torch.argsort(logits, descending=True).tolist()
    return next(i for i in order if i not in special and i not in exclude)
