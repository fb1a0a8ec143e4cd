#!/bin/sh
# Outputs a user can trust (README "Outputs you can trust"):
#   - standard output: a command whose printed text cannot be written (> /dev/full)
#     exits non-zero with a message;
#   - atomic, checked writes: under a file-size limit (RLIMIT_FSIZE, `ulimit -f`, so no
#     root and no tmpfs is needed) every command exits non-zero, names the file, and
#     leaves no partial file under the final name (a file it replaces keeps its old
#     content; train's CSVs, which grow in place, keep whole rows only);
#   - checkpoints: a run killed with SIGTERM, SIGINT or SIGKILL and resumed ends with
#     the parameter hash and the CSV bytes of the uninterrupted run; a checkpoint of
#     another configuration or with a damaged CRC is refused;
#   - sweep: a signal reaches every run, killing sweep leaves no orphan, the same
#     command resumes and gives the uninterrupted sweep's CSVs;
#   - reproduce: an interrupted run leaves the previous report untouched and its
#     progress in OUT.partial; the same command finishes it without stray files;
#   - sanitizers and fuzzing: tests/fuzz/run.sh (run alongside, its lines at the end).
#   sh tests/outputs_files.sh     PASS/FAIL lines; exit 1 on any FAIL (needs build/qkspec)
set -u
cd "$(dirname "$0")/.." || exit 2
Q=${QKSPEC:-$(pwd)/build/qkspec}
[ -x "$Q" ] || { echo "FAIL outputs: $Q must be built first"; exit 1; }
fails=0
ok() { echo "PASS outputs: $*"; }
bad() { echo "FAIL outputs: $*"; fails=$((fails + 1)); }
tmp=$(mktemp -d) || exit 2
fuzz_pid=""
trap '[ -n "$fuzz_pid" ] && kill $fuzz_pid 2> /dev/null; rm -rf "$tmp"' EXIT
export QKSPEC_CORPUS="$tmp/no-corpus" # the built-in corpus: the same runs on every machine
# the sanitizer build and the fuzzers take the other core meanwhile
sh tests/fuzz/run.sh > "$tmp/fuzz.out" 2>&1 &
fuzz_pid=$!

# no temporary left behind in DIR (the writer's ".NAME.tmp-PID-K")
no_temps() { ! ls -a "$1" 2> /dev/null | grep -q '\.tmp-'; }

# limited BLOCKS LOG CMD...: CMD under a file-size limit of BLOCKS × 512 bytes (sh's
# unit); its exit status, its stderr in LOG
limited() {
    blocks=$1 log=$2; shift 2
    (ulimit -f "$blocks" && exec "$@") > /dev/null 2> "$log"
}

# atomic NAME DIR FILE BLOCKS CMD...: CMD fails under the limit, names DIR/FILE, and
# DIR/FILE is absent (or, if it existed, unchanged), with no temporary left
atomic() {
    name=$1 dir=$2 file=$3 blocks=$4; shift 4
    before=""
    [ -f "$dir/$file" ] && before=$(cksum < "$dir/$file")
    limited "$blocks" "$tmp/$name.err" "$@"
    rc=$?
    after=""
    [ -f "$dir/$file" ] && after=$(cksum < "$dir/$file")
    if [ "$rc" -ne 0 ] && grep -qF "$dir/$file" "$tmp/$name.err" && [ "$before" = "$after" ] && no_temps "$dir"; then
        ok "$name: exit $rc, '$(head -n 1 "$tmp/$name.err")', no partial file${before:+, the old file kept}"
    else
        bad "$name: exit $rc, file ${after:+changed or partial}${after:-absent}, message: $(head -n 2 "$tmp/$name.err")"
        ls -a "$dir"
    fi
}

# ---------------------------------------------------------------- atomic writes
d=$tmp/sim; mkdir -p "$d"
atomic "simulate --out" "$d" sim_rho.csv 8 "$Q" simulate --d 16 --seq 10 --walks 20 --draws 2 --out "$d"
d=$tmp/dump
atomic "dump --out" "$d" logits.npy 8 "$Q" dump --preset small --out "$d"
d=$tmp/col; mkdir -p "$d"
atomic "collapse --csv" "$d" c.csv 8 "$Q" collapse --preset tiny --seqs 1 --csv "$d/c.csv" --svg "$d/c.svg"
atomic "collapse-sweep --csv" "$d" s.csv 1 "$Q" collapse-sweep --widths 16,32 --layers 4 --n 8 --seeds 1 --seqs 1 \
    --exp-seqs 2 --csv "$d/s.csv"
