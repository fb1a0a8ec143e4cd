#!/bin/sh
# Installs everything the build, the test suite and the tools use, from Debian 12's
# packages: compilers, cross toolchains and emulators for every target of SPEC §4,
# NumPy and PyTorch for the float64 independence checks, OpenBLAS for fair speed
# comparisons, MPFR for the exhaustive accuracy run. Needs root (or sudo).
set -eu
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q \
    ninja-build gcc clang binutils \
    gcc-aarch64-linux-gnu libc6-dev-arm64-cross \
    gcc-arm-linux-gnueabihf libc6-dev-armhf-cross \
    gcc-riscv64-linux-gnu libc6-dev-riscv64-cross \
    qemu-user \
    python3-numpy python3-torch libopenblas0-pthread libmpfr-dev
