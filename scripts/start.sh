#!/usr/bin/env bash
# Set everything up (first run only) and start the app on http://localhost:8501
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# ui.serve: streamlit run app.py, with torch, transformers and the default model loading while the server starts;
# --warmup examples|lesson:NAME|FILE computes a class's traces before students arrive (README: Before a class)
exec .venv/bin/python -m ui.serve --server.headless true "$@"
