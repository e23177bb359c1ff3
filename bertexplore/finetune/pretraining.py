"""Pre-training the way BERT was: masked-LM and next-sentence prediction trained together (BertForPreTraining).

From plain text of documents (paragraphs separated by blank lines), pairs are built as BERT's
create_pretraining_data did: sentence A, then for B with probability 1/2 the sentence that really follows A
(IsNext, label 0), otherwise a sentence drawn from another document (NotNext, label 1); the pair is
[CLS] A [SEP] B [SEP] with segment ids 0 for A and 1 for B. Training draws a fresh B every time a pair is
drawn; the masked-LM collator masks 15% of the tokens (80/10/10) on top. The held-out documents give a
fixed, balanced set: every A once with its real next sentence and once with a random one, masks fixed by
the seed, so accuracy before and after training compares the same questions.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch

from ..errors import InputError
from ..i18n import _
from .dataset_types import IGNORE, EncodedDataset
from .datasets import MaskedLMCollator
from .metrics import mlm_token_scores, perplexity

IS_NEXT, NOT_NEXT = 0, 1  # BERT's convention, as the Next-sentence page reads the head (NSP_LABELS)
MIN_PAIRS = 8
# Tuned on the bundled stories with the packaged MiniLM (README, Benchmarks): with BERT's recipe as it is (one pair
# per A, one learning rate, the two losses added) the next-sentence head stayed at chance (0.50-0.55 held out) while the
# masked-LM loss, ten times larger, took every update. Each A twice per epoch (once IsNext, once NotNext), the heads at
# ten times the encoder's learning rate and the next-sentence loss weighted 10x reached 0.76 in the same time.
PAIRS_PER_SENTENCE = 2  # training items per sentence A per epoch (see PretrainingPairs)
HEAD_LR_SCALE = 10.0  # the pre-training heads' learning rate, as a multiple of the page's (train.py reads it)
NSP_LOSS_WEIGHT = 10.0  # weight of the next-sentence loss beside the masked-LM one (BERT: 1)
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9À-ÖØ-Þ])|(?<=[。！？])")


def split_sentences(paragraph: str) -> list[str]:
    """Sentences of a paragraph: a break after . ! ? followed by a capital (or after a CJK full stop)."""
    text = " ".join(paragraph.split())
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def documents(text: str) -> list[list[str]]:
    """Documents (blank-line separated paragraphs) as lists of sentences.

    A file without blank lines is read as one document per line (the usual "one paragraph per line" dump).
    Lines inside a paragraph are joined first, so one sentence per line and flowing text both work.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    blocks = re.split(r"\n\s*\n", text.strip())
    if len(blocks) == 1:
        blocks = text.strip().split("\n")
    docs = []
    for block in blocks:
        lines = [line.strip() for line in block.split("\n") if line.strip()]
        sentences = [s for line in lines for s in split_sentences(line)]
        if sentences:
            docs.append(sentences)
    return docs


@dataclass
class PretrainingData:
    """Documents of sentences; behaves like TaskData for the panel (len, counts, subset, source)."""

    docs: list[list[str]]
    source: str = ""
    task: str = "pretraining"
    label_names: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    unit = "paragraphs"  # len() counts documents (paragraphs), not the sentence pairs drawn from them

    def __len__(self) -> int:
        return len(self.docs)

    @property
    def pairs(self) -> int:
        """Sentences that have a next sentence in their document: the IsNext pairs this data can make."""
        return sum(max(0, len(d) - 1) for d in self.docs)

    def counts(self) -> dict[str, int]:
        return {_("documents"): len(self.docs), _("sentences"): sum(map(len, self.docs)),
                _("sentence pairs"): self.pairs}

    def subset(self, indices) -> "PretrainingData":
        return replace(self, docs=[self.docs[int(i)] for i in indices], notices=[])

    def split(self, fraction: float, seed: int) -> tuple["PretrainingData", "PretrainingData"]:
        """Held-out documents, not held-out sentences: a validation pair never shares a document with training."""
        n = len(self.docs)
        take = min(max(1, int(round(n * fraction))), n - 1)
        order = np.random.default_rng(seed).permutation(n).tolist()
        train, val = self.subset(order[take:]), self.subset(sorted(order[:take]))
        if train.pairs < MIN_PAIRS or val.pairs < 1:
            raise InputError(_("The {n} documents leave too few sentence pairs for training and validation: add "
                               "documents of several sentences, separated by blank lines.").format(n=n))
        return train, val


