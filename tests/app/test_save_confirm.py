"""The Fine-tune page asks before replacing a saved model, naming its task and date (issue 7.5)."""
from __future__ import annotations

import re

import pytest

from app_helpers import assert_no_exception, open_page
from bertexplore.finetune.config import JobConfig
from bertexplore.finetune.save import saved_model, save_model
from bertexplore.finetune.train import run_training


@pytest.fixture
def shared_mlm(tiny_dir, tmp_path, monkeypatch):
    """A masked-LM that another session saved as 'shared'."""
    monkeypatch.setenv("BERTEXPLORE_MODELS_DIR", str(tmp_path / "models"))
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(["the cat sat on the mat", "the dog sat on the table", "mary works at google"] * 8))
    cfg = JobConfig(task="mlm", base_model=str(tiny_dir / "tiny-base"), data=str(corpus), epochs=1, batch_size=8,
                    max_length=16, device="cpu", eval_times=1)
    save_model(run_training(cfg), "shared")
    return saved_model("shared")


def test_replacing_a_model_with_another_head_needs_a_confirmation(tiny_dir, shared_mlm):
    at = open_page("pages/finetune.py", model=str(tiny_dir / "tiny-base"))
    at.number_input(key="ft_epochs_classification").set_value(1.0)
    at.button(key="ft_start").click().run()
    assert at.session_state["ft_job"].wait(120)
    at.run()
    at.text_input(key="ft_save_name").set_value("shared")
    at.button(key="ft_save").click().run()
    assert_no_exception(at)
    warning = re.sub(r"\\(.)", r"\1", " ".join(w.value for w in at.warning)).replace("\u2060", "")  # as shown
    assert "already exists" in warning and "Masked-LM" in warning and shared_mlm.saved_at in warning
    assert "head is different" in warning
    assert saved_model("shared").fingerprint == shared_mlm.fingerprint  # nothing replaced yet

    at.button(key="ft_replace_cancel").click().run()
    # (the tiny model's vocabulary reads little of the English data: that warning stays, the confirmation goes)
    assert not any("already exists" in w.value for w in at.warning)
    assert saved_model("shared").fingerprint == shared_mlm.fingerprint

    at.button(key="ft_save").click().run()
    at.button(key="ft_replace").click().run()
    assert_no_exception(at)
    assert any("Saved as" in s.value for s in at.success)
    assert saved_model("shared").architecture == "BertForSequenceClassification"
