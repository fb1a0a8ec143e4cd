#!/bin/sh
# arm64_userland.sh — the README's commands, unchanged, from a fresh clone, in a Debian 12
# arm64 userland (what a 64-bit Raspberry Pi OS user has), on an x86-64 machine through
# qemu-user-static and binfmt_misc (README, "Quick start").
#   sudo sh tools/arm64_userland.sh [ROOT] [OUT]
# ROOT (default /var/tmp/qkspec-arm64) is made with debootstrap when it does not exist
# (about 10 minutes); OUT (default /var/tmp/qkspec-arm64-runs) gets one directory per run
# with install.log, build-reproduce.log, test.log and SUMMARY.txt. It clones the
# committed HEAD of this repository, never its working tree. Under emulation a whole run
# takes hours on 2 cores. Needs: debootstrap qemu-user-static binfmt-support (apt).
set -u
R=${1:-/var/tmp/qkspec-arm64}
OUT=${2:-/var/tmp/qkspec-arm64-runs}
SRC=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" -eq 0 ] || { echo "arm64_userland.sh: run as root" >&2; exit 2; }
if [ ! -x "$R/bin/bash" ]; then
    [ -e /proc/sys/fs/binfmt_misc/register ] || mount binfmt_misc -t binfmt_misc /proc/sys/fs/binfmt_misc
    update-binfmts --enable qemu-aarch64
    debootstrap --arch=arm64 --include=git,ca-certificates,sudo bookworm "$R" http://deb.debian.org/debian || exit 2
    # a fresh Debian 12 (and Raspberry Pi OS) also has the updates and security suites
    printf 'deb http://deb.debian.org/debian bookworm main\ndeb http://deb.debian.org/debian bookworm-updates main\ndeb http://deb.debian.org/debian-security bookworm-security main\n' \
        > "$R/etc/apt/sources.list"
fi

# 1. binfmt and mounts
[ -e /proc/sys/fs/binfmt_misc/register ] || mount binfmt_misc -t binfmt_misc /proc/sys/fs/binfmt_misc
[ "$(head -n 1 /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null)" = enabled ] || update-binfmts --enable qemu-aarch64
grep -q '^flags:.*F' /proc/sys/fs/binfmt_misc/qemu-aarch64 ||
    { echo "rerun.sh: qemu-aarch64 is registered without the F flag" >&2; exit 2; }
mountpoint -q "$R/proc"    || mount -t proc proc "$R/proc"
mountpoint -q "$R/sys"     || mount -t sysfs sysfs "$R/sys"
mountpoint -q "$R/dev"     || mount --bind /dev "$R/dev"
mountpoint -q "$R/dev/pts" || mount --bind /dev/pts "$R/dev/pts"
mountpoint -q "$R/dev/shm" || mount --bind /dev/shm "$R/dev/shm"
cp /etc/resolv.conf "$R/etc/resolv.conf"
[ "$(chroot "$R" uname -m)" = aarch64 ] || { echo "rerun.sh: chroot does not run as aarch64" >&2; exit 2; }

# 2. fresh clone of the committed HEAD
commit=$(git -C "$SRC" rev-parse HEAD) || exit 2
short=$(echo "$commit" | cut -c1-7)
stamp=$(date -u +%Y%m%dT%H%M%SZ)
name="qkspec-$stamp-$short"
out="$OUT/$stamp-$short"
mkdir -p "$out"
git clone -q --no-hardlinks --bare "$SRC" "$R/root/mirror-$stamp.git" || exit 2
git -C "$R/root/mirror-$stamp.git" update-ref HEAD "$commit" 2>/dev/null || true
chroot "$R" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    git clone -q "/root/mirror-$stamp.git" "/root/$name" || exit 2
got=$(chroot "$R" git -C "/root/$name" rev-parse HEAD)
[ "$got" = "$commit" ] || { echo "rerun.sh: clone is at $got, expected $commit" >&2; exit 2; }
echo "commit $commit -> $R/root/$name, logs in $out"

# 3. the README's commands, in a clean environment (nothing such as CI leaks in)
step() { # step LOG CMD
    log=$1; shift
    t0=$(date +%s)
    chroot "$R" /usr/bin/env -i HOME=/root USER=root LOGNAME=root TERM=dumb LANG=C.UTF-8 \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        /bin/bash -c "cd /root/$name && time ( $1 )" > "$out/$log" 2>&1
    rc=$?
    t1=$(date +%s)
    printf '%-40s exit %d, wall %dm%02ds\n' "$1" "$rc" $(((t1 - t0) / 60)) $(((t1 - t0) % 60)) | tee -a "$out/SUMMARY.txt"
}
{ echo "commit: $commit"; echo "clone:  $R/root/$name"; echo "start:  $stamp"; } > "$out/SUMMARY.txt"
step install.log         'sh tools/install-deps.sh'
step build-reproduce.log 'ninja && ./build/qkspec reproduce --quick'
step test.log            'ninja test'

# 4. summary
{
    echo "install-deps: $(grep '^install-deps: not offered' "$out/install.log" || echo 'every package offered')"
    echo "ninja test:   $(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped' "$out/test.log" | tail -n 1)"
    echo "SKIP and FAIL lines:"
    grep -E '^(SKIP|FAIL)|^  \[.*\] FAIL' "$out/test.log" | sed 's/^/  /'
} | tee -a "$out/SUMMARY.txt"