def prepare_table(table, config=None) -> PretrainingData:
    """Pre-training reads plain text: a table is refused with a message."""
    if table.text is None:
        raise InputError(_("'{filename}' is a table: pre-training reads plain text (.txt), paragraphs "
                           "separated by blank lines.").format(filename=table.filename))
    return prepare_text(table.text, table.filename)


def prepare_text(text: str, source: str) -> PretrainingData:
    docs = documents(text)
    data = PretrainingData(docs, source=source)
    if len(docs) < 3:
        raise InputError(_("'{file}' has {n} document(s): next-sentence prediction needs several documents (paragraphs "
                           "separated by blank lines), so that a random sentence can come from another one.").format(
                               file=source, n=len(docs)))
    if data.pairs < MIN_PAIRS:
        raise InputError(_("'{file}' has only {n} pairs of consecutive sentences; pre-training needs at least {m}: "
                           "write several sentences per paragraph.").format(file=source, n=data.pairs, m=MIN_PAIRS))
    return data


def pair_features(tokenizer, a_ids: list[int], b_ids: list[int], max_length: int) -> dict[str, list[int]]:
    """[CLS] A [SEP] B [SEP] with segment ids 0/1, the longer side cut from its end until the pair fits."""
    a, b = list(a_ids), list(b_ids)
    while len(a) + len(b) > max_length - 3:
        (a if len(a) >= len(b) else b).pop()
    ids = [tokenizer.cls_token_id, *a, tokenizer.sep_token_id, *b, tokenizer.sep_token_id]
    segments = [0] * (len(a) + 2) + [1] * (len(b) + 1)
    special = [1] + [0] * len(a) + [1] + [0] * len(b) + [1]
    return {"input_ids": ids, "token_type_ids": segments, "attention_mask": [1] * len(ids), "special_tokens_mask": special}


def _encode_docs(tokenizer, docs: list[list[str]]) -> list[list[list[int]]]:
    flat = [s for d in docs for s in d]
    ids = tokenizer(flat, add_special_tokens=False)["input_ids"] if flat else []
    out, k = [], 0
    for d in docs:
        out.append([ids[k + i] for i in range(len(d))])
        k += len(d)
    return out


def _random_sentence(rng: random.Random, docs: list[list[list[int]]], not_doc: int) -> list[int]:
    """A sentence from a document other than `not_doc` (BERT drew a random document, then a random sentence)."""
    other = rng.randrange(len(docs) - 1)
    other += other >= not_doc
    return docs[other][rng.randrange(len(docs[other]))]


class PretrainingPairs(EncodedDataset):
    """Training pairs: every sentence A that has a next sentence, `per_sentence` times per epoch.

    With two or more per sentence, A's items alternate IsNext / NotNext (every A is seen both ways each epoch, so an
    epoch is balanced); with one, the label is a coin flip as in BERT's create_pretraining_data. A NotNext B is drawn
    afresh every time an item is read, so each epoch pairs A with new random sentences. The Trainer reads items in a
    seeded order, so one seed gives one sequence of pairs: runs are reproducible.
    """

    unit = "pairs"

    def __init__(self, tokenizer, docs: list[list[str]], max_length: int, seed: int,
                 per_sentence: int = 1) -> None:
        self.tokenizer, self.max_length = tokenizer, max_length
        self.docs = _encode_docs(tokenizer, docs)
        self.anchors = [(d, s) for d, doc in enumerate(self.docs) for s in range(len(doc) - 1)]
        self.per_sentence = max(1, int(per_sentence))
        self.rng = random.Random(seed)
        super().__init__([])

    def __len__(self) -> int:
        return len(self.anchors) * self.per_sentence

    def __getitem__(self, index: int) -> dict[str, Any]:
        anchor, draw = divmod(index, self.per_sentence)
        d, s = self.anchors[anchor]
        is_next = self.rng.random() < 0.5 if self.per_sentence == 1 else draw % 2 == 0
        if is_next:
            b, label = self.docs[d][s + 1], IS_NEXT
        else:
            b, label = _random_sentence(self.rng, self.docs, d), NOT_NEXT
        row = pair_features(self.tokenizer, self.docs[d][s], b, self.max_length)
        row["next_sentence_label"] = label
        return row


