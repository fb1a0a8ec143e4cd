/* kern_avx2.c — AVX2+FMA kernels (compiled with -mavx2 -mfma, chosen by CPUID).
 * Same operations as kern_scalar.c lane by lane: products vectorise across output
 * columns (never across k), reductions use the 8 lanes of one register. */
#if defined(QK_HAVE_AVX2)
#include <immintrin.h>
#include <math.h>
#include "qk_kernels.h"

#define MR 6
#define NR 16

static void tile_6x16(int kc, const float *ap, const float *bp, float *c, int ldc, int load_c)
{
    __m256 acc[MR][2];
    for (int r = 0; r < MR; r++) {
        acc[r][0] = load_c ? _mm256_loadu_ps(c + r * ldc) : _mm256_setzero_ps();
        acc[r][1] = load_c ? _mm256_loadu_ps(c + r * ldc + 8) : _mm256_setzero_ps();
    }
    for (int k = 0; k < kc; k++) {
        __m256 b0 = _mm256_loadu_ps(bp + k * NR), b1 = _mm256_loadu_ps(bp + k * NR + 8);
        const float *a = ap + k * MR;
        for (int r = 0; r < MR; r++) {
            __m256 ar = _mm256_broadcast_ss(a + r);
            acc[r][0] = _mm256_fmadd_ps(ar, b0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(ar, b1, acc[r][1]);
        }
    }
    for (int r = 0; r < MR; r++) {
        _mm256_storeu_ps(c + r * ldc, acc[r][0]);
        _mm256_storeu_ps(c + r * ldc + 8, acc[r][1]);
    }
}

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
    for (; i < n; i++) l[i & 7] = fmaf(x[i], y[i], l[i & 7]);
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

const qk_kernels qk__kernels_avx2 = {"avx2", MR, NR, gemm_tile_avx2, sum_avx2, dot_avx2, vexpf_avx2};
#else
typedef int qk__empty_unit_qk_have_avx2; /* ISO C: no empty translation unit */
#endif
