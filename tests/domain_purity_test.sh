#!/usr/bin/env bash
# Fails if any file in domain/ includes a gRPC, OpenSSL or OS header, a
# threading or file-stream header, or a header of the layers above it
# (os_adapter/, rpc/, cli/, common/, tls/, job_store/): the domain talks to
# the world only through the interfaces it owns (process_host.h, ...).
set -euo pipefail
dir=${1:?usage: domain_purity_test.sh DOMAIN_DIR}
system='grpc|grpcpp|openssl/|sys/|unistd\.h|spawn\.h|signal\.h|csignal|fcntl\.h|pwd\.h|grp\.h|dirent\.h|poll\.h|sqlite3\.h'
std='thread|fstream|filesystem|future|condition_variable|mutex|iostream|cstdio|stdio\.h'
ours='os_adapter/|rpc/|cli/|common/|tls/|job_store/'
pattern="#[[:space:]]*include[[:space:]]*[<\"]((${system})|(${std})>|(${ours}))"
if grep -RnE "$pattern" "$dir"; then
  echo "domain/ must not include OS, gRPC, OpenSSL, thread or stream headers, nor" \
       "the layers above it (above)" >&2
  exit 1
fi
n=$(find "$dir" -name '*.h' -o -name '*.cc' | wc -l)
[ "$n" -gt 0 ] || { echo "no sources found in $dir" >&2; exit 1; }
echo "domain purity: $n files clean"
