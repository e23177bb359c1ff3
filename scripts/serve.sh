#!/usr/bin/env bash
# Serve a class: N app replicas on this machine behind HAProxy (Debian's package), one shared models folder.
#
#   bash scripts/serve.sh --replicas 2                  # http://0.0.0.0:8501, replicas on 127.0.0.1:8601, 8602
#   bash scripts/serve.sh --replicas 4 --port 80 --models /srv/bertexplore/models
#
# Streamlit keeps each browser session inside the process that served it, so HAProxy pins a browser to one replica
# with a cookie (BXREPLICA) and passes the websocket through; it checks each replica's /_stcore/health every
# second and sends the sessions of a dead replica to a live one (Streamlit's page reconnects by itself; the view is
# rebuilt from the link); the dead replica is started again. Models saved from any replica land in the shared folder
# (atomic renames), so every replica's picker lists them. Ctrl+C stops the balancer and every replica.
#
# Options:
#   --replicas N      app processes (default 2)
#   --port P          the balancer's port (default 8501); --address A its address (default 0.0.0.0)
#   --base-port B     first replica's port (default P+100); replicas listen on 127.0.0.1 only
#   --models DIR      the shared models folder (default: $BERTEXPLORE_MODELS_DIR, else ./models)
#   --run-dir DIR     where haproxy.cfg, the replicas' pid files and logs go (default: a new temporary folder)
#   --no-setup        skip scripts/setup.sh (already set up; the tests use this)
#   --restart-delay S a replica that exits is started again S seconds later (default 30)
#   -- ...            anything after -- goes to every replica's streamlit (e.g. -- --server.maxUploadSize 50)
set -euo pipefail
cd "$(dirname "$0")/.."

REPLICAS=2 PORT=8501 ADDRESS=0.0.0.0 BASE_PORT="" MODELS="${BERTEXPLORE_MODELS_DIR:-$PWD/models}" RUN_DIR="" SETUP=1
RESTART_DELAY=30
EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --replicas) REPLICAS=$2; shift 2 ;;
    --port) PORT=$2; shift 2 ;;
    --address) ADDRESS=$2; shift 2 ;;
    --base-port) BASE_PORT=$2; shift 2 ;;
    --models) MODELS=$2; shift 2 ;;
    --run-dir) RUN_DIR=$2; shift 2 ;;
    --no-setup) SETUP=0; shift ;;
    --restart-delay) RESTART_DELAY=$2; shift 2 ;;
    --) shift; EXTRA=("$@"); break ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "serve.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$REPLICAS" in ''|*[!0-9]*|0) echo "serve.sh: --replicas takes a number from 1 up" >&2; exit 2 ;; esac
BASE_PORT=${BASE_PORT:-$((PORT + 100))}

[ "$SETUP" = 1 ] && bash scripts/setup.sh
PY=${BERTEXPLORE_PYTHON:-.venv/bin/python}

if ! command -v haproxy >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "Installing HAProxy (Debian's package)..."
    $SUDO apt-get install -y -q haproxy >/dev/null 2>&1 || { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q haproxy >/dev/null; }
  else
    echo "serve.sh needs HAProxy 2.x on PATH (e.g. 'brew install haproxy', or your distribution's package)." >&2; exit 1
  fi
fi

MODELS=$(mkdir -p "$MODELS" && cd "$MODELS" && pwd)
RUN_DIR=${RUN_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/bertexplore-serve.XXXXXX")}
mkdir -p "$RUN_DIR"
# One cookie secret for all replicas: Streamlit signs its XSRF cookie with it, so an upload still works after a
# session moved to another replica.
SECRET=$("$PY" -c 'import secrets; print(secrets.token_hex(32))')

PIDS=()
stop() {
  trap - EXIT INT TERM
  touch "$RUN_DIR/stopping"
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for f in "$RUN_DIR"/replica-*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop EXIT INT TERM
rm -f "$RUN_DIR/stopping"

# One replica, restarted RESTART_DELAY seconds after it exits (a crash, an out-of-memory kill): by then HAProxy has
# sent its students to the other replicas, and the restarted one takes new students.
replica() {
  local i=$1 port=$2
  while :; do
    OMP_NUM_THREADS="$THREADS" BERTEXPLORE_MODELS_DIR="$MODELS" STREAMLIT_SERVER_COOKIE_SECRET="$SECRET" \
      "$PY" -m ui.serve --server.headless true \
      --server.address 127.0.0.1 --server.port "$port" "${EXTRA[@]}" >>"$RUN_DIR/replica-$i.log" 2>&1 &
    echo $! >"$RUN_DIR/replica-$i.pid"
    wait $! || true
    [ -f "$RUN_DIR/stopping" ] && return
    echo "serve.sh: replica $i exited; restarting in ${RESTART_DELAY}s" | tee -a "$RUN_DIR/replica-$i.log" >&2
    sleep "$RESTART_DELAY"
    [ -f "$RUN_DIR/stopping" ] && return
  done
}

# torch threads per replica: the machine's cores shared out (bench_capacity: on a busy server a second thread per
# forward costs more CPU than it saves); an OMP_NUM_THREADS set by the operator wins.
CORES=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
THREADS=${OMP_NUM_THREADS:-$(( CORES / REPLICAS > 0 ? CORES / REPLICAS : 1 ))}

SERVERS=""
for i in $(seq 1 "$REPLICAS"); do
  port=$((BASE_PORT + i - 1))
  replica "$i" "$port" &
  PIDS+=($!)
  SERVERS+="    server r$i 127.0.0.1:$port check cookie r$i inter 1s fall 2 rise 2"$'\n'
done

cat >"$RUN_DIR/haproxy.cfg" <<EOF
# Written by scripts/serve.sh for $REPLICAS replicas; models folder $MODELS
global
    maxconn 4096

defaults
    mode http
    option redispatch          # a session whose replica is down goes to a live one
    retries 2
    timeout connect 3s
    timeout client 60s
    timeout server 120s        # a long page run (a 512-token forward on a loaded machine)
    timeout tunnel 2h          # an open websocket: one lesson
    timeout http-request 10s

frontend bertexplore
    bind $ADDRESS:$PORT
    default_backend replicas

backend replicas
    balance leastconn          # websockets are long: count open connections, not requests
    cookie BXREPLICA insert indirect nocache httponly
    option httpchk GET /_stcore/health
    http-check expect string ok
$SERVERS
EOF
haproxy -c -q -f "$RUN_DIR/haproxy.cfg"
haproxy -db -f "$RUN_DIR/haproxy.cfg" >"$RUN_DIR/haproxy.log" 2>&1 &
PIDS+=($!)
echo $! >"$RUN_DIR/haproxy.pid"
echo "bertexplore: $REPLICAS replicas behind HAProxy on http://$ADDRESS:$PORT (models: $MODELS; logs: $RUN_DIR)"
# Until any process exits (a replica that dies is HAProxy's to route around; the balancer dying ends the service).
wait "${PIDS[-1]}"
