/* kern_neon.c — AArch64 NEON kernels. Same operations as kern_scalar.c lane by lane;
 * the 8 reduction lanes live in two 128-bit registers (lanes 0-3 and 4-7). */
#include "qk_fp.h"
#include "qk_kernels.h"
#if defined(QK_HAVE_NEON)
#include <arm_neon.h>
#include <math.h>

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
    for (; i < n; i++) l[i & 7] = qk__fmaf(x[i], y[i], l[i & 7]);
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

/* Jacobi kernels (double): defined at the end of this file. */
static void jrot_neon(double *x, double *y, int n, double c, double s);
static void jstep_neon(const double *x0, const double *x1, double *y0, double *y1, int h, double a, double b,
                       const double *as, const double *bs);
static void jdot3_neon(const double *x, const double *y, int n, double out[3]);
static void jfrot_neon(double *x, double *y, int n, double a, double b);
static void jangle_neon(int h, double tol, const double *g, double *o);
static void jfcols_neon(double *r, int nr, const int *cp, const int *cq, const double *a, const double *b);

const qk_kernels qk__kernels_neon = {"neon", MR, NR, gemm_tile_neon, sum_neon, dot_neon, vexpf_neon,
                                     jrot_neon, jstep_neon, jdot3_neon, jfrot_neon,
                                     jangle_neon, jfcols_neon};

/* ---------------------------------------------------------------- Jacobi (double) */
/* As kern_scalar.c, 2 lanes: x' = -(s*y) + c*x, y' = s*x + c*y, each one fused step
 * (vfmaq_f64(a, b, c) = a + b*c rounded once; negation is exact). */
#define JROT_X(C, X, S, Y) vfmaq_f64(vnegq_f64(vmulq_f64(S, Y)), C, X)
#define JROT_Y(C, X, S, Y) vfmaq_f64(vmulq_f64(S, X), C, Y)

static void jrot_neon(double *x, double *y, int n, double c, double s)
{
    float64x2_t C = vdupq_n_f64(c), S = vdupq_n_f64(s);
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        float64x2_t a0 = vld1q_f64(x + i), b0 = vld1q_f64(y + i);
        float64x2_t a1 = vld1q_f64(x + i + 2), b1 = vld1q_f64(y + i + 2);
        vst1q_f64(x + i, JROT_X(C, a0, S, b0));
        vst1q_f64(y + i, JROT_Y(C, a0, S, b0));
        vst1q_f64(x + i + 2, JROT_X(C, a1, S, b1));
        vst1q_f64(y + i + 2, JROT_Y(C, a1, S, b1));
    }
    for (; i < n; i++) {
        double a = x[i], b = y[i];
        x[i] = qk__fma(c, a, -(s * b));
        y[i] = qk__fma(c, b, s * a);
    }
}

/* The factored rotation: x' = x + b*y, y' = y + a*x, each one fused step. */
static void jfrot_neon(double *x, double *y, int n, double a, double b)
{
    float64x2_t A = vdupq_n_f64(a), B = vdupq_n_f64(b);
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        float64x2_t u0 = vld1q_f64(x + i), w0 = vld1q_f64(y + i);
        float64x2_t u1 = vld1q_f64(x + i + 2), w1 = vld1q_f64(y + i + 2);
        vst1q_f64(x + i, vfmaq_f64(u0, B, w0));
        vst1q_f64(y + i, vfmaq_f64(w0, A, u0));
        vst1q_f64(x + i + 2, vfmaq_f64(u1, B, w1));
        vst1q_f64(y + i + 2, vfmaq_f64(w1, A, u1));
    }
    for (; i < n; i++) {
        double u = x[i], w = y[i];
        x[i] = qk__fma(b, w, u);
        y[i] = qk__fma(a, u, w);
    }
}

