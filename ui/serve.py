"""Start the app server with its heavy work already under way: `python -m ui.serve [streamlit options]`.

`streamlit run app.py` imports nothing until the first browser connects, so the first visitor waited for torch,
transformers and the default model (10 s measured on a 2-core machine). Here a background thread imports them and
loads the default model into the same shared cache the pages use, while the server starts; the first visit finds
them ready or partly done. scripts/start.sh starts the app this way.
"""
from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app.py"
log = logging.getLogger("bertexplore")


def warm() -> None:
    """Import the engine and load the model a fresh session opens with (errors are left for the page to show)."""
    try:
        from .heap import startup

        # The pause-and-freeze app.py does on its first run, around the default model too: no session exists yet,
        # so what is frozen is what lives as long as the process (ui/heap.py). Then app.py has nothing to do.
        with startup():
            from . import models
            models.preload_default()
    except Exception:  # noqa: BLE001 - a failed warm-up only means the first visit does the work itself
        log.warning("warm-up failed; the first visit loads the model instead", exc_info=True)


def main(argv: list[str]) -> None:
    threading.Thread(target=warm, name="bertexplore-warm-up", daemon=True).start()
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(APP), *argv]
    cli.main()


if __name__ == "__main__":
    main(sys.argv[1:])
