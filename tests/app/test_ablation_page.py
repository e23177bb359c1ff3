from __future__ import annotations

from app_helpers import assert_no_exception, open_page

from bertexplore.trace import forward_count


def test_ablation_page_on_tiny_mlm_compares_and_scans(tiny_dir):
    at = open_page("pages/ablation.py", model=str(tiny_dir / "tiny-mlm"))
    assert_no_exception(at)
    at.text_input(key="abl_text").set_value("the cat [MASK] on the mat").run()
    at.multiselect(key="abl_off").set_value(["L1 H2", "L2 H4"]).run()
    assert_no_exception(at)
    assert "2 heads off" in [s.value for s in at.subheader]
    assert len(at.dataframe) == 2
    at.button(key="abl_scan").click().run()
    assert_no_exception(at)
    spec = at.get("plotly_chart")[0].proto.spec
    assert "heatmap" in spec
    # a rerun with the same inputs runs no forward: results come from the session's memo
    before = forward_count()
    at.run()
    assert forward_count() == before


def test_ablation_page_on_packaged_model_measures_representation():
    at = open_page("pages/ablation.py")
    assert_no_exception(at)
    assert any("no masked-LM head" in i.value for i in at.info)
    at.multiselect(key="abl_off").set_value(["L1 H1"]).run()
    assert_no_exception(at)
    assert any("cosine" in m.label for m in at.metric)


def test_ablation_page_several_masks_says_which_is_scored(tiny_dir):
    at = open_page("pages/ablation.py", model=str(tiny_dir / "tiny-mlm"), abl_text="two [MASK] and [MASK] .")
    assert_no_exception(at)
    assert any("measured at the first one" in i.value for i in at.info)
    at.multiselect(key="abl_off").set_value(["L2 H4"]).run()
    assert "1 head off" in [s.value for s in at.subheader]


def test_ablation_page_empty_text():
    at = open_page("pages/ablation.py")
    at.text_input(key="abl_text").set_value("   ").run()
    assert_no_exception(at)
    assert any("empty" in e.value for e in at.error)
