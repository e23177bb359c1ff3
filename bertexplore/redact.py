"""Names, not the server's layout: how a folder is shown to users (issue 18 §5).

Messages and captions used to show absolute paths (the models folder, site-packages of the server's virtual
environment): every student saw how the server is laid out. Here a folder becomes what a user can type back into
the model box: a model's name in the models folder, "models" for the folder itself, the packaged model's name.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from .registry import OFFLINE_MODEL, allowed_dirs, models_dir, packaged_model_dir

_ABSOLUTE = re.compile(r"(?:[A-Za-z]:)?[/\\](?:[^\s'\"`,;:()\[\]{}<>]+[/\\])+[^\s'\"`,;:()\[\]{}<>]*")


def _resolved(path: str | os.PathLike) -> Path:
    try:
        return Path(path).expanduser().resolve()
    except (OSError, RuntimeError):
        return Path(path)


def shown_path(path: str | os.PathLike | None) -> str:
    """What users see for a folder or file on the server."""
    if path is None:
        return ""
    if not os.path.isabs(os.fspath(path)):
        return os.fspath(path)  # a hub id ("org/name"), not a folder of this server
    target = _resolved(path)
    packaged = packaged_model_dir()
    if packaged is not None and (target == _resolved(packaged) or _resolved(packaged) in target.parents):
        return OFFLINE_MODEL
    roots = [(_resolved(models_dir()), "models")] + [(_resolved(d), _resolved(d).name) for d in allowed_dirs()[1:]]
    for root, label in roots:
        if target == root:
            return label
        if root in target.parents:
            return target.relative_to(root).as_posix()
    return target.name or str(path)


def hide_paths(text: str) -> str:
    """`text` (an error message from a library) with every absolute path replaced by `shown_path` of it."""
    def shown(match: re.Match) -> str:
        path = match.group(0)
        tail = path[len(path.rstrip(".")):]  # a sentence's full stop is not part of the path
        return shown_path(path[:len(path) - len(tail)]) + tail

    return _ABSOLUTE.sub(shown, text)
