#!/usr/bin/env bash
# Installs every build and test dependency from Debian 12's archive. Idempotent.
set -euo pipefail
pkgs=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libgrpc++-dev libgrpc-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libgflags-dev libgoogle-glog-dev libssl-dev openssl
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  clang clang-format passwd procps perl python3 sqlite3 libsqlite3-dev
  zsh help2man dpkg-dev
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
