#!/bin/sh
# The whole test suite (`ninja test`). Ends with one line "N passed, N failed, N skipped".
#   native build (build/): unit tests, golden vectors on every ISA path this CPU has,
#     library hygiene (no allocation or I/O symbols), command-line errors, the float64
#     independence check (NumPy);
#   every targets/*.ninja: build, unit tests and golden vectors on each of its ISA
#     paths, run natively or under the emulator the file names.
# A target whose toolchain or emulator is missing is skipped, except under CI=true,
# where it fails: CI must prove every target.
set -u
cd "$(dirname "$0")/.." || exit 2
P=0 F=0 S=0
pass() { P=$((P + 1)); echo "PASS $*"; }
fail() { F=$((F + 1)); echo "FAIL $*"; }
skip() {
    if [ "${CI:-}" = "true" ]; then fail "$* (missing under CI=true)"; else S=$((S + 1)); echo "SKIP $*"; fi
}
# na: a check that does not apply to this host (an ISA path of another architecture);
# counted as skipped, also under CI=true.
na() { S=$((S + 1)); echo "SKIP $* (not applicable on this host)"; }
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT

# unit LABEL CMD...: a qktest run; its own tests count one each.
unit() {
    label=$1; shift
    uo="$tmp/unit.$label.out"
    "$@" > "$uo" 2>&1
    rc=$?
    grep -E '^(FAIL|    )' "$uo" | sed "s/^/  [$label] /"
    last=$(tail -n 1 "$uo")
    p=$(echo "$last" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
    f=$(echo "$last" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
    if [ -z "$p" ]; then fail "$label: unit tests did not finish (exit $rc)"; tail -n 5 "$uo"; return; fi
    P=$((P + p)); F=$((F + f))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then fail "$label: unit tests exited $rc"; fi
    echo "---- [$label] unit tests: $p ok, $f not ok"
}

# verify LABEL ISA CMD...: golden vectors bit for bit on one ISA path.
verify() {
    label=$1; isa=$2; shift 2
    vo="$tmp/verify.$label.$isa.out"
    if "$@" --isa "$isa" verify vectors > "$vo" 2>&1; then
        pass "$label: vectors bit-identical on $isa ($(tail -n 1 "$vo" | sed 's/.*: //'))"
    else
        fail "$label: vectors on $isa"; tail -n 8 "$vo"
    fi
}

# expect_error LABEL SUBSTRING CMD...: a non-zero exit whose message contains SUBSTRING.
expect_error() {
    label=$1; want=$2; shift 2
    "$@" > "$tmp/err.out" 2>&1
    rc=$?
    if [ "$rc" -ne 0 ] && grep -qF -- "$want" "$tmp/err.out"; then pass "cli: $label"
    else fail "cli: $label (exit $rc, wanted message '$want'):"; head -n 3 "$tmp/err.out"; fi
}

# ---------------------------------------------------------------- native
Q=build/qkspec
suite_t0=$(date +%s)
unit native-gcc-O2 build/qktest
# isa_check LABEL ISA CMD...: verify on ISA where this binary has it; not applicable
# where the ISA belongs to another architecture; skipped (failed under CI) where it is
# compiled in but this CPU lacks it.
isa_check() {
    label=$1; isa=$2; shift 2
    paths=$("$@" info 2>/dev/null | sed -n 's/^isa paths: *//p')
    case " $paths" in
        *" $isa(available)"*) verify "$label" "$isa" "$@" ;;
        *" $isa("*) skip "$label: ISA $isa not available on this CPU" ;;
        *) na "$label: ISA $isa is not part of this architecture" ;;
    esac
}
for isa in scalar avx2 avx512 neon; do isa_check native-gcc-O2 $isa $Q; done

# two threads, same bits (SPEC §2.8): the vectors with every piece of work split
# across 2 threads, and 20 training steps of paper-d32 with 1 and with 2 threads
if QKSPEC_SPLIT_ALL=1 $Q --threads 2 verify vectors > "$tmp/verify.threads2.out" 2>&1; then
    pass "native-gcc-O2: vectors bit-identical with 2 threads, all work split ($(tail -n 1 "$tmp/verify.threads2.out" | sed 's/.*: //'))"
