/* qk_math.c — the project's own transcendentals (SPEC §2.5).
 *
 * The float functions evaluate in double with fma and round once to float, so their
 * error is the final rounding plus a tiny evaluation error (README: measured
 * exhaustively). Only IEEE +,-,*,/, sqrt, fma and bit manipulation are used, so the
 * result is the same on every target. */
#include "qk_fp.h"
#include <float.h>
#include <math.h> /* fma, fmaf, sqrt: IEEE-exact operations only */

/* SPEC §2.1-2: every operation rounds to its own type, and nothing is contracted. */
#if !defined(FLT_EVAL_METHOD) || FLT_EVAL_METHOD != 0
#error "qkspec needs FLT_EVAL_METHOD == 0 (SPEC §2.1)"
#endif
#if defined(__FAST_MATH__)
#error "qkspec must not be compiled with -ffast-math (SPEC §2.2)"
#endif
#include <string.h>
#include "qk_kernels.h"

static inline uint64_t bits64(double x) { uint64_t u; memcpy(&u, &x, 8); return u; }
static inline double from_bits64(uint64_t u) { double x; memcpy(&x, &u, 8); return x; }
static inline uint32_t bits32(float x) { uint32_t u; memcpy(&u, &x, 4); return u; }
static inline float from_bits32(uint32_t u) { float x; memcpy(&x, &u, 4); return x; }

/* e^r for |r| <= ln2/2 by the Taylor polynomial of degree 13 (truncation < 2^-57). */
static inline double exp_poly(double r)
{
    double p = QK__EXP_C13;
    p = qk__fma(p, r, QK__EXP_C12);
    p = qk__fma(p, r, QK__EXP_C11);
    p = qk__fma(p, r, QK__EXP_C10);
    p = qk__fma(p, r, QK__EXP_C9);
    p = qk__fma(p, r, QK__EXP_C8);
    p = qk__fma(p, r, QK__EXP_C7);
    p = qk__fma(p, r, QK__EXP_C6);
    p = qk__fma(p, r, QK__EXP_C5);
    p = qk__fma(p, r, QK__EXP_C4);
    p = qk__fma(p, r, QK__EXP_C3);
    p = qk__fma(p, r, QK__EXP_C2);
    p = qk__fma(p, r, 1.0);
    return qk__fma(p, r, 1.0);
}

/* qk_expf: clamp (by comparison, NaN passes through), k = round(x/ln2) by the shifter
 * trick (no float->int conversion), r = x - k ln2 in two fma steps, 2^k from the bits
 * of the shifted value. p·2^k is exact in double for k in [-159, 145]; the only
 * rounding to float is the final conversion, which also produces subnormals, +Inf
 * and 0 correctly. */
float qk_expf(float x)
{
    float xc = x > QK__EXPF_HI ? QK__EXPF_HI : x;
    xc = xc < QK__EXPF_LO ? QK__EXPF_LO : xc;
    double xd = (double)xc;
    double t = qk__fma(xd, QK__LOG2E, QK__SHIFT);
    double kd = t - QK__SHIFT;
    double r = qk__fma(-kd, QK__LN2_HI, xd);
    r = qk__fma(-kd, QK__LN2_LO, r);
    uint64_t k = bits64(t) - bits64(QK__SHIFT); /* two's complement k */
    double scale = from_bits64((k + 1023u) << 52);
    return (float)(exp_poly(r) * scale);
}

void qk_vexpf(float *y, const float *x, int n) { qk__kern()->vexpf(y, x, n); }

/* qk_exp (double): the same reduction; 2^k applied in two halves so that results
 * down to the subnormal range and up to overflow are formed. Accuracy ~2 ulp. */
double qk_exp(double x)
{
    if (x != x) return x + x;
    if (x > 709.8) return 0x1p1023 * 0x1p1023; /* +Inf */
    if (x < -745.2) return 0.0;
    double t = qk__fma(x, QK__LOG2E, QK__SHIFT);
    double kd = t - QK__SHIFT;
    double r = qk__fma(-kd, QK__LN2_HI, x);
    r = qk__fma(-kd, QK__LN2_LO, r);
    int64_t k = (int64_t)(bits64(t) - bits64(QK__SHIFT));
    int64_t k1 = k / 2, k2 = k - k1;
    double s1 = from_bits64((uint64_t)(k1 + 1023) << 52);
    double s2 = from_bits64((uint64_t)(k2 + 1023) << 52);
    return exp_poly(r) * s1 * s2;
}

