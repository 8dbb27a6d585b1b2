#!/usr/bin/env bash
# `strata build` vs Docker BuildKit, the legacy docker builder and buildah, side by side in one
# run (issue 5): a multi-stage build that copies a 10,000-file, 100 MB context twice and runs
# a few RUN steps over it, in three scenarios:
#   cold     no build cache (fresh store / pruned builder cache), base image present
#   noop     the same build again right after (nothing changed)
#   onefile  after appending one line to one context file (d05/f0042)
#
# Usage: bench/build.sh [-r REPS] [-s STRATA_BINARY] [-t TOOLS]
#   -r  repetitions (default 3); the table shows each tool's median per scenario
#   -s  strata binary (default: build-bench/strata, then build/strata)
#   -t  tools, comma-separated (default strata,buildkit,legacy,buildah)
# Environment: DOCKER_CLI (default /usr/bin/docker, Debian's 20.10 client), SEED (context
# seed, default 1), KEEP=1 keeps the work dir, OUT=DIR copies every build's log, GNU time
# output and image ID there, BUILD_TIMEOUT (seconds per build, default 900).
# Needs root, python3, GNU time, docker.io (dockerd), buildah and runc, busybox-static.
#
# Every tool builds the same context (bench/make_build_context.py) and the same base image:
# examples/busybox/make-rootfs.sh -> `strata import` -> `strata save` -> the archive every tool
# loads as bench-base:latest before timing (strata: `load` into each fresh --root; docker:
# `docker load` once; buildah: `pull docker-archive:` into each fresh --root), so no registry
# is involved and no tool pulls while timed. Before every timed build: `sync; echo 1 >
# /proc/sys/vm/drop_caches`. Cold resets the tool's cache first (not timed): strata and
# buildah get a fresh root with the base loaded; docker: `image rm` of both results and
# `builder prune -af`. strata gets the same --network=none as BuildKit (STRATA_NETWORK=default
# measures its own pasta networking instead). BuildKit runs with --network=none (the private dockerd has
# --bridge=none); buildah with --runtime=runc --layers --pull=never. Each build writes its
# image ID (--iidfile); the script checks that the no-op rebuild gives the cold build's ID and
# that the one-file rebuild gives a new one.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(pwd)
source bench/lib.sh

reps=3
strata=""
tools=strata,buildkit,legacy,buildah
while getopts "r:s:t:" opt; do
  case $opt in
    r) reps=$OPTARG ;;
    s) strata=$OPTARG ;;
    t) tools=$OPTARG ;;
    *) sed -n '2,/^set -e/p' "$0" | sed '$d' >&2; exit 2 ;;
  esac
done
find_strata build-bench/strata build/strata
"$strata" build --help >/dev/null 2>&1 ||
  { echo "$0: $strata has no 'build' command; rebuild it" >&2; exit 1; }
docker_cli=${DOCKER_CLI:-/usr/bin/docker}
build_timeout=${BUILD_TIMEOUT:-900}
[ -x /usr/bin/time ] || { echo "$0: apt-get install time" >&2; exit 1; }
IFS=, read -r -a tool_list <<<"$tools"
for t in "${tool_list[@]}"; do
  case $t in
    strata | buildkit | legacy) ;;
    buildah)
      command -v buildah >/dev/null && command -v runc >/dev/null ||
        { echo "$0: apt-get install buildah runc" >&2; exit 1; } ;;
    *) echo "$0: unknown tool $t" >&2; exit 2 ;;
  esac
done

