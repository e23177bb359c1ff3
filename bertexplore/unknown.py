"""Why a text became [UNK]: which characters the vocabulary lacks, how much of the text was lost, what covers it.

Plain data from the tokenizer (no Streamlit): the pages show `UnknownReport.message()` as one shared notice.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Sequence

from .i18n import _, ngettext
from .segment import is_han

# Models that cover a script, in the order the notice suggests them.
COVERAGE: dict[str, tuple[str, ...]] = {
    "han": ("bert-base-chinese", "hfl/chinese-roberta-wwm-ext", "xlm-roberta-base"),
    "emoji": ("xlm-roberta-base",),
    "other": ("bert-base-multilingual-cased", "xlm-roberta-base"),
}


@dataclass(frozen=True)
class UnknownReport:
    """The [UNK] tokens of one tokenisation."""

    positions: tuple[int, ...]  # token positions that are the unknown token
    spans: tuple[str, ...]  # the text each of them stands for
    missing: tuple[str, ...]  # distinct characters the vocabulary cannot spell, in order of appearance
    unknown_chars: int  # non-space characters of the text inside [UNK] tokens
    total_chars: int  # non-space characters of the text the tokens cover
    tokens: int  # non-special tokens
    scripts: tuple[str, ...]  # "han", "emoji", "other": what the missing characters are
    suggestions: tuple[str, ...]  # models whose vocabulary covers those scripts

    @property
    def count(self) -> int:
        return len(self.positions)

    @property
    def share(self) -> float:
        """Share of the text's (non-space) characters that reached the model only as [UNK]."""
        return self.unknown_chars / self.total_chars if self.total_chars else 0.0

    def message(self) -> str:
        """One paragraph for the reader, in the current interface language (plain text, not Markdown)."""
        head = ngettext(
            "{count} token became [UNK]: {share:.0%} of the text reached the model as an unknown token.",
            "{count} tokens became [UNK]: {share:.0%} of the text reached the model as unknown tokens.",
            self.count,
        ).format(count=self.count, share=self.share)
        if self.missing:
            shown = " ".join(self.missing[:20]) + (" …" if len(self.missing) > 20 else "")
            what = _("Characters missing from the model's vocabulary: {chars}.").format(chars=shown)
        else:
            shown = " ".join(self.spans[:10]) + (" …" if len(self.spans) > 10 else "")
            what = _("Every character is in the vocabulary, but these words cannot be spelt from its pieces: {words}"
                     ).format(words=shown)
        parts = [head, what]
        if self.suggestions:
            parts.append(_("A model whose vocabulary covers them: {models}.").format(models=", ".join(self.suggestions)))
        # Chinese sentences end in a full stop of their own and run on without a space
        return "".join(p if p.endswith(("。", "！", "？")) else p + " " for p in parts).strip()


def script_of(ch: str) -> str:
    if is_han(ch):
        return "han"
    category = unicodedata.category(ch)
    code = ord(ch)
    if category == "So" or 0x1F000 <= code <= 0x1FAFF or 0x2600 <= code <= 0x27BF or 0xFE00 <= code <= 0xFE0F:
        return "emoji"
    return "other"


def _spellable(tokenizer, ch: str, unk_id: int) -> bool:
    ids = tokenizer(ch, add_special_tokens=False)["input_ids"]
    return bool(ids) and unk_id not in ids


def find_unknown(
    tokenizer,
    input_ids: Sequence[int],
    offsets: Sequence[tuple[int, int]],
    segment_ids: Sequence[int],
    special: Sequence[bool],
    texts: Sequence[str],
) -> UnknownReport | None:
    """The report for one tokenisation, or None when no token is unknown. Call it holding the tokenizer's lock."""
    unk_id = getattr(tokenizer, "unk_token_id", None)
    if unk_id is None:
        return None
    positions = tuple(p for p, i in enumerate(input_ids) if int(i) == unk_id and not special[p])
    if not positions:
        return None
    spans, unknown_chars, covered = [], 0, {}
    for pos, (start, end) in enumerate(offsets):
        if special[pos]:
            continue
        seg = segment_ids[pos] if segment_ids[pos] < len(texts) else 0
        covered.setdefault(seg, [len(texts[seg]), 0])
        covered[seg][0] = min(covered[seg][0], start)
        covered[seg][1] = max(covered[seg][1], end)
    total = sum(sum(not ch.isspace() for ch in texts[seg][a:b]) for seg, (a, b) in covered.items() if b > a)
    missing: dict[str, None] = {}
    for pos in positions:
        start, end = offsets[pos]
        seg = segment_ids[pos] if segment_ids[pos] < len(texts) else 0
        span = texts[seg][start:end]
        spans.append(span)
        unknown_chars += sum(not ch.isspace() for ch in span)
        for ch in span:
            if not ch.isspace() and ch not in missing and not _spellable(tokenizer, ch, unk_id):
                missing[ch] = None
    chars = tuple(missing)
    scripts = tuple(dict.fromkeys(script_of(ch) for ch in chars))
    current = str(getattr(tokenizer, "name_or_path", "") or "")
    suggestions = tuple(dict.fromkeys(
        model for script in scripts for model in COVERAGE[script] if not current.endswith(model)
    ))
    return UnknownReport(
        positions=positions, spans=tuple(dict.fromkeys(spans)), missing=chars, unknown_chars=unknown_chars,
        total_chars=total, tokens=sum(not s for s in special), scripts=scripts, suggestions=suggestions[:3],
    )
