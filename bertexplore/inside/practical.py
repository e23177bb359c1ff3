"""Step 8: the tutorial's practical questions, on the user's text: long inputs, multi-label, distillation."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..i18n import N_, _
from ..loading import LoadedModel
from .checks import softmax


@dataclass(frozen=True)
class Window:
    index: int
    first: int  # index of its first content token among all the text's tokens
    last: int  # index of its last content token (inclusive)
    start_char: int
    end_char: int
    tokens: int  # content tokens in it (special tokens not counted)

    def overlap(self, previous: "Window | None") -> int:
        return 0 if previous is None else max(0, previous.last - self.first + 1)


@dataclass(frozen=True)
class LongText:
    total: int  # content tokens of the whole text
    max_length: int  # tokens per window, special tokens included
    stride: int  # tokens each window repeats from the previous one
    windows: tuple[Window, ...]

    @property
    def fits(self) -> bool:
        return len(self.windows) <= 1


def long_text_windows(loaded: LoadedModel, text: str, max_length: int, stride: int) -> LongText:
    """The text cut into overlapping windows the way the tokenizer's overflow does it (`stride` tokens shared)."""
    specials = 2  # [CLS] ... [SEP]
    if not specials + 1 <= max_length <= loaded.max_length:
        raise InputError(_("The window must hold between {low} and {high} tokens.").format(low=specials + 1,
                                                                                          high=loaded.max_length))
    if not 0 <= stride < max_length - specials:
        raise InputError(_("The overlap must be smaller than the window's room for text ({room} tokens).").format(
            room=max_length - specials))
    total, enc = loaded.with_tokenizer(lambda tok: (
        len(tok(text, add_special_tokens=False)["input_ids"]),
        tok(text, truncation=True, max_length=max_length, stride=stride, return_overflowing_tokens=True,
            return_offsets_mapping=True, return_special_tokens_mask=True)))
    windows, first = [], 0
    for i, (offsets, special) in enumerate(zip(enc["offset_mapping"], enc["special_tokens_mask"])):
        content = [o for o, s in zip(offsets, special) if not s]
        if not content:
            continue
        count = len(content)
        if windows:
            first = windows[-1].last + 1 - min(stride, windows[-1].tokens)
        windows.append(Window(i, first, first + count - 1, int(content[0][0]), int(content[-1][1]), count))
    return LongText(total, max_length, stride, tuple(windows))


@dataclass(frozen=True)
class LabelRow:
    label: str
    logit: float
    softmax: float  # shares one unit of probability between all labels: single-label
    sigmoid: float  # each label's own yes/no probability: multi-label
    on_softmax: bool  # the single predicted label
    on_sigmoid: bool  # sigmoid ≥ threshold


def softmax_vs_sigmoid(labels: tuple[str, ...], logits: np.ndarray, threshold: float) -> list[LabelRow]:
    logits = np.asarray(logits, np.float64)
    sm = softmax(logits)
    sg = 1.0 / (1.0 + np.exp(-logits))
    top = int(np.argmax(logits))
    return [LabelRow(labels[i], float(logits[i]), float(sm[i]), float(sg[i]), i == top, bool(sg[i] >= threshold))
            for i in range(len(labels))]


CONFIG_FIELDS = (
    ("num_hidden_layers", N_("layers")), ("hidden_size", N_("hidden size")), ("num_attention_heads", N_("heads")),
    ("intermediate_size", N_("FFN width")), ("max_position_embeddings", N_("positions")),
    ("vocab_size", N_("vocabulary")),
)


def bert_parameter_count(config) -> int:
    """Parameters of a BertModel (with pooler) from its configuration: embeddings, layers, pooler."""
    d, f, v = config.hidden_size, config.intermediate_size, config.vocab_size
    p, s, n = config.max_position_embeddings, config.type_vocab_size, config.num_hidden_layers
    embeddings = (v + p + s) * d + 2 * d
    attention = 4 * (d * d + d) + 2 * d  # Q, K, V, O and LayerNorm
    ffn = d * f + f + f * d + d + 2 * d
    return embeddings + n * (attention + ffn) + d * d + d


@dataclass(frozen=True)
class ConfigRow:
    field: str
    small: int
    large: int


def compare_configs(small, large) -> list[ConfigRow]:
    rows = [ConfigRow(label, int(getattr(small, key, 0) or 0), int(getattr(large, key, 0) or 0))
            for key, label in CONFIG_FIELDS]
    rows.append(ConfigRow(N_("parameters"), bert_parameter_count(small), bert_parameter_count(large)))
    return rows


def representation_agreement(a: np.ndarray, b: np.ndarray) -> float:
    """How alike two models see the same tokens, whatever their widths: correlation of their token-by-token
    cosine-similarity matrices (off the diagonal). 1 = the same geometry."""
    def sims(h: np.ndarray) -> np.ndarray:
        h = np.asarray(h, np.float64)
        h = h / (np.linalg.norm(h, axis=-1, keepdims=True) + 1e-12)
        return h @ h.T

    sa, sb = sims(a), sims(b)
    if sa.shape != sb.shape:
        raise InputError(_("The two models cut the text into different tokens; they cannot be compared token by token."))
    off = ~np.eye(sa.shape[0], dtype=bool)
    if off.sum() < 2:
        return float("nan")
    return float(np.corrcoef(sa[off], sb[off])[0, 1])


def model_agreement(first: LoadedModel, second: LoadedModel, text: str, text_pair: str | None = None,
                    max_length: int | None = None) -> float:
    """representation_agreement of the two models' last hidden states on the same text (one forward each)."""
    from ..trace import run_trace

    last = []
    for loaded in (first, second):
        name = f"blocks.{loaded.num_layers - 1}.normalized_resid_post"
        last.append(run_trace(loaded, text, text_pair, max_length=max_length, names=[name])[name])
    return representation_agreement(last[0], last[1])