atomic "train --rank-csv" "$d" r.csv 1 "$Q" train --preset tiny --layers 2 --variant san+skip --steps 20 \
    --eval-every 1 --quiet --rank-csv "$d/r.csv"
printf 'old\n' > "$d/p.csv"
atomic "paths --csv over an existing file" "$d" p.csv 8 "$Q" paths --table-only --csv "$d/p.csv"
atomic "paths --svg" "$d" p.svg 16 "$Q" paths --table-only --svg "$d/p.svg"
d=$tmp/ck; mkdir -p "$d"
atomic "train --checkpoint" "$d" run.ckpt 8 "$Q" train --preset tiny --d 32 --heads 1 --dff 32 --steps 3 --quiet \
    --checkpoint "$d/run.ckpt"
atomic "sweep result files" "$d" .baseline.result 8 "$Q" sweep --jobs 1 --preset tiny --d 32 --heads 1 --dff 32 \
    --steps 3 --eval-every 100 --quiet --out "$d"

# standard output is output too: a failed write to it is an error, never exit 0
printf '2\n1 0\n0 1\n' > "$tmp/m.txt"
if [ -w /dev/full ]; then
    for c in "info" "eig $tmp/m.txt" "verify vectors/rng.qkv" "paths --table-only" "help"; do
        # shellcheck disable=SC2086
        "$Q" $c > /dev/full 2> "$tmp/full.err"
        rc=$?
        if [ "$rc" -ne 0 ] && grep -q 'error writing the standard output' "$tmp/full.err"; then
            ok "${c%% *} > /dev/full: exit $rc, '$(grep 'standard output' "$tmp/full.err")'"
        else bad "${c%% *} > /dev/full: exit $rc: $(head -n 2 "$tmp/full.err")"; fi
    done
else echo "SKIP outputs: standard output to a full device (no /dev/full)"; fi

# train's CSVs grow in place: whole rows, both files ending at the same evaluation
d=$tmp/csv
limited 4 "$tmp/csv.err" "$Q" train --preset tiny --steps 400 --eval-every 5 --quiet --out "$d"
rc=$?
fields=$(awk -F, '{print NF}' "$d/run_evals.csv" 2> /dev/null | sort -u | tr '\n' ' ')
last_e=$(tail -n 1 "$d/run_evals.csv" 2> /dev/null | cut -d, -f2)
last_r=$(tail -n 1 "$d/run_rho.csv" 2> /dev/null | cut -d, -f2)
if [ "$rc" -ne 0 ] && grep -qF "$d/run_" "$tmp/csv.err" && [ "$fields" = "13 " ] && [ -n "$last_e" ] &&
   [ "$last_e" = "$last_r" ] && [ "$(tail -c 1 "$d/run_rho.csv" | od -An -c | tr -d ' ')" = '\n' ]; then
    ok "train CSVs under a size limit: exit $rc, '$(head -n 1 "$tmp/csv.err")', whole rows up to step $last_e in both"
else bad "train CSVs under a size limit: exit $rc, fields '$fields', last steps '$last_e'/'$last_r': $(head -n 1 "$tmp/csv.err")"; fi

# reproduce: a failure leaves OUT as it was
d=$tmp/rep; mkdir -p "$d/old"
printf '<html>old report</html>\n' > "$d/old/index.html"
limited 8 "$tmp/rep.err" "$Q" reproduce --quick --steps 2 --out "$d/old"
rc=$?
if [ "$rc" -ne 0 ] && grep -qF "$d/old.partial/sim_rho.csv" "$tmp/rep.err" &&
   [ "$(ls -A "$d/old")" = "index.html" ] && grep -q "old report" "$d/old/index.html"; then
    ok "reproduce under a size limit: exit $rc, names $d/old.partial/sim_rho.csv, the old report untouched"
