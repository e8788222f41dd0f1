#!/usr/bin/env bash
# deploy/cmdctld.service parses (systemd-analyze verify) and keeps the
# decisions docs/DEPLOYMENT.md explains. Exit 77 (skipped) without systemd.
set -euo pipefail
unit=$1
cmdctld=$2
command -v systemd-analyze >/dev/null || { echo "no systemd-analyze: skipped"; exit 77; }
grep -qx 'KillMode=process' "$unit"
grep -qx 'Delegate=yes' "$unit"
grep -qx 'DelegateSubgroup=cmdctld' "$unit"
grep -q '^ExecStart=/usr/local/bin/cmdctld' "$unit"
if grep -Eq '^(ProtectSystem|ProtectHome|PrivateTmp|NoNewPrivileges|UMask)=' "$unit"; then
  echo "sandboxing that jobs would inherit is set" >&2
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Point ExecStart at the freshly built binary (verify checks it exists).
sed "s|/usr/local/bin/cmdctld|$cmdctld|" "$unit" >"$tmp/cmdctld.service"
systemd-analyze verify "$tmp/cmdctld.service"
echo "ok"
