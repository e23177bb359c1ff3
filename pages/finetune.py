"""Fine-tune: turn the sidebar's base model into a classifier, an NER tagger or a masked-LM, in the background."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from bertexplore.finetune.config import LIMITS, TASK_DEFAULTS, TASK_HEADS, TASKS, JobConfig
from bertexplore.finetune.task_table import prepare, split
from bertexplore.finetune.files import BUNDLED, bundled_path, read_data, read_path
from bertexplore.download import download_command, python_command
from bertexplore.errors import NotAModel
from bertexplore.limits import check_name
from bertexplore.redact import shown_path
from bertexplore.registry import OFFLINE_MODEL, RECOMMENDED_TASK_MODELS, resolve
from ui.jobs import JOB_KEY
from ui.feedback import guard, show_error
from ui.markdown import code, plain
from ui.save_view import save_controls
from ui.finetune_view import (METRIC_NAMES, attention_change_figure, change_by_layer_figure,
                              confusion_figure, data_summary, loss_figure, metric_figure, results_counts,
                              status_line)
from ui.finetune_tasks_view import comparison_inputs, heldout_answers, run_comparison, show_comparison
from ui.finetune_setup import (TASK_KEY, coverage_warning, follow_task_link, keep_task_in_url, proposed_save_name,
                               reads_chinese, show_task)
from ui.jobs import STATUS as JOB_STATUS
from ui.models import current_model_name
from ui.entry import inside_app
from ui.i18n import N_, _, current_language
from ui.i18n import table as localized_table
from ui.head_models import head_title

inside_app()  # a deep link on a fresh server must still run through app.py

JOB = JOB_KEY  # ui.jobs shows it in every page's sidebar and keeps it alive
BEFORE = "ft_before"  # (job id, LoadedModel): the run's starting point, rebuilt once for comparisons
COMPARISON = "ft_comparison"

st.title(_("Fine-tune"))
st.markdown(
    _("Turn the base model picked in the sidebar into a **classifier**, a **named-entity tagger** or a "
      "**masked-LM**, **pre-train** its masked-LM and next-sentence heads together, or train **question "
      "answering**, on a bundled sample or your own file. Training runs in the background with the Hugging "
      "Face Trainer; this page and the others stay usable. The shared base model is never changed: a copy "
      "is trained, visible only to you until you save it.")
)

base = current_model_name()
try:
    check_name(base)  # no hub id or folder name is that long; the file system would refuse it mid-run
    source, is_local = resolve(base)
except NotAModel as err:  # a folder outside the allowed ones
    show_error(err)
    st.stop()
except OSError as err:  # the name cannot even be looked up as a folder
    show_error(NotAModel(_("'{name}' cannot be looked up as a model ({err}).").format(name=base[:80], err=err.strerror)))
    st.stop()
st.caption((_("Base model: **{name}** — read from {source} (local files).") if is_local else
            _("Base model: **{name}** — read from {source} (Hugging Face hub).")).format(name=plain(base),
                                                                                        source=code(shown_path(source))))
if base == OFFLINE_MODEL:
    st.caption(_("For a bigger base model, fetch one on a connected machine, e.g. `{command}` (in a terminal opened in "
                 "the app folder), then pick it in the sidebar.").format(
                     command=download_command("bert-base-uncased", "--to", "models")))

follow_task_link()  # ?ft_task=<key> (or an old link's label) picks the task; the URL always gets the key back
task = st.radio(_("Task"), list(TASKS), format_func=lambda t: _(TASKS[t]), key=TASK_KEY, horizontal=True)
keep_task_in_url(task)
defaults = TASK_DEFAULTS[task]

# ---------------------------------------------------------------------------------------------- data
st.subheader(_("1 · Data"))
choices = [name for name, (_file, kind) in BUNDLED.items() if kind == task]
if current_language() == "zh" and reads_chinese(base):  # the Chinese sets first, only for a model that reads them
    choices.sort(key=lambda name: not name.startswith("Chinese"))
mode = st.radio(_("Source"), [N_("Bundled sample"), N_("Upload a file")], format_func=_, key="ft_source",
                horizontal=True)
raw: bytes | None = None
filename = ""
table = None
with guard():
    if mode == "Bundled sample":
        picked = st.selectbox(_("Sample dataset"), choices, format_func=_, key=f"ft_bundled_{task}")
        data_path = bundled_path(picked)
        table = read_path(data_path)
        filename = data_path
    else:
        upload = st.file_uploader(
            _("CSV / TSV (text,label), JSONL (tokens,tags or text,label) or plain text (one example per "
              "line)"),
            type=["csv", "tsv", "jsonl", "json", "txt"], key="ft_upload",
        )
        if task == "qa":
            st.caption(_("Question answering: CSV or JSONL with SQuAD-like columns: question, context (the paragraph), "
                         "answer_text (copied from the paragraph; empty: no answer) and, optionally, answer_start "
                         "(its first character). SQuAD's nested answers column works too."))
        elif task == "pretraining":
            st.caption(_("Pre-training: plain text (.txt), paragraphs separated by blank lines; sentences B are drawn "
                         "from the same paragraph (IsNext) or another one (NotNext)."))
        if upload is not None:
            raw, filename = upload.getvalue(), upload.name
            table = read_data(raw, filename)
        else:
            st.info(_("Upload a file, or switch to a bundled sample."))

data = None
mapping: dict = {}
fraction, seed = 0.2, 42
if table is not None:
    st.caption(_("{filename}: {n_table} rows. First rows:").format(filename=code(filename), n_table=len(table)))
    st.dataframe(table.preview(), hide_index=True, width="stretch")
    if table.frame is not None:
        cols = table.columns
        c1, c2, c3 = st.columns(3)

        def pick(col, label: str, wanted: str, key: str, fallback: int = 0) -> str:
            # Without the expected name, the second mapping takes the second column: text and labels never
            # default to one column.
            index = cols.index(wanted) if wanted in cols else fallback
            return col.selectbox(label, cols, index=min(index, len(cols) - 1), key=key)

        if task == "ner":
            mapping["tokens_column"] = pick(c1, _("Tokens column"), "tokens", "ft_col_tokens")
            mapping["tags_column"] = pick(c2, _("Tags column"), "tags", "ft_col_tags", 1)
        elif task == "qa":
            mapping["question_column"] = pick(c1, _("Question column"), "question", "ft_col_question")
            mapping["context_column"] = pick(c2, _("Context column"), "context", "ft_col_context", 1)
            answer = "answer_text" if "answer_text" in cols else "answers"
            mapping["answer_column"] = pick(c3, _("Answer column"), answer, "ft_col_answer", 2)
        elif task != "pretraining":
            mapping["text_column"] = pick(c1, _("Text column"), "text", "ft_col_text")
            if task != "mlm":
                mapping["label_column"] = pick(c2, _("Label column"), defaults.get("label_column", "label"), "ft_col_label",
                                               1)
            if task == "multilabel":
                mapping["label_separator"] = c3.text_input(_("Label separator"), "|", key="ft_sep", max_chars=3)
    fraction = st.slider(_("Validation share"), float(LIMITS["validation_fraction"][0]), float(LIMITS["validation_fraction"][1]),
                         0.2, 0.05, key="ft_val_fraction", help=_("Held out for the metrics; split with the seed below."))
    seed = st.number_input(_("Seed"), int(LIMITS["seed"][0]), int(LIMITS["seed"][1]), 42, key="ft_seed",
                           help=_("Same seed, same data, same settings: the same model on a CPU."))
    with guard():
        probe = JobConfig(task=task, base_model=base, data=filename, validation_fraction=fraction, seed=int(seed), **mapping)
        prepared = prepare(table, probe)
        train_data, val_data = split(prepared, fraction, int(seed))
        data = (train_data, val_data)
        counts = prepared.counts()
        summary = data_summary(train_data, val_data)
        if counts:
            summary += " · " + ", ".join(f"{plain(k)}: {v}" for k, v in counts.items() if not k.startswith("I-"))
        st.success(summary)
        coverage_warning(base, prepared, filename)

# ------------------------------------------------------------------------------------ hyper-parameters
st.subheader(_("2 · Settings"))
c1, c2, c3, c4 = st.columns(4)
epochs = c1.number_input(_("Epochs"), float(LIMITS["epochs"][0]), float(LIMITS["epochs"][1]), float(defaults["epochs"]),
                         0.5, key=f"ft_epochs_{task}")
lr = c2.number_input(_("Learning rate"), float(LIMITS["learning_rate"][0]), float(LIMITS["learning_rate"][1]),
                     float(defaults["learning_rate"]), format="%.0e", step=1e-5, key=f"ft_lr_{task}")
batch = c3.number_input(_("Batch size"), int(LIMITS["batch_size"][0]), int(LIMITS["batch_size"][1]),
                        int(defaults["batch_size"]), key=f"ft_batch_{task}")
length = c4.number_input(_("Max length (tokens)"), int(LIMITS["max_length"][0]), int(LIMITS["max_length"][1]),
                         int(defaults["max_length"]), 8, key=f"ft_maxlen_{task}")
with st.expander(_("More settings")):
    a1, a2, a3, a4 = st.columns(4)
    weight_decay = a1.number_input(_("Weight decay"), *map(float, LIMITS["weight_decay"]), 0.01, 0.01, key="ft_wd")
    warmup = a2.number_input(_("Warm-up share"), *map(float, LIMITS["warmup_ratio"]), 0.0, 0.05, key="ft_warmup")
    max_steps = a3.number_input(_("Max steps (0: all epochs)"), *map(int, LIMITS["max_steps"]), 0, key="ft_max_steps")
    mlm_prob = a4.number_input(_("Masking rate (masked-LM)"), *map(float, LIMITS["mlm_probability"]), 0.15, 0.05,
                               key="ft_mlm_prob", disabled=task not in ("mlm", "pretraining"))

config = None
with guard():
    config = JobConfig(
        task=task, base_model=base, data=filename or "-", validation_fraction=float(fraction),
        epochs=float(epochs), learning_rate=float(lr), batch_size=int(batch), max_length=int(length),
        seed=int(seed), weight_decay=float(weight_decay), warmup_ratio=float(warmup),
        max_steps=int(max_steps), mlm_probability=float(mlm_prob), **mapping,
    ).validate()

# ----------------------------------------------------------------------------------------------- run
st.subheader(_("3 · Train"))


def _start(config: JobConfig, raw: bytes | None, filename: str, data) -> None:
    """A callback, so the run it starts makes the button below draw disabled at once (it looked still enabled)."""
    from bertexplore.finetune.job import FineTuneJob

    st.session_state.pop(BEFORE, None)
    st.session_state.pop(COMPARISON, None)
    st.session_state.pop("ft_saved_as", None)
    st.session_state[JOB] = FineTuneJob(config, raw=raw, filename=filename, data=data).start()


job = st.session_state.get(JOB)
busy = job is not None and job.running
st.button(_("Start training"), key="ft_start", type="primary", disabled=busy or data is None or config is None,
          on_click=_start, args=(config, raw, filename, data))
if config is not None:
    with st.expander(_("The same job from a shell (bigger runs, several GPUs)")):
        st.code(config.to_yaml(), language="yaml")
        st.download_button(_("Download job.yaml"), config.to_yaml(), "job.yaml", "text/yaml", key="ft_yaml")
        st.code(f"{python_command()} -m bertexplore.finetune --config job.yaml\n"
                "accelerate launch -m bertexplore.finetune --config job.yaml\n"
                "torchrun --nproc_per_node 4 -m bertexplore.finetune --config job.yaml", language="bash")
        if raw is not None:
            st.caption(_("Put your uploaded file next to job.yaml as {filename}.").format(filename=code(filename)))


def draw_progress() -> None:
    current = st.session_state.get(JOB)
    if current is None:
        return
    current.heartbeat()
    snap = current.snapshot()
    st.progress(snap.fraction, text=status_line(snap))
    if snap.running:
        st.button(_("Stop"), key="ft_stop", on_click=current.stop, icon=":material/stop:",
                  help=_("Ends training at the end of the current step; the model so far is kept."))
    if snap.error:
        st.error(plain(snap.error))
    if snap.losses or snap.evals:
        left, right = st.columns(2)
        left.plotly_chart(loss_figure(snap), width="stretch", key="ft_loss_chart")
        right.plotly_chart(metric_figure(snap, current.config.task), width="stretch", key="ft_metric_chart")
    if st.session_state.get("ft_seen_running") and not snap.running:
        st.session_state["ft_seen_running"] = False
        st.rerun(scope="app")  # the run ended: draw the results below
    st.session_state["ft_seen_running"] = snap.running


other_task = job is not None and job.config.task != task
if other_task:  # a run of another task: its curves and results belong on that task's view, not under this one
    run_status = job.snapshot().status
    status_word = JOB_STATUS.get(run_status, run_status)
    st.info(_("Your last run trained **{task}** ({status}); its progress and results are shown with that task.").format(
        task=_(TASKS[job.config.task]), status=_(status_word)))
    st.button(_("Show that run"), key="ft_show_run", on_click=show_task, args=(job.config.task,))
elif job is not None:
    st.fragment(draw_progress, run_every=1.0 if job.running else None)()

# ------------------------------------------------------------------------------------------- results
result = job.result if job is not None and not job.running and not other_task else None
if result is not None:
    st.subheader(_("4 · Results"))
    names = sorted(k for k, v in result.metrics_after.items() if isinstance(v, float))
    st.dataframe(pd.DataFrame({
        _("metric"): [_(METRIC_NAMES[k]) if k in METRIC_NAMES else k for k in names],
        _("before"): [result.metrics_before.get(k) for k in names],
        _("after"): [result.metrics_after[k] for k in names],
    }), hide_index=True, width="content")
    st.caption(results_counts(result) + (_(" — stopped early.") if result.stopped else _(".")))
    for note in result.notes:
        st.caption(plain(note))
    if "confusion_matrix" in result.metrics_after:
        st.plotly_chart(confusion_figure(result.metrics_after["confusion_matrix"], result.label_names),
                        width="content", key="ft_confusion")

    st.markdown(_("**Save** into the local models folder: it appears in every page's model picker, also "
                  "after a restart."))
    save_controls(result, proposed_save_name(result.config))

    heldout_answers(result.metrics_after)


def _before(result):
    """The run's starting point, rebuilt once per job (never the shared cached model)."""
    from bertexplore.finetune.compare import before_model

    cached = st.session_state.get(BEFORE)
    if cached is None or cached[0] != id(job):
        cached = (id(job), before_model(result))
        st.session_state[BEFORE] = cached
    return cached[1]


