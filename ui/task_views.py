"""Glue shared by the task-demo pages: checkpoint picker, loading with head checks, examples, per-session memo."""
from __future__ import annotations

from typing import Any, Callable

import plotly.graph_objects as go
import streamlit as st

from bertexplore.errors import ModelUnavailable
from bertexplore.figures import plot_text, plot_texts
from bertexplore.loading import LoadedModel
from bertexplore.redact import shown_path
from bertexplore.registry import models_dir, resolve
from bertexplore.tasks import checkpoints

from . import examples as example_files
from .feedback import show_error
from .head_models import head_title, missing_head
from .i18n import _
from .markdown import code, plain
from .models import load_quietly
from .session_memo import memo, recall  # noqa: F401  (the task pages' memo)


# The checkpoint picker's key on each task page (the one-click switch writes the chosen model there).
PICKER_KEYS = {"sequence-classification": "cls_checkpoint", "token-classification": "ner_checkpoint",
               "question-answering": "qa_checkpoint", "pretraining": "nsp_checkpoint"}

# Colour-blind-friendly palette (Okabe-Ito, lightened) for entity types and segments.
PALETTE = ("#f6c28b", "#9ad0ec", "#a8e0c5", "#f3a6c8", "#f9e79f", "#c9b3e6", "#f5b7a5", "#b8c4cc")


def _examples() -> dict:
    data = example_files.load("tasks")  # the interface language's examples first (ui/examples.py)
    return data if isinstance(data, dict) else {}


def examples(task: str) -> dict[str, Any]:
    return dict(_examples().get(task, {}))


def example_picker(task: str, key: str, fill: Callable[[Any], dict[str, str]]) -> None:
    """Buttons that fill the page's text widgets with an example (`fill` maps an example to {widget key: text})."""
    items = examples(task)
    if not items:
        return

    def pick() -> None:
        chosen = st.session_state.get(key)
        if chosen in items:
            st.session_state.update(fill(items[chosen]))

    st.pills(_("Examples"), list(items), key=key, on_change=pick, label_visibility="collapsed")


def first_example(task: str, fallback: Any) -> Any:
    """The first example of `task` in the interface language (the page's default input)."""
    return next(iter(examples(task).values()), fallback)


def default_text(key: str, value: str) -> None:
    """Give a text widget its first value through session state (a widget given both warns), and the link too: the
    default is the interface language's example, so a link without it would open another text in another
    language (ui/url_state.default_in_link)."""
    from .url_state import default_in_link

    default_in_link(key, value)


def checkpoint_picker(head: str, key: str) -> str:
    """Local checkpoints with the right head, recommended hub ids, the packaged model, or anything typed in."""
    options = checkpoints.choices(head)
    typed = st.session_state.get(key)
    if typed and typed not in options:
        options.append(typed)  # keep a typed id or folder selectable after reruns
    # No format_func: a URL-bound selectbox writes the displayed label into the link, and a shared link
    # must carry the checkpoint's real name.
    name = st.selectbox(
        _("Checkpoint"), options, index=0, key=key, accept_new_options=True, bind="query-params",
        help=(_("Checkpoints with a {task_titles} head. Local ones come from the models folder "
                "({models_dir}); you can also type a Hugging Face id or a folder path.").format(
                  task_titles=_(checkpoints.TASK_TITLES[head]), models_dir=code(shown_path(models_dir())))),
    )
    local = checkpoints.local_checkpoints(head)
    suggested = ", ".join(checkpoints.recommended(head))
    st.caption(_("Saved models with a {head} head: {local} · recommended online: {suggested}").format(
        head=head_title(head), local=plain(", ".join(local)) if local else _("none yet"), suggested=suggested))
    return (name or options[0]).strip()


def task_header(head: str, key: str, title: str, intro: str) -> str:
    """Title, what the task is, the checkpoint picker and how to fetch one offline; returns the picked name."""
    st.title(title)
    st.markdown(intro)
    return checkpoint_picker(head, key)


