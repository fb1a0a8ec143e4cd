/* kern_avx512.c — AVX-512 kernels (avx512f/vl/dq; chosen by qk_isa.c after CPUID and
 * XGETBV checks). Same operations as kern_scalar.c lane by lane (SPEC §2):
 *   - products vectorise across output columns, never across k (SPEC §2.3): an 8 x 32
 *     tile of 16 zmm accumulators, each lane one fmaf chain over k in increasing order;
 *   - reductions keep the 8 lanes of SPEC §2.4 in one ymm (or, in double, one zmm)
 *     register; the wider registers serve products and element-wise work only;
 *   - exp, GELU and the Jacobi rotations evaluate the scalar code's IEEE operations in
 *     8 double lanes; where the scalar code branches, both sides are computed and each
 *     lane takes its own, and where it leaves a loop early, each lane's value is taken
 *     at its own exit, so every lane ends with exactly the scalar bits;
 *   - LayerNorm's element-wise steps do its float operations in 16 lanes; the packing
 *     of a transposed operand (a copy) transposes 8 x 8 blocks in registers.
 * Every tail is done with masked loads, stores and arithmetic: no lane outside the
 * data is read, written or folded into a result. */
#include "qk_fp.h"
#include "qk_kernels.h"
#if defined(QK_HAVE_AVX512)
#include <immintrin.h>
#include <math.h>

/* Every function below is compiled for AVX-512 whatever the file's flags (the table is
 * used only after qk_isa.c's CPUID/XGETBV check), so one build file serves every host. */
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512vl,avx512dq,avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512dq,avx2,fma")
#endif

#define MR 8
#define NR 32

/* ---------------------------------------------------------------- matrix product */
/* C tile (R rows, n <= 32 columns) += chain over k (SPEC §2.3). Row r of op(A) at k is
 * AK(r); row k of op(B) is b + k·ldb (32 floats, the lanes beyond n masked off and never
 * stored). The 16 accumulators are named variables so that they stay in registers; the
 * rows r >= R are removed at compile time. */
#define T_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
#define T_DECL(r) __m512 c##r##0 = _mm512_setzero_ps(), c##r##1 = _mm512_setzero_ps();
#define T_LOAD(r)                                                                      \
    if (r < R && load_c) {                                                             \
        c##r##0 = _mm512_maskz_loadu_ps(m0, c + (ptrdiff_t)(r) * ldc);                 \
        c##r##1 = _mm512_maskz_loadu_ps(m1, c + (ptrdiff_t)(r) * ldc + 16);            \
    }
#define T_FMA(r)                                                                       \
    if (r < R) {                                                                       \
        __m512 ar = _mm512_set1_ps(AK(r));                                             \
        c##r##0 = _mm512_fmadd_ps(ar, b0, c##r##0);                                    \
        c##r##1 = _mm512_fmadd_ps(ar, b1, c##r##1);                                    \
    }
#define T_STORE(r)                                                                     \
    if (r < R) {                                                                       \
        _mm512_mask_storeu_ps(c + (ptrdiff_t)(r) * ldc, m0, c##r##0);                  \
        _mm512_mask_storeu_ps(c + (ptrdiff_t)(r) * ldc + 16, m1, c##r##1);             \
    }
/* One k step (kk) of the full-width tile, and of a tile of n < 32 columns (masked) */
#define T_KSTEP(KK)                                                                    \
    {                                                                                  \
        const int kk = (KK);                                                           \
        const float *bk = b + (ptrdiff_t)kk * ldb;                                     \
        __m512 b0 = _mm512_loadu_ps(bk), b1 = _mm512_loadu_ps(bk + 16);                \
        T_ROWS(T_FMA)                                                                  \
    }
#define T_KSTEP_MASKED(KK)                                                             \
    {                                                                                  \
        const int kk = (KK);                                                           \
        const float *bk = b + (ptrdiff_t)kk * ldb;                                     \
        __m512 b0 = _mm512_maskz_loadu_ps(m0, bk), b1 = _mm512_maskz_loadu_ps(m1, bk + 16); \
        T_ROWS(T_FMA)                                                                  \
    }
/* k in increasing order; two steps per iteration (the chains are unchanged: each
 * accumulator still takes its k one after the other) */
#define T_BODY                                                                         \
    const __mmask16 m0 = n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1u);    \
    const __mmask16 m1 = n >= 32 ? (__mmask16)0xffff : n <= 16 ? (__mmask16)0 : (__mmask16)((1u << (n - 16)) - 1u); \
    T_ROWS(T_DECL)                                                                     \
    T_ROWS(T_LOAD)                                                                     \
    int k = 0;                                                                         \
    if (n == NR) {                                                                     \
        for (; k + 2 <= kc; k += 2) {                                                  \
            T_KSTEP(k)                                                                 \
            T_KSTEP(k + 1)                                                             \
        }                                                                              \
        for (; k < kc; k++) T_KSTEP(k)                                                 \
    } else {                                                                           \
        for (; k < kc; k++) T_KSTEP_MASKED(k)                                          \
    }                                                                                  \
    T_ROWS(T_STORE)

/* op(A) stored k-major: row r at k is a[k·acs + r] (a packed panel, or Aᵀ in place). */
#define AK(r) a[(ptrdiff_t)kk * acs + (r)]
#define DEF_TILE_K(ROWS)                                                               \
    static void tile_k##ROWS(int kc, const float *a, ptrdiff_t acs, const float *b, ptrdiff_t ldb, float *c, \
                             ptrdiff_t ldc, int n, int load_c)                         \
    {                                                                                  \
        enum { R = ROWS };                                                             \
        T_BODY                                                                         \
    }
