"""The causal lab's bundled material (assets/causal, written for this project) and the NER set it probes.

    agreement_<lang>.jsonl  minimal pairs {clean, corrupt, target, contrast, attractor}: subject–verb agreement
                            with an attractor noun (EN); noun–classifier agreement (中文: verbs do not agree there)
    pos_<lang>.txt          sentences tagged with Universal POS tags, one a line: word/TAG word/TAG …
The NER sentences come from assets/datasets/ner[_zh].jsonl ({tokens, tags}, BIO tags; the B-/I- prefix is dropped
for probing, so the tag is the entity type or O).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

ASSETS = Path(__file__).resolve().parents[2] / "assets"
LANGUAGES = ("en", "zh")


@dataclass(frozen=True)
class MinimalPair:
    clean: str
    corrupt: str
    target: str
    contrast: str
    attractor: str


@dataclass(frozen=True)
class Tagged:
    words: tuple[str, ...]
    tags: tuple[str, ...]


def minimal_pairs(language: str = "en") -> list[MinimalPair]:
    path = ASSETS / "causal" / f"agreement_{language}.jsonl"
    return [MinimalPair(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def pos_sentences(language: str = "en") -> list[Tagged]:
    out = []
    for line in (ASSETS / "causal" / f"pos_{language}.txt").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        pairs = [item.rsplit("/", 1) for item in line.split()]
        out.append(Tagged(tuple(w for w, _t in pairs), tuple(t for _w, t in pairs)))
    return out


def ner_sentences(language: str = "en") -> list[Tagged]:
    name = "ner.jsonl" if language == "en" else f"ner_{language}.jsonl"
    out = []
    for line in (ASSETS / "datasets" / name).read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            out.append(Tagged(tuple(row["tokens"]), tuple(t.split("-", 1)[-1] for t in row["tags"])))
    return out


TAGSETS = {"pos": pos_sentences, "ner": ner_sentences}
