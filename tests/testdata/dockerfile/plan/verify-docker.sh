#!/usr/bin/env bash
# Records what docker 20.10's BuildKit does with each plan golden case: <case>/docker gets "OK" or
# the error line, and on success <case>/docker-config.json gets `docker image inspect` .Config of
# the built target. Base images: busybox:latest must be imported already (see
# shared/conformance/make-busybox-base.sh); every other _images/<name>/Dockerfile is built as
# <name>:latest first and its config recorded in _images/<name>/config.json. Cases with a
# `skip-docker` file are left alone (its text says why). `args` lines become flags:
# "build-arg K=V" -> --build-arg K=V, "target T" -> --target T, "platform P" -> --platform P.
# A case's context/ folder (if any) is the build context, else an empty one.
# Usage: DOCKER_HOST=... verify-docker.sh [CASE...]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
docker=${DOCKER_CLIENT:-/usr/bin/docker}
export DOCKER_BUILDKIT=1
prefix='failed to solve with frontend dockerfile.v0: failed to create LLB definition: '
fields='{Env,Cmd,Entrypoint,WorkingDir,User,Labels,ExposedPorts,Volumes,StopSignal,Shell,Healthcheck,OnBuild,ArgsEscaped}'

"$docker" image inspect busybox:latest --format '{{json .Config}}' | jq -S "$fields" \
  > "$here/_images/busybox/config.json"
# The conformance cases name the same busybox through their registry.
"$docker" tag busybox:latest 127.0.0.1:5000/busybox:latest
for d in "$here"/_images/*/; do
  n=$(basename "$d")
  [ -f "$d/Dockerfile" ] || continue
  "$docker" build --network=none -q -t "$n:latest" "$d" >/dev/null || { echo "image $n failed"; exit 1; }
  "$docker" image inspect "$n:latest" --format '{{json .Config}}' | jq -S "$fields" > "$d/config.json"
done

cases=("$@")
if [ ${#cases[@]} -eq 0 ]; then
  for d in "$here"/*/; do
    b=$(basename "$d")
    [[ $b == _* ]] || cases+=("$b")
  done
fi
agree=0
total=0
for c in "${cases[@]}"; do
  dir="$here/$c"
  [ -f "$dir/Dockerfile" ] || continue
  [ -f "$dir/skip-docker" ] && continue
  ctx=$(mktemp -d)
  [ -d "$dir/context" ] && cp -a "$dir/context/." "$ctx/"
  cp "$dir/Dockerfile" "$ctx/Dockerfile"
  flags=()
  if [ -f "$dir/args" ]; then
    while IFS= read -r line; do
      [ -n "$line" ] || continue
      flags+=("--${line%% *}" "${line#* }")
    done < "$dir/args"
  fi
  rm -f "$dir/docker-config.json"
  if out=$("$docker" build --network=none --progress=plain -t strata-plan-verify:latest "${flags[@]}" "$ctx" 2>&1); then
    res=OK
    "$docker" image inspect strata-plan-verify:latest --format '{{json .Config}}' | jq -S "$fields" \
      > "$dir/docker-config.json"
  else
    res=$(echo "$out" | grep -v '^#' | grep -v '^ *$' | tail -1)
    res=${res#"$prefix"}
  fi
  rm -rf "$ctx"
  printf '%s\n' "$res" > "$dir/docker"
  printf '%-40s %s\n' "$c" "$res"
done
