"""Where each BERT-family architecture keeps the parts the activation cache and the anatomy page read.

One table of module paths per family, so capture (hooks), anatomy (weights) and ablation agree on what "layer l's
attention output projection" is. Every family is read through the same roles:

    embeddings: word, position, segment (absent in DistilBERT), ln (LayerNorm), projection (ALBERT, some ELECTRA)
    per layer:  attn (the module holding q/k/v), o (output projection), ln1 (after the attention residual),
                ffn_in, ffn_out (the two FFN linears), ln2 (after the FFN residual)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import nn

from .errors import UnsupportedModel
from .i18n import _

# Families whose every step the cache names and the anatomy recomputes.
FULL_CACHE_TYPES = frozenset({"bert", "roberta", "xlm-roberta", "camembert", "electra", "distilbert", "albert"})
# Position ids start after the padding index (RoBERTa's rule, inherited by XLM-R and CamemBERT).
PADDING_OFFSET_TYPES = frozenset({"roberta", "xlm-roberta", "camembert", "xlm-roberta-xl"})


@dataclass(frozen=True)
class LayerParts:
    attn: nn.Module  # holds the q, k, v linears and calls the attention function
    q: nn.Linear
    k: nn.Linear
    v: nn.Linear
    o: nn.Linear
    ln1: nn.LayerNorm
    ffn_in: nn.Linear
    ffn_out: nn.Linear
    ln2: nn.LayerNorm
    activation: str


@dataclass(frozen=True)
class EmbeddingParts:
    word: nn.Embedding
    position: nn.Embedding
    segment: nn.Embedding | None
    ln: nn.LayerNorm
    projection: nn.Linear | None


def base_model(model: nn.Module) -> nn.Module:
    """The encoder without its task head (the model itself when it has none)."""
    return getattr(model, getattr(model, "base_model_prefix", ""), model)


def model_type(model: nn.Module) -> str:
    return str(getattr(model.config, "model_type", ""))


def has_full_cache(model: nn.Module) -> bool:
    return model_type(model) in FULL_CACHE_TYPES


def _require(model: nn.Module) -> None:
    if not has_full_cache(model):
        raise UnsupportedModel(
            _("The step-by-step view covers {choices}; a '{model}' model holds only its attention "
              "patterns and outputs here.").format(
                choices=', '.join(sorted(FULL_CACHE_TYPES)), model=model_type(model))
        )


def _activation(config: Any) -> str:
    return str(getattr(config, "hidden_act", None) or getattr(config, "activation", "gelu"))


def embedding_parts(model: nn.Module) -> EmbeddingParts:
    _require(model)
    base = base_model(model)
    emb = base.embeddings
    projection = None
    if model_type(model) == "albert":
        projection = base.encoder.embedding_hidden_mapping_in
    elif hasattr(base, "embeddings_project"):
        projection = base.embeddings_project
    return EmbeddingParts(emb.word_embeddings, emb.position_embeddings, getattr(emb, "token_type_embeddings", None),
                          emb.LayerNorm, projection)


def layer_count(model: nn.Module) -> int:
    config = model.config
    return int(getattr(config, "num_hidden_layers", getattr(config, "n_layers", 0)))


def layer_parts(model: nn.Module, layer: int) -> LayerParts:
    """The modules that compute layer `layer` (for ALBERT: the shared group that layer runs)."""
    _require(model)
    count = layer_count(model)
    if not 0 <= layer < count:
        raise UnsupportedModel(_("Layer {layer} does not exist: the model has layers 0..{count}.").format(
                                   layer=layer, count=count - 1))
    base = base_model(model)
    kind = model_type(model)
    act = _activation(model.config)
    if kind == "distilbert":
        block = base.transformer.layer[layer]
        a = block.attention
        return LayerParts(a, a.q_lin, a.k_lin, a.v_lin, a.out_lin, block.sa_layer_norm, block.ffn.lin1,
                          block.ffn.lin2, block.output_layer_norm, act)
    if kind == "albert":
        config = model.config
        if int(getattr(config, "inner_group_num", 1)) != 1:
            raise UnsupportedModel(_("ALBERT models with several layers per group are not covered by the "
                                     "layer view."))
        group = int(layer / (count / config.num_hidden_groups))
        block = base.encoder.albert_layer_groups[group].albert_layers[0]
        a = block.attention
        return LayerParts(a, a.query, a.key, a.value, a.dense, a.LayerNorm, block.ffn, block.ffn_output,
                          block.full_layer_layer_norm, act)
    block = base.encoder.layer[layer]
    a = block.attention.self
    return LayerParts(a, a.query, a.key, a.value, block.attention.output.dense, block.attention.output.LayerNorm,
                      block.intermediate.dense, block.output.dense, block.output.LayerNorm, act)


def pooler_module(model: nn.Module) -> nn.Module | None:
    """The module whose output is the pooled [CLS] vector (after its tanh), or None."""
    base = base_model(model)
    if model_type(model) == "albert":
        return getattr(base, "pooler_activation", None)
    return getattr(base, "pooler", None)


def attention_modules(model: nn.Module) -> list[nn.Module]:
    """The distinct self-attention modules, in layer order (fewer than the layers where they are shared)."""
    if has_full_cache(model):
        seen: list[nn.Module] = []
        for layer in range(layer_count(model)):
            module = layer_parts(model, layer).attn
            if not any(module is s for s in seen):
                seen.append(module)
        return seen
    names = ("query", "q_lin", "q_proj")
    return [m for m in model.modules() if any(isinstance(getattr(m, n, None), nn.Linear) for n in names)]
