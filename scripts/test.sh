#!/usr/bin/env bash
# Set everything up (first run only, test tools and browser included), lint, and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev
export HF_HUB_OFFLINE=1
.venv/bin/ruff check --no-cache .  # pinned in requirements-dev.txt; rules in pyproject.toml
exec .venv/bin/python -m pytest "$@"