def heldout_sentence_pairs(docs: list[list[Any]], seed: int, others: list[list[Any]] | None = None
                           ) -> list[tuple[Any, Any, int]]:
    """(A, B, label): every held-out A twice, with its real next sentence and with a random one from another document.

    Random sentences come from the held-out documents too (from the training ones when only one is held out). Works on
    sentences as text or as token ids alike: the same seed gives the same pairs (a baseline scores the same questions).
    """
    rng = random.Random(seed)
    pool = docs if len(docs) > 1 else list(docs) + list(others or [])
    return [(doc[s], b, label) for d, doc in enumerate(docs) for s in range(len(doc) - 1)
            for b, label in ((doc[s + 1], IS_NEXT), (_random_sentence(rng, pool, d), NOT_NEXT))]


def heldout_pairs(tokenizer, docs: list[list[str]], max_length: int, probability: float, seed: int,
                  others: list[list[str]] | None = None) -> EncodedDataset:
    """The held-out pairs (heldout_sentence_pairs) as features, masks fixed by the seed."""
    generator = torch.Generator().manual_seed(seed)
    encoded = _encode_docs(tokenizer, docs)
    rows = []
    for a, b, label in heldout_sentence_pairs(encoded, seed, _encode_docs(tokenizer, others or [])):
        row = pair_features(tokenizer, a, b, max_length)
        ids = torch.tensor(row["input_ids"])
        candidates = torch.tensor(row.pop("special_tokens_mask")) == 0
        chosen = (torch.rand(len(ids), generator=generator) < probability) & candidates
        if not chosen.any():
            options = torch.nonzero(candidates).flatten()
            chosen[options[torch.randint(len(options), (1,), generator=generator)]] = True
        row["labels"] = torch.where(chosen, ids, torch.full_like(ids, IGNORE)).tolist()
        row["input_ids"] = torch.where(chosen, torch.full_like(ids, tokenizer.mask_token_id), ids).tolist()
        row["next_sentence_label"] = label
        rows.append(row)
    return NextSentenceEval(rows)


class PretrainingCollator:
    """Masked-LM masking (training) or padding (held-out, pre-masked), plus the next-sentence labels."""

    def __init__(self, tokenizer, probability: float, seed: int) -> None:
        self.inner = MaskedLMCollator(tokenizer, probability, seed)

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        nsp = torch.tensor([int(f["next_sentence_label"]) for f in features], dtype=torch.long)
        batch = self.inner([{k: v for k, v in f.items() if k != "next_sentence_label"} for f in features])
        batch["next_sentence_label"] = nsp
        return batch


def evaluate_pretraining(predictions, label_ids) -> dict[str, float]:
    """Next-sentence accuracy (and per class), and masked-LM perplexity / top-1 / top-5 on the held-out masks."""
    token_scores, nsp_logits = predictions
    mlm_labels, nsp_labels = label_ids
    nsp_pred = np.asarray(nsp_logits).argmax(-1)
    nsp_labels = np.asarray(nsp_labels)
    out = {"nsp_accuracy": float((nsp_pred == nsp_labels).mean()) if len(nsp_labels) else 0.0}
    for label, name in ((IS_NEXT, "isnext_recall"), (NOT_NEXT, "notnext_recall")):
        mask = nsp_labels == label
        out[name] = float((nsp_pred[mask] == label).mean()) if mask.any() else 0.0
    keep = np.asarray(mlm_labels) != IGNORE
    scores = np.asarray(token_scores)[keep]
    out.update({
        "perplexity": perplexity(float(-scores[:, 0].mean())) if len(scores) else float("nan"),
        "top1_accuracy": float(scores[:, 1].mean()) if len(scores) else 0.0,
        "top5_accuracy": float(scores[:, 2].mean()) if len(scores) else 0.0,
    })
    return out


