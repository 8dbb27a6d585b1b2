#!/usr/bin/env bash
# Push of a locally built image with ~210 MB of new layer data (3 layers, ~12,000 files, about
# 0.68 as gzip -6: Debian files, generated text, incompressible assets) to a fresh loopback
# docker-registry, side by side in one run: strata push, docker push (private dockerd 20.10),
# podman push, skopeo copy from a docker-archive, and an already-compressed upload (curl) as
# the floor.
#
# Usage: bench/push.sh [-r REPS] [-s STRATA_BINARY] [-t TOOLS]
#   -r  repetitions (default 3); the table shows each tool's median
#   -s  strata binary (default: build-bench/strata, build/strata)
#   -t  tools, comma-separated (default strata,docker,podman,skopeo,floor)
# Environment: DOCKER_CLI (default /usr/local/bin/docker), SEED (image seed, default 5),
# KEEP=1 keeps the work dir. Needs root, python3, GNU time, skopeo, podman, curl.
#
# Every tool starts from the same state before each timed run: the registry is stopped, its
# storage wiped and started again (no tool finds blobs there), then `sync; echo 1 >
# /proc/sys/vm/drop_caches`. The image is loaded into each tool beforehand (`load` of the
# same docker-archive), so every tool pushes layers it keeps uncompressed and must compress.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(pwd)
source bench/lib.sh

reps=3
strata=""
tools=strata,docker,podman,skopeo,floor
while getopts "r:s:t:" opt; do
  case $opt in
    r) reps=$OPTARG ;;
    s) strata=$OPTARG ;;
    t) tools=$OPTARG ;;
    *) sed -n '2,18p' "$0" >&2; exit 2 ;;
  esac
done
find_strata build-bench/strata build/strata
docker_cli=${DOCKER_CLI:-/usr/local/bin/docker}
[ -x /usr/bin/time ] || { echo "$0: apt-get install time" >&2; exit 1; }

work=$(mktemp -d /var/tmp/strata-push-bench.XXXXXX)
reg_pid=""
podman_common=(--cgroup-manager=cgroupfs --events-backend=file --storage-driver overlay)
cleanup() {
  set +e
  [ -n "$reg_pid" ] && kill "$reg_pid" 2>/dev/null && wait "$reg_pid" 2>/dev/null
  bash "$src/scripts/dockerd.sh" stop "$work/docker" >/dev/null 2>&1
  [ -d "$work/podman/root" ] && podman "${podman_common[@]}" --root "$work/podman/root" \
    --runroot "$work/podman/run" system reset -f >/dev/null 2>&1
  unmount_under "$work"
  if [ -z "${KEEP:-}" ]; then rm -rf "$work"; else echo "kept $work" >&2; fi
}
trap cleanup EXIT
mkdir -p "$work/tmp" "$work/out"
export TMPDIR="$work/tmp"

echo "== building the image (seed ${SEED:-5})" >&2
# The pull benchmark's generator at 62 % scale, three layers, written uncompressed into a
# docker-archive (what `docker save` writes), so that every tool must compress to push.
python3 - "$work/image.tar" "${SEED:-5}" <<'EOF' | tee "$work/out/image.txt" >&2
import hashlib, io, json, sys, tarfile
sys.path.insert(0, "bench")
import make_pull_image as g
SCALE = 0.62
g.DEBIAN_FILES, g.DEBIAN_BYTES = int(14000 * SCALE), int((150 << 20) * SCALE)
g.TEXT_FILES, g.TEXT_BYTES = int(4000 * SCALE), int((35 << 20) * SCALE)
g.ASSET_FILES, g.ASSET_BYTES = int(2000 * SCALE), int((143 << 20) * SCALE)
g.LAYER_SHARE = (0.5, 0.3, 0.2)
layers, words = g.entries(int(sys.argv[2]))
out = tarfile.open(sys.argv[1], "w", format=tarfile.GNU_FORMAT)
diff_ids, total = [], 0
for li, items in enumerate(layers):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tw:
        g.add_items(tw, items, words)
    layer = buf.getvalue()
    total += len(layer)
    diff_ids.append("sha256:" + hashlib.sha256(layer).hexdigest())
    out.addfile(g.info(f"layer{li}/layer.tar", size=len(layer)), io.BytesIO(layer))
config = json.dumps({
    "architecture": "amd64", "os": "linux", "created": "2000-01-01T00:00:00Z",
    "config": {"Cmd": ["/bin/sh"]},
    "rootfs": {"type": "layers", "diff_ids": diff_ids},
    "history": [{"created": "2000-01-01T00:00:00Z", "created_by": f"layer {i}"}
                for i in range(len(diff_ids))]}, sort_keys=True).encode()
cid = hashlib.sha256(config).hexdigest()
out.addfile(g.info(cid + ".json", size=len(config)), io.BytesIO(config))
man = json.dumps([{"Config": cid + ".json", "RepoTags": ["bench/push:latest"],
                   "Layers": [f"layer{i}/layer.tar" for i in range(len(diff_ids))]}]).encode()
out.addfile(g.info("manifest.json", size=len(man)), io.BytesIO(man))
out.close()
print(f"sha256:{cid} layers={len(diff_ids)} tar={total} files={sum(len(l) for l in layers)}")
EOF

