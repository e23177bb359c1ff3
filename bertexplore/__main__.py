"""`python -m bertexplore download MODEL... [--to DIR]`: fetch checkpoints for offline use."""
from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bertexplore", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    dl = sub.add_parser("download", help="download models from the Hugging Face hub")
    dl.add_argument("models", nargs="+", help="hub ids, e.g. bert-base-uncased dslim/bert-base-NER")
    dl.add_argument("--to", default=None, help="a models folder (e.g. models) instead of the Hugging Face cache")
    args = parser.parse_args(argv)

    from pathlib import Path

    from .download import download

    failed = 0
    for name in args.models:
        try:
            path = download(name, Path(args.to) if args.to else None)
            print(f"{name}: saved in {path}")
        except Exception as err:  # noqa: BLE001 - report each model and carry on
            failed += 1
            print(f"{name}: failed ({type(err).__name__}: {err})", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
