"""The classroom pack download: sizes before fetching, resumable fetches, one clear message per failing model.

huggingface_hub's functions are replaced by fakes (no network in tests); the fakes behave like the hub's:
model_info lists files with sizes, snapshot_download writes the allowed files into local_dir.
"""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import httpx2
import huggingface_hub
import pytest
from huggingface_hub.errors import GatedRepoError, OfflineModeIsEnabled, RepositoryNotFoundError

from bertexplore import download as dl
from bertexplore.__main__ import main
from bertexplore.packs import PACKS

SIZES = {
    "bert-base-uncased": {"config.json": 570, "model.safetensors": 440_449, "vocab.txt": 231_508,
                          "tokenizer.json": 466_062, "pytorch_model.bin": 440_473, "onnx/model.onnx": 5,
                          "coreml/fill-mask/Manifest.json": 7, "README.md": 10_000},
    "distilbert-base-uncased-finetuned-sst-2-english": {"config.json": 629, "model.safetensors": 267_832,
                                                        "vocab.txt": 231_508},
    "dslim/bert-base-NER": {"config.json": 829, "pytorch_model.bin": 433_316, "vocab.txt": 213_450},
    "deepset/bert-base-cased-squad2": {"config.json": 508, "model.safetensors": 433_270, "vocab.txt": 213_450},
    "bert-base-chinese": {"config.json": 624, "model.safetensors": 411_578, "vocab.txt": 109_540},
}


def _response(code: int) -> httpx2.Response:
    return httpx2.Response(code, request=httpx2.Request("GET", "https://huggingface.co/api/models/x"))


class FakeHub:
    """model_info and snapshot_download with per-model failures; snapshot_download writes files of the listed sizes
    (weights a thousand times smaller than the real ones, to keep the test light) and records what it was asked for."""

    def __init__(self, failures: dict[str, BaseException] | None = None, download_failures=None) -> None:
        self.failures = failures or {}
        self.download_failures = download_failures or {}
        self.requests: list[tuple[str, list[str]]] = []

    def model_info(self, name, files_metadata=False, **kwargs):
        assert files_metadata, "sizes need files_metadata=True"
        if name in self.failures:
            raise self.failures[name]
        return SimpleNamespace(siblings=[SimpleNamespace(rfilename=f, size=s) for f, s in SIZES[name].items()])

    def snapshot_download(self, name, allow_patterns=None, local_dir=None, **kwargs):
        self.requests.append((name, list(allow_patterns)))
        if name in self.download_failures:
            raise self.download_failures[name]
        folder = Path(local_dir)
        for rel in allow_patterns:
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_bytes(b"x" * SIZES[name][rel])
        return str(folder)



def install(monkeypatch, hub: FakeHub) -> FakeHub:
    monkeypatch.setattr(huggingface_hub.HfApi, "model_info", hub.model_info)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", hub.snapshot_download)
    monkeypatch.setattr(huggingface_hub, "list_repo_files", lambda name, **kw: list(SIZES[name]))
    return hub


def test_plan_picks_top_level_safetensors_files_and_sums_their_sizes(monkeypatch, tmp_path):
    install(monkeypatch, FakeHub())
    p = dl.plan("bert-base-uncased", tmp_path)
    names = sorted(f for f, _ in p.files)
    assert names == ["config.json", "model.safetensors", "tokenizer.json", "vocab.txt"]  # no .bin, onnx/ or coreml/
    assert p.size == 570 + 440_449 + 231_508 + 466_062 and p.error is None and p.on_disk == 0
    q = dl.plan("dslim/bert-base-NER", tmp_path)  # no safetensors in the repo: the PyTorch weights instead
    assert sorted(f for f, _ in q.files) == ["config.json", "pytorch_model.bin", "vocab.txt"]


