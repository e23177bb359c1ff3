"""Find English that reached a page in Chinese mode without going through the catalog.

What is checked: every text element a page renders (titles, headers, markdown, captions, info/warning/error/success
boxes, plain text, metrics), every widget's label, help and placeholder, button and download-button labels, tab and
expander labels, dataframe column headers, and plotly figure titles, axis titles, legend and colour-bar titles and
annotations.

A text leaks when, after taking out what is legitimately not translated, an English word of two or more letters is
left. Taken out: code (`...` spans and st.code blocks), URLs and file paths, model names (the registry's and the
session's), the user's own input (the values of text boxes, which may be English on purpose), tokens in brackets
([CLS], [MASK]…), and a short list of terms Chinese NLP courses keep in English (BERT, softmax, F1, CSV…).

What it cannot catch: text inside iframes (bertviz) and inside st.html beyond its visible words; option lists of
select boxes, dataframe cells and plotly tick labels and hover texts (they hold data: tokens, labels, numbers);
text shown only after an interaction the test does not perform (a button press, an error path not triggered);
English words that are also on the allowed list; and whether a translation is good.
"""
from __future__ import annotations

import json
import re
from typing import Iterator
from ui.markdown import plain

# Terms Chinese BERT teaching material writes in English; everything else English is a leak.
ALLOWED = {  # case-sensitive: "MASK" (the token) is allowed, "mask" (a word) is not
    w for w in """
    BERT RoBERTa MacBERT DistilBERT ALBERT XLM GPT Transformer Transformers WordPiece SentencePiece BPE
    CLS SEP MASK UNK PAD IsNext NotNext softmax sigmoid GELU LayerNorm logit logits Adam AdamW
    PNG CSV NPZ JSON JSONL TSV TXT URL GPU CPU CUDA MPS float32 float16 bfloat16 int8 F1 IG NSP MLM NER QA SQuAD
    BIO PER LOC ORG MISC Hugging Face Hub Trainer PyPI bertviz bertexplore captum jieba Streamlit safetensors
    PyTorch torch transformers ID id ids top-k top-p max min MB GB KB ms wwm HFL MiniLM ext ETA PLL AUC
    seqeval sentence-transformers Google Wikipedia Python pip npm emoji Q K V QK AB ALTI PCA lens
    auto cpu cuda mps base mlm pretraining kB NumPy rollout Ctrl Enter
    """.split()
} | {  # authors the pages cite
    "Ferrando", "Kobayashi", "Clark", "Kovaleva", "Michel", "Linzen", "Ettinger", "Devlin", "Vaswani", "Abnar",
    "Zuidema", "Sundararajan", "Gauss-Legendre", "Spearman", "Salazar", "Kauf", "Ivanova", "Top-k",
    "Dai", "Hewitt", "Liang",  # the Causal lab's knowledge neurons and control-task probes
    "Gauss", "Kronrod", "Legendre",  # integrated gradients' quadrature rules (names of mathematicians)
}
WORD = re.compile(r"[A-Za-z][A-Za-z'’\-]*[A-Za-z]")
CODE = re.compile(r"`[^`]*`")
URL = re.compile(r"(https?://|www\.)\S+|\b[\w.\-]+/[\w.\-/]+\b|\b\w+\.(py|csv|jsonl|txt|tsv|npz|png|json|yaml|yml)\b"
                 r"|[A-Za-z0-9_.\-]*(?:bert|BERT|roberta|RoBERTa|MiniLM|xlm|electra|albert)[A-Za-z0-9_.\-]*")  # model ids
BRACKETED = re.compile(r"\[[A-Z]{2,6}\]|##\w+")
TAGS = re.compile(r"<[^>]+>")
STYLE = re.compile(r"<style.*?</style>|<script.*?</script>", re.S)


