"""Fetch checkpoints for offline use, into the Hugging Face cache or a models folder.

Two steps, so the user sees what a download costs before it starts:
    plan(name, to)      -> the files to fetch and their sizes, from the hub's metadata (no weights downloaded)
    download(name, to)  -> fetch them; huggingface_hub resumes a partial file where it stopped
Every failure becomes one plain sentence per model (explain()), and the other models carry on.
"""
from __future__ import annotations

import errno
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .i18n import _

APP_FOLDER = Path(__file__).resolve().parent.parent


def python_command(executable: str | None = None, app_folder: Path = APP_FOLDER) -> str:
    """The Python that runs this app, as typed in a terminal opened in the app folder.

    Not plain `python`: the system Python lacks torch and transformers, and the project is not installed as a
    package (scripts/setup.sh installs requirements into .venv), so only the app's own interpreter, started from
    the app folder, finds `bertexplore`. Inside the app folder (its .venv) the path is relative, e.g.
    `.venv/bin/python`; elsewhere (a conda env, a system install) the absolute path.
    """
    exe = executable if executable is not None else sys.executable
    if not exe:
        return "python"
    path = Path(os.path.abspath(exe))  # not resolved: .venv/bin/python is a link to the base interpreter
    try:
        relative = path.relative_to(app_folder)
    except ValueError:
        return str(path) if " " not in str(path) else f'"{path}"'
    return relative.as_posix() if os.sep == "/" else str(relative)


def download_command(*args: str) -> str:
    """The download command that works from the app folder, e.g. `.venv/bin/python -m bertexplore download
    bert-base-uncased --to models`."""
    return " ".join([python_command(), "-m", "bertexplore", "download", *args])

# Everything a BERT-family model needs to load; safetensors only, never pickled weights when avoidable.
PATTERNS = ["*.json", "*.txt", "*.model", "*.safetensors"]
FALLBACK_PATTERNS = ["*.json", "*.txt", "*.model", "pytorch_model.bin"]


@dataclass
class ModelPlan:
    """What fetching one model means: its top-level files with sizes (None: the hub did not say)."""

    name: str
    files: list[tuple[str, int | None]] = field(default_factory=list)
    on_disk: int = 0  # bytes of those files already complete in the target folder
    error: str | None = None  # why the plan failed (plain words), e.g. the hub cannot be reached
    unreachable: bool = False

    @property
    def size(self) -> int | None:
        sizes = [s for _, s in self.files]
        return None if not sizes or any(s is None for s in sizes) else int(sum(sizes))


def target_dir(name: str, to: Path | None) -> Path | None:
    return None if to is None else Path(to) / name


def _select(names: list[str]) -> list[str]:
    """Top-level loading files only (no onnx/, coreml/ or other exports), safetensors when the repo has them."""
    from fnmatch import fnmatch

    top = [n for n in names if "/" not in n]
    patterns = PATTERNS if any(n.endswith(".safetensors") for n in top) else FALLBACK_PATTERNS
    return [n for n in top if any(fnmatch(n, p) for p in patterns)]


def is_unreachable(err: BaseException) -> bool:
    """The hub cannot be reached (offline mode, no DNS, refused, timed out), as opposed to a refusal by the hub."""
    names = {cls.__name__ for cls in type(err).__mro__}
    if "OfflineModeIsEnabled" in names:
        return True
    if names & {"ConnectError", "ConnectTimeout", "ReadTimeout", "TimeoutException", "NetworkError",
                "TransportError", "ConnectionError", "ProxyError", "SSLError"}:
        return True
    return isinstance(err, (ConnectionError, TimeoutError)) or "Name or service not known" in str(err)


def explain(err: BaseException) -> str:
    """One plain sentence for the user: what went wrong and what to do."""
    names = {cls.__name__ for cls in type(err).__mro__}
    if "OfflineModeIsEnabled" in names:
        return _("offline mode is on (HF_HUB_OFFLINE is set): run the command on a machine with internet access.")
    if "GatedRepoError" in names:
        return _("the model is gated: accept its terms on huggingface.co, log in with `hf auth login`, and retry.")
    if "RepositoryNotFoundError" in names:
        return _("no such model on the Hugging Face hub: check the name.")
    if "RevisionNotFoundError" in names or "EntryNotFoundError" in names:
        return _("the hub does not have the expected files for it.")
    if isinstance(err, OSError) and err.errno == errno.ENOSPC:
        return _("the disk is full: free some space and run the command again (finished files are kept).")
    if isinstance(err, PermissionError):
        return _("the target folder cannot be written: pick another with --to.")
    if is_unreachable(err):
        return _("the Hugging Face hub cannot be reached from this machine (no internet connection?); "
                 "run the command again once online: finished files are kept and a partial one resumes.")
    if "HfHubHTTPError" in names or "HTTPError" in names:
        return _("the hub refused the request ({error}); try again later.").format(error=err)
    return _("{kind}: {error}").format(kind=type(err).__name__, error=err)


