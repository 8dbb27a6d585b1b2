# bench/lib.sh - what the benchmark scripts share. Sourced (not run) from the source tree's
# root: `source bench/lib.sh`. Brings scripts/lib.sh along (unmount_under for the cleanups).
# The helpers read the caller's $strata, $tools and $work.
# shellcheck shell=bash disable=SC2154,SC2034
source scripts/lib.sh

# find_strata CANDIDATE...: makes $strata (the -s value, else the first executable candidate)
# an absolute path, as the scripts cd into work dirs and hand it to other processes.
find_strata() {
  if [ -z "$strata" ]; then
    for c in "$@"; do
      [ -x "$c" ] && { strata=$(pwd)/$c; break; }
    done
  fi
  [ -x "${strata:-}" ] || { echo "$0: strata binary not found; build it or pass -s" >&2; exit 1; }
  strata=$(cd "$(dirname "$strata")" && pwd)/$(basename "$strata")
}

# has_tool NAME: whether NAME is in the comma-separated $tools (-t).
has_tool() { [[ ",$tools," == *",$1,"* ]]; }

# free_port: a TCP port on 127.0.0.1 that nobody listens on right now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# time_cmd NAME REP CMD...: runs CMD under GNU time, output in $work/out/NAME-REP.{log,time};
# sets $secs (wall clock) and $rss (peak KiB). A failed CMD ends the script with its log's tail.
time_cmd() {
  local name=$1 rep=$2
  shift 2
  local t0 t1
  t0=$(date +%s.%N)
  if ! /usr/bin/time -v -o "$work/out/$name-$rep.time" "$@" >"$work/out/$name-$rep.log" 2>&1; then
    echo "$name failed:" >&2
    tail -5 "$work/out/$name-$rep.log" >&2
    exit 1
  fi
  t1=$(date +%s.%N)
  secs=$(echo "$t1 - $t0" | bc)
  rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$work/out/$name-$rep.time")
}
