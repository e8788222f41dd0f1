#!/usr/bin/env bash
# The Debian package, end to end (README "Install the Debian package"):
# builds cmdctl_<version>_amd64.deb with cpack from the build directory,
# checks what it holds, installs it with dpkg -i on this machine, and runs a
# first-run style check against the installed binaries: a throwaway PKI made
# with the installed dev-pki.sh, /usr/sbin/cmdctld on a port of its own
# (not the first run's 9090), jobs through /usr/bin/cmdctl, man pages,
# completion, the unit. The package stays installed (CI machines are
# throwaway); CMDCTL_PACKAGE_REMOVE=1 purges it at the end.
#
#   ci/package.sh [BUILD_DIR]       default: build (built first if needed)
#
# Run as root on Debian 12. Overrides: CMDCTL_PACKAGE_LISTEN
# (localhost:9393), CMDCTL_DEMO_USER (cmdctl-demo, created if missing).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
listen=${CMDCTL_PACKAGE_LISTEN:-localhost:9393}
demo_user=${CMDCTL_DEMO_USER:-cmdctl-demo}
work=$root/out/package

say() { printf '\n==> %s\n' "$*"; }
die() { echo "package.sh: $*" >&2; exit 1; }
case ${1:-} in
  -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
esac
[[ $(id -u) -eq 0 ]] || die "run me as root: I install a package"

say "Building the package in $build"
[[ -x $build/bin/cmdctl ]] || "$root/ci/build.sh" "$build"
cmake --build "$build" >/dev/null
version=$("$build/bin/cmdctl" --version | awk '{ print $2 }')
rm -f "$build"/cmdctl_*.deb
(cd "$build" && cpack -G DEB >/dev/null)
deb=$build/cmdctl_${version}_amd64.deb
[[ -f $deb ]] || die "no $deb (cpack made: $(ls "$build"/*.deb 2>/dev/null))"
echo "$deb"

say "What it holds"
contents=$(dpkg-deb -c "$deb")
for path in ./usr/bin/cmdctl ./usr/sbin/cmdctld ./usr/libexec/cmdctl/cmdctld \
  ./usr/libexec/cmdctl/cmdctl-launcher ./lib/systemd/system/cmdctld.service \
  ./usr/share/man/man1/cmdctl.1.gz ./usr/share/man/man8/cmdctld.8.gz \
  ./usr/share/bash-completion/completions/cmdctl \
  ./usr/share/zsh/vendor-completions/_cmdctl \
  ./usr/share/doc/cmdctl/CLI.md ./usr/share/doc/cmdctl/examples/dev-pki.sh; do
  grep -q " $path\( \|$\)" <<<"$contents" || die "$path is not in the package"
done
grep -q '^drwx------ root/root .* ./var/lib/cmdctl/$' <<<"$contents" ||
  die "/var/lib/cmdctl is not root's with mode 0700"
dpkg-deb -f "$deb" Depends | grep -q libgrpc++ || die "no Depends on gRPC"
echo "ok"

say "Installing it (dpkg -i)"
dpkg -i "$deb"
[[ $(stat -c '%a %U' /var/lib/cmdctl) == "700 root" ]] || die "/var/lib/cmdctl is not 0700 root"
[[ $(/usr/bin/cmdctl --version) == "cmdctl $version" ]] || die "installed cmdctl is not $version"
grep -q -- '-stop_grace' <<<"$(/usr/sbin/cmdctld --help)" || die "cmdctld --help lacks its flags"
[[ $(readlink -f /usr/sbin/cmdctld) == /usr/libexec/cmdctl/cmdctld ]] || die "cmdctld link"
if command -v man >/dev/null; then
  if ! man -w cmdctl >/dev/null || ! man -w 8 cmdctld >/dev/null; then
    die "man pages not found by man"
  fi
fi
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify /lib/systemd/system/cmdctld.service
fi
grep -q '^ExecStart=/usr/sbin/cmdctld' /lib/systemd/system/cmdctld.service ||
  die "the unit does not start /usr/sbin/cmdctld"

say "First run against the installed binaries (cmdctld on $listen)"
id "$demo_user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$demo_user"
rm -rf "$work"
mkdir -p "$work"
pki=$work/pki
dev_pki=/usr/share/doc/cmdctl/examples/dev-pki.sh
"$dev_pki" ca "$pki" >/dev/null
"$dev_pki" server "$pki" >/dev/null
"$dev_pki" client "$pki" "$pki/client" "$(id -un)" "$demo_user" >/dev/null
/usr/sbin/cmdctld --listen="$listen" --cert="$pki/server.pem" \
  --key="$pki/server.key" --ca="$pki/ca.pem" \
  </dev/null >"$work/cmdctld.log" 2>&1 &
server=$!
trap 'kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT
export CMDCTL_SERVER=$listen CMDCTL_CERT=$pki/client/client.pem \
  CMDCTL_KEY=$pki/client/client.key CMDCTL_CA=$pki/client/ca.pem
ready=0
for _ in $(seq 1 100); do
  kill -0 "$server" 2>/dev/null || { cat "$work/cmdctld.log" >&2; die "cmdctld exited"; }
  if /usr/bin/cmdctl list >/dev/null 2>&1; then ready=1; break; fi
  sleep 0.2
done
[[ $ready == 1 ]] || { /usr/bin/cmdctl list || true; die "cmdctld did not answer on $listen"; }

# shellcheck disable=SC2016 # expanded by the job's shell, not here
out=$(/usr/bin/cmdctl run --wait sh -c 'echo "hello from $(id -un)"; exit 3') && status=0 || status=$?
[[ $out == "hello from $demo_user" && $status == 3 ]] ||
  die "run --wait gave '$out', exit $status (wanted 'hello from $demo_user', exit 3)"
job=$(/usr/bin/cmdctl run sh -c 'echo one; echo two >&2')
/usr/bin/cmdctl wait "${job:0:8}"
[[ $(/usr/bin/cmdctl logs "${job:0:8}" 2>/dev/null) == one ]] || die "logs by prefix"
grep -q 'exited with code 0' <<<"$(/usr/bin/cmdctl status "$job")" || die "status"
grep -q "^$job " <<<"$(/usr/bin/cmdctl ps)" || die "ps does not list $job"
# The installed bash completion completes commands and this job's id.
# (Outputs are captured before grep: with pipefail, `cmd | grep -q` fails
# when grep leaves early and cmd gets SIGPIPE.)
completion=/usr/share/bash-completion/completions/cmdctl
[[ $(bash -c "source $completion; COMP_WORDS=(cmdctl get-st); COMP_CWORD=1; _cmdctl; echo \"\${COMPREPLY[*]}\"") == get-status ]] ||
  die "bash completion of commands"
ids=$(bash -c "source $completion; COMP_WORDS=(cmdctl stop ''); COMP_CWORD=2; _cmdctl; printf '%s\n' \"\${COMPREPLY[@]}\"")
grep -qx "$job" <<<"$ids" || die "bash completion of job ids"
echo "ok: jobs ran as $demo_user through the installed cmdctld and cmdctl"

kill -TERM "$server"
wait "$server" || true
trap - EXIT
if [[ ${CMDCTL_PACKAGE_REMOVE:-0} == 1 ]]; then
  say "Purging the package (CMDCTL_PACKAGE_REMOVE=1)"
  dpkg --purge cmdctl
fi
say "Package $deb: built, installed and working"