else bad "reproduce under a size limit: exit $rc: $(head -n 2 "$tmp/rep.err")"; ls -a "$d/old"; fi
rm -rf "$d/old.partial"
mkdir -p "$d/mine/sub"
if ! "$Q" reproduce --quick --steps 2 --out "$d/mine" > /dev/null 2> "$tmp/mine.err" && grep -q "not a qkspec report" "$tmp/mine.err" &&
   [ -d "$d/mine/sub" ]; then ok "reproduce refuses to replace a directory that is not a report"
else bad "reproduce over a directory that is not a report: $(head -n 2 "$tmp/mine.err")"; fi

# ---------------------------------------------------------------- checkpoints
# wait_for FILE PID: until FILE exists (or the process ended)
wait_for() {
    k=0
    while [ ! -e "$1" ] && kill -0 "$2" 2> /dev/null && [ $k -lt 600 ]; do sleep 0.1; k=$((k + 1)); done
}
hash_of() { sed -n 's/.*parameter hash \([0-9a-f]*\).*/\1/p' "$1"; }
# children_of PID: the processes whose parent is PID (field 4 of /proc/N/stat)
children_of() { cat /proc/[0-9]*/stat 2> /dev/null | awk -v p="$1" '$4 == p {printf "%s ", $1}'; }

A="--preset walk --sigma-reparam qk --steps 3000 --eval-every 100 --quiet"
"$Q" train $A --out "$tmp/full" --label w > "$tmp/full.out" 2>&1
full=$(hash_of "$tmp/full.out")
# resumed SIG ...: stop a checkpointing run with SIG once it has a checkpoint, resume it
resumed() {
    sig=$1
    d=$tmp/r$sig
    "$Q" train $A --out "$d" --label w --checkpoint "$d.ckpt" --checkpoint-every 37 > "$tmp/r$sig.1" 2>&1 &
    pid=$!
    wait_for "$d.ckpt" $pid
    sleep 0.3
    kill -"$sig" $pid 2> /dev/null
    { wait $pid; } 2> /dev/null # no "Killed" from the shell
    rc=$?
    rows=$(($(wc -l < "$d/w_evals.csv") - 1))
    "$Q" train $A --out "$d" --label w --resume "$d.ckpt" > "$tmp/r$sig.2" 2>&1
    got=$(hash_of "$tmp/r$sig.2")
    at=$(sed -n 's/.*resumed at step \([0-9]*\).*/\1/p' "$tmp/r$sig.2")
    if [ "$rc" -ne 0 ] && [ -n "$full" ] && [ "$got" = "$full" ] && [ -n "$at" ] &&
       cmp -s "$tmp/full/w_evals.csv" "$d/w_evals.csv" && cmp -s "$tmp/full/w_rho.csv" "$d/w_rho.csv"; then
        ok "train killed by SIG$sig (exit $rc, $rows CSV rows kept), resumed at step $at: parameter hash $got and CSVs equal the uninterrupted run's"
    else bad "train killed by SIG$sig (exit $rc), resumed at '$at': hash '$got', uninterrupted '$full'; $(tail -n 2 "$tmp/r$sig.2")"; fi
}
resumed TERM
resumed INT
resumed KILL
if ! "$Q" train $A --seed 2 --resume "$tmp/rTERM.ckpt" > /dev/null 2> "$tmp/cfg.err" &&
   grep -q "another configuration: the file has 'seed=1', this run 'seed=2'" "$tmp/cfg.err"; then
    ok "a checkpoint of another configuration is refused: $(cat "$tmp/cfg.err")"
else bad "resume with another seed: $(cat "$tmp/cfg.err")"; fi
cp "$tmp/rTERM.ckpt" "$tmp/damaged.ckpt"
size=$(wc -c < "$tmp/damaged.ckpt")
printf 'X' | dd of="$tmp/damaged.ckpt" bs=1 seek=$((size / 2)) conv=notrunc 2> /dev/null
if ! "$Q" train $A --resume "$tmp/damaged.ckpt" > /dev/null 2> "$tmp/crc.err" && grep -q "CRC-32 mismatch" "$tmp/crc.err"; then
    ok "a damaged checkpoint is refused: $(cat "$tmp/crc.err")"
