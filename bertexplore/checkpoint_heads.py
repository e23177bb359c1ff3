"""What a saved checkpoint carries, read from its files without building it: the loading head it was saved with
(config.json's `architectures`) and the heads whose weights it really holds (safetensors headers).

A leaf module (no imports from the registry or the tasks): the registry, the task pickers and Inside BERT all read
checkpoints through it. The heads of a model already built are `bertexplore.heads`' business.
"""
from __future__ import annotations

import json
import struct
from pathlib import Path

# Loading head -> the architecture-name endings save_pretrained writes for it. THE table: the first match in this
# order names the head a checkpoint was saved with.
ARCHITECTURE_ENDINGS: dict[str, tuple[str, ...]] = {
    "pretraining": ("ForPreTraining", "ForNextSentencePrediction"),
    "mlm": ("ForMaskedLM",),
    "sequence-classification": ("ForSequenceClassification",),
    "token-classification": ("ForTokenClassification",),
    "question-answering": ("ForQuestionAnswering",),
}

# Weight-name prefixes of masked-LM heads, per family (BERT, DistilBERT, RoBERTa-likes, ALBERT, ELECTRA's generator).
MLM_WEIGHTS = ("cls.predictions.", "vocab_projector.", "vocab_transform.", "lm_head.", "predictions.",
               "generator_lm_head.")


def head_for_architectures(architectures) -> str:
    """The loading head a checkpoint was saved with (its config's `architectures`), else the bare encoder."""
    for arch in architectures or ():
        for head, endings in ARCHITECTURE_ENDINGS.items():
            if str(arch).endswith(endings):
                return head
    return "base"


def architectures(folder: str | Path) -> tuple[str, ...]:
    """The `architectures` a saved checkpoint declares; empty when unreadable."""
    try:
        config = json.loads((Path(folder) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ()
    archs = config.get("architectures") or ()
    return tuple(a for a in archs if isinstance(a, str))


def weight_names(folder: str | Path) -> frozenset[str]:
    """Tensor names in a checkpoint's safetensors files, read from their headers (no weights are loaded).

    Empty when the checkpoint has only pickled weights or cannot be read: callers fall back to `architectures`.
    """
    folder = Path(folder)
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        try:
            return frozenset(json.loads(index.read_text(encoding="utf-8")).get("weight_map", {}))
        except (OSError, ValueError):
            return frozenset()
    names: set[str] = set()
    try:
        with (folder / "model.safetensors").open("rb") as handle:
            size = struct.unpack("<Q", handle.read(8))[0]
            if size > 100_000_000:
                return frozenset()
            header = json.loads(handle.read(size))
    except (OSError, ValueError, struct.error):
        return frozenset()
    names.update(k for k in header if k != "__metadata__")
    return frozenset(names)


def saved_heads(folder: str | Path) -> tuple[str, ...]:
    """The loading heads a local checkpoint really serves, from its weights when they can be read, else its
    architectures.

    bert-base-uncased declares BertForMaskedLM yet ships its next-sentence head too: by weights it serves the
    Next-sentence page as well as the Masked-LM page.
    """
    archs = architectures(folder)
    names = weight_names(folder)
    heads = [head for head, endings in ARCHITECTURE_ENDINGS.items()
             if head != "mlm" and any(a.endswith(endings) for a in archs)]
    if names:
        has_nsp = any("seq_relationship" in n for n in names)
        if "pretraining" in heads and not has_nsp:
            heads.remove("pretraining")  # e.g. ELECTRA's pre-training class: a discriminator, no next-sentence head
        elif has_nsp and "pretraining" not in heads:
            heads.append("pretraining")
        if any(n.startswith(MLM_WEIGHTS) for n in names):
            heads.append("mlm")
    elif any(a.endswith(ARCHITECTURE_ENDINGS["mlm"] + ("ForPreTraining",)) for a in archs):
        heads.append("mlm")
    return tuple(dict.fromkeys(heads))
