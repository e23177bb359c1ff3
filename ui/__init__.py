"""Streamlit glue: the only place outside app.py and pages/ that imports streamlit.

The engine (`bertexplore/`) stays importable from notebooks and scripts without it.
"""
