#include "qk_fp.h"
/* qk_softfp.c — correctly rounded fused multiply-add in integer arithmetic only
 * (SPEC §2.2). Used where the platform's fma/fmaf is not known to be correctly rounded
 * (newlib: fma is a multiply then an add, fmaf rounds twice), and everywhere under
 * QK_SOFT_FMA=1. No floating-point operation is executed here, only integer arithmetic
 * and bit copies, so the result does not depend on the platform's floating point (on
 * Cortex-M3 every float operation is itself a library call).
 *
 * Method, both precisions: the product of the two significands is formed exactly
 * (48 bits for float in a uint64_t, 106 bits for double in a 128-bit pair), the addend
 * is placed beside it with both leading bits near the top of the container, the operand
 * with the smaller exponent is shifted right with the bits shifted out OR-ed into bit 0
 * ("sticky"), the two are added or subtracted exactly, and the sum is rounded once to
 * nearest, ties to even, with subnormal and overflow handling in the same step.
 * Why the sticky bit is enough: bits are lost only when the shifted operand lies far
 * below the other (see the placement comments), so the sum keeps its leading bit near
 * the top and the rounding position is dozens of bits above bit 0; a value jammed into
 * bit 0 then falls in the same interval between rounding boundaries as the exact one. */
#include <stdint.h>
#include <string.h>

/* ------------------------------------------------------------------ bit helpers */
static uint64_t dbits(double x) { uint64_t u; memcpy(&u, &x, sizeof u); return u; }
static double dfrom(uint64_t u) { double x; memcpy(&x, &u, sizeof x); return x; }
static uint32_t fbits(float x) { uint32_t u; memcpy(&u, &x, sizeof u); return u; }
static float ffrom(uint32_t u) { float x; memcpy(&x, &u, sizeof x); return x; }

/* Index of the highest set bit of x != 0 (portable; no builtins). */
static int top64(uint64_t x)
{
    int n = 0;
    if (x >> 32) { n += 32; x >>= 32; }
    if (x >> 16) { n += 16; x >>= 16; }
    if (x >> 8) { n += 8; x >>= 8; }
    if (x >> 4) { n += 4; x >>= 4; }
    if (x >> 2) { n += 2; x >>= 2; }
    if (x >> 1) n += 1;
    return n;
}

/* x >> s with every bit shifted out OR-ed into bit 0 (s >= 0, any size). */
static uint64_t shr_sticky64(uint64_t x, int s)
{
    if (s == 0) return x;
    if (s >= 64) return x != 0;
    return (x >> s) | ((x << (64 - s)) != 0);
}

/* ------------------------------------------------------------- 128-bit integers */
typedef struct { uint64_t hi, lo; } u128;

/* Exact 64x64 -> 128 product from four 32x32 -> 64 products (no __int128 on 32-bit
 * targets). mid cannot overflow: three terms below 2^32 each. */
static u128 mul64(uint64_t a, uint64_t b)
{
    uint64_t a0 = (uint32_t)a, a1 = a >> 32, b0 = (uint32_t)b, b1 = b >> 32;
    uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    uint64_t mid = (p00 >> 32) + (uint32_t)p01 + (uint32_t)p10;
    u128 r;
    r.lo = (mid << 32) | (uint32_t)p00;
    r.hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
    return r;
}

static u128 shl128(u128 x, int s) /* 0 <= s < 128 */
{
    u128 r;
    if (s == 0) return x;
    if (s >= 64) { r.hi = x.lo << (s - 64); r.lo = 0; return r; }
    r.hi = (x.hi << s) | (x.lo >> (64 - s));
    r.lo = x.lo << s;
    return r;
}

static u128 shr128(u128 x, int s) /* 0 <= s < 128 */
{
    u128 r;
    if (s == 0) return x;
    if (s >= 64) { r.lo = x.hi >> (s - 64); r.hi = 0; return r; }
    r.lo = (x.lo >> s) | (x.hi << (64 - s));
    r.hi = x.hi >> s;
    return r;
}

/* Nonzero iff some bit of x below bit s is set (0 <= s <= 128). */
static int low_any128(u128 x, int s)
{
    if (s == 0) return 0;
    if (s >= 128) return (x.hi | x.lo) != 0;
    if (s >= 64) return x.lo != 0 || (s > 64 && (x.hi << (128 - s)) != 0);
    return (x.lo << (64 - s)) != 0;
}

