#!/bin/sh
# Sanitizers and fuzzing. Builds tests/fuzz/fuzz.ninja (clang, AddressSanitizer and
# UndefinedBehaviorSanitizer, libFuzzer instrumentation) into build/fuzz, then
#   sh tests/fuzz/run.sh             the suite's check: the unit tests and the golden
#                                    vectors (each instrumented ISA path) under the
#                                    sanitizers, and every harness for a short fixed
#                                    number of inputs from its seed corpus; one PASS or
#                                    FAIL line each, exit 1 on any FAIL
#   sh tests/fuzz/run.sh long N [HARNESS...]
#                                    N inputs per harness (default: all six), one at
#                                    a time; prints inputs, time and findings per harness
#   QKFUZZ_SECONDS=S sh tests/fuzz/run.sh long N [HARNESS...]
#                                    the same, but each harness stops after S seconds
#                                    if it has not reached N; the line then says how
#                                    many inputs it reached (a PASS only with 0 findings)
# Harnesses (tests/fuzz/fuzz_*.c, seeds in tests/fuzz/corpus/NAME/): vecfile (golden
# vector files), eig (eig/svd input), corpus (train's corpus text), checkpoint
# (train --resume files), options (the option parsers), runfile (collapse-train --from's
# run files). New inputs go to a scratch
# directory, never into the committed seeds; a finding is written as
# build/fuzz/crash-* and named in the FAIL line.
# Leak checking is off while fuzzing: the command-line tool's static buffers (600 MB)
# make every leak scan take seconds. The sanitized qktest keeps it, and so does the
# first qkspec verify run.
set -u
cd "$(dirname "$0")/../.." || exit 2
harnesses="vecfile eig corpus checkpoint options runfile"
fails=0
nice=""
ok() { echo "PASS $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT

if ! command -v clang > /dev/null 2>&1 || ! command -v ninja > /dev/null 2>&1; then
    if [ "${CI:-}" = "true" ]; then bad "fuzz: clang or ninja not installed"; exit 1; fi
    echo "SKIP fuzz: clang or ninja not installed (sh tools/install-deps.sh)"; exit 0
fi
if ! ninja -f tests/fuzz/fuzz.ninja all fuzzers > "$tmp/build.out" 2>&1; then
    bad "fuzz: sanitizer build (ninja -f tests/fuzz/fuzz.ninja; clang's runtime: libclang-rt-14-dev):"
    grep -E 'error|cannot find' "$tmp/build.out" | head -n 5
    exit 1
fi

# LeakSanitizer stops every sanitized program at exit where it cannot attach to the
# process (it needs ptrace, which qemu-user does not emulate: an arm64 userland run on
# an x86 machine); there the leak checks are said to be skipped, the rest still runs
if build/fuzz/qkspec help > "$tmp/lsan.out" 2>&1; then :
elif grep -q 'LeakSanitizer has encountered a fatal error' "$tmp/lsan.out"; then
    export ASAN_OPTIONS=detect_leaks=0
    echo "SKIP sanitizers: leak checks (LeakSanitizer cannot attach to a process on this host; ASan and UBSan still run)"
fi

# fuzz NAME RUNS [LIBFUZZER OPTIONS...]: RUNS inputs; 0 findings or the crash file
fuzz() {
    name=$1 runs=$2; shift 2
    mkdir -p "$tmp/new.$name"
    start=$(date +%s)
    ASAN_OPTIONS=detect_leaks=0 $nice build/fuzz/fuzz_$name -runs="$runs" -detect_leaks=0 -close_fd_mask=3 -timeout=60 \
        -artifact_prefix=build/fuzz/ "$@" "$tmp/new.$name" "tests/fuzz/corpus/$name" > "$tmp/fuzz.$name" 2>&1
    rc=$?
    secs=$(($(date +%s) - start))
    done_runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$tmp/fuzz.$name")
    if [ "$rc" -eq 0 ] && [ "$done_runs" = "$runs" ]; then
        ok "fuzz $name: $runs inputs, 0 findings ($secs s)"
    elif [ "$rc" -eq 0 ] && [ -n "${QKFUZZ_SECONDS:-}" ] && [ -n "$done_runs" ] && [ "$done_runs" -gt 0 ]; then
        ok "fuzz $name: $done_runs inputs (of $runs asked; stopped by the time limit of $QKFUZZ_SECONDS s), 0 findings ($secs s)"
    else
        bad "fuzz $name: exit $rc after ${done_runs:-?} of $runs inputs:"
        grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$tmp/fuzz.$name" | head -n 6
    fi
}

if [ "${1:-}" = "long" ]; then
    n=${2:?usage: sh tests/fuzz/run.sh long N [HARNESS...]}
    shift 2
    [ $# -gt 0 ] && harnesses=$*
    nice="nice -n 10" # the machine is shared: one harness at a time, at low priority
    limit=""
    [ -n "${QKFUZZ_SECONDS:-}" ] && limit="-max_total_time=$QKFUZZ_SECONDS"
    for h in $harnesses; do
        fuzz "$h" "$n" $limit
        grep -E '^#[0-9]+.*DONE' "$tmp/fuzz.$h" | tail -n 1
    done
    [ "$fails" -eq 0 ]
    exit
fi

# unit tests under the sanitizers (the statistical ones at 1/8 of their work)
if QKTEST_SCALE=8 build/fuzz/qktest > "$tmp/unit.out" 2>&1 && tail -n 1 "$tmp/unit.out" | grep -q ' 0 failed$'; then
    ok "sanitizers: unit tests clean under ASan+UBSan ($(tail -n 1 "$tmp/unit.out"))"
else bad "sanitizers: unit tests:"; grep -E '^FAIL|ERROR|runtime error|SUMMARY' "$tmp/unit.out" | head -n 8; fi
# the golden vectors on each instrumented kernel path (scalar, AVX2, NEON; the AVX-512
# kernels are not instrumented, tests/fuzz/ignorelist.txt). The leak check (a scan of
# the tool's 600 MB of static buffers, seconds of CPU) on the first path only: the
# reader and the command-line code are the same on every path.
paths=$(ASAN_OPTIONS=detect_leaks=0 build/fuzz/qkspec info 2>/dev/null | sed -n 's/^isa paths: *//p')
leaks=1
for isa in scalar avx2 neon; do
    case " $paths" in *" $isa(available)"*) ;; *) continue ;; esac
    if ASAN_OPTIONS=detect_leaks=$leaks build/fuzz/qkspec --isa "$isa" verify vectors > "$tmp/verify.out" 2>&1; then
        ok "sanitizers: qkspec --isa $isa verify vectors clean under ASan+UBSan$([ $leaks = 1 ] && echo ' and LeakSanitizer') ($(tail -n 1 "$tmp/verify.out" | sed 's/,.*//'))"
    else bad "sanitizers: qkspec --isa $isa verify vectors:"; grep -E 'ERROR|runtime error|SUMMARY|mismatch' "$tmp/verify.out" | head -n 6; fi
    leaks=0
done
[ "$leaks" = 0 ] || bad "sanitizers: no instrumented ISA path in qkspec info's '$paths'"

# every harness from its seeds, a fixed number of inputs (a few seconds each)
fuzz vecfile 6000
fuzz eig 10000
fuzz corpus 20000
fuzz checkpoint 8000
fuzz options 10000
fuzz runfile 20000
[ "$fails" -eq 0 ]
