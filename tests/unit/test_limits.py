"""Issue 18 §3 and §5: configs beyond sane sizes are refused before building; load failures get our own words."""
from __future__ import annotations

import json
import shutil
from types import SimpleNamespace

import pytest
import torch
from transformers import AlbertConfig, AlbertModel, BertConfig, BertForMaskedLM, BertModel

from bertexplore import limits
from bertexplore.errors import NotAModel
from bertexplore.loading import load_model
from bertexplore.redact import hide_paths, shown_path
from bertexplore.registry import OFFLINE_MODEL, packaged_model_dir
from rss import run_child
from tiny import make_tiny_model


@pytest.fixture
def models(tmp_path, monkeypatch):
    monkeypatch.setenv("BERTEXPLORE_MODELS_DIR", str(tmp_path))
    make_tiny_model(tmp_path / "good", BertForMaskedLM)
    return tmp_path


def _variant(models, name: str, **config) -> str:
    shutil.copytree(models / "good", models / name)
    path = models / name / "config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **config}))
    return name


@pytest.mark.parametrize("config", [BertConfig(), BertConfig(num_hidden_layers=2, hidden_size=32,
                                                                  num_attention_heads=4, intermediate_size=64)])
def test_implied_parameters_match_what_transformers_builds(config):
    with torch.device("meta"):
        built = sum(p.numel() for p in BertModel(config).parameters())
    assert abs(limits.implied_parameters(config) - built) / built < 0.02


def test_albert_counts_its_shared_layer_once():
    config = AlbertConfig(embedding_size=128, hidden_size=768, num_attention_heads=12, intermediate_size=3072)
    with torch.device("meta"):
        built = sum(p.numel() for p in AlbertModel(config).parameters())
    assert abs(limits.implied_parameters(config) - built) / built < 0.02


MILLION_LAYERS = r'''
import json, os, shutil, sys, tempfile, time
from pathlib import Path
root = Path(tempfile.mkdtemp()); os.environ["BERTEXPLORE_MODELS_DIR"] = str(root)
from transformers import BertForMaskedLM
from tiny import make_tiny_model
from bertexplore.errors import NotAModel
from bertexplore.loading import load_model
make_tiny_model(root / "deep", BertForMaskedLM)
config = json.loads((root / "deep" / "config.json").read_text())
config.update(LAYERS)
(root / "deep" / "config.json").write_text(json.dumps(config))
before, started = rss_mb(), time.perf_counter()
try:
    load_model("deep", "mlm", "cpu")
    message = "LOADED"
except NotAModel as err:
    message = str(err)
print(json.dumps({"message": message, "grew_mb": rss_mb() - before, "seconds": time.perf_counter() - started}))
'''


@pytest.mark.parametrize("change, words", [
    ({"num_hidden_layers": 1_000_000}, "num_hidden_layers = 1,000,000"),
    ({"num_hidden_layers": 48, "hidden_size": 4096, "num_attention_heads": 64}, "does not add up"),
])
def test_a_huge_config_is_refused_before_anything_is_built(change, words):
    result = run_child(MILLION_LAYERS.replace("LAYERS", repr(change)), timeout=120)  # before: built until OOM
    assert words in result["message"], result
    assert result["grew_mb"] < 50, result


def test_a_config_too_big_for_this_machine_is_refused(monkeypatch):
    monkeypatch.setattr(limits, "free_memory", lambda: 1 * 2**30)
    large = BertConfig(num_hidden_layers=24, hidden_size=1024, num_attention_heads=16, intermediate_size=4096)
    with pytest.raises(NotAModel, match="needs about 1,27"):  # BERT-large in float32: 1.3 GB > 80% of 1 GB
        limits.check_config(large, "bert-large-uncased")
    limits.check_config(BertConfig(), "bert-base-uncased")  # 0.4 GB fits


def test_sizes_that_do_not_match_the_weights_get_our_message(models):
    with pytest.raises(NotAModel) as err:
        load_model(_variant(models, "wide", vocab_size=90), "mlm", "cpu")
    assert "do not have the sizes its config.json declares" in str(err.value)
    assert "ignore_mismatched_sizes" not in str(err.value)


def test_damaged_weights_and_missing_tokenizer_files_get_our_messages(models):
    shutil.copytree(models / "good", models / "damaged")
    (models / "damaged" / "model.safetensors").write_bytes(b"\x00garbage" * 64)
    with pytest.raises(NotAModel, match="damaged or incomplete"):
        load_model("damaged", "mlm", "cpu")
    shutil.copytree(models / "good", models / "bare")
    for file in (models / "bare").iterdir():
        if file.name not in ("config.json", "model.safetensors"):
            file.unlink()
    with pytest.raises(NotAModel, match="has no tokenizer files"):  # before: loaded, every word [UNK]
        load_model("bare", "mlm", "cpu")
    assert load_model("good", "mlm", "cpu").tokenizer.tokenize("the cat") == ["the", "cat"]


def test_server_paths_are_shown_as_names(models):
    assert shown_path(models) == "models"
    assert shown_path(models / "good") == "good"
    folder = packaged_model_dir()
    if folder is not None:
        assert shown_path(folder) == OFFLINE_MODEL
        assert hide_paths(f"Error no file named x in directory {folder}.") == \
            f"Error no file named x in directory {OFFLINE_MODEL}."
    assert hide_paths(f"cannot open '{models / 'good' / 'model.safetensors'}' now") == \
        "cannot open 'good/model.safetensors' now"
    assert "/" not in hide_paths("/srv/app/.venv/lib/python3.11/site-packages/x/y.py failed").split()[0]


def test_limits_accept_the_bert_family_as_it_is():
    for config in (BertConfig(), AlbertConfig(hidden_size=4096, num_attention_heads=64, intermediate_size=16384),
                   SimpleNamespace(vocab_size=250_002, hidden_size=1024, num_attention_heads=16,
                                   num_hidden_layers=24, intermediate_size=4096, max_position_embeddings=514)):
        limits.check_config(config, "x")
