"""`python -m bertexplore.finetune`: example configs, a short run that saves, and clean errors."""
from __future__ import annotations

import pytest

from bertexplore.finetune.__main__ import main
from bertexplore.finetune.config import JobConfig
from bertexplore.loading import load_model


@pytest.mark.parametrize("task", ["classification", "multilabel", "ner", "mlm", "pretraining", "qa"])
def test_example_configs_are_valid_and_use_bundled_data(task, capsys):
    assert main(["--example", task]) == 0
    config = JobConfig.from_yaml(capsys.readouterr().out)
    assert config.task == task and config.data.startswith("assets/datasets/") and config.output_name == f"minilm-{task}"


def test_cli_trains_and_saves(tiny_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BERTEXPLORE_MODELS_DIR", str(tmp_path / "models"))
    rows = ["text,label"] + [f"good movie {i},pos" for i in range(6)] + [f"bad film {i},neg" for i in range(6)]
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    JobConfig(task="classification", base_model=str(tiny_dir / "tiny-base"), data=str(tmp_path / "d.csv"), epochs=1,
              batch_size=4, max_length=16, device="cpu", output_name="cli-model").save(tmp_path / "job.yaml")
    assert main(["--config", str(tmp_path / "job.yaml")]) == 0
    out = capsys.readouterr().out
    assert "before: accuracy" in out and "saved in" in out
    loaded = load_model("cli-model", head="sequence-classification", device="cpu")
    assert set(loaded.config.id2label.values()) == {"neg", "pos"}


def test_cli_reports_bad_config_without_traceback(tmp_path, capsys):
    (tmp_path / "bad.yaml").write_text("task: mlm\nbatch_size: 0\n")
    assert main(["--config", str(tmp_path / "bad.yaml")]) == 2
    assert "batch_size" in capsys.readouterr().err
    (tmp_path / "missing.yaml").write_text("task: ner\ndata: nowhere.jsonl\nbase_model: x\n")
    assert main(["--config", str(tmp_path / "missing.yaml")]) == 2
    assert "does not exist" in capsys.readouterr().err