else bad "resume from a damaged checkpoint: $(cat "$tmp/crc.err")"; fi

# ---------------------------------------------------------------- sweep
S="--preset tiny --steps 8000 --eval-every 1000 --quiet --jobs 2"
"$Q" sweep $S --out "$tmp/sw_full" > /dev/null 2>&1
# swept SIG: kill sweep with SIG once a run has finished; no run may outlive it; the
# same command then finishes with the uninterrupted CSVs
swept() {
    sig=$1 d=$tmp/sw_$1
    "$Q" sweep $S --out "$d" > "$tmp/sw_$sig.1" 2>&1 &
    pid=$!
    wait_for "$d/.baseline.result" $pid
    kids=$(children_of $pid)
    kill -"$sig" $pid 2> /dev/null
    { wait $pid; } 2> /dev/null # no "Killed" from the shell
    rc=$?
    k=0
    while [ $k -lt 100 ]; do
        alive=""
        for c in $kids; do kill -0 "$c" 2> /dev/null && alive="$alive $c"; done
        [ -z "$alive" ] && break
        sleep 0.1; k=$((k + 1))
    done
    [ -n "$alive" ] && kill -9 $alive 2> /dev/null
    "$Q" sweep $S --out "$d" > "$tmp/sw_$sig.2" 2>&1
    rc2=$?
    same=1
    for f in "$tmp"/sw_full/*.csv; do cmp -s "$f" "$d/$(basename "$f")" || same=0; done
    if [ "$rc" -ne 0 ] && [ -z "$alive" ] && [ -n "$kids" ] && [ "$rc2" -eq 0 ] && [ "$same" = 1 ]; then
        ok "sweep killed by SIG$sig (exit $rc): its runs ($kids) ended with it; the same command resumed, CSVs equal the uninterrupted sweep's"
    else bad "sweep killed by SIG$sig: exit $rc, runs '$kids' still alive '$alive', rerun exit $rc2, CSVs equal $same"; tail -n 3 "$tmp/sw_$sig.2"; fi
}
swept TERM
swept KILL

# ---------------------------------------------------------------- reproduce
d=$tmp/rep2
mkdir -p "$d/out"
printf '<html>old report</html>\n' > "$d/out/index.html"
"$Q" reproduce --quick --steps 40 --out "$d/out" > "$tmp/rep2.1" 2>&1 &
pid=$!
wait_for "$d/out.partial/.baseline.result" $pid
kill -TERM $pid 2> /dev/null
{ wait $pid; } 2> /dev/null
rc=$?
untouched=0
[ "$(ls -A "$d/out")" = "index.html" ] && grep -q "old report" "$d/out/index.html" && untouched=1
"$Q" reproduce --quick --steps 40 --out "$d/out" > "$tmp/rep2.2" 2>&1
rc2=$?
hidden=$(ls -A "$d/out" | grep '^\.' | grep -v '^\.qkspec-report$' | tr '\n' ' ')
if [ "$rc" -ne 0 ] && [ "$untouched" = 1 ] && [ "$rc2" -eq 0 ] && grep -q "finished earlier" "$tmp/rep2.2" &&
   [ -z "$hidden" ] && [ ! -e "$d/out.partial" ] && [ ! -e "$d/out.old" ] && [ -s "$d/out/sigma_reparam_evals.csv" ] &&
   grep -q "Eigenspectrum simulation" "$d/out/index.html"; then
    ok "reproduce interrupted (exit $rc): the old report untouched; the same command kept the finished runs and replaced it, no stray files"
else bad "reproduce interrupted: exit $rc, old report untouched $untouched, rerun exit $rc2, stray '$hidden'"; tail -n 3 "$tmp/rep2.2"; fi

# ---------------------------------------------------------------- sanitizers and fuzzing
wait $fuzz_pid
fuzz_rc=$?
fuzz_pid=""
cat "$tmp/fuzz.out"
fails=$((fails + $(grep -c '^FAIL' "$tmp/fuzz.out")))
[ "$fuzz_rc" -ne 0 ] && ! grep -q '^FAIL' "$tmp/fuzz.out" && bad "tests/fuzz/run.sh exited $fuzz_rc"
[ "$fails" -eq 0 ]
