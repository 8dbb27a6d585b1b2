#!/usr/bin/env bash
# Cold pull of a ~350 MB, 4-layer, 20,000-file image (238 MB as gzip) from a loopback
# docker-registry, side by side in one run: strata pull, docker pull (private dockerd 20.10),
# podman pull, skopeo copy into containers-storage, and the limit of this machine (the slowest
# of: fetching all blobs over loopback with sha256, decompressing them, writing the files).
#
# Usage: bench/pull.sh [-r REPS] [-s STRATA_BINARY] [-t TOOLS] [-c CONCURRENCY]
#   -r  repetitions (default 3); the table shows each tool's median
#   -s  strata binary (default: build-pullbench-rel/strata, build-bench/strata, build/strata)
#   -t  tools, comma-separated (default strata,docker,podman,skopeo,limit)
#   -c  strata --max-concurrent-downloads (default 3, docker's default too)
# Environment: DOCKER_CLI (default /usr/local/bin/docker), SEED (image seed, default 3),
# IMAGE_DIR (an OCI layout make_pull_image.py wrote before, instead of building it again),
# KEEP=1 keeps the work dir. Needs root, python3, GNU time, skopeo, podman, curl, igzip (isal).
#
# Before every timed run, for every tool alike: the destination is fresh (strata: a new
# --root; docker: the image removed with `docker rmi`; podman/skopeo: a new --root), then
# `sync; echo 1 > /proc/sys/vm/drop_caches`, then the registry's blob files (the input) are
# read once so every tool finds them in the page cache, as the limit stages do their inputs.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(pwd)
source bench/lib.sh

reps=3
strata=""
tools=strata,docker,podman,skopeo,limit
conc=3
while getopts "r:s:t:c:" opt; do
  case $opt in
    r) reps=$OPTARG ;;
    s) strata=$OPTARG ;;
    t) tools=$OPTARG ;;
    c) conc=$OPTARG ;;
    *) sed -n '2,18p' "$0" >&2; exit 2 ;;
  esac
done
find_strata build-pullbench-rel/strata build-bench/strata build/strata
docker_cli=${DOCKER_CLI:-/usr/local/bin/docker}
[ -x /usr/bin/time ] || { echo "$0: apt-get install time" >&2; exit 1; }
if has_tool limit && ! command -v igzip >/dev/null; then
  echo "$0: igzip missing (apt-get install isal)" >&2
  exit 1
fi

work=$(mktemp -d /var/tmp/strata-pull-bench.XXXXXX)
reg_pid=""
podman_common=(--cgroup-manager=cgroupfs --events-backend=file --storage-driver overlay)
cleanup() {
  set +e
  [ -n "$reg_pid" ] && kill "$reg_pid" 2>/dev/null && wait "$reg_pid" 2>/dev/null
  bash "$src/scripts/dockerd.sh" stop "$work/docker" >/dev/null 2>&1
  for r in "$work"/podman-*/root; do
    [ -d "$r" ] && podman "${podman_common[@]}" --root "$r" --runroot "${r%/root}/run" \
      system reset -f >/dev/null 2>&1
  done
  unmount_under "$work"
  if [ -z "${KEEP:-}" ]; then rm -rf "$work"; else echo "kept $work" >&2; fi
}
trap cleanup EXIT
mkdir -p "$work/tmp" "$work/out"
export TMPDIR="$work/tmp"

if [ -n "${IMAGE_DIR:-}" ]; then
  ln -s "$(cd "$IMAGE_DIR" && pwd)" "$work/img"
else
  echo "== building the image (seed ${SEED:-3})" >&2
  python3 bench/make_pull_image.py "$work/img" "${SEED:-3}" | tee "$work/out/image.txt" >&2
fi

echo "== starting docker-registry on loopback" >&2
port=$(free_port)
cat >"$work/registry.yml" <<EOF
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $work/registry
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
EOF
/usr/bin/docker-registry serve "$work/registry.yml" >"$work/out/registry.log" 2>&1 &
reg_pid=$!
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && break
  sleep 0.1
done
ref=127.0.0.1:$port/bench/pull:latest
skopeo copy -q --dest-tls-verify=false "oci:$work/img:latest" "docker://$ref"
# The limit stages read the same blobs the registry serves; they go with the image dir.
blobs=()
while read -r d; do blobs+=("${d#sha256:}"); done < <(
  python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); [print(l["digest"]) for l in m["layers"]]' \
    "$work/img/blobs/sha256/$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"][7:])' "$work/img/index.json")")
