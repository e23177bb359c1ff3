"""Our own messages for unsafe or unreadable input (issue 7.6): folders outside the allowed ones, refused pickle
weights, deeply nested JSONL. None of them may reveal which server folders exist or advise lowering safety."""
from __future__ import annotations

import os

import pytest
import torch
from transformers import BertForMaskedLM

from bertexplore.errors import InputError, NotAModel
from bertexplore.finetune.files import read_data
from bertexplore.loading import load_model
from bertexplore.registry import ALLOWED_DIRS_ENV, allowed_dirs, resolve
from tiny import make_tiny_model


@pytest.fixture
def folders(tmp_path, monkeypatch):
    """models/ (the app's), allowed/ (listed by the operator) and outside/ (neither), each with a real model."""
    for name in ("models/in-models", "allowed/listed", "outside/secret"):
        make_tiny_model(tmp_path / name, BertForMaskedLM)
    monkeypatch.setenv("BERTEXPLORE_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv(ALLOWED_DIRS_ENV, str(tmp_path / "allowed"))
    return tmp_path


def test_allowed_folders_load(folders):
    assert allowed_dirs() == [folders / "models", folders / "allowed"]
    assert resolve("in-models") == (str(folders / "models" / "in-models"), True)
    assert load_model("in-models").has_head
    assert load_model(str(folders / "allowed" / "listed")).has_head
    assert resolve(str(folders / "allowed" / "listed" / ".." / "listed"))[1]


def test_every_other_folder_gets_one_message_whether_it_exists_or_not(folders):
    names = [
        str(folders / "outside" / "secret"),          # exists, is a model
        str(folders / "outside"),                     # exists, no config.json
        str(folders / "outside" / "no-such-folder"),  # does not exist
        str(folders / "models" / ".." / "outside" / "secret"),  # climbs out of the models folder
        "../outside/secret", "in-models/../../outside/secret",
        "~", "~/secret", "~root/.ssh", "/etc", "/no/such/folder",
    ]
    messages = set()
    for name in names:
        with pytest.raises(NotAModel) as info:
            load_model(name, from_browser=True)
        messages.add(str(info.value).replace(f"'{name}'", "'NAME'"))
    assert len(messages) == 1, messages
    text = messages.pop()
    assert ALLOWED_DIRS_ENV in text and "exist" not in text and "config.json" not in text
    assert os.path.expanduser("~") not in text


def test_hub_ids_are_still_hub_ids(folders):
    assert resolve("bert-base-uncased") == ("bert-base-uncased", False)
    assert resolve("dslim/bert-base-NER") == ("dslim/bert-base-NER", False)


def test_refused_pickle_weights_get_our_message(folders):
    folder = folders / "allowed" / "pickled"
    make_tiny_model(folder, BertForMaskedLM)
    state = BertForMaskedLM.from_pretrained(folder).state_dict()
    (folder / "model.safetensors").unlink()
    state["payload"] = _Payload()  # a pickle that would call a function when loaded without weights_only
    torch.save(state, folder / "pytorch_model.bin")
    with pytest.raises(NotAModel) as info:
        load_model(str(folder))
    text = str(info.value)
    assert "refused" in text and "safetensors" in text
    assert "weights_only" not in text and "trusted source" not in text


class _Payload:
    def __reduce__(self):
        return (os.getcwd, ())


@pytest.mark.parametrize("depth", [5, 100, 100_000])
def test_deeply_nested_jsonl_gets_a_clear_message(depth):
    line = '{"text": "a", "label": ' + "[" * depth + "1" + "]" * depth + "}"
    with pytest.raises(InputError, match="levels deep") as info:
        read_data((line + "\n").encode(), "deep.jsonl")
    assert "line 1" in str(info.value) and "Recursion" not in str(info.value)


def test_normal_jsonl_still_reads():
    table = read_data(b'{"tokens": ["a", "b"], "tags": ["O", "B-PER"]}\n{"text": "x", "label": ["p", "q"]}\n', "ok.jsonl")
    assert table.frame.shape == (2, 4)