DEF_TILE_K(1) DEF_TILE_K(2) DEF_TILE_K(3) DEF_TILE_K(4) DEF_TILE_K(5) DEF_TILE_K(6) DEF_TILE_K(7) DEF_TILE_K(8)
#undef AK

/* op(A) stored row-major: row r at k is a[r·ars + k] (A in place, no packing). */
#define AK(r) a##r[kk]
#define T_ROWPTR(r) const float *a##r = a + (ptrdiff_t)(r < R ? r : 0) * ars;
#define DEF_TILE_R(ROWS)                                                               \
    static void tile_r##ROWS(int kc, const float *a, ptrdiff_t ars, const float *b, ptrdiff_t ldb, float *c, \
                             ptrdiff_t ldc, int n, int load_c)                         \
    {                                                                                  \
        enum { R = ROWS };                                                             \
        T_ROWS(T_ROWPTR)                                                               \
        T_BODY                                                                         \
    }
DEF_TILE_R(1) DEF_TILE_R(2) DEF_TILE_R(3) DEF_TILE_R(4) DEF_TILE_R(5) DEF_TILE_R(6) DEF_TILE_R(7) DEF_TILE_R(8)
#undef AK

typedef void (*tile_fn)(int, const float *, ptrdiff_t, const float *, ptrdiff_t, float *, ptrdiff_t, int, int);
/* by the number of rows m (1..MR): an edge tile of fewer rows does only its rows */
static const tile_fn tiles_k[MR + 1] = {0, tile_k1, tile_k2, tile_k3, tile_k4, tile_k5, tile_k6, tile_k7, tile_k8};
static const tile_fn tiles_r[MR + 1] = {0, tile_r1, tile_r2, tile_r3, tile_r4, tile_r5, tile_r6, tile_r7, tile_r8};

static void gemm_tile_s_avx512(int kc, const float *a, ptrdiff_t ars, ptrdiff_t acs, const float *b, ptrdiff_t ldb,
                               float *c, int ldc, int m, int n, int load_c)
{
    if (m <= 0 || n <= 0) return;
    if (acs == 1 && ars != 1) tiles_r[m](kc, a, ars, b, ldb, c, ldc, n, load_c);
    else tiles_k[m](kc, a, acs, b, ldb, c, ldc, n, load_c);
}

/* The packed interface of the table: ap (kc, MR), bp (kc, NR). */
static void gemm_tile_avx512(int kc, const float *ap, const float *bp, float *c, int ldc, int m, int n, int load_c)
{
    if (m <= 0 || n <= 0) return;
    tiles_k[m](kc, ap, MR, bp, NR, c, ldc, n, load_c);
}

/* A transposed B's micro-panel: 8 x 8 blocks transposed in registers (a copy: no
 * arithmetic, so no bits to keep), the edges element by element. */
static inline void transpose8(__m256 r[8])
{
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xee);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xee);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xee);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xee);
    r[0] = _mm256_permute2f128_ps(u0, u4, 0x20), r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
    r[1] = _mm256_permute2f128_ps(u1, u5, 0x20), r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    r[2] = _mm256_permute2f128_ps(u2, u6, 0x20), r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
    r[3] = _mm256_permute2f128_ps(u3, u7, 0x20), r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

static void pack_bt_avx512(float *dst, int nr, const float *src, ptrdiff_t lds, int n, int kc)
{
    int c = 0;
    for (; c + 8 <= n; c += 8) {
        int k = 0;
        for (; k + 8 <= kc; k += 8) {
            __m256 r[8];
            for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(src + (c + i) * lds + k);
            transpose8(r);
            for (int i = 0; i < 8; i++) _mm256_storeu_ps(dst + (ptrdiff_t)(k + i) * nr + c, r[i]);
        }
        for (; k < kc; k++)
            for (int i = 0; i < 8; i++) dst[(ptrdiff_t)k * nr + c + i] = src[(c + i) * lds + k];
    }
    for (; c < n; c++)
        for (int k = 0; k < kc; k++) dst[(ptrdiff_t)k * nr + c] = src[c * lds + k];
}

/* ---------------------------------------------------------------- reductions (SPEC §2.4) */
/* The 8 lanes in one ymm register, each lane in increasing i; the tail adds into its
 * lanes under a mask (the other lanes keep their bits). */
static inline __mmask8 tail8(int r) { return (__mmask8)((1u << r) - 1u); }

static float sum_avx512(const float *x, int n)
{
    __m256 acc = _mm256_setzero_ps();
    int i = 0;
    for (; i + 8 <= n; i += 8) acc = _mm256_add_ps(acc, _mm256_loadu_ps(x + i));
    if (i < n) {
        __mmask8 k = tail8(n - i);
        acc = _mm256_mask_add_ps(acc, k, acc, _mm256_maskz_loadu_ps(k, x + i));
    }
    float l[8];
    _mm256_storeu_ps(l, acc);
    return qk__combine8(l);
}