work=$(mktemp -d /var/tmp/strata-build-bench.XXXXXX)
buildah_args=(--root "$work/buildah/root" --runroot "$work/buildah/run" --storage-driver overlay)
cleanup() {
  set +e
  bash "$src/scripts/dockerd.sh" stop "$work/docker" >/dev/null 2>&1
  [ -d "$work/buildah/root" ] && buildah "${buildah_args[@]}" rm -a >/dev/null 2>&1
  unmount_under "$work"
  if [ -z "${KEEP:-}" ]; then rm -rf "$work"; else echo "kept $work" >&2; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$work/tmp" "$work/out"
export TMPDIR="$work/tmp"
export DOCKER_HOST="unix://$work/docker/docker.sock"
ctx=$work/ctx
changed=d05/f0042

echo "== context and base image" >&2
python3 bench/make_build_context.py "$ctx" "${SEED:-1}" | tee "$work/out/context.txt" >&2
cp -p "$ctx/$changed" "$work/changed.orig"
sh examples/busybox/make-rootfs.sh "$work/busybox.tar"
"$strata" --root "$work/strata-base" import -c 'CMD ["/bin/sh"]' "$work/busybox.tar" \
  bench-base:latest >/dev/null
"$strata" --root "$work/strata-base" save -o "$work/base.tar" bench-base:latest
rm -rf "$work/strata-base"
if has_tool buildkit || has_tool legacy; then
  bash scripts/dockerd.sh start "$work/docker" >/dev/null
  "$docker_cli" load -i "$work/base.tar" >/dev/null
fi

# Puts the context back as generated (content and mtime).
restore_context() { cp -p "$work/changed.orig" "$ctx/$changed"; }

reset_tool() {  # cold state for $1, not timed
  case $1 in
    strata)
      unmount_under "$work/strata"
      rm -rf "$work/strata"
      "$strata" --root "$work/strata" load -i "$work/base.tar" >/dev/null ;;
    buildkit | legacy)
      "$docker_cli" image rm -f bench/buildkit:latest bench/legacy:latest >/dev/null 2>&1 || true
      "$docker_cli" builder prune -af >/dev/null
      # Legacy leaves dangling intermediate images when a build fails; drop them too.
      "$docker_cli" image prune -f >/dev/null
      local left
      left=$("$docker_cli" images -aq | sort -u | wc -l)
      [ "$left" = 1 ] || echo "warning: docker still has $left images after the reset" >&2 ;;
    buildah)
      if [ -d "$work/buildah/root" ]; then
        buildah "${buildah_args[@]}" rm -a >/dev/null 2>&1 || true
        buildah "${buildah_args[@]}" rmi -af >/dev/null 2>&1 || true
      fi
      unmount_under "$work/buildah"
      rm -rf "$work/buildah"
      buildah "${buildah_args[@]}" pull -q "docker-archive:$work/base.tar" >/dev/null ;;
  esac
}

build_cmd() {  # the timed command for tool $1, image ID into $2
  case $1 in
    strata) echo "$strata" --root "$work/strata" build --progress=plain \
      --network="${STRATA_NETWORK:-none}" --iidfile "$2" -t bench/strata:latest "$ctx" ;;
    buildkit) echo env DOCKER_BUILDKIT=1 "$docker_cli" build --progress=plain --network=none \
      --iidfile "$2" -t bench/buildkit:latest "$ctx" ;;
    legacy) echo env DOCKER_BUILDKIT=0 "$docker_cli" build --iidfile "$2" \
      -t bench/legacy:latest "$ctx" ;;
    buildah) echo buildah "${buildah_args[@]}" bud --runtime=runc --layers --pull=never \
      --iidfile "$2" -t bench/buildah:latest "$ctx" ;;
  esac
}

now() { date +%s.%N; }
failures=0
run() {  # tool scenario rep
  local tool=$1 scen=$2 rep=$3 base="$work/out/$1-$2-$3" t0 t1 rc=0
  sync
  echo 1 >/proc/sys/vm/drop_caches
  # shellcheck disable=SC2046
  t0=$(now)
  /usr/bin/time -v -o "$base.time" timeout -k 10 "$build_timeout" \
    $(build_cmd "$tool" "$base.iid") >"$base.log" 2>&1 </dev/null || rc=$?
  t1=$(now)
  local secs rss iid
  secs=$(echo "$t1 - $t0" | bc)
  rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$base.time")
  iid=$(cat "$base.iid" 2>/dev/null || echo -)
  if [ "$rc" != 0 ]; then
    failures=$((failures + 1))
    echo "!! $tool $scen rep $rep failed (exit $rc) after ${secs}s; last lines of $base.log:" >&2
    tail -n 25 "$base.log" | sed 's/^/   | /' >&2
    echo "$tool $scen $rep FAIL ${rss:-0} -" >>"$work/out/results.txt"
    return 1
  fi
  printf '%-8s %-8s rep %s  %7.3f s  RSS %6.1f MiB  %s\n' "$tool" "$scen" "$rep" "$secs" \
    "$(echo "${rss:-0} / 1024" | bc -l)" "${iid:0:19}" >&2
  echo "$tool $scen $rep $secs ${rss:-0} $iid" >>"$work/out/results.txt"
}

for rep in $(seq "$reps"); do
  for tool in "${tool_list[@]}"; do
    echo "== rep $rep: $tool" >&2
    restore_context
    reset_tool "$tool"
    run "$tool" cold "$rep" || continue
    run "$tool" noop "$rep" || true
    echo "# changed by bench/build.sh: $tool rep $rep" >>"$ctx/$changed"
    run "$tool" onefile "$rep" || true
  done
