#!/bin/sh
# User flags (SPEC §2.2): the sources built with a plain compiler command and flags the
# project's build files never use, as a lab's Makefile or a board's IDE would. Each
# configuration must end in one of three ways, never in silently different bits:
#   refused   the compile stops with qkspec's explanation (src/numerics/qk_fp.h);
#   exact     the self-test passes and every golden vector is bit-identical;
#   loud      the self-test names what is wrong and `verify` exits non-zero.
# The expected outcome of each configuration is stated below and checked.
#   sh tests/userflags.sh [FILTER]     prints PASS/FAIL lines (SKIP for a compiler or
#                                      emulator not installed, FAIL under CI=true); exit 1 on any FAIL
set -u
cd "$(dirname "$0")/.." || exit 2
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
filter=${1:-}
srcs=$(ls src/numerics/*.c src/model/*.c src/experiments/*.c src/io/*.c src/report/*.c src/cli/*.c)
# the count of cases the native build verifies (every vector file)
want=$(build/qkspec --isa scalar verify vectors 2>/dev/null | sed -n 's/^verify \[scalar\]: \([0-9]*\) cases.*/\1/p')
[ -n "$want" ] || { echo "FAIL userflags: build/qkspec must be built first"; exit 1; }
fails=0

# config NAME EXPECT RUNNER CC FLAGS...
config() {
    name=$1; expect=$2; run=$3; cc=$4; shift 4
    case "$name" in *"$filter"*) ;; *) return ;; esac
    d="$tmp/$name"; mkdir -p "$d"
    if ! command -v "$cc" > /dev/null 2>&1 || { [ -n "$run" ] && ! command -v "$run" > /dev/null 2>&1; }; then
        # CI must prove every configuration; elsewhere a missing tool is said, not failed
        if [ "${CI:-}" = true ]; then echo "FAIL userflags $name: $cc${run:+ or $run} not installed"; fails=$((fails + 1))
        else echo "SKIP userflags $name: $cc${run:+ or $run} not installed (sh tools/install-deps.sh)"; fi
        return
    fi
    if ! "$cc" "$@" -Iinclude -Isrc/numerics -D_POSIX_C_SOURCE=200809L $srcs -o "$d/qkspec" -lm > "$d/cc.out" 2>&1; then
        got=refused
        why=$(grep -o 'qkspec[^"]*' "$d/cc.out" | head -n 1)
        [ -n "$why" ] || got="build error: $(grep -m1 error "$d/cc.out")"
    else
        $run "$d/qkspec" verify vectors > "$d/v.out" 2> "$d/v.err"; rc=$?
        res=$(sed -n 's/^verify \[\([a-z0-9]*\)\]: \([0-9]*\) cases in [0-9]* files, \([0-9]*\) mismatching.*/\2 \3/p' "$d/v.out")
        set -- $res
        if grep -q "self-test:    ok" "$d/v.err"; then
            if [ "$rc" -eq 0 ] && [ "${1:-0}" = "$want" ] && [ "${2:-1}" = 0 ]; then got=exact
            else got="SILENT MISMATCH (self-test ok, verify exit $rc, $res)"; fi
        elif grep -q "self-test:    FAILED" "$d/v.err" && [ "$rc" -ne 0 ]; then
            got=loud; why=$(grep '^  - ' "$d/v.err" | cut -d: -f1 | tr -d ' -' | tr '\n' ' ')
            why="self-test: $why(vectors: ${2:-?} of ${1:-?} mismatching)"
        else got="unexpected (exit $rc)"; fi
    fi
    if [ "$got" = "$expect" ]; then
        case $got in
            exact) echo "PASS userflags $name: exact, $want/$want cases bit-identical, self-test ok" ;;
            *) echo "PASS userflags $name: $got — $why" ;;
        esac
    else
        echo "FAIL userflags $name: expected $expect, got $got"; tail -n 5 "$d/cc.out" "$d/v.err" 2>/dev/null | head -n 12
        fails=$((fails + 1))
    fi
}

# The AArch64 configurations: through the cross compiler and qemu-aarch64, or, on an
# AArch64 host, with its own gcc (Debian offers no aarch64-linux-gnu-gcc there) natively.
case $(uname -m) in
    aarch64) A64CC=gcc A64="" ;;
    *) A64CC=aarch64-linux-gnu-gcc A64="qemu-aarch64" ;;
esac
# -mfma is an x86 flag; elsewhere clang's configurations run without it (the FMA
# instructions are part of AArch64 and armv7 VFPv4 anyway)
case $(uname -m) in x86_64) FMA=-mfma ;; *) FMA= ;; esac
# clang for AArch64 spells "tune for this CPU" -mcpu=native (it refuses -march=native)
case $(uname -m) in aarch64) CLANG_NATIVE=-mcpu=native ;; *) CLANG_NATIVE=-march=native ;; esac
config gcc-gnu99-native         refused ""  gcc   -std=gnu99 -O2 -march=native
config gcc-default-O2           refused ""  gcc   -O2
config gcc-c99-native           exact   ""  gcc   -std=c99 -O2 -march=native
config gcc-gnu99-contract-off   exact   ""  gcc   -std=gnu99 -O2 -march=native -ffp-contract=off -DQK_FP_CONTRACT_OFF
config gcc-c99-contract-fast    loud    ""  gcc   -std=c99 -O2 -march=native -ffp-contract=fast
config gcc-unsafe-math          refused ""  gcc   -std=c99 -O2 -funsafe-math-optimizations
config gcc-fast-math            refused ""  gcc   -std=c99 -O2 -ffast-math
config clang-O2-fma             exact   ""  clang -O2 $FMA
config clang-O2-native          exact   ""  clang -O2 $CLANG_NATIVE
config clang-contract-fast      loud    ""  clang -O2 $FMA -ffp-contract=fast
config clang-unsafe-math        loud    ""  clang -O2 $FMA -funsafe-math-optimizations
config clang-fast-math          refused ""  clang -O2 -ffast-math
config aarch64-gcc-gnu99        refused ""  $A64CC -std=gnu99 -O2 -static
config aarch64-gcc-c99          exact   "$A64" $A64CC -std=c99 -O2 -static
config aarch64-clang-O2         exact   "$A64" clang --target=aarch64-linux-gnu -O2 -static
[ "$fails" -eq 0 ]
