#!/usr/bin/env bash
# Idempotent setup: a local virtualenv with the pinned packages, and the JavaScript libraries bertviz needs offline.
# Usage: scripts/setup.sh [dev]    ("dev" adds the test tools and a Chromium for the browser tests)
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-}
if [ -z "$PY" ]; then
  for cand in python3.11 python3.12 python3.13 python3; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then PY=$cand; break; fi
  done
fi
[ -n "$PY" ] || { echo "bertexplore needs Python 3.11 or newer (python3.11+ on PATH)." >&2; exit 1; }

[ -x .venv/bin/python ] || "$PY" -m venv .venv
REQ=requirements.txt
[ "${1:-}" = "dev" ] && REQ=requirements-dev.txt
stamp=".venv/.installed-$(cat requirements.txt $REQ | cksum | cut -d' ' -f1)"
if [ ! -f "$stamp" ]; then
  echo "Installing Python packages into .venv (first run only; a few minutes)..."
  if ! { .venv/bin/python -m pip install --upgrade pip && .venv/bin/python -m pip install -r "$REQ"; } > .venv/pip.log 2>&1; then
    tail -n 40 .venv/pip.log >&2; echo "pip install failed; the full log is .venv/pip.log" >&2; exit 1
  fi
  touch "$stamp"
fi

# The interface translations: bertexplore/locales/*/messages.po → .mo (Babel; the .mo files are not committed).
.venv/bin/python scripts/i18n.py compile

# require.js, d3 and jQuery for bertviz, from npm (never copied into the repo).
if [ ! -f node_modules/d3/dist/d3.min.js ] || [ ! -f node_modules/jquery/dist/jquery.min.js ] || [ ! -f node_modules/requirejs/require.js ]; then
  if command -v npm >/dev/null 2>&1; then
    npm ci --no-audit --no-fund --loglevel=error
  else
    echo "npm not found: bertviz's views will need the internet to draw (install Node.js for offline use)." >&2
  fi
fi

if [ "${1:-}" = "dev" ]; then
  # A Chromium for the end-to-end tests: Debian/Ubuntu's package where apt exists, else Playwright's own build.
  if [ -n "${BERTEXPLORE_CHROMIUM:-}" ] || command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
    :
  elif command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get install -y -q chromium >/dev/null 2>&1 || { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q chromium >/dev/null; }
  else
    .venv/bin/python -m playwright install chromium
  fi
fi

if [ "${1:-}" = "dev" ] && ! command -v haproxy >/dev/null 2>&1; then
  # HAProxy for the replicas test (tests/e2e/test_replicas_browser.py) and scripts/serve.sh: Debian's package.
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get install -y -q haproxy >/dev/null 2>&1 || { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q haproxy >/dev/null; }
  else
    echo "haproxy not found: the replicas test is skipped (install HAProxy 2.x to run it)." >&2
  fi
fi
