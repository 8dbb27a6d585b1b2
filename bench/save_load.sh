#!/usr/bin/env bash
# save -o / load -i of a ~350 MB one-layer image: strata vs docker (private dockerd 20.10 started
# here) vs podman (throwaway --root), 3 timed repetitions each, page cache dropped before every
# timed run (`sync; echo 1 > /proc/sys/vm/drop_caches`), peak RSS by GNU time (and, for docker,
# of dockerd, which does the work: VmHWM after resetting it with clear_refs).
#
# Usage: bench/save_load.sh [-r REPS] [-s STRATA_BINARY] [-t TOOLS]
#   -r  repetitions (default 3)
#   -s  strata binary (default: build-bench/strata, then build/strata)
#   -t  tools, comma-separated (default strata,docker,podman)
# Environment: DOCKER_CLI (default /usr/local/bin/docker), SEED (rootfs seed, default 2),
# KEEP=1 to keep the work dir. Needs root, python3, GNU time (apt-get install time), podman.
#
# Input for `load`: the archive `docker save` wrote (docker 20.10 layout: <id>/layer.tar,
# manifest.json, repositories), the one format all three read; each tool loads the same file.
# Before each timed load the image is removed with its layers (strata: rmi + system prune;
# docker/podman: rmi), so every load writes the full layer.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(pwd)
source bench/lib.sh

reps=3
strata=""
tools=strata,docker,podman
while getopts "r:s:t:" opt; do
  case $opt in
    r) reps=$OPTARG ;;
    s) strata=$OPTARG ;;
    t) tools=$OPTARG ;;
    *) sed -n '2,20p' "$0" >&2; exit 2 ;;
  esac
done
find_strata build-bench/strata build/strata
docker_cli=${DOCKER_CLI:-/usr/local/bin/docker}
[ -x /usr/bin/time ] || { echo "$0: apt-get install time" >&2; exit 1; }
IFS=, read -r -a tool_list <<<"$tools"

work=$(mktemp -d /var/tmp/strata-save-load.XXXXXX)
podman_args=(--root "$work/podman/root" --runroot "$work/podman/run" --storage-driver overlay
  --cgroup-manager=cgroupfs --events-backend=file --tmpdir "$work/podman/tmp")
cleanup() {
  set +e
  bash "$src/scripts/dockerd.sh" stop "$work/docker" >/dev/null 2>&1
  podman "${podman_args[@]}" system reset -f >/dev/null 2>&1
  unmount_under "$work"
  if [ -z "${KEEP:-}" ]; then rm -rf "$work"; else echo "kept $work" >&2; fi
}
trap cleanup EXIT
mkdir -p "$work/podman/tmp" "$work/tmp" "$work/out"
export TMPDIR="$work/tmp"  # big temporary files of every tool stay on this disk and get removed
export STRATA_ROOT="$work/strata"
export DOCKER_HOST="unix://$work/docker/docker.sock"
img=bench/big:latest

# argv of each tool's CLI.
cli() {
  case $1 in
    strata) echo "$strata" ;;
    docker) echo "$docker_cli" ;;
    podman) printf '%s ' podman "${podman_args[@]}" ;;
  esac
}

echo "== building the rootfs (seed ${SEED:-2})" >&2
sh examples/busybox/make-rootfs.sh "$work/busybox.tar"
python3 bench/make_big_rootfs.py "$work/busybox.tar" "$work/rootfs.tar" "${SEED:-2}"
rm -f "$work/busybox.tar"
rootfs_bytes=$(stat -c %s "$work/rootfs.tar")
echo "rootfs.tar: $rootfs_bytes bytes, sha256 $(sha256sum "$work/rootfs.tar" | cut -c1-16)" >&2

if has_tool docker || has_tool podman; then
  # dockerd is needed for the common load input even when docker is not measured.
  bash scripts/dockerd.sh start "$work/docker"
  dockerd_pid=$(cat "$work/docker/docker.pid")
fi
for t in strata docker podman; do
  if [ "$t" = docker ] || has_tool "$t"; then
    echo "== import into $t" >&2
    # shellcheck disable=SC2046
    $(cli "$t") import "$work/rootfs.tar" "$img" >/dev/null
  fi
done
rm -f "$work/rootfs.tar"

