/* kern_avx2.c — AVX2+FMA kernels (compiled with -mavx2 -mfma, chosen by CPUID).
 * Same operations as kern_scalar.c lane by lane: products vectorise across output
 * columns (never across k), reductions use the 8 lanes of one register. */
#include "qk_fp.h"
#include "qk_kernels.h"
#if defined(QK_HAVE_AVX2)
#include <immintrin.h>
#include <math.h>

/* Every function below is compiled for AVX2+FMA whatever the file's flags (the table is
 * used only after qk_isa.c's CPUID check), so one build file serves every host. */
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif

#define MR 6
#define NR 16

/* The 12 accumulators are named variables so that they live in registers (an
 * acc[6][2] array stays in memory at -O2); 12 + 2 (B row) + 1 (broadcast) = 15 of
 * the 16 ymm registers. Each lane of c<row><half> is the chain over k of one C
 * element, k = 0..kc-1 in order. The k loop is deliberately not unrolled: unrolled,
 * gcc -O2 hoists B loads across steps and spills accumulators to the stack. */
#define QK__ROW(r, A0, A1)                                                              \
    do {                                                                                \
        __m256 ar = _mm256_broadcast_ss(a + (r));                                       \
        A0 = _mm256_fmadd_ps(ar, b0, A0);                                               \
        A1 = _mm256_fmadd_ps(ar, b1, A1);                                               \
    } while (0)
#define QK__STEP(kk)                                                                    \
    do {                                                                                \
        const float *a = ap + (kk) * MR;                                                \
        __m256 b0 = _mm256_loadu_ps(bp + (kk) * NR), b1 = _mm256_loadu_ps(bp + (kk) * NR + 8); \
        QK__ROW(0, c00, c01);                                                           \
        QK__ROW(1, c10, c11);                                                           \
        QK__ROW(2, c20, c21);                                                           \
        QK__ROW(3, c30, c31);                                                           \
        QK__ROW(4, c40, c41);                                                           \
        QK__ROW(5, c50, c51);                                                           \
    } while (0)

static void tile_6x16(int kc, const float *ap, const float *bp, float *c, int ldc, int load_c)
{
    __m256 c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
    if (load_c) {
        c00 = _mm256_loadu_ps(c + 0 * ldc), c01 = _mm256_loadu_ps(c + 0 * ldc + 8);
        c10 = _mm256_loadu_ps(c + 1 * ldc), c11 = _mm256_loadu_ps(c + 1 * ldc + 8);
        c20 = _mm256_loadu_ps(c + 2 * ldc), c21 = _mm256_loadu_ps(c + 2 * ldc + 8);
        c30 = _mm256_loadu_ps(c + 3 * ldc), c31 = _mm256_loadu_ps(c + 3 * ldc + 8);
        c40 = _mm256_loadu_ps(c + 4 * ldc), c41 = _mm256_loadu_ps(c + 4 * ldc + 8);
        c50 = _mm256_loadu_ps(c + 5 * ldc), c51 = _mm256_loadu_ps(c + 5 * ldc + 8);
    } else {
        c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = _mm256_setzero_ps();
    }
    for (int k = 0; k < kc; k++) {
        QK__STEP(0);
        ap += MR;
        bp += NR;
    }
    _mm256_storeu_ps(c + 0 * ldc, c00), _mm256_storeu_ps(c + 0 * ldc + 8, c01);
    _mm256_storeu_ps(c + 1 * ldc, c10), _mm256_storeu_ps(c + 1 * ldc + 8, c11);
    _mm256_storeu_ps(c + 2 * ldc, c20), _mm256_storeu_ps(c + 2 * ldc + 8, c21);
    _mm256_storeu_ps(c + 3 * ldc, c30), _mm256_storeu_ps(c + 3 * ldc + 8, c31);
    _mm256_storeu_ps(c + 4 * ldc, c40), _mm256_storeu_ps(c + 4 * ldc + 8, c41);
    _mm256_storeu_ps(c + 5 * ldc, c50), _mm256_storeu_ps(c + 5 * ldc + 8, c51);
}
#undef QK__STEP
#undef QK__ROW