static float dot_avx512(const float *x, const float *y, int n)
{
    __m256 acc = _mm256_setzero_ps();
    int i = 0;
    for (; i + 8 <= n; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), acc);
    if (i < n) {
        __mmask8 k = tail8(n - i);
        acc = _mm256_mask3_fmadd_ps(_mm256_maskz_loadu_ps(k, x + i), _mm256_maskz_loadu_ps(k, y + i), acc, k);
    }
    float l[8];
    _mm256_storeu_ps(l, acc);
    return qk__combine8(l);
}

/* ---------------------------------------------------------------- LayerNorm, element-wise */
/* The float operations of qk_vector.c per element (16 lanes; the tail under a mask). */
static inline __mmask16 tail16(int i, int n) { return n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1u); }

static void ln_center_avx512(float *y, const float *x, float m, int n)
{
    const __m512 M = _mm512_set1_ps(m);
    for (int i = 0; i < n; i += 16) {
        __mmask16 k = tail16(i, n);
        _mm512_mask_storeu_ps(y + i, k, _mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), M));
    }
}

static void ln_scale_avx512(float *y, float rs, const float *gamma, const float *beta, int n)
{
    const __m512 R = _mm512_set1_ps(rs);
    for (int i = 0; i < n; i += 16) {
        __mmask16 k = tail16(i, n);
        __m512 t = _mm512_mul_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(k, y + i), R), _mm512_maskz_loadu_ps(k, gamma + i));
        _mm512_mask_storeu_ps(y + i, k, _mm512_add_ps(t, _mm512_maskz_loadu_ps(k, beta + i)));
    }
}

static void ln_bwd_prep_avx512(float *norm, float *g, const float *x, const float *dy, const float *gamma, float mean,
                               float rstd, int n)
{
    const __m512 M = _mm512_set1_ps(mean), R = _mm512_set1_ps(rstd);
    for (int i = 0; i < n; i += 16) {
        __mmask16 k = tail16(i, n);
        _mm512_mask_storeu_ps(norm + i, k, _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), M), R));
        _mm512_mask_storeu_ps(g + i, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, gamma + i), _mm512_maskz_loadu_ps(k, dy + i)));
    }
}

static void ln_bwd_dx_avx512(float *dx, const float *norm, const float *g, float gmean, float gnmean, float rstd, int n)
{
    const __m512 GM = _mm512_set1_ps(gmean), GN = _mm512_set1_ps(gnmean), R = _mm512_set1_ps(rstd);
    for (int i = 0; i < n; i += 16) {
        __mmask16 k = tail16(i, n);
        __m512 t = _mm512_sub_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, g + i), GM),
                                 _mm512_mul_ps(_mm512_maskz_loadu_ps(k, norm + i), GN));
        _mm512_mask_storeu_ps(dx + i, k, _mm512_add_ps(_mm512_maskz_loadu_ps(k, dx + i), _mm512_mul_ps(t, R)));
    }
}

static void ln_bwd_dgb_avx512(float *dgamma, float *dbeta, const float *dy, const float *norm, int n)
{
    for (int i = 0; i < n; i += 16) {
        __mmask16 k = tail16(i, n);
        __m512 d = _mm512_maskz_loadu_ps(k, dy + i);
        _mm512_mask_storeu_ps(dgamma + i, k, _mm512_add_ps(_mm512_maskz_loadu_ps(k, dgamma + i),
                                                           _mm512_mul_ps(d, _mm512_maskz_loadu_ps(k, norm + i))));
        _mm512_mask_storeu_ps(dbeta + i, k, _mm512_add_ps(_mm512_maskz_loadu_ps(k, dbeta + i), d));
    }
}

/* ---------------------------------------------------------------- exp */
/* qk_exp's core in 8 double lanes: e^r·2^k by the reduction of qk_math.c (the shifter
 * trick, r in two fma steps, the Taylor polynomial of degree 13). split: 2^k applied in
 * two halves k1 = trunc(k/2), k2 = k - k1 (qk_exp), else in one (qk_expf). */
static inline __m512d exp_core8(__m512d x, int split)
{
    const __m512d shift = _mm512_set1_pd(QK__SHIFT);
    __m512d t = _mm512_fmadd_pd(x, _mm512_set1_pd(QK__LOG2E), shift);
    __m512d kd = _mm512_sub_pd(t, shift);
    __m512d r = _mm512_fnmadd_pd(kd, _mm512_set1_pd(QK__LN2_HI), x);
    r = _mm512_fnmadd_pd(kd, _mm512_set1_pd(QK__LN2_LO), r);
    __m512i k = _mm512_sub_epi64(_mm512_castpd_si512(t), _mm512_castpd_si512(shift));
    __m512d p = _mm512_set1_pd(QK__EXP_C13);
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(QK__EXP_C12));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(QK__EXP_C11));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(QK__EXP_C10));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(QK__EXP_C9));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(QK__EXP_C8));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(QK__EXP_C7));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(QK__EXP_C6));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(QK__EXP_C5));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(QK__EXP_C4));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(QK__EXP_C3));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(QK__EXP_C2));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(1.0));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(1.0));
    const __m512i bias = _mm512_set1_epi64(1023);
    if (!split) {
        __m512d scale = _mm512_castsi512_pd(_mm512_slli_epi64(_mm512_add_epi64(k, bias), 52));
        return _mm512_mul_pd(p, scale);
    }
    /* k1 = k/2 rounded toward zero: (k + (k < 0)) >> 1, arithmetic */
    __m512i k1 = _mm512_srai_epi64(_mm512_add_epi64(k, _mm512_srli_epi64(k, 63)), 1);
    __m512i k2 = _mm512_sub_epi64(k, k1);
    __m512d s1 = _mm512_castsi512_pd(_mm512_slli_epi64(_mm512_add_epi64(k1, bias), 52));
    __m512d s2 = _mm512_castsi512_pd(_mm512_slli_epi64(_mm512_add_epi64(k2, bias), 52));
    return _mm512_mul_pd(_mm512_mul_pd(p, s1), s2);
}

