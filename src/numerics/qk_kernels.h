/* qk_kernels.h — private: the kernel table, the only place ISA-specific code enters.
 *
 * Each ISA file (kern_scalar.c, kern_avx2.c, kern_avx512.c, kern_neon.c) fills one
 * table; qk_isa.c chooses one. Every entry must give the same bits as the scalar entry
 * (SPEC §2). */
#ifndef QK_KERNELS_H
#define QK_KERNELS_H

#include "qk.h"

/* Which SIMD paths this build has, from the compiler's predefined macros alone (SPEC §4:
 * no per-host flags). x86-64: the AVX2 and AVX-512 files compile their functions for
 * AVX2+FMA and AVX-512 (F, VL, DQ) with target attributes, and qk_isa.c enables each
 * after a CPUID and XGETBV check. AArch64: NEON is part
 * of the base ISA. 32-bit ARM NEON flushes subnormals, so it is never used (SPEC §2.6).
 * -DQK_NO_SIMD builds the scalar path alone. */
#if !defined(QK_NO_SIMD) && defined(__x86_64__) && defined(__GNUC__)
#define QK_HAVE_AVX2 1
#define QK_HAVE_AVX512 1
#endif
#if !defined(QK_NO_SIMD) && defined(__aarch64__) && defined(__ARM_NEON)
#define QK_HAVE_NEON 1
#endif


typedef struct {
    const char *name;
    int mr, nr; /* micro-tile of the matrix product */
    /* C tile (m <= mr, n <= nr) of leading dimension ldc:
     * C[r][c] = chain over k of fmaf(ap[k*mr + r], bp[k*nr + c], .), starting from
     * C[r][c] when load_c, else from +0. ap: (kc, mr) packed, bp: (kc, nr) packed. */
    void (*gemm_tile)(int kc, const float *ap, const float *bp, float *c, int ldc,
                      int m, int n, int load_c);
    float (*sum)(const float *x, int n);                 /* SPEC §2.4 */
    float (*dot)(const float *x, const float *y, int n); /* SPEC §2.4 */
    void (*vexpf)(float *y, const float *x, int n);      /* qk_expf per element */
    /* Jacobi (qk_eigen.c), double. Plane rotation of a pair (x, y) by (c, s), as every
     * path computes it: x' = fma(c, x, -(s*y)), y' = fma(c, y, s*x). */
    void (*jrot)(double *x, double *y, int n, double c, double s); /* x, y: (n) in place */
    /* One row pair of a two-sided Jacobi step with factored ("fast") rotations: a pair
     * (x, y) is mapped by (a, b) to x' = fma(b, y, x), y' = fma(a, x, y). Rows are laid
     * out [top h | gap 8 | bottom h] (h a multiple of 4); column o of the top half pairs
     * with column o of the bottom half (x[h+8+o]). The rows x0, x1 are mapped by (a, b),
     * then every result row's column pairs o by (as[o], bs[o]); the result's top column
     * o is stored at y[o+4] and its bottom column o at y[h+4+o] (the round-robin move,
     * qk_eigen.c). y0, y1 do not overlap x0, x1. */
    void (*jstep)(const double *x0, const double *x1, double *y0, double *y1, int h, double a, double b,
                  const double *as, const double *bs);
    /* out = {x·x, y·y, x·y}, each with SPEC §2.4's 8 lanes (lane = fma(x_i, y_i, lane)). */
    void (*jdot3)(const double *x, const double *y, int n, double out[3]);
    /* The factored rotation of jstep on two rows: x' = fma(b, y, x), y' = fma(a, x, y). */
    void (*jfrot)(double *x, double *y, int n, double a, double b);
    /* The factored rotations of h pairs (qk_eigen.c), g = rows app, aqq, apq, dp, dq
     * (5, h), o = rows pa, pb, pc, np, nq (5, h). With A = |apq|, a pair rotates iff
     * A >= 2^-1022 and A > (tol·sqrt|app|)·sqrt|aqq|; then
     *   r = dq/dp, dd = fma(r, aqq, -(app/r)), theta = (0.5·dd)/apq,
     *   t = |dd| > 2^500·A ? apq/dd : (theta < 0 ? -w : w), w = 1/(|theta| + sqrt(fma(theta, theta, 1))),
     *   u = fma(t, t, 1), pa = t/r, pb = -(t·r), pc = 1/sqrt(u),
     *   np = fma(pb, apq, app)·u, nq = fma(pa, apq, aqq)·u;
     * otherwise all five are +0. */
    void (*jangle)(int h, double tol, const double *g, double *o);
    /* For i < nr: x = r[cp[i]], y = r[cq[i]]; r[cp[i]] = fma(b[i], y, x), r[cq[i]] = fma(a[i], x, y). */
    void (*jfcols)(double *r, int nr, const int *cp, const int *cq, const double *a, const double *b);

} qk_kernels;