static void gemm_tile_avx2(int kc, const float *ap, const float *bp, float *c, int ldc,
                           int m, int n, int load_c)
{
    if (m == MR && n == NR) {
        tile_6x16(kc, ap, bp, c, ldc, load_c);
        return;
    }
    float tmp[MR * NR];
    for (int r = 0; r < MR; r++)
        for (int j = 0; j < NR; j++) tmp[r * NR + j] = (load_c && r < m && j < n) ? c[r * ldc + j] : 0.0f;
    tile_6x16(kc, ap, bp, tmp, NR, 1);
    for (int r = 0; r < m; r++)
        for (int j = 0; j < n; j++) c[r * ldc + j] = tmp[r * NR + j];
}

static float sum_avx2(const float *x, int n)
{
    __m256 acc = _mm256_setzero_ps();
    int i = 0;
    for (; i + 8 <= n; i += 8) acc = _mm256_add_ps(acc, _mm256_loadu_ps(x + i));
    float l[8];
    _mm256_storeu_ps(l, acc);
    for (; i < n; i++) l[i & 7] += x[i];
    return qk__combine8(l);
}

static float dot_avx2(const float *x, const float *y, int n)
{
    __m256 acc = _mm256_setzero_ps();
    int i = 0;
    for (; i + 8 <= n; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), acc);
    float l[8];
    _mm256_storeu_ps(l, acc);
    for (; i < n; i++) l[i & 7] = qk__fmaf(x[i], y[i], l[i & 7]);
    return qk__combine8(l);
}

/* qk_exp's core in 4 double lanes, as qk_math.c: the shifter trick gives k, r in two fma
 * steps, then the Taylor polynomial of degree 13; returns e^r, k in *k. */
static inline __m256d exp_core4(__m256d x, __m256i *k)
{
    const __m256d shift = _mm256_set1_pd(QK__SHIFT);
    __m256d t = _mm256_fmadd_pd(x, _mm256_set1_pd(QK__LOG2E), shift);
    __m256d kd = _mm256_sub_pd(t, shift);
    __m256d r = _mm256_fnmadd_pd(kd, _mm256_set1_pd(QK__LN2_HI), x);
    r = _mm256_fnmadd_pd(kd, _mm256_set1_pd(QK__LN2_LO), r);
    *k = _mm256_sub_epi64(_mm256_castpd_si256(t), _mm256_castpd_si256(shift));
    __m256d p = _mm256_set1_pd(QK__EXP_C13);
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(QK__EXP_C12));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(QK__EXP_C11));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(QK__EXP_C10));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(QK__EXP_C9));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(QK__EXP_C8));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(QK__EXP_C7));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(QK__EXP_C6));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(QK__EXP_C5));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(QK__EXP_C4));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(QK__EXP_C3));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(QK__EXP_C2));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0));
    return _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0));
}

/* 2^k for k in the normal exponent range: its bits, (k + 1023) << 52 */
static inline __m256d pow2_4(__m256i k)
{
    return _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_add_epi64(k, _mm256_set1_epi64x(1023)), 52));
}

/* qk_expf on 4 lanes in double; mirrors qk_math.c step by step. */
static __m128 exp4(__m128 x)
{
    __m128 hi = _mm_set1_ps(QK__EXPF_HI), lo = _mm_set1_ps(QK__EXPF_LO);
    x = _mm_blendv_ps(x, hi, _mm_cmp_ps(x, hi, _CMP_GT_OQ));
    x = _mm_blendv_ps(x, lo, _mm_cmp_ps(x, lo, _CMP_LT_OQ));
    __m256i k;
    __m256d p = exp_core4(_mm256_cvtps_pd(x), &k);
    return _mm256_cvtpd_ps(_mm256_mul_pd(p, pow2_4(k)));
}

static void vexpf_avx2(float *y, const float *x, int n)
{
    int i = 0;
    for (; i + 4 <= n; i += 4) _mm_storeu_ps(y + i, exp4(_mm_loadu_ps(x + i)));
    for (; i < n; i++) y[i] = qk_expf(x[i]);
}

