"""Which checkpoints suit which task page: local folders found by their config's `architectures`, plus hub ids.

Reading a checkpoint's files (architectures, weight names, the heads it serves) lives below the registry, in
bertexplore.checkpoint_heads; this module builds the task pages' pickers and advice on top of both.
"""
from __future__ import annotations

from pathlib import Path

from ..checkpoint_heads import ARCHITECTURE_ENDINGS, architectures, saved_heads, weight_names  # noqa: F401 (API)
from ..i18n import N_, _
from ..registry import OFFLINE_MODEL, RECOMMENDED_TASK_MODELS, list_local_models, models_dir

# A task page's head -> the architecture-name endings that carry it (from the one table, checkpoint_heads).
HEAD_ARCHITECTURES: dict[str, tuple[str, ...]] = {
    head: endings for head, endings in ARCHITECTURE_ENDINGS.items() if head != "mlm"}

TASK_TITLES = {
    "sequence-classification": N_("sequence classification"),
    "token-classification": N_("named-entity recognition (token classification)"),
    "question-answering": N_("extractive question answering"),
    "pretraining": N_("next-sentence prediction"),
}


def fetch_command(name: str) -> str:
    """The exact command that saves `name` into the app's models folder for offline use."""
    from ..download import download_command

    return download_command(name, "--to", "models")


def has_task_architecture(folder: str | Path, head: str) -> bool:
    endings = HEAD_ARCHITECTURES.get(head, ())
    return any(arch.endswith(endings) for arch in architectures(folder))


def local_checkpoints(head: str) -> list[str]:
    """Names (relative to the models folder) of local checkpoints that carry `head` (by weights or architecture)."""
    root = models_dir()
    return [name for name in list_local_models() if head in saved_heads(root / name)]


def recommended(head: str) -> tuple[str, ...]:
    return RECOMMENDED_TASK_MODELS.get(head, ())


def choices(head: str) -> list[str]:
    """Picker entries: local checkpoints first (they work offline), then recommended hub ids, then the packaged model."""
    out = local_checkpoints(head)
    out += [name for name in recommended(head) if name not in out]
    out.append(OFFLINE_MODEL)  # offered so the page can explain that it lacks the head
    return out


def _architecture_kind(arch: str) -> str:
    """A short human name for what an architecture's head does."""
    for head, endings in HEAD_ARCHITECTURES.items():
        if arch.endswith(endings):
            return _("a model for {task}").format(task=_(TASK_TITLES[head]))
    if arch.endswith("ForMaskedLM"):
        return _("a masked-language model")
    if arch.endswith(("Model",)):
        return _("a plain encoder with no task head")
    return _("a model with another head")


def head_problem(loaded, head: str, advice_wanted: bool = True) -> str | None:
    """Why `loaded` cannot serve a page that needs `head` (plain words), or None when it can.

    Two checks: the architecture the checkpoint was saved as (a sentence classifier's `classifier` weights
    would load silently into a token classifier, since the tensors have the same names and shapes), and
    whether the head's weights were actually in the checkpoint (else they are random).
    """
    task = _(TASK_TITLES[head]) if head in TASK_TITLES else head
    suggestion = recommended(head)
    if suggestion:
        advice = _("Pick a checkpoint fine-tuned for this task, e.g. {model} (offline: fetch it with `{command}`), "
                   "or train one on the Fine-tune page; it saves into the local models folder, where this page "
                   "finds it.").format(model=suggestion[0], command=fetch_command(suggestion[0]))
    else:
        advice = _("Pick a checkpoint fine-tuned for this task, or train one on the Fine-tune page; it saves into "
                   "the local models folder, where this page finds it.")
    if not advice_wanted:
        advice = ""  # the page gives the ways to get one itself (ui.head_models)
    if loaded.name == OFFLINE_MODEL:
        return _("The packaged all-MiniLM-L6-v2 is a sentence-embedding encoder: it has no {task} head, so it "
                 "cannot make these predictions. {advice}").format(task=task, advice=advice)
    if loaded.head != head:
        return _("'{name}' was loaded with a {loaded_head} head; this page needs a {task} head.").format(
            name=loaded.name, loaded_head=loaded.head, task=task)
    archs = tuple(getattr(loaded.config, "architectures", None) or ())
    if head == "pretraining":
        # What matters is whether the next-sentence weights were loaded: bert-base-uncased declares
        # BertForMaskedLM yet ships them, a BertForNextSentencePrediction checkpoint lacks the MLM half,
        # and some families' pre-training class has no next-sentence head at all.
        has_nsp = any("seq_relationship" in n for n, _p in loaded.model.named_parameters())
        missing_keys = tuple(k for k in loaded.missing_keys if "seq_relationship" in k)
        if has_nsp and not missing_keys:
            return None
        if archs:
            return _("'{name}' has no trained next-sentence head, so its IsNext/NotNext scores would be meaningless. "
                     "It was saved as {architecture}, {kind}. {advice}").format(
                name=loaded.name, architecture=archs[0], kind=_architecture_kind(archs[0]), advice=advice)
        return _("'{name}' has no trained next-sentence head, so its IsNext/NotNext scores would be meaningless. "
                 "{advice}").format(name=loaded.name, advice=advice)
    endings = HEAD_ARCHITECTURES.get(head, ())
    if archs and not any(a.endswith(endings) for a in archs):
        return _("'{name}' was saved as {architecture}, {kind}, not a {task} checkpoint; its outputs here would be "
                 "meaningless. {advice}").format(name=loaded.name, architecture=archs[0],
                                                 kind=_architecture_kind(archs[0]), task=task, advice=advice)
    missing_keys = tuple(loaded.missing_keys)
    has_head = loaded.has_head
    if not has_head:
        missing = ", ".join(missing_keys[:3]) + ("…" if len(missing_keys) > 3 else "")
        return _("'{name}' has no trained {task} head (the checkpoint lacks {missing}); its predictions would be "
                 "random. {advice}").format(name=loaded.name, task=task, missing=missing, advice=advice)
    return None


def require_head(loaded, head: str) -> None:
    """Raise UnsupportedModel with head_problem's explanation when `loaded` lacks `head`."""
    from ..errors import UnsupportedModel

    problem = head_problem(loaded, head)
    if problem:
        raise UnsupportedModel(problem)