class NextSentenceEval(EncodedDataset):
    """The held-out pairs, carrying their own metric hooks for the Trainer."""

    unit = "pairs"

    @staticmethod
    def metric_hooks():
        def compute_metrics(prediction) -> dict[str, float]:
            return evaluate_pretraining(prediction.predictions, prediction.label_ids)

        def preprocess(logits, labels):
            prediction_logits, nsp_logits = logits[0], logits[1]
            mlm_labels = labels[0] if isinstance(labels, (tuple, list)) else labels
            return mlm_token_scores(prediction_logits, mlm_labels), nsp_logits.float()

        return compute_metrics, preprocess

    @staticmethod
    def evaluate(predictions, label_ids, full: bool = False) -> dict[str, Any]:
        return evaluate_pretraining(predictions, label_ids)


def build(train: PretrainingData, val: PretrainingData, tokenizer, max_length: int, probability: float, seed: int):
    """(training pairs, held-out pairs, collator) for the Trainer."""
    if tokenizer.mask_token_id is None or tokenizer.cls_token_id is None or tokenizer.sep_token_id is None:
        raise InputError(_("This tokenizer lacks [CLS], [SEP] or [MASK]: it cannot build BERT pre-training pairs."))
    return (PretrainingPairs(tokenizer, train.docs, max_length, seed, PAIRS_PER_SENTENCE),
            heldout_pairs(tokenizer, val.docs, max_length, probability, seed, others=train.docs),
            PretrainingCollator(tokenizer, probability, seed))


def _heads(model):
    """(encoder, masked-LM head, next-sentence head) of a BERT-style pre-training model, or None for another layout."""
    cls = getattr(model, "cls", None)
    predictions = getattr(cls, "predictions", None)
    relationship = getattr(cls, "seq_relationship", None)
    if predictions is None or relationship is None:
        return None
    return model.base_model, predictions, relationship


def training_loss(model, inputs: dict[str, torch.Tensor], nsp_weight: float = 1.0) -> torch.Tensor | None:
    """BertForPreTraining's training loss (mean cross-entropy over the masked tokens + next-sentence cross-entropy),
    with the vocabulary projection run on the masked positions only.

    The model's own forward projects EVERY position onto the whole vocabulary (for MiniLM as many multiply-adds as
    the six encoder layers) and then ignores 85% of them; the loss is the same either way. None for a model laid out
    otherwise (the Trainer then runs its own forward).
    """
    parts = _heads(model)
    if parts is None:
        return None
    encoder, predictions, relationship = parts
    labels, nsp_labels = inputs["labels"], inputs["next_sentence_label"]
    out = encoder(input_ids=inputs["input_ids"], attention_mask=inputs.get("attention_mask"),
                  token_type_ids=inputs.get("token_type_ids"), return_dict=True)
    chosen = labels != IGNORE
    loss_fn = torch.nn.CrossEntropyLoss()
    mlm = loss_fn(predictions(out.last_hidden_state[chosen]), labels[chosen])
    nsp = loss_fn(relationship(out.pooler_output), nsp_labels.view(-1))
    return mlm + nsp_weight * nsp


def check_model(model, name: str) -> None:
    """The base must have a next-sentence head class (BERT's pre-training); RoBERTa-style families have none."""
    import inspect

    if "next_sentence_label" not in inspect.signature(model.forward).parameters:
        raise InputError(_("'{name}' ({kind}) has no next-sentence head: pre-training with NSP needs a BERT-style "
                           "model with segment ids. Train a masked-LM instead.").format(
                               name=name, kind=type(model).__name__))
    if int(getattr(model.config, "type_vocab_size", 0) or 0) < 2:
        raise InputError(_("'{name}' has no segment (token type) embeddings, so it cannot tell sentence A from B.")
                         .format(name=name))
