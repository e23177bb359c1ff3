"""Next-sentence prediction: does sentence B follow sentence A? Read from BERT's pre-training NSP head."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import UnsupportedModel
from ..loading import LoadedModel
from ..tokens import Tokenized, clean_text
from ..trace import Trace, trace_tokens
from .checkpoints import require_head
from ..i18n import N_, _

# BERT's pre-training convention: index 0 = B is the real next sentence, index 1 = B is a random sentence.
NSP_LABELS = ("IsNext", "NotNext")
WEAK_ACCURACY = 0.7  # below this held-out accuracy the page warns that the verdicts are close to guessing


@dataclass(frozen=True)
class HeldOut:
    """The next-sentence accuracy a saved model reached on pairs it did not train on (from its model card)."""

    accuracy: float
    pairs: int | None  # how many held-out pairs, when the card says

    @property
    def weak(self) -> bool:
        return self.accuracy < WEAK_ACCURACY


_CARD_AFTER = re.compile(r"^- After fine-tuning:.*?\bnsp_accuracy ([0-9.]+)", re.MULTILINE)
_CARD_PAIRS = re.compile(r"/ (\d+) validation sentence pairs")


def heldout_accuracy(source: str) -> HeldOut | None:
    """The held-out next-sentence accuracy written when the Fine-tune page saved the model at `source`: metrics.json
    (written beside the card), else the card's "After fine-tuning" line. None for models without one (a hub
    checkpoint such as bert-base-uncased)."""
    folder = Path(source)
    try:
        saved = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
        accuracy = saved["after"]["nsp_accuracy"]
        pairs = saved.get("validation_items") if saved.get("validation_unit") == "pairs" else None
        return HeldOut(float(accuracy), int(pairs) if pairs else None)
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:
        card = (folder / "README.md").read_text(encoding="utf-8")
    except OSError:
        return None
    found = _CARD_AFTER.search(card)
    if found is None:
        return None
    pairs = _CARD_PAIRS.search(card)
    return HeldOut(float(found.group(1).rstrip(".")), int(pairs.group(1)) if pairs else None)


@dataclass(frozen=True)
class NextSentence:
    model_name: str
    inputs: Tokenized
    logits: np.ndarray  # [2] float32
    probs: np.ndarray  # [2] float32 softmax
    trace: Trace | None = None  # the forward behind the scores

    @property
    def is_next(self) -> float:
        return float(self.probs[0])

    @property
    def not_next(self) -> float:
        return float(self.probs[1])

    @property
    def verdict(self) -> str:
        return NSP_LABELS[int(np.argmax(self.probs))]

    def segment_rows(self) -> list[dict]:
        """Every token with the segment (token type) id the model received for it."""
        return [{"position": i, "token": tok, "token_type_id": int(seg), "sentence": "AB"[seg] if seg in (0, 1) else seg}
                for i, (tok, seg) in enumerate(zip(self.inputs.tokens, self.inputs.segment_ids))]


def predict_next(loaded: LoadedModel, sentence_a: str, sentence_b: str) -> NextSentence:
    """Tokenise A and B as a pair (segment ids 0 and 1), one forward, softmax over the NSP head's two logits."""
    require_head(loaded, "pretraining")
    sentence_a, _notices = clean_text(sentence_a, N_("sentence A"))
    sentence_b, _notices = clean_text(sentence_b, N_("sentence B"))  # tokenize() would silently drop an empty pair
    if not loaded.uses_segments:
        raise UnsupportedModel(
            _("'{name}' has no segment (token type) embeddings, so it cannot tell sentence A from sentence "
              "B: it was not pre-trained with next-sentence prediction.").format(name=loaded.name)
        )
    inputs = loaded.tokenize(sentence_a, sentence_b)
    trace = trace_tokens(loaded, inputs)
    if "nsp.logits" not in trace:
        raise UnsupportedModel(
            _("'{name}' ({name2}) has no next-sentence head: only BERT's pre-training checkpoints "
              "(BertForPreTraining, e.g. bert-base-uncased) were trained on this task.").format(
                name=loaded.name, name2=type(loaded.model).__name__)
        )
    return from_trace(loaded, trace)


def from_trace(loaded: LoadedModel, trace: Trace) -> NextSentence:
    """Softmax over the trace's two next-sentence logits."""
    logits = trace["nsp.logits"].astype(np.float64)
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    return NextSentence(loaded.name, trace.inputs, logits.astype(np.float32), probs.astype(np.float32), trace)
