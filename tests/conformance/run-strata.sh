#!/usr/bin/env bash
# CTest entry: runs the Dockerfile conformance harness (harness/run.sh, a copy of
# the shared one) with strata over the public cases and strata's own, and fails
# unless every case passes. The cases build FROM 127.0.0.1:5000/busybox:latest:
# when nothing listens there, this script starts Debian's docker-registry on it,
# pushes the busybox base made by harness/make-busybox-base.sh with strata, and
# stops the registry at the end. Exit 77 (skipped) without root or the registry.
#
# Usage: tests/conformance/run-strata.sh STRATA_BINARY [CASES_DIR...]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
strata=${1:?usage: run-strata.sh STRATA_BINARY [CASES_DIR...]}
shift
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=("$here/public-cases" "$here/build-cases")

[ "$(id -u)" = 0 ] || { echo "skipped: needs root (namespaces, overlayfs)"; exit 77; }
work=$(mktemp -d /var/tmp/strata-conformance.XXXXXX)
registry_dir=""
cleanup() {
  [ -n "$registry_dir" ] && bash "$repo/scripts/registry.sh" stop "$registry_dir" 5000 >/dev/null 2>&1
  awk -v d="$work/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r |
    xargs -r -n1 umount -l 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

sh "$here/harness/make-busybox-base.sh" "$work/busybox.tar" >/dev/null 2>&1 ||
  { echo "skipped: make-busybox-base.sh failed (busybox-static missing?)"; exit 77; }
if ! curl -sf http://127.0.0.1:5000/v2/busybox/manifests/latest \
    -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' >/dev/null 2>&1; then
  if curl -s http://127.0.0.1:5000/v2/ >/dev/null 2>&1; then
    : # a registry without the base: push it below
  else
    command -v docker-registry >/dev/null || { echo "skipped: no docker-registry"; exit 77; }
    registry_dir="$work/registry"
    bash "$repo/scripts/registry.sh" start "$registry_dir" 5000 >/dev/null || exit 1
  fi
  "$strata" --root "$work/seed" import -c 'CMD ["/bin/sh"]' "$work/busybox.tar" \
    127.0.0.1:5000/busybox:latest >/dev/null || exit 1
  "$strata" --root "$work/seed" push -q 127.0.0.1:5000/busybox:latest >/dev/null || exit 1
fi
bash "$here/harness/run.sh" --tool "$strata --root $work/store" --base-tar "$work/busybox.tar" \
  --keep "$work/keep" "${cases[@]}"