else fail "native-gcc-O2: vectors with 2 threads"; tail -n 8 "$tmp/verify.threads2.out"; fi
th1=$($Q --threads 1 train --preset paper-d32 --steps 20 --eval-every 20 --quiet --out "$tmp/th1" 2>&1 | sed -n 's/.*parameter hash \([0-9a-f]*\).*/\1/p')
th2=$($Q --threads 2 train --preset paper-d32 --steps 20 --eval-every 20 --quiet --out "$tmp/th2" 2>&1 | sed -n 's/.*parameter hash \([0-9a-f]*\).*/\1/p')
if [ -n "$th1" ] && [ "$th1" = "$th2" ]; then pass "native-gcc-O2: paper-d32, 20 training steps: parameter hash $th1 with 1 and with 2 threads"
else fail "native-gcc-O2: training with 1 and 2 threads: parameter hashes '$th1' and '$th2'"; fi

# library hygiene: the core's undefined symbols are IEEE-exact libm operations and
# memory copies only (no allocation, no I/O, no transcendental from libm).
allowed='^(fma|fmaf|sqrt|sqrtf|memcpy|memset|memmove|strcmp|_GLOBAL_OFFSET_TABLE_|__stack_chk_fail)$'
nm --defined-only build/libqk.a 2>/dev/null | awk 'NF == 3 {print $3}' | sort -u > "$tmp/defined"
bad=$(nm -u build/libqk.a 2>/dev/null | awk 'NF >= 1 && $NF !~ /:$/ {print $NF}' | sort -u | comm -23 - "$tmp/defined" | grep -Ev "$allowed")
if [ -z "$bad" ] && nm build/libqk.a > /dev/null 2>&1; then pass "libqk.a uses no allocation, I/O or libm transcendentals"
else fail "libqk.a has undefined symbols outside the allowed set: $(echo $bad)"; fi

# command-line errors
printf 'qkspec-vectors 1\ncase t\nop sum\nin x f32 3\n3f800000 40000000\n' > "$tmp/trunc.qkv"
printf 'qkspec-vectors 1\ncase t\nop sum\nin x f32 2\n3f800000 nonsense\nend\n' > "$tmp/nonnum.qkv"
printf 'qkspec-vectors 1\ncase t\nop sum\nin x f32 2\n3f800000 40000000\nout s f32 2\n00000000 00000000\nend\n' > "$tmp/shape.qkv"
printf 'qkspec-vectors 1\ncase t\nop sum\nin x f32 100000 100000\nend\n' > "$tmp/big.qkv"
printf 'qkspec-vectors 1\ncase t\nop frobnicate\nin x f32 1\n3f800000\nend\n' > "$tmp/op.qkv"
printf 'qkspec-vectors 1\ncase t\nop sum\nin x f32 2\n3f800000 40000000\nout s f32 1\n40400001\nend\n' > "$tmp/wrong.qkv"
: > "$tmp/empty.qkv"
expect_error "missing file" "no such file" $Q verify "$tmp/none.qkv"
expect_error "empty file" "empty file" $Q verify "$tmp/empty.qkv"
expect_error "truncated file" "file ends after 2 of 3 values" $Q verify "$tmp/trunc.qkv"
expect_error "non-number" "'nonsense' is not 8 hex digits" $Q verify "$tmp/nonnum.qkv"
expect_error "wrong shape" "tensor 's' dimension 0 is 2, expected 1" $Q verify "$tmp/shape.qkv"
expect_error "size above capacity" "does not fit in the reader's memory" $Q verify "$tmp/big.qkv"
expect_error "unknown op" "unknown op 'frobnicate'" $Q verify "$tmp/op.qkv"
expect_error "wrong value" "got 40400000 (3) expected 40400001" $Q verify "$tmp/wrong.qkv"
mkdir "$tmp/emptydir"
expect_error "directory without vectors" "no .qkv files" $Q verify "$tmp/emptydir"
expect_error "unknown ISA" "unknown (expected scalar, avx2, avx512 or neon)" $Q --isa sse9 info
expect_error "bad thread count" "--threads: '0' is not an integer in [1, 256]" $Q --threads 0 info
expect_error "unknown command" "unknown command 'frob'" $Q frob
expect_error "no command" "usage:" $Q