/* ---------------------------------------------------------------- GELU, erf form */
/* qk_gelu_erff (qk_math.c) 8 floats at a time as two registers of 4 doubles: the scheme
 * of kern_avx512.c (see there) with vector masks in place of mask registers. Each
 * lane's loop exit is its own: a lane's value is taken at the step where its exit test
 * first holds, or at the scalar loop's bound. A tail of fewer than 8 goes element by
 * element through qk_gelu_erff. */
static inline __m256d neg4(__m256d x) { return _mm256_xor_pd(x, _mm256_set1_pd(-0.0)); }
static inline __m256d andn4(__m256d m, __m256d x) { return _mm256_andnot_pd(m, x); } /* x & ~m */
static inline int any4(__m256d m) { return _mm256_movemask_pd(m) != 0; }
static inline __m256d sel4(__m256d m, __m256d yes, __m256d no) { return _mm256_blendv_pd(no, yes, m); }

/* qk_exp of x <= 0 or -Inf in 4 lanes: 0 below -745.2, else e^r·2^k1·2^k2 (qk_math.c) */
static inline __m256d exp_neg4(__m256d x)
{
    __m256d under = _mm256_cmp_pd(x, _mm256_set1_pd(-745.2), _CMP_LT_OQ);
    __m256i k;
    __m256d p = exp_core4(sel4(under, _mm256_set1_pd(-745.0), x), &k); /* k in range; the lane is 0 below */
    /* k1 = k/2 rounded toward zero = (k + (k < 0)) >> 1 arithmetic. AVX2 has no 64-bit
     * arithmetic shift; a logical one differs in bit 63 only, and only the low 11 bits
     * of k1 and k2 reach the exponent fields. */
    __m256i k1 = _mm256_srli_epi64(_mm256_add_epi64(k, _mm256_srli_epi64(k, 63)), 1);
    __m256d e = _mm256_mul_pd(_mm256_mul_pd(p, pow2_4(k1)), pow2_4(_mm256_sub_epi64(k, k1)));
    return andn4(under, e);
}

typedef struct {
    __m256d xd, a, neg, small, ge6, gt27, ser, cf; /* masks: all ones or zero per lane */
} gelu4;

static inline gelu4 gelu_classify4(__m128 x)
{
    const __m256d zero = _mm256_setzero_pd();
    gelu4 g;
    g.xd = _mm256_cvtps_pd(x);
    __m256d z = _mm256_mul_pd(g.xd, _mm256_set1_pd(0x1.6a09e667f3bcdp-1)); /* x/sqrt(2) */
    __m256d pos = _mm256_cmp_pd(z, zero, _CMP_GE_OQ);
    g.neg = _mm256_cmp_pd(z, zero, _CMP_LT_OQ);
    g.a = sel4(g.neg, neg4(z), z);
    g.small = _mm256_cmp_pd(g.a, _mm256_set1_pd(2.0), _CMP_LT_OQ);
    g.ge6 = _mm256_cmp_pd(g.a, _mm256_set1_pd(6.0), _CMP_GE_OQ);
    g.gt27 = _mm256_cmp_pd(g.a, _mm256_set1_pd(27.3), _CMP_GT_OQ);
    g.ser = _mm256_and_pd(_mm256_or_pd(pos, g.neg), g.small);
    g.cf = _mm256_or_pd(andn4(g.ge6, andn4(g.small, pos)), andn4(g.gt27, andn4(g.small, g.neg)));
    return g;
}

