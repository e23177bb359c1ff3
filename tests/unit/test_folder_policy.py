"""The local-folder policy: names from the browser read only the models folder and the allowed folders (a name
relative to the server's working folder included); Python callers of load_model open any folder they name."""
from __future__ import annotations

import pytest
from transformers import BertForMaskedLM

from bertexplore.errors import NotAModel
from bertexplore.loading import load_model
from bertexplore.registry import ALLOWED_DIRS_ENV, resolve
from tiny import make_tiny_model


@pytest.fixture
def server(tmp_path, monkeypatch):
    """A server working folder holding a model outside the models folder (like site-packages' packaged model
    under .venv/lib/...), a models folder and an allowed folder."""
    work = tmp_path / "work"
    make_tiny_model(work / ".venv" / "lib" / "pkg" / "model", BertForMaskedLM)
    make_tiny_model(work / "some" / "folder", BertForMaskedLM)
    make_tiny_model(tmp_path / "models" / "in-models", BertForMaskedLM)
    monkeypatch.setenv("BERTEXPLORE_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv(ALLOWED_DIRS_ENV, str(tmp_path / "allowed"))
    monkeypatch.chdir(work)
    return tmp_path


@pytest.mark.parametrize("name", [".venv/lib/pkg/model", "some/folder", "some", ".venv", "some/folder/",
                                  "some//folder", "a/b/c"])
def test_browser_names_relative_to_the_working_folder_are_refused(server, name):
    with pytest.raises(NotAModel) as info:
        load_model(name, device="cpu", from_browser=True)
    assert ALLOWED_DIRS_ENV in str(info.value)
    with pytest.raises(NotAModel):
        resolve(name)


def test_browser_names_still_reach_the_models_folder_and_the_hub(server):
    assert resolve("in-models") == (str(server / "models" / "in-models"), True)
    assert load_model("in-models", device="cpu", from_browser=True).has_head
    assert resolve("bert-base-uncased") == ("bert-base-uncased", False)
    assert resolve("hfl/chinese-roberta-wwm-ext") == ("hfl/chinese-roberta-wwm-ext", False)


@pytest.mark.parametrize("name", [".venv/lib/pkg/model", "some/folder", "./some/folder"])
def test_python_callers_open_any_folder_they_name(server, name):
    loaded = load_model(name, device="cpu")
    assert loaded.source == str(server / "work" / name.removeprefix("./")) and loaded.has_head
    assert resolve(name, from_browser=False) == (loaded.source, True)


def test_python_callers_open_absolute_and_home_folders(server, monkeypatch):
    monkeypatch.setenv("HOME", str(server / "work"))
    absolute = str(server / "work" / "some" / "folder")
    assert load_model(absolute, device="cpu").source == absolute
    assert load_model("~/some/folder", device="cpu").source == absolute
    # ... and a bare name still finds the models folder first, else it is a hub id.
    assert resolve("in-models", from_browser=False) == (str(server / "models" / "in-models"), True)
    assert resolve("bert-base-uncased", from_browser=False) == ("bert-base-uncased", False)
