"""bertexplore: look inside BERT-family models. The engine: no Streamlit in here.

    from bertexplore.loading import load_model
    from bertexplore.trace import run_trace
    trace = run_trace(load_model("bert-base-uncased"), "Paris is the [MASK] of France.")
"""
__version__ = "0.1.0"
