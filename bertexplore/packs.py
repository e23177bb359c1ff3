"""Model packs: the sets of checkpoints a lesson needs, fetched with one command and copied to offline machines.

    python -m bertexplore download --pack classroom --to models

Plain data (no hub import), so the Home page can say what each model unlocks without touching the network.
"""
from __future__ import annotations

from dataclasses import dataclass

from .i18n import N_


@dataclass(frozen=True)
class PackModel:
    name: str  # hub id; `--to models` saves it under models/<name>
    what: str  # N_-marked: translate with _() where shown
    pages: tuple[str, ...]  # page titles it unlocks (N_-marked)
    head: str  # the loading head the pages use it with


PACKS: dict[str, tuple[PackModel, ...]] = {
    "classroom": (
        PackModel("bert-base-uncased", N_("English BERT with its pre-training heads (masked-LM and next sentence)"),
                  (N_("Masked-LM"), N_("Attention"), N_("Head ablation"), N_("Next sentence")), "pretraining"),
        PackModel("distilbert-base-uncased-finetuned-sst-2-english", N_("sentiment classifier (SST-2)"),
                  (N_("Classification"),), "sequence-classification"),
        PackModel("dslim/bert-base-NER", N_("named-entity tagger (CoNLL-2003: people, places, organisations)"),
                  (N_("Named entities"),), "token-classification"),
        PackModel("deepset/bert-base-cased-squad2", N_("question answering (SQuAD 2.0, can say 'no answer')"),
                  (N_("Question answering"),), "question-answering"),
        PackModel("bert-base-chinese", N_("Chinese BERT (character tokens) with a masked-LM head"),
                  (N_("Masked-LM"), N_("Attention")), "mlm"),
    ),
}

def pack_command(pack: str = "classroom") -> str:
    """The command that fetches a pack, as it works from the app folder (download.download_command)."""
    from .download import download_command

    return download_command("--pack", pack, "--to", "models")
