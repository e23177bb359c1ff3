"""What the walk needs from a model: which activations to record, which head to load, the weights (read once)."""
from __future__ import annotations

import threading
from collections import OrderedDict

from ..i18n import N_
from ..loading import LoadedModel
from .forward import model_key

STEP_NAMES = (
    "embed.word", "embed.position", "embed.segment", "embed.sum", "embed.out",
    "blocks.*.attn.q", "blocks.*.attn.k", "blocks.*.attn.v", "blocks.*.attn.scores", "blocks.*.attn.pattern",
    "blocks.*.attn.z", "blocks.*.attn.out", "blocks.*.resid_mid", "blocks.*.mlp.pre", "blocks.*.mlp.post",
    "blocks.*.mlp.out", "blocks.*.resid_post",
)
HEAD_OUT_BUDGET = 64 * 2**20  # each head's share [H, T, D] for every layer: recorded only while it stays this small

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


def trace_names(loaded: LoadedModel, tokens: int) -> list[str]:
    """Every step of every layer, plus the heads' outputs; each head's share only while it stays small."""
    from ..trace import head_names

    names = list(STEP_NAMES) + list(head_names(loaded))
    hidden = int(getattr(loaded.config, "hidden_size", 0) or 0)
    if loaded.num_layers * loaded.num_heads * tokens * hidden * 4 <= HEAD_OUT_BUDGET:
        names.append("blocks.*.attn.head_out")
    return names


ARCHITECTURE_HEADS = (
    ("ForPreTraining", "pretraining"), ("ForMaskedLM", "mlm"), ("ForSequenceClassification", "sequence-classification"),
    ("ForTokenClassification", "token-classification"), ("ForQuestionAnswering", "question-answering"),
)


def head_for_architectures(architectures) -> str:
    """The head a checkpoint was saved with (config.architectures), else the bare encoder."""
    for arch in architectures or ():
        for suffix, head in ARCHITECTURE_HEADS:
            if str(arch).endswith(suffix):
                return head
    return "base"


def auto_head(name: str) -> str:
    """Read the checkpoint's configuration (local files first, the hub where reachable) to pick its own head."""
    from ..loading import load_config
    from ..registry import resolve

    try:
        source, is_local = resolve(name)
        config = load_config(source, is_local, name)[0]
    except Exception:  # noqa: BLE001 - loading the model itself reports the real problem
        return "pretraining"
    return head_for_architectures(getattr(config, "architectures", None))


_weights: OrderedDict = OrderedDict()
_weights_lock = threading.Lock()
_KEEP = 6  # a bert-base layer's weights are ~28 MB and its embedding tables ~95 MB


def _cached(kind: str, loaded: LoadedModel, index: int, build):
    key = (model_key(loaded), kind, index)
    with _weights_lock:
        if key in _weights:
            _weights.move_to_end(key)
            return _weights[key]
    value = build()
    with _weights_lock:
        _weights[key] = value
        while len(_weights) > _KEEP:
            _weights.popitem(last=False)
    return value


def embedding_weights(loaded: LoadedModel):
    from .. import anatomy

    return _cached("embed", loaded, 0, lambda: anatomy.embedding_weights(loaded))


def layer_weights(loaded: LoadedModel, layer: int):
    from .. import anatomy

    return _cached("layer", loaded, layer, lambda: anatomy.layer_weights(loaded, layer))
