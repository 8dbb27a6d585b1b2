# shellcheck shell=bash
# scripts/lib.sh - what the daemon scripts (dockerd.sh, registry.sh) and the benchmarks share.
# Sourced, not run.

# running_pid PIDFILE: prints the pid PIDFILE names when that process is alive, else fails.
running_pid() {
  local pid
  [ -f "$1" ] || return 1
  pid=$(cat "$1" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

# terminate PID TRIES: SIGTERM, then waits up to TRIES x 0.2 s for PID to exit; fails when it
# still runs, leaving the caller to decide about SIGKILL.
terminate() {
  local i
  kill -TERM "$1" 2>/dev/null || true
  for ((i = 0; i < $2; i++)); do
    kill -0 "$1" 2>/dev/null || return 0
    sleep 0.2
  done
  ! kill -0 "$1" 2>/dev/null
}

# unmount_under DIR: unmounts whatever is still mounted below DIR (overlays, daemons' shm),
# deepest first so that parents are not busy; lazily where a mount stays busy.
unmount_under() {
  local m
  awk -v d="$1/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r |
    while read -r m; do
      # /proc/mounts escapes spaces etc. as octal; printf %b decodes them.
      m=$(printf '%b' "$m")
      umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done
}
