"""Extractive question answering: windows over long contexts, start/end logits, span decoding, no-answer.

transformers 5 removed the question-answering pipeline, so this is the whole of it:
    windows(question, context)  -> overlapping token windows (question + a slice of the context)
    one batched forward         -> start and end logits per window
    best_spans per window       -> the best valid spans: start <= end, at most max_answer_len tokens, context only
    choose across windows       -> the best span, or no answer when the null score ([CLS] start + [CLS] end) wins
"""
from __future__ import annotations

from dataclasses import dataclass, field

from typing import Iterable

import numpy as np

from ..errors import InputError
from ..loading import LoadedModel
from ..tokens import Tokenized, clean_text
from ..trace import Trace, trace_batch
from .checkpoints import require_head
from ..i18n import N_, _

DEFAULT_MAX_LENGTH = 384  # the window size SQuAD models were trained with
DEFAULT_STRIDE = 128  # tokens shared by consecutive windows, so no answer is cut in two
MAX_WINDOWS_PER_FORWARD = 8
# What each window's trace keeps by default: the span logits. Patterns of every window of a long context would be
# ~85 MB per 384-token window on bert-base; ask for them with `names` when a view shows them.
QA_NAMES = ("qa.start_logits", "qa.end_logits")


@dataclass(frozen=True)
class SpanScore:
    start: int  # token positions in the window, inclusive
    end: int
    score: float  # start_logit[start] + end_logit[end]


