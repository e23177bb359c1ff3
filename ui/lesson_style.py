"""Presenter mode's look: large type, no sidebar, figures whose text stays readable from the back of a room."""
from __future__ import annotations

import streamlit as st

FIGURE_MIN_PX = 18  # plotly text in presenter mode; titles a little larger

# Plotly writes each text's font-size as an inline style; a stylesheet rule with !important wins over it, so every
# figure of every page gets the minimum without touching how the figures are built (and without any global plotly
# template, which all sessions would share).
PRESENT_CSS = f"""
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"],
[data-testid="stSidebarNav"], [data-testid="stHeader"] {{ display: none !important; }}
[data-testid="stMainBlockContainer"] {{ padding-top: 1.5rem; max-width: 100%; }}
[data-testid="stMain"] [data-testid="stMarkdownContainer"] p,
[data-testid="stMain"] [data-testid="stMarkdownContainer"] li {{ font-size: 1.55rem; line-height: 1.5; }}
[data-testid="stMain"] h1 {{ font-size: 2.8rem; }}
[data-testid="stMain"] h2 {{ font-size: 2.3rem; }}
[data-testid="stMain"] button p {{ font-size: 1.3rem; }}
.js-plotly-plot .plotly text {{ font-size: {FIGURE_MIN_PX}px !important; }}
.js-plotly-plot .plotly .gtitle {{ font-size: {FIGURE_MIN_PX + 6}px !important; }}
.lesson-counter {{ font-size: 1.6rem; font-weight: 600; text-align: center; }}
</style>
"""

COUNTER_CSS = "<style>.lesson-counter { font-size: 1.15rem; font-weight: 600; text-align: center; }</style>"


# A lesson's frame: Streamlit's embed mode hides the sidebar but still draws its expand arrow; the page starts at
# the top of the frame.
FRAME_CSS = """
<style>
[data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"] { display: none !important; }
[data-testid="stMainBlockContainer"] { padding-top: 1rem !important; }
</style>
"""


def frame_css() -> None:
    st.html(FRAME_CSS)


def presenter_css() -> None:
    st.html(PRESENT_CSS)


def counter_css() -> None:
    st.html(COUNTER_CSS)