/* log(m) for m in [sqrt(1/2), sqrt(2)): s = (m-1)/(m+1), log m = 2 atanh(s),
 * |s| <= 0.1716, series to s^23 (truncation < 2^-60). */
static double log_reduced(double m)
{
    double f = m - 1.0;
    double s = f / (m + 1.0);
    double z = s * s;
    double p = 1.0 / 23;
    p = qk__fma(p, z, 1.0 / 21);
    p = qk__fma(p, z, 1.0 / 19);
    p = qk__fma(p, z, 1.0 / 17);
    p = qk__fma(p, z, 1.0 / 15);
    p = qk__fma(p, z, 1.0 / 13);
    p = qk__fma(p, z, 1.0 / 11);
    p = qk__fma(p, z, 1.0 / 9);
    p = qk__fma(p, z, 1.0 / 7);
    p = qk__fma(p, z, 1.0 / 5);
    p = qk__fma(p, z, 1.0 / 3);
    /* 2s + 2s·z·p, written so that the leading term is exact */
    return qk__fma(2.0 * s * z, p, 2.0 * s);
}

/* qk_log (double), x > 0 finite: x = m·2^e with m in [sqrt(1/2), sqrt(2)). */
double qk_log(double x)
{
    if (x != x) return x + x;
    if (x < 0.0) return (x - x) / (x - x); /* NaN */
    if (x == 0.0) return -1.0 / (x * x);   /* -Inf */
    if (x > 0x1.fffffffffffffp1023) return x;
    int e = 0;
    if (x < 0x1p-1022) { x *= 0x1p54; e = -54; } /* subnormal */
    uint64_t u = bits64(x);
    e += (int)((u >> 52) & 0x7ff) - 1023;
    double m = from_bits64((u & 0x000fffffffffffffull) | 0x3ff0000000000000ull);
    if (m > 0x1.6a09e667f3bcdp0) { m *= 0.5; e += 1; }
    return qk__fma((double)e, QK__LN2_HI, qk__fma((double)e, QK__LN2_LO, log_reduced(m)));
}

/* The only five binary32 inputs whose correctly rounded double logarithm lies exactly
 * halfway between two floats, so that the final rounding (ties to even) goes the wrong
 * way; the correctly rounded results, found by tools/ulp_exhaustive over all 2^32
 * inputs (with MPFR), which also proves the list complete. */
static const uint32_t logf_ties[5][2] = {
    {0x3c413d3au, 0xc08e158fu}, {0x41178febu, 0x400fe5e7u}, {0x4c5d65a5u, 0x418f034bu},
    {0x65d890d3u, 0x4254d1f9u}, {0x6f31a8ecu, 0x42845a89u},
};

/* qk_logf: exact decomposition of the float, log_reduced in double, one rounding;
 * correctly rounded for every input (README). */
float qk_logf(float x)
{
    if (x != x) return x + x;
    if (x < 0.0f) return (x - x) / (x - x);
    if (x == 0.0f) return -1.0f / (x * x);
    if (x > 0x1.fffffep127f) return x;
    uint32_t u = bits32(x);
    for (int i = 0; i < 5; i++)
        if (u == logf_ties[i][0]) return from_bits32(logf_ties[i][1]);
    return (float)qk_log((double)x);
}

/* tanh in double. For |x| < 0.17, tanh = e/(e+2) with e = e^{2x}-1 from the exp
 * series without its leading 1 (no cancellation); otherwise 1 - 2/(e^{2x}+1). */