done
restore_context

# Where strata's time goes: the DONE time of every step of the last run of each scenario.
if has_tool strata; then
  for scen in cold noop onefile; do
    f="$work/out/strata-$scen-$reps.log"
    [ -f "$f" ] || continue
    echo "== strata $scen (rep $reps): steps" >&2
    python3 - "$f" <<'EOF' >&2
import re, sys
names, done = {}, []
for line in open(sys.argv[1], errors="replace"):
    m = re.match(r"#(\d+) (\[.*|\S.*)$", line.rstrip("\n"))
    if not m:
        continue
    num, rest = m.groups()
    d = re.match(r"(DONE|CACHED) ?([\d.]+s)?", rest)
    if d:
        done.append((num, d.group(1), d.group(2) or ""))
    elif num not in names and not rest.startswith(("sha256:", "transferring", "writing",
                                                     "naming", "exporting layers")):
        names[num] = rest
for num, what, t in done:
    print(f"  #{num:>3} {what:6s} {t:>7s}  {names.get(num, '')[:80]}")
EOF
  done
fi

echo "== summary: medians over $reps repetitions (wall seconds)" >&2
python3 - "$work/out/results.txt" "$tools" <<'EOF'
import statistics, sys
runs, rss, iids = {}, {}, {}
for line in open(sys.argv[1]):
    tool, scen, rep, secs, kb, iid = line.split()
    runs.setdefault((tool, scen), []).append(secs)
    rss.setdefault(tool, []).append(int(kb))
    iids[(tool, scen, rep)] = iid
tools = sys.argv[2].split(",")
scens = ("cold", "noop", "onefile")
med = {}
for k, v in runs.items():
    ok = [float(s) for s in v if s != "FAIL"]
    if ok and len(ok) == len(v):
        med[k] = statistics.median(ok)
print(f"{'tool':9s} {'scenario':9s} {'median s':>9s}  runs (s)")
for t in tools:
    for s in scens:
        v = runs.get((t, s))
        if v:
            m = f"{med[(t, s)]:9.3f}" if (t, s) in med else f"{'FAIL':>9s}"
            print(f"{t:9s} {s:9s} {m}  " +
                  " ".join(x if x == "FAIL" else f"{float(x):.3f}" for x in v))
if "strata" in tools and rss.get("strata"):
    print(f"strata peak RSS (max over runs): {max(rss['strata']) / 1024:.1f} MiB")
print()
print("ratio peer/strata median time (>1: strata faster)")
print(f"{'scenario':9s} " + " ".join(f"{t:>9s}" for t in tools if t != "strata"))
for s in scens:
    row = []
    for t in tools:
        if t == "strata":
            continue
        a, b = med.get((t, s)), med.get(("strata", s))
        row.append(f"{a / b:8.2f}x" if a and b else f"{'-':>9s}")
    print(f"{s:9s} " + " ".join(row))
targets = (("cold", "BuildKit/strata >= 2x", lambda st, bk: bk / st >= 2),
           ("noop", "strata < 0.100 s", lambda st, bk: st < 0.1),
           ("onefile", "BuildKit/strata >= 3x", lambda st, bk: bk / st >= 3))
print()
for s, text, ok in targets:
    st, bk = med.get(("strata", s)), med.get(("buildkit", s))
    if st is None:
        print(f"  {s:8s} {text:24s} strata did not finish")
    elif bk is None and s != "noop":
        print(f"  {s:8s} {text:24s} no BuildKit figure")
    else:
        print(f"  {s:8s} {text:24s} {'PASS' if ok(st, bk or 1) else 'MISS'}")
# Cache sanity: a no-op rebuild must give the cold build's image, a one-file change a new one.
for (t, s, r), iid in sorted(iids.items()):
    if s == "noop" and iid != "-" and iids.get((t, "cold", r)) not in (None, "-"):
        if iid != iids[(t, "cold", r)]:
            print(f"note: {t} rep {r}: no-op rebuild gave a different image than cold")
    if s == "onefile" and iid != "-" and iid == iids.get((t, "cold", r)):
        print(f"note: {t} rep {r}: one-file rebuild gave the same image as cold")
EOF
if [ -n "${OUT:-}" ]; then mkdir -p "$OUT" && cp -r "$work/out/." "$OUT/"; fi
[ "$failures" = 0 ] || echo "$failures timed build(s) failed; see above" >&2