def task_model(head: str, name: str, key: str | None = None) -> LoadedModel | None:
    """Load `name` with `head`; when it cannot serve this page, ONE calm message (what is missing, saved models with
    the head in one click, else the classroom pack or the Fine-tune page) and None."""
    key = key or PICKER_KEYS.get(head, "")
    try:
        loaded = load_quietly(head, name)
    except ModelUnavailable:
        missing_head(head, key, name, reason=_("**{model}** is not on this machine, and the Hugging Face hub cannot be "
                                               "reached to fetch it.").format(model=plain(name)))
        return None
    except Exception as err:  # noqa: BLE001 - every other failure is the engine's own message
        show_error(err)
        return None
    problem = checkpoints.head_problem(loaded, head, advice_wanted=False)
    if problem:
        missing_head(head, key, name)
        st.caption(plain(problem.strip()))  # the specific reason, e.g. what the checkpoint was saved as
        return None
    where = _("local folder") if resolve(name)[1] else _("Hugging Face hub / cache")
    st.caption(
        _("Using checkpoint **{name}** ({where}: {source}) on {device}: {num_layers} layers × {num_heads} "
          "heads, up to {max_length} tokens.").format(
            name=plain(name), where=where, source=code(shown_path(loaded.source)), device=loaded.device,
            num_layers=loaded.num_layers, num_heads=loaded.num_heads, max_length=loaded.max_length)
    )
    return loaded


def colour_for(name: str, names: list[str] | tuple[str, ...]) -> str:
    ordered = sorted(set(names))
    return PALETTE[ordered.index(name) % len(PALETTE)] if name in ordered else PALETTE[-1]


def token_labels(tokens: tuple[str, ...] | list[str]) -> list[str]:
    """Unique x-axis labels ("3·cat") so repeated tokens get their own bar."""
    return [f"{i}·{plot_text(tok)}" for i, tok in enumerate(tokens)]


def clamp_state(key: str, low: int, high: int) -> None:
    """Pull a remembered widget value back into range before the widget is drawn (the model may have changed)."""
    value = st.session_state.get(key)
    if isinstance(value, (int, float)) and not low <= value <= high:
        st.session_state[key] = min(max(int(value), low), high)


def follow(key: str, source: tuple, value: Any) -> None:
    """Reset widget `key` to `value` whenever `source` (what the value was derived from) changes."""
    marker = f"_follow_{key}"
    if st.session_state.get(marker) != source:
        st.session_state[marker] = source
        st.session_state[key] = value


def label_figure(result) -> go.Figure:
    """Label scores as horizontal bars (predicted labels green), with the thresholds of a multi-label checkpoint."""
    measure = _("score") if result.mode == "regression" else _("probability")
    fig = go.Figure(go.Bar(
        x=result.scores.tolist(), y=plot_texts(result.labels), orientation="h",
        marker_color=["#2e7d32" if i in result.predicted else "#90a4ae" for i in range(len(result.labels))],
        text=[f"{s:.3f}" for s in result.scores.tolist()], textposition="auto",
    ))
    if result.mode == "multi-label" and result.thresholds:
        fig.add_trace(go.Scatter(x=list(result.thresholds), y=plot_texts(result.labels), mode="markers",
                                 marker_symbol="line-ns-open", marker_size=18, name=_("threshold")))
    fig.update_layout(height=80 + 32 * len(result.labels), margin=dict(l=10, r=10, t=10, b=10),
                      xaxis_title=measure, xaxis_range=None if result.mode == "regression" else [0, 1],
                      yaxis_autorange="reversed", showlegend=False)
    return fig


def show_convergence(explanation) -> None:
    """Integrated gradients' evidence beside its colours: the rule used, completeness, and how much each token still
    moved between the last two rules (the check that completeness alone cannot make)."""
    if explanation.max_change is None:
        return
    text = _("{nodes}-node rule, {evaluations} gradient evaluations in all; completeness error {completeness:.2%} of "
             "the difference; largest per-token change between the last two rules {change:.2%} of the largest "
             "attribution.").format(nodes=explanation.steps, evaluations=explanation.evaluations,
                                    completeness=explanation.relative_delta, change=explanation.max_change)
    if explanation.converged:
        st.caption(text + " " + _("Converged: both rules agree on every token."))
    else:
        st.warning(text + " " + _("Not converged within the budget: raise it; the attributions may still move."),
                   icon=":material/warning:")