static double tanh_d(double x)
{
    double a = x < 0 ? -x : x;
    double t;
    if (a > 20.0) t = 1.0;
    else if (a < 0.17) {
        double y = 2.0 * a;
        double q = QK__EXP_C13;
        q = qk__fma(q, y, QK__EXP_C12);
        q = qk__fma(q, y, QK__EXP_C11);
        q = qk__fma(q, y, QK__EXP_C10);
        q = qk__fma(q, y, QK__EXP_C9);
        q = qk__fma(q, y, QK__EXP_C8);
        q = qk__fma(q, y, QK__EXP_C7);
        q = qk__fma(q, y, QK__EXP_C6);
        q = qk__fma(q, y, QK__EXP_C5);
        q = qk__fma(q, y, QK__EXP_C4);
        q = qk__fma(q, y, QK__EXP_C3);
        q = qk__fma(q, y, QK__EXP_C2);
        double e = qk__fma(q * y, y, y); /* y + y^2 q */
        t = e / (e + 2.0);
    } else {
        t = 1.0 - 2.0 / (qk_exp(2.0 * a) + 1.0);
    }
    return x < 0 ? -t : t;
}

float qk_tanhf(float x)
{
    if (x != x || x == 0.0f) return x + x; /* NaN; ±0 keeps its sign */
    return (float)tanh_d((double)x);
}

/* GELU forms. 1 + tanh z and 1 + erf z cancel for z < 0, so there they are computed
 * as 2/(1 + e^{-2z}) and erfc(-z), which keep full relative accuracy in the tail. */
float qk_gelu_tanhf(float x)
{
    if (x != x) return x + x;
    if (x == -INFINITY) return -0.0f;
    double xd = x;
    double z = 0x1.9884533d43651p-1 * (xd + 0.044715 * xd * xd * xd); /* sqrt(2/pi) */
    double one_plus_tanh = z >= 0.0 ? 1.0 + tanh_d(z) : 2.0 / (1.0 + qk_exp(-2.0 * z));
    return (float)(0.5 * xd * one_plus_tanh);
}

float qk_gelu_erff(float x)
{
    if (x != x) return x + x;
    if (x == -INFINITY) return -0.0f;
    double xd = x, z = xd * 0x1.6a09e667f3bcdp-1; /* x/sqrt(2) */
    double one_plus_erf = z >= 0.0 ? 1.0 + qk_erf(z) : qk_erfc(-z);
    return (float)(0.5 * xd * one_plus_erf);
}

/* qk_gelu_erff per element: the kernel table's vector form where it has one (the
 * same operations per lane, SPEC §2.5), else this loop. */
void qk_vgelu_erff(float *y, const float *x, int n)
{
    const qk_kernels_ext *k = qk__kern_ext();
    if (k->vgelu_erff) {
        k->vgelu_erff(y, x, n);
        return;
    }
    for (int i = 0; i < n; i++) y[i] = qk_gelu_erff(x[i]);
}

/* erfc for a >= 2 by its continued fraction (modified Lentz):
 * erfc a = e^{-a^2}/sqrt(pi) · 1/(a + (1/2)/(a + 1/(a + (3/2)/(a + ...)))). */
static double erfc_cf(double a)
{
    double tiny = 0x1p-600, f = a, C = a, D = 0.0;
    for (int n = 1; n < 500; n++) {
        double an = 0.5 * n;
        D = a + an * D;
        if (D == 0.0) D = tiny;
        C = a + an / C;
        if (C == 0.0) C = tiny;
        D = 1.0 / D;
        double delta = C * D;
        f *= delta;
        if (delta - 1.0 < 0x1p-54 && 1.0 - delta < 0x1p-54) break;
    }
    return 0x1.20dd750429b6dp-1 * qk_exp(-a * a) / f; /* 1/sqrt(pi) */
}

/* erf x = (2/sqrt(pi)) e^{-x^2} sum 2^n x^{2n+1}/(2n+1)!! (all terms positive). */
static double erf_series(double a)
{
    double x2 = a * a, term = a, sum = a;
    for (int n = 1; n < 400; n++) {
        term *= 2.0 * x2 / (2 * n + 1);
        sum += term;
        if (term < sum * 0x1p-56) break;
    }
    return 0x1.20dd750429b6dp0 * qk_exp(-x2) * sum; /* 2/sqrt(pi) */
}

/* erf in double: the series below |x| = 2, 1 - erfc above; ±1 from |x| = 6. */
double qk_erf(double x)
{
    if (x != x) return x + x;
    double a = x < 0 ? -x : x;
    double r = a >= 6.0 ? 1.0 : a < 2.0 ? erf_series(a) : 1.0 - erfc_cf(a);
    return x < 0 ? -r : r;
}

