#!/usr/bin/env bash
# Install the Debian 12 packages zerobus-station needs to build, test and run.
# Uses sudo when not run as root. The same list is in .ci/run and README.md
# (tests/check_deps.sh fails when they disagree).
set -euo pipefail
PACKAGES=(
  cmake make gcc pkgconf
  clang-14 libclang-rt-14-dev clang-format
  libjansson-dev
  libprotobuf-c-dev protobuf-c-compiler protobuf-compiler libprotobuf-dev
  libuv1-dev libhttp-parser-dev zlib1g-dev libzstd-dev
  libgrpc-dev protobuf-compiler-grpc libcurl4-openssl-dev libssl-dev
  python3-pytest python3-grpcio python3-protobuf openssl curl
  libcmocka-dev libsystemd-dev
  dpkg-dev file systemd
  prometheus haproxy
)
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi
