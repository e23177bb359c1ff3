from __future__ import annotations

from app_helpers import assert_no_exception, open_page


def test_home_opens_on_packaged_model_and_explains_missing_mlm_head():
    at = open_page("pages/home.py")
    assert_no_exception(at)
    text = " ".join(s.value for s in at.success)
    assert "6 layers × 12 heads" in text
    assert any("has no masked-LM head" in m.value for m in at.markdown)  # with the ways to get one


def test_home_with_tiny_local_model(tiny_dir):
    at = open_page("pages/home.py", model=str(tiny_dir / "tiny-mlm"))
    assert_no_exception(at)
    assert "2 layers × 4 heads" in " ".join(s.value for s in at.success)


def test_unknown_model_offline_shows_fetch_command_not_traceback():
    at = open_page("pages/home.py", model="no-such-org/no-such-model")
    assert_no_exception(at)
    assert any("python -m bertexplore download no-such-org/no-such-model" in e.value for e in at.error)
    assert any("python -m bertexplore download no-such-org/no-such-model" in c.value for c in at.code)


def test_folder_that_is_not_a_model(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    at = open_page("pages/home.py", model=str(tmp_path))
    assert_no_exception(at)
    assert any("no config.json" in e.value.replace("\\", "").replace("\u2060", "") for e in at.error)  # as shown