/* erfc in double: 1 - erf below |x| = 2 (erfc >= 0.0047 there, so at most 8 bits are
 * lost to cancellation), the continued fraction above; 0 from x = 27.3. */
double qk_erfc(double x)
{
    if (x != x) return x + x;
    if (x < 2.0) return 1.0 - qk_erf(x);
    if (x > 27.3) return 0.0;
    return erfc_cf(x);
}

/* sin and cos in double for |x| < 2^20 (positions and frequencies of SPEC §1.2 stay
 * far below). Cody-Waite reduction by pi/2 in three parts (k·P1 and k·P2 exact for
 * |k| < 2^20), then Taylor polynomials on |r| <= pi/4 (truncation < 2^-58). */
#define QK__PIO2_1 0x1.921fb544p0              /* 33 bits */
#define QK__PIO2_2 0x1.0b4611a6p-34            /* next 33 bits */
#define QK__PIO2_3 0x1.3198a2e037073p-69       /* the rest */
#define QK__2OPI 0x1.45f306dc9c883p-1

static double sin_poly(double r)
{
    double z = r * r;
    double p = -1.0 / 1307674368000.0;     /* -1/15! */
    p = qk__fma(p, z, 1.0 / 6227020800.0);     /* 1/13! */
    p = qk__fma(p, z, -1.0 / 39916800.0);
    p = qk__fma(p, z, 1.0 / 362880.0);
    p = qk__fma(p, z, -1.0 / 5040.0);
    p = qk__fma(p, z, 1.0 / 120.0);
    p = qk__fma(p, z, -1.0 / 6.0);
    return qk__fma(r * z, p, r);
}

static double cos_poly(double r)
{
    double z = r * r;
    double p = 1.0 / 20922789888000.0;     /* 1/16! */
    p = qk__fma(p, z, -1.0 / 87178291200.0);   /* -1/14! */
    p = qk__fma(p, z, 1.0 / 479001600.0);
    p = qk__fma(p, z, -1.0 / 3628800.0);
    p = qk__fma(p, z, 1.0 / 40320.0);
    p = qk__fma(p, z, -1.0 / 720.0);
    p = qk__fma(p, z, 1.0 / 24.0);
    p = qk__fma(p, z, -0.5);
    return qk__fma(z, p, 1.0);
}

/* quadrant q of x = k·pi/2 + r: returns r, sets *q = k mod 4 */
static double reduce_pio2(double x, int *q)
{
    double t = qk__fma(x, QK__2OPI, QK__SHIFT);
    double kd = t - QK__SHIFT;
    *q = (int)((bits64(t) - bits64(QK__SHIFT)) & 3u);
    double r = qk__fma(-kd, QK__PIO2_1, x);
    r = qk__fma(-kd, QK__PIO2_2, r);
    return qk__fma(-kd, QK__PIO2_3, r);
}

/* The domain |x| < 2^20, where the three-part pi/2 of reduce_pio2 keeps the error below
 * 3.4 ulp; beyond it the reduction loses every bit (the result even leaves [-1, 1] from
 * 2^55), so a NaN says so instead of a wrong number. */
static int trig_domain(double x) { return x < 0x1p20 && x > -0x1p20; }

double qk_sin(double x)
{
    if (!trig_domain(x)) return (x - x) / (x - x); /* NaN for NaN, ±Inf and |x| >= 2^20 */
    if (x == 0.0) return x;                          /* sin(±0) = ±0 (C99 Annex F) */
    int q;
    double r = reduce_pio2(x, &q);
    switch (q) {
    case 0: return sin_poly(r);
    case 1: return cos_poly(r);
    case 2: return -sin_poly(r);
    default: return -cos_poly(r);
    }
}

double qk_cos(double x)
{
    if (!trig_domain(x)) return (x - x) / (x - x);
    int q;
    double r = reduce_pio2(x, &q);
    switch (q) {
    case 0: return cos_poly(r);
    case 1: return -sin_poly(r);
    case 2: return -cos_poly(r);
    default: return sin_poly(r);
    }
}
