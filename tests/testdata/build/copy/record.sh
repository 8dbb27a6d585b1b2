#!/bin/bash
# record.sh [CASE...]: rebuilds expected.txt / error.txt of each case with real docker
# (DOCKER_BUILDKIT=1, daemon at $DOCKER_HOST; recorded with docker 20.10.24).
# For each case: the base (base.sh) is imported as strata-copy-base, setup.sh makes the
# context, `docker build` runs the case's Dockerfile, `docker save` + the conformance imgsum.py
# summarize the image minus the base, and the summary becomes one line per path (see
# copy_test.cc: type, mode, uid:gid, size+sha256 / target / hardlink). A failed build records
# its error line instead, with the daemon's rootfs path replaced by <root>.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
imgsum=${IMGSUM:-/work/shared/conformance/imgsum.py}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/base"
sh "$here/base.sh" "$work/base"
tar --numeric-owner --owner=0 --group=0 -C "$work/base" -cf "$work/base.tar" .
docker import "$work/base.tar" strata-copy-base >/dev/null
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=($(cd "$here" && ls -d */ | tr -d /))
for c in "${cases[@]}"; do
  ctx="$work/ctx-$c"
  mkdir "$ctx"
  (cd "$ctx" && sh "$here/$c/setup.sh")
  cp "$here/$c/Dockerfile" "$ctx/Dockerfile"
  rm -f "$here/$c/expected.txt" "$here/$c/error.txt"
  if out=$(DOCKER_BUILDKIT=1 /usr/bin/docker build --network=none --progress=plain \
             -t "strata-copy-$c" "$ctx" 2>&1); then
    docker save "strata-copy-$c" -o "$work/$c.tar"
    python3 "$imgsum" --fs-only --base "$work/base.tar" "$work/$c.tar" | python3 -c '
import json, sys
fs = json.load(sys.stdin)["fs"]
for p, n in fs.items():
    if n["type"] == "deleted":
        print(p, "deleted"); continue
    line = "%s %s %s %d:%d" % (p, n["type"], n["mode"], n["uid"], n["gid"])
    if n["type"] == "file": line += " size=%d sha256=%s" % (n["size"], n["sha256"])
    if n["type"] == "symlink": line += " target=" + n["target"]
    if "dev" in n: line += " dev=" + n["dev"]
    if "hardlink" in n: line += " hardlink=" + n["hardlink"]
    print(line)' > "$here/$c/expected.txt"
    echo "$c: $(wc -l < "$here/$c/expected.txt") paths"
  else
    line=$(printf '%s\n' "$out" | grep -m1 '^failed to compute cache key:' ||
           printf '%s\n' "$out" | grep -m1 'ERROR: ' | sed 's/^#[0-9]* ERROR: //')
    printf '%s\n' "$line" | sed -E 's#/[^ ]*/merged#<root>#g' > "$here/$c/error.txt"
    echo "$c: error: $(cat "$here/$c/error.txt")"
  fi
done
