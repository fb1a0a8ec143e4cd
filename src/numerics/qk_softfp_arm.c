/* qk_softfp_arm.c — the double addition of bare-metal ARM without a double-precision FPU
 * (Cortex-M3, Cortex-M4F), replacing libgcc's (SPEC §2.2).
 *
 * There every double + and − the compiler emits is a call to __aeabi_dadd/__aeabi_dsub,
 * and libgcc's (ieee754-df.S, __adddf3) misrounds an effective subtraction whose
 * operands' exponents differ by exactly 33 when the result drops a binade: one real bit
 * is kept below the shifted operand where normalisation needs two, so the round bit is
 * read as 0 (e.g. 1 − 0x1.aa27e2117a9f3p-33 gives …d81 instead of …d82; 139 of 42,700
 * cases of a sweep over gaps 0..60, all at gap 33; measured under qemu-system-arm and
 * reproduced by an instruction-level model of the routine). Defining the run-time
 * ABI's symbols here makes the linker take these, correctly rounded by qk__dadd_soft
 * (qk_softfp.c, integer arithmetic only), instead of libgcc's. libgcc keeps the
 * conversions to double in the same object as its addition, so they are defined here as
 * well (exact or correctly rounded, integer arithmetic only); were any symbol of that
 * object still needed, the link would fail with a duplicate definition, never silently
 * use the faulty code. The helpers use the base procedure-call standard even in
 * hard-float builds (ARM run-time ABI, §4.1.2), hence pcs("aapcs").
 *
 * Elsewhere (a double-precision FPU, Linux, x86, …) this file is empty. */
#include "qk_fp.h"
#include <stdint.h>
#include <string.h>

#if defined(__arm__) && defined(__ARM_EABI__) && !defined(__linux__) && \
    (!defined(__ARM_FP) || !(__ARM_FP & 8)) && !defined(QK_NO_DADD_REPLACEMENT)
#define QK__RTABI __attribute__((pcs("aapcs"), used))



static uint64_t bits_of(double x) { uint64_t u; memcpy(&u, &x, 8); return u; }
static double from_bits(uint64_t u) { double x; memcpy(&x, &u, 8); return x; }
static double negate(double x) { return from_bits(bits_of(x) ^ (1ull << 63)); }

static int msb64(uint64_t x) /* x != 0 */
{
    int p = 63;
    while (!(x >> p)) p--;
    return p;
}

/* sign·m as a double, m != 0, rounded to nearest, ties to even (exact for m < 2^53) */
static double from_magnitude(int sign, uint64_t m)
{
    int p = msb64(m);
    uint64_t q;
    if (p <= 52) q = m << (52 - p);
    else {
        int s = p - 52;
        uint64_t rem = m & ((1ull << s) - 1), half = 1ull << (s - 1);
        q = m >> s;
        if (rem > half || (rem == half && (q & 1))) q++;
        if (q >> 53) { q >>= 1; p++; }
    }
    return from_bits((uint64_t)sign << 63 | (uint64_t)(1023 + p) << 52 | (q & ((1ull << 52) - 1)));
}

static double from_i64(int64_t v)
{
    if (v == 0) return 0.0;
    return from_magnitude(v < 0, v < 0 ? 0ull - (uint64_t)v : (uint64_t)v);
}

static double from_u64(uint64_t v) { return v ? from_magnitude(0, v) : 0.0; }

/* float → double is exact: NaNs stay NaN (quieted), subnormal floats become normal */
static double widen(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    uint64_t sign = (uint64_t)(u >> 31) << 63;
    uint32_t e = (u >> 23) & 0xff, m = u & 0x7fffff;
    if (e == 0xff) return from_bits(sign | 0x7ffull << 52 | (m ? 1ull << 51 | (uint64_t)m << 29 : 0));
    if (e == 0) {
        if (!m) return from_bits(sign);
        int p = msb64(m); /* value m·2^-149 */
        return from_bits(sign | (uint64_t)(1023 + p - 149) << 52 | (((uint64_t)m << (52 - p)) & ((1ull << 52) - 1)));
    }
    return from_bits(sign | (uint64_t)(e - 127 + 1023) << 52 | (uint64_t)m << 29);
}

QK__RTABI double __aeabi_dadd(double a, double b) { return qk__dadd_soft(a, b); }
QK__RTABI double __aeabi_dsub(double a, double b) { return qk__dadd_soft(a, negate(b)); }
QK__RTABI double __aeabi_drsub(double a, double b) { return qk__dadd_soft(b, negate(a)); }
QK__RTABI double __aeabi_i2d(int v) { return from_i64(v); }
QK__RTABI double __aeabi_ui2d(unsigned v) { return from_u64(v); }
QK__RTABI double __aeabi_l2d(long long v) { return from_i64(v); }
QK__RTABI double __aeabi_ul2d(unsigned long long v) { return from_u64(v); }
QK__RTABI double __aeabi_f2d(float f) { return widen(f); }
/* libgcc's other names of the same routines */
QK__RTABI double __adddf3(double a, double b) { return qk__dadd_soft(a, b); }
QK__RTABI double __subdf3(double a, double b) { return qk__dadd_soft(a, negate(b)); }
QK__RTABI double __floatsidf(int v) { return from_i64(v); }
QK__RTABI double __floatunsidf(unsigned v) { return from_u64(v); }
QK__RTABI double __floatdidf(long long v) { return from_i64(v); }
QK__RTABI double __floatundidf(unsigned long long v) { return from_u64(v); }
QK__RTABI double __extendsfdf2(float f) { return widen(f); }

#else
typedef int qk__empty_unit_softfp_arm; /* ISO C: no empty translation unit */
#endif
