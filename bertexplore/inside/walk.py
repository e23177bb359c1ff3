"""What the walk needs from a model: which activations to record, which head to load, the weights (read once)."""
from __future__ import annotations

import threading
from collections import OrderedDict
from functools import lru_cache

from ..checkpoint_heads import head_for_architectures  # noqa: F401 (this module's API: pages import it here)
from ..i18n import N_
from ..loading import LoadedModel
from .forward import model_key

MAX_TOKENS = 256  # the walk reads this many tokens at most (step 8 shows how longer texts are windowed)
TRACE_BUDGET = 160 * 2**20  # a session memo keeps at most ~400 MB: the walk's trace must leave room for the rest
ESSENTIAL = ("embed.word", "embed.position", "embed.segment", "embed.sum", "embed.out",
             "blocks.*.attn.q", "blocks.*.attn.k", "blocks.*.attn.v", "blocks.*.attn.pattern", "blocks.*.attn.z",
             "blocks.*.attn.out", "blocks.*.normalized_resid_mid", "blocks.*.mlp.out",
             "blocks.*.normalized_resid_post")
# Recorded while they fit the budget, in this order; without them the steps recompute them by hand from the
# recorded values and the weights (and prove the chain against what was recorded).
OPTIONAL = ("blocks.*.attn.scores", "blocks.*.mlp.post", "blocks.*.mlp.pre", "blocks.*.attn.head_out",
            "blocks.*.resid_mid", "blocks.*.resid_post")
STEP_NAMES = ESSENTIAL + OPTIONAL


def _bytes(name: str, loaded: LoadedModel, tokens: int) -> int:
    config = loaded.config
    hidden = int(getattr(config, "hidden_size", 0) or getattr(config, "dim", 0) or 0)
    width = int(getattr(config, "intermediate_size", 0) or getattr(config, "hidden_dim", 0) or 4 * hidden)
    heads, layers = loaded.num_heads, loaded.num_layers if name.startswith("blocks") else 1
    per = {"attn.pattern": heads * tokens, "attn.scores": heads * tokens, "mlp.pre": width, "mlp.post": width,
           "attn.head_out": heads * hidden}
    suffix = name.split(".", 2)[-1] if name.startswith("blocks") else name
    return 4 * layers * tokens * per.get(suffix, hidden)


def trace_names(loaded: LoadedModel, tokens: int) -> list[str]:
    """Every step of every layer and the heads' outputs; the optional steps only while the trace stays in budget."""
    from ..trace import head_names

    names = list(ESSENTIAL) + list(head_names(loaded))
    total = sum(_bytes(n, loaded, tokens) for n in ESSENTIAL)
    for name in OPTIONAL:
        size = _bytes(name, loaded, tokens)
        if total + size <= TRACE_BUDGET:
            names.append(name)
            total += size
    return names


def has_layer_cache(trace, layer: int) -> bool:
    """Whether the trace holds every step anatomy.recompute_layer reads for `layer`."""
    from ..anatomy import LAYER_STEPS

    return all(f"blocks.{layer}.{step}" in trace for step in LAYER_STEPS)


