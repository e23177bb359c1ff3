"""AppTest drives the fine-tuning panel end to end on a tiny model: data, train, progress, save, compare."""
from __future__ import annotations

import time


from app_helpers import assert_no_exception, open_page


def finish(at, timeout=120):
    job = at.session_state["ft_job"]
    assert job.wait(timeout), "the training thread did not finish"
    at.run()
    assert_no_exception(at)
    return job


def test_train_save_and_compare_on_bundled_sentiment(tiny_dir, models_dir):
    at = open_page("pages/finetune.py", model=str(tiny_dir / "tiny-base"))
    assert_no_exception(at)
    assert not at.error
    assert any("training and" in s.value and "validation examples" in s.value for s in at.success)
    assert any("tiny-base" in c.value for c in at.caption)
    at.number_input(key="ft_epochs_classification").set_value(1.0)
    at.number_input(key="ft_batch_classification").set_value(64)
    at.button(key="ft_start").click()
    at.run()
    assert_no_exception(at)
    assert at.session_state["ft_job"].status in ("queued", "running", "finished")
    assert any("python -m bertexplore.finetune --config job.yaml" in c.value for c in at.code)
    job = finish(at)
    assert job.status == "finished" and job.error is None
    progress = at.get("progress")
    assert progress and "Finished" in progress[0].proto.text
    assert len(at.get("plotly_chart")) >= 3  # loss curve, metric curve, confusion matrix

    at.text_input(key="ft_save_name").set_value("panel model")
    at.button(key="ft_save").click()
    at.run()
    assert_no_exception(at)
    assert any("panel-model" in s.value for s in at.success)
    assert (models_dir / "panel-model" / "README.md").is_file()

    at.button(key="ft_compare").click()
    at.run()
    assert_no_exception(at)
    assert not at.error
    charts = at.get("plotly_chart")
    assert any("Attention after" in c.proto.spec and "heads averaged" in c.proto.spec for c in charts)

    # the saved classifier is now a choice in the Classification page's picker, not in the Explore pages' sidebar
    from bertexplore.registry import picker_choices
    from bertexplore.tasks.checkpoints import choices

    assert "panel-model" in choices("sequence-classification") and "panel-model" not in picker_choices()


def test_stop_button_ends_a_long_run(tiny_dir, models_dir):
    at = open_page("pages/finetune.py", model=str(tiny_dir / "tiny-base"))
    at.number_input(key="ft_epochs_classification").set_value(50.0)
    at.number_input(key="ft_batch_classification").set_value(1)
    at.button(key="ft_start").click()
    at.run()
    job = at.session_state["ft_job"]
    deadline = time.monotonic() + 60
    while job.snapshot().step < 2 and job.running and time.monotonic() < deadline:
        time.sleep(0.05)
    at.run()  # the fragment redraws with the live progress and the Stop button
    assert "Training" in at.get("progress")[0].proto.text
    at.button(key="ft_stop").click()
    at.run()
    assert_no_exception(at)
    job = finish(at)
    assert job.status == "stopped" and 2 <= job.result.steps < job.result.total_steps
    assert not models_dir.exists() or not any(models_dir.iterdir())


def test_bad_upload_and_wrong_mapping_show_messages(tiny_dir):
    at = open_page("pages/finetune.py", model=str(tiny_dir / "tiny-base"))
    at.radio(key="ft_source").set_value("Upload a file")
    at.run()
    at.file_uploader(key="ft_upload").set_value(("bad.csv", "text,label\nb\xe9,x\n".encode("latin-1"), "text/csv"))
    at.run()
    assert_no_exception(at)
    assert any("not UTF-8" in e.value for e in at.error)
    assert at.button(key="ft_start").disabled

    at.file_uploader(key="ft_upload").set_value(("one.csv", b"text,label\na,x\nb,x\nc,x\nd,x\n", "text/csv"))
    at.run()
    assert_no_exception(at)
    assert any("single class" in e.value for e in at.error)
    assert at.button(key="ft_start").disabled


def _open_with_query(tiny_dir, **params):
    """The panel opened from a shared link: `params` arrive as URL query parameters, not as session state."""
    from streamlit.testing.v1 import AppTest

    from app_helpers import APP

    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["model"] = str(tiny_dir / "tiny-base")
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page("pages/finetune.py")
    at.run()
    return at


def test_ner_task_via_query_param_key_and_other_task_defaults(tiny_dir):
    from bertexplore.finetune.config import TASKS

    # A bound radio writes its shown label into the address bar (AppTest does not echo that write back)
    at = _open_with_query(tiny_dir, ft_task=TASKS["ner"])
    assert_no_exception(at)
    assert not at.error
    assert at.radio(key="ft_task").value == "ner"  # set by the link alone
    assert at.number_input(key="ft_epochs_ner").value == 8.0
    assert any("B-PER" in s.value for s in at.success)
    at.radio(key="ft_task").set_value("classification").run()
    assert at.number_input(key="ft_epochs_classification").value == 3.0  # each task keeps its own defaults


def test_garbage_task_query_param_falls_back_to_the_default(tiny_dir):
    at = _open_with_query(tiny_dir, ft_task="<script>")
    assert_no_exception(at)
    assert at.radio(key="ft_task").value == "classification"


def test_training_shows_in_the_sidebar_of_other_pages_and_stays_alive(tmp_path, monkeypatch, tiny_dir):
    """A teacher may start a run and go to another page: the sidebar keeps showing it, and it is not abandoned."""
    import time

    from app_helpers import open_page as _open

    monkeypatch.setenv("BERTEXPLORE_MODELS_DIR", str(tmp_path))
    at = _open("pages/finetune.py", model=str(tiny_dir / "tiny-mlm"))
    at.number_input(key="ft_epochs_classification").set_value(50.0)
    at.number_input(key="ft_batch_classification").set_value(1).run()  # thousands of steps: it cannot end first
    at.button(key="ft_start").click().run()
    job = at.session_state["ft_job"]
    before = job._seen
    time.sleep(0.05)
    assert job.running
    at.switch_page("pages/attention.py").run()
    assert not at.exception
    assert job._seen > before  # the sidebar fragment's heartbeat, from the Attention page
    assert job.running  # stopped only below, so the sidebar must show the live run
    assert any("Fine-tuning: step" in (p.proto.text or "") for p in at.sidebar.get("progress"))
    job.stop()
    job.wait(30)
