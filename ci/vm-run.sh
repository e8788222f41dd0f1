#!/usr/bin/env bash
# Runs one command inside a fresh, throw-away QEMU VM with a pure cgroup v2
# hierarchy, so that resource limits can be tested on a host that cannot
# enforce them (see docs/VM_TESTS.md). Run `ci/vm-run.sh --help`.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: ci/vm-run.sh [--help] CMD [ARGS...]

Runs CMD inside a fresh QEMU VM (software emulation) and exits with its status.

The guest:
  - its root is this host's / (read-only virtio-9p) under an overlayfs whose
    upper layer is a tmpfs: the host's binaries and build trees work unchanged,
    and whatever the command writes (useradd, homes, /tmp) vanishes at power-off;
  - mounts cgroup2 alone on /sys/fs/cgroup with "+cpuset +cpu +io +memory +pids"
    in the root's cgroup.subtree_control, and runs CMD (as root) in the child
    cgroup /sys/fs/cgroup/test, like a delegated subtree;
  - has lo up, fresh /proc /sys /dev /run, a sparse raw disk as /dev/vda (for
    io.max), stdin from /dev/null, and CWD = the caller's CWD when it exists;
  - powers off when CMD ends.
CMD's stdout and stderr are copied to ours as they come (through a writable
9p share); its exit status becomes ours. A VM that does not boot, or does not
finish within VM_TIMEOUT, is a failure with a message on stderr (exit 125,
or 124 for the timeout), never a silent skip.

Environment:
  VM_TIMEOUT    seconds before QEMU is killed (default 600)
  VM_MEMORY     guest memory in MiB (default 1024)
  VM_CPUS       guest vCPUs (default 2)
  VM_DISK_SIZE  size of the sparse /dev/vda image (default 256M)
  VM_ENV        names of variables to pass into the guest, space-separated
                (the guest otherwise gets PATH, HOME=/root, USER, LOGNAME, TERM)
  VM_KERNEL     kernel version to boot (default: newest /boot/vmlinuz-* with
                modules in /lib/modules)
  VM_CACHE_DIR  where the extracted vmlinux and the initramfs are kept
                (default ${XDG_CACHE_HOME:-/var/cache}/cmdctl-vm)
  VM_CONSOLE    1: copy the guest's kernel console to stderr as well
  VM_APPEND     extra kernel command line (e.g. loglevel=7 for debugging)
Missing packages (qemu-system-x86 linux-image-amd64 busybox-static kmod
python3) are installed with apt-get (--no-install-recommends; needs root).
EOF
}

die() {
  echo "vm-run: $*" >&2
  exit 125
}