def leaks(text: str, exclude: tuple[str, ...] = (), words: frozenset[str] = frozenset()) -> list[str]:
    """English words left in `text` once code, URLs, model names, the user's input (`exclude` as strings, `words`
    as lower-case words: a token of the input may show on its own) and allowed terms are out."""
    if not text:
        return []
    text = re.sub(r"\\(.)", r"\1", str(text))  # Markdown escapes (ui.markdown.plain) show as the character
    text = STYLE.sub(" ", text)
    text = TAGS.sub(" ", text)
    text = CODE.sub(" ", text)
    for item in sorted((e for e in exclude if e and len(e) > 2), key=len, reverse=True):
        # whole items only: "distilbert-base-uncased" is not taken out of "distilbert-base-uncased-finetuned-sst-2"
        text = re.sub(r"(?<![\w-])" + re.escape(item) + r"(?![\w-])", " ", text)
    text = URL.sub(" ", text)
    text = BRACKETED.sub(" ", text)
    text = re.sub(r":material/[a-z_]+:", " ", text)
    return [w for w in WORD.findall(text) if w not in ALLOWED and w.lower() not in words]


def _plotly_texts(spec: dict) -> Iterator[str]:
    layout = spec.get("layout", {})

    def title(node) -> str | None:
        if isinstance(node, dict):
            t = node.get("title")
            return t.get("text") if isinstance(t, dict) else t
        return None

    yield title(layout) or ""
    for key, value in layout.items():
        if key.startswith(("xaxis", "yaxis", "coloraxis", "legend")):
            yield title(value) or ""
            if key.startswith("coloraxis"):
                yield title(value.get("colorbar", {})) or ""
    for note in layout.get("annotations", []) or []:
        yield note.get("text", "")
    for trace in spec.get("data", []):
        yield trace.get("name", "") if trace.get("showlegend", True) is not False else ""
        yield title(trace.get("colorbar", {})) or ""


def rendered_texts(at) -> Iterator[tuple[str, str]]:
    """(where, text) for every user-facing string of the page (see the module docstring)."""
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success",
                 "text", "toast"):
        for el in getattr(at, kind):
            yield kind, str(el.value)
    for el in at.metric:
        yield "metric", el.label
    for kind in ("button", "checkbox", "toggle", "radio", "selectbox", "multiselect", "slider", "select_slider",
                 "text_input", "text_area", "number_input", "segmented_control", "pills", "file_uploader"):
        try:
            elements = getattr(at, kind)
        except Exception:  # noqa: BLE001 - kinds AppTest cannot list here
            continue
        for el in elements:
            yield kind, el.label
            yield f"{kind} help", getattr(el.proto, "help", "")
            yield f"{kind} placeholder", getattr(el.proto, "placeholder", "")
    for kind in ("download_button", "link_button", "page_link"):
        for el in at.get(kind):
            yield kind, el.proto.label
            yield f"{kind} help", el.proto.help
    for el in at.tabs:
        yield "tab", el.label
    for el in at.expander:
        yield "expander", el.label
    for el in at.dataframe:
        try:
            frame = el.value
        except Exception:  # noqa: BLE001 - styled or unusual frames
            continue
        for column in frame.columns:
            yield "dataframe header", str(column)
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        for text in _plotly_texts(spec):
            if text:
                yield "plotly", text
    for el in at.get("html"):
        yield "html", el.proto.body


def user_inputs(at) -> tuple[str, ...]:
    """What the user typed (or the page pre-filled from examples), and the data the page shows in its tables
    (tokens, predictions, labels): not interface text, wherever else it also shows (token chips in HTML)."""
    out = []
    for kind in ("text_input", "text_area"):
        for el in getattr(at, kind):
            if el.value:
                out.append(str(el.value))
    for el in at.dataframe:
        try:
            frame = el.value
        except Exception:  # noqa: BLE001
            continue
        for column in frame.columns:
            out.extend(v for v in frame[column].tolist() if isinstance(v, str))
    return tuple(out)


def find_leaks(at, exclude: tuple[str, ...] = ()) -> list[tuple[str, str, list[str]]]:
    exclude = tuple(exclude) + user_inputs(at)
    exclude += tuple(plain(e) for e in exclude)  # names reach Markdown escaped (ui.markdown.plain)
    own = frozenset(w.lower() for item in exclude for w in WORD.findall(item))
    out = []
    for where, text in rendered_texts(at):
        words = leaks(text, exclude, own)
        if words:
            out.append((where, text[:160], words))
    return out
