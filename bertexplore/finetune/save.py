"""Save a fine-tuned model into the local models folder, atomically, with a model card.

The files are written into a hidden temporary folder inside models_dir() (same filesystem), then
moved into place with one os.rename: a crash, a closed tab or a full disk leaves either the complete
model or nothing under the chosen name, never half of one. Hidden folders are not offered by the picker.

A process killed mid-save (kill -9, power loss) cannot clean up after itself: every temporary folder carries a
marker naming the process that made it, and `clean_stale_saves()` (run once at start-up) removes the ones whose
process is gone. Replacing a saved model needs the fingerprint of the exact model the user agreed to lose
(`saved_model(name).fingerprint`): models are shared by every session, and a model with another head is never
replaced by a plain "overwrite".
"""
from __future__ import annotations

import json
import os
import re
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..i18n import _
from ..registry import OFFLINE_MODEL, models_dir
from .config import TASKS
from .save_folders import MARKER, done, make_temp, release_temp
from .train import TrainResult

MAX_NAME = 64
_RESERVED = {"con", "prn", "aux", "nul", "com1", "lpt1", "models", "tmp"}


def proposed_name(stem: str, root: Path | None = None) -> str:
    """A save name built from `stem` that names no saved model yet (stem, stem-2, stem-3...), at most MAX_NAME long.

    The page proposes it: accepting a proposal must never replace a model (an English one by a Chinese-data run...).
    """
    root = Path(root) if root is not None else models_dir()
    try:
        base = sanitize_name(stem)
    except InputError:
        base = "model"
    for n in range(1, 1000):
        suffix = "" if n == 1 else f"-{n}"
        name = base[:MAX_NAME - len(suffix)].rstrip(".-_") + suffix
        if not (root / name).exists():
            return name
    return base


def sanitize_name(name: str) -> str:
    """A safe folder name: ASCII letters, digits, '-', '_' and '.', no path separators, no leading dot."""
    text = unicodedata.normalize("NFKD", str(name or "")).encode("ascii", "ignore").decode()
    text = re.sub(r"[^A-Za-z0-9._-]+", "-", text.strip())
    text = re.sub(r"\.{2,}", ".", re.sub(r"-{2,}", "-", text)).strip(".-_")[:MAX_NAME].strip(".-_")
    if not text or text.lower() in _RESERVED:
        raise InputError(_("'{name}' cannot be used as a model name: use letters, digits, '-', '_' or '.', "
                           "e.g. 'minilm-sentiment'.").format(name=name))
    return text


def model_card(result: TrainResult, name: str) -> str:
    cfg = result.config
    base = cfg.base_model
    about = "sentence-transformers/all-MiniLM-L6-v2 (packaged with bertexplore)" if base == OFFLINE_MODEL else base

    def fmt(metrics: dict[str, Any]) -> str:
        return ", ".join(f"{k} {v:.4g}" for k, v in metrics.items() if isinstance(v, float)) or "n/a"

    hyper = {k: getattr(cfg, k) for k in ("epochs", "learning_rate", "batch_size", "max_length", "seed",
                                          "weight_decay", "warmup_ratio", "validation_fraction")}
    if cfg.task in ("mlm", "pretraining"):
        hyper["mlm_probability"] = cfg.mlm_probability
    if cfg.task == "pretraining":  # the recipe's own settings (bertexplore.finetune.pretraining), beside the job's
        from . import pretraining
        hyper.update(pairs_per_sentence=pretraining.PAIRS_PER_SENTENCE, head_lr_scale=pretraining.HEAD_LR_SCALE,
                     nsp_loss_weight=pretraining.NSP_LOSS_WEIGHT)
    labels = ", ".join(result.label_names) if result.label_names else "(vocabulary: masked-LM)"
    lines = [
        "---",
        f"base_model: {json.dumps(about)}",
        "library_name: transformers",
        f"pipeline_tag: {_PIPELINE_TAGS[cfg.task]}",
        "tags: [bertexplore, fine-tuned]",
        "---",
        f"# {name}",
        "",
        f"Fine-tuned with bertexplore's fine-tuning panel for **{TASKS[cfg.task].lower()}**.",
        "",
        f"- Base model: {about}",
        f"- Data: `{result.data_source}` ({result.train_samples} training / {result.val_samples} validation "
        f"{_CARD_UNITS.get(result.val_unit, result.val_unit)}, split with seed {cfg.seed})",
        f"- Labels: {labels}",
        f"- Training: {result.steps} of {result.total_steps} steps in {result.train_seconds:.1f} s"
        + (" (stopped early by the user)" if result.stopped else ""),
        "- Hyper-parameters: " + ", ".join(f"{k}={v}" for k, v in hyper.items()),
        "",
        "## Validation metrics",
        "",
        f"- Before fine-tuning: {fmt(result.metrics_before)}",
        f"- After fine-tuning: {fmt(result.metrics_after)}",
        "",
        "Validation sets of bundled samples are small: treat these numbers as a demo, not a benchmark.",
        *(["", *[f"- {note}" for note in result.notes]] if result.notes else []),
        "",
        "## Reproduce",
        "",
        "```bash",
        "python -m bertexplore.finetune --config training_config.yaml",
        "```",
        "",
    ]
    return "\n".join(lines)


_CARD_UNITS = {"examples": "examples", "pairs": "sentence pairs", "windows": "question windows"}
_PIPELINE_TAGS = {"classification": "text-classification", "multilabel": "text-classification",
                  "ner": "token-classification", "mlm": "fill-mask", "pretraining": "fill-mask",
                  "qa": "question-answering"}