if [[ $# -eq 0 ]]; then
  usage >&2
  exit 2
fi
if [[ $1 == --help || $1 == -h ]]; then
  usage
  exit 0
fi
if [[ $1 == -- ]]; then shift; fi
[[ $# -gt 0 ]] || die "no command given"

timeout_s=${VM_TIMEOUT:-600}
memory=${VM_MEMORY:-1024}
cpus=${VM_CPUS:-2}
disk_size=${VM_DISK_SIZE:-256M}
[[ $timeout_s =~ ^[0-9]+$ && $memory =~ ^[0-9]+$ && $cpus =~ ^[0-9]+$ ]] ||
  die "VM_TIMEOUT, VM_MEMORY and VM_CPUS must be whole numbers"

# --------------------------------------------------------------------------
# Packages

# The Debian busybox-static package's /bin/busybox (the plain busybox
# package's is dynamic, useless in an initramfs).
busybox_is_static() {
  [[ -x /bin/busybox ]] &&
    dpkg-query -W -f='${Status}' busybox-static 2>/dev/null |
    grep -q 'ok installed'
}

newest_kernel() {
  local v best=
  for f in /boot/vmlinuz-*; do
    [[ -e $f ]] || continue
    v=${f#/boot/vmlinuz-}
    [[ -e /lib/modules/$v/modules.dep ]] || continue
    if [[ -z $best ]] || dpkg --compare-versions "$v" gt "$best" 2>/dev/null; then
      best=$v
    fi
  done
  echo "$best"
}

ensure_packages() {
  local missing=()
  [[ -x /usr/bin/python3 ]] || missing+=(python3)
  command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
  command -v modprobe >/dev/null || missing+=(kmod)
  busybox_is_static || missing+=(busybox-static)
  if [[ -z ${VM_KERNEL:-} && -z $(newest_kernel) ]]; then
    missing+=(linux-image-amd64)
  fi
  [[ ${#missing[@]} -eq 0 ]] && return 0
  [[ $(id -u) -eq 0 ]] ||
    die "missing ${missing[*]}; install them (apt-get install --no-install-recommends ${missing[*]}) or run as root"
  echo "vm-run: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # A host that does not boot from /boot (a container, CI) needs no initrd
  # for the kernel it installs only for the VM: skip its slow generation.
  [[ -e /boot/vmlinuz-$(uname -r) ]] || export INITRD=No
  if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; then
    apt-get update -q >&2 || true
    apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 ||
      die "cannot install ${missing[*]}"
  fi
  busybox_is_static || die "/bin/busybox is not busybox-static's"
}

ensure_packages
kver=${VM_KERNEL:-$(newest_kernel)}
[[ -n $kver && -r /boot/vmlinuz-$kver && -e /lib/modules/$kver/modules.dep ]] ||
  die "no bootable kernel: need /boot/vmlinuz-$kver and /lib/modules/$kver"

# --------------------------------------------------------------------------
# The guest's boot files, built once per kernel (and per version of this
# script's guest side) and cached.

# Stage 1, /init of the initramfs: modules, the overlay root, switch_root.
IFS= read -r -d '' STAGE1 <<'EOF' || true
#!/bin/busybox sh
export PATH=/bin
mount -t devtmpfs devtmpfs /dev
mount -t proc proc /proc
mount -t sysfs sysfs /sys
# Progress, timestamped in the kernel log (VM_APPEND=loglevel=7 shows it).
log() { echo "cmdctl-vm: $*" >/dev/kmsg; }
fail() {
  echo "cmdctl-vm: boot failed: $*"
  [ -d /newroot/run/cmdctl-vm/xfer ] &&
    echo "$*" >/newroot/run/cmdctl-vm/xfer/boot-error
  poweroff -f
}
log "loading modules"
while read -r mod; do
  insmod "/modules/$mod" || fail "insmod $mod"
done </modules/order
# The 9p devices show up asynchronously after virtio_pci probes.
tries=0
while ! grep -qs hostroot /sys/bus/virtio/drivers/9pnet_virtio/virtio*/mount_tag; do
  tries=$((tries + 1))
  [ $tries -gt 500 ] && fail "no 9p device hostroot"
  usleep 10000
done
log "mounting the root"
mkdir -p /lower /upper /newroot
mount -t 9p -o ro,trans=virtio,version=9p2000.L,msize=512000,cache=loose \
  hostroot /lower || fail "mounting the host's / over 9p"
mount -t tmpfs -o mode=0755 upper /upper
mkdir /upper/upper /upper/work
mount -t overlay -o lowerdir=/lower,upperdir=/upper/upper,workdir=/upper/work \
  overlay /newroot || fail "mounting the overlay root"
mount -t tmpfs -o mode=0755,nosuid,nodev run /newroot/run
mkdir -p /newroot/run/cmdctl-vm/xfer
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 xfer \
  /newroot/run/cmdctl-vm/xfer || fail "mounting the xfer share"
cp /bin/busybox /stage2 /newroot/run/cmdctl-vm/
log "switching root"
mount --move /dev /newroot/dev
umount /proc /sys
exec switch_root /newroot /run/cmdctl-vm/busybox sh /run/cmdctl-vm/stage2
EOF

# Stage 2, PID 1 in the overlay root: cgroup2, lo, the command, power-off.
IFS= read -r -d '' STAGE2 <<'EOF' || true
B=/run/cmdctl-vm/busybox
X=/run/cmdctl-vm/xfer
log() { echo "cmdctl-vm: $*" >/dev/kmsg; }
fail() {
  echo "cmdctl-vm: $*" >/dev/console
  echo "$*" >$X/boot-error
  $B sync
  $B poweroff -f
}
$B mount -t proc -o nosuid,nodev,noexec proc /proc || fail "mount /proc"
$B mount -t sysfs -o nosuid,nodev,noexec sysfs /sys || fail "mount /sys"
$B mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 /sys/fs/cgroup ||
  fail "mount cgroup2"
$B mkdir -p /dev/pts /dev/shm
$B mount -t devpts -o nosuid,noexec,gid=5,mode=620,ptmxmode=666 devpts /dev/pts
$B mount -t tmpfs -o nosuid,nodev tmpfs /dev/shm
[ -e /dev/fd ] || $B ln -s /proc/self/fd /dev/fd
echo "+cpuset +cpu +io +memory +pids" >/sys/fs/cgroup/cgroup.subtree_control ||
  fail "enabling the controllers"
$B mkdir /sys/fs/cgroup/test || fail "mkdir /sys/fs/cgroup/test"
$B ip link set lo up || fail "lo up"
$B hostname cmdctl-vm
: >$X/started
log "running the command"
(echo 0 >/sys/fs/cgroup/test/cgroup.procs &&
  exec $B env -i $B sh $X/cmd) >$X/stdout 2>$X/stderr </dev/null
echo $? >$X/status.tmp
$B mv $X/status.tmp $X/status
log "powering off"
$B sync
$B poweroff -f
EOF

# Python: the vmlinux out of a bzImage, and a newc cpio writer.
IFS= read -r -d '' PYTOOLS <<'EOF' || true
import bz2, gzip, lzma, os, stat, struct, subprocess, sys, zlib

def extract_vmlinux(src, dst):
    d = open(src, "rb").read()
    if d[:4] == b"\x7fELF":
        open(dst, "wb").write(d)
        return
    # The x86 boot protocol (>= 2.08) says where the payload is.
    if d[0x202:0x206] != b"HdrS":
        sys.exit("not a bzImage: " + src)
    setup_sects = d[0x1F1] or 4
    off, length = struct.unpack_from("<II", d, 0x248)
    payload = d[(setup_sects + 1) * 512 + off:][:length]
    magic = payload[:6]
    if magic.startswith(b"\x1f\x8b"):
        out = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(payload)
    elif magic == b"\xfd7zXZ\x00":
        out = lzma.LZMADecompressor(lzma.FORMAT_XZ).decompress(payload)
    elif magic.startswith(b"BZh"):
        out = bz2.BZ2Decompressor().decompress(payload)
    elif magic.startswith(b"\x5d\x00"):
        out = lzma.LZMADecompressor(lzma.FORMAT_ALONE).decompress(payload)
    elif magic.startswith(b"\x28\xb5\x2f\xfd"):
        out = subprocess.run(["zstd", "-dcq"], input=payload[:-4],
                             capture_output=True, check=True).stdout
    elif magic.startswith(b"\x02\x21\x4c\x18"):
        out = subprocess.run(["lz4", "-dcq"], input=payload[:-4],
                             capture_output=True, check=True).stdout
    else:
        sys.exit("unknown kernel compression (magic %s)" % magic.hex())
    if out[:4] != b"\x7fELF":
        sys.exit("the decompressed kernel is not an ELF file")
    open(dst, "wb").write(out)

def write_cpio(dst, entries):
    # entries: (name, kind, data_or_target_or_rdev, mode)
    out = bytearray()
    def add(ino, name, mode, data=b"", rdev=(0, 0)):
        nm = name.encode() + b"\x00"
        hdr = b"070701" + b"".join(b"%08X" % v for v in (
            ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1],
            len(nm), 0))
        out.extend(hdr + nm)
        out.extend(b"\x00" * (-len(out) % 4))
        out.extend(data)
        out.extend(b"\x00" * (-len(out) % 4))
    for ino, (name, kind, value, perm) in enumerate(entries, 1):
        if kind == "dir":
            add(ino, name, stat.S_IFDIR | perm)
        elif kind == "file":
            add(ino, name, stat.S_IFREG | perm, value)
        elif kind == "link":
            add(ino, name, stat.S_IFLNK | 0o777, value.encode())
        elif kind == "chr":
            add(ino, name, stat.S_IFCHR | perm, rdev=value)
    add(0, "TRAILER!!!", 0)
    open(dst, "wb").write(bytes(out))

def unsigned_module(path):
    data = open(path, "rb").read()
    if path.endswith(".xz"):
        data = lzma.decompress(data)
    elif path.endswith(".gz"):
        data = gzip.decompress(data)
    elif path.endswith(".zst"):
        data = subprocess.run(["zstd", "-dcq"], input=data,
                              capture_output=True, check=True).stdout
    # Without its signature (struct module_signature, 12 bytes, ends with
    # the signature's big-endian length, then the magic) the kernel loads
    # the module unverified (tainted, unless module.sig_enforce), which
    # spares the RSA verifications that are slow under emulation.
    magic = b"~Module signature appended~\n"
    if data.endswith(magic):
        sig_len, = struct.unpack_from(">I", data, len(data) - len(magic) - 4)
        data = data[:len(data) - len(magic) - 12 - sig_len]
    return data

def build_initramfs(dst, stage1, stage2, busybox, modules):
    entries = [(d, "dir", None, 0o755) for d in
               ("bin", "dev", "proc", "sys", "modules", "lower", "upper",
                "newroot")]
    entries.append(("dev/console", "chr", (5, 1), 0o600))
    entries.append(("bin/busybox", "file", open(busybox, "rb").read(), 0o755))
    # The applets stage 1 uses (busybox --install would cost a second).
    for applet in ("sh", "mount", "umount", "insmod", "mkdir", "cp", "grep",
                   "usleep", "poweroff", "switch_root"):
        entries.append(("bin/" + applet, "link", "busybox", 0))
    entries.append(("init", "file", open(stage1, "rb").read(), 0o755))
    entries.append(("stage2", "file", open(stage2, "rb").read(), 0o644))
    order = []
    for path in modules:
        name = os.path.basename(path)
        for ext in (".xz", ".gz", ".zst"):
            if name.endswith(ext):
                name = name[:-len(ext)]
        entries.append(("modules/" + name, "file",
                        unsigned_module(path), 0o644))
        order.append(name)
    entries.append(("modules/order", "file",
                    "".join(n + "\n" for n in order).encode(), 0o644))
    write_cpio(dst, entries)

if sys.argv[1] == "extract-vmlinux":
    extract_vmlinux(sys.argv[2], sys.argv[3])
elif sys.argv[1] == "initramfs":
    build_initramfs(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5],
                    sys.argv[6:])
EOF

# The modules the guest loads, dependencies first, each once (built-in ones
# need nothing).
guest_modules() {
  local m path deps
  declare -A seen=()
  for m in virtio_pci virtio_blk 9pnet_virtio 9p overlay; do
    deps=$(modprobe -S "$kver" --show-depends "$m") || return 1
    while read -r verb path _; do
      [[ $verb == insmod ]] || continue
      [[ -n ${seen[$path]:-} ]] && continue
      seen[$path]=1
      echo "$path"
    done <<<"$deps"
  done
}

cache_root=${VM_CACHE_DIR:-${XDG_CACHE_HOME:-/var/cache}/cmdctl-vm}
if ! mkdir -p "$cache_root" 2>/dev/null || [[ ! -w $cache_root ]]; then
  cache_root=${HOME:-/tmp}/.cache/cmdctl-vm
  mkdir -p "$cache_root"
fi
# What the boot files are made of: this script's guest side, the kernel,
# its modules (depmod rewrites modules.dep when they change) and busybox.
key=$(
  {
    printf '%s\n' "$STAGE1" "$STAGE2" "$PYTOOLS"
    stat -L -c '%n %s %Y' /boot/vmlinuz-"$kver" /bin/busybox \
      /lib/modules/"$kver"/modules.dep
  } | sha256sum | cut -c1-16
)
boot=$cache_root/$kver-$key
if [[ ! -e $boot/ready ]]; then
  exec 9>"$cache_root/lock"
  flock 9
  if [[ ! -e $boot/ready ]]; then
    echo "vm-run: preparing the guest's boot files in $boot" >&2
    if ! module_list=$(guest_modules) || [[ -z $module_list ]]; then
      die "modprobe --show-depends found no guest modules for $kver"
    fi
    mapfile -t modules <<<"$module_list"
    rm -rf "$boot.tmp"
    mkdir -p "$boot.tmp"
    printf '%s\n' "$STAGE1" >"$boot.tmp/stage1"
    printf '%s\n' "$STAGE2" >"$boot.tmp/stage2"
    /usr/bin/python3 -c "$PYTOOLS" extract-vmlinux /boot/vmlinuz-"$kver" \
      "$boot.tmp/vmlinux" || die "cannot extract vmlinux from /boot/vmlinuz-$kver"
    /usr/bin/python3 -c "$PYTOOLS" initramfs "$boot.tmp/initramfs.cpio" \
      "$boot.tmp/stage1" "$boot.tmp/stage2" /bin/busybox "${modules[@]}" ||
      die "cannot build the initramfs"
    : >"$boot.tmp/ready"
    rm -rf "$boot"
    mv "$boot.tmp" "$boot"
  fi
  # Builds no run has used for a day (an older version of this script, an
  # older kernel) go.
  find "$cache_root" -mindepth 2 -maxdepth 2 -name ready -mtime +0 \
    -printf '%h\n' | while read -r old; do rm -rf "$old"; done
  exec 9>&-
fi
touch "$boot/ready"

# --------------------------------------------------------------------------
# One run

run=$(mktemp -d "${TMPDIR:-/tmp}/cmdctl-vm.XXXXXX")
qemu_pid=
tail_pids=()
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
  if [[ -n $qemu_pid ]]; then kill "$qemu_pid" 2>/dev/null || true; fi
  for p in "${tail_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir "$run/xfer"
truncate -s "$disk_size" "$run/disk.img"

# Single-quoted for sh: ' becomes '\''.
shquote() {
  local s=${1//\'/\'\\\'\'}
  printf "'%s'" "$s"
}
{
  echo "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
  echo "export HOME=/root USER=root LOGNAME=root TERM=dumb"
  for name in ${VM_ENV:-}; do
    [[ $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "VM_ENV: bad name '$name'"
    [[ -n ${!name+set} ]] || continue
    echo "export $name=$(shquote "${!name}")"
  done
  echo "cd $(shquote "$PWD") 2>/dev/null || {"
  # shellcheck disable=SC2028 # the \n is printf's, in the guest
  echo "  printf 'vm-run: %s is not in the VM; running in /\\n' $(shquote "$PWD") >&2"
  echo "  cd /"
  echo "}"
  printf 'exec'
  for arg in "$@"; do printf ' %s' "$(shquote "$arg")"; done
  echo
} >"$run/xfer/cmd"
: >"$run/xfer/stdout"
: >"$run/xfer/stderr"
: >"$run/console.log"

# shellcheck disable=SC2054 # QEMU's options are comma-separated
qemu=(
  qemu-system-x86_64 -nodefaults -no-user-config -display none -no-reboot
  -accel tcg,thread=multi -cpu max -m "$memory" -smp "$cpus"
  -kernel "$boot/vmlinux" -initrd "$boot/initramfs.cpio"
  -append "console=ttyS0 quiet loglevel=3 panic=-1 cgroup_no_v1=all mitigations=off cryptomgr.notests ${VM_APPEND:-}"
  -serial "file:$run/console.log"
  -fsdev "local,id=hostroot,path=/,security_model=passthrough,readonly=on,multidevs=remap"
  -device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot
  -fsdev "local,id=xfer,path=$run/xfer,security_model=none"
  -device virtio-9p-pci,fsdev=xfer,mount_tag=xfer
  -drive "file=$run/disk.img,format=raw,if=virtio"
)
timeout -k 10 "$timeout_s" "${qemu[@]}" >"$run/qemu.log" 2>&1 &
qemu_pid=$!
tail -q -c +1 -s 0.2 --pid="$qemu_pid" -f "$run/xfer/stdout" &
tail_pids+=($!)
tail -q -c +1 -s 0.2 --pid="$qemu_pid" -f "$run/xfer/stderr" >&2 &
tail_pids+=($!)
if [[ ${VM_CONSOLE:-0} == 1 ]]; then
  tail -q -c +1 -s 0.2 --pid="$qemu_pid" -f "$run/console.log" >&2 &
  tail_pids+=($!)
fi
qemu_rc=0
wait "$qemu_pid" || qemu_rc=$?
qemu_pid=
for p in "${tail_pids[@]}"; do wait "$p" || true; done
tail_pids=()

if [[ -s $run/xfer/status ]]; then
  status=$(<"$run/xfer/status")
  [[ $status =~ ^[0-9]+$ ]] || die "bad status '$status' from the VM"
  exit "$status"
fi
{
  if [[ $qemu_rc -eq 124 || $qemu_rc -eq 137 ]]; then
    echo "vm-run: the VM did not finish within VM_TIMEOUT=$timeout_s s; killed"
  elif [[ -e $run/xfer/boot-error ]]; then
    echo "vm-run: the VM failed to boot: $(<"$run/xfer/boot-error")"
  elif [[ -e $run/xfer/started ]]; then
    echo "vm-run: the VM stopped (QEMU exit $qemu_rc) while the command ran, without its status"
  else
    echo "vm-run: the VM failed to boot (QEMU exit $qemu_rc)"
  fi
  if [[ -s $run/qemu.log ]]; then
    echo "--- QEMU:"
    tail -n 20 "$run/qemu.log"
  fi
  echo "--- the guest's console (last 40 lines):"
  tail -n 40 "$run/console.log"
} >&2
[[ $qemu_rc -eq 124 || $qemu_rc -eq 137 ]] && exit 124
exit 125
