"""Fetch checkpoints for offline use, into the Hugging Face cache or a models folder."""
from __future__ import annotations

from pathlib import Path

# Everything a BERT-family model needs to load; safetensors only, never pickled weights when avoidable.
PATTERNS = ["*.json", "*.txt", "*.model", "*.safetensors"]
FALLBACK_PATTERNS = ["*.json", "*.txt", "*.model", "pytorch_model.bin"]


def download(name: str, to: Path | None = None) -> Path:
    """Download `name` from the hub; with `to`, into to/<name> so the app's models folder lists it."""
    from huggingface_hub import list_repo_files, snapshot_download

    files = list_repo_files(name)
    patterns = PATTERNS if any(f.endswith(".safetensors") for f in files) else FALLBACK_PATTERNS
    target = None if to is None else str(Path(to) / name)
    path = snapshot_download(name, allow_patterns=patterns, local_dir=target)
    return Path(path)
