#!/usr/bin/env bash
# Installs everything, builds strata and runs its main job on the built-in
# example: a busybox base made from Debian's busybox-static is imported, then
# examples/hello is built (twice: the second comes from the cache), listed,
# inspected, run once through a build that uses it, and saved, in a throwaway
# store.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
work=$(mktemp -d /tmp/strata-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
export STRATA_ROOT="$work/root"
s=./build/strata
run() { echo "\$ strata $*"; "$s" "$@"; echo; }
sh examples/busybox/make-rootfs.sh "$work/rootfs.tar"
run import -c 'CMD ["/bin/sh"]' -m "busybox from Debian" "$work/rootfs.tar" busybox:latest
run build --progress=plain --build-arg WHO=strata -t example/hello:v1 examples/hello
run build --build-arg WHO=strata -t example/hello:v1 examples/hello
run images
run history example/hello:v1
run image inspect --format '{{.Id}} {{json .Config.Cmd}} {{json .Config.Labels}}' example/hello:v1
printf 'FROM example/hello:v1\nRUN hello\n' | run build --no-cache --progress=plain -f - examples/hello
run save -o "$work/hello.tar" example/hello:v1
tar -tf "$work/hello.tar"
run rmi example/hello:v1
run images
