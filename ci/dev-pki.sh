#!/usr/bin/env bash
# Development PKI for cmdctl: a local CA, a server certificate, and client
# certificates whose Subject CN is the caller's identity and whose SAN URIs
# `principal:<login>` list the unix users it may run jobs as (SPEC §4; the
# first principal is the default).
#
# It runs the same openssl commands docs/DEPLOYMENT.md lists for a real
# deployment, so what it does can be read here line by line. Private keys are
# created under umask 077 (mode 0600 from the first byte); an existing CA is
# never overwritten.
#
# Usage:
#   ci/dev-pki.sh ca DIR                      DIR/ca.pem + DIR/ca.key
#   ci/dev-pki.sh server DIR [NAME|IP]...     DIR/server.pem + DIR/server.key,
#                                             valid for localhost, 127.0.0.1,
#                                             ::1 and every NAME/IP given
#   ci/dev-pki.sh client DIR OUT CN [LOGIN]...
#                                             OUT/client.pem + OUT/client.key +
#                                             OUT/ca.pem for identity CN with
#                                             principals LOGIN... (none: it may
#                                             run nothing)
# DIR holds the CA (ca.pem, ca.key). CMDCTL_PKI_DAYS sets the validity of the
# server and client certificates (default 365; the CA gets 3650).
set -euo pipefail

die() { echo "dev-pki.sh: $*" >&2; exit 2; }
help() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
usage() { help >&2; exit 2; }
case ${1:-} in -h|--help|help) help; exit 0 ;; esac

days=${CMDCTL_PKI_DAYS:-365}
[[ $days =~ ^[0-9]+$ ]] || die "CMDCTL_PKI_DAYS must be a number of days"
command -v openssl >/dev/null || die "openssl not found (apt-get install openssl)"

# A new P-256 key, mode 0600 from creation.
new_key() {
  (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$1" 2>/dev/null)
}

# A random 128-bit serial number.
serial() { echo "0x$(openssl rand -hex 16)"; }

cmd_ca() {
  local dir=$1
  (umask 077 && mkdir -p "$dir")
  if [[ -e $dir/ca.pem || -e $dir/ca.key ]]; then
    [[ -e $dir/ca.pem && -e $dir/ca.key ]] || die "$dir has half a CA; fix it by hand"
    echo "CA exists: $dir/ca.pem (kept)"
    return
  fi
  new_key "$dir/ca.key"
  openssl req -new -x509 -key "$dir/ca.key" -out "$dir/ca.pem" -days 3650 \
    -set_serial "$(serial)" -subj "/CN=cmdctl development CA" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash"
  chmod 0644 "$dir/ca.pem"
  echo "CA: $dir/ca.pem (key $dir/ca.key, mode 0600)"
}

# Signs OUT.csr with the CA in DIR into OUT.pem with the extensions in $3.
sign() {
  local dir=$1 out=$2 extensions=$3
  printf '%s\n' "$extensions" >"$out.ext"
  openssl x509 -req -in "$out.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
    -set_serial "$(serial)" -days "$days" -out "$out.pem" -extfile "$out.ext" \
    2>/dev/null
  rm -f "$out.csr" "$out.ext"
  chmod 0644 "$out.pem"
}

need_ca() {
  [[ -r $1/ca.pem && -r $1/ca.key ]] || die "no CA in $1: run 'ci/dev-pki.sh ca $1' first"
}

cmd_server() {
  local dir=$1; shift
  need_ca "$dir"
  local san="DNS:localhost,IP:127.0.0.1,IP:::1" name
  for name in "$@"; do
    if [[ $name =~ ^[0-9.]+$ || $name == *:* ]]; then
      san+=",IP:$name"
    else
      san+=",DNS:$name"
    fi
  done
  new_key "$dir/server.key"
  openssl req -new -key "$dir/server.key" -out "$dir/server.csr" \
    -subj "/CN=${1:-localhost}"
  sign "$dir" "$dir/server" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=$san"
  echo "server: $dir/server.pem (key $dir/server.key, mode 0600) for $san"
}

cmd_client() {
  local dir=$1 out=$2 cn=$3; shift 3
  need_ca "$dir"
  [[ $cn =~ ^[A-Za-z0-9._@-]+$ ]] || die "identity '$cn': use letters, digits, . _ @ -"
  local san="" login
  for login in "$@"; do
    [[ $login =~ ^[a-z_][a-z0-9_-]*[$]?$ ]] || die "'$login' is not a unix login name"
    san+="${san:+,}URI:principal:$login"
  done
  (umask 077 && mkdir -p "$out")
  new_key "$out/client.key"
  openssl req -new -key "$out/client.key" -out "$out/client.csr" -subj "/CN=$cn"
  local extensions="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"
  [[ -n $san ]] && extensions+="
subjectAltName=$san"
  sign "$dir" "$out/client" "$extensions"
  cp "$dir/ca.pem" "$out/ca.pem"
  chmod 0644 "$out/ca.pem"
  echo "client '$cn': $out/client.pem (key $out/client.key, mode 0600)" \
    "principals: ${*:-(none)}"
}

[[ $# -ge 2 ]] || usage
case $1 in
  ca) [[ $# -eq 2 ]] || usage; cmd_ca "$2" ;;
  server) shift; cmd_server "$@" ;;
  client) [[ $# -ge 4 ]] || usage; shift; cmd_client "$@" ;;
  *) usage ;;
esac
