#!/usr/bin/env bash
# Records what docker 20.10's BuildKit does with each golden case: writes <case>/docker with
# "OK" or BuildKit's error text (prefix "failed to solve with frontend dockerfile.v0: failed to
# create LLB definition: " removed). When the plain build fails after the frontend (a RUN, a
# missing COPY source, a secret), the case is rebuilt with an extra empty target stage appended,
# so that only parsing and conversion of the case's stages count. Cases with a `skip-docker` file are left alone (its
# text says why). Needs DOCKER_HOST pointing at a 20.10 daemon with busybox:latest imported
# (scripts/dockerd.sh, shared/conformance/make-busybox-base.sh + docker import).
# Usage: verify-docker.sh [CASE...]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
docker=${DOCKER_CLIENT:-/usr/bin/docker}
export DOCKER_BUILDKIT=1
cases=("$@")
if [ ${#cases[@]} -eq 0 ]; then
  for d in "$here"/*/; do cases+=("$(basename "$d")"); done
fi
prefix='failed to solve with frontend dockerfile.v0: failed to create LLB definition: '
build() {  # build CONTEXT [--target T] -> prints OK or the error line
  local out
  if out=$("$docker" build --network=none --progress=plain -q "$@" 2>&1); then
    echo OK
  else
    echo "$out" | grep -v '^#' | grep -v '^ *$' | tail -1
  fi
}
for c in "${cases[@]}"; do
  dir="$here/$c"
  [ -f "$dir/Dockerfile" ] || continue
  [ -f "$dir/skip-docker" ] && continue
  ctx=$(mktemp -d)
  cp "$dir/Dockerfile" "$ctx/Dockerfile"
  res=$(build "$ctx")
  # Anything but OK or a frontend (LLB definition) error happened while solving, after
  # parsing succeeded: check parsing alone by building an appended empty stage instead.
  if [ "$res" != OK ] && [[ "$res" != "$prefix"* ]]; then
    printf '\nFROM scratch AS strata-verify-target\n' >> "$ctx/Dockerfile"
    res=$(build "$ctx" --target strata-verify-target)
  fi
  rm -rf "$ctx"
  res=${res#"$prefix"}
  printf '%s\n' "$res" > "$dir/docker"
  printf '%-40s %s\n' "$c" "$res"
done