static u128 shr_sticky128(u128 x, int s)
{
    u128 r;
    if (s >= 128) { r.hi = 0; r.lo = (x.hi | x.lo) != 0; return r; }
    r = shr128(x, s);
    r.lo |= (uint64_t)low_any128(x, s);
    return r;
}

static int lt128(u128 x, u128 y) { return x.hi < y.hi || (x.hi == y.hi && x.lo < y.lo); }

static u128 add128(u128 x, u128 y)
{
    u128 r;
    r.lo = x.lo + y.lo;
    r.hi = x.hi + y.hi + (r.lo < x.lo);
    return r;
}

static u128 sub128(u128 x, u128 y) /* x >= y */
{
    u128 r;
    r.lo = x.lo - y.lo;
    r.hi = x.hi - y.hi - (x.lo < y.lo);
    return r;
}

static int top128(u128 x) { return x.hi ? 64 + top64(x.hi) : top64(x.lo); }

/* ------------------------------------------------------------ binary64 rounding */
/* The value (-1)^sign * r * 2^e, r != 0, rounded once to nearest-even binary64.
 * The significand's last bit weighs 2^(max(E, -1022) - 52) with E the exponent of r's
 * leading bit, so normal and subnormal results round at the right position in one
 * step. The result is packed as ((E + 1022) << 52) + m with m including the leading
 * one: a carry out of the rounding moves into the exponent field by itself
 * (subnormal -> smallest normal, 2^53 -> next binade, largest finite -> infinity). */
static double round_pack64(int sign, u128 r, int e)
{
    int h = top128(r), E = h + e;
    int lsb = (E < -1022 ? -1022 : E) - 52, sh = lsb - e;
    uint64_t m, bits;
    if (E > 1023) return dfrom(((uint64_t)sign << 63) | 0x7ff0000000000000u);
    if (sh <= 0) {
        m = shl128(r, -sh).lo; /* exact: r has at most 53 bits here */
    } else if (sh >= 128) {
        m = 0; /* r < 2^127 <= half an ulp: rounds to zero */
    } else {
        int half = (int)((sh - 1 >= 64 ? r.hi >> (sh - 1 - 64) : r.lo >> (sh - 1)) & 1);
        m = shr128(r, sh).lo;
        if (half && (low_any128(r, sh - 1) || (m & 1))) m++;
    }
    bits = (E < -1022 ? 0 : (uint64_t)(E + 1022) << 52) + m;
    return dfrom(((uint64_t)sign << 63) | bits);
}

/* ------------------------------------------------------------- binary64 fma */
/* A finite nonzero operand as m * 2^e with m in [2^52, 2^53) (subnormals normalised). */
static uint64_t unpack64(uint64_t u, int *e)
{
    int be = (int)(u >> 52 & 0x7ff);
    uint64_t f = u & 0x000fffffffffffffu;
    int s;
    if (be) { *e = be - 1075; return f | 0x0010000000000000u; }
    s = 52 - top64(f);
    *e = -1074 - s;
    return f << s;
}

#define QK__DNAN 0x7ff8000000000000u

/* NaN, infinity and zero operands (IEEE 754 §7.2, §6.3). Returns 1 and sets *res if
 * the result is decided without arithmetic. */
static int special64(uint64_t ua, uint64_t ub, uint64_t uc, uint64_t *res)
{
    uint64_t sp = (ua ^ ub) >> 63 << 63, mag = 0x7fffffffffffffffu, inf = 0x7ff0000000000000u;
    uint64_t aa = ua & mag, ab = ub & mag, ac = uc & mag;
    if (aa > inf || ab > inf || ac > inf) { /* NaN in, NaN out (payload free) */
        *res = (aa > inf ? ua : ab > inf ? ub : uc) | 0x0008000000000000u;
        return 1;
    }
    if (aa == inf || ab == inf) { /* inf * 0 and inf - inf are invalid */
        if (aa == 0 || ab == 0 || (ac == inf && (uc & ~mag) != sp)) *res = QK__DNAN;
        else *res = sp | inf;
        return 1;
    }
    if (ac == inf) { *res = uc; return 1; }
    if (aa == 0 || ab == 0) { /* exact zero product: c, or a signed zero sum */
        if (ac != 0) *res = uc;
        else *res = sp & uc; /* -0 only if both zeros are -0 (round to nearest) */
        return 1;
    }
    return 0;
}