# the experiments' commands: bad input, and a short end-to-end reproduce
printf 'hello world' > "$tmp/short.txt"
expect_error "simulate: zero walks" "--walks: '0' is not an integer in [1, 100000]" $Q simulate --walks 0
expect_error "simulate: NaN in a list" "--means: 'nan' is not a finite number" $Q simulate --means 0,nan
expect_error "train: negative steps" "--steps: '-5' is not an integer" $Q train --steps -5
expect_error "train: NaN learning rate" "--lr: 'nan' is not a finite number" $Q train --lr nan
expect_error "train: missing corpus" "cannot read $tmp/none.txt" $Q train --text "$tmp/none.txt"
expect_error "train: corpus too short" "too short for sequences of 64 tokens" $Q train --text "$tmp/short.txt"
expect_error "train: heads do not divide d" "d must be divisible by heads" $Q train --heads 3 --steps 1
expect_error "train: above capacity" "--seq: '100000' is not an integer" $Q train --seq 100000
expect_error "sweep: zero jobs" "--jobs: '0' is not an integer" $Q sweep --jobs 0
expect_error "dump: no output directory" "--out DIR is required" $Q dump --preset tiny
expect_error "dump: unknown preset" "unknown preset 'huge'" $Q dump --preset huge --out "$tmp/d"
# --out names a previous report, with the subdirectory collapse-train's runs make: it is
# replaced (a stale file in that subdirectory is gone); a directory with a subdirectory
# no report makes is refused before any work
mkdir -p "$tmp/rep/collapse_train" "$tmp/notrep/data"
touch "$tmp/rep/.qkspec-report" "$tmp/rep/index.html" "$tmp/rep/collapse_train/stale.csv" "$tmp/notrep/index.html"
expect_error "reproduce: --out with a foreign subdirectory" "subdirectories a report does not make" \
    $Q reproduce --quick --out "$tmp/notrep"
expect_error "reproduce: --runs with an empty item" "expected 1 to 4 sweep directories" $Q reproduce --runs a,,b
expect_error "reproduce: --runs with five items" "expected 1 to 4 sweep directories" $Q reproduce --runs a,b,c,d,e
expect_error "reproduce: appendix directories in quick mode" "--quick has no appendix sweeps" $Q reproduce --quick --runs a,b
expect_error "reproduce: --runs without the runs, before any work" "--runs $tmp/none: no finished run baseline of 800 steps" \
    $Q reproduce --quick --runs "$tmp/none" --out "$tmp/rep_none"
[ ! -e "$tmp/rep_none.partial" ] && pass "reproduce: a bad --runs leaves no report behind" ||
    fail "reproduce: a bad --runs left $tmp/rep_none.partial"
if $Q reproduce --quick --steps 20 --out "$tmp/rep" > "$tmp/rep.out" 2>&1 &&
   grep -q "Eigenspectrum simulation" "$tmp/rep/index.html" && grep -q "qualitative claims" "$tmp/rep/index.html" &&
   grep -q "<h3>Trained networks</h3>" "$tmp/rep/index.html" && [ -s "$tmp/rep/collapse_train.csv" ] &&
   [ -s "$tmp/rep/baseline_evals.csv" ] && [ -s "$tmp/rep/sim_rho.csv" ] &&
   [ ! -e "$tmp/rep/collapse_train/stale.csv" ] && [ -d "$tmp/notrep/data" ]; then
    pass "reproduce --quick --steps 20: report with simulation, sweep and CSVs, replacing the previous report"
else fail "reproduce smoke run:"; tail -n 10 "$tmp/rep.out"; fi

# the benchmark's profile of two threads runs, and its regions add up: in every phase the
# longer of the two workers' shares lies between half the time inside regions and all of it
if build/bench_train --regions --presets paper-d32 --rounds 1 --min-s 0 > "$tmp/regions.out" 2>&1 &&
   awk -F'|' '/forward|backward|AdamW/ { n++; split($2, w, " "); if (w[3] > w[2] + 0.01 || w[3] < w[2] / 2 - 0.01) bad++ }
        END { exit !(n == 3 && !bad) }' "$tmp/regions.out" &&
   grep -q "bound with free fork/join" "$tmp/regions.out"; then
    pass "bench_train --regions: the split step's profile, each phase's shares within its regions"
