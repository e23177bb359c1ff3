from __future__ import annotations

import json

import pytest

from bertexplore.download import download_command
from bertexplore.errors import BertExploreError, ModelUnavailable, NotAModel, UnsupportedModel
from bertexplore.loading import load_model, resolve_device
from bertexplore.registry import OFFLINE_MODEL, list_local_models, picker_choices, resolve


def test_head_presence_is_detected(tiny_dir):
    assert load_model(str(tiny_dir / "tiny-mlm"), "mlm").has_head
    base = load_model(str(tiny_dir / "tiny-base"), "mlm")
    assert not base.has_head and any(k.startswith("cls.") for k in base.missing_keys)
    assert not load_model(str(tiny_dir / "tiny-cls"), "question-answering").has_head
    assert load_model(str(tiny_dir / "tiny-pretraining"), "pretraining").has_head


def test_eager_attention_and_frozen(tiny_dir):
    lm = load_model(str(tiny_dir / "tiny-mlm"), "mlm", device="cpu")
    assert lm.model.config._attn_implementation == "bertexplore_eager"  # eager, plus head ablation
    assert not lm.model.training
    assert not any(p.requires_grad for p in lm.model.parameters())
    assert (lm.num_layers, lm.num_heads, lm.max_length) == (2, 4, 64)


def test_missing_hub_model_offline_gives_fetch_command(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailable) as info:
        load_model("some-org/not-cached-bert")
    assert info.value.command == download_command("some-org/not-cached-bert")  # the app's own Python
    assert info.value.command.endswith("python -m bertexplore download some-org/not-cached-bert")
    assert info.value.command in str(info.value)


def test_folder_without_config(tmp_path):
    (tmp_path / "weights.bin").write_bytes(b"\0" * 10)
    with pytest.raises(NotAModel, match="no config.json"):
        load_model(str(tmp_path))
    with pytest.raises(NotAModel, match="does not exist"):
        load_model(str(tmp_path / "nope"))


def test_broken_config(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(NotAModel):
        load_model(str(tmp_path))


def test_other_architecture_rejected(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"]}))
    with pytest.raises(UnsupportedModel, match="gpt2"):
        load_model(str(tmp_path))


def test_device_and_dtype_checks(tiny_dir):
    assert resolve_device("cpu") == "cpu"
    with pytest.raises(BertExploreError, match="not available"):
        resolve_device("tpu")
    with pytest.raises(BertExploreError, match="GPUs only"):
        load_model(str(tiny_dir / "tiny-mlm"), device="cpu", dtype="float16")


def test_local_models_folder_is_listed(tiny_dir, monkeypatch):
    monkeypatch.setenv("BERTEXPLORE_MODELS_DIR", str(tiny_dir))
    assert "tiny-mlm" in list_local_models()
    # The sidebar serves the Explore pages: encoders and masked-LM models; task models go to their pages' pickers.
    assert picker_choices()[0] == OFFLINE_MODEL and "tiny-mlm" in picker_choices() and "tiny-base" in picker_choices()
    assert "tiny-pretraining" in picker_choices()
    assert not {"tiny-cls", "tiny-ner", "tiny-qa"} & set(picker_choices())
    assert resolve("tiny-cls") == (str(tiny_dir / "tiny-cls"), True)
    assert load_model("tiny-cls", "sequence-classification").has_head