/* the series' sum for the lanes act0, act1 (a < 2) */
static inline void erf_series8(__m256d a0, __m256d act0, __m256d a1, __m256d act1, __m256d *s0, __m256d *s1)
{
    const __m256d two = _mm256_set1_pd(2.0), ulp = _mm256_set1_pd(0x1p-56), zero = _mm256_setzero_pd();
    const __m256d t20 = _mm256_mul_pd(two, _mm256_mul_pd(a0, a0)), t21 = _mm256_mul_pd(two, _mm256_mul_pd(a1, a1));
    __m256d term0 = a0, sum0 = a0, out0 = a0, term1 = a1, sum1 = a1, out1 = a1;
    act0 = _mm256_and_pd(act0, _mm256_cmp_pd(a0, zero, _CMP_NEQ_UQ));
    act1 = _mm256_and_pd(act1, _mm256_cmp_pd(a1, zero, _CMP_NEQ_UQ));
    for (int n = 1; n < 400 && any4(_mm256_or_pd(act0, act1)); n++) {
        const __m256d den = _mm256_set1_pd((double)(2 * n + 1));
        term0 = _mm256_mul_pd(term0, _mm256_div_pd(t20, den)); /* term *= 2.0 * x2 / (2n + 1) */
        term1 = _mm256_mul_pd(term1, _mm256_div_pd(t21, den));
        sum0 = _mm256_add_pd(sum0, term0);
        sum1 = _mm256_add_pd(sum1, term1);
        __m256d d0 = _mm256_and_pd(act0, _mm256_cmp_pd(term0, _mm256_mul_pd(sum0, ulp), _CMP_LT_OQ));
        __m256d d1 = _mm256_and_pd(act1, _mm256_cmp_pd(term1, _mm256_mul_pd(sum1, ulp), _CMP_LT_OQ));
        out0 = sel4(d0, sum0, out0);
        out1 = sel4(d1, sum1, out1);
        act0 = andn4(d0, act0);
        act1 = andn4(d1, act1);
        if (n == 399) { /* the bound: the lanes still running return their sum */
            out0 = sel4(act0, sum0, out0);
            out1 = sel4(act1, sum1, out1);
        }
    }
    *s0 = out0;
    *s1 = out1;
}

/* the continued fraction's f for the lanes act0, act1 (modified Lentz) */
static inline void erfc_cf8(__m256d a0, __m256d act0, __m256d a1, __m256d act1, __m256d *f0o, __m256d *f1o)
{
    const __m256d tiny = _mm256_set1_pd(0x1p-600), one = _mm256_set1_pd(1.0), eps = _mm256_set1_pd(0x1p-54);
    const __m256d zero = _mm256_setzero_pd();
    __m256d f0 = a0, C0 = a0, D0 = zero, out0 = a0, f1 = a1, C1 = a1, D1 = zero, out1 = a1;
#define QK__LENTZ4(f, C, D, a, act, out)                                                            \
    do {                                                                                          \
        D = _mm256_add_pd(a, _mm256_mul_pd(an, D));                                               \
        D = sel4(_mm256_cmp_pd(D, zero, _CMP_EQ_OQ), tiny, D);                                    \
        C = _mm256_add_pd(a, _mm256_div_pd(an, C));                                               \
        C = sel4(_mm256_cmp_pd(C, zero, _CMP_EQ_OQ), tiny, C);                                    \
        D = _mm256_div_pd(one, D);                                                                \
        __m256d delta = _mm256_mul_pd(C, D);                                                      \
        f = _mm256_mul_pd(f, delta);                                                              \
        __m256d done = _mm256_and_pd(act, _mm256_and_pd(_mm256_cmp_pd(_mm256_sub_pd(delta, one), eps, _CMP_LT_OQ), \
                                                        _mm256_cmp_pd(_mm256_sub_pd(one, delta), eps, _CMP_LT_OQ))); \
        out = sel4(done, f, out);                                                                 \
        act = andn4(done, act);                                                                   \
        if (n == 499) out = sel4(act, f, out);                                                    \
    } while (0)
    for (int n = 1; n < 500 && any4(_mm256_or_pd(act0, act1)); n++) {
        const __m256d an = _mm256_set1_pd(0.5 * n);
        QK__LENTZ4(f0, C0, D0, a0, act0, out0);
        QK__LENTZ4(f1, C1, D1, a1, act1, out1);
    }
#undef QK__LENTZ4
    *f0o = out0;
    *f1o = out1;
}

