"""Loads that overlap (sessions opening different models at once) must never leave a model half-built."""
from __future__ import annotations

import threading

import pytest
from transformers import BertForMaskedLM, DistilBertConfig, DistilBertForMaskedLM, PreTrainedModel

from bertexplore.loading import load_model
from bertexplore.model_building import repair_process_state
from bertexplore.registry import OFFLINE_MODEL
from tiny import make_tiny_model, write_vocab


def _tiny_distilbert(folder):
    from transformers import BertTokenizerFast

    vocab = write_vocab(folder)
    tokenizer = BertTokenizerFast(vocab=str(vocab), do_lower_case=True, model_max_length=64)
    config = DistilBertConfig(vocab_size=tokenizer.vocab_size, dim=32, n_layers=2, n_heads=4, hidden_dim=64,
                              max_position_embeddings=64)
    DistilBertForMaskedLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _tied(loaded) -> bool:
    out, inp = loaded.model.get_output_embeddings(), loaded.model.get_input_embeddings()
    return out.weight.data_ptr() == inp.weight.data_ptr() and not out.weight.is_meta


@pytest.fixture(scope="module")
def race_models(tmp_path_factory):
    root = tmp_path_factory.mktemp("race")
    return [OFFLINE_MODEL, str(make_tiny_model(root / "bert", BertForMaskedLM, seed=3)),
            str(_tiny_distilbert(root / "distil"))]


def test_concurrent_loads_of_different_models_leave_later_loads_working(race_models):
    errors: list[str] = []

    def load(name: str) -> None:
        try:
            load_model(name, head="mlm", device="cpu")
        except Exception as err:  # noqa: BLE001 - collected and asserted below
            errors.append(f"{name}: {err!r}")

    for _ in range(4):
        threads = [threading.Thread(target=load, args=(name,)) for name in race_models * 2]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    assert PreTrainedModel.__dict__["tie_weights"].__qualname__ == "PreTrainedModel.tie_weights"
    for folder in race_models[1:]:
        later = load_model(folder, head="mlm", device="cpu")
        assert _tied(later)


def test_state_left_broken_by_anything_else_is_repaired(race_models, monkeypatch):
    original = PreTrainedModel.__dict__["tie_weights"]
    monkeypatch.setattr(PreTrainedModel, "tie_weights", lambda self, *a, **k: None)  # what an overlapped load leaves
    loaded = load_model(race_models[1], head="mlm", device="cpu")
    assert _tied(loaded)
    assert PreTrainedModel.__dict__["tie_weights"] is original
    assert repair_process_state() == []
