#!/bin/sh
# Installs what the build, the test suite and the tools use, from Debian 12's packages,
# on whatever host this runs on (x86-64, arm64 such as a 64-bit Raspberry Pi OS, armhf,
# riscv64): compilers, the cross toolchains and emulators of SPEC §4 that Debian offers
# for this host, NumPy and PyTorch for the float64 independence checks, OpenBLAS for the
# speed comparisons, MPFR for the accuracy run. Needs root (or sudo).
#
# A package this host's archive does not offer (a cross compiler for the host's own
# architecture, PyTorch on some architectures) is reported and left out; `ninja test`
# then says which checks it cannot run.
set -eu
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

# The native build and the suite's core.
base="ninja-build gcc clang binutils python3 libmpfr-dev"
# Cross targets (targets/*.ninja), emulators, and the float64 checks.
extra="gcc-aarch64-linux-gnu libc6-dev-arm64-cross
       gcc-arm-linux-gnueabihf libc6-dev-armhf-cross
       gcc-riscv64-linux-gnu libc6-dev-riscv64-cross
       gcc-arm-none-eabi libnewlib-arm-none-eabi
       qemu-user qemu-system-arm
       python3-numpy python3-torch libopenblas0-pthread
       chromium libclang-rt-14-dev"

$SUDO apt-get update -q
offered=""
missing=""
for p in $extra; do
    # a package is offered when apt has an installation candidate for this host
    if apt-cache policy "$p" 2>/dev/null | grep -q 'Candidate: [0-9]'; then offered="$offered $p"
    else missing="$missing $p"; fi
done
# shellcheck disable=SC2086
$SUDO apt-get install -y -q $base $offered
echo "install-deps: host $(dpkg --print-architecture); installed:$offered"
if [ -n "$missing" ]; then
    echo "install-deps: not offered for this host (checks that need them are reported by ninja test):$missing"
fi
