"""Errors the engine raises for the user to read: each carries a message fit to show as-is."""
from __future__ import annotations


class BertExploreError(Exception):
    """Base class: `str(err)` is a complete, user-facing explanation."""


class InputError(BertExploreError, ValueError):
    """The user's text or settings cannot be used as given."""


class ModelUnavailable(BertExploreError):
    """A checkpoint is neither on disk nor reachable; `command` fetches it."""

    def __init__(self, name: str, reason: str = "") -> None:
        self.name = name
        from .download import download_command  # here: download.py imports the package's i18n, not errors

        self.command = download_command(name)
        why = f" ({reason})" if reason else ""
        super().__init__(
            f"The model '{name}' is not on this machine and the Hugging Face hub cannot be reached{why}. "
            f"On a machine with internet access, run `{self.command}` (add `--to models` to save it into the "
            "app's models folder, which you can copy to an offline machine), then pick it again."
        )


class NotAModel(BertExploreError):
    """A path or id that holds no loadable Transformers checkpoint."""


class UnsupportedModel(BertExploreError):
    """A checkpoint of an architecture (or head) this page cannot explore."""


def refused_pickle(name: str) -> NotAModel:
    """A pickle weights file that torch's safe loader refused: say so, and never advise turning the check off."""
    from .i18n import _

    return NotAModel(_(
        "The weights of '{name}' were refused: its pickle file (pytorch_model.bin) holds more than plain tensors, "
        "and opening such a file can run code on this machine. Use a copy saved as safetensors "
        "(save_pretrained writes model.safetensors), or a model from the list."
    ).format(name=name))