/* 0.5·x·(1 + erf(x/√2)) of 4 lanes in double, from the series' sum and the fraction's f */
static inline __m256d gelu_finish4(const gelu4 *g, __m256d sum, __m256d f)
{
    const __m256d one = _mm256_set1_pd(1.0), zero = _mm256_setzero_pd();
    __m256d s = zero, t = zero;
    if (any4(g->ser))
        s = _mm256_mul_pd(_mm256_mul_pd(_mm256_set1_pd(0x1.20dd750429b6dp0), exp_neg4(neg4(_mm256_mul_pd(g->a, g->a)))),
                          sum);
    if (any4(g->cf))
        t = _mm256_div_pd(_mm256_mul_pd(_mm256_set1_pd(0x1.20dd750429b6dp-1), exp_neg4(_mm256_mul_pd(neg4(g->a), g->a))),
                          f);
    /* z >= 0: 1 + r with r = 1 | S | 1 - CF; z < 0: 1 - S | 0 | CF */
    __m256d r = sel4(g->small, s, _mm256_sub_pd(one, t));
    r = sel4(g->ge6, one, r);
    __m256d op_pos = _mm256_add_pd(one, r);
    __m256d op_neg = sel4(g->small, _mm256_sub_pd(one, s), t);
    op_neg = sel4(andn4(g->small, g->gt27), zero, op_neg);
    __m256d op = sel4(g->neg, op_neg, op_pos);
    return _mm256_mul_pd(_mm256_mul_pd(_mm256_set1_pd(0.5), g->xd), op);
}

static void vgelu_erff_avx2(float *y, const float *x, int n)
{
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 xv = _mm256_loadu_ps(x + i);
        gelu4 g0 = gelu_classify4(_mm256_castps256_ps128(xv)), g1 = gelu_classify4(_mm256_extractf128_ps(xv, 1));
        __m256d s0 = _mm256_setzero_pd(), s1 = s0, f0 = s0, f1 = s0;
        if (any4(_mm256_or_pd(g0.ser, g1.ser))) erf_series8(g0.a, g0.ser, g1.a, g1.ser, &s0, &s1);
        if (any4(_mm256_or_pd(g0.cf, g1.cf))) erfc_cf8(g0.a, g0.cf, g1.a, g1.cf, &f0, &f1);
        __m256 yv = _mm256_set_m128(_mm256_cvtpd_ps(gelu_finish4(&g1, s1, f1)), _mm256_cvtpd_ps(gelu_finish4(&g0, s0, f0)));
        /* NaN: x + x; -Inf: -0 (qk_gelu_erff's first two lines) */
        yv = _mm256_blendv_ps(yv, _mm256_add_ps(xv, xv), _mm256_cmp_ps(xv, xv, _CMP_UNORD_Q));
        yv = _mm256_blendv_ps(yv, _mm256_set1_ps(-0.0f), _mm256_cmp_ps(xv, _mm256_set1_ps(-INFINITY), _CMP_EQ_OQ));
        _mm256_storeu_ps(y + i, yv);
    }
    for (; i < n; i++) y[i] = qk_gelu_erff(x[i]);
}

/* Jacobi kernels (double): defined at the end of this file. */
static void jrot_avx2(double *x, double *y, int n, double c, double s);
static void jstep_avx2(const double *x0, const double *x1, double *y0, double *y1, int h, double a, double b,
                       const double *as, const double *bs);
static void jdot3_avx2(const double *x, const double *y, int n, double out[3]);
static void jfrot_avx2(double *x, double *y, int n, double a, double b);
static void jangle_avx2(int h, double tol, const double *g, double *o);
static void jfcols_avx2(double *r, int nr, const int *cp, const int *cq, const double *a, const double *b);

const qk_kernels qk__kernels_avx2 = {"avx2", MR, NR, gemm_tile_avx2, sum_avx2, dot_avx2, vexpf_avx2,
                                     jrot_avx2, jstep_avx2, jdot3_avx2, jfrot_avx2,
                                     jangle_avx2, jfcols_avx2};
const qk_kernels_ext qk__kernels_avx2_ext = {0, vgelu_erff_avx2, 0, 0, 0, 0, 0, 0};

/* ---------------------------------------------------------------- Jacobi (double) */
/* As kern_scalar.c, 4 lanes: x' = fmsub(c, x, s*y) = fma(c, x, -(s*y)), y' = fmadd(c, y, s*x). */
#define JROT_X(C, X, S, Y) _mm256_fmsub_pd(C, X, _mm256_mul_pd(S, Y))
#define JROT_Y(C, X, S, Y) _mm256_fmadd_pd(C, Y, _mm256_mul_pd(S, X))

