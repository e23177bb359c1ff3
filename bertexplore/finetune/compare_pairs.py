"""Before/after for the tasks whose input is not one sentence: next-sentence prediction (a pair) and QA.

The "before" model is compare.before_model's (the run's exact starting point); both models are this session's
own (never the shared cache), read through the same engine functions the Next-sentence and QA pages use.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..loading import LoadedModel
from .compare import Prediction


@dataclass
class PairComparison:
    before: Prediction
    after: Prediction
    notices: list[str] = field(default_factory=list)


def _as_saved(loaded: LoadedModel) -> LoadedModel:
    """A model trained in this session still carries its base's `architectures` (e.g. BertModel) until it is saved;
    the pages' head check reads it, so name the class it really is (the model is this session's own)."""
    loaded.model.config.architectures = [type(loaded.model).__name__]
    return loaded


def _nsp_rows(loaded: LoadedModel, sentence_a: str, sentence_b: str) -> tuple[Prediction, list[str]]:
    from ..tasks.nsp import NSP_LABELS, predict_next

    res = predict_next(_as_saved(loaded), sentence_a, sentence_b)
    rows = [{"label": label, "probability": float(p)} for label, p in zip(NSP_LABELS, res.probs.tolist())]
    return Prediction("labels", rows), list(res.inputs.notices)


def compare_next_sentence(before: LoadedModel, after: LoadedModel, sentence_a: str, sentence_b: str) -> PairComparison:
    b, _ = _nsp_rows(before, sentence_a, sentence_b)
    a, notices = _nsp_rows(after, sentence_a, sentence_b)
    return PairComparison(b, a, notices)


def _answer_rows(loaded: LoadedModel, question: str, context: str, top_k: int) -> tuple[Prediction, list[str]]:
    from ..tasks.qa import answer

    res = answer(_as_saved(loaded), question, context, top_k=top_k)
    rows = [{"answer": c.text, "probability": round(c.probability, 4), "score": round(c.score, 3)}
            for c in res.candidates]
    return Prediction("answers", rows), list(res.notices)


def compare_answers(before: LoadedModel, after: LoadedModel, question: str, context: str,
                    top_k: int = 3) -> PairComparison:
    b, _ = _answer_rows(before, question, context, top_k)
    a, notices = _answer_rows(after, question, context, top_k)
    return PairComparison(b, a, notices)