double qk__fma_soft(double a, double b, double c)
{
    uint64_t ua = dbits(a), ub = dbits(b), uc = dbits(c), res;
    int ea, eb, ec, ep, sp, sc, d;
    u128 p, q;
    if (special64(ua, ub, uc, &res)) return dfrom(res);
    sp = (int)((ua ^ ub) >> 63);
    sc = (int)(uc >> 63);
    p = mul64(unpack64(ua, &ea), unpack64(ub, &eb)); /* exact, in [2^104, 2^106) */
    ep = ea + eb;
    if ((uc << 1) == 0) return round_pack64(sp, p, ep); /* c = ±0: round the product */
    /* Placement: p << 20 has its leading bit at 124 or 125 and 20 zero low bits; c's
     * significand << 72 has its leading bit at 124 and 72 zero low bits. Bits are lost
     * only when c shifts by more than 72 (c < 2^53 against p >= 2^124) or p by more than
     * 20 (p < 2^105 against c >= 2^124): the sum is then >= 2^123 and rounds at bit 71
     * or higher. The sum of both is < 2^127, so nothing overflows. */
    p = shl128(p, 20);
    ep -= 20;
    q.hi = unpack64(uc, &ec) << 8;
    q.lo = 0;
    ec -= 72;
    d = ep - ec;
    if (d > 0) q = shr_sticky128(q, d);
    else p = shr_sticky128(p, -d), ep = ec; /* ep: the exponent of bit 0 of both */
    if (sp == sc) return round_pack64(sp, add128(p, q), ep);
    if (lt128(p, q)) return round_pack64(sc, sub128(q, p), ep);
    if (lt128(q, p)) return round_pack64(sp, sub128(p, q), ep);
    return dfrom(0); /* exact cancellation of nonzero terms: +0 in round to nearest */
}

/* ------------------------------------------------------------- binary64 add */
/* Correctly rounded a + b in integers only, for targets whose double arithmetic is
 * libgcc's soft-float (Cortex-M3, Cortex-M4F): its __aeabi_dadd/__adddf3 misrounds by
 * one ulp an effective subtraction whose exponent difference is exactly 33 when the
 * result loses its leading bit (e.g. 1 - v with v in [2^-33, 2^-32)): for a shift of 33
 * it keeps one bit below the sum plus a sticky bit, and after the one-place left
 * normalisation the rounding bit is read from an always-zero position (SPEC §2.2;
 * libgcc/config/arm/ieee754-df.S, `orrcs ip, ip, #2`). Same method as the fma:
 * significands placed with their leading bit at bit 61 (9 zero low bits), the one with
 * the smaller exponent shifted right with sticky; bits are lost only for shifts above
 * 9, where the other operand is >= 2^61 and the sum >= 2^60 rounds at bit 8 or higher. */

double qk__dadd_soft(double a, double b)
{
    uint64_t ua = dbits(a), ub = dbits(b), one = 0x3ff0000000000000u, res;
    int ea, eb, sa = (int)(ua >> 63), sb = (int)(ub >> 63), d;
    u128 p, q;
    if ((ua << 1) == 0 || (ub << 1) == 0) { /* a zero: a + b is b, a, or +-0 */
        if ((ub << 1) != 0) return b;
        if ((ua << 1) != 0) return a;
        return dfrom(ua & ub); /* -0 only for -0 + -0 (round to nearest) */
    }
    if (special64(ua, one, ub, &res)) return dfrom(res); /* NaN, inf: as a*1 + b */
    p.hi = q.hi = 0;
    p.lo = unpack64(ua, &ea) << 9;
    q.lo = unpack64(ub, &eb) << 9;
    d = ea - eb;
    if (d > 0) q = shr_sticky128(q, d);
    else p = shr_sticky128(p, -d), ea = eb;
    ea -= 9;
    if (sa == sb) return round_pack64(sa, add128(p, q), ea);
    if (p.lo < q.lo) return round_pack64(sb, sub128(q, p), ea);
    if (q.lo < p.lo) return round_pack64(sa, sub128(p, q), ea);
    return dfrom(0); /* exact cancellation: +0 in round to nearest */
}