def plan(name: str, to: Path | None = None) -> ModelPlan:
    """The files `download` would fetch and their sizes, from the hub's metadata; never raises."""
    from huggingface_hub import HfApi

    result = ModelPlan(name)
    try:
        info = HfApi().model_info(name, files_metadata=True)
    except Exception as err:  # noqa: BLE001 - every failure becomes a sentence for this model
        result.error, result.unreachable = explain(err), is_unreachable(err)
        return result
    sizes = {s.rfilename: s.size for s in (info.siblings or [])}
    result.files = [(n, sizes[n]) for n in _select(list(sizes))]
    if not result.files:
        result.error = _("the hub lists no weights or config files for it.")
        return result
    folder = target_dir(name, to)
    if folder is not None:
        for rel, size in result.files:
            local = folder / rel
            if size is not None and local.is_file() and local.stat().st_size == size:
                result.on_disk += size
    return result


def download(name: str, to: Path | None = None, files: list[str] | None = None) -> Path:
    """Download `name` from the hub; with `to`, into to/<name> so the app's models folder lists it.

    huggingface_hub keeps a partial file next to the target and resumes it on the next run, and skips files
    that are already complete, so running the same command again after an interruption finishes the job.
    """
    from huggingface_hub import list_repo_files, snapshot_download

    if files is None:
        files = _select(list_repo_files(name))
    folder = target_dir(name, to)
    path = snapshot_download(name, allow_patterns=list(files), local_dir=None if folder is None else str(folder))
    return Path(path)


def format_size(size: int | None) -> str:
    if size is None:
        return _("size unknown")
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def fetch_all(names: list[str], to: Path | None = None, dry_run: bool = False, descriptions: dict[str, str] | None = None,
              say=print, warn=print) -> int:
    """Sizes of every model and the total first, then each download in turn; returns how many failed."""
    descriptions = descriptions or {}
    where = str(to) if to is not None else _("the Hugging Face cache")
    say(_("Asking the Hugging Face hub for the size of {count} model(s) to save in {where}…").format(
        count=len(names), where=where))
    plans = [plan(name, to) for name in names]
    width = max(len(n) for n in names)
    for p in plans:
        size = format_size(p.size) if p.error is None else "?"
        line = f"  {p.name:<{width}}  {size:>9}"
        if descriptions.get(p.name):
            line += f"  {descriptions[p.name]}"
        if p.error is None and p.on_disk and p.on_disk == p.size:
            line += "  " + _("(already complete)")
        elif p.error is None and p.on_disk:
            line += "  " + _("({size} already on disk)").format(size=format_size(p.on_disk))
        say(line)
    if all(p.unreachable for p in plans):
        say(_("Total: unknown. This machine cannot reach the Hugging Face hub, so the sizes cannot be known here."))
    else:
        known = [p.size for p in plans if p.error is None and p.size is not None]
        total = sum(known)
        exact = len(known) == len(plans)
        done = sum(p.on_disk for p in plans if p.error is None)
        text = _("Total: {total}") if exact else _("Total: at least {total} (some sizes unknown)")
        text = text.format(total=format_size(total))
        if done:
            text += " " + _("({done} already on disk, {left} to fetch)").format(
                done=format_size(done), left=format_size(max(0, total - done)))
        say(text)
    if dry_run:
        return 0
    failed = 0
    for p in plans:
        if p.error is not None:
            failed += 1
            warn(_("{name}: not downloaded: {reason}").format(name=p.name, reason=p.error))
            continue
        try:
            path = download(p.name, to, [f for f, _size in p.files])
            say(_("{name}: saved in {path}").format(name=p.name, path=path))
        except Exception as err:  # noqa: BLE001 - report each model and carry on with the next
            failed += 1
            warn(_("{name}: failed: {reason}").format(name=p.name, reason=explain(err)))
    if failed and failed < len(plans):
        warn(_("{ok} of {count} models downloaded. Run the same command again to retry the others: finished files "
               "are kept and a partial file resumes.").format(ok=len(plans) - failed, count=len(plans)))
    return failed
