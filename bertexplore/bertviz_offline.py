"""bertviz's head view and model view as self-contained HTML that draws without internet.

bertviz's HTML loads require.js, d3 5.7 and jQuery from cdnjs. We inline the copies that `npm ci` put in
node_modules (package.json pins them): d3 and jQuery first, while no AMD loader exists, so they set the
globals window.d3 / window.jQuery; then require.js; then register those globals as the AMD modules
bertviz asks for, and strip bertviz's CDN paths. Without node_modules we keep the CDN HTML and say so.

Payload: bertviz writes every weight as JSON text. We round weights to 4 decimals before handing them
over (about 3x fewer bytes, invisible in line opacities) and pick a subset of layers/heads for long inputs.
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .trace import Trace
from .i18n import _

# (npm package, file inside it); order matters: see the module docstring.
LIBRARIES = (("d3", "dist/d3.min.js"), ("jquery", "dist/jquery.min.js"), ("requirejs", "require.js"))
CDN_SCRIPT = re.compile(r'<script src="https://cdnjs\.cloudflare\.com/[^"]*require[^"]*"></script>')
REQUIRE_CONFIG = re.compile(r"require\.config\(\{.*?\}\);", re.S)
AMD_SHIMS = "define('d3', [], function () { return window.d3; });\ndefine('jquery', [], function () { return window.jQuery; });"

# Weights bertviz may carry in one view: ~7 bytes each once rounded (~1.4 MB), and one SVG line each.
# Measured in headless Chromium: 530k lines (512 tokens, 2 heads) take ~10 s to draw; every head of a
# 36-token sentence (187k) or one layer at 128 tokens (197k) stays interactive.
VALUE_BUDGET = 200_000
DECIMALS = 4


def node_modules() -> Path:
    return Path(os.environ.get("BERTEXPLORE_NODE_MODULES", Path(__file__).resolve().parent.parent / "node_modules"))


def library_files() -> list[Path] | None:
    """The three library files in load order, or None when any is missing (npm ci was not run)."""
    root = node_modules()
    files = [root / package / name for package, name in LIBRARIES]
    return files if all(f.is_file() for f in files) else None


def _script(code: str) -> str:
    # An inline script ends at the first "</script"; keep library code from closing it early.
    return "<script type=\"text/javascript\">\n" + re.sub(r"</(script)", r"<\\/\1", code, flags=re.I) + "\n</script>\n"


# bertviz's model view draws a fixed 970-px-wide SVG: in a narrower column its last head column was cut off.
# Scale the page down to the frame's width instead (CSS zoom also shrinks the height the frame needs).
MODEL_VIEW_WIDTH = 985
FIT_WIDTH = ("(function(){function fit(){var z=Math.min(1,document.documentElement.clientWidth/%d);"
             "document.body.style.zoom=z;}document.addEventListener('DOMContentLoaded',fit);"
             "window.addEventListener('resize',fit);})();")


def make_offline(html: str, fit_width: int | None = None) -> tuple[str, bool]:
    """bertviz HTML -> (HTML with the libraries inlined, True), or (unchanged HTML, False) without node_modules.

    With `fit_width`, the page is scaled down to fit a frame narrower than that many pixels.
    """
    files = library_files()
    if files is None:
        return html, False
    body = CDN_SCRIPT.sub("", html)
    body = REQUIRE_CONFIG.sub("", body, count=1)
    libs = "".join(_script(f.read_text(encoding="utf-8")) for f in files)
    head = libs + _script(AMD_SHIMS) + (_script(FIT_WIDTH % fit_width) if fit_width else "")
    page = (
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n" + head +
        "<style>body{margin:0;background:white;overflow-x:auto;}</style></head>\n<body>\n" + body + "\n</body></html>"
    )
    return page, True


def is_offline(html: str) -> bool:
    return "cdnjs" not in html and "define('d3'" in html


@dataclass(frozen=True)
class Subset:
    layers: tuple[int, ...]
    heads: tuple[int, ...]
    complete: bool  # every layer and head is included
    full_values: int  # weights the complete view would carry
    values: int

    def describe(self) -> str:
        if self.complete:
            return _("all layers and heads")
        fmt = lambda xs: ", ".join(str(x + 1) for x in xs)  # noqa: E731
        return _("layers {layers} × heads {heads}").format(layers=fmt(self.layers), heads=fmt(self.heads))


def choose_subset(length: int, layers: int, heads: int, layer: int, head: int,
                  budget: int = VALUE_BUDGET) -> Subset:
    """Which layers/heads to hand bertviz so the view carries at most `budget` weights.

    Short inputs get everything. Longer ones keep every head of as many layers as fit, centred on the
    selected layer; past that, the selected layer with as many heads as fit starting at the selected head.
    """
    per_head = length * length
    full = layers * heads * per_head
    if full <= budget:
        return Subset(tuple(range(layers)), tuple(range(heads)), True, full, full)
    n_layers = budget // (heads * per_head)
    if n_layers >= 1:
        start = min(max(0, layer - n_layers // 2), layers - n_layers)
        chosen = tuple(range(start, start + n_layers))
        return Subset(chosen, tuple(range(heads)), False, full, n_layers * heads * per_head)
    n_heads = max(1, budget // per_head)
    chosen_heads = tuple(sorted((head + i) % heads for i in range(min(n_heads, heads))))
    return Subset((layer,), chosen_heads, False, full, len(chosen_heads) * per_head)


def _rounded(attentions: np.ndarray, layers: tuple[int, ...], heads: tuple[int, ...] | None):
    """Per-layer torch tensors [1, H, T, T] in float64 so .tolist() prints short decimals.

    Layers left out get a zero-strided placeholder of the right shape: bertviz reads shapes from the
    list but only converts the included layers.
    """
    import torch

    n_heads = attentions.shape[1] if heads is None else len(heads)
    length = attentions.shape[-1]
    placeholder = torch.zeros(1, dtype=torch.float64).expand(1, n_heads, length, length)
    out: list = [placeholder] * attentions.shape[0]
    for layer in layers:
        block = attentions[layer] if heads is None else attentions[layer][list(heads)]
        out[layer] = torch.from_numpy(np.round(block.astype(np.float64), DECIMALS)[None])
    return out


def _sentence_b_start(trace: Trace) -> int | None:
    segs = trace.inputs.segment_ids
    return segs.index(1) if 1 in segs else None


def _escape_params(html: str, kind: str) -> str:
    """Make bertviz's parameter JSON safe to inline, and send it once instead of twice.

    bertviz substitutes its JSON (with the tokens: user text) for PYTHON_PARAMS everywhere in its JS
    template, which names the marker a second time in a comment: the data is sent twice. We keep the
    copy the code uses and drop the one in the comment. In the JSON, "<" becomes "\\u003c" (the same
    character to JSON and JavaScript, inert to the HTML parser) so a token like "</script>" cannot end
    the script. The surrounding JS is untouched: it has "<" operators.
    """
    import bertviz

    template = (Path(bertviz.__file__).parent / f"{kind}_view.js").read_text(encoding="utf-8")
    parts = template.split("PYTHON_PARAMS")
    if len(parts) != 3:
        raise RuntimeError(_("bertviz's template changed; refusing to embed unescaped user text."))
    before, between, after = parts
    start = html.find(before)
    stop = html.rfind(after[:120])
    n = (stop - start - len(before) - len(between)) // 2 if start >= 0 and stop >= 0 else -1
    json_start = start + len(before)
    if n < 0 or html[json_start + n:json_start + n + len(between)] != between:
        raise RuntimeError(_("bertviz's HTML layout changed; refusing to embed unescaped user text."))
    params = html[json_start:json_start + n].replace("<", "\\u003c")
    return html[:json_start] + params + between + html[stop:]


def window_for_all_heads(layers: int, heads: int, budget: int = VALUE_BUDGET) -> int:
    """The longest token window whose every layer and head fits the budget."""
    return max(2, int(math.isqrt(budget // max(1, layers * heads))))


def token_window(length: int, center: int, size: int) -> tuple[int, int]:
    """[start, stop) of `size` consecutive tokens around `center`, kept inside the input."""
    size = max(1, min(int(size), length))
    start = min(max(0, int(center) - size // 2), length - size)
    return start, start + size


@dataclass(frozen=True)
class BertvizHTML:
    html: str
    offline: bool
    subset: Subset
    kind: str  # "head" or "model"
    window: tuple[int, int] | None = None  # [start, stop) of the tokens shown, None: all of them
    pair: bool = False  # a sentence pair: bertviz adds its A/B filter above the view

    @property
    def nbytes(self) -> int:
        return len(self.html.encode("utf-8"))


def _windowed(trace: Trace, window: tuple[int, int] | None) -> tuple[np.ndarray, list[str], int | None]:
    """(attentions, tokens, sentence-B start) of the whole input, or of the tokens in `window` only.

    A window shows the weights between its own tokens: the rows no longer sum to 1 (the rest went outside it).
    """
    att = np.asarray(trace.attentions)
    tokens = list(trace.tokens)
    b_start = _sentence_b_start(trace)
    if window is None:
        return att, tokens, b_start
    start, stop = window
    if b_start is not None:
        b_start = b_start - start if start < b_start < stop else None
    return att[:, :, start:stop, start:stop], tokens[start:stop], b_start


def head_view_html(trace: Trace, layer: int = 0, head: int = 0, budget: int = VALUE_BUDGET,
                   window: tuple[int, int] | None = None) -> BertvizHTML:
    """bertviz head view of the trace (or of a token window of it); for long inputs only the heads in `subset`."""
    from bertviz import head_view

    att, tokens, b_start = _windowed(trace, window)
    n_layers, n_heads, length = att.shape[0], att.shape[1], att.shape[-1]
    subset = choose_subset(length, n_layers, n_heads, layer, head, budget)
    sliced = None if len(subset.heads) == n_heads else subset.heads
    start = b_start if subset.complete else None  # pair filters double the payload
    shown = layer if layer in subset.layers else subset.layers[0]
    selected = subset.heads.index(head) if head in subset.heads else 0
    raw = head_view(
        _rounded(att, subset.layers, sliced), tokens, sentence_b_start=start,
        include_layers=list(subset.layers), layer=shown, heads=[selected], html_action="return",
    ).data
    html, offline = make_offline(_escape_params(raw, "head"))
    return BertvizHTML(html, offline, subset, "head", window, start is not None)


def model_view_html(trace: Trace, layer: int = 0, head: int = 0, budget: int = VALUE_BUDGET,
                    window: tuple[int, int] | None = None) -> BertvizHTML:
    """bertviz model view (thumbnails of every included layer x head), scaled to fit the frame's width."""
    from bertviz import model_view

    att, tokens, b_start = _windowed(trace, window)
    n_layers, n_heads, length = att.shape[0], att.shape[1], att.shape[-1]
    subset = choose_subset(length, n_layers, n_heads, layer, head, budget)
    start = b_start if subset.complete else None
    raw = model_view(
        _rounded(att, subset.layers, None), tokens, sentence_b_start=start,
        include_layers=list(subset.layers), include_heads=list(subset.heads), display_mode="light",
        html_action="return",
    ).data
    html, offline = make_offline(_escape_params(raw, "model"), fit_width=MODEL_VIEW_WIDTH)
    return BertvizHTML(html, offline, subset, "model", window, start is not None)


def model_view_payload_bytes(attentions: list, tokens: list[str]) -> int:
    """Bytes of bertviz's own, unmodified model view HTML (every layer and head, float32 weights)."""
    from bertviz import model_view

    return len(model_view(attentions, tokens, html_action="return").data.encode("utf-8"))


def iframe_height(kind: str, length: int, subset: Subset, pair: bool = False) -> int:
    """Pixels the iframe needs: the head view is a column of tokens, the model view a grid of thumbnails.

    The model view's height follows bertviz's own layout (model_view.js): each thumbnail is `length` boxes of
    7·12/heads px plus 10 px padding, one row per layer, 38 px of axis labels; the zoom-out detail of a head
    needs 18 px per token plus 70. A sentence pair adds bertviz's A/B filter line above the grid.
    """
    extra = 40 if pair else 0
    if kind == "head":
        return int(min(4000, 140 + extra + 22 * length))
    heads = max(1, len(subset.heads))
    thumb = length * 7 * 12 / heads + 10
    grid = len(subset.layers) * thumb + 38
    detail = length * 18 + 70
    return int(min(6000, math.ceil(max(grid, detail)) + 60 + extra))