echo "== loading it into every tool" >&2
"$strata" --root "$work/strata" load -i "$work/image.tar" >/dev/null
if has_tool docker; then
  bash scripts/dockerd.sh start "$work/docker" >/dev/null
  export DOCKER_HOST="unix://$work/docker/docker.sock"
  "$docker_cli" load -i "$work/image.tar" >/dev/null
fi
if has_tool podman; then
  podman "${podman_common[@]}" --root "$work/podman/root" --runroot "$work/podman/run" \
    load -q -i "$work/image.tar" >/dev/null
fi
if has_tool floor; then
  # The floor: the same layers already gzip-compressed (igzip -1 output), sent with curl.
  mkdir -p "$work/floor"
  python3 - "$work/image.tar" "$work/floor" <<'EOF'
import gzip, hashlib, sys, tarfile
t = tarfile.open(sys.argv[1])
for m in t.getmembers():
    if m.name.endswith("/layer.tar"):
        data = gzip.compress(t.extractfile(m).read(), 1, mtime=0)
        open(f"{sys.argv[2]}/{hashlib.sha256(data).hexdigest()}", "wb").write(data)
EOF
fi

port=$(free_port)
cat >"$work/registry.yml" <<EOF
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $work/registry
http:
  addr: 127.0.0.1:$port
EOF
host=127.0.0.1:$port
fresh_registry() {
  [ -n "$reg_pid" ] && kill "$reg_pid" 2>/dev/null && wait "$reg_pid" 2>/dev/null || true
  rm -rf "$work/registry"
  /usr/bin/docker-registry serve "$work/registry.yml" >>"$work/out/registry.log" 2>&1 &
  reg_pid=$!
  for _ in $(seq 100); do
    curl -fs "http://$host/v2/" >/dev/null && return
    sleep 0.1
  done
  echo "registry did not start" >&2
  exit 1
}
"$strata" --root "$work/strata" tag bench/push:latest "$host/strata/push:latest"
has_tool docker && "$docker_cli" tag bench/push:latest "$host/docker/push:latest"
has_tool podman && podman "${podman_common[@]}" --root "$work/podman/root" \
  --runroot "$work/podman/run" tag bench/push:latest "$host/podman/push:latest"

prepare() {
  fresh_registry
  # strata remembers where it pushed (the next push only HEADs): forget it, as if the image
  # had just been built.
  sqlite3 "$work/strata/metadata.db" "DELETE FROM blob_locations; DELETE FROM repo_digests;" \
    2>/dev/null || true
  sync
  echo 1 >/proc/sys/vm/drop_caches
}

# run NAME REP CMD...: times CMD, appends its time, peak RSS and the bytes the registry stored.
run() {
  local secs rss bytes
  time_cmd "$@"
  bytes=$(du -sb "$work/registry/docker/registry/v2/blobs" | cut -f1)
  echo "$1 $2 $secs $rss $bytes" | tee -a "$work/out/results.txt" >&2
}
floor_push() {
  for f in "$work"/floor/*; do
    d=sha256:$(basename "$f")
    loc=$(curl -fsS -X POST -D - -o /dev/null "http://$host/v2/floor/push/blobs/uploads/" |
      awk -F': ' 'tolower($1)=="location" {print $2}' | tr -d '\r')
    case $loc in http*) ;; *) loc="http://$host$loc" ;; esac
    sep='?'; case $loc in *\?*) sep='&' ;; esac
    curl -fsS -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$f" \
      "$loc${sep}digest=$d" -o /dev/null &
  done
  wait
}
export -f floor_push
export work host

for rep in $(seq "$reps"); do
  echo "== repetition $rep" >&2
  if has_tool strata; then
    prepare
    run strata "$rep" "$strata" --root "$work/strata" push "$host/strata/push:latest"
  fi
  if has_tool docker; then
    prepare
    run docker "$rep" "$docker_cli" push "$host/docker/push:latest"
  fi
  if has_tool podman; then
    prepare
    run podman "$rep" podman "${podman_common[@]}" --root "$work/podman/root" \
      --runroot "$work/podman/run" push --tls-verify=false "$host/podman/push:latest"
  fi
  if has_tool skopeo; then
    prepare
    run skopeo "$rep" skopeo copy --dest-tls-verify=false "docker-archive:$work/image.tar" \
      "docker://$host/skopeo/push:latest"
  fi
  if has_tool floor; then
    prepare
    cat "$work"/floor/* >/dev/null
    run floor "$rep" bash -c floor_push
  fi
done

echo "== medians over $reps repetitions (seconds, peak RSS, bytes stored by the registry)" >&2
python3 - "$work/out/results.txt" <<'EOF'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    name, _, secs, rss, size = line.split()
    runs.setdefault(name, []).append((float(secs), int(rss), int(size)))
med = {n: statistics.median(s for s, _, _ in v) for n, v in runs.items()}
size = {n: v[-1][2] for n, v in runs.items()}
for n, v in runs.items():
    print(f"{n:8s} median {med[n]:6.2f} s  runs {' '.join(f'{s:.2f}' for s, _, _ in v)}"
          f"  max RSS {max(r for _, r, _ in v) / 1024:.1f} MiB  stored {size[n] / 1e6:.1f} MB")
if "strata" in med:
    s = med["strata"]
    for peer in ("docker", "podman", "skopeo", "floor"):
        if peer in med:
            print(f"{peer}/strata time = {med[peer] / s:.2f}x")
    if "docker" in size:
        print(f"strata/docker compressed size = {size['strata'] / size['docker']:.3f}")
EOF
