#!/usr/bin/env bash
# Starts/stops a private plain-HTTP Docker distribution registry (Debian's docker-registry
# package) on 127.0.0.1:PORT with its storage under DIR. Used by tests that push/pull.
# Idempotent: `start` on a running registry and `stop` on a stopped one are no-ops.
#
# Usage: scripts/registry.sh start|stop|status DIR PORT
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

usage() {
  echo "usage: $0 start|stop|status DIR PORT" >&2
  exit 2
}
[ $# -eq 3 ] || usage
cmd=$1
mkdir -p "$2"
dir=$(cd "$2" && pwd)
port=$3
case "$port" in '' | *[!0-9]*) usage ;; esac
bin=${REGISTRY_BIN:-/usr/bin/docker-registry}
pidfile="$dir/registry.pid"
config="$dir/config.yml"
url="http://127.0.0.1:$port/v2/"

answers() {
  # /v2/ answers 200 with "{}" on an auth-less registry.
  if command -v curl >/dev/null; then
    curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null
  else
    python3 -c 'import sys,urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
      "$url" 2>/dev/null
  fi
}

ensure_installed() {
  [ -x "$bin" ] && return 0
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq docker-registry >/dev/null
  [ -x "$bin" ] || {
    echo "$0: $bin still missing after installing docker-registry" >&2
    exit 1
  }
}

start() {
  if running_pid "$pidfile" >/dev/null && answers; then
    return 0
  fi
  running_pid "$pidfile" >/dev/null && stop
  ensure_installed
  mkdir -p "$dir/storage"
  cat >"$config" <<EOF
version: 0.1
log:
  level: warn
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
  headers:
    X-Content-Type-Options: [nosniff]
EOF
  setsid "$bin" serve "$config" >"$dir/registry.log" 2>&1 </dev/null &
  local pid=$! i
  echo "$pid" >"$pidfile"
  for ((i = 0; i < 150; i++)); do
    answers && return 0
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$0: registry exited early; last log lines:" >&2
      tail -n 20 "$dir/registry.log" >&2
      rm -f "$pidfile"
      exit 1
    fi
    sleep 0.2
  done
  echo "$0: registry did not answer on $url within 30s" >&2
  stop
  exit 1
}

stop() {
  local pid
  if pid=$(running_pid "$pidfile"); then
    terminate "$pid" 50 || kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  status) running_pid "$pidfile" >/dev/null && answers ;;
  *) usage ;;
esac
