"""Start the app server with its heavy work already under way:
`python -m ui.serve [--warmup SPEC] [streamlit options]`.

`streamlit run app.py` imports nothing until the first browser connects, so the first visitor waited for torch,
transformers and the default model (10 s measured on a 2-core machine). Here a background thread imports them and
loads the default model into the same shared cache the pages use, while the server starts; the first visit finds
them ready or partly done. It also removes what saves killed mid-way left in the models folder, and, with
`--warmup SPEC` (or BERTEXPLORE_WARMUP=SPEC), computes a class's traces before students arrive (ui/warmup.py).
scripts/start.sh starts the app this way.
"""
from __future__ import annotations

import logging
import os
import sys
import threading
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app.py"
log = logging.getLogger("bertexplore")


def clean_up() -> int:
    """Remove what saves killed mid-way left in the models folder: at start-up, not at the first visit (18 §5)."""
    try:
        from bertexplore.finetune.save_folders import clean_stale_saves  # light: no training stack

        return len(clean_stale_saves())
    except Exception:  # noqa: BLE001 - the sidebar's once-per-process clean-up tries again
        log.warning("clean-up of interrupted saves failed", exc_info=True)
        return 0


def warm() -> None:
    """Import the engine and load the model a fresh session opens with (errors are left for the page to show)."""
    clean_up()
    try:
        from .heap import startup

        # The pause-and-freeze app.py does on its first run, around the default model too: no session exists yet,
        # so what is frozen is what lives as long as the process (ui/heap.py). Then app.py has nothing to do.
        with startup():
            from . import models
            models.preload_default()
    except Exception:  # noqa: BLE001 - a failed warm-up only means the first visit does the work itself
        log.warning("warm-up failed; the first visit loads the model instead", exc_info=True)
    from . import janitor, warmup

    janitor.start()
    warmup.start()


def split_options(argv: list[str]) -> list[str]:
    """Take `--warmup SPEC` / `--warmup=SPEC` out of `argv` into $BERTEXPLORE_WARMUP; the rest goes to streamlit."""
    rest, i = [], 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--warmup" and i + 1 < len(argv):
            os.environ["BERTEXPLORE_WARMUP"] = argv[i + 1]
            i += 2
            continue
        if arg.startswith("--warmup="):
            os.environ["BERTEXPLORE_WARMUP"] = arg.split("=", 1)[1]
        else:
            rest.append(arg)
        i += 1
    return rest


def main(argv: list[str]) -> None:
    argv = split_options(argv)
    threading.Thread(target=warm, name="bertexplore-warm-up", daemon=True).start()
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(APP), *argv]
    cli.main()


if __name__ == "__main__":
    main(sys.argv[1:])
