"""Label names from a checkpoint's config, with a notice for any index the config does not name."""
from __future__ import annotations

from typing import Any
from ..i18n import _


def label_names(config: Any, count: int) -> tuple[list[str], list[str]]:
    """Names for output indices 0..count-1 and notices for the ones id2label lacks (named LABEL_i then)."""
    raw = getattr(config, "id2label", None) or {}
    table: dict[int, str] = {}
    for key, value in raw.items():
        try:
            table[int(key)] = str(value)  # JSON configs may carry string keys
        except (TypeError, ValueError):
            continue
    names, missing = [], []
    for index in range(count):
        if index in table and table[index].strip():
            names.append(table[index])
        else:
            names.append(f"LABEL_{index}")
            missing.append(index)
    notices = []
    if missing:
        shown = ", ".join(str(i) for i in missing[:10]) + ("…" if len(missing) > 10 else "")
        notices.append(
            _("The checkpoint's config names no label for output index {shown} (its id2label is "
              "incomplete), so those outputs are shown as LABEL_<index>.").format(shown=shown)
        )
    extra = sorted(k for k in table if not 0 <= k < count)
    if extra:
        shown = ", ".join(f"{k} ({table[k]})" for k in extra[:10])
        notices.append(_("The config also names output index {shown}, but the model has only {count} "
                         "outputs; that name is ignored.").format(shown=shown, count=count))
    return names, notices