else fail "bench_train --regions:"; tail -n 8 "$tmp/regions.out"; fi

# collapse-train (SPEC §1.4, trained r_l): several trainings in one process give the
# bits of the same training run alone by `train`; the summary's seed mean, min and max
# equal those computed from the run files by awk; --from DIR summarises the same runs
# to the same CSV; bad input is an error
ct="$tmp/ct"
if QKSPEC_CORPUS="$tmp/none.txt" $Q collapse-train --out "$ct" --layers 2 --variants san,transformer --seeds 2 --d 16 \
       --seq 16 --batch 4 --steps 20 --eval-every 10 --csv "$ct/sum.csv" > "$tmp/ct.out" 2>&1 &&
   $Q train --d 16 --heads 1 --dff 64 --layers 2 --seq 16 --batch 4 --lr 1e-3 --ln post --act gelu --init bert \
       --variant transformer --seed 2 --steps 20 --eval-every 10 --label alone --rank-csv "$tmp/ct_alone.csv" --quiet > /dev/null 2>&1 &&
   [ "$(sed 1d "$tmp/ct_alone.csv" | cut -d, -f2-)" = "$(sed 1d "$ct/L2_transformer_s2.csv" | cut -d, -f2-)" ]; then
    pass "collapse-train: the 4th training of one process equals the same run of train alone ($(grep -c . "$tmp/ct_alone.csv") rows)"
else fail "collapse-train: runs in one process differ from train alone:"; tail -n 5 "$tmp/ct.out"; fi
want=$(for s in 1 2; do awk -F, '$2 == 20 && $3 == 2 {print $4}' "$ct/L2_san_s$s.csv"; done |
       awk '{s += $1; if (NR == 1 || $1 < lo) lo = $1; if (NR == 1 || $1 > hi) hi = $1} END {printf "%.9g,%.9g,%.9g,%d", s / NR, lo, hi, NR}')
got=$(awk -F, '$1 == "san" && $2 == 2 && $3 == 20 && $4 == 2 {print $5 "," $6 "," $7 "," $8}' "$ct/sum.csv")
if [ -n "$got" ] && [ "$got" = "$want" ]; then pass "collapse-train: san, L 2, step 20: r_2 mean,min,max,seeds $got as awk computes them from the runs"
else fail "collapse-train: summary '$got', from the run files '$want'"; fi
if $Q collapse-train --from "$ct" --layers 2 --variants san,transformer --seeds 2 --csv "$ct/from.csv" > /dev/null 2>&1 &&
   cmp -s "$ct/sum.csv" "$ct/from.csv"; then pass "collapse-train --from: the same summary CSV from the run files"
else fail "collapse-train --from: a different summary"; fi
sed '4s/,0,2,/,0,x,/' "$ct/L2_san_s1.csv" > "$tmp/ctbad.csv"; mkdir -p "$tmp/ctbad"
cp "$tmp/ctbad.csv" "$tmp/ctbad/L2_san_s1.csv"
expect_error "collapse-train: damaged run file" "L2_san_s1.csv: line 4: not a rank CSV" $Q collapse-train --from "$tmp/ctbad" --layers 2 --variants san
expect_error "collapse-train: no run files" "no run files" $Q collapse-train --from "$tmp/emptydir"
expect_error "collapse-train: bad depth list" "--layers: a list like 2,4,6" $Q collapse-train --out "$tmp/x" --layers 2,0
expect_error "collapse-train: unknown variant" "--variants: 'all' or a list" $Q collapse-train --out "$tmp/x" --variants san,frob
expect_error "collapse-train: --out or --from" "exactly one of --out DIR" $Q collapse-train

# accuracy of expf/logf/tanhf against MPFR, every 61st input (the full 2^32 run is
# `build/ulp_exhaustive --func all`, README), and AVX2 vexpf against scalar
if build/ulp_exhaustive --func all --stride 61 > "$tmp/ulp.out" 2>&1; then
    pass "accuracy against MPFR (every 61st float): $(grep -E '^  (expf|logf|tanhf): ' "$tmp/ulp.out" | sed 's/^  \([a-z]*\): .*max error \([0-9.]*\) ulp.*, \([0-9]*\) not correctly rounded.*/\1 \2 ulp, \3 misrounded/' | tr '\n' ';')"