static void jrot_avx2(double *x, double *y, int n, double c, double s)
{
    __m256d C = _mm256_set1_pd(c), S = _mm256_set1_pd(s);
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256d a0 = _mm256_loadu_pd(x + i), b0 = _mm256_loadu_pd(y + i);
        __m256d a1 = _mm256_loadu_pd(x + i + 4), b1 = _mm256_loadu_pd(y + i + 4);
        _mm256_storeu_pd(x + i, JROT_X(C, a0, S, b0));
        _mm256_storeu_pd(y + i, JROT_Y(C, a0, S, b0));
        _mm256_storeu_pd(x + i + 4, JROT_X(C, a1, S, b1));
        _mm256_storeu_pd(y + i + 4, JROT_Y(C, a1, S, b1));
    }
    for (; i + 4 <= n; i += 4) {
        __m256d a = _mm256_loadu_pd(x + i), b = _mm256_loadu_pd(y + i);
        _mm256_storeu_pd(x + i, JROT_X(C, a, S, b));
        _mm256_storeu_pd(y + i, JROT_Y(C, a, S, b));
    }
    for (; i < n; i++) {
        double a = x[i], b = y[i];
        x[i] = qk__fma(c, a, -(s * b));
        y[i] = qk__fma(c, b, s * a);
    }
}

/* The factored rotation: x' = fmadd(b, y, x), y' = fmadd(a, x, y), as kern_scalar.c. */
static void jfrot_avx2(double *x, double *y, int n, double a, double b)
{
    __m256d A = _mm256_set1_pd(a), B = _mm256_set1_pd(b);
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256d u0 = _mm256_loadu_pd(x + i), w0 = _mm256_loadu_pd(y + i);
        __m256d u1 = _mm256_loadu_pd(x + i + 4), w1 = _mm256_loadu_pd(y + i + 4);
        _mm256_storeu_pd(x + i, _mm256_fmadd_pd(B, w0, u0));
        _mm256_storeu_pd(y + i, _mm256_fmadd_pd(A, u0, w0));
        _mm256_storeu_pd(x + i + 4, _mm256_fmadd_pd(B, w1, u1));
        _mm256_storeu_pd(y + i + 4, _mm256_fmadd_pd(A, u1, w1));
    }
    for (; i + 4 <= n; i += 4) {
        __m256d u = _mm256_loadu_pd(x + i), w = _mm256_loadu_pd(y + i);
        _mm256_storeu_pd(x + i, _mm256_fmadd_pd(B, w, u));
        _mm256_storeu_pd(y + i, _mm256_fmadd_pd(A, u, w));
    }
    for (; i < n; i++) {
        double u = x[i], w = y[i];
        x[i] = qk__fma(b, w, u);
        y[i] = qk__fma(a, u, w);
    }
}

static void jstep_avx2(const double *x0, const double *x1, double *y0, double *y1, int h, double a, double b,
                       const double *as, const double *bs)
{
    const double *x0b = x0 + h + 8, *x1b = x1 + h + 8;
    double *y0t = y0 + 4, *y1t = y1 + 4, *y0b = y0 + h + 4, *y1b = y1 + h + 4;
    __m256d A = _mm256_set1_pd(a), B = _mm256_set1_pd(b);
    int o = 0;
    for (; o + 4 <= h; o += 4) {
        __m256d u = _mm256_loadu_pd(x0 + o), w = _mm256_loadu_pd(x1 + o);
        __m256d ub = _mm256_loadu_pd(x0b + o), wb = _mm256_loadu_pd(x1b + o);
        __m256d r0t = _mm256_fmadd_pd(B, w, u), r1t = _mm256_fmadd_pd(A, u, w);
        __m256d r0b = _mm256_fmadd_pd(B, wb, ub), r1b = _mm256_fmadd_pd(A, ub, wb);
        __m256d ao = _mm256_loadu_pd(as + o), bo = _mm256_loadu_pd(bs + o);
        _mm256_storeu_pd(y0t + o, _mm256_fmadd_pd(bo, r0b, r0t));
        _mm256_storeu_pd(y0b + o, _mm256_fmadd_pd(ao, r0t, r0b));
        _mm256_storeu_pd(y1t + o, _mm256_fmadd_pd(bo, r1b, r1t));
        _mm256_storeu_pd(y1b + o, _mm256_fmadd_pd(ao, r1t, r1b));
    }
    for (; o < h; o++) {
        double u = x0[o], w = x1[o], ub = x0b[o], wb = x1b[o];
        double r0t = qk__fma(b, w, u), r1t = qk__fma(a, u, w);
        double r0b = qk__fma(b, wb, ub), r1b = qk__fma(a, ub, wb);
        double ao = as[o], bo = bs[o];
        y0t[o] = qk__fma(bo, r0b, r0t);
        y0b[o] = qk__fma(ao, r0t, r0b);
        y1t[o] = qk__fma(bo, r1b, r1t);
        y1b[o] = qk__fma(ao, r1t, r1b);
    }
}