if result is not None and result.config.task in ("pretraining", "qa"):
    pair_inputs = comparison_inputs(result.config.task)
    if st.button(_("Compare before and after"), key="ft_compare"):
        with guard(), st.spinner(_("Running both models…")):
            st.session_state[COMPARISON] = run_comparison(result.config.task, _before(result), result.as_loaded(),
                                                          pair_inputs)
    if (pair_comparison := st.session_state.get(COMPARISON)) is not None and not hasattr(pair_comparison, "tokens"):
        show_comparison(pair_comparison)
elif result is not None:
    st.markdown(_("**Before / after** on a sentence of your choice (type [MASK] where a word should be guessed).")
                if result.config.task == "mlm" else _("**Before / after** on a sentence of your choice."))
    if "_zh." in str(result.config.data) or current_language() == "zh":
        sample = {"classification": "服务有点慢，但是菜的味道好极了。",
                  "multilabel": "政府将资助电动公交车的新研究。",
                  "ner": "李娜在北京的清华大学工作。",
                  "mlm": "把面包放进很热的烤[MASK]里，烤到表皮金黄。"}.get(result.config.task, "")
    else:
        sample = {"classification": "The service was slow but the food was wonderful.",
                  "multilabel": "The government will fund new research on electric buses.",
                  "ner": "Maria Lopez works for Siemens in Berlin.",
                  "mlm": "Bake the bread in a hot [MASK] until the crust is golden."}.get(result.config.task, "")
    # One sample per task: after NER training the box must not still hold the sentiment sentence.
    sentence = st.text_input(_("Sentence"), sample, key=f"ft_sentence_{result.config.task}", max_chars=2000)
    if st.button(_("Compare before and after"), key="ft_compare"):
        with guard(), st.spinner(_("Running both models…")):
            from bertexplore.finetune.compare import compare

            st.session_state[COMPARISON] = compare(_before(result), result.as_loaded(), result.config.task, sentence)
    comparison = st.session_state.get(COMPARISON)
    if comparison is not None and hasattr(comparison, "tokens"):
        for notice in comparison.notices:
            st.info(plain(notice))
        left, right = st.columns(2)
        left.markdown(_("Before"))
        left.dataframe(localized_table(comparison.before.rows), hide_index=True, width="stretch")
        right.markdown(_("After"))
        right.dataframe(localized_table(comparison.after.rows), hide_index=True, width="stretch")
        change = comparison.attention_change
        layers, heads = change.shape[:2]
        l1, l2 = st.columns(2)
        # shown from 1, as on the Attention page; the values stay 0-based indices
        layer = l1.selectbox(_("Layer"), list(range(layers)), index=layers - 1, key="ft_layer", bind="query-params",
                             format_func=lambda i: str(i + 1))
        head = l2.selectbox(_("Head"), ["average"] + list(range(heads)), key="ft_head",
                            format_func=lambda h: _("average") if h == "average" else str(h + 1))
        grid = change[layer].mean(axis=0) if head == "average" else change[layer, int(head)]
        title = (_("Attention after − before, layer {layer}, heads averaged").format(layer=layer + 1) if head == "average"
                 else _("Attention after − before, layer {layer}, head {head}").format(layer=layer + 1, head=head + 1))
        st.plotly_chart(attention_change_figure(grid, comparison.tokens, title), width="stretch", key="ft_diff")
        st.plotly_chart(change_by_layer_figure(comparison.change_by_layer()), width="stretch", key="ft_diff_heads")

if job is None:
    hub = RECOMMENDED_TASK_MODELS.get(TASK_HEADS[task], ())
    if hub and task != "mlm":
        st.caption(_("Online, ready-made {task_heads} checkpoints exist too, e.g. `{hub}` (`python -m "
                     "bertexplore download {hub} --to models`).").format(task_heads=head_title(TASK_HEADS[task]), hub=hub[0]))
