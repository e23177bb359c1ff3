"""Predict, then reveal: a lesson question's answer computed from the model loaded now, and a student's answer graded.

Lesson files never hold answers: each kind below asks the model (its tokenizer, attention, masked-LM head, NSP head
or logit lens) and returns plain data. Choices, where a kind offers them, are built from the same outputs.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np

from .. import heads
from ..errors import InputError, UnsupportedModel
from ..i18n import _
from ..loading import LoadedModel
from .format import Question

# The head each kind needs beyond the encoder (loading.HEAD_NAMES keys); None: any encoder answers it.
NEEDS: dict[str, str | None] = {"wordpieces": None, "attention_top": None, "mask_fill": "mlm", "lens_layer": "mlm",
                                "nsp": "pretraining"}
DEFAULT_K = 5
_NUMERALS = {"零": "0", "一": "1", "二": "2", "两": "2", "三": "3", "四": "4", "五": "5", "六": "6", "七": "7",
             "八": "8", "九": "9", "十": "10"}


def needs(question: Question) -> str | None:
    return NEEDS[question.kind]


def normalize(answer: str) -> str:
    """What a typed answer is compared by: NFKC (full-width → ASCII), lower case, no ## or surrounding quotes and
    punctuation, Chinese numerals one to ten as digits, and the NSP verdicts in either language as their labels."""
    text = unicodedata.normalize("NFKC", str(answer)).strip().lower()
    text = text.replace("##", "")
    text = re.sub(r"^[\s\"'“”‘’.,;:!?。，；：！？、]+|[\s\"'“”‘’.,;:!?。，；：！？、]+$", "", text)
    text = re.sub(r"\s+", " ", text)
    if text in _NUMERALS:
        return _NUMERALS[text]
    verdicts = {"isnext": "isnext", "is next": "isnext", "yes": "isnext", "是": "isnext",
                "notnext": "notnext", "not next": "notnext", "no": "notnext", "否": "notnext", "不是": "notnext"}
    return verdicts.get(text, text)


@dataclass(frozen=True)
class ModelAnswer:
    """The model's answer to one question: shown only after the student commits."""

    kind: str
    answer: str  # what the model says, as shown
    accepted: tuple[str, ...]  # normalised answers graded right
    choices: tuple[str, ...] | None  # None: free text
    detail: str  # one sentence with the numbers behind the answer
    rows: tuple[dict, ...] = ()  # a small table (top-k, per-layer predictions...)


@dataclass(frozen=True)
class Grade:
    correct: bool
    given: str
    message: str


def _strip_piece(token: str) -> str:
    return token[2:] if token.startswith("##") else token


def _wordpieces(loaded: LoadedModel, q: Question) -> ModelAnswer:
    word = q.params["word"].strip()
    inputs = loaded.tokenize(word)
    pieces = [t for t, special in zip(inputs.tokens, inputs.special) if not special]
    n = len(pieces)
    choices = tuple(str(i) for i in range(1, max(4, n + 1) + 1))
    return ModelAnswer(
        "wordpieces", str(n), (str(n),), choices,
        _("This model's tokenizer cuts '{word}' into {n} token(s): {pieces}.").format(
            word=word, n=n, pieces=" · ".join(pieces)),
        tuple({"position": i + 1, "wordpiece": p} for i, p in enumerate(pieces)))


def _token_position(tokens: tuple[str, ...], special: tuple[bool, ...] | list[bool], token: str) -> int:
    wanted = normalize(token)
    for i, (t, s) in enumerate(zip(tokens, special)):
        if not s and normalize(t) == wanted:
            return i
    raise InputError(_("'{token}' is not a single token of this model's tokenization ({tokens}): the question "
                       "cannot be asked with this model.").format(token=token, tokens=" ".join(tokens)))


def _attention_top(loaded: LoadedModel, q: Question, trace=None) -> ModelAnswer:
    from ..trace import run_trace

    p = q.params
    layer, head = int(p["layer"]), int(p["head"])
    if layer > loaded.num_layers or head > loaded.num_heads:
        raise InputError(_("This question asks for layer {layer}, head {head}; {name} has {layers} layers × {heads} "
                           "heads.").format(layer=layer, head=head, name=loaded.name, layers=loaded.num_layers,
                                            heads=loaded.num_heads))
    trace = trace if trace is not None else run_trace(loaded, p["text"])
    tokens = trace.tokens
    source = _token_position(tokens, trace.inputs.special, p["token"])
    row = np.asarray(trace.attentions[layer - 1, head - 1, source], dtype=np.float64)
    best = int(row.argmax())
    order = np.argsort(-row, kind="stable")[:5]
    choices = tuple(dict.fromkeys(tokens))  # every distinct token of the sentence, in order
    return ModelAnswer(
        "attention_top", tokens[best], (normalize(tokens[best]),), choices,
        _("Layer {layer}, head {head}: from '{source}' (position {pos}) the largest weight, {weight:.2f}, goes to "
          "'{target}' (position {target_pos}).").format(layer=layer, head=head, source=tokens[source], pos=source,
                                                         weight=row[best], target=tokens[best], target_pos=best),
        tuple({"position": int(i), "token": tokens[i], "weight": round(float(row[i]), 4)} for i in order))


def _mask_trace(loaded: LoadedModel, text: str):
    from ..trace import run_trace

    trace = run_trace(loaded, text)
    if len(trace.mask_positions) != 1:
        raise InputError(_("The question's text must hold exactly one [MASK] for this model's tokenizer."))
    return trace