static void jstep_neon(const double *x0, const double *x1, double *y0, double *y1, int h, double a, double b,
                       const double *as, const double *bs)
{
    const double *x0b = x0 + h + 8, *x1b = x1 + h + 8;
    double *y0t = y0 + 4, *y1t = y1 + 4, *y0b = y0 + h + 4, *y1b = y1 + h + 4;
    float64x2_t A = vdupq_n_f64(a), B = vdupq_n_f64(b);
    int o = 0;
    for (; o + 2 <= h; o += 2) {
        float64x2_t u = vld1q_f64(x0 + o), w = vld1q_f64(x1 + o);
        float64x2_t ub = vld1q_f64(x0b + o), wb = vld1q_f64(x1b + o);
        float64x2_t r0t = vfmaq_f64(u, B, w), r1t = vfmaq_f64(w, A, u);
        float64x2_t r0b = vfmaq_f64(ub, B, wb), r1b = vfmaq_f64(wb, A, ub);
        float64x2_t ao = vld1q_f64(as + o), bo = vld1q_f64(bs + o);
        vst1q_f64(y0t + o, vfmaq_f64(r0t, bo, r0b));
        vst1q_f64(y0b + o, vfmaq_f64(r0b, ao, r0t));
        vst1q_f64(y1t + o, vfmaq_f64(r1t, bo, r1b));
        vst1q_f64(y1b + o, vfmaq_f64(r1b, ao, r1t));
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

/* The 8 lanes in four registers: lanes 0-1, 2-3, 4-5, 6-7 (SPEC §2.4). */
static void jdot3_neon(const double *x, const double *y, int n, double out[3])
{
    float64x2_t a[4], b[4], g[4];
    for (int k = 0; k < 4; k++) a[k] = b[k] = g[k] = vdupq_n_f64(0.0);
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 4; k++) {
            float64x2_t xv = vld1q_f64(x + i + 2 * k), yv = vld1q_f64(y + i + 2 * k);
            a[k] = vfmaq_f64(a[k], xv, xv);
            b[k] = vfmaq_f64(b[k], yv, yv);
            g[k] = vfmaq_f64(g[k], xv, yv);
        }
    double la[8], lb[8], lg[8];
    for (int k = 0; k < 4; k++) {
        vst1q_f64(la + 2 * k, a[k]);
        vst1q_f64(lb + 2 * k, b[k]);
        vst1q_f64(lg + 2 * k, g[k]);
    }
    for (; i < n; i++) {
        la[i & 7] = qk__fma(x[i], x[i], la[i & 7]);
        lb[i & 7] = qk__fma(y[i], y[i], lb[i & 7]);
        lg[i & 7] = qk__fma(x[i], y[i], lg[i & 7]);
    }
    out[0] = qk__combine8d(la);
    out[1] = qk__combine8d(lb);
    out[2] = qk__combine8d(lg);
}

/* The angles, 2 pairs per register: both branches computed and selected per lane. */
static void jangle_neon(int h, double tol, const double *g, double *o)
{
    const float64x2_t zero = vdupq_n_f64(0.0), one = vdupq_n_f64(1.0), half = vdupq_n_f64(0.5);
    const float64x2_t tiny = vdupq_n_f64(0x1p-1022), big = vdupq_n_f64(0x1p500), T = vdupq_n_f64(tol);
    int k = 0;
    for (; k + 2 <= h; k += 2) {
        float64x2_t app = vld1q_f64(g + k), aqq = vld1q_f64(g + h + k), apq = vld1q_f64(g + 2 * h + k);
        float64x2_t dp = vld1q_f64(g + 3 * h + k), dq = vld1q_f64(g + 4 * h + k);
        float64x2_t aa = vabsq_f64(apq);
        float64x2_t thr = vmulq_f64(vmulq_f64(T, vsqrtq_f64(vabsq_f64(app))), vsqrtq_f64(vabsq_f64(aqq)));
        uint64x2_t rot = vandq_u64(vcgeq_f64(aa, tiny), vcgtq_f64(aa, thr));
        if ((vgetq_lane_u64(rot, 0) | vgetq_lane_u64(rot, 1)) == 0) {
            for (int j = 0; j < 5; j++) vst1q_f64(o + j * h + k, zero);
            continue;
        }
        float64x2_t r = vdivq_f64(dq, dp);
        float64x2_t dd = vfmaq_f64(vnegq_f64(vdivq_f64(app, r)), r, aqq);
        float64x2_t t1 = vdivq_f64(apq, dd);
        float64x2_t theta = vdivq_f64(vmulq_f64(half, dd), apq);
        float64x2_t w = vdivq_f64(one, vaddq_f64(vabsq_f64(theta), vsqrtq_f64(vfmaq_f64(one, theta, theta))));
        float64x2_t t2 = vbslq_f64(vcltq_f64(theta, zero), vnegq_f64(w), w);
        float64x2_t t = vbslq_f64(vcgtq_f64(vabsq_f64(dd), vmulq_f64(big, aa)), t1, t2);
        float64x2_t u = vfmaq_f64(one, t, t);
        float64x2_t al = vdivq_f64(t, r), be = vnegq_f64(vmulq_f64(t, r));
        float64x2_t c = vdivq_f64(one, vsqrtq_f64(u));
        float64x2_t np = vmulq_f64(vfmaq_f64(app, be, apq), u), nq = vmulq_f64(vfmaq_f64(aqq, al, apq), u);
        vst1q_f64(o + k, vbslq_f64(rot, al, zero));
        vst1q_f64(o + h + k, vbslq_f64(rot, be, zero));
        vst1q_f64(o + 2 * h + k, vbslq_f64(rot, c, zero));
        vst1q_f64(o + 3 * h + k, vbslq_f64(rot, np, zero));
        vst1q_f64(o + 4 * h + k, vbslq_f64(rot, nq, zero));
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

static void jfcols_neon(double *r, int nr, const int *cp, const int *cq, const double *a, const double *b)
{
    for (int i = 0; i < nr; i++) {
        double x = r[cp[i]], y = r[cq[i]];
        r[cp[i]] = qk__fma(b[i], y, x);
        r[cq[i]] = qk__fma(a[i], x, y);
    }
}
#else
typedef int qk__empty_unit_qk_have_neon; /* ISO C: no empty translation unit */
#endif