else fail "accuracy run:"; tail -n 8 "$tmp/ulp.out"; fi

# eig / svd input errors (issue 3)
printf '2\n1 2\n3 4\n' > "$tmp/nonsym.txt"
printf '2\n1 0\n0 nan\n' > "$tmp/nan.txt"
printf '2\n1 0\n0\n' > "$tmp/missing.txt"
printf '2\n1 0\n0 1 5\n' > "$tmp/extra.txt"
printf '3\n2 -1 0\n-1 2 -1\n0 -1 2\n' > "$tmp/tridiag.txt"
expect_error "eig: not symmetric" "not symmetric" $Q eig "$tmp/nonsym.txt"
printf '5000\n' > "$tmp/big.txt"
expect_error "eig: NaN" "'nan' is not finite" $Q eig "$tmp/nan.txt"
expect_error "eig: missing numbers" "input ends after 3 of the n*n = 4 numbers" $Q eig "$tmp/missing.txt"
expect_error "svd: extra numbers" "extra input '5' after the n*n = 4 numbers" $Q svd "$tmp/extra.txt"
expect_error "eig: empty input" "empty input: expected the dimension n" $Q eig /dev/null
expect_error "eig: n above capacity" "n = 5000 is out of range [1, 1024]" $Q eig "$tmp/big.txt"
# eigenvalues of tridiag(-1, 2, -1), n = 3: 2 - sqrt 2, 2, 2 + sqrt 2, within 4n·eps·‖A‖ = 9.1e-15
if $Q eig "$tmp/tridiag.txt" | awk 'BEGIN{s=sqrt(2); split("",w)} {w[NR]=$1} END{e=0; x[1]=2-s; x[2]=2; x[3]=2+s;
     for(i=1;i<=3;i++){d=w[i]-x[i]; if(d<0)d=-d; if(d>e)e=d}; exit !(NR==3 && e<9.1e-15)}'; then
    pass "cli: eig of tridiag(-1, 2, -1) matches 2 - sqrt 2, 2, 2 + sqrt 2"
else fail "cli: eig of tridiag(-1, 2, -1)"; fi

# PyTorch float64 rebuild of the model from `qkspec dump`, 47 configurations (issue 4)
if /usr/bin/python3 -c 'import torch' > /dev/null 2>&1; then
    if /usr/bin/python3 tools/check_model_torch.py --all > "$tmp/torch.out" 2>&1; then
        pass "model gradients against PyTorch float64: $(tail -n 1 "$tmp/torch.out")"
    else fail "model gradients against PyTorch float64:"; tail -n 15 "$tmp/torch.out"; fi
else skip "model gradients against PyTorch (python3-torch not installed)"; fi

# float64 independence check (SPEC §3)
if /usr/bin/python3 -c 'import numpy' > /dev/null 2>&1; then
    if /usr/bin/python3 tools/check_vectors.py vectors > "$tmp/check.out" 2>&1; then
        pass "independence check: $(tail -n 1 "$tmp/check.out")"
    else fail "independence check:"; tail -n 15 "$tmp/check.out"; fi
    # the checker can fail: every op's outputs, corrupted one at a time, are caught
    if /usr/bin/python3 tools/check_vectors.py --selftest > "$tmp/selftest.out" 2>&1; then
        pass "independence check catches corrupted outputs ($(grep -c 'caught:' "$tmp/selftest.out") corruptions)"
    else fail "independence check self-test:"; grep -E "WRONG|FAILED" "$tmp/selftest.out" | head -n 10; fi
else skip "independence check (python3-numpy not installed)"; fi

# the self-test's known answers are the golden vectors' (regenerated, must be unchanged)
if /usr/bin/python3 tools/gen_selftest_data.py vectors > "$tmp/selftest_data.h" 2> "$tmp/selftest_data.err" &&
   cmp -s "$tmp/selftest_data.h" src/numerics/qk_selftest_data.h; then
    pass "self-test known answers equal the golden vectors (src/numerics/qk_selftest_data.h)"
else fail "src/numerics/qk_selftest_data.h differs from tools/gen_selftest_data.py vectors:"; head -n 3 "$tmp/selftest_data.err"; fi

