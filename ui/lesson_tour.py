"""A first-visit tour: four short notes over the sidebar, the text box, the step selector and the lesson page.

It runs in the browser only: a small script draws the notes over the page and remembers in the browser's
localStorage that they were seen (or dismissed), so the server keeps nothing. "Show the tour" replays it.
"""
from __future__ import annotations

import json

import streamlit as st

from .i18n import _

STORAGE_KEY = "bertexplore.tour.v1"
FORCE_KEY = "_lesson_tour_force"
HOST = "lesson_tour_host"


def tour_steps() -> list[dict[str, str]]:
    return [
        {"selector": '[data-testid="stSidebar"]', "title": _("Model and language"),
         "text": _("Pick the model and the language here; every page uses them.")},
        {"selector": '[data-testid="stMain"] [data-testid="stTextInput"], [data-testid="stMain"] '
                     '[data-testid="stTextArea"]', "title": _("Your text"),
         "text": _("Type your own sentence: every view is computed from it, with the model's real numbers.")},
        {"selector": '.st-key-inside_step, .st-key-lesson_next, [data-testid="stMain"] [data-testid="stSlider"]',
         "title": _("Step by step"),
         "text": _("Inside BERT's step selector, the layer and head sliders and a lesson's Next button move "
                   "through the model; the arrow keys work too.")},
        {"selector": '[data-testid="stSidebarNav"] a[href*="lesson"], [data-testid="stSidebar"] a[href*="lesson"]',
         "title": _("Lessons"),
         "text": _("A guided path through the app, with questions that the live model answers.")},
    ]


SCRIPT = """<script>
(function () {
  const STEPS = %(steps)s, LABELS = %(labels)s, FORCE = %(force)s, KEY = %(key)s;
  const win = window.parent, doc = win.document;
  let seen = null;
  try { seen = win.localStorage.getItem(KEY); } catch (e) { seen = "unavailable"; }
  if ((seen && !FORCE) || (doc.getElementById("bx-tour") && !FORCE)) return;
  const old = doc.getElementById("bx-tour"); if (old) old.remove();
  const box = doc.createElement("div");
  box.id = "bx-tour"; box.setAttribute("role", "dialog"); box.setAttribute("aria-live", "polite");
  box.style.cssText = "position:fixed;right:24px;bottom:24px;z-index:1000001;max-width:360px;background:#fff;" +
    "color:#222;border:2px solid #ff4b4b;border-radius:10px;padding:14px 16px;font:15px/1.45 sans-serif;" +
    "box-shadow:0 6px 24px rgba(0,0,0,.25)";
  doc.body.appendChild(box);
  let lit = null;
  function unlight() { if (lit) { lit.style.outline = lit.dataset.bxOutline || ""; lit = null; } }
  function finish() {
    try { win.localStorage.setItem(KEY, "done"); } catch (e) {}
    unlight(); box.remove(); doc.removeEventListener("keydown", onKey, true);
  }
  function onKey(e) { if (e.key === "Escape") finish(); }
  doc.addEventListener("keydown", onKey, true);
  function button(label, primary, action) {
    const b = doc.createElement("button");
    b.textContent = label; b.onclick = action;
    b.style.cssText = "margin:8px 8px 0 0;padding:4px 12px;border-radius:6px;cursor:pointer;border:1px solid #ff4b4b;" +
      (primary ? "background:#ff4b4b;color:#fff" : "background:#fff;color:#222");
    return b;
  }
  function show(i) {
    unlight();
    const step = STEPS[i];
    const el = doc.querySelector(step.selector);
    if (el) { lit = el; el.dataset.bxOutline = el.style.outline; el.style.outline = "3px solid #ff4b4b"; }
    box.replaceChildren();
    const head = doc.createElement("div"); head.style.fontWeight = "700";
    head.textContent = step.title + "  (" + (i + 1) + "/" + STEPS.length + ")";
    const body = doc.createElement("div"); body.textContent = step.text;
    box.append(head, body);
    if (i > 0) box.append(button(LABELS.back, false, () => show(i - 1)));
    box.append(i < STEPS.length - 1 ? button(LABELS.next, true, () => show(i + 1)) : button(LABELS.done, true, finish));
    box.append(button(LABELS.skip, false, finish));
  }
  show(0);
})();
</script>"""


def request_tour() -> None:
    st.session_state[FORCE_KEY] = True


def tour_button() -> None:
    st.button(_("Show the tour"), key="lesson_tour_again", icon=":material/tour:", on_click=request_tour)


def tour() -> None:
    """Draw the tour's script (hidden: it only draws over the page, in the browser)."""
    force = bool(st.session_state.pop(FORCE_KEY, False))
    labels = {"next": _("Next"), "back": _("Back"), "done": _("Done"), "skip": _("Skip the tour")}
    html = SCRIPT % {"steps": _json(tour_steps()), "labels": _json(labels), "force": "true" if force else "false",
                     "key": _json(STORAGE_KEY)}
    with st.sidebar.container(key=HOST + ("_again" if force else "")):
        st.iframe(html, height=1)


def _json(value: object) -> str:
    # Inside a <script>: "</" would end it early, so it is written as "<\/" (the same string to JavaScript).
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")
