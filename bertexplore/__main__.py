"""`python -m bertexplore download MODEL... [--pack classroom] [--to DIR]`: fetch checkpoints for offline use."""
from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    from .packs import PACKS

    parser = argparse.ArgumentParser(prog="python -m bertexplore", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    dl = sub.add_parser("download", help="download models from the Hugging Face hub")
    dl.add_argument("models", nargs="*", help="hub ids, e.g. bert-base-uncased dslim/bert-base-NER")
    dl.add_argument("--pack", choices=sorted(PACKS), help="a set of models for a lesson (e.g. classroom)")
    dl.add_argument("--to", default=None, help="a models folder (e.g. models) instead of the Hugging Face cache")
    dl.add_argument("--dry-run", action="store_true", help="only show what would be fetched and its size")
    args = parser.parse_args(argv)

    from pathlib import Path

    from .download import fetch_all
    from .i18n import _

    names = list(args.models)
    descriptions: dict[str, str] = {}
    if args.pack:
        for model in PACKS[args.pack]:
            descriptions[model.name] = _(model.what)
            if model.name not in names:
                names.append(model.name)
    if not names:
        dl.error("name at least one model, or a pack with --pack")
    failed = fetch_all(names, Path(args.to) if args.to else None, args.dry_run, descriptions,
                       say=lambda text: print(text, flush=True), warn=lambda text: print(text, file=sys.stderr, flush=True))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
