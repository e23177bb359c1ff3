"""bertexplore: look inside BERT-family models. The engine: no Streamlit in here.

    from bertexplore.loading import load_model
    from bertexplore.trace import run_trace
    trace = run_trace(load_model("bert-base-uncased"), "Paris is the [MASK] of France.")
"""
__version__ = "0.1.0"

import os as _os

# torch's OpenMP threads spin while they wait for work. When the CPU is shared (a classroom server, other programs)
# spinning threads fight each other: a 16-token forward of MiniLM measured 0.8-1.8 s instead of 0.09 s on a busy
# 2-core machine. Sleeping waiters cost nothing measurable when the machine is idle. Read once, when torch loads.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
