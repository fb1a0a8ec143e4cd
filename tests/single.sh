#!/bin/sh
# The single-file drop-in (tools/amalgamate.py): qkspec.c + qkspec.h compiled with a
# plain `cc -std=c99 -O2 -ffp-contract=off` (no include path, no project define), and
# with each cross compiler; the command-line tool's reader and verifier are linked
# against that object and every golden vector is verified through it (natively, and
# under qemu-user for the Linux cross compilers), on each ISA path the binary has.
# The Cortex-M compile is checked for warnings and for the absence of I/O symbols.
#   sh tests/single.sh       prints PASS/FAIL lines; exit 1 on any FAIL
set -u
cd "$(dirname "$0")/.." || exit 2
out=build/single
fails=0
ok() { echo "PASS single-file $*"; }
bad() { echo "FAIL single-file $*"; fails=$((fails + 1)); }
if ! python3 tools/amalgamate.py "$out" > "$out.log" 2>&1; then bad "generate: $(tail -n 1 "$out.log")"; exit 1; fi
want=$(build/qkspec --isa scalar verify vectors 2>/dev/null | sed -n 's/^verify \[scalar\]: \([0-9]*\) cases.*/\1/p')
cli_srcs=$(ls src/io/*.c src/report/*.c src/cli/*.c)
plain="-std=c99 -O2 -ffp-contract=off"

# single CC RUN ISAS [LDFLAGS]: compile qkspec.c alone, link the CLI to it, verify
single() {
    cc=$1; run=$2; isas=$3; ld=${4:-}
    d=$out/$cc; mkdir -p "$d"
    command -v "$cc" > /dev/null 2>&1 || { bad "$cc: not installed"; return; }
    if ! (cd "$out" && $cc $plain -Wall -Wextra -Wno-unused-parameter -c qkspec.c -o "$cc/qkspec.o") > "$d/cc.out" 2>&1 ||
       [ -s "$d/cc.out" ]; then bad "$cc: qkspec.c does not compile cleanly:"; head -n 5 "$d/cc.out"; return; fi
    if ! $cc $plain -D_POSIX_C_SOURCE=200809L -Iinclude -Isrc/numerics $cli_srcs "$d/qkspec.o" $ld -lm -o "$d/qkspec" \
        > "$d/ld.out" 2>&1; then bad "$cc: link:"; head -n 5 "$d/ld.out"; return; fi
    for isa in $isas; do
        if $run "$d/qkspec" --isa "$isa" verify vectors > "$d/v.$isa" 2>&1; then
            ok "$cc: $(sed -n 's/^verify \[\([a-z0-9]*\)\]: \([0-9]*\) cases.*/\2 cases bit-identical on \1/p' "$d/v.$isa") (of $want)"
        else bad "$cc on $isa:"; tail -n 3 "$d/v.$isa"; fi
    done
}
native_isas=$(build/qkspec info | sed -n 's/^isa paths: *//p' | tr ' ' '\n' | sed -n 's/(available)//p')
single "${CC:-cc}" "" "$native_isas"
case $(uname -m) in aarch64) ;; *) single aarch64-linux-gnu-gcc qemu-aarch64 "scalar neon" -static ;; esac
case $(uname -m) in armv7l|armv8l) ;; *) single arm-linux-gnueabihf-gcc qemu-arm scalar -static ;; esac
case $(uname -m) in riscv64) ;; *) single riscv64-linux-gnu-gcc qemu-riscv64 scalar -static ;; esac

# Cortex-M4: compiles without a warning and needs nothing of the C library beyond
# memory copies and the IEEE operations (no stdio, no malloc)
m4="-mcpu=cortex-m4 -mthumb -mfpu=fpv4-sp-d16 -mfloat-abi=hard"
if command -v arm-none-eabi-gcc > /dev/null 2>&1; then
    mkdir -p "$out/m4"
    if (cd "$out" && arm-none-eabi-gcc $plain $m4 -Wall -Wextra -Wno-unused-parameter -c qkspec.c -o m4/qkspec.o) \
        > "$out/m4/cc.out" 2>&1 && [ ! -s "$out/m4/cc.out" ]; then
        undef=$(arm-none-eabi-nm -u "$out/m4/qkspec.o" | awk '{print $NF}' |
            grep -Ev '^(memcpy|memset|memmove|strcmp|sqrt|sqrtf|fma|fmaf|__aeabi_.*)$' | tr '\n' ' ')
        if [ -z "$undef" ]; then ok "arm-none-eabi-gcc (Cortex-M4): compiles cleanly, no I/O or allocation symbols"
        else bad "arm-none-eabi-gcc (Cortex-M4): unexpected symbols: $undef"; fi
    else bad "arm-none-eabi-gcc (Cortex-M4):"; head -n 5 "$out/m4/cc.out"; fi
else bad "arm-none-eabi-gcc: not installed"; fi
[ "$fails" -eq 0 ]
