#!/usr/bin/env bash
# Relinks an already built cmdctl against Debian's static libraries (gRPC,
# absl, protobuf, OpenSSL, re2, c-ares, upb, zlib; libc stays dynamic) into
# BUILD_DIR/bin/cmdctl-static, to measure what static linking buys at start-up
# (docs/BENCHMARKS.md, "Why start-up is slower than the goals"). A measuring
# aid, not the build: cli/ would do this with a CMake option.
# Usage: bench/proposals/link-cmdctl-static.sh [BUILD_DIR]   (default build-bench)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(realpath "${1:-$root/build-bench}")
cd "$build"
lib=/usr/lib/x86_64-linux-gnu
cmd=$(ninja -t commands bin/cmdctl | tail -1 | sed 's/^: && //; s/ && :$//')
cmd=$(echo "$cmd" | sed -E "s#$lib/lib([A-Za-z0-9_+]+)\.so(\.[0-9.]+)?#$lib/lib\1.a#g;
  s# -lre2 # $lib/libre2.a #; s#-o bin/cmdctl #-o bin/cmdctl-static #")
eval "$cmd -static-libstdc++ -static-libgcc -Wl,--start-group $lib/libabsl_*.a -Wl,--end-group"
echo "built $build/bin/cmdctl-static; compare:"
echo "  perf stat -r 30 $build/bin/cmdctl --help >/dev/null"
echo "  perf stat -r 30 $build/bin/cmdctl-static --help >/dev/null"
echo "  bench/run.sh --no-build --figures start -- --cli=$build/bin/cmdctl-static"
