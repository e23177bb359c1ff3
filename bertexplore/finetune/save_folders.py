"""Temporary folders of model saves, and the start-up clean-up of the ones a killed process left behind.

Kept apart from save.py so the app can clean up at start-up without importing the training stack.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

from ..registry import models_dir

MARKER = ".bertexplore-save"  # inside every temporary folder this module makes; nothing else is ever removed
_TEMP_PREFIXES = (".tmp-", ".old-")
EMPTY_AGE_S = 60.0  # an EMPTY unmarked temp folder this old is a save killed between mkdtemp and its marker
_active: set[str] = set()  # temporary folders this process is writing right now
_active_lock = threading.Lock()


def _process_id(pid: int) -> str | None:
    """Who `pid` is: boot id + pid + start time on Linux (a reused pid after a restart differs), else the pid."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        stat = Path(f"/proc/{pid}/stat").read_text()
        start = stat.rsplit(")", 1)[1].split()[19]  # field 22: start time in clock ticks since boot
        return f"{boot}:{pid}:{start}"
    except (OSError, IndexError):
        if os.name == "posix" and Path("/proc/self/stat").exists():
            return None  # Linux, and that pid is gone
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except OSError:
        pass  # exists, owned by another user
    return str(pid)


def make_temp(prefix: str, root: Path, name: str) -> Path:
    """A hidden folder in `root` marked as this process's, for the save of model `name`."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=root))
    (folder / MARKER).write_text(json.dumps({"host": socket.gethostname(), "owner": _process_id(os.getpid()),
                                             "created": time.time(), "name": name}), encoding="utf-8")
    with _active_lock:
        _active.add(str(folder))
    return folder


def release_temp(folder: Path) -> None:
    """Delete a temporary folder (a failed or finished save)."""
    shutil.rmtree(folder, ignore_errors=True)
    done(folder)


def done(folder: Path) -> None:
    """The save that made `folder` no longer writes it (it was renamed into place or removed)."""
    with _active_lock:
        _active.discard(str(folder))


def clean_stale_saves(root: Path | None = None, foreign_host_age_s: float = 24 * 3600) -> list[Path]:
    """Remove temporary folders left by saves whose process is gone; returns what was removed.

    Only folders this module made (hidden `.tmp-`/`.old-` names with its marker inside), never one that a save of
    this process is writing, never one whose process still runs. A folder made on another host (a shared disk)
    is removed only when older than `foreign_host_age_s`, since its process cannot be checked from here.
    """
    root = Path(root) if root is not None else models_dir()
    removed: list[Path] = []
    try:
        candidates = [p for p in root.iterdir() if p.name.startswith(_TEMP_PREFIXES) and p.is_dir()]
    except OSError:
        return removed
    host = socket.gethostname()
    for folder in candidates:
        try:
            info = json.loads((folder / MARKER).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            # Not ours, or a save killed before it wrote its marker (issue 18 §5): only an empty folder, left for a
            # minute, is removed; rmdir cannot remove anything inside one.
            try:
                if time.time() - folder.stat().st_mtime >= EMPTY_AGE_S and not any(folder.iterdir()):
                    folder.rmdir()
                    removed.append(folder)
            except OSError:
                pass
            continue
        with _active_lock:
            if str(folder) in _active:
                continue
        if info.get("host") == host:
            owner = str(info.get("owner") or "")
            pid = owner.split(":")[-2] if owner.count(":") >= 2 else owner
            if owner and pid.isdigit() and _process_id(int(pid)) == owner:
                continue  # its save may still be running
        elif time.time() - float(info.get("created", time.time())) < foreign_host_age_s:
            continue
        name = str(info.get("name") or "")
        target = root / name if name and "/" not in name and "\\" not in name and not name.startswith(".") else None
        if folder.name.startswith(".old-") and target is not None and not target.exists() and (folder / "model").is_dir():
            # Killed between moving the old model aside and moving the new one in: put the old one back.
            os.rename(folder / "model", target)
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            removed.append(folder)
    return removed
