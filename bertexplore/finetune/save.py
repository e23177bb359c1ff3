"""Save a fine-tuned model into the local models folder, atomically, with a model card.

The files are written into a hidden temporary folder inside models_dir() (same filesystem), then
moved into place with one os.rename: a crash, a closed tab or a full disk leaves either the complete
model or nothing under the chosen name, never half of one. Hidden folders are not offered by the picker.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
import unicodedata
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..registry import OFFLINE_MODEL, models_dir
from .config import TASKS
from .train import TrainResult

MAX_NAME = 64
_RESERVED = {"con", "prn", "aux", "nul", "com1", "lpt1", "models", "tmp"}


def sanitize_name(name: str) -> str:
    """A safe folder name: ASCII letters, digits, '-', '_' and '.', no path separators, no leading dot."""
    text = unicodedata.normalize("NFKD", str(name or "")).encode("ascii", "ignore").decode()
    text = re.sub(r"[^A-Za-z0-9._-]+", "-", text.strip())
    text = re.sub(r"\.{2,}", ".", re.sub(r"-{2,}", "-", text)).strip(".-_")[:MAX_NAME].strip(".-_")
    if not text or text.lower() in _RESERVED:
        raise InputError(f"'{name}' cannot be used as a model name: use letters, digits, '-', '_' or '.', "
                         "e.g. 'minilm-sentiment'.")
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
        f"- Data: `{result.data_source}` ({result.train_samples} training / {result.val_samples} validation examples, "
        f"split with seed {cfg.seed})",
        f"- Labels: {labels}",
        f"- Training: {result.steps} of {result.total_steps} steps in {result.train_seconds:.1f} s"
        + (" (stopped early by the user)" if result.stopped else ""),
        f"- Hyper-parameters: " + ", ".join(f"{k}={v}" for k, v in hyper.items()),
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


_PIPELINE_TAGS = {"classification": "text-classification", "multilabel": "text-classification",
                  "ner": "token-classification", "mlm": "fill-mask", "pretraining": "fill-mask",
                  "qa": "question-answering"}


def save_model(result: TrainResult, name: str, overwrite: bool = False, root: Path | None = None) -> Path:
    """Write model, tokenizer, model card, job config and metrics under root/name (default models_dir())."""
    folder_name = sanitize_name(name)
    root = Path(root) if root is not None else models_dir()
    root.mkdir(parents=True, exist_ok=True)
    final = root / folder_name
    if final.exists() and not overwrite:
        raise InputError(f"A model named '{folder_name}' already exists in {root}. Pick another name or allow overwriting.")
    scratch = Path(tempfile.mkdtemp(prefix=f".tmp-{folder_name}-", dir=root))
    try:
        result.model.save_pretrained(scratch)
        result.tokenizer.save_pretrained(scratch)
        config = result.config.to_dict() | {"output_name": folder_name}
        (scratch / "training_config.yaml").write_text(type(result.config)(**config).to_yaml(), encoding="utf-8")
        (scratch / "metrics.json").write_text(json.dumps({
            "before": result.metrics_before, "after": result.metrics_after, "losses": result.losses,
            "steps": result.steps, "total_steps": result.total_steps, "stopped": result.stopped,
            "train_seconds": result.train_seconds, "samples_per_second": result.samples_per_second,
            "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }, indent=2), encoding="utf-8")
        (scratch / "README.md").write_text(model_card(result, folder_name), encoding="utf-8")
        os.chmod(scratch, 0o755)  # mkdtemp makes it private; a saved model is for every user of this app
        if final.exists():
            # Replace: move the old one aside first, so the name points to a complete model at every moment but one rename.
            retired = Path(tempfile.mkdtemp(prefix=f".old-{folder_name}-", dir=root))
            os.rename(final, retired / "model")
            os.rename(scratch, final)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.rename(scratch, final)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return final
