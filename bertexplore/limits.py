"""What a model folder may ask this server to build, checked before anything is built (issue 18 §3, §5).

A config.json is a few bytes anyone can write (a folder in models/, or online any hub id typed into the model box).
`num_hidden_layers: 1000000` over the weights of a 2-layer model made the server build layers at +40 MB/s with the
model-build lock held, stalling every other session's load, until memory ran out. So, before building:

- every size is bounded by what the BERT family actually uses, with room to spare (LIMITS);
- the parameter count the config implies must fit in the memory this machine has free, and, for a local folder,
  must not be far beyond what its weight files hold (a config edited to be huge over small weights).

Also here: our own messages for the load failures transformers and safetensors report in their own words (sizes
that do not match the config, a damaged weights file, no tokenizer files), with server paths shown as names.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from safetensors import SafetensorError

from .errors import BertExploreError, NotAModel
from .i18n import _
from .redact import hide_paths

# The largest of each in the families this app explores: BERT-large 24 layers / 1024 hidden / 16 heads, ALBERT-xxlarge
# 4096 hidden / 64 heads, XLM-R's 250k vocabulary, ModernBERT's 8192 positions. About 4x above each.
LIMITS: dict[str, int] = {
    "num_hidden_layers": 96,
    "hidden_size": 16384,
    "num_attention_heads": 256,
    "intermediate_size": 65536,
    "vocab_size": 1_000_000,
    "max_position_embeddings": 65536,
    "type_vocab_size": 1024,
    "embedding_size": 16384,
}
WEIGHT_FILES = (".safetensors", ".bin", ".pt", ".pth", ".h5", ".msgpack")
# A folder holds a tokenizer when one of these is in it (WordPiece, BPE, SentencePiece, or a fast tokenizer's file).
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "spiece.model", "sentencepiece.bpe.model",
                   "tokenizer.model", "sentencepiece.model")
# Weights on disk may be half precision (2 bytes a parameter) while the model is built in float32, and a fresh task
# head is not on disk at all: the implied size may exceed the files' by this factor plus SLACK_BYTES, no more.
DISK_FACTOR = 2.5
SLACK_BYTES = 64 * 2**20
MEMORY_SHARE = 0.8  # of the memory the machine has free: what one model may take
# What from_pretrained raises for weights it cannot use (loading.build turns each into `weights_error`).
LOAD_ERRORS = (OSError, ValueError, RuntimeError, EOFError, SafetensorError)


MAX_NAME_CHARS = 200  # hub ids are at most 96 + 1 + 96 characters; a models-folder name is shorter still


def check_name(name: str) -> None:
    """Refuse a model name no model can have, before it reaches the filesystem (a 20,000-character name gave
    "File name too long" from the operating system)."""
    if len(name) > MAX_NAME_CHARS:
        raise NotAModel(_("A model name has at most {limit} characters; this one has {length:,}. Pick a model from "
                          "the list, or type a Hugging Face id.").format(limit=MAX_NAME_CHARS, length=len(name)))


def _int(config: Any, name: str) -> int:
    value = getattr(config, name, None)
    try:
        return int(value) if value is not None else 0
    except (TypeError, ValueError):
        return 0


def implied_parameters(config: Any) -> int:
    """Parameters a BERT-family config builds (embeddings + encoder layers; a head adds little), roughly."""
    hidden = _int(config, "hidden_size")
    inner = _int(config, "intermediate_size") or 4 * hidden
    embed = _int(config, "embedding_size") or hidden  # ALBERT factorises its embeddings
    rows = _int(config, "vocab_size") + _int(config, "max_position_embeddings") + _int(config, "type_vocab_size")
    layers = _int(config, "num_hidden_layers")
    groups = _int(config, "num_hidden_groups")
    built_layers = min(layers, groups) if getattr(config, "model_type", "") == "albert" and groups else layers
    per_layer = 4 * hidden * hidden + 2 * hidden * inner + 9 * hidden + inner
    pooler = hidden * hidden + hidden
    return rows * embed + (embed * hidden if embed != hidden else 0) + built_layers * per_layer + pooler


def weights_on_disk(folder: str | os.PathLike) -> int:
    """Bytes of the weight files in a local model folder (0 when it has none)."""
    try:
        return sum(entry.stat().st_size for entry in os.scandir(folder)
                   if entry.is_file() and entry.name.endswith(WEIGHT_FILES))
    except OSError:
        return 0


def free_memory() -> int | None:
    """Bytes the machine can still give (MemAvailable on Linux), or None where it cannot be read."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _mb(nbytes: float) -> str:
    return f"{nbytes / 2**20:,.0f} MB"