def best_spans(start_logits: np.ndarray, end_logits: np.ndarray, context_mask: np.ndarray,
               max_answer_len: int = 30, top_k: int = 5) -> list[SpanScore]:
    """The `top_k` highest-scoring spans with start <= end < start + max_answer_len, both ends in the context."""
    start_logits = np.asarray(start_logits, dtype=np.float64)
    end_logits = np.asarray(end_logits, dtype=np.float64)
    mask = np.asarray(context_mask, dtype=bool)
    if not (start_logits.shape == end_logits.shape == mask.shape) or start_logits.ndim != 1:
        raise InputError(_("Start logits, end logits and the context mask must be 1-D and of equal length."))
    if max_answer_len < 1:
        raise InputError(_("The maximum answer length must be at least one token."))
    if not mask.any():
        return []
    scores = start_logits[:, None] + end_logits[None, :]
    n = len(start_logits)
    offset = np.arange(n)[None, :] - np.arange(n)[:, None]  # end - start
    valid = (offset >= 0) & (offset < max_answer_len) & mask[:, None] & mask[None, :]
    scores = np.where(valid, scores, -np.inf)
    flat = scores.ravel()
    k = int(min(top_k, valid.sum()))
    if k == 0:
        return []
    best = np.argpartition(-flat, k - 1)[:k]
    best = best[np.argsort(-flat[best], kind="stable")]
    return [SpanScore(int(i // n), int(i % n), float(flat[i])) for i in best]


@dataclass(frozen=True)
class Window:
    index: int
    tokens: tuple[str, ...]
    input_ids: np.ndarray  # int64 [T]
    segment_ids: np.ndarray  # int64 [T]
    offsets: tuple[tuple[int, int] | None, ...]  # character span in the CONTEXT, None outside it
    cls_index: int
    start_logits: np.ndarray | None = None  # float32 [T], filled by the forward
    end_logits: np.ndarray | None = None

    @property
    def context_mask(self) -> np.ndarray:
        return np.array([o is not None for o in self.offsets], dtype=bool)

    @property
    def char_range(self) -> tuple[int, int]:
        spans = [o for o in self.offsets if o is not None]
        return (spans[0][0], spans[-1][1]) if spans else (0, 0)

    @property
    def null_score(self) -> float:
        return float(self.start_logits[self.cls_index] + self.end_logits[self.cls_index])


@dataclass(frozen=True)
class Answer:
    text: str
    start: int  # [start, end) characters in the context
    end: int
    score: float  # start + end logit
    probability: float  # softmax(start)[i] * softmax(end)[j] over the window's context tokens and [CLS]
    window: int
    start_token: int
    end_token: int

    def row(self) -> dict:
        return {"answer": self.text, "score": round(self.score, 3), "probability": round(self.probability, 4),
                "window": self.window, "start": self.start, "end": self.end}


@dataclass(frozen=True)
class QAResult:
    model_name: str
    question: str
    context: str
    windows: tuple[Window, ...]
    candidates: tuple[Answer, ...]  # best first, across windows
    null_score: float  # lowest [CLS] score over windows, as in the SQuAD 2.0 evaluation
    allow_no_answer: bool
    answer: Answer | None  # None: the model says the context holds no answer
    max_answer_len: int
    stride: int
    max_length: int
    notices: tuple[str, ...] = field(default=())

    @property
    def best_span_score(self) -> float | None:
        return self.candidates[0].score if self.candidates else None


def make_windows(tokenizer, question: str, context: str, max_length: int = DEFAULT_MAX_LENGTH,
                 stride: int = DEFAULT_STRIDE) -> tuple[list[Window], list[str], int]:
    """Question + overlapping slices of the context, each at most `max_length` tokens, sharing `stride` tokens.

    Returns the windows, notices for the user, and the stride actually used.
    """
    notices: list[str] = []
    question_ids = tokenizer(question, add_special_tokens=False)["input_ids"]
    room = max_length - len(question_ids) - 3  # [CLS] question [SEP] context [SEP]
    if room < 16:
        raise InputError(
            _("The question is too long ({n_question_ids} tokens): with a {max_length}-token window it "
              "leaves only {room} tokens for the context. Shorten the question.").format(
                n_question_ids=len(question_ids), max_length=max_length, room=max(room, 0))
        )
    asked = stride
    stride = max(0, min(stride, room // 2))  # consecutive windows must still advance through the context
    enc = tokenizer(
        question, context, truncation="only_second", max_length=max_length, stride=stride,
        return_overflowing_tokens=True, return_offsets_mapping=True, padding=False,
    )
    windows = []
    for w in range(len(enc["input_ids"])):
        ids = enc["input_ids"][w]
        seq = enc.sequence_ids(w)
        offsets = tuple(tuple(int(x) for x in off) if sid == 1 else None
                        for off, sid in zip(enc["offset_mapping"][w], seq))
        types = enc["token_type_ids"][w] if "token_type_ids" in enc else [0 if s != 1 else 1 for s in seq]
        cls_id = tokenizer.cls_token_id
        cls_index = ids.index(cls_id) if cls_id is not None and cls_id in ids else 0
        windows.append(Window(w, tuple(tokenizer.convert_ids_to_tokens(ids)), np.asarray(ids, dtype=np.int64),
                              np.asarray(types, dtype=np.int64), offsets, cls_index))
    if len(windows) > 1:
        notices.append(_("The context is longer than one {max_length}-token window, so it was read as "
                         "{n_windows} overlapping windows ({stride} tokens shared between neighbours).").format(
                           max_length=max_length, n_windows=len(windows), stride=stride))
        if stride != asked:
            notices.append(_("The stride was lowered from {asked} to {stride} tokens so that windows still "
                             "advance.").format(asked=asked, stride=stride))
    return windows, notices, stride


def window_inputs(window: Window, question: str, context: str, special_ids: frozenset[int] = frozenset()) -> Tokenized:
    """A window as the engine's Tokenized (question = segment A, the context slice = segment B)."""
    n = len(window.input_ids)
    return Tokenized(
        text=question, text_pair=context, tokens=window.tokens, input_ids=window.input_ids,
        word_ids=tuple(None for _ in range(n)), segment_ids=tuple(int(s) for s in window.segment_ids),
        offsets=tuple(o if o is not None else (0, 0) for o in window.offsets),
        special=tuple(int(i) in special_ids for i in window.input_ids),
        full_length=n,
    )


def _run_windows(loaded: LoadedModel, windows: list[Window], question: str, context: str,
                 names: Iterable[str] | None = None) -> tuple[list[Window], list[Trace]]:
    """One trace per window, 8 windows per forward; each window takes its span logits from its trace."""
    wanted = tuple(dict.fromkeys(tuple(names or ()) + QA_NAMES))
    special_ids = frozenset(loaded.tokenizer.all_special_ids)
    done, traces = [], []
    for first in range(0, len(windows), MAX_WINDOWS_PER_FORWARD):
        chunk = windows[first:first + MAX_WINDOWS_PER_FORWARD]
        chunk_traces = trace_batch(loaded, [window_inputs(w, question, context, special_ids) for w in chunk], wanted)
        for w, trace in zip(chunk, chunk_traces):
            done.append(Window(w.index, w.tokens, w.input_ids, w.segment_ids, w.offsets, w.cls_index,
                               trace["qa.start_logits"], trace["qa.end_logits"]))
            traces.append(trace)
    return done, traces


def _softmax(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(x - x.max())
    return e / e.sum()


def decode(windows: list[Window], context: str, max_answer_len: int = 30, top_k: int = 5,
           allow_no_answer: bool = False, null_threshold: float = 0.0) -> tuple[list[Answer], float, Answer | None]:
    """Best spans across windows (deduplicated by character span), the null score, and the chosen answer."""
    found: dict[tuple[int, int], Answer] = {}
    for w in windows:
        mask = w.context_mask
        keep = mask.copy()
        keep[w.cls_index] = True  # probabilities are normalised over the answers the model could give
        p_start = np.zeros(len(mask))
        p_end = np.zeros(len(mask))
        p_start[keep] = _softmax(w.start_logits[keep])
        p_end[keep] = _softmax(w.end_logits[keep])
        for span in best_spans(w.start_logits, w.end_logits, mask, max_answer_len, top_k):
            start, end = w.offsets[span.start][0], w.offsets[span.end][1]
            answer = Answer(context[start:end], start, end, span.score, float(p_start[span.start] * p_end[span.end]),
                            w.index, span.start, span.end)
            if (start, end) not in found or found[(start, end)].score < answer.score:
                found[(start, end)] = answer
    candidates = sorted(found.values(), key=lambda a: -a.score)[:top_k]
    null_score = min(w.null_score for w in windows) if windows else float("-inf")
    best = candidates[0] if candidates else None
    if allow_no_answer and (best is None or null_score > best.score + null_threshold):
        best = None
    return candidates, null_score, best


@dataclass(frozen=True)
class Reading:
    """The model's raw view of one (question, context): windows with their start/end logits.

    Decoding settings (answer length, no-answer) apply to a Reading without another forward.
    """

    model_name: str
    question: str
    context: str
    windows: tuple[Window, ...]
    stride: int
    max_length: int
    notices: tuple[str, ...] = ()
    traces: tuple[Trace, ...] = ()  # one per window: the forward each window's logits came from


def read(loaded: LoadedModel, question: str, context: str, max_length: int | None = None,
         stride: int = DEFAULT_STRIDE, names: Iterable[str] | None = None) -> Reading:
    """Preprocess (windows) and the traced forwards, batched 8 windows at a time; `names`: more to keep per window."""
    require_head(loaded, "question-answering")
    question, q_notices = clean_text(question, N_("question"))
    context, c_notices = clean_text(context, N_("context"))
    length = min(max_length or DEFAULT_MAX_LENGTH, loaded.max_length)
    windows, w_notices, stride = loaded.with_tokenizer(
        lambda tok: make_windows(tok, question.strip(), context, length, stride))
    windows, traces = _run_windows(loaded, windows, question, context, names)
    return Reading(loaded.name, question, context, tuple(windows), stride if len(windows) > 1 else 0, length,
                   tuple(q_notices + c_notices + w_notices), tuple(traces))


def result(reading: Reading, max_answer_len: int = 30, top_k: int = 5, allow_no_answer: bool = False,
           null_threshold: float = 0.0) -> QAResult:
    """Postprocess a Reading: span decoding across windows and the no-answer decision."""
    if not 1 <= max_answer_len <= 512:
        raise InputError(_("The maximum answer length must be between 1 and 512 tokens."))
    candidates, null_score, best = decode(list(reading.windows), reading.context, max_answer_len, top_k,
                                          allow_no_answer, null_threshold)
    return QAResult(reading.model_name, reading.question, reading.context, reading.windows, tuple(candidates),
                    null_score, allow_no_answer, best, max_answer_len, reading.stride, reading.max_length,
                    reading.notices)


def answer(loaded: LoadedModel, question: str, context: str, max_answer_len: int = 30, top_k: int = 5,
           allow_no_answer: bool = False, max_length: int | None = None, stride: int = DEFAULT_STRIDE) -> QAResult:
    """The whole pipeline: windows, forwards, span decoding across windows."""
    if not 1 <= max_answer_len <= 512:
        raise InputError(_("The maximum answer length must be between 1 and 512 tokens."))
    return result(read(loaded, question, context, max_length, stride), max_answer_len, top_k, allow_no_answer)
