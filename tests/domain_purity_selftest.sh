#!/usr/bin/env bash
# Proves that domain_purity_test.sh can fail: it must reject a directory
# holding any one forbidden include, and accept one holding only allowed ones.
set -euo pipefail
check=${1:?usage: domain_purity_selftest.sh PATH/TO/domain_purity_test.sh}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
allowed='#include "absl/status/status.h"
#include <string>
#include "domain/types.h"'
forbidden=('<thread>' '<fstream>' '<sys/wait.h>' '<unistd.h>' '<grpcpp/grpcpp.h>'
  '<openssl/ssl.h>' '<mutex>' '<sqlite3.h>' '"os_adapter/linux_process_host.h"'
  '"rpc/process_service.h"' '"common/unique_fd.h"' '"job_store/sqlite_job_store.h"')
mkdir "$tmp/clean"
printf '%s\n' "$allowed" >"$tmp/clean/ok.h"
"$check" "$tmp/clean" >/dev/null || { echo "clean directory rejected" >&2; exit 1; }
for inc in "${forbidden[@]}"; do
  d=$(mktemp -d "$tmp/bad.XXXX")
  printf '%s\n#include %s\n' "$allowed" "$inc" >"$d/bad.cc"
  if "$check" "$d" >/dev/null 2>&1; then
    echo "not rejected: #include $inc" >&2
    exit 1
  fi
done
echo "domain purity check rejects all ${#forbidden[@]} forbidden includes"
