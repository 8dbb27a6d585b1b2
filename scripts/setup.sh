#!/usr/bin/env bash
# Installs everything strata needs to build and test on Debian 12. Idempotent.
set -euo pipefail
pkgs=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libcurl4-openssl-dev libssl-dev libisal-dev zlib1g-dev libzstd-dev libarchive-dev
  liblzma-dev libbz2-dev
  nlohmann-json3-dev libsqlite3-dev libcli11-dev libfmt-dev libboost-dev
  libgtest-dev libgmock-dev libbenchmark-dev libseccomp-dev
  passt slirp4netns iproute2
  clang libclang-rt-14-dev
  busybox-static python3 tar gzip zstd xz-utils
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${STRATA_WITH_PEERS:-0}" = 1 ]; then
  # Peers and real services the tests compare with or talk to.
  for p in docker.io skopeo umoci docker-registry apache2-utils openssl; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
fi
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