/* Entries that only some paths have (kern_avx512.c; kern_avx2.c has the GELU): the table of the selected path,
 * qk__kern_ext(), is never NULL, its members are NULL where the path lacks them, and the
 * callers (qk_matrix.c, qk_math.c) then use the entries above or portable code. */
typedef struct {
    /* The product tile of gemm_tile on operands in place: C (m <= mr, n <= nr; leading
     * dimension ldc) = chain over k of fmaf(a[r*ars + k*acs], b[k*ldb + c], .), from C
     * when load_c, else from +0 (SPEC §2.3). One of ars, acs is 1 (A row-major or
     * k-major); only the m rows, kc steps and n columns are read. */
    void (*gemm_tile_s)(int kc, const float *a, ptrdiff_t ars, ptrdiff_t acs, const float *b, ptrdiff_t ldb,
                        float *c, int ldc, int m, int n, int load_c);
    void (*vgelu_erff)(float *y, const float *x, int n); /* qk_gelu_erff per element */
    /* A transposed operand's micro-panel, a copy: dst[k*nr + c] = src[c*lds + k] for
     * c < n, k < kc (the columns n..nr-1 of dst are not written). */
    void (*pack_bt)(float *dst, int nr, const float *src, ptrdiff_t lds, int n, int kc);
    /* LayerNorm's element-wise steps (qk_vector.c), each element by the same float
     * operations (no fma): forward y_i = x_i - m, then y_i = (y_i·rs)·gamma_i + beta_i;
     * backward norm_i = (x_i - mean)·rstd, g_i = gamma_i·dy_i, then
     * dx_i += ((g_i - gmean) - norm_i·gnmean)·rstd, dgamma_i += dy_i·norm_i, dbeta_i += dy_i. */
    void (*ln_center)(float *y, const float *x, float m, int n);
    void (*ln_scale)(float *y, float rs, const float *gamma, const float *beta, int n);
    void (*ln_bwd_prep)(float *norm, float *g, const float *x, const float *dy, const float *gamma, float mean,
                        float rstd, int n);
    void (*ln_bwd_dx)(float *dx, const float *norm, const float *g, float gmean, float gnmean, float rstd, int n);
    void (*ln_bwd_dgb)(float *dgamma, float *dbeta, const float *dy, const float *norm, int n);
} qk_kernels_ext;

extern const qk_kernels qk__kernels_scalar;
extern const qk_kernels qk__kernels_avx2;
extern const qk_kernels_ext qk__kernels_avx2_ext;
extern const qk_kernels qk__kernels_avx512;
extern const qk_kernels_ext qk__kernels_avx512_ext;
extern const qk_kernels qk__kernels_neon;

const qk_kernels *qk__kern(void);         /* the selected table */
const qk_kernels_ext *qk__kern_ext(void); /* its optional entries */
int qk__split_all(void);          /* the parallel-for asks for splits of any size (qk.h) */

/* Shared by all paths: the 8-lane combine of SPEC §2.4. */
static inline float qk__combine8(const float l[8])
{
    float s0 = l[0] + l[4], s1 = l[1] + l[5], s2 = l[2] + l[6], s3 = l[3] + l[7];
    float t0 = s0 + s2, t1 = s1 + s3;
    return t0 + t1;
}

/* The same combine in double (the Jacobi dot products). */
static inline double qk__combine8d(const double l[8])
{
    double s0 = l[0] + l[4], s1 = l[1] + l[5], s2 = l[2] + l[6], s3 = l[3] + l[7];
    double t0 = s0 + s2, t1 = s1 + s3;
    return t0 + t1;
}

/* Constants of the double-internal expf (qk_math.c); the SIMD versions must use the
 * same operations in the same order. */
#define QK__EXPF_HI 100.0f
#define QK__EXPF_LO (-110.0f)
#define QK__LOG2E 0x1.71547652b82fep0
#define QK__SHIFT 0x1.8p52
#define QK__LN2_HI 0x1.62e42fefa3800p-1
#define QK__LN2_LO 0x1.ef35793c76730p-45
/* Taylor coefficients 1/n!, n = 13 .. 2 (Horner from the top): truncation below
 * 0.347^14/14! < 5e-18 relative. */
#define QK__EXP_C13 (1.0 / 6227020800.0)
#define QK__EXP_C12 (1.0 / 479001600.0)
#define QK__EXP_C11 (1.0 / 39916800.0)
#define QK__EXP_C10 (1.0 / 3628800.0)
#define QK__EXP_C9 (1.0 / 362880.0)
#define QK__EXP_C8 (1.0 / 40320.0)
#define QK__EXP_C7 (1.0 / 5040.0)
#define QK__EXP_C6 (1.0 / 720.0)
#define QK__EXP_C5 (1.0 / 120.0)
#define QK__EXP_C4 (1.0 / 24.0)
#define QK__EXP_C3 (1.0 / 6.0)
#define QK__EXP_C2 0.5

#endif