/* Lanes 0-3 in the first register, 4-7 in the second (SPEC §2.4). */
static void jdot3_avx2(const double *x, const double *y, int n, double out[3])
{
    __m256d a0 = _mm256_setzero_pd(), a1 = a0, b0 = a0, b1 = a0, g0 = a0, g1 = a0;
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256d x0 = _mm256_loadu_pd(x + i), x1 = _mm256_loadu_pd(x + i + 4);
        __m256d u0 = _mm256_loadu_pd(y + i), u1 = _mm256_loadu_pd(y + i + 4);
        a0 = _mm256_fmadd_pd(x0, x0, a0);
        a1 = _mm256_fmadd_pd(x1, x1, a1);
        b0 = _mm256_fmadd_pd(u0, u0, b0);
        b1 = _mm256_fmadd_pd(u1, u1, b1);
        g0 = _mm256_fmadd_pd(x0, u0, g0);
        g1 = _mm256_fmadd_pd(x1, u1, g1);
    }
    double a[8], b[8], g[8];
    _mm256_storeu_pd(a, a0);
    _mm256_storeu_pd(a + 4, a1);
    _mm256_storeu_pd(b, b0);
    _mm256_storeu_pd(b + 4, b1);
    _mm256_storeu_pd(g, g0);
    _mm256_storeu_pd(g + 4, g1);
    for (; i < n; i++) {
        a[i & 7] = qk__fma(x[i], x[i], a[i & 7]);
        b[i & 7] = qk__fma(y[i], y[i], b[i & 7]);
        g[i & 7] = qk__fma(x[i], y[i], g[i & 7]);
    }
    out[0] = qk__combine8d(a);
    out[1] = qk__combine8d(b);
    out[2] = qk__combine8d(g);
}

/* The angles, 4 pairs per register: both branches are computed and blended, so each
 * lane does the IEEE operations of kern_scalar.c's branch it takes. */