# The checks below are independent jobs, run two at a time (2 cores), longest first;
# each writes its output to $tmp/log.NAME and its counts to $tmp/counts.NAME, and the
# outputs are printed in a fixed order at the end.
echo "---- [native] $(($(date +%s) - suite_t0)) s"

# script_job LABEL CMD...: a check script that prints PASS/FAIL/SKIP lines; each counts.
script_job() {
    label=$1; shift
    P=0 F=0 S=0
    t0=$(date +%s)
    "$@" > "$tmp/script.$label.out" 2>&1
    rc=$?
    cat "$tmp/script.$label.out"
    P=$(grep -c '^PASS' "$tmp/script.$label.out"); F=$(grep -c '^FAIL' "$tmp/script.$label.out")
    S=$(grep -c '^SKIP' "$tmp/script.$label.out")
    if [ "$rc" -ne 0 ] && [ "$F" -eq 0 ]; then fail "$label: exited $rc"; fi
    echo "---- [$label] $(($(date +%s) - t0)) s"
    echo "$P $F $S" > "$tmp/counts.$label"
}

# ---------------------------------------------------------------- other targets
# One target: build, unit tests and vectors on each ISA path; its counts go to a file
# so that two targets can run at once (2 cores), output printed in order afterwards.
# The parameter hash of 20 training steps of the tiny preset (qk_train.h's board
# example), as the native unit test printed it on the scalar path.
native_hash() { sed -n 's/^model_train_tiny_board_hash: .*isa scalar: parameter hash \([0-9a-f]*\)$/\1/p' "$tmp/unit.native-gcc-O2.out"; }
# hash_check NAME: a cross target's unit-test hash equals the native one
hash_check() {
    got=$(sed -n 's/^model_train_tiny_board_hash: .*isa scalar: parameter hash \([0-9a-f]*\)$/\1/p' "$tmp/unit.$1.out")
    if [ -n "$got" ] && [ "$got" = "$(native_hash)" ]; then pass "$1: 20 training steps of tiny give the native parameter hash $got"
    else fail "$1: training hash '$got' differs from the native '$(native_hash)'"; fi
}

# A bare-metal board (# qk-board: MACHINE CPU): the program under qemu-system-arm with
# semihosting; verify every vector file, then train the tiny preset and compare the
# parameter hash with the host's.
board_run() {
    machine=$1 cpu=$2 elf=$3; shift 3
    args=""
    for a in "$@"; do args="$args,arg=$a"; done
    timeout 1800 qemu-system-arm -M "$machine" -cpu "$cpu" -nographic -monitor none -serial none \
        -semihosting-config "enable=on,target=native,arg=qkspec$args" -kernel "$elf"
}
# stack_check NAME WHAT FILE: the high-water mark the board program printed is within
# the budget the README states for a board (QK_BOARD_STACK_BUDGET bytes)
QK_BOARD_STACK_BUDGET=10240
stack_check() {
    hw=$(sed -n 's/.*stack high-water \([0-9]*\).*/\1/p' "$3" | tail -n 1)
    if [ -n "$hw" ] && [ "$hw" -le $QK_BOARD_STACK_BUDGET ]; then pass "$1: $2 stack high-water $hw bytes (budget $QK_BOARD_STACK_BUDGET)"
    else fail "$1: $2 stack high-water '$hw' bytes exceeds the budget of $QK_BOARD_STACK_BUDGET"; fi
}
board_checks() {
    name=$1 machine=$2 cpu=$3
    elf=build/$name/qkspec.elf
    if board_run "$machine" "$cpu" "$elf" verify vectors > "$tmp/board.$name.out" 2>&1; then
        pass "$name: vectors bit-identical on $machine ($(grep '^verify' "$tmp/board.$name.out" | sed 's/.*: //'); $(tail -n 1 "$tmp/board.$name.out"))"
    else fail "$name: vectors on $machine:"; grep -v '^vectors/' "$tmp/board.$name.out" | head -n 12; fi
    stack_check "$name" verify "$tmp/board.$name.out"
    host=$(native_hash)
    if board_run "$machine" "$cpu" "$elf" train > "$tmp/train.$name.out" 2>&1 &&
       got=$(sed -n 's/.*parameter hash \([0-9a-f]*\).*/\1/p' "$tmp/train.$name.out") && [ -n "$host" ] && [ "$got" = "$host" ]; then
        pass "$name: tiny preset, 20 training steps: parameter hash $got equals the host's ($(tail -n 1 "$tmp/train.$name.out"))"
    else fail "$name: training on $machine (host hash '$host'):"; head -n 5 "$tmp/train.$name.out"; fi
    stack_check "$name" "20 training steps," "$tmp/train.$name.out"
}

