"""The session's fine-tuning job, visible (and kept alive) from every page's sidebar."""
from __future__ import annotations

import streamlit as st

JOB_KEY = "ft_job"


@st.fragment(run_every=3)
def _job_status() -> None:
    job = st.session_state.get(JOB_KEY)
    if job is None:
        return
    job.heartbeat()  # the tab is open, on whichever page: the job is not abandoned
    snap = job.snapshot()
    if snap.running:
        st.progress(snap.fraction, text=f"Fine-tuning: step {snap.step} of {snap.total_steps or '?'}")
    else:
        st.caption(f"Fine-tuning {snap.status}.")


def sidebar_job_status() -> None:
    if st.session_state.get(JOB_KEY) is not None:
        with st.sidebar:
            _job_status()