static void jangle_avx2(int h, double tol, const double *g, double *o)
{
    const __m256d sgn = _mm256_set1_pd(-0.0), zero = _mm256_setzero_pd(), one = _mm256_set1_pd(1.0);
    const __m256d half = _mm256_set1_pd(0.5), tiny = _mm256_set1_pd(0x1p-1022), big = _mm256_set1_pd(0x1p500);
    const __m256d T = _mm256_set1_pd(tol);
    int k = 0;
    for (; k + 4 <= h; k += 4) {
        __m256d app = _mm256_loadu_pd(g + k), aqq = _mm256_loadu_pd(g + h + k), apq = _mm256_loadu_pd(g + 2 * h + k);
        __m256d dp = _mm256_loadu_pd(g + 3 * h + k), dq = _mm256_loadu_pd(g + 4 * h + k);
        __m256d aa = _mm256_andnot_pd(sgn, apq);
        __m256d thr = _mm256_mul_pd(_mm256_mul_pd(T, _mm256_sqrt_pd(_mm256_andnot_pd(sgn, app))),
                                    _mm256_sqrt_pd(_mm256_andnot_pd(sgn, aqq)));
        __m256d rot = _mm256_and_pd(_mm256_cmp_pd(aa, tiny, _CMP_GE_OQ), _mm256_cmp_pd(aa, thr, _CMP_GT_OQ));
        if (_mm256_movemask_pd(rot) == 0) {
            for (int j = 0; j < 5; j++) _mm256_storeu_pd(o + j * h + k, zero);
            continue;
        }
        __m256d r = _mm256_div_pd(dq, dp);
        __m256d dd = _mm256_fmadd_pd(r, aqq, _mm256_xor_pd(sgn, _mm256_div_pd(app, r)));
        __m256d t1 = _mm256_div_pd(apq, dd);
        __m256d theta = _mm256_div_pd(_mm256_mul_pd(half, dd), apq);
        __m256d w = _mm256_div_pd(one, _mm256_add_pd(_mm256_andnot_pd(sgn, theta),
                                                     _mm256_sqrt_pd(_mm256_fmadd_pd(theta, theta, one))));
        __m256d t2 = _mm256_blendv_pd(w, _mm256_xor_pd(sgn, w), _mm256_cmp_pd(theta, zero, _CMP_LT_OQ));
        __m256d t = _mm256_blendv_pd(t2, t1, _mm256_cmp_pd(_mm256_andnot_pd(sgn, dd), _mm256_mul_pd(big, aa), _CMP_GT_OQ));
        __m256d u = _mm256_fmadd_pd(t, t, one);
        __m256d al = _mm256_div_pd(t, r), be = _mm256_xor_pd(sgn, _mm256_mul_pd(t, r));
        __m256d c = _mm256_div_pd(one, _mm256_sqrt_pd(u));
        __m256d np = _mm256_mul_pd(_mm256_fmadd_pd(be, apq, app), u), nq = _mm256_mul_pd(_mm256_fmadd_pd(al, apq, aqq), u);
        _mm256_storeu_pd(o + k, _mm256_and_pd(rot, al));
        _mm256_storeu_pd(o + h + k, _mm256_and_pd(rot, be));
        _mm256_storeu_pd(o + 2 * h + k, _mm256_and_pd(rot, c));
        _mm256_storeu_pd(o + 3 * h + k, _mm256_and_pd(rot, np));
        _mm256_storeu_pd(o + 4 * h + k, _mm256_and_pd(rot, nq));
    }
    for (; k < h; k++) {
        double app = g[k], aqq = g[h + k], apq = g[2 * h + k], dp = g[3 * h + k], dq = g[4 * h + k];
        double aa = fabs(apq), t;
        o[k] = o[h + k] = o[2 * h + k] = o[3 * h + k] = o[4 * h + k] = 0.0;
        if (!(aa >= 0x1p-1022) || !(aa > tol * sqrt(fabs(app)) * sqrt(fabs(aqq)))) continue;
        double r = dq / dp, dd = qk__fma(r, aqq, -(app / r));
        if (fabs(dd) > 0x1p500 * aa) {
            t = apq / dd;
        } else {
            double theta = 0.5 * dd / apq;
            double w = 1.0 / (fabs(theta) + sqrt(qk__fma(theta, theta, 1.0)));
            t = theta < 0.0 ? -w : w;
        }
        double u = qk__fma(t, t, 1.0), al = t / r, be = -(t * r);
        o[k] = al;
        o[h + k] = be;
        o[2 * h + k] = 1.0 / sqrt(u);
        o[3 * h + k] = qk__fma(be, apq, app) * u;
        o[4 * h + k] = qk__fma(al, apq, aqq) * u;
    }
}

/* Scalar, but with the fma instruction inline (this file is compiled with -mfma). */
static void jfcols_avx2(double *r, int nr, const int *cp, const int *cq, const double *a, const double *b)
{
    for (int i = 0; i < nr; i++) {
        double x = r[cp[i]], y = r[cq[i]];
        r[cp[i]] = qk__fma(b[i], y, x);
        r[cq[i]] = qk__fma(a[i], x, y);
    }
}
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#else
typedef int qk__empty_unit_qk_have_avx2; /* ISO C: no empty translation unit */
#endif