def check_config(config: Any, name: str, folder: str | None = None, bytes_per_parameter: int = 4) -> None:
    """Refuse, before building, a config beyond sane sizes or beyond this machine; `folder`: the local folder."""
    for field, limit in LIMITS.items():
        value = _int(config, field)
        if value > limit or value < 0:
            raise NotAModel(_("'{name}' asks for {field} = {value:,}, beyond what this app builds ({limit:,} at "
                              "most): its config.json is damaged or not a BERT-family model.").format(
                                  name=name, field=field, value=value, limit=limit))
    hidden, heads = _int(config, "hidden_size"), _int(config, "num_attention_heads")
    if heads and hidden % heads:
        raise NotAModel(_("'{name}' has a hidden size ({hidden}) that its {heads} attention heads do not divide: "
                          "its config.json is damaged.").format(name=name, hidden=hidden, heads=heads))
    needed = implied_parameters(config) * bytes_per_parameter
    if folder is not None:
        on_disk = weights_on_disk(folder)
        if on_disk and needed > DISK_FACTOR * on_disk + SLACK_BYTES:
            raise NotAModel(_("'{name}' does not add up: its config.json describes a model of about {needed}, but "
                              "its weight files hold {on_disk}. The config was changed after the model was saved; "
                              "save the model again or restore its config.json.").format(
                                  name=name, needed=_mb(needed), on_disk=_mb(on_disk)))
    if folder is not None:
        check_tokenizer_files(folder, name)
    free = free_memory()
    if free is not None and needed > MEMORY_SHARE * free:
        raise NotAModel(_("'{name}' needs about {needed} of memory to load, and this server has {free} free. Pick "
                          "a smaller model.").format(name=name, needed=_mb(needed), free=_mb(free)))


def check_tokenizer_files(folder: str | os.PathLike, name: str) -> None:
    """A local folder without tokenizer files loads an EMPTY tokenizer (every word [UNK]): refuse it instead."""
    if not any((Path(folder) / file).is_file() for file in TOKENIZER_FILES):
        raise NotAModel(_("'{name}' has no tokenizer files (vocab.txt, tokenizer.json or a SentencePiece model): "
                          "save the tokenizer into the folder with the model (tokenizer.save_pretrained).").format(
                              name=name))


def tokenizer_error(name: str, err: BaseException) -> BertExploreError:
    """Our message for a tokenizer that would not load."""
    return NotAModel(_("'{name}' has tokenizer files that could not be read ({detail}). Save the tokenizer again "
                       "(tokenizer.save_pretrained) next to the model.").format(
                           name=name, detail=hide_paths(type(err).__name__)))


def weights_error(name: str, err: BaseException) -> BertExploreError:
    """Our message for weights that would not load: sizes that do not match the config, a damaged file, else the
    library's words with server paths shown as names."""
    if isinstance(err, BertExploreError):
        return err
    text = str(err)
    if "ignore_mismatched_sizes" in text or "size mismatch" in text:
        return NotAModel(_("The weights of '{name}' do not have the sizes its config.json declares (the config was "
                           "edited, or the weights belong to another model). Save the model again, or restore the "
                           "config.json it was saved with.").format(name=name))
    damaged = ("SafetensorError", "UnpicklingError", "EOFError", "BadZipFile")
    if type(err).__name__ in damaged or any(w in text.lower() for w in ("deserializ", "header", "corrupt",
                                                                        "truncated", "incomplete")):
        return NotAModel(_("The weights file of '{name}' is damaged or incomplete: it could not be read. Copy or "
                           "save the model again.").format(name=name))
    return NotAModel(_("Could not load the weights of '{name}': {err}").format(name=name, err=hide_paths(text)))