def _mask_fill(loaded: LoadedModel, q: Question) -> ModelAnswer:
    from ..mlm import top_k

    k = int(q.params.get("k", DEFAULT_K))
    trace = _mask_trace(loaded, q.params["text"])
    # 1000 candidates: the top-k graded, and lower-ranked ones as distractors for the choice form.
    preds = top_k(loaded, trace, k=1000, hide_subwords=True)[0].predictions
    top = preds[:k]
    choices = None
    if q.params.get("choices"):
        # The model's first choice and three it finds far less likely (ranks 20, 100, 500): all its own outputs.
        picks = [top[0]] + [preds[r] for r in (19, 99, 499) if r < len(preds)]
        choices = tuple(sorted({_strip_piece(p.token) for p in picks}))
    accepted = tuple(normalize(p.token) for p in top)
    return ModelAnswer(
        "mask_fill", top[0].token, accepted, choices,
        _("The model's first choice is '{token}' with probability {p:.3f}; any of its top {k} counts.").format(
            token=top[0].token, p=top[0].probability, k=k),
        tuple({"rank": i + 1, "token": pr.token, "probability": round(pr.probability, 4)} for i, pr in enumerate(top)))


def _lens_layer(loaded: LoadedModel, q: Question) -> ModelAnswer:
    from ..analysis.lens import logit_lens
    from ..mlm import vocabulary

    trace = _mask_trace(loaded, q.params["text"])
    lens = logit_lens(loaded, trace)
    ranks = lens.final_rank()[0]  # [L+1]: 0 = the embeddings
    first = int(np.argmax(ranks == 1))  # the final layer has rank 1 by definition, so one always exists
    vocab = vocabulary(loaded, lens.log_probs.shape[-1])
    final = vocab[int(lens.final[0])]
    tops = lens.log_probs[0].argmax(-1)
    layers = lens.log_probs.shape[1] - 1
    return ModelAnswer(
        "lens_layer", str(first), (str(first),), tuple(str(i) for i in range(layers + 1)),
        _("The model's final answer is '{token}'. Read through the same head, layer {first} is the first whose "
          "top guess is already '{token}' (0 = the embeddings, {layers} = the last layer).").format(
            token=final, first=first, layers=layers),
        tuple({"layer": layer, "token": vocab[int(tops[layer])], "rank": int(ranks[layer])}
              for layer in range(layers + 1)))


def _nsp(loaded: LoadedModel, q: Question) -> ModelAnswer:
    from ..tasks.nsp import predict_next

    res = predict_next(loaded, q.params["a"], q.params["b"])
    return ModelAnswer(
        "nsp", res.verdict, (res.verdict.lower(),), ("IsNext", "NotNext"),
        _("IsNext {is_next:.1%}, NotNext {not_next:.1%}.").format(is_next=res.is_next, not_next=res.not_next),
        tuple({"label": label, "probability": round(float(p), 4)} for label, p in zip(("IsNext", "NotNext"),
                                                                                        res.probs.tolist())))


def can_answer(loaded: LoadedModel, question: Question) -> bool:
    """Whether `loaded` (loaded with the head this kind needs) can answer; False: say which model can."""
    head = needs(question)
    if head is None:
        return True
    if loaded.head != head:  # a pre-training checkpoint answers mlm questions when loaded with head="mlm"
        return False
    if head == "mlm":
        return heads.has(loaded, "mlm")  # present and trained: random weights would grade nonsense
    return heads.has(loaded, "nsp") and loaded.uses_segments


def model_answer(loaded: LoadedModel, question: Question) -> ModelAnswer:
    """The model's own answer; UnsupportedModel when it lacks the head the question needs."""
    if not can_answer(loaded, question):
        raise UnsupportedModel(_("'{name}' has no {head} head, so it cannot answer this question.").format(
            name=loaded.name, head=needs(question)))
    return {"wordpieces": _wordpieces, "attention_top": _attention_top, "mask_fill": _mask_fill,
            "lens_layer": _lens_layer, "nsp": _nsp}[question.kind](loaded, question)


def grade(answer: ModelAnswer, given: str) -> Grade:
    """Right when the normalised answer is one the model accepts (its top-k for fill-in-the-blank)."""
    said = normalize(given)
    if not said:
        return Grade(False, given, _("No answer given."))
    if said in answer.accepted:
        if answer.kind == "mask_fill" and said != answer.accepted[0]:
            rank = answer.accepted.index(said) + 1
            return Grade(True, given, _("Right: the model ranks '{given}' number {rank}; its first choice is "
                                        "'{answer}'.").format(given=given, rank=rank, answer=answer.answer))
        return Grade(True, given, _("Right: the model says '{answer}' too.").format(answer=answer.answer))
    return Grade(False, given, _("Not what the model says: it says '{answer}'.").format(answer=answer.answer))


def question_prompt(question: Question) -> str:
    """The default question text of a kind, with its parameters (a lesson may give its own prompt)."""
    p = question.params
    return {
        "wordpieces": _("How many WordPiece tokens does this model's tokenizer make of the word {word}?"),
        "attention_top": _("In layer {layer}, head {head}, which token does {token} attend to most in {text}?"),
        "mask_fill": _("Which word fills the blank: {text}?"),
        "lens_layer": _("Reading each layer through the masked-LM head (logit lens), which layer first predicts "
                        "the model's final answer for {text}? (0 = the embeddings)"),
        "nsp": _("Will the model say that B follows A? A: {a} B: {b}"),
    }[question.kind].format(**{k: _code(v) if isinstance(v, str) else v for k, v in p.items()})


def _code(value: object) -> str:
    """A parameter shown in the prompt (the lesson's data: a word, a sentence) as inline code: read literally,
    never as Markdown, and kept apart from the translated words around it."""
    text = " ".join(str(value).splitlines())
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    return f"{fence} {text} {fence}"
