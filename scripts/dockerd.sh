#!/usr/bin/env bash
# Starts/stops a private Docker 20.10 daemon rooted in DIR, for recording docker's behaviour and
# for differential tests. Idempotent: `start` on a running daemon and `stop` on a stopped one are
# no-ops.
#
# Usage: scripts/dockerd.sh start|stop|env|status DIR
#   start   launch dockerd (socket DIR/docker.sock) and wait until `docker version` answers
#   stop    SIGTERM the daemon, wait for it, unmount anything left under DIR
#   env     print `export DOCKER_HOST=unix://DIR/docker.sock`
#   status  exit 0 if the daemon answers
# Environment: DOCKERD (default /usr/sbin/dockerd), DOCKER_CLI (default: docker in PATH),
# DOCKERD_TIMEOUT (seconds, default 60), DOCKERD_EXTRA_ARGS (extra daemon flags, word-split).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

usage() {
  echo "usage: $0 start|stop|env|status DIR" >&2
  exit 2
}
[ $# -eq 2 ] || usage
cmd=$1
mkdir -p "$2"
dir=$(cd "$2" && pwd)
sock="$dir/docker.sock"
pidfile="$dir/docker.pid"
dockerd_bin=${DOCKERD:-/usr/sbin/dockerd}
cli=${DOCKER_CLI:-docker}
timeout=${DOCKERD_TIMEOUT:-60}

answers() {
  DOCKER_HOST="unix://$sock" "$cli" version >/dev/null 2>&1
}

start() {
  if running_pid "$pidfile" >/dev/null && answers; then
    return 0
  fi
  if running_pid "$pidfile" >/dev/null; then
    stop
  fi
  command -v "$dockerd_bin" >/dev/null || {
    echo "$0: $dockerd_bin not found (apt-get install docker.io)" >&2
    exit 1
  }
  rm -f "$sock" "$pidfile"
  mkdir -p "$dir/root" "$dir/exec"
  # shellcheck disable=SC2086
  setsid "$dockerd_bin" --data-root "$dir/root" --exec-root "$dir/exec" -H "unix://$sock" \
    --iptables=false --bridge=none --storage-driver=overlay2 --pidfile "$pidfile" \
    ${DOCKERD_EXTRA_ARGS:-} >"$dir/dockerd.log" 2>&1 </dev/null &
  local launched=$! i
  for ((i = 0; i < timeout * 5; i++)); do
    if answers; then
      return 0
    fi
    if ! kill -0 "$launched" 2>/dev/null; then
      echo "$0: dockerd exited early; last log lines:" >&2
      tail -n 20 "$dir/dockerd.log" >&2
      exit 1
    fi
    sleep 0.2
  done
  echo "$0: dockerd did not answer within ${timeout}s; last log lines:" >&2
  tail -n 20 "$dir/dockerd.log" >&2
  kill "$launched" 2>/dev/null || true
  exit 1
}

stop() {
  local pid
  if pid=$(running_pid "$pidfile") && ! terminate "$pid" 150; then
    echo "$0: dockerd $pid ignored SIGTERM for 30s; sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  unmount_under "$dir"
  rm -f "$pidfile" "$sock"
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  env) echo "export DOCKER_HOST=unix://$sock" ;;
  status) running_pid "$pidfile" >/dev/null && answers ;;
  *) usage ;;
esac
