#!/usr/bin/env bash
# Fails if any file in domain/ includes a gRPC or OS header.
set -euo pipefail
dir=${1:?usage: domain_purity_test.sh DOMAIN_DIR}
pattern='#[[:space:]]*include[[:space:]]*[<"](grpc|grpcpp|sys/|unistd\.h|spawn\.h|signal\.h|csignal|fcntl\.h|pwd\.h|grp\.h|dirent\.h|poll\.h|openssl/)'
if grep -RnE "$pattern" "$dir"; then
  echo "domain/ must not include gRPC, OpenSSL or OS headers (above)" >&2
  exit 1
fi
n=$(find "$dir" -name '*.h' -o -name '*.cc' | wc -l)
[ "$n" -gt 0 ] || { echo "no sources found in $dir" >&2; exit 1; }
echo "domain purity: $n files clean"
