"""Tiny random checkpoints of every family the app covers, built by the tests themselves (no downloads).

Every family shares the WordPiece test vocabulary (tests/tiny.py): the tokenizer does not change the mechanics
under test, and it keeps [PAD]=0, [CLS]=2, [SEP]=3, [MASK]=4 in every model.
"""
from __future__ import annotations

from pathlib import Path

import torch
from transformers import (AlbertConfig, AutoModel, AutoModelForMaskedLM, AutoModelForPreTraining,
                          AutoModelForQuestionAnswering, AutoModelForSequenceClassification,
                          AutoModelForTokenClassification, BertConfig, BertTokenizerFast, CamembertConfig,
                          DistilBertConfig, ElectraConfig, RobertaConfig, XLMRobertaConfig)

from tiny import SPECIAL, WORDS, write_vocab

VOCAB = len(SPECIAL) + len(dict.fromkeys(WORDS))
_BERTLIKE = dict(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                 pad_token_id=0)
_ROBERTALIKE = dict(_BERTLIKE, max_position_embeddings=66, type_vocab_size=1, bos_token_id=2, eos_token_id=3)

# family -> (config class, config arguments). ALBERT and ELECTRA get an embedding size below the hidden size, so
# their embedding projection is exercised too; ALBERT's two layers share one set of weights.
FAMILIES: dict[str, tuple[type, dict]] = {
    "bert": (BertConfig, dict(_BERTLIKE, max_position_embeddings=64, type_vocab_size=2)),
    "roberta": (RobertaConfig, _ROBERTALIKE),
    "xlm-roberta": (XLMRobertaConfig, _ROBERTALIKE),
    "camembert": (CamembertConfig, _ROBERTALIKE),
    "electra": (ElectraConfig, dict(_BERTLIKE, embedding_size=16, max_position_embeddings=64, type_vocab_size=2)),
    "distilbert": (DistilBertConfig, dict(vocab_size=VOCAB, dim=32, n_layers=2, n_heads=4, hidden_dim=64,
                                          max_position_embeddings=64, pad_token_id=0)),
    "albert": (AlbertConfig, dict(_BERTLIKE, embedding_size=16, max_position_embeddings=64, type_vocab_size=2,
                                  num_hidden_groups=1, inner_group_num=1, hidden_act="gelu_new")),
}
AUTO = {"base": AutoModel, "mlm": AutoModelForMaskedLM, "pretraining": AutoModelForPreTraining,
        "sequence-classification": AutoModelForSequenceClassification,
        "token-classification": AutoModelForTokenClassification, "question-answering": AutoModelForQuestionAnswering}


def family_config(family: str, **overrides):
    config_class, params = FAMILIES[family]
    return config_class(**{**params, **overrides})


def make_family_model(folder: Path, family: str, head: str = "mlm", seed: int = 0, attn: str = "eager",
                      **overrides) -> Path:
    """Save a random `family` model with `head` plus a WordPiece tokenizer into `folder`."""
    torch.manual_seed(seed)
    model = AUTO[head].from_config(family_config(family, **overrides), attn_implementation=attn)
    model.save_pretrained(folder)
    tokenizer = BertTokenizerFast(vocab=str(write_vocab(folder)), do_lower_case=True, model_max_length=64)
    tokenizer.save_pretrained(folder)
    return folder
