"""Lesson mode's engine: lesson files (format), the pages a step may open (pages), questions answered by the live
model (questions) and the notebook export (notebook). No Streamlit here: the UI lives in pages/lesson.py and
ui/lesson_*.py."""