if has_tool limit; then
  for b in "${blobs[@]}"; do igzip -d -c <"$work/img/blobs/sha256/$b" >"$work/layer-$b.tar"; done
fi

if has_tool docker; then
  echo "== starting a private dockerd" >&2
  bash scripts/dockerd.sh start "$work/docker" >/dev/null
fi
export DOCKER_HOST="unix://$work/docker/docker.sock"

# Every timed run starts from the same state: caches dropped, the inputs re-read.
prepare() {
  sync
  echo 1 >/proc/sys/vm/drop_caches
  cat "$work"/registry/docker/registry/v2/blobs/sha256/*/*/data >/dev/null
  if has_tool limit; then cat "$work"/img/blobs/sha256/* "$work"/layer-*.tar >/dev/null; fi
}

now() { date +%s.%N; }
# run NAME REP CMD...: times CMD (wall clock, GNU time for peak RSS), appends to results.
run() {
  local secs rss
  time_cmd "$@"
  echo "$1 $2 $secs $rss" | tee -a "$work/out/results.txt" >&2
}

# The limit's stages, each over all four blobs, two at a time (2 cores).
limit_fetch() {
  printf '%s\n' $blob_list | xargs -P 2 -I{} sh -c \
    "curl -fsS http://127.0.0.1:$port/v2/bench/pull/blobs/sha256:{} | sha256sum >/dev/null"
}
limit_gunzip() {
  printf '%s\n' $blob_list | xargs -P 2 -I{} sh -c "igzip -d -c <'$work/img/blobs/sha256/{}' >/dev/null"
}
limit_untar() {
  rm -rf "$work/untar"
  mkdir -p "$work/untar"
  prepare
  local t0 t1
  t0=$(now)
  printf '%s\n' "${blobs[@]}" | xargs -P 2 -I{} sh -c \
    "mkdir -p '$work/untar/{}' && tar -xf '$work/layer-{}.tar' -C '$work/untar/{}'"
  t1=$(now)
  echo "limit-untar $1 $(echo "$t1 - $t0" | bc) 0" | tee -a "$work/out/results.txt" >&2
}
export -f limit_fetch limit_gunzip
# Arrays do not cross into `bash -c`: the functions read the digests from a plain string.
blob_list="${blobs[*]}"
export work port blob_list

for rep in $(seq "$reps"); do
  echo "== repetition $rep" >&2
  if has_tool strata; then
    rm -rf "$work/strata"
    prepare
    run strata "$rep" "$strata" --root "$work/strata" pull --max-concurrent-downloads "$conc" "$ref"
  fi
  if has_tool docker; then
    "$docker_cli" rmi -f "$ref" >/dev/null 2>&1 || true
    prepare
    run docker "$rep" "$docker_cli" pull "$ref"
  fi
  if has_tool podman; then
    r="$work/podman-$rep"
    prepare
    run podman "$rep" podman "${podman_common[@]}" --root "$r/root" --runroot "$r/run" \
      pull --tls-verify=false "$ref"
  fi
  if has_tool skopeo; then
    r="$work/skopeo-$rep"
    prepare
    run skopeo "$rep" skopeo copy --src-tls-verify=false "docker://$ref" \
      "containers-storage:[overlay@$r/root+$r/run]$ref"
  fi
  if has_tool limit; then
    prepare
    run limit-fetch "$rep" bash -c limit_fetch
    prepare
    run limit-gunzip "$rep" bash -c limit_gunzip
    limit_untar "$rep"
  fi
  # Drop this repetition's stores now: the file system slows down as they pile up.
  rm -rf "$work/strata" "$work/untar"
done

echo "== medians over $reps repetitions (seconds, peak RSS KiB)" >&2
python3 - "$work/out/results.txt" <<'EOF'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    name, _, secs, rss = line.split()
    runs.setdefault(name, []).append((float(secs), int(rss)))
med = {n: statistics.median(s for s, _ in v) for n, v in runs.items()}
for n, v in runs.items():
    print(f"{n:14s} median {med[n]:6.2f} s  runs {' '.join(f'{s:.2f}' for s, _ in v)}"
          f"  max RSS {max(r for _, r in v) / 1024:.1f} MiB")
if "strata" in med:
    s = med["strata"]
    for peer in ("docker", "podman", "skopeo"):
        if peer in med:
            print(f"{peer}/strata = {med[peer] / s:.2f}x")
    stages = [med[k] for k in ("limit-fetch", "limit-gunzip", "limit-untar") if k in med]
    if stages:
        print(f"limit = max(stages) = {max(stages):.2f} s; strata/limit = {s / max(stages):.2f}x")
EOF