/* qk_expf on 8 lanes: clamp by comparison (a NaN passes), the core in double, one
 * rounding to float. */
static inline __m256 expf8(__m256 x)
{
    const __m256 hi = _mm256_set1_ps(QK__EXPF_HI), lo = _mm256_set1_ps(QK__EXPF_LO);
    x = _mm256_mask_blend_ps(_mm256_cmp_ps_mask(x, hi, _CMP_GT_OQ), x, hi);
    x = _mm256_mask_blend_ps(_mm256_cmp_ps_mask(x, lo, _CMP_LT_OQ), x, lo);
    return _mm512_cvtpd_ps(exp_core8(_mm512_cvtps_pd(x), 0));
}

/* Four vectors of qk_expf at once, each step applied to all four before the next, so
 * that the long chain of the polynomial (13 dependent fma) overlaps across them. */
#define X4(S) S(0) S(1) S(2) S(3)
static inline void expf8x4(const float *x, float *y)
{
    const __m256 hi = _mm256_set1_ps(QK__EXPF_HI), lo = _mm256_set1_ps(QK__EXPF_LO);
    const __m512d shift = _mm512_set1_pd(QK__SHIFT);
    const __m512i bias = _mm512_set1_epi64(1023);
#define E_IN(i)                                                                                  \
    __m256 x##i = _mm256_loadu_ps(x + 8 * (i));                                                  \
    x##i = _mm256_mask_blend_ps(_mm256_cmp_ps_mask(x##i, hi, _CMP_GT_OQ), x##i, hi);             \
    x##i = _mm256_mask_blend_ps(_mm256_cmp_ps_mask(x##i, lo, _CMP_LT_OQ), x##i, lo);             \
    __m512d d##i = _mm512_cvtps_pd(x##i);                                                        \
    __m512d t##i = _mm512_fmadd_pd(d##i, _mm512_set1_pd(QK__LOG2E), shift);
#define E_R(i)                                                                                   \
    __m512d kd##i = _mm512_sub_pd(t##i, shift);                                                  \
    __m512d r##i = _mm512_fnmadd_pd(kd##i, _mm512_set1_pd(QK__LN2_HI), d##i);                    \
    r##i = _mm512_fnmadd_pd(kd##i, _mm512_set1_pd(QK__LN2_LO), r##i);                            \
    __m512d p##i = _mm512_set1_pd(QK__EXP_C13);
#define E_STEP(C) X4(E_STEP1_##C)
#define E_H(i, C) p##i = _mm512_fmadd_pd(p##i, r##i, _mm512_set1_pd(C));
#define E_OUT(i)                                                                                 \
    __m512i k##i = _mm512_sub_epi64(_mm512_castpd_si512(t##i), _mm512_castpd_si512(shift));      \
    __m512d s##i = _mm512_castsi512_pd(_mm512_slli_epi64(_mm512_add_epi64(k##i, bias), 52));     \
    _mm256_storeu_ps(y + 8 * (i), _mm512_cvtpd_ps(_mm512_mul_pd(p##i, s##i)));
    X4(E_IN)
    X4(E_R)
#define E_ALL(C) E_H(0, C) E_H(1, C) E_H(2, C) E_H(3, C)
    E_ALL(QK__EXP_C12) E_ALL(QK__EXP_C11) E_ALL(QK__EXP_C10) E_ALL(QK__EXP_C9) E_ALL(QK__EXP_C8)
    E_ALL(QK__EXP_C7) E_ALL(QK__EXP_C6) E_ALL(QK__EXP_C5) E_ALL(QK__EXP_C4) E_ALL(QK__EXP_C3)
    E_ALL(QK__EXP_C2) E_ALL(1.0) E_ALL(1.0)
    X4(E_OUT)
#undef E_IN
#undef E_R
#undef E_STEP
#undef E_H
#undef E_OUT
#undef E_ALL
}

static void vexpf_avx512(float *y, const float *x, int n)
{
    int i = 0;
    for (; i + 32 <= n; i += 32) expf8x4(x + i, y + i);
    for (; i < n; i += 8) {
        __mmask8 k = n - i >= 8 ? (__mmask8)0xff : tail8(n - i);
        _mm256_mask_storeu_ps(y + i, k, expf8(_mm256_maskz_loadu_ps(k, x + i)));
    }
}

/* ---------------------------------------------------------------- GELU, erf form */
/* qk_gelu_erff (qk_math.c), 16 lanes at a time (two registers of 8 doubles, so that
 * the loops' latency chains overlap). With z = x/sqrt(2) and a = |z|:
 *   z >= 0: 1 + erf z,  erf z = 1 (a >= 6), S(a) (a < 2), 1 - CF(a) (otherwise);
 *   z < 0:  erfc a = 1 - S(a) (a < 2), 0 (a > 27.3), CF(a) (otherwise);
 * S is qk_math.c's series, CF its continued fraction (modified Lentz), each a loop with
 * a data-dependent exit. Here all lanes step together; a lane's value is taken at the
 * step where its own exit test first holds (or at the scalar loop's bound), so it is
 * the value the scalar loop returns; what a lane computes after that is discarded.
 * a = 0 gives S = a at once (the scalar series adds +-0 terms for 399 steps and returns
 * the same +-0). */

/* -x: the sign bit flipped (as C's unary minus, also for +-0) */
static inline __m512d neg8(__m512d x) { return _mm512_xor_pd(x, _mm512_set1_pd(-0.0)); }

/* The series' sum for the lanes act0, act1 (a < 2); S = (2/sqrt(pi)·e^{-a²})·sum. */
static inline void erf_series16(__m512d a0, __mmask8 act0, __m512d a1, __mmask8 act1, __m512d *s0, __m512d *s1)
{
    const __m512d two = _mm512_set1_pd(2.0), ulp = _mm512_set1_pd(0x1p-56), zero = _mm512_setzero_pd();
    const __m512d x20 = _mm512_mul_pd(a0, a0), x21 = _mm512_mul_pd(a1, a1);
    const __m512d t20 = _mm512_mul_pd(two, x20), t21 = _mm512_mul_pd(two, x21);
    __m512d term0 = a0, sum0 = a0, out0 = a0, term1 = a1, sum1 = a1, out1 = a1;
    act0 &= _mm512_cmp_pd_mask(a0, zero, _CMP_NEQ_UQ);
    act1 &= _mm512_cmp_pd_mask(a1, zero, _CMP_NEQ_UQ);
    for (int n = 1; n < 400 && (act0 | act1); n++) {
        const __m512d den = _mm512_set1_pd((double)(2 * n + 1));
        term0 = _mm512_mul_pd(term0, _mm512_div_pd(t20, den)); /* term *= 2.0 * x2 / (2n + 1) */
        term1 = _mm512_mul_pd(term1, _mm512_div_pd(t21, den));
        sum0 = _mm512_add_pd(sum0, term0);
        sum1 = _mm512_add_pd(sum1, term1);
        __mmask8 d0 = act0 & _mm512_cmp_pd_mask(term0, _mm512_mul_pd(sum0, ulp), _CMP_LT_OQ);
        __mmask8 d1 = act1 & _mm512_cmp_pd_mask(term1, _mm512_mul_pd(sum1, ulp), _CMP_LT_OQ);
        out0 = _mm512_mask_mov_pd(out0, d0, sum0);
        out1 = _mm512_mask_mov_pd(out1, d1, sum1);
        act0 &= ~d0;
        act1 &= ~d1;
        if (n == 399) { /* the bound: the lanes still running return their sum */
            out0 = _mm512_mask_mov_pd(out0, act0, sum0);
            out1 = _mm512_mask_mov_pd(out1, act1, sum1);
        }
    }
    *s0 = out0;
    *s1 = out1;
}

/* The continued fraction's f for the lanes act0, act1; CF = (e^{-a²}/sqrt(pi))/f. */
static inline void erfc_cf16(__m512d a0, __mmask8 act0, __m512d a1, __mmask8 act1, __m512d *f0o, __m512d *f1o)
{
    const __m512d tiny = _mm512_set1_pd(0x1p-600), one = _mm512_set1_pd(1.0), eps = _mm512_set1_pd(0x1p-54);
    const __m512d zero = _mm512_setzero_pd();
    __m512d f0 = a0, C0 = a0, D0 = zero, out0 = a0, f1 = a1, C1 = a1, D1 = zero, out1 = a1;
#define QK__LENTZ(f, C, D, a, act, out)                                                  \
    do {                                                                                \
        D = _mm512_add_pd(a, _mm512_mul_pd(an, D));                                     \
        D = _mm512_mask_blend_pd(_mm512_cmp_pd_mask(D, zero, _CMP_EQ_OQ), D, tiny);     \
        C = _mm512_add_pd(a, _mm512_div_pd(an, C));                                     \
        C = _mm512_mask_blend_pd(_mm512_cmp_pd_mask(C, zero, _CMP_EQ_OQ), C, tiny);     \
        D = _mm512_div_pd(one, D);                                                      \
        __m512d delta = _mm512_mul_pd(C, D);                                            \
        f = _mm512_mul_pd(f, delta);                                                    \
        __mmask8 done = act & _mm512_cmp_pd_mask(_mm512_sub_pd(delta, one), eps, _CMP_LT_OQ) & \
                        _mm512_cmp_pd_mask(_mm512_sub_pd(one, delta), eps, _CMP_LT_OQ); \
        out = _mm512_mask_mov_pd(out, done, f);                                         \
        act &= ~done;                                                                   \
        if (n == 499) out = _mm512_mask_mov_pd(out, act, f);                            \
    } while (0)
    for (int n = 1; n < 500 && (act0 | act1); n++) {
        const __m512d an = _mm512_set1_pd(0.5 * n);
        QK__LENTZ(f0, C0, D0, a0, act0, out0);
        QK__LENTZ(f1, C1, D1, a1, act1, out1);
    }
#undef QK__LENTZ
    *f0o = out0;
    *f1o = out1;
}

/* qk_exp (double) of x <= 0 or -Inf, as qk_math.c: 0 below -745.2. */
static inline __m512d exp_neg8(__m512d x)
{
    __mmask8 under = _mm512_cmp_pd_mask(x, _mm512_set1_pd(-745.2), _CMP_LT_OQ);
    __m512d e = exp_core8(_mm512_mask_blend_pd(under, x, _mm512_set1_pd(-745.0)), 1); /* k in range */
    return _mm512_mask_blend_pd(under, e, _mm512_setzero_pd());
}

typedef struct {
    __m512d xd, a;
    __mmask8 nan, neg, small, ge6, gt27, ser, cf;
} gelu_lanes;

static inline gelu_lanes gelu_classify(__m256 x)
{
    const __m512d zero = _mm512_setzero_pd();
    gelu_lanes g;
    g.xd = _mm512_cvtps_pd(x);
    __m512d z = _mm512_mul_pd(g.xd, _mm512_set1_pd(0x1.6a09e667f3bcdp-1)); /* x/sqrt(2) */
    g.nan = _mm512_cmp_pd_mask(g.xd, g.xd, _CMP_UNORD_Q);
    __mmask8 pos = _mm512_cmp_pd_mask(z, zero, _CMP_GE_OQ);
    g.neg = _mm512_cmp_pd_mask(z, zero, _CMP_LT_OQ);
    g.a = _mm512_mask_blend_pd(g.neg, z, neg8(z)); /* z < 0 ? -z : z */
    g.small = _mm512_cmp_pd_mask(g.a, _mm512_set1_pd(2.0), _CMP_LT_OQ);
    g.ge6 = _mm512_cmp_pd_mask(g.a, _mm512_set1_pd(6.0), _CMP_GE_OQ);
    g.gt27 = _mm512_cmp_pd_mask(g.a, _mm512_set1_pd(27.3), _CMP_GT_OQ);
    g.ser = (pos | g.neg) & g.small;
    g.cf = (pos & ~g.small & ~g.ge6) | (g.neg & ~g.small & ~g.gt27);
    return g;
}

/* (float)(0.5·x·one_plus), one_plus from the lanes' sums (series) and f (fraction) */
static inline __m256 gelu_finish(__m256 x, const gelu_lanes *g, __m512d sum, __m512d f)
{
    const __m512d one = _mm512_set1_pd(1.0), zero = _mm512_setzero_pd();
    __m512d s = zero, t = zero;
    if (g->ser) {
        __m512d x2 = _mm512_mul_pd(g->a, g->a);
        s = _mm512_mul_pd(_mm512_mul_pd(_mm512_set1_pd(0x1.20dd750429b6dp0), exp_neg8(neg8(x2))), sum);
    }
    if (g->cf) {
        __m512d e = exp_neg8(_mm512_mul_pd(neg8(g->a), g->a));
        t = _mm512_div_pd(_mm512_mul_pd(_mm512_set1_pd(0x1.20dd750429b6dp-1), e), f);
    }
    /* z >= 0: 1 + r with r = 1 | S | 1 - CF; z < 0: 1 - S | 0 | CF */
    __m512d r = _mm512_mask_blend_pd(g->small, _mm512_sub_pd(one, t), s);
    r = _mm512_mask_blend_pd(g->ge6, r, one);
    __m512d op_pos = _mm512_add_pd(one, r);
    __m512d op_neg = _mm512_mask_blend_pd(g->small, t, _mm512_sub_pd(one, s));
    op_neg = _mm512_mask_blend_pd(g->gt27 & ~g->small, op_neg, zero);
    __m512d op = _mm512_mask_blend_pd(g->neg, op_pos, op_neg);
    __m256 y = _mm512_cvtpd_ps(_mm512_mul_pd(_mm512_mul_pd(_mm512_set1_pd(0.5), g->xd), op));
    y = _mm256_mask_blend_ps(g->nan, y, _mm256_add_ps(x, x));
    __mmask8 minf = _mm256_cmp_ps_mask(x, _mm256_set1_ps(-INFINITY), _CMP_EQ_OQ);
    return _mm256_mask_blend_ps(minf, y, _mm256_set1_ps(-0.0f));
}

static void vgelu_erff_avx512(float *y, const float *x, int n)
{
    for (int i = 0; i < n; i += 16) {
        __mmask8 k0 = n - i >= 8 ? (__mmask8)0xff : tail8(n - i);
        __mmask8 k1 = n - i >= 16 ? (__mmask8)0xff : n - i <= 8 ? (__mmask8)0 : tail8(n - i - 8);
        __m256 x0 = _mm256_maskz_loadu_ps(k0, x + i), x1 = _mm256_maskz_loadu_ps(k1, x + i + 8);
        gelu_lanes g0 = gelu_classify(x0), g1 = gelu_classify(x1);
        g0.ser &= k0, g0.cf &= k0, g1.ser &= k1, g1.cf &= k1;
        __m512d s0 = _mm512_setzero_pd(), s1 = s0, f0 = s0, f1 = s0;
        if (g0.ser | g1.ser) erf_series16(g0.a, g0.ser, g1.a, g1.ser, &s0, &s1);
        if (g0.cf | g1.cf) erfc_cf16(g0.a, g0.cf, g1.a, g1.cf, &f0, &f1);
        _mm256_mask_storeu_ps(y + i, k0, gelu_finish(x0, &g0, s0, f0));
        if (k1) _mm256_mask_storeu_ps(y + i + 8, k1, gelu_finish(x1, &g1, s1, f1));
    }
}

/* ---------------------------------------------------------------- Jacobi (double) */
/* The operations of kern_scalar.c on 8 lanes; a tail of r < 8 elements under a mask. */
static inline __mmask8 mask_at(int i, int n) { return n - i >= 8 ? (__mmask8)0xff : tail8(n - i); }

/* x' = fma(c, x, -(s*y)) = fmsub(c, x, s*y), y' = fma(c, y, s*x) */
static void jrot_avx512(double *x, double *y, int n, double c, double s)
{
    const __m512d C = _mm512_set1_pd(c), S = _mm512_set1_pd(s);
    for (int i = 0; i < n; i += 8) {
        __mmask8 k = mask_at(i, n);
        __m512d a = _mm512_maskz_loadu_pd(k, x + i), b = _mm512_maskz_loadu_pd(k, y + i);
        _mm512_mask_storeu_pd(x + i, k, _mm512_fmsub_pd(C, a, _mm512_mul_pd(S, b)));
        _mm512_mask_storeu_pd(y + i, k, _mm512_fmadd_pd(C, b, _mm512_mul_pd(S, a)));
    }
}

/* x' = fma(b, y, x), y' = fma(a, x, y) */
static void jfrot_avx512(double *x, double *y, int n, double a, double b)
{
    const __m512d A = _mm512_set1_pd(a), B = _mm512_set1_pd(b);
    for (int i = 0; i < n; i += 8) {
        __mmask8 k = mask_at(i, n);
        __m512d u = _mm512_maskz_loadu_pd(k, x + i), w = _mm512_maskz_loadu_pd(k, y + i);
        _mm512_mask_storeu_pd(x + i, k, _mm512_fmadd_pd(B, w, u));
        _mm512_mask_storeu_pd(y + i, k, _mm512_fmadd_pd(A, u, w));
    }
}

static void jstep_avx512(const double *x0, const double *x1, double *y0, double *y1, int h, double a, double b,
                         const double *as, const double *bs)
{
    const double *x0b = x0 + h + 8, *x1b = x1 + h + 8;
    double *y0t = y0 + 4, *y1t = y1 + 4, *y0b = y0 + h + 4, *y1b = y1 + h + 4;
    const __m512d A = _mm512_set1_pd(a), B = _mm512_set1_pd(b);
    for (int o = 0; o < h; o += 8) {
        __mmask8 k = mask_at(o, h);
        __m512d u = _mm512_maskz_loadu_pd(k, x0 + o), w = _mm512_maskz_loadu_pd(k, x1 + o);
        __m512d ub = _mm512_maskz_loadu_pd(k, x0b + o), wb = _mm512_maskz_loadu_pd(k, x1b + o);
        __m512d r0t = _mm512_fmadd_pd(B, w, u), r1t = _mm512_fmadd_pd(A, u, w);
        __m512d r0b = _mm512_fmadd_pd(B, wb, ub), r1b = _mm512_fmadd_pd(A, ub, wb);
        __m512d ao = _mm512_maskz_loadu_pd(k, as + o), bo = _mm512_maskz_loadu_pd(k, bs + o);
        _mm512_mask_storeu_pd(y0t + o, k, _mm512_fmadd_pd(bo, r0b, r0t));
        _mm512_mask_storeu_pd(y0b + o, k, _mm512_fmadd_pd(ao, r0t, r0b));
        _mm512_mask_storeu_pd(y1t + o, k, _mm512_fmadd_pd(bo, r1b, r1t));
        _mm512_mask_storeu_pd(y1b + o, k, _mm512_fmadd_pd(ao, r1t, r1b));
    }
}

/* The 8 lanes of SPEC §2.4 are the 8 lanes of one zmm register. */
static void jdot3_avx512(const double *x, const double *y, int n, double out[3])
{
    __m512d a = _mm512_setzero_pd(), b = a, g = a;
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m512d u = _mm512_loadu_pd(x + i), w = _mm512_loadu_pd(y + i);
        a = _mm512_fmadd_pd(u, u, a);
        b = _mm512_fmadd_pd(w, w, b);
        g = _mm512_fmadd_pd(u, w, g);
    }
    if (i < n) {
        __mmask8 k = tail8(n - i);
        __m512d u = _mm512_maskz_loadu_pd(k, x + i), w = _mm512_maskz_loadu_pd(k, y + i);
        a = _mm512_mask3_fmadd_pd(u, u, a, k);
        b = _mm512_mask3_fmadd_pd(w, w, b, k);
        g = _mm512_mask3_fmadd_pd(u, w, g, k);
    }
    double la[8], lb[8], lg[8];
    _mm512_storeu_pd(la, a);
    _mm512_storeu_pd(lb, b);
    _mm512_storeu_pd(lg, g);
    out[0] = qk__combine8d(la);
    out[1] = qk__combine8d(lb);
    out[2] = qk__combine8d(lg);
}

/* The angles of 8 pairs per register: both branches computed and merged by masks, so
 * each lane does the IEEE operations of kern_scalar.c's branch it takes; a pair that
 * does not rotate gets +0 in all five outputs. */
static void jangle_avx512(int h, double tol, const double *g, double *o)
{
    const __m512d zero = _mm512_setzero_pd(), one = _mm512_set1_pd(1.0), half = _mm512_set1_pd(0.5);
    const __m512d tiny = _mm512_set1_pd(0x1p-1022), big = _mm512_set1_pd(0x1p500), T = _mm512_set1_pd(tol);
    for (int k = 0; k < h; k += 8) {
        __mmask8 m = mask_at(k, h);
        __m512d app = _mm512_maskz_loadu_pd(m, g + k), aqq = _mm512_maskz_loadu_pd(m, g + h + k);
        __m512d apq = _mm512_maskz_loadu_pd(m, g + 2 * h + k);
        __m512d dp = _mm512_maskz_loadu_pd(m, g + 3 * h + k), dq = _mm512_maskz_loadu_pd(m, g + 4 * h + k);
        __m512d aa = _mm512_abs_pd(apq);
        __m512d thr = _mm512_mul_pd(_mm512_mul_pd(T, _mm512_sqrt_pd(_mm512_abs_pd(app))), _mm512_sqrt_pd(_mm512_abs_pd(aqq)));
        __mmask8 rot = m & _mm512_cmp_pd_mask(aa, tiny, _CMP_GE_OQ) & _mm512_cmp_pd_mask(aa, thr, _CMP_GT_OQ);
        if (!rot) {
            for (int j = 0; j < 5; j++) _mm512_mask_storeu_pd(o + j * h + k, m, zero);
            continue;
        }
        __m512d r = _mm512_div_pd(dq, dp);
        __m512d dd = _mm512_fmsub_pd(r, aqq, _mm512_div_pd(app, r)); /* fma(r, aqq, -(app/r)) */
        __m512d t1 = _mm512_div_pd(apq, dd);
        __m512d theta = _mm512_div_pd(_mm512_mul_pd(half, dd), apq);
        __m512d w = _mm512_div_pd(one, _mm512_add_pd(_mm512_abs_pd(theta), _mm512_sqrt_pd(_mm512_fmadd_pd(theta, theta, one))));
        __m512d t2 = _mm512_mask_blend_pd(_mm512_cmp_pd_mask(theta, zero, _CMP_LT_OQ), w, neg8(w));
        __m512d t = _mm512_mask_blend_pd(_mm512_cmp_pd_mask(_mm512_abs_pd(dd), _mm512_mul_pd(big, aa), _CMP_GT_OQ), t2, t1);
        __m512d u = _mm512_fmadd_pd(t, t, one);
        __m512d al = _mm512_div_pd(t, r), be = neg8(_mm512_mul_pd(t, r));
        __m512d c = _mm512_div_pd(one, _mm512_sqrt_pd(u));
        __m512d np = _mm512_mul_pd(_mm512_fmadd_pd(be, apq, app), u), nq = _mm512_mul_pd(_mm512_fmadd_pd(al, apq, aqq), u);
        _mm512_mask_storeu_pd(o + k, m, _mm512_maskz_mov_pd(rot, al));
        _mm512_mask_storeu_pd(o + h + k, m, _mm512_maskz_mov_pd(rot, be));
        _mm512_mask_storeu_pd(o + 2 * h + k, m, _mm512_maskz_mov_pd(rot, c));
        _mm512_mask_storeu_pd(o + 3 * h + k, m, _mm512_maskz_mov_pd(rot, np));
        _mm512_mask_storeu_pd(o + 4 * h + k, m, _mm512_maskz_mov_pd(rot, nq));
    }
}

/* Scalar, with the fma instruction inline (this file's functions are compiled for FMA). */
static void jfcols_avx512(double *r, int nr, const int *cp, const int *cq, const double *a, const double *b)
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

const qk_kernels qk__kernels_avx512 = {"avx512", MR, NR, gemm_tile_avx512, sum_avx512, dot_avx512, vexpf_avx512,
                                       jrot_avx512, jstep_avx512, jdot3_avx512, jfrot_avx512,
                                       jangle_avx512, jfcols_avx512};
const qk_kernels_ext qk__kernels_avx512_ext = {gemm_tile_s_avx512, vgelu_erff_avx512, pack_bt_avx512,
                                               ln_center_avx512, ln_scale_avx512, ln_bwd_prep_avx512,
                                               ln_bwd_dx_avx512, ln_bwd_dgb_avx512};
#else
typedef int qk__empty_unit_qk_have_avx512; /* ISO C: no empty translation unit */
#endif
