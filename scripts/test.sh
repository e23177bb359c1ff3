#!/usr/bin/env bash
# Set everything up (first run only, test tools and browser included) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev
export HF_HUB_OFFLINE=1
exec .venv/bin/python -m pytest "$@"
