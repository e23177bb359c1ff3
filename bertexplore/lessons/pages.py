"""The pages a lesson step may open, by stable key (the page's URL path), and the URL state each one reads.

A step's `state` may only name keys listed here: they are the keys the page binds to the URL (bind="query-params"),
so a step opens exactly as a shared link would. tests/unit/test_lessons_format.py checks every key against the
page's source, so a renamed widget key fails a test instead of silently opening the default view.
"""
from __future__ import annotations

PAGE_STATE: dict[str, frozenset[str]] = {
    "home": frozenset(),
    "masked_lm": frozenset({"mlm_text", "mlm_masks", "mlm_whole", "mlm_k", "mlm_hide_sub", "mlm_order",
                            "mlm_pair_a", "mlm_pair_b", "mlm_pll_variant"}),
    "attention": frozenset({"attention_text", "attention_pair", "attention_layer", "attention_head", "attention_avg",
                            "attention_level", "attention_filter", "attention_hide_special", "attention_renorm",
                            "attention_colors", "attention_fixed_scale", "attention_tab", "attention_measure"}),
    "ablation": frozenset({"abl_off"}),
    "analysis": frozenset({"an_text", "an_pair", "an_tab", "an_lens_head", "an_graph_out"}),
    "classification": frozenset({"cls_text", "cls_pair", "cls_target", "cls_steps"}),
    "ner": frozenset({"ner_text", "ner_head", "ner_layer"}),
    "qa": frozenset({"qa_question", "qa_context", "qa_allow_null", "qa_max_answer"}),
    "nsp": frozenset({"nsp_a", "nsp_b"}),
    "finetune": frozenset({"ft_task", "ft_layer"}),
    "inside_bert": frozenset({"inside_text", "inside_pair", "inside_step", "inside_layer", "inside_head",
                              "inside_token", "inside_masks", "inside_model_head", "inside_seed"}),
}

def page_file(page: str) -> str:
    """The script of a page key, relative to the repository root."""
    return f"pages/{page}.py"