def test_pack_cli_states_each_size_and_the_total_before_downloading(monkeypatch, tmp_path, capsys):
    hub = install(monkeypatch, FakeHub())
    assert main(["download", "--pack", "classroom", "--to", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    total = sum(s for m in SIZES.values() for f, s in m.items() if f in dict.fromkeys(
        dl._select(list(m))))
    per_model = {m.name: dl.format_size(sum(SIZES[m.name][f] for f in dl._select(list(SIZES[m.name]))))
                 for m in PACKS["classroom"]}
    first_saved = next(i for i, line in enumerate(lines) if ": saved in " in line)
    total_line = next(i for i, line in enumerate(lines) if line.startswith("Total:"))
    assert total_line < first_saved  # sizes come before any download
    assert f"Total: {dl.format_size(total)}" in lines[total_line]
    for name, size in per_model.items():
        assert any(line.strip().startswith(name) and size in line for line in lines[:total_line]), (name, out)
    assert [name for name, _ in hub.requests] == [m.name for m in PACKS["classroom"]]
    for model in PACKS["classroom"]:
        assert (tmp_path / model.name / "config.json").is_file()


def test_second_run_reports_what_is_on_disk_and_refetches_only_through_the_hub_client(monkeypatch, tmp_path, capsys):
    install(monkeypatch, FakeHub())
    assert main(["download", "bert-base-chinese", "--to", str(tmp_path)]) == 0
    capsys.readouterr()
    # A partial file (an interrupted run): the plan counts only complete files as on disk.
    weights = tmp_path / "bert-base-chinese" / "model.safetensors"
    weights.write_bytes(b"x")
    p = dl.plan("bert-base-chinese", tmp_path)
    assert p.on_disk == p.size - SIZES["bert-base-chinese"]["model.safetensors"]
    assert main(["download", "bert-base-chinese", "--to", str(tmp_path), "--dry-run"]) == 0
    assert "already on disk" in capsys.readouterr().out


def test_one_clear_message_per_failing_model_and_the_others_still_download(monkeypatch, tmp_path, capsys):
    hub = install(monkeypatch, FakeHub(
        failures={"dslim/bert-base-NER": RepositoryNotFoundError("404", response=_response(404)),
                  "bert-base-chinese": GatedRepoError("403", response=_response(403))},
        download_failures={"deepset/bert-base-cased-squad2": OSError(28, "No space left on device")},
    ))
    assert main(["download", "--pack", "classroom", "--to", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    err = captured.err.splitlines()
    assert any(line.startswith("dslim/bert-base-NER: not downloaded: no such model") for line in err)
    assert any(line.startswith("bert-base-chinese: not downloaded: the model is gated") for line in err)
    assert any(line.startswith("deepset/bert-base-cased-squad2: failed: the disk is full") for line in err)
    assert "2 of 5 models downloaded" in captured.err
    assert "some sizes unknown" in captured.out
    assert {name for name, _ in hub.requests} == {"bert-base-uncased", "distilbert-base-uncased-finetuned-sst-2-english",
                                                 "deepset/bert-base-cased-squad2"}
    assert (tmp_path / "bert-base-uncased" / "model.safetensors").is_file()


@pytest.mark.parametrize("error", [OfflineModeIsEnabled("offline"), httpx2.ConnectError("[Errno -2] Name or service not known")])
def test_unreachable_hub_says_sizes_cannot_be_known_and_downloads_nothing(monkeypatch, tmp_path, capsys, error):
    hub = install(monkeypatch, FakeHub(failures={m: error for m in SIZES}))
    assert main(["download", "--pack", "classroom", "--to", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert "sizes cannot be known here" in captured.out
    assert hub.requests == []
    lines = captured.err.splitlines()
    assert len([line for line in lines if ": not downloaded: " in line]) == len(PACKS["classroom"])
    assert not any(tmp_path.iterdir())


def test_no_model_and_no_pack_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["download"])
    assert exit_info.value.code == 2
    assert "--pack" in capsys.readouterr().err


def test_pack_models_are_loadable_task_models():
    from bertexplore.loading import AUTO_CLASSES
    from bertexplore.registry import RECOMMENDED_TASK_MODELS
    heads = {m.head for m in PACKS["classroom"]}
    assert heads <= set(AUTO_CLASSES)
    for model in PACKS["classroom"]:
        if model.head in RECOMMENDED_TASK_MODELS and model.head != "pretraining":
            assert model.name in RECOMMENDED_TASK_MODELS[model.head]