# Families whose layers differ from BERT's post-LayerNorm encoder: the page says so instead of showing wrong math.
FAMILY_NOTES = {
    "deberta": N_("DeBERTa separates content and position: its attention adds content-to-position and "
                  "position-to-content terms with relative positions, so scores are not q·k/√d alone."),
    "deberta-v2": N_("DeBERTa separates content and position: its attention adds content-to-position and "
                     "position-to-content terms with relative positions, so scores are not q·k/√d alone."),
    "modernbert": N_("ModernBERT normalises BEFORE each sub-layer (pre-LayerNorm), uses rotary position "
                     "embeddings instead of learned ones, and a gated (GeGLU) feed-forward layer."),
    "mobilebert": N_("MobileBERT squeezes each layer through narrow bottlenecks and stacks several feed-forward "
                     "layers, with its own normalisation."),
    "megatron-bert": N_("Megatron-BERT normalises BEFORE each sub-layer (pre-LayerNorm), not after the residual."),
    "ernie": N_("ERNIE adds a task-type embedding to BERT's three."),
    "xlm-roberta-xl": N_("XLM-RoBERTa-XL normalises BEFORE each sub-layer (pre-LayerNorm)."),
}
FAMILY_DIFFERENCES = {
    "distilbert": N_("DistilBERT has no segment embeddings and no pooler; otherwise its layers are BERT's."),
    "roberta": N_("RoBERTa's segment table has one row (no next-sentence task) and its positions start after the "
                  "padding index."),
    "xlm-roberta": N_("XLM-RoBERTa's segment table has one row (no next-sentence task) and its positions start "
                      "after the padding index."),
    "camembert": N_("CamemBERT's segment table has one row and its positions start after the padding index."),
    "albert": N_("ALBERT shares ONE set of layer weights across all its layers, and its small embeddings are "
                 "projected up to the hidden size after LayerNorm."),
    "electra": N_("ELECTRA's embeddings can be narrower than its layers: they are projected up after LayerNorm."),
}


def auto_head(name: str) -> str:
    """Read the checkpoint's configuration (local files first, the hub where reachable) to pick its own head."""
    from ..loading import weights_stamp
    from ..registry import resolve

    try:
        source, is_local = resolve(name)
    except Exception:  # noqa: BLE001 - loading the model itself reports the real problem
        return "pretraining"
    return _auto_head(name, source, is_local, weights_stamp(source) if is_local else None)


@lru_cache(maxsize=64)  # once per name and weights' revision, not on every rerun (a hub id may cost a request)
def _auto_head(name: str, source: str, is_local: bool, stamp: float | None) -> str:
    from ..loading import load_config

    try:
        config = load_config(source, is_local, name)[0]
    except Exception:  # noqa: BLE001 - loading the model itself reports the real problem
        return "pretraining"
    return head_for_architectures(getattr(config, "architectures", None))


# Weights read as numpy (copies) for the steps' recomputations, shared by every session: a process-wide cache with
# its own byte bound (a bert-base layer's weights are ~28 MB, its embedding tables ~95 MB; a large model's ~4x).
# The least recently used entries go first; the newest entry always stays, whatever its size.
WEIGHTS_BUDGET = 256 * 2**20
_weights: OrderedDict = OrderedDict()  # key -> (value, bytes)
_weights_lock = threading.Lock()


def weights_nbytes(value) -> int:
    """Bytes of the numpy arrays a LayerWeights / EmbeddingWeights holds."""
    import dataclasses

    import numpy as np

    return sum(int(v.nbytes) for f in dataclasses.fields(value) if isinstance(v := getattr(value, f.name), np.ndarray))


def cached_weights_bytes() -> int:
    with _weights_lock:
        return sum(size for _value, size in _weights.values())


def _cached(kind: str, loaded: LoadedModel, index: int, build):
    key = (model_key(loaded), kind, index)
    with _weights_lock:
        if key in _weights:
            _weights.move_to_end(key)
            return _weights[key][0]
    value = build()
    size = weights_nbytes(value)
    with _weights_lock:
        _weights[key] = (value, size)
        _weights.move_to_end(key)
        total = sum(s for _v, s in _weights.values())
        while total > WEIGHTS_BUDGET and len(_weights) > 1:
            _old, (_value, old_size) = _weights.popitem(last=False)
            total -= old_size
    return value


def embedding_weights(loaded: LoadedModel):
    from .. import anatomy

    return _cached("embed", loaded, 0, lambda: anatomy.embedding_weights(loaded))


def layer_weights(loaded: LoadedModel, layer: int):
    from .. import anatomy

    return _cached("layer", loaded, layer, lambda: anatomy.layer_weights(loaded, layer))
