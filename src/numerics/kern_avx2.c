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

/* qk_expf on 4 lanes in double; mirrors qk_math.c step by step. */
static __m128 exp4(__m128 x)
{
    __m128 hi = _mm_set1_ps(QK__EXPF_HI), lo = _mm_set1_ps(QK__EXPF_LO);
    x = _mm_blendv_ps(x, hi, _mm_cmp_ps(x, hi, _CMP_GT_OQ));
    x = _mm_blendv_ps(x, lo, _mm_cmp_ps(x, lo, _CMP_LT_OQ));
    __m256d xd = _mm256_cvtps_pd(x), shift = _mm256_set1_pd(QK__SHIFT);
    __m256d t = _mm256_fmadd_pd(xd, _mm256_set1_pd(QK__LOG2E), shift);
    __m256d kd = _mm256_sub_pd(t, shift);
    __m256d r = _mm256_fnmadd_pd(kd, _mm256_set1_pd(QK__LN2_HI), xd);
    r = _mm256_fnmadd_pd(kd, _mm256_set1_pd(QK__LN2_LO), r);
    __m256i k = _mm256_sub_epi64(_mm256_castpd_si256(t), _mm256_castpd_si256(shift));
    __m256d scale = _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_add_epi64(k, _mm256_set1_epi64x(1023)), 52));
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
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0));
    return _mm256_cvtpd_ps(_mm256_mul_pd(p, scale));
}

static void vexpf_avx2(float *y, const float *x, int n)
{
    int i = 0;
    for (; i + 4 <= n; i += 4) _mm_storeu_ps(y + i, exp4(_mm_loadu_ps(x + i)));
    for (; i < n; i++) y[i] = qk_expf(x[i]);
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