# ------------------------------------------------------------------ what a replace would lose
@dataclass(frozen=True)
class SavedModel:
    """A model already in the models folder, as the confirmation before replacing it names it."""

    name: str
    folder: Path
    task: str  # the fine-tuning task key ("mlm", ...) when the app made it, else ""
    architecture: str  # config.json architectures[0], e.g. BertForMaskedLM: tells the head
    saved_at: str  # when it was saved (model card metrics, else the folder's time), "YYYY-MM-DD HH:MM"
    fingerprint: str  # changes whenever the folder's model changes: a confirmation is for this exact model

    def description(self) -> str:
        what = TASKS[self.task] if self.task in TASKS else (self.architecture or _("unknown model type"))
        return _("{what} ({architecture}), saved {date}").format(
            what=what, architecture=self.architecture or "?", date=self.saved_at)


def _architecture(folder: Path) -> str:
    try:
        archs = json.loads((folder / "config.json").read_text(encoding="utf-8")).get("architectures") or []
        return str(archs[0]) if archs else ""
    except (OSError, ValueError, AttributeError):
        return ""


def saved_model(name: str, root: Path | None = None) -> SavedModel | None:
    """The model saved under `name` (sanitised as save_model does), or None when there is none."""
    folder_name = sanitize_name(name)
    root = Path(root) if root is not None else models_dir()
    folder = root / folder_name
    if not folder.is_dir():
        return None
    task, saved_at = _read_yaml_task(folder / "training_config.yaml"), ""
    try:
        saved_at = json.loads((folder / "metrics.json").read_text(encoding="utf-8")).get("saved_at", "")
    except (OSError, ValueError, AttributeError):
        pass
    stat = folder.stat()
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(stat.st_mtime))
    if saved_at:
        when = saved_at[:16].replace("T", " ")
    try:
        cfg = (folder / "config.json").stat()
        stamp = f"{cfg.st_ino}:{cfg.st_mtime_ns}:{cfg.st_size}"
    except OSError:
        stamp = "no-config"
    return SavedModel(folder_name, folder, task, _architecture(folder), when, f"{stat.st_ino}:{stamp}")


def _read_yaml_task(path: Path) -> str:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, ValueError, yaml.YAMLError):
        return ""  # not made by the app: the architecture still tells the head
    return str(data.get("task", "")) if isinstance(data, dict) else ""


def _new_architecture(result: TrainResult) -> str:
    return type(result.model).__name__  # what save_pretrained writes into config.json's architectures


def save_model(result: TrainResult, name: str, overwrite: bool = False, root: Path | None = None,
               replace: str | None = None) -> Path:
    """Write model, tokenizer, model card, job config and metrics under root/name (default models_dir()).

    An existing model there is replaced only when `replace` is its fingerprint (the user confirmed losing exactly
    that model), or with `overwrite` when it has the same architecture (head) as the new one (the command line's
    --output-name). Anything else raises InputError naming what would be lost.
    """
    folder_name = sanitize_name(name)
    root = Path(root) if root is not None else models_dir()
    root.mkdir(parents=True, exist_ok=True)
    final = root / folder_name
    existing = saved_model(folder_name, root)
    if existing is not None:
        same_head = existing.architecture == _new_architecture(result)
        if replace is not None and replace != existing.fingerprint:
            raise InputError(_("The model '{name}' changed after you confirmed replacing it (it is now: {what}). "
                               "Nothing was saved; confirm again or pick another name.").format(
                name=folder_name, what=existing.description()))
        if replace is None and not (overwrite and same_head):
            raise InputError(_("A model named '{name}' already exists: {what}. Replacing it deletes it for everyone "
                               "using this app; pick another name or confirm the replacement.").format(
                name=folder_name, what=existing.description()))
    scratch = make_temp(f".tmp-{folder_name}-", root, folder_name)
    try:
        result.model.save_pretrained(scratch)
        result.tokenizer.save_pretrained(scratch)
        config = result.config.to_dict() | {"output_name": folder_name}
        (scratch / "training_config.yaml").write_text(type(result.config)(**config).to_yaml(), encoding="utf-8")
        (scratch / "metrics.json").write_text(json.dumps({
            "before": result.metrics_before, "after": result.metrics_after, "losses": result.losses,
            "steps": result.steps, "total_steps": result.total_steps, "stopped": result.stopped,
            "train_seconds": result.train_seconds, "samples_per_second": result.samples_per_second,
            "validation_items": result.val_samples, "validation_unit": result.val_unit,
            "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }, indent=2), encoding="utf-8")
        (scratch / "README.md").write_text(model_card(result, folder_name), encoding="utf-8")
        os.chmod(scratch, 0o755)  # mkdtemp makes it private; a saved model is for every user of this app
        if final.exists():
            # Replace: move the old one aside first, so the name points to a complete model at every moment but one rename.
            retired = make_temp(f".old-{folder_name}-", root, folder_name)
            os.rename(final, retired / "model")
            os.rename(scratch, final)
            release_temp(retired)
        else:
            os.rename(scratch, final)
    except BaseException:
        release_temp(scratch)
        raise
    done(scratch)
    (final / MARKER).unlink(missing_ok=True)  # a model now, not a leftover (only .tmp-/.old- folders are cleaned)
    return final
