/* qk_selftest.c — the run-time self-test (qk.h, SPEC §2.2).
 *
 * A user may compile the sources with flags the project never saw (a board's IDE, a
 * lab's Makefile). qk_fp.h refuses what a compiler announces; this test catches what it
 * does not: contraction (clang's -ffp-contract=fast, gcc's -std=c99 -ffp-contract=fast),
 * reassociation (clang's -funsafe-math-optimizations), a flush-to-zero mode set at run
 * time (a program linked with -ffast-math), an fma or basic operation of the platform
 * that is not correctly rounded, and, through known answers from the golden vectors, any
 * other cause of different bits in the routines most sensitive to them.
 *
 * Every canary reads its inputs through volatile objects so that the compiler cannot
 * evaluate it at compile time (constant folding follows IEEE and would hide the flags). */
#include "qk_fp.h"
#include <string.h>
#include "qk_kernels.h"
#include "qk_selftest_data.h"

static float f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static uint32_t u32(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static double f64(uint64_t u) { double d; memcpy(&d, &u, 8); return d; }
static uint64_t u64(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }

/* a = 1 + 2^-12: a·a = 1 + 2^-11 + 2^-24 rounds (tie, to even) to 1 + 2^-11, so
 * a·a − (1 + 2^-11) is 0 when the product is rounded and 2^-24 when it is fused. The
 * same in double with a = 1 + 2^-27 (fused: 2^-54). Written as two statements so that
 * contraction across statements (gcc's "fast") is caught as well. */
static int contraction_seen(void)
{
    volatile float vaf = 0x1.001p0f, vcf = -0x1.002p0f;
    volatile double vad = 0x1.0000002p0, vcd = -0x1.0000004p0;
    float af = vaf, cf = vcf;
    double ad = vad, cd = vcd;
    float pf = af * af;
    double pd = ad * ad;
    float rf = pf + cf;
    double rd = pd + cd;
    float rf2 = cf + af * af; /* one expression: contracted under the default "on" */
    return rf != 0.0f || rd != 0.0 || rf2 != 0.0f;
}

/* (1 + 2^25) − 2^25 is 0 in float (1 + 2^25 rounds to 2^25); regrouped it is 1.
 * x/y is not x·(1/y): 3/7 and 3·(1/7) differ in float, 3/5 and 3·(1/5) in double. */
static int reassociation_seen(void)
{
    volatile float vs = 1.0f, vb = 0x1p25f, v3 = 3.0f, v7 = 7.0f;
    volatile double w3 = 3.0, w5 = 5.0;
    float s = vs, b = vb;
    float r = (s + b) - b;
    int regroup = r != 0.0f;
    int recip = v3 / v7 != 0x1.b6db6ep-2f || w3 / w5 != 0x1.3333333333333p-1;
    return regroup || recip;
}

/* FLT_MIN/2 and DBL_MIN/2 are subnormal results; 2^-140 and 2^-1060 are subnormal
 * inputs (denormals-are-zero would read them as 0). */
static int flush_seen(void)
{
    volatile float m = FLT_MIN, h = 0.5f, dn = 0x1p-140f, up = 0x1p20f;
    volatile double md = DBL_MIN, hd = 0.5, dnd = 0x1p-1060, upd = 0x1p50;
    return m * h != 0x1p-127f || dn * up != 0x1p-120f || md * hd != 0x1p-1023 || dnd * upd != 0x1p-1010;
}

/* The fma the project uses (qk__fma/qk__fmaf, qk_fp.h) is fused and correctly rounded:
 * fma(1+2^-30, 1+2^-30, −(1+2^-29)) = 2^-60 exactly (an unfused one gives 0);
 * fmaf(1+2^-12, 1+2^-12, 2^-80) = 1 + 2^-11 + 2^-23: the exact value
 * 1 + 2^-11 + 2^-24 + 2^-80 lies just above a float halfway point, and evaluating in
 * double first rounds it onto that point, then to even, 1 + 2^-11 (double rounding). */
static int fma_wrong(void)
{
    volatile double a = 0x1.00000004p0, c = -0x1.00000008p0;
    volatile float af = 0x1.001p0f, cf = 0x1p-80f, zf = 0.0f, mf = -1.0f;
    double r = qk__fma(a, a, c);
    float rf = qk__fmaf(af, af, cf);
    float z = qk__fmaf(zf, mf, zf); /* +0·−1 + +0 = +0 */
    return r != 0x1p-60 || rf != 0x1.002002p0f || u32(z) != 0u;
}

/* sqrt is correctly rounded; a double subtraction whose exponents differ by 33 (where
 * a soft-float library's sticky bit matters) is rounded once. */
static int arithmetic_wrong(void)
{
    volatile double two = 2.0, one = 1.0, v = 0x1.0000000000001p-33;
    volatile float twof = 2.0f;
    double d = one - v; /* exact: 1 − 2^-33 − 2^-85, rounds to 1 − 2^-33 */
    return sqrt(two) != 0x1.6a09e667f3bcdp0 || sqrtf(twof) != 0x1.6a09e6p0f || d != 0x1.ffffffffp-1;
}

/* ------------------------------------------------------------ known answers */

static int same_f32(float got, uint32_t want) { return u32(got) == want || (got != got && f32(want) != f32(want)); }
static int same_f64(double got, uint64_t want) { return u64(got) == want || (got != got && f64(want) != f64(want)); }

static int layernorm_wrong(void)
{
    enum { T = 5, C = 37 };
    float x[T * C], y[T * C], g[C], b[C], mean[T], rstd[T];
    for (int i = 0; i < T * C; i++) x[i] = f32(qk__st_ln_x[i]);
    for (int i = 0; i < C; i++) g[i] = f32(qk__st_ln_gamma[i]), b[i] = f32(qk__st_ln_beta[i]);
    qk_mat X = qk_mat_view(x, T, C, C), Y = qk_mat_view(y, T, C, C);
    if (qk_layernorm_forward(&Y, mean, rstd, &X, g, b, f32(qk__st_ln_eps[0])) != QK_OK) return 1;
    for (int i = 0; i < T * C; i++)
        if (!same_f32(y[i], qk__st_ln_y[i])) return 1;
    for (int i = 0; i < T; i++)
        if (!same_f32(mean[i], qk__st_ln_mean[i]) || !same_f32(rstd[i], qk__st_ln_rstd[i])) return 1;
    return 0;
}

static int softmax_backward_wrong(void)
{
    enum { R = 7, C = 9 };
    float y[R * C], dy[R * C], dx[R * C];
    for (int i = 0; i < R * C; i++)
        y[i] = f32(qk__st_smb_y[i]), dy[i] = f32(qk__st_smb_dy[i]), dx[i] = f32(qk__st_smb_dx0[i]);
    qk_mat Y = qk_mat_view(y, R, C, C), DY = qk_mat_view(dy, R, C, C), DX = qk_mat_view(dx, R, C, C);
    if (qk_softmax_backward(&DX, &Y, &DY, 1) != QK_OK) return 1;
    for (int i = 0; i < R * C; i++)
        if (!same_f32(dx[i], qk__st_smb_dx[i])) return 1;
    return 0;
}

static int functions_wrong(void)
{
    qk_rng r;
    qk_rng_seed(&r, 42);
    /* the case draws 64 u64 and 64 uniformf before its normals (op_rng, qk_vops.c) */
    for (int i = 0; i < 64; i++) qk_rng_u64(&r);
    for (int i = 0; i < 64; i++) qk_rng_uniformf(&r);
    for (int i = 0; i < 16; i++)
        if (!same_f64(qk_rng_normal(&r), qk__st_normal[i])) return 1;
    for (int i = 0; i < (int)(sizeof qk__st_erf_x / sizeof qk__st_erf_x[0]); i++)
        if (!same_f64(qk_erf(f64(qk__st_erf_x[i])), qk__st_erf_y[i])) return 1;
    for (int i = 0; i < (int)(sizeof qk__st_erfc_x / sizeof qk__st_erfc_x[0]); i++)
        if (!same_f64(qk_erfc(f64(qk__st_erfc_x[i])), qk__st_erfc_y[i])) return 1;
    for (int i = 0; i < (int)(sizeof qk__st_exp_x / sizeof qk__st_exp_x[0]); i++)
        if (!same_f64(qk_exp(f64(qk__st_exp_x[i])), qk__st_exp_y[i])) return 1;
    for (int i = 0; i < (int)(sizeof qk__st_expf_x / sizeof qk__st_expf_x[0]); i++)
        if (!same_f32(qk_expf(f32(qk__st_expf_x[i])), qk__st_expf_y[i])) return 1;
    return 0;
}

/* The known answers on the selected ISA path and, when that is not scalar, on the
 * scalar path too (the path is restored). */
static int known_answers_wrong(void)
{
    qk_isa isa = qk_isa_current();
    int bad = layernorm_wrong() || softmax_backward_wrong() || functions_wrong();
    if (isa != QK_ISA_SCALAR) {
        qk_isa_select(QK_ISA_SCALAR);
        bad = bad || layernorm_wrong() || softmax_backward_wrong() || functions_wrong();
        qk_isa_select(isa);
    }
    return bad;
}

unsigned qk_selftest(void)
{
    unsigned s = 0;
    if (contraction_seen()) s |= QK_SELFTEST_CONTRACTION;
    if (reassociation_seen()) s |= QK_SELFTEST_REASSOCIATION;
    if (flush_seen()) s |= QK_SELFTEST_FLUSH_TO_ZERO;
    if (fma_wrong()) s |= QK_SELFTEST_FMA;
    if (arithmetic_wrong()) s |= QK_SELFTEST_ARITHMETIC;
    if (known_answers_wrong()) s |= QK_SELFTEST_KNOWN_ANSWERS;
    return s;
}

const char *qk_selftest_str(unsigned bit)
{
    switch (bit) {
    case QK_SELFTEST_CONTRACTION:
        return "contraction: a*b + c was fused into one fma (compile with -ffp-contract=off)";
    case QK_SELFTEST_REASSOCIATION:
        return "reassociation: (a + b) - b was regrouped or x/y became x*(1/y) (remove -ffast-math / -funsafe-math-optimizations)";
    case QK_SELFTEST_FLUSH_TO_ZERO:
        return "flush-to-zero: subnormal numbers read or written as zero (a -ffast-math link or an FPU mode)";
    case QK_SELFTEST_FMA:
        return "fma: the fused multiply-add in use is not correctly rounded (build with -DQK_SOFT_FMA=1)";
    case QK_SELFTEST_ARITHMETIC:
        return "arithmetic: sqrt or double subtraction misrounds on this platform";
    case QK_SELFTEST_KNOWN_ANSWERS:
        return "known answers: LayerNorm, softmax backward, normals, erf/erfc/exp or expf gave other bits than the golden vectors";
    }
    return "unknown self-test bit";
}