# One timed run: drop caches, run under GNU time, record wall seconds and peak RSS (KiB).
results="$work/results.tsv"
: >"$results"
timed() {  # tool op rep cmd...
  local tool=$1 op=$2 rep=$3 t0 t1 rss daemon_rss=""
  shift 3
  sync
  echo 1 >/proc/sys/vm/drop_caches
  if [ "$tool" = docker ]; then echo 5 >"/proc/$dockerd_pid/clear_refs"; fi
  t0=$(date +%s%N)
  /usr/bin/time -v -o "$work/time.txt" "$@" >"$work/cmd.out" 2>&1 || {
    echo "$0: failed: $*" >&2
    cat "$work/cmd.out" >&2
    exit 1
  }
  t1=$(date +%s%N)
  rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/time.txt")
  if [ "$tool" = docker ]; then
    daemon_rss=$(awk '/^VmHWM:/ { print $2 }' "/proc/$dockerd_pid/status")
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$op" "$rep" \
    "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')" "$rss" \
    "$daemon_rss" >>"$results"
  echo "  $tool $op #$rep: $(tail -n1 "$results" | cut -f4)s" >&2
}

# Removes the image and its layers so the next load writes everything.
remove_image() {
  # shellcheck disable=SC2046
  $(cli "$1") rmi "$img" >/dev/null
  if [ "$1" = strata ]; then "$strata" system prune -f >/dev/null; fi
}

declare -A cmd_save cmd_load
for t in "${tool_list[@]}"; do
  cmd_save[$t]="$(cli "$t") save -o $work/out/$t.tar $img"
  cmd_load[$t]="$(cli "$t") load -i $work/out/input.tar"
done

echo "== save ($reps runs each)" >&2
for t in "${tool_list[@]}"; do
  for ((r = 1; r <= reps; r++)); do
    rm -f "$work/out/$t.tar"
    # shellcheck disable=SC2086
    timed "$t" save "$r" ${cmd_save[$t]}
  done
  echo "  $(stat -c %s "$work/out/$t.tar") bytes written" >&2
  [ "$t" = docker ] || rm -f "$work/out/$t.tar"
done
if [ ! -f "$work/out/docker.tar" ]; then
  "$docker_cli" save -o "$work/out/docker.tar" "$img"
fi
mv "$work/out/docker.tar" "$work/out/input.tar"

echo "== load ($reps runs each, input: docker save archive)" >&2
for t in "${tool_list[@]}"; do
  for ((r = 1; r <= reps; r++)); do
    remove_image "$t"
    # shellcheck disable=SC2086
    timed "$t" load "$r" ${cmd_load[$t]}
  done
  # shellcheck disable=SC2046
  $(cli "$t") image inspect "$img" >/dev/null || { echo "$0: $t lost $img" >&2; exit 1; }
done

python3 - "$results" "$rootfs_bytes" "$reps" <<'EOF'
import collections, statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
by = collections.defaultdict(list)
for tool, op, rep, secs, rss, drss in rows:
    by[(tool, op)].append((float(secs), int(rss), int(drss) if drss else None))
tools = list(dict.fromkeys(r[0] for r in rows))
print(f"\nsave/load of a {int(sys.argv[2]) / 1e6:.0f} MB one-layer image, {sys.argv[3]} runs each, "
      "caches dropped before each run")
print(f"{'tool':7} {'op':5} {'runs (s)':26} {'mean s':>7} {'peak RSS MiB':>13} {'daemon RSS MiB':>15}")
for op in ("save", "load"):
    for t in tools:
        v = by[(t, op)]
        runs = " ".join(f"{x[0]:.2f}" for x in v)
        rss = max(x[1] for x in v) / 1024
        d = [x[2] for x in v if x[2] is not None]
        dr = f"{max(d) / 1024:15.1f}" if d else f"{'-':>15}"
        print(f"{t:7} {op:5} {runs:26} {statistics.mean(x[0] for x in v):7.2f} {rss:13.1f} {dr}")
if "strata" in tools:
    print("\nratio peer/strata mean time (>1: strata faster; target >= 2x)")
    for op in ("save", "load"):
        s = statistics.mean(x[0] for x in by[("strata", op)])
        for t in tools:
            if t == "strata":
                continue
            p = statistics.mean(x[0] for x in by[(t, op)])
            print(f"  {op:5} {t:7} {p / s:6.2f}x {'PASS' if p / s >= 2 else 'MISS'}")
    peak = max(x[1] for x in by[("strata", "load")]) / 1024
    print(f"  strata load peak RSS {peak:.1f} MiB {'PASS' if peak < 64 else 'MISS'} (< 64 MiB)")
EOF
echo
echo "commands (timed; each preceded by: sync; echo 1 > /proc/sys/vm/drop_caches):"
for t in "${tool_list[@]}"; do
  echo "  /usr/bin/time -v ${cmd_save[$t]}"
  echo "  /usr/bin/time -v ${cmd_load[$t]}"
done