/* ------------------------------------------------------------- binary32 fma */
/* As round_pack64 for binary32 from a 64-bit r: last bit 2^(max(E, -126) - 23). */
static float round_pack32(int sign, uint64_t r, int e)
{
    int h = top64(r), E = h + e;
    int lsb = (E < -126 ? -126 : E) - 23, sh = lsb - e;
    uint32_t m, bits;
    if (E > 127) return ffrom(((uint32_t)sign << 31) | 0x7f800000u);
    if (sh <= 0) {
        m = (uint32_t)(r << -sh);
    } else if (sh >= 64) {
        m = 0; /* r < 2^63 <= half an ulp */
    } else {
        uint64_t rest = r & ((((uint64_t)1) << sh) - 1), half = ((uint64_t)1) << (sh - 1);
        m = (uint32_t)(r >> sh);
        if (rest > half || (rest == half && (m & 1))) m++;
    }
    bits = (E < -126 ? 0 : (uint32_t)(E + 126) << 23) + m;
    return ffrom(((uint32_t)sign << 31) | bits);
}

static uint32_t unpack32(uint32_t u, int *e)
{
    int be = (int)(u >> 23 & 0xff);
    uint32_t f = u & 0x007fffffu;
    int s;
    if (be) { *e = be - 150; return f | 0x00800000u; }
    s = 23 - top64(f);
    *e = -149 - s;
    return f << s;
}

#define QK__FNAN 0x7fc00000u

static int special32(uint32_t ua, uint32_t ub, uint32_t uc, uint32_t *res)
{
    uint32_t sp = (ua ^ ub) & 0x80000000u, mag = 0x7fffffffu, inf = 0x7f800000u;
    uint32_t aa = ua & mag, ab = ub & mag, ac = uc & mag;
    if (aa > inf || ab > inf || ac > inf) {
        *res = (aa > inf ? ua : ab > inf ? ub : uc) | 0x00400000u;
        return 1;
    }
    if (aa == inf || ab == inf) {
        if (aa == 0 || ab == 0 || (ac == inf && (uc & ~mag) != sp)) *res = QK__FNAN;
        else *res = sp | inf;
        return 1;
    }
    if (ac == inf) { *res = uc; return 1; }
    if (aa == 0 || ab == 0) {
        *res = ac != 0 ? uc : (sp & uc);
        return 1;
    }
    return 0;
}

/* Not fma in double then rounded to float: that rounds twice. The 48-bit product is
 * exact in a uint64_t and the sum is rounded once, as for binary64. */
float qk__fmaf_soft(float a, float b, float c)
{
    uint32_t ua = fbits(a), ub = fbits(b), uc = fbits(c), res;
    int ea, eb, ec, ep, sp, sc, d;
    uint64_t p, q;
    if (special32(ua, ub, uc, &res)) return ffrom(res);
    sp = (int)((ua ^ ub) >> 31);
    sc = (int)(uc >> 31);
    p = (uint64_t)unpack32(ua, &ea) * unpack32(ub, &eb); /* exact, in [2^46, 2^48) */
    ep = ea + eb;
    if ((uc << 1) == 0) return round_pack32(sp, p, ep);
    /* Placement: p << 13 leads at bit 59 or 60 (13 zero low bits), c << 36 at bit 59
     * (36 zero low bits); bits are lost only against a partner >= 2^59, the sum is then
     * >= 2^58 and rounds at bit 35 or higher. The sum is < 2^62. */
    p <<= 13;
    ep -= 13;
    q = (uint64_t)unpack32(uc, &ec) << 36;
    ec -= 36;
    d = ep - ec;
    if (d > 0) q = shr_sticky64(q, d);
    else p = shr_sticky64(p, -d), ep = ec;
    if (sp == sc) return round_pack32(sp, p + q, ep);
    if (p < q) return round_pack32(sc, q - p, ep);
    if (q < p) return round_pack32(sp, p - q, ep);
    return ffrom(0);
}
