"""The session's fine-tuning job, visible (and kept alive) from every page's sidebar."""
from __future__ import annotations

import streamlit as st

from .i18n import N_, _

JOB_KEY = "ft_job"
# The job's status words, marked for translation (bertexplore/finetune/job.py sets them).
STATUS = {"created": N_("created"), "queued": N_("queued"), "running": N_("running"), "stopping": N_("stopping"),
          "stopped": N_("stopped"), "finished": N_("finished"), "failed": N_("failed")}


@st.fragment(run_every=3)
def _job_status() -> None:
    job = st.session_state.get(JOB_KEY)
    if job is None:
        return
    job.heartbeat()  # the tab is open, on whichever page: the job is not abandoned
    snap = job.snapshot()
    if snap.running:
        st.progress(snap.fraction, text=_("Fine-tuning: step {step} of {total}").format(
                                            step=snap.step, total=snap.total_steps or '?'))
    else:
        status = STATUS.get(snap.status, snap.status)
        st.caption(_("Fine-tuning {status}.").format(status=_(status)))


def sidebar_job_status() -> None:
    if st.session_state.get(JOB_KEY) is not None:
        with st.sidebar:
            _job_status()
