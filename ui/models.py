"""Model picking and loading for every page: one shared, read-only model per (name, head, device, dtype)."""
from __future__ import annotations

import streamlit as st

from bertexplore.errors import NotAModel
from bertexplore.limits import MAX_NAME_CHARS, check_name
from bertexplore.loading import LoadedModel, available_devices, load_model, weights_stamp
from bertexplore.registry import OFFLINE_MODEL, describe, heads_of, picker_choices, resolve

from .feedback import show_error
from .heap import no_collection
from .head_models import head_title
from .i18n import _
from .markdown import plain

MODEL_KEY = "model"
DEVICE_KEY = "device"
DTYPE_KEY = "dtype"


@st.cache_resource(max_entries=6, show_spinner=False)
def _cached_load(name: str, head: str, device: str, dtype: str, stamp: float | None) -> LoadedModel:
    # Shared by all sessions: LoadedModel is read-only (eval, no grads) and its lock serialises use.
    # `stamp` (the folder's weights' modification time) makes a model re-saved under the same name load afresh.
    with no_collection():  # faster build; nothing is frozen here (ui/heap.py: freezing would pin sessions' garbage)
        return load_model(name, head=head, device=device, dtype=dtype, from_browser=True)  # the folder policy


@st.cache_resource(show_spinner=False)
def _startup_cleanup() -> int:
    """Once per server process (ui/serve.py does it at start-up; this covers `streamlit run app.py`): remove
    temporary folders that saves killed mid-way left in the models folder, start the memory janitor and the
    warm-up if one was asked for."""
    from bertexplore.finetune.save_folders import clean_stale_saves  # light: no training stack

    from . import janitor, warmup

    janitor.start()
    warmup.start()
    return len(clean_stale_saves())


def sidebar() -> None:
    """Model, device and precision pickers; called from app.py so they persist across pages."""
    _startup_cleanup()
    choices = picker_choices()
    typed = st.session_state.get(MODEL_KEY)
    if typed and typed not in choices:
        choices.append(typed)  # keep a typed id or folder selectable after reruns
    st.sidebar.selectbox(
        _("Model"), choices, index=0, key=MODEL_KEY, accept_new_options=True, bind="query-params",
        help=_("Pick one, or type a Hugging Face id (e.g. bert-base-cased) or a local folder path."),
    )
    try:  # a name no model can have: every page falls back to the packaged model, and this says why
        check_name(str(st.session_state.get(MODEL_KEY) or "").strip())
    except NotAModel as err:
        show_error(err)
    name = current_model_name()
    # The full name (a narrow sidebar cuts it in the box), what it is, and the heads it brings.
    heads = heads_of(name)
    st.sidebar.caption(f"**{plain(name)}** · {describe(name)} " + (
        _("Heads: {heads}.").format(heads=", ".join(head_title(h) for h in heads)) if heads else
        _("Encoder only: the Attention and Head ablation pages work with it.")))
    devices = ["auto"] + available_devices()
    st.sidebar.selectbox(_("Device"), devices, key=DEVICE_KEY, help=_("auto picks cuda, then mps, then cpu."))
    dtypes = ["float32"] if resolved_device() == "cpu" else ["float32", "float16", "bfloat16"]
    st.sidebar.selectbox(_("Precision"), dtypes, key=DTYPE_KEY, help=_("Half precision is offered on GPUs only."))


def current_model_name() -> str:
    """The sidebar's model; the packaged one when the box holds a name no model can have (the sidebar says why)."""
    name = (st.session_state.get(MODEL_KEY) or OFFLINE_MODEL).strip() or OFFLINE_MODEL
    return name if len(name) <= MAX_NAME_CHARS else OFFLINE_MODEL


def resolved_device() -> str:
    device = st.session_state.get(DEVICE_KEY, "auto")
    if device == "auto":
        return available_devices()[0]
    return device if device in available_devices() else "cpu"


def _stamp(name: str) -> float | None:
    try:
        return weights_stamp(resolve(name)[0])
    except Exception:  # noqa: BLE001 - a bad name is reported by the load itself
        return None


def load_quietly(head: str, name: str) -> LoadedModel:
    """The shared model, or the engine's error raised (for pages that explain a missing model their own way)."""
    device = resolved_device()
    dtype = st.session_state.get(DTYPE_KEY, "float32") if device != "cpu" else "float32"
    with st.spinner(_("Loading {name} on {device}…").format(name=plain(name), device=device), show_time=True):
        return _cached_load(name, head, device, dtype, _stamp(name))


def get_model(head: str = "mlm", name: str | None = None) -> LoadedModel | None:
    """Load (once per process) the sidebar's model with `head`; show why on failure and return None."""
    name = name or current_model_name()
    device = resolved_device()
    dtype = st.session_state.get(DTYPE_KEY, "float32") if device != "cpu" else "float32"
    try:
        with st.spinner(_("Loading {name} on {device}…").format(name=plain(name), device=device), show_time=True):
            return _cached_load(name, head, device, dtype, _stamp(name))
    except Exception as err:  # noqa: BLE001 - every failure becomes a message
        show_error(err)
        return None


def preload_default() -> LoadedModel:
    """Load, outside any browser session, the model a new session starts with (ui/serve.py calls this at startup):
    the sidebar's first choice with the masked-LM head, on the first device, in float32, into the shared cache."""
    name = picker_choices()[0]
    return _cached_load(name, "mlm", available_devices()[0], "float32", _stamp(name))
