#!/usr/bin/env bash
# Wall-clock latency of the real binaries on a store with N tags (issue 2: `images` and
# `image inspect` under 15 ms with 1,000 tags), strata side by side with docker (private
# dockerd 20.10 started here) and, when installed, podman (throwaway --root).
#
# Usage: bench/cli_latency.sh [-n TAGS] [-r RUNS] [-s STRATA_BINARY]
#   -n  tags on the one busybox image (default 1000)
#   -r  hyperfine runs per command (default 30; 5 warm-up runs each)
#   -s  strata binary (default: build-bench/strata, then build/strata)
# Environment: DOCKER_CLI (default /usr/local/bin/docker), NO_PODMAN=1 to skip podman,
# KEEP=1 to keep the work dir. Needs root (dockerd), hyperfine, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(pwd)
source bench/lib.sh

tags=1000
runs=30
strata=""
while getopts "n:r:s:" opt; do
  case $opt in
    n) tags=$OPTARG ;;
    r) runs=$OPTARG ;;
    s) strata=$OPTARG ;;
    *) sed -n '2,12p' "$0" >&2; exit 2 ;;
  esac
done
find_strata build-bench/strata build/strata
docker_cli=${DOCKER_CLI:-/usr/local/bin/docker}
command -v hyperfine >/dev/null || { echo "$0: apt-get install hyperfine" >&2; exit 1; }
use_podman=0
if [ -z "${NO_PODMAN:-}" ] && command -v podman >/dev/null; then use_podman=1; fi

work=$(mktemp -d /tmp/strata-cli-latency.XXXXXX)
podman_args=(--root "$work/podman/root" --runroot "$work/podman/run" --storage-driver overlay
  --cgroup-manager=cgroupfs --events-backend=file --tmpdir "$work/podman/tmp")
cleanup() {
  set +e
  bash "$src/scripts/dockerd.sh" stop "$work/docker" >/dev/null 2>&1
  if [ "$use_podman" = 1 ]; then
    podman "${podman_args[@]}" system reset -f >/dev/null 2>&1
    unmount_under "$work"
  fi
  if [ -z "${KEEP:-}" ]; then rm -rf "$work"; else echo "kept $work" >&2; fi
}
trap cleanup EXIT

export STRATA_ROOT="$work/strata"
export DOCKER_HOST="unix://$work/docker/docker.sock"
mkdir -p "$work/podman/tmp"

echo "== preparing $tags tags (strata, docker$([ "$use_podman" = 1 ] && echo ", podman"))" >&2
sh examples/busybox/make-rootfs.sh "$work/rootfs.tar"
names=()
for ((i = 1; i < tags; i++)); do names+=("$(printf 'bench/app%04d:latest' "$i")"); done

"$strata" import -c 'CMD ["/bin/sh"]' "$work/rootfs.tar" busybox:latest >/dev/null
for n in "${names[@]}"; do "$strata" tag busybox:latest "$n"; done

bash scripts/dockerd.sh start "$work/docker"
"$docker_cli" import -c 'CMD ["/bin/sh"]' "$work/rootfs.tar" busybox:latest >/dev/null
for n in "${names[@]}"; do "$docker_cli" tag busybox:latest "$n"; done

pod=()
if [ "$use_podman" = 1 ]; then
  pod=(podman "${podman_args[@]}")
  "${pod[@]}" import -c 'CMD ["/bin/sh"]' "$work/rootfs.tar" busybox:latest >/dev/null
  # podman tag takes many targets at once; batch to keep the argv short.
  printf '%s\n' "${names[@]}" | xargs -n 200 "${pod[@]}" tag busybox:latest
fi

# Each tool must list the same number of rows (header + one per tag).
check_rows() {
  local got
  got=$("$@" images | wc -l)
  if [ "$got" -ne $((tags + 1)) ]; then
    echo "$0: '$* images' printed $got lines, want $((tags + 1))" >&2
    exit 1
  fi
}
check_rows "$strata"
check_rows "$docker_cli"
[ "$use_podman" = 1 ] && check_rows "${pod[@]}"

q() { printf '%q ' "$@"; }
cmds=(
  "strata images|$(q "$strata" images)"
  "docker images|$(q "$docker_cli" images)"
  "strata image inspect busybox|$(q "$strata" image inspect busybox)"
  "docker image inspect busybox|$(q "$docker_cli" image inspect busybox)"
)
if [ "$use_podman" = 1 ]; then
  cmds+=("podman images|$(q "${pod[@]}" images)"
    "podman image inspect busybox|$(q "${pod[@]}" image inspect busybox)")
fi

# /bin/true is the floor: what spawning any process costs on this machine right now;
# `strata version` (no store) is strata's own start-up cost.
cmds+=("strata version|$(q "$strata" version)" "baseline /bin/true|/bin/true")
hf_args=(-N --warmup 5 --runs "$runs" --export-json "$work/hf.json")
for c in "${cmds[@]}"; do hf_args+=(-n "${c%%|*}" "${c#*|}"); done
echo "== hyperfine (runs=$runs, warm-up 5, no shell; page cache dropped first)" >&2
# Every tool starts from the same cache state; the warm-up runs then load what each needs.
sync
echo 1 >/proc/sys/vm/drop_caches
hyperfine "${hf_args[@]}" >&2

python3 - "$work/hf.json" "$tags" <<'EOF'
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
tags = sys.argv[2]
ms = lambda r: r["mean"] * 1e3
print(f"\nCLI latency with {tags} tags (hyperfine, mean ± stddev, ms; target < 15 ms)")
print(f"{'command':34} {'mean':>8} {'stddev':>7} {'median':>7} {'min':>7} {'user':>7} {'sys':>7}")
for name, r in res.items():
    print(f"{name:34} {ms(r):8.2f} {r['stddev']*1e3:7.2f} {r['median']*1e3:7.2f} {r['min']*1e3:7.2f}"
          f" {r['user']*1e3:7.2f} {r['system']*1e3:7.2f}")
print("\nratio peer/strata (how many times faster strata is)")
for verb in ("images", "image inspect busybox"):
    s = res[f"strata {verb}"]
    for peer in ("docker", "podman"):
        p = res.get(f"{peer} {verb}")
        if p:
            print(f"  {verb:24} {peer:7} {p['mean']/s['mean']:6.2f}x")
    print(f"  {verb:24} strata {'PASS' if ms(s) < 15 else 'MISS'} (mean < 15 ms)")
print("\ncommands (exact argv, state prepared as above):")
EOF
for c in "${cmds[@]}"; do echo "  ${c%%|*} = ${c#*|}"; done
