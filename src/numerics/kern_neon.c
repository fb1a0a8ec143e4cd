/* kern_neon.c — AArch64 NEON kernels. Same operations as kern_scalar.c lane by lane;
 * the 8 reduction lanes live in two 128-bit registers (lanes 0-3 and 4-7). */
#if defined(QK_HAVE_NEON)
#include <arm_neon.h>
#include <math.h>
#include "qk_kernels.h"

#define MR 8
#define NR 8

#define FMA_ROW(r, a, lane)                                         \
    acc[r][0] = vfmaq_laneq_f32(acc[r][0], b0, a, lane);            \
    acc[r][1] = vfmaq_laneq_f32(acc[r][1], b1, a, lane)

static void tile_8x8(int kc, const float *ap, const float *bp, float *c, int ldc, int load_c)
{
    float32x4_t acc[MR][2];
    for (int r = 0; r < MR; r++) {
        acc[r][0] = load_c ? vld1q_f32(c + r * ldc) : vdupq_n_f32(0.0f);
        acc[r][1] = load_c ? vld1q_f32(c + r * ldc + 4) : vdupq_n_f32(0.0f);
    }
    for (int k = 0; k < kc; k++) {
        float32x4_t b0 = vld1q_f32(bp + k * NR), b1 = vld1q_f32(bp + k * NR + 4);
        float32x4_t a0 = vld1q_f32(ap + k * MR), a1 = vld1q_f32(ap + k * MR + 4);
        FMA_ROW(0, a0, 0); FMA_ROW(1, a0, 1); FMA_ROW(2, a0, 2); FMA_ROW(3, a0, 3);
        FMA_ROW(4, a1, 0); FMA_ROW(5, a1, 1); FMA_ROW(6, a1, 2); FMA_ROW(7, a1, 3);
    }
    for (int r = 0; r < MR; r++) {
        vst1q_f32(c + r * ldc, acc[r][0]);
        vst1q_f32(c + r * ldc + 4, acc[r][1]);
    }
}

static void gemm_tile_neon(int kc, const float *ap, const float *bp, float *c, int ldc,
                           int m, int n, int load_c)
{
    if (m == MR && n == NR) {
        tile_8x8(kc, ap, bp, c, ldc, load_c);
        return;
    }
    float tmp[MR * NR];
    for (int r = 0; r < MR; r++)
        for (int j = 0; j < NR; j++) tmp[r * NR + j] = (load_c && r < m && j < n) ? c[r * ldc + j] : 0.0f;
    tile_8x8(kc, ap, bp, tmp, NR, 1);
    for (int r = 0; r < m; r++)
        for (int j = 0; j < n; j++) c[r * ldc + j] = tmp[r * NR + j];
}

static float sum_neon(const float *x, int n)
{
    float32x4_t lo = vdupq_n_f32(0.0f), hi = vdupq_n_f32(0.0f);
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        lo = vaddq_f32(lo, vld1q_f32(x + i));
        hi = vaddq_f32(hi, vld1q_f32(x + i + 4));
    }
    float l[8];
    vst1q_f32(l, lo);
    vst1q_f32(l + 4, hi);
    for (; i < n; i++) l[i & 7] += x[i];
    return qk__combine8(l);
}

static float dot_neon(const float *x, const float *y, int n)
{
    float32x4_t lo = vdupq_n_f32(0.0f), hi = vdupq_n_f32(0.0f);
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        lo = vfmaq_f32(lo, vld1q_f32(x + i), vld1q_f32(y + i));
        hi = vfmaq_f32(hi, vld1q_f32(x + i + 4), vld1q_f32(y + i + 4));
    }
    float l[8];
    vst1q_f32(l, lo);
    vst1q_f32(l + 4, hi);
    for (; i < n; i++) l[i & 7] = fmaf(x[i], y[i], l[i & 7]);
    return qk__combine8(l);
}

/* qk_expf on 2 lanes in double; mirrors qk_math.c step by step. */
static float64x2_t exp2d(float64x2_t xd)
{
    float64x2_t shift = vdupq_n_f64(QK__SHIFT);
    float64x2_t t = vfmaq_f64(shift, xd, vdupq_n_f64(QK__LOG2E));
    float64x2_t kd = vsubq_f64(t, shift);
    float64x2_t r = vfmsq_f64(xd, kd, vdupq_n_f64(QK__LN2_HI));
    r = vfmsq_f64(r, kd, vdupq_n_f64(QK__LN2_LO));
    int64x2_t k = vsubq_s64(vreinterpretq_s64_f64(t), vreinterpretq_s64_f64(shift));
    float64x2_t scale = vreinterpretq_f64_s64(vshlq_n_s64(vaddq_s64(k, vdupq_n_s64(1023)), 52));
    float64x2_t p = vdupq_n_f64(QK__EXP_C13);
    p = vfmaq_f64(vdupq_n_f64(QK__EXP_C12), p, r);
    p = vfmaq_f64(vdupq_n_f64(QK__EXP_C11), p, r);
    p = vfmaq_f64(vdupq_n_f64(QK__EXP_C10), p, r);
    p = vfmaq_f64(vdupq_n_f64(QK__EXP_C9), p, r);
    p = vfmaq_f64(vdupq_n_f64(QK__EXP_C8), p, r);
    p = vfmaq_f64(vdupq_n_f64(QK__EXP_C7), p, r);
    p = vfmaq_f64(vdupq_n_f64(QK__EXP_C6), p, r);
    p = vfmaq_f64(vdupq_n_f64(QK__EXP_C5), p, r);
    p = vfmaq_f64(vdupq_n_f64(QK__EXP_C4), p, r);
    p = vfmaq_f64(vdupq_n_f64(QK__EXP_C3), p, r);
    p = vfmaq_f64(vdupq_n_f64(QK__EXP_C2), p, r);
    p = vfmaq_f64(vdupq_n_f64(1.0), p, r);
    p = vfmaq_f64(vdupq_n_f64(1.0), p, r);
    return vmulq_f64(p, scale);
}

static float32x4_t exp4(float32x4_t x)
{
    float32x4_t hi = vdupq_n_f32(QK__EXPF_HI), lo = vdupq_n_f32(QK__EXPF_LO);
    x = vbslq_f32(vcgtq_f32(x, hi), hi, x);
    x = vbslq_f32(vcltq_f32(x, lo), lo, x);
    float64x2_t a = exp2d(vcvt_f64_f32(vget_low_f32(x)));
    float64x2_t b = exp2d(vcvt_high_f64_f32(x));
    return vcombine_f32(vcvt_f32_f64(a), vcvt_f32_f64(b));
}

static void vexpf_neon(float *y, const float *x, int n)
{
    int i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(y + i, exp4(vld1q_f32(x + i)));
    for (; i < n; i++) y[i] = qk_expf(x[i]);
}

const qk_kernels qk__kernels_neon = {"neon", MR, NR, gemm_tile_neon, sum_neon, dot_neon, vexpf_neon};
#else
typedef int qk__empty_unit_qk_have_neon; /* ISO C: no empty translation unit */
#endif
