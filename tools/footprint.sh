#!/bin/sh
# Flash and RAM of each library and of the board program on the bare-metal targets, and
# the stack high-water marks of `verify` and of 20 training steps of the tiny preset,
# measured under qemu-system-arm (README, "Bare-metal Cortex-M").
#   sh tools/footprint.sh            builds the three board targets, prints a table
set -eu
cd "$(dirname "$0")/.."
printf '| target | library | flash (text + rodata + data) | static RAM (data + bss) |\n|---|---|--:|--:|\n'
for t in cortex-m3 cortex-m4 cortex-m7; do
    ninja -f targets/$t.ninja > /dev/null
    for l in libqk libqkmodel libqkexp libqkio; do
        arm-none-eabi-size -t build/$t/$l.a | tail -n 1 |
            awk -v t=$t -v l=$l '{printf "| %s | %s.a | %d | %d |\n", t, l, $1 + $2, $2 + $3}'
    done
    arm-none-eabi-size -A build/$t/qkspec.elf | awk -v t=$t '
        $1 == ".bigram" {big = $2} $1 == ".data" {data = $2} $1 == ".bss" {bss = $2}
        $1 == ".vectors" || $1 == ".text" || $1 == ".ARM.exidx" || $1 == ".init_array" || $1 == ".fini_array" {flash += $2}
        END {printf "| %s | qkspec.elf (program, newlib, semihosting) | %d | %d (+ %d reader buffer in PSRAM) |\n", t, flash + data, data + bss, big}'
done
printf '\n| target | machine | verify: cases, stack high-water | train tiny 20 steps: hash, stack high-water | verify time (s) |\n|---|---|---|---|--:|\n'
for tm in cortex-m3:mps2-an385 cortex-m4:mps2-an386 cortex-m7:mps2-an500; do
    t=${tm%%:*} m=${tm#*:}
    run() { timeout 1800 qemu-system-arm -M "$m" -cpu "${t}" -nographic -monitor none -serial none \
        -semihosting-config "enable=on,target=native,arg=qkspec$1" -kernel "build/$t/qkspec.elf"; }
    s0=$(date +%s.%N)
    v=$(run ",arg=verify,arg=vectors" 2>&1 || true)
    s1=$(date +%s.%N)
    tr=$(run ",arg=train" 2>&1 || true)
    cases=$(echo "$v" | sed -n 's/^verify \[[a-z]*\]: \([0-9]*\) cases in [0-9]* files, \([0-9]*\) mismatching.*/\1 cases, \2 mismatching/p')
    vst=$(echo "$v" | sed -n 's/.*stack high-water \([0-9]*\) of.*/\1 B/p')
    hash=$(echo "$tr" | sed -n 's/.*parameter hash \([0-9a-f]*\).*/\1/p')
    tst=$(echo "$tr" | sed -n 's/^training stack high-water \([0-9]*\) bytes.*/\1 B/p')
    printf '| %s | %s | %s, %s | %s, %s | %.1f |\n' "$t" "$m" "$cases" "$vst" "$hash" "$tst" "$(awk -v a="$s0" -v b="$s1" 'BEGIN { print b - a }')"
done