run_target() {
    t=$1; name=$2
    P=0 F=0 S=0
    t0=$(date +%s)
    needs=$(sed -n 's/^# qk-needs: *//p' "$t")
    run=$(sed -n 's/^# qk-run: *//p' "$t")
    isas=$(sed -n 's/^# qk-isas: *//p' "$t")
    board=$(sed -n 's/^# qk-board: *//p' "$t")
    missing=""
    for tool in $needs; do command -v "$tool" > /dev/null 2>&1 || missing="$missing $tool"; done
    if [ -n "$missing" ]; then skip "$name: not installed:$missing"
    elif ! ninja -f "$t" all > "$tmp/build.$name.out" 2>&1; then fail "$name: build"; tail -n 20 "$tmp/build.$name.out"
    else
        pass "$name: build"
        b=build/$name
        if [ -n "$board" ]; then board_checks "$name" $board
        elif [ -n "$run" ]; then unit "$name" env QKTEST_SCALE=16 $run $b/qktest; hash_check "$name"
        else unit "$name" $b/qktest; hash_check "$name"; fi
        [ -n "$board" ] || for isa in $isas; do isa_check "$name" "$isa" $run $b/qkspec; done
    fi
    echo "---- [$name] $(($(date +%s) - t0)) s"
    echo "$P $F $S" > "$tmp/counts.$name"
}

# job NAME CMD...: start CMD in the background once fewer than 2 jobs run
names="" started=0
job() {
    name=$1; shift
    while [ $((started - $(ls "$tmp" | grep -c '^done\.'))) -ge 2 ]; do sleep 1; done
    names="$names $name"
    started=$((started + 1))
    { "$@" > "$tmp/log.$name" 2>&1; times > "$tmp/times.$name"; touch "$tmp/done.$name"; } &
}
target() { job "$1" run_target "targets/$1.ninja" "$1"; }

# the longest jobs first (a target marked "# qk-long:", then the bare-metal boards,
# then the script checks): the last job to start is then a short one
for t in targets/*.ninja; do
    n=$(basename "$t" .ninja)
    grep -q '^# qk-long:' "$t" && target "$n"
done
for t in targets/*.ninja; do
    n=$(basename "$t" .ninja)
    grep -q '^# qk-long:' "$t" || ! grep -q '^# qk-board:' "$t" || target "$n"
done
# the sources under a user's own compiler flags (SPEC §2.2): refused, exact or loud
job userflags script_job userflags sh tests/userflags.sh
# the single-file drop-in, natively and through the cross compilers
job single-file script_job single-file sh tests/single.sh
# complete files, checkpoints, signals and fuzzed readers; the report in a browser
job outputs-files script_job outputs-files sh tests/outputs_files.sh
job outputs-report script_job outputs-report sh tests/outputs_report.sh
for t in targets/*.ninja; do
    n=$(basename "$t" .ninja)
    grep -q '^# qk-long:' "$t" || grep -q '^# qk-board:' "$t" || target "$n"
done
wait
for name in $names; do
    cat "$tmp/log.$name"
    echo "---- [$name] CPU time (user, system): $(tail -n 1 "$tmp/times.$name" 2> /dev/null)"
    if [ -s "$tmp/counts.$name" ]; then
        read -r p f s < "$tmp/counts.$name"
        P=$((P + p)); F=$((F + f)); S=$((S + s))
    else fail "$name: the checks did not complete"; fi
done
times > "$tmp/times"
echo "---- [suite] $(($(date +%s) - suite_t0)) s wall-clock; CPU time of its processes (user, system): $(tail -n 1 "$tmp/times")"

echo "$P passed, $F failed, $S skipped"
[ "$F" -eq 0 ]
