/* test_numerics.c — the numerics core against independent references: libm in
 * double for the transcendentals, double-precision loops for products, softmax and
 * LayerNorm, and the literal SPEC §2.3/§2.4 definitions for the bit-level rules. */
#include <float.h>
#include <stdlib.h>
#include "qktest.h"
#include "test_util.h"

/* ---------------------------------------------------------------- transcendentals */
TEST(math_expf_special_values)
{
    CHECK(qk_expf(0.0f) == 1.0f && qk_expf(-0.0f) == 1.0f, "exp(±0) != 1");
    CHECK(isinf(qk_expf(INFINITY)) && qk_expf(INFINITY) > 0, "exp(inf)");
    CHECK(qk_expf(-INFINITY) == 0.0f && !signbit(qk_expf(-INFINITY)), "exp(-inf) != +0");
    CHECK(isnan(qk_expf(NAN)), "exp(nan) not nan");
    CHECK(tu_bits(qk_expf(1.0f)) == 0x402df854u, "exp(1) = %a", qk_expf(1.0f));
    CHECK(qk_expf(0x1.62e42ep6f) == 0x1.ffff08p127f, "exp(largest finite arg) = %a", qk_expf(0x1.62e42ep6f));
    CHECK(isinf(qk_expf(0x1.62e430p6f)), "exp(88.7228394) should overflow");
    CHECK(qk_expf(-0x1.9fe368p6f) == 0x1p-149f, "exp(-103.97) = %a (smallest subnormal)", qk_expf(-0x1.9fe368p6f));
    CHECK(qk_expf(-0x1.9fe36ap6f) == 0.0f, "exp(-103.9721) should round to 0");
    CHECK(isinf(qk_expf(1e30f)) && qk_expf(-1e30f) == 0.0f, "huge arguments");
}

TEST(math_logf_special_values)
{
    CHECK(qk_logf(1.0f) == 0.0f && !signbit(qk_logf(1.0f)), "log(1) != +0");
    CHECK(isinf(qk_logf(0.0f)) && qk_logf(0.0f) < 0, "log(0) != -inf");
    CHECK(isinf(qk_logf(-0.0f)) && qk_logf(-0.0f) < 0, "log(-0) != -inf");
    CHECK(isnan(qk_logf(-1.0f)) && isnan(qk_logf(-INFINITY)), "log(negative) not nan");
    CHECK(isinf(qk_logf(INFINITY)) && qk_logf(INFINITY) > 0, "log(inf)");
    CHECK(isnan(qk_logf(NAN)), "log(nan)");
    CHECK(qk_logf(0x1p-149f) == (float)(-149 * 0.69314718055994530942), "log(min subnormal) = %a", qk_logf(0x1p-149f));
    CHECK(qk_logf(2.0f) == 0x1.62e43p-1f, "log(2) = %a", qk_logf(2.0f));
}

/* Sampled accuracy: every 1021st bit pattern (4.2 million inputs). The exhaustive run
 * over all 2^32 inputs is tools/ulp_exhaustive (README). */
static double max_ulp_sampled(float (*f)(float), double (*ref)(double), uint32_t lo, uint32_t hi)
{
    double worst = 0;
    for (uint64_t u = lo; u <= hi; u += 1021u * (unsigned)qkt_scale()) {
        float x = tu_float((uint32_t)u);
        double e = tu_ulp_err(f(x), ref((double)x));
        if (e > worst) worst = e;
    }
    return worst;
}

TEST(math_expf_accuracy_sampled)
{
    double e1 = max_ulp_sampled(qk_expf, exp, 0x00000000u, 0x7f800000u);
    double e2 = max_ulp_sampled(qk_expf, exp, 0x80000000u, 0xff800000u);
    CHECK(e1 <= 0.501 && e2 <= 0.501, "expf max error %.4f / %.4f ulp", e1, e2);
}

TEST(math_logf_accuracy_sampled)
{
    double e = max_ulp_sampled(qk_logf, log, 0x00000001u, 0x7f7fffffu);
    CHECK(e <= 0.501, "logf max error %.4f ulp", e);
}

TEST(math_tanhf_gelu_accuracy_sampled)
{
    double e1 = max_ulp_sampled(qk_tanhf, tanh, 0x00000000u, 0x7f7fffffu);
    double e2 = max_ulp_sampled(qk_tanhf, tanh, 0x80000000u, 0xff7fffffu);
    CHECK(e1 <= 0.501 && e2 <= 0.501, "tanhf max error %.4f / %.4f ulp", e1, e2);
    /* references without cancellation: x·Φ(x) = (x/2) erfc(-x/sqrt 2) from libm, and
     * (x/2)(1 + tanh z) = x / (1 + e^{-2z}) */
    double worst = 0;
    for (int i = -6000; i <= 6000; i++) {
        float x = (float)i / 400.0f;
        double xd = x, z = sqrt(2.0 / 3.14159265358979323846) * (xd + 0.044715 * xd * xd * xd);
        double gt = xd / (1.0 + exp(-2.0 * z));
        double ge = 0.5 * xd * erfc(-xd / sqrt(2.0));
        double a = tu_ulp_err(qk_gelu_tanhf(x), gt), b = tu_ulp_err(qk_gelu_erff(x), ge);
        if (a > worst) worst = a;
        if (b > worst) worst = b;
    }
    CHECK(worst <= 0.6, "gelu max error %.4f ulp on [-15, 15]", worst);
    CHECK(qk_gelu_erff(-INFINITY) == 0.0f && signbit(qk_gelu_erff(-INFINITY)), "gelu(-inf) != -0");
    CHECK(qk_gelu_tanhf(-INFINITY) == 0.0f && isinf(qk_gelu_tanhf(INFINITY)), "gelu_tanh at ±inf");
    CHECK(signbit(qk_tanhf(-0.0f)) && !signbit(qk_tanhf(0.0f)), "tanh(±0) keeps the sign");
}

static double rel(double a, double b) { return b == 0 ? fabs(a) : fabs(a - b) / fabs(b); }

TEST(math_double_exp_log_erf)
{
    double we = 0, wl = 0, wf = 0, wc = 0;
    qk_rng r;
    qk_rng_seed(&r, 7);
    for (int i = 0; i < 200000; i++) {
        double x = (qk_rng_uniform(&r) * 2 - 1) * 700;
        double e = rel(qk_exp(x), exp(x));
        if (e > we) we = e;
        double y = ldexp(1.0 + qk_rng_uniform(&r), (int)(qk_rng_uniform(&r) * 2000) - 1000);
        e = rel(qk_log(y), log(y));
        if (e > wl && fabs(log(y)) > 1e-3) wl = e;
        double z = (qk_rng_uniform(&r) * 2 - 1) * 7;
        e = fabs(qk_erf(z) - erf(z)) / (fabs(erf(z)) > 1e-300 ? fabs(erf(z)) : 1);
        if (e > wf) wf = e;
        double zc = qk_rng_uniform(&r) * 27 - 1;
        e = rel(qk_erfc(zc), erfc(zc));
        if (e > wc) wc = e;
    }
    CHECK(we < 6e-16, "qk_exp max relative error %.3g", we);
    CHECK(wl < 4e-16, "qk_log max relative error %.3g", wl);
    CHECK(wf < 2e-15, "qk_erf max relative error %.3g", wf);
    CHECK(wc < 2e-13, "qk_erfc max relative error %.3g on [-1, 26]", wc);
    CHECK(qk_erf(0.0) == 0.0 && qk_erf(10.0) == 1.0 && qk_erf(-10.0) == -1.0, "erf at 0, ±10");
    CHECK(qk_exp(-746.0) == 0.0 && isinf(qk_exp(710.0)) && qk_exp(-740.0) > 0.0, "exp range ends");
    CHECK(qk_log(0x1p-1074) == -1074 * 0.69314718055994530942, "log of the smallest subnormal");
}

/* ---------------------------------------------------------------- random numbers */
TEST(rng_deterministic_and_distributed)
{
    qk_rng a, b;
    qk_rng_seed(&a, 42);
    qk_rng_seed(&b, 42);
    int same = 1;
    for (int i = 0; i < 1000; i++) same &= qk_rng_u64(&a) == qk_rng_u64(&b);
    CHECK(same, "same seed gave different streams");
    qk_rng_seed(&b, 43);
    CHECK(qk_rng_u64(&a) != qk_rng_u64(&b), "seeds 42 and 43 gave the same value");
    const int n = 200000;
    double su = 0, sn = 0, sn2 = 0;
    int in1 = 0, bad = 0;
    for (int i = 0; i < n; i++) {
        float u = qk_rng_uniformf(&a);
        bad += !(u >= 0.0f && u < 1.0f);
        su += u;
        double z = qk_rng_normal(&a);
        sn += z;
        sn2 += z * z;
        in1 += fabs(z) < 1.0;
    }
    CHECK(bad == 0, "%d uniforms outside [0,1)", bad);
    CHECK(fabs(su / n - 0.5) < 0.003, "uniform mean %.5f", su / n);
    CHECK(fabs(sn / n) < 0.01, "normal mean %.5f", sn / n);
    CHECK(fabs(sn2 / n - 1.0) < 0.015, "normal variance %.5f", sn2 / n);
    CHECK(fabs((double)in1 / n - 0.682689) < 0.005, "P(|z|<1) = %.5f", (double)in1 / n);
}

/* ---------------------------------------------------------------- products */
/* SPEC §2.3 literally: one fmaf chain over k in increasing order. */
static void matmul_spec(float *C, const float *A, const float *B, int M, int N, int K, int flags)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            float c = (flags & QK_ACCUMULATE) ? C[i * N + j] : 0.0f;
            for (int k = 0; k < K; k++) {
                float a = (flags & QK_TRANS_A) ? A[k * M + i] : A[i * K + k];
                float b = (flags & QK_TRANS_B) ? B[j * K + k] : B[k * N + j];
                c = fmaf(a, b, c);
            }
            C[i * N + j] = c;
        }
}

/* Compares qk_matmul with the literal chain (bits) and a double product (bound). */
static void check_matmul(int M, int N, int K, int flags, qk_rng *r)
{
    float *A = malloc(sizeof(float) * (size_t)M * K), *B = malloc(sizeof(float) * (size_t)K * N);
    float *C = malloc(sizeof(float) * (size_t)M * N), *R = malloc(sizeof(float) * (size_t)M * N);
    tu_fill(A, M * K, r, 1.0f);
    tu_fill(B, K * N, r, 1.0f);
    tu_fill(C, M * N, r, 1.0f);
    memcpy(R, C, sizeof(float) * (size_t)M * N);
    int ta = flags & QK_TRANS_A, tb = flags & QK_TRANS_B;
    qk_mat mA = qk_mat_view(A, ta ? K : M, ta ? M : K, ta ? M : K);
    qk_mat mB = qk_mat_view(B, tb ? N : K, tb ? K : N, tb ? K : N);
    qk_mat mC = qk_mat_view(C, M, N, N);
    CHECK_OK(qk_matmul(&mC, &mA, &mB, flags));
    float *C0 = malloc(sizeof(float) * (size_t)M * N);
    memcpy(C0, R, sizeof(float) * (size_t)M * N);
    matmul_spec(R, A, B, M, N, K, flags);
    int bitbad = 0;
    double worst = 0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            bitbad += tu_bits(C[i * N + j]) != tu_bits(R[i * N + j]);
            double s = (flags & QK_ACCUMULATE) ? C0[i * N + j] : 0.0, mag = fabs(s);
            for (int k = 0; k < K; k++) {
                double a = ta ? A[k * M + i] : A[i * K + k], b = tb ? B[j * K + k] : B[k * N + j];
                s += a * b;
                mag += fabs(a * b);
            }
            double e = fabs(C[i * N + j] - s) / (mag * (K + 1) * FLT_EPSILON + 1e-30);
            if (e > worst) worst = e;
        }
    CHECK(bitbad == 0, "matmul %dx%dx%d flags %d: %d elements differ from the k-order fmaf chain", M, N, K, flags, bitbad);
    CHECK(worst <= 1.0, "matmul %dx%dx%d flags %d: error %.3f of the (K+1)·eps·sum|ab| bound", M, N, K, flags, worst);
    free(A); free(B); free(C); free(R); free(C0);
}

TEST(matmul_all_variants_against_spec_and_double)
{
    static const int sizes[][3] = {{1, 1, 1}, {7, 9, 5}, {8, 8, 8}, {9, 63, 65}, {65, 7, 64},
                                   {6, 16, 300}, {97, 270, 3}, {13, 17, 513}};
    qk_rng r;
    qk_rng_seed(&r, 1);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int flags = 0; flags < 8; flags++) check_matmul(sizes[s][0], sizes[s][1], sizes[s][2], flags, &r);
}

TEST(matmul_argument_errors)
{
    float a[12] = {0}, b[12] = {0}, c[12] = {0};
    qk_mat A = qk_mat_view(a, 3, 4, 4), B = qk_mat_view(b, 3, 4, 4), C = qk_mat_view(c, 3, 3, 3);
    CHECK(qk_matmul(&C, &A, &B, 0) == QK_ERR_SHAPE, "3x4 · 3x4 accepted");
    CHECK_OK(qk_matmul(&C, &A, &B, QK_TRANS_B));
    qk_mat bad = qk_mat_view(c, 3, 4, 3);
    CHECK(qk_matmul(&bad, &A, &B, QK_TRANS_B) == QK_ERR_ARG, "stride < cols accepted");
    qk_mat alias = qk_mat_view(a, 3, 3, 4);
    CHECK(qk_matmul(&alias, &A, &B, QK_TRANS_B) == QK_ERR_ARG, "C overlapping A accepted");
    CHECK(qk_matmul(NULL, &A, &B, 0) == QK_ERR_ARG, "NULL accepted");
    qk_mat K0a = qk_mat_view(a, 3, 0, 0), K0b = qk_mat_view(b, 0, 3, 3);
    c[0] = 5.0f;
    CHECK_OK(qk_matmul(&C, &K0a, &K0b, 0));
    CHECK(c[0] == 0.0f, "K = 0 overwrite should give zeros");
}

/* ---------------------------------------------------------------- reductions */
TEST(reductions_follow_the_eight_lane_tree)
{
    qk_rng r;
    qk_rng_seed(&r, 3);
    float x[1031], y[1031];
    tu_fill(x, 1031, &r, 1000.0f);
    tu_fill(y, 1031, &r, 1.0f);
    for (int n = 0; n <= 1031; n += (n < 40 ? 1 : 97)) {
        float l[8] = {0}, d[8] = {0};
        for (int i = 0; i < n; i++) {
            l[i % 8] = l[i % 8] + x[i];
            d[i % 8] = fmaf(x[i], y[i], d[i % 8]);
        }
        float s = ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]));
        float t = ((d[0] + d[4]) + (d[2] + d[6])) + ((d[1] + d[5]) + (d[3] + d[7]));
        CHECK(tu_bits(qk_sum(x, n)) == tu_bits(s), "qk_sum(n=%d) %a vs tree %a", n, qk_sum(x, n), s);
        CHECK(tu_bits(qk_dot(x, y, n)) == tu_bits(t), "qk_dot(n=%d) %a vs tree %a", n, qk_dot(x, y, n), t);
    }
}

/* ---------------------------------------------------------------- softmax */
TEST(softmax_forward_backward_against_double)
{
    enum { R = 9, C = 13 };
    qk_rng r;
    qk_rng_seed(&r, 5);
    float x[R * C], y[R * C], dy[R * C], dx[R * C];
    tu_fill(x, R * C, &r, 8.0f);
    tu_fill(dy, R * C, &r, 1.0f);
    for (int causal = 0; causal < 2; causal++) {
        qk_mat mx = qk_mat_view(x, R, C, C), my = qk_mat_view(y, R, C, C);
        qk_mat mdy = qk_mat_view(dy, R, C, C), mdx = qk_mat_view(dx, R, C, C);
        CHECK_OK(qk_softmax_forward(&my, &mx, causal));
        memset(dx, 0, sizeof dx);
        CHECK_OK(qk_softmax_backward(&mdx, &my, &mdy, causal));
        double wf = 0, wb = 0;
        for (int i = 0; i < R; i++) {
            int n = causal ? (i + 1 < C ? i + 1 : C) : C;
            double m = -INFINITY, s = 0, p[C], ydy = 0;
            for (int j = 0; j < n; j++) m = fmax(m, x[i * C + j]);
            for (int j = 0; j < n; j++) s += p[j] = exp((double)x[i * C + j] - m);
            for (int j = 0; j < n; j++) ydy += (p[j] /= s) * dy[i * C + j];
            for (int j = 0; j < C; j++) {
                double pf = j < n ? p[j] : 0.0, gb = j < n ? p[j] * (dy[i * C + j] - ydy) : 0.0;
                wf = fmax(wf, fabs(y[i * C + j] - pf));
                wb = fmax(wb, fabs(dx[i * C + j] - gb));
            }
        }
        CHECK(wf < 3e-7, "softmax (causal=%d) max abs error %.3g", causal, wf);
        CHECK(wb < 1e-6, "softmax backward (causal=%d) max abs error %.3g", causal, wb);
    }
}

/* ---------------------------------------------------------------- LayerNorm */
TEST(layernorm_forward_backward_against_double)
{
    enum { T = 5, C = 37 };
    qk_rng r;
    qk_rng_seed(&r, 9);
    float x[T * C], y[T * C], g[C], b[C], mean[T], rstd[T], dy[T * C], dx[T * C], dg[C], db[C], scratch[2 * C];
    tu_fill(x, T * C, &r, 3.0f);
    for (int i = 0; i < T * C; i++) x[i] += 10.0f; /* a large mean: cancellation matters */
    tu_fill(g, C, &r, 2.0f);
    tu_fill(b, C, &r, 1.0f);
    tu_fill(dy, T * C, &r, 1.0f);
    qk_mat mx = qk_mat_view(x, T, C, C), my = qk_mat_view(y, T, C, C);
    qk_mat mdy = qk_mat_view(dy, T, C, C), mdx = qk_mat_view(dx, T, C, C);
    CHECK_OK(qk_layernorm_forward(&my, mean, rstd, &mx, g, b, 1e-5f));
    memset(dx, 0, sizeof dx);
    memset(dg, 0, sizeof dg);
    memset(db, 0, sizeof db);
    CHECK_OK(qk_layernorm_backward(&mdx, dg, db, &mdy, &mx, mean, rstd, g, scratch));
    double wf = 0, wb = 0, wg = 0;
    double rdg[C] = {0};
    for (int t = 0; t < T; t++) {
        double m = 0, v = 0, n[C], gn = 0, gm = 0;
        for (int i = 0; i < C; i++) m += x[t * C + i];
        m /= C;
        for (int i = 0; i < C; i++) v += (x[t * C + i] - m) * (x[t * C + i] - m);
        double rs = 1.0 / sqrt(v / C + 1e-5);
        for (int i = 0; i < C; i++) {
            n[i] = (x[t * C + i] - m) * rs;
            wf = fmax(wf, fabs(y[t * C + i] - (n[i] * g[i] + b[i])));
            gm += g[i] * dy[t * C + i] / C;
            gn += g[i] * dy[t * C + i] * n[i] / C;
            rdg[i] += dy[t * C + i] * n[i];
        }
        for (int i = 0; i < C; i++) wb = fmax(wb, fabs(dx[t * C + i] - (g[i] * dy[t * C + i] - gm - n[i] * gn) * rs));
    }
    for (int i = 0; i < C; i++) wg = fmax(wg, fabs(dg[i] - rdg[i]));
    CHECK(wf < 2e-6, "layernorm forward max abs error %.3g", wf);
    CHECK(wb < 2e-6, "layernorm backward dx max abs error %.3g", wb);
    CHECK(wg < 2e-6, "layernorm backward dgamma max abs error %.3g", wg);
    CHECK(qk_layernorm_forward(&mx, mean, rstd, &mx, g, b, 1e-5f) == QK_ERR_ARG, "in-place layernorm accepted");
}

TEST(isa_selection)
{
    CHECK(qk_isa_select_name("nonsense") == QK_ERR_ARG, "unknown ISA accepted");
    CHECK_OK(qk_isa_select_name("scalar"));
    CHECK(qk_isa_current() == QK_ISA_SCALAR, "scalar not selected");
#if !defined(__aarch64__)
    CHECK(qk_isa_select(QK_ISA_NEON) == QK_ERR_UNSUPPORTED, "NEON selectable off AArch64");
#endif
#if !defined(__x86_64__)
    CHECK(qk_isa_select(QK_ISA_AVX2) == QK_ERR_UNSUPPORTED, "AVX2 selectable off x86-64");
#endif
}

TEST(math_sin_cos_against_libm)
{
    double worst = 0;
    for (int i = -200000; i <= 200000; i++) {
        double x = i * 0.0137;
        double es = fabs(qk_sin(x) - sin(x)), ec = fabs(qk_cos(x) - cos(x));
        if (es > worst) worst = es;
        if (ec > worst) worst = ec;
    }
    CHECK(worst < 4e-16, "sin/cos max abs error %.3g on [-2740, 2740]", worst);
    CHECK(qk_sin(0.0) == 0.0 && qk_cos(0.0) == 1.0, "sin 0, cos 0");
    CHECK(isnan(qk_sin(INFINITY)) && isnan(qk_cos(NAN)), "non-finite arguments");
}

/* ------------------------------------------- integer-only fused multiply-add (SPEC §2.2) */
/* qk__fma_soft / qk__fmaf_soft (src/numerics/qk_softfp.c) against three references:
 *   - a table of edge cases whose answers were computed by the x86-64 FMA instruction
 *     (vfmadd231sd/ss) and agree with the IEEE 754 rule in each comment;
 *   - hashes of the results over a fixed stream of generated inputs, computed by the
 *     x86-64 FMA instruction (inputs built from integers only, so the stream is the same
 *     on every target);
 *   - the platform's fma/fmaf case by case, where those are correctly rounded (the
 *     condition of qk_fp.h: glibc, x86-64, AArch64, or a hardware FMA), and for fmaf
 *     everywhere an exact double-precision reference: a*b is exact in double and the
 *     sum is rounded to odd before the single rounding to float (correct because
 *     53 >= 24 + 2). tools/fma_check runs 10^7 cases per precision against the
 *     instruction. */
#include "qk_fp.h"

#if defined(__FP_FAST_FMA) || defined(__GLIBC__) || defined(__x86_64__) || defined(__aarch64__)
#define TN_LIBM_FMA_OK 1
#else
#define TN_LIBM_FMA_OK 0
#endif
#if defined(__FP_FAST_FMAF) || defined(__GLIBC__) || defined(__x86_64__) || defined(__aarch64__)
#define TN_LIBM_FMAF_OK 1
#else
#define TN_LIBM_FMAF_OK 0
#endif

#if defined(__SOFTFP__) || (defined(__ARM_FP) && !(__ARM_FP & 8))
#define TN_HW_DOUBLE 0 /* double arithmetic in software (Cortex-M3, Cortex-M4F): */
                       /* libgcc's, whose addition misrounds (see qk__dadd_soft) */
#else
#define TN_HW_DOUBLE 1
#endif



static uint64_t tn_dbits(double x) { uint64_t u; memcpy(&u, &x, 8); return u; }
static double tn_dbl(uint64_t u) { double x; memcpy(&x, &u, 8); return x; }

/* Edge cases: a, b, c and the expected result as bit patterns. */
static const uint64_t tn_fma_table[][4] = {
    /* signed zeros: +0 + -0 = +0, -0 + -0 = -0; exact zero of nonzero terms is +0 */
    {0x0000000000000000u, 0xbff0000000000000u, 0x0000000000000000u, 0x0000000000000000u}, /* +0*-1 + +0 */
    {0x8000000000000000u, 0x3ff0000000000000u, 0x8000000000000000u, 0x8000000000000000u}, /* -0*1 + -0 */
    {0x0000000000000000u, 0x3ff0000000000000u, 0x8000000000000000u, 0x0000000000000000u}, /* +0*1 + -0 */
    {0x3ff0000000000000u, 0x3ff0000000000000u, 0xbff0000000000000u, 0x0000000000000000u}, /* 1*1 - 1 */
    {0xbff0000000000000u, 0x3ff0000000000000u, 0x3ff0000000000000u, 0x0000000000000000u}, /* -1*1 + 1 */
    {0x3ff0000000000000u, 0x3ff0000000000000u, 0x8000000000000000u, 0x3ff0000000000000u}, /* 1*1 + -0 */
    {0x0000000000000001u, 0x8000000000000001u, 0x0000000000000000u, 0x8000000000000000u}, /* -2^-2148 + 0 -> -0 */
    /* invalid and infinite */
    {0x7ff0000000000000u, 0x0000000000000000u, 0x3ff0000000000000u, 0x7ff8000000000000u}, /* inf*0 + 1 = NaN */
    {0x7ff0000000000000u, 0x3ff0000000000000u, 0xfff0000000000000u, 0x7ff8000000000000u}, /* inf - inf = NaN */
    {0x7ff0000000000000u, 0xbff0000000000000u, 0xfff0000000000000u, 0xfff0000000000000u}, /* -inf - inf */
    {0x3ff0000000000000u, 0x3ff0000000000000u, 0x7ff0000000000000u, 0x7ff0000000000000u}, /* 1 + inf */
    {0x7ff8000000000000u, 0x0000000000000000u, 0x3ff0000000000000u, 0x7ff8000000000000u}, /* NaN in */
    {0x3ff0000000000000u, 0x3ff0000000000000u, 0x7ff8000000000000u, 0x7ff8000000000000u}, /* NaN in */
    {0x7fefffffffffffffu, 0x4000000000000000u, 0xffefffffffffffffu, 0x7fefffffffffffffu}, /* 2 MAX - MAX: no overflow */
    /* ties: (1+2^-26)(1+2^-27) = 1 + 2^-26 + 2^-27 + 2^-53, exactly half an ulp above
     * an even significand; c decides */
    {0x3ff0000004000000u, 0x3ff0000002000000u, 0x0000000000000000u, 0x3ff0000006000000u}, /* tie, to even */
    {0x3ff0000004000000u, 0x3ff0000002000000u, 0x2370000000000000u, 0x3ff0000006000001u}, /* + 2^-200: up */
    {0x3ff0000004000000u, 0x3ff0000002000000u, 0xa370000000000000u, 0x3ff0000006000000u}, /* - 2^-200: down */
    /* 1 - 2^-54 is a tie between 1 - 2^-53 and 1 (even); 2^-54(1 + 2^-50) more is past it */
    {0xbc90000000000000u, 0x3ff0000000000000u, 0x3ff0000000000000u, 0x3ff0000000000000u},
    {0xbc90000000000004u, 0x3ff0000000000000u, 0x3ff0000000000000u, 0x3fefffffffffffffu},
    /* (1 + 2^-52)(1 - 2^-53) - 1 = 2^-53 - 2^-105: the low half of the product survives */
    {0x3ff0000000000001u, 0x3fefffffffffffffu, 0xbff0000000000000u, 0x3c9ffffffffffffeu},
    /* huge exponent gaps: the small term only moves the result through the sticky bit */
    {0x1a70000000000000u, 0x1a70000000000000u, 0x3ff0000000000000u, 0x3ff0000000000000u}, /* 2^-600^2 + 1 */
    {0x9a70000000000000u, 0x1a70000000000000u, 0x3ff0000000000000u, 0x3ff0000000000000u}, /* 1 - 2^-1200 */
    {0x3ff0000000000000u, 0x3ff0000000000000u, 0x0000000000000001u, 0x3ff0000000000000u}, /* 1 + 2^-1074 */
    {0x7fe0000000000000u, 0x3ff0000000000000u, 0x8000000000000001u, 0x7fe0000000000000u}, /* 2^1023 - tiny */
    /* subnormals in and out */
    {0x1e60000000000000u, 0x1e60000000000000u, 0x0000000000000000u, 0x0000000000000001u}, /* 2^-537^2 */
    {0x1e50000000000000u, 0x1e60000000000000u, 0x0000000000000000u, 0x0000000000000000u}, /* 2^-1075: tie to 0 */
    {0x1e50000000000000u, 0x1e60000000000001u, 0x0000000000000000u, 0x0000000000000001u}, /* just above */
    {0x9e50000000000000u, 0x1e60000000000000u, 0x0000000000000000u, 0x8000000000000000u}, /* -2^-1075 -> -0 */
    {0x0000000000000001u, 0x4330000000000000u, 0x0000000000000000u, 0x0010000000000000u}, /* 2^-1074 2^52 */
    {0x0008000000000000u, 0x4000000000000000u, 0x0000000000000001u, 0x0010000000000001u}, /* into normal */
    {0x0010000000000000u, 0x3fe0000000000000u, 0x8000000000000001u, 0x0007ffffffffffffu}, /* out of normal */
    {0x000fffffffffffffu, 0x3ff0000000000001u, 0x0000000000000000u, 0x0010000000000000u}, /* rounds to MIN */
    /* overflow: MAX's significand is odd, so the tie MAX + 2^970 goes to infinity */
    {0x7fefffffffffffffu, 0x3ff0000000000001u, 0x0000000000000000u, 0x7ff0000000000000u},
    {0x7fefffffffffffffu, 0x3ff0000000000000u, 0x7c90000000000000u, 0x7ff0000000000000u}, /* + 2^970 */
    {0x7fefffffffffffffu, 0x3ff0000000000000u, 0x7c80000000000000u, 0x7fefffffffffffffu}, /* + 2^969 */
    {0xffefffffffffffffu, 0x4000000000000000u, 0x7fefffffffffffffu, 0xffefffffffffffffu}, /* -2MAX + MAX */
    {0xffefffffffffffffu, 0x4000000000000000u, 0x3ff0000000000000u, 0xfff0000000000000u}, /* -2MAX + 1 */
};

static const uint32_t tn_fmaf_table[][4] = {
    {0x00000000u, 0xbf800000u, 0x00000000u, 0x00000000u}, /* +0*-1 + +0 = +0 */
    {0x80000000u, 0x3f800000u, 0x80000000u, 0x80000000u}, /* -0*1 + -0 = -0 */
    {0x00000000u, 0x3f800000u, 0x80000000u, 0x00000000u}, /* +0*1 + -0 = +0 */
    {0x3f800000u, 0x3f800000u, 0xbf800000u, 0x00000000u}, /* 1 - 1 = +0 */
    {0x00000001u, 0x80000001u, 0x00000000u, 0x80000000u}, /* -2^-298 + 0 -> -0 */
    {0x7f800000u, 0x00000000u, 0x3f800000u, 0x7fc00000u}, /* inf*0 = NaN */
    {0x7f800000u, 0x3f800000u, 0xff800000u, 0x7fc00000u}, /* inf - inf = NaN */
    {0x3f800000u, 0x3f800000u, 0x7f800000u, 0x7f800000u}, /* 1 + inf */
    {0x7fc00000u, 0x3f800000u, 0x3f800000u, 0x7fc00000u}, /* NaN in */
    /* double rounding: (1+2^-12)^2 + 2^-70 = 1 + 2^-11 + 2^-24 + 2^-70. Rounded to double
     * first it becomes the tie 1 + 2^-11 + 2^-24 and then rounds to even (down); the
     * single rounding goes up. */
    {0x3f800800u, 0x3f800800u, 0x1c800000u, 0x3f801001u},
    {0x3f800800u, 0x3f800800u, 0x9c800000u, 0x3f801000u}, /* - 2^-70: down */
    {0x3f800800u, 0x3f800800u, 0x00000000u, 0x3f801000u}, /* the tie itself: even */
    /* 1 - 2^-25 is a tie between 1 - 2^-24 and 1 (even); 2^-25(1 + 2^-22) is past it */
    {0xb3000000u, 0x3f800000u, 0x3f800000u, 0x3f800000u},
    {0xb3000002u, 0x3f800000u, 0x3f800000u, 0x3f7fffffu},
    /* (1 + 2^-23)(1 - 2^-24) - 1 = 2^-24 - 2^-47 */
    {0x3f800001u, 0x3f7fffffu, 0xbf800000u, 0x337ffffeu},
    /* gaps */
    {0x1f800000u, 0x1f800000u, 0x3f800000u, 0x3f800000u}, /* 2^-64^2 + 1 */
    {0x9f800000u, 0x1f800000u, 0x3f800000u, 0x3f800000u}, /* 1 - 2^-128 */
    {0x3f800000u, 0x3f800000u, 0x00000001u, 0x3f800000u}, /* 1 + 2^-149 */
    /* subnormals */
    {0x1a000000u, 0x1a800000u, 0x00000000u, 0x00000001u}, /* 2^-75 2^-74 = 2^-149 */
    {0x1a000000u, 0x1a000000u, 0x00000000u, 0x00000000u}, /* 2^-150: tie to 0 */
    {0x1a000000u, 0x1a000001u, 0x00000000u, 0x00000001u}, /* just above */
    {0x9a000000u, 0x1a000000u, 0x00000000u, 0x80000000u}, /* -2^-150 -> -0 */
    {0x00400000u, 0x40000000u, 0x00000001u, 0x00800001u}, /* into normal */
    {0x00800000u, 0x3f000000u, 0x80000001u, 0x003fffffu}, /* out of normal */
    /* overflow: MAX + 2^103 is a tie going to infinity, + 2^102 is not */
    {0x7f7fffffu, 0x3f800001u, 0x00000000u, 0x7f800000u},
    {0x7f7fffffu, 0x3f800000u, 0x73000000u, 0x7f800000u},
    {0x7f7fffffu, 0x3f800000u, 0x72800000u, 0x7f7fffffu},
    {0xff7fffffu, 0x40000000u, 0x7f7fffffu, 0xff7fffffu},
};

static int tn_same64(uint64_t x, uint64_t y)
{
    uint64_t m = 0x7fffffffffffffffu, inf = 0x7ff0000000000000u;
    return x == y || ((x & m) > inf && (y & m) > inf); /* any NaN matches any NaN */
}
static int tn_same32(uint32_t x, uint32_t y)
{
    return x == y || ((x & 0x7fffffffu) > 0x7f800000u && (y & 0x7fffffffu) > 0x7f800000u);
}

TEST(softfp_fma_edge_cases)
{
    for (size_t i = 0; i < sizeof tn_fma_table / sizeof tn_fma_table[0]; i++) {
        const uint64_t *t = tn_fma_table[i];
        uint64_t r = tn_dbits(qk__fma_soft(tn_dbl(t[0]), tn_dbl(t[1]), tn_dbl(t[2])));
        CHECK(tn_same64(r, t[3]), "fma_soft case %d: %016llx, expected %016llx", (int)i, (unsigned long long)r,
              (unsigned long long)t[3]);
#if TN_LIBM_FMA_OK
        r = tn_dbits(fma(tn_dbl(t[0]), tn_dbl(t[1]), tn_dbl(t[2])));
        CHECK(tn_same64(r, t[3]), "platform fma case %d: %016llx, table %016llx", (int)i, (unsigned long long)r,
              (unsigned long long)t[3]);
#endif
    }
    for (size_t i = 0; i < sizeof tn_fmaf_table / sizeof tn_fmaf_table[0]; i++) {
        const uint32_t *t = tn_fmaf_table[i];
        uint32_t r = tu_bits(qk__fmaf_soft(tu_float(t[0]), tu_float(t[1]), tu_float(t[2])));
        CHECK(tn_same32(r, t[3]), "fmaf_soft case %d: %08x, expected %08x", (int)i, (unsigned)r, (unsigned)t[3]);
#if TN_LIBM_FMAF_OK
        r = tu_bits(fmaf(tu_float(t[0]), tu_float(t[1]), tu_float(t[2])));
        CHECK(tn_same32(r, t[3]), "platform fmaf case %d: %08x, table %08x", (int)i, (unsigned)r, (unsigned)t[3]);
#endif
    }
}

/* Generated inputs, integers only. Families (i mod 5): random bit patterns; random
 * significands with an exponent gap of 0..60 between a*b and c; c = minus a*b
 * truncated to 53 (24) bits, nudged by up to 3 ulps (heavy cancellation, half of them
 * with short significands so that a*b + c can be exactly zero); ties: odd
 * short significands whose product needs one bit too many, plus a tiny c of either sign
 * or none; the whole exponent range (subnormal and overflowing products and sums). */
static uint64_t tn_sm(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* ±2^(be-1023) × 1.f with be clamped to 1..2046 (normal) */
static uint64_t tn_mk64(uint64_t sign, int be, uint64_t f)
{
    if (be < 1) be = 1;
    if (be > 2046) be = 2046;
    return sign << 63 | (uint64_t)be << 52 | (f & 0x000fffffffffffffu);
}

static void tn_gen64(uint64_t *s, int fam, uint64_t *a, uint64_t *b, uint64_t *c)
{
    uint64_t r = tn_sm(s), x = tn_sm(s), y = tn_sm(s), z = tn_sm(s);
    int ea = 1023 + (int)(r % 81) - 40, eb = 1023 + (int)(r >> 8 & 63) - 32, g = (int)((r >> 16) % 61);
    *a = x, *b = y, *c = z;
    if (fam == 1) {
        *a = tn_mk64(x >> 63, ea, x), *b = tn_mk64(y >> 63, eb, y);
        *c = tn_mk64(z >> 63, ea + eb - 1023 + (r >> 24 & 1 ? g : -g), z);
    } else if (fam == 2) { /* c = -trunc53(a*b) ± k ulp */
        uint64_t ma, mb, hi, lo, t;
        int sh;
        if (r >> 28 & 1) x &= ~0x7ffffffull, y &= ~0x7ffffffull; /* 26-bit: exact product */
        ma = x | 1ull << 52, mb = y | 1ull << 52;
        *a = tn_mk64(x >> 63, ea, x), *b = tn_mk64(y >> 63, eb, y);
        ma &= 0x001fffffffffffffu, mb &= 0x001fffffffffffffu;
        { /* the 106-bit product's top 53 bits, 32-bit pieces */
            uint64_t a0 = ma & 0xffffffffu, a1 = ma >> 32, b0 = mb & 0xffffffffu, b1 = mb >> 32;
            uint64_t mid = (a0 * b0 >> 32) + (a0 * b1 & 0xffffffffu) + (a1 * b0 & 0xffffffffu);
            lo = (mid << 32) | (a0 * b0 & 0xffffffffu);
            hi = a1 * b1 + (a0 * b1 >> 32) + (a1 * b0 >> 32) + (mid >> 32);
        }
        sh = hi >> 41 ? 53 : 52; /* product in [2^104, 2^106) */
        t = (hi << (64 - sh)) | (lo >> sh);
        *c = tn_mk64(((x ^ y) >> 63) ^ 1, ea + eb - 1023 + (sh - 52), t);
        *c += (uint64_t)((int)(r >> 24 & 7) - 3);
    } else if (fam == 3) { /* odd 27-bit significands: the product often needs 54 bits */
        *a = tn_mk64(x >> 63, ea, (x | 1) << 26);
        *b = tn_mk64(y >> 63, eb, (y | 1) << 26);
        *c = r >> 24 & 1 ? 0 : tn_mk64(z >> 63, ea + eb - 1023 - 54 - g, z);
    } else if (fam == 4) { /* anywhere, c near a*b in magnitude */
        ea = 1 + (int)(r % 2046), eb = 1023 + (1023 - ea) + (int)((r >> 12) % 2100) - 1050;
        *a = tn_mk64(x >> 63, ea, x), *b = tn_mk64(y >> 63, eb, y);
        *c = tn_mk64(z >> 63, ea + eb - 1023 + (int)(r >> 32 & 7) - 4, z);
        if (r >> 40 & 1) *c &= 0x800fffffffffffffu; /* subnormal or zero c */
        if (r >> 41 & 1) *a &= 0x800fffffffffffffu; /* subnormal or zero a */
    }
}

static int tn_mk32e(int be) { return be < 1 ? 1 : be > 254 ? 254 : be; }
static uint32_t tn_mk32(uint64_t sign, int be, uint64_t f)
{
    return (uint32_t)(sign & 1) << 31 | (uint32_t)tn_mk32e(be) << 23 | (uint32_t)(f & 0x7fffffu);
}

static void tn_gen32(uint64_t *s, int fam, uint32_t *a, uint32_t *b, uint32_t *c)
{
    uint64_t r = tn_sm(s), x = tn_sm(s), y = tn_sm(s), z = tn_sm(s);
    int ea = 127 + (int)(r % 41) - 20, eb = 127 + (int)(r >> 8 & 31) - 16, g = (int)((r >> 16) % 61);
    *a = (uint32_t)x, *b = (uint32_t)y, *c = (uint32_t)z;
    if (fam == 1) {
        *a = tn_mk32(x >> 63, ea, x), *b = tn_mk32(y >> 63, eb, y);
        *c = tn_mk32(z >> 63, ea + eb - 127 + (r >> 24 & 1 ? g : -g), z);
    } else if (fam == 2) {
        uint64_t p;
        int sh;
        if (r >> 28 & 1) x &= ~0xfffull, y &= ~0xfffull; /* 12-bit: exact product */
        p = (uint64_t)((x & 0x7fffffu) | 0x800000u) * ((y & 0x7fffffu) | 0x800000u);
        sh = p >> 47 ? 24 : 23;
        *a = tn_mk32(x >> 63, ea, x), *b = tn_mk32(y >> 63, eb, y);
        *c = tn_mk32(((x ^ y) >> 63) ^ 1, ea + eb - 127 + (sh - 23), p >> sh);
        *c += (uint32_t)((int)(r >> 24 & 7) - 3);
    } else if (fam == 3) { /* odd 13- and 12-bit significands: often 25 bits */
        *a = tn_mk32(x >> 63, ea, ((x & 0xfffu) | 1) << 11);
        *b = tn_mk32(y >> 63, eb, ((y & 0x7ffu) | 1) << 12);
        *c = r >> 24 & 1 ? 0 : tn_mk32(z >> 63, ea + eb - 127 - 25 - g, z);
    } else if (fam == 4) {
        ea = 1 + (int)(r % 254), eb = 127 + (127 - ea) + (int)((r >> 12) % 300) - 150;
        *a = tn_mk32(x >> 63, ea, x), *b = tn_mk32(y >> 63, eb, y);
        *c = tn_mk32(z >> 63, ea + eb - 127 + (int)(r >> 32 & 7) - 4, z);
        if (r >> 40 & 1) *c &= 0x807fffffu;
        if (r >> 41 & 1) *a &= 0x807fffffu;
    }
}

/* FNV-1a style mix of a result, NaNs folded to one value (payloads are free). */
static uint64_t tn_mix(uint64_t h, uint64_t v) { return (h ^ v) * 0x100000001b3u; }
static uint64_t tn_canon64(uint64_t u) { return tn_same64(u, 0x7ff8000000000000u) ? 0x7ff8000000000000u : u; }
static uint32_t tn_canon32(uint32_t u) { return tn_same32(u, 0x7fc00000u) ? 0x7fc00000u : u; }

/* fmaf by double arithmetic: p = a*b exact; s + e = p + c exactly (TwoSum); s made odd
 * if e != 0 (round to odd), then one rounding to float. Where double arithmetic is
 * libgcc's soft-float, the additions go through qk__dadd_soft (tested below). */
#if TN_HW_DOUBLE
#define TN_ADD(x, y) ((x) + (y))
#else
#define TN_ADD(x, y) qk__dadd_soft((x), (y))
#endif
static float tn_fmaf_ref(float a, float b, float c)
{
    double p = (double)a * (double)b, s = TN_ADD(p, (double)c), bb, e;
    uint64_t u;
    if (isnan(s) || isinf(s) || isinf(p)) return (float)s;
    bb = TN_ADD(s, -p);
    e = TN_ADD(TN_ADD(p, -TN_ADD(s, -bb)), TN_ADD((double)c, -bb));
    u = tn_dbits(s);
    if (e != 0 && !(u & 1)) u += (e > 0) == (s > 0) ? 1 : -1;
    return (float)tn_dbl(u);
}

/* Hashes over the first 12500 and the first 200000 cases, from the x86-64 FMA
 * instruction's results. */
#define TN_H1_64 0xfb5101d773957999u
#define TN_H2_64 0x7350186e76b4a5a9u
#define TN_H1_32 0x2477ee643a34ed39u
#define TN_H2_32 0x1e9b0c0ea6895f7du

TEST(softfp_fma_random_against_reference)
{
    long n = 200000 / qkt_scale(), bad = 0, badp = 0;
    uint64_t s = 12345, h = 0xcbf29ce484222325u, hp = h;
    if (n < 12500) n = 12500;
    for (long i = 0; i < n; i++) {
        uint64_t a, b, c, r;
        tn_gen64(&s, (int)(i % 5), &a, &b, &c);
        r = tn_dbits(qk__fma_soft(tn_dbl(a), tn_dbl(b), tn_dbl(c)));
        h = tn_mix(h, tn_canon64(r));
#if TN_LIBM_FMA_OK
        {
            uint64_t w = tn_dbits(fma(tn_dbl(a), tn_dbl(b), tn_dbl(c)));
            hp = tn_mix(hp, tn_canon64(w));
            if (!tn_same64(r, w) && bad++ < 5)
                CHECK(0, "fma(%016llx, %016llx, %016llx): soft %016llx, platform %016llx", (unsigned long long)a,
                      (unsigned long long)b, (unsigned long long)c, (unsigned long long)r, (unsigned long long)w);
        }
#endif
        if (i + 1 == 12500) CHECK(h == TN_H1_64, "fma_soft hash of 12500 cases %016llx (platform %016llx)",
                                  (unsigned long long)h, (unsigned long long)hp);
        if (i + 1 == 200000) CHECK(h == TN_H2_64, "fma_soft hash of 200000 cases %016llx (platform %016llx)",
                                   (unsigned long long)h, (unsigned long long)hp);
    }
    CHECK(bad == 0, "%ld of %ld fma cases differ from the platform's fma", bad, n);
    s = 54321, h = 0xcbf29ce484222325u, hp = h, bad = 0;
    for (long i = 0; i < n; i++) {
        uint32_t a, b, c, r, w;
        tn_gen32(&s, (int)(i % 5), &a, &b, &c);
        r = tu_bits(qk__fmaf_soft(tu_float(a), tu_float(b), tu_float(c)));
        h = tn_mix(h, tn_canon32(r));
        w = tu_bits(tn_fmaf_ref(tu_float(a), tu_float(b), tu_float(c)));
        if (!tn_same32(r, w) && badp++ < 5)
            CHECK(0, "fmaf(%08x, %08x, %08x): soft %08x, double reference %08x", (unsigned)a, (unsigned)b, (unsigned)c,
                  (unsigned)r, (unsigned)w);
#if TN_LIBM_FMAF_OK
        w = tu_bits(fmaf(tu_float(a), tu_float(b), tu_float(c)));
        hp = tn_mix(hp, tn_canon32(w));
        if (!tn_same32(r, w) && bad++ < 5)
            CHECK(0, "fmaf(%08x, %08x, %08x): soft %08x, platform %08x", (unsigned)a, (unsigned)b, (unsigned)c,
                  (unsigned)r, (unsigned)w);
#endif
        if (i + 1 == 12500) CHECK(h == TN_H1_32, "fmaf_soft hash of 12500 cases %016llx (platform %016llx)",
                                  (unsigned long long)h, (unsigned long long)hp);
        if (i + 1 == 200000) CHECK(h == TN_H2_32, "fmaf_soft hash of 200000 cases %016llx (platform %016llx)",
                                   (unsigned long long)h, (unsigned long long)hp);
    }
    CHECK(bad == 0, "%ld of %ld fmaf cases differ from the platform's fmaf", bad, n);
    CHECK(badp == 0, "%ld of %ld fmaf cases differ from the double-precision reference", badp, n);
}

/* --------------------------------------- integer-only double addition (SPEC §2.2) */
/* qk__dadd_soft (qk_softfp.c), for targets whose double arithmetic is libgcc's
 * soft-float: its __adddf3 misrounds effective subtractions with an exponent difference
 * of exactly 33 whose result loses its leading bit (1 - v for v in [2^-33, 2^-32)). The
 * references: a table computed by x86-64 SSE2 addsd (each entry checked against the
 * IEEE rule in its comment), hashes of x86-64 results over a generated stream, and the
 * platform's own addition where double arithmetic is hardware. tools/fma_check runs
 * 10^7 cases against addsd. */

static const uint64_t tn_dadd_table[][3] = {
    {0x0000000000000000u, 0x8000000000000000u, 0x0000000000000000u}, /* +0 + -0 = +0 */
    {0x8000000000000000u, 0x8000000000000000u, 0x8000000000000000u}, /* -0 + -0 = -0 */
    {0x3ff0000000000000u, 0xbff0000000000000u, 0x0000000000000000u}, /* 1 - 1 = +0 */
    {0x8000000000000001u, 0x0000000000000001u, 0x0000000000000000u}, /* -tiny + tiny = +0 */
    {0x8000000000000000u, 0x3ff0000000000000u, 0x3ff0000000000000u}, /* -0 + 1 */
    {0xbff0000000000000u, 0x0000000000000000u, 0xbff0000000000000u}, /* -1 + 0 */
    {0x7ff0000000000000u, 0xfff0000000000000u, 0x7ff8000000000000u}, /* inf - inf = NaN */
    {0xfff0000000000000u, 0xfff0000000000000u, 0xfff0000000000000u}, /* -inf - inf */
    {0x7ff0000000000000u, 0xffefffffffffffffu, 0x7ff0000000000000u}, /* inf - MAX */
    {0x3ff0000000000000u, 0x7ff8000000000000u, 0x7ff8000000000000u}, /* NaN */
    {0x7fefffffffffffffu, 0x7fefffffffffffffu, 0x7ff0000000000000u}, /* MAX + MAX = inf */
    {0x7fefffffffffffffu, 0x7c90000000000000u, 0x7ff0000000000000u}, /* MAX + 2^970: tie, odd, up */
    {0x7fefffffffffffffu, 0x7c80000000000000u, 0x7fefffffffffffffu}, /* MAX + 2^969 */
    {0x0000000000000001u, 0x0000000000000001u, 0x0000000000000002u}, /* subnormals add exactly */
    {0x0010000000000000u, 0x8000000000000001u, 0x000fffffffffffffu}, /* MIN - tiny */
    {0x000fffffffffffffu, 0x0000000000000001u, 0x0010000000000000u}, /* into the normals */
    {0x3ff0000000000000u, 0x3ca0000000000000u, 0x3ff0000000000000u}, /* 1 + 2^-53: tie, even */
    {0x3ff0000000000001u, 0x3ca0000000000000u, 0x3ff0000000000002u}, /* (1 + 2^-52) + 2^-53: up */
    {0x3ff0000000000000u, 0x3ca0000000000001u, 0x3ff0000000000001u}, /* past the tie */
    {0x3ff0000000000000u, 0xbc90000000000000u, 0x3ff0000000000000u}, /* 1 - 2^-54: tie, even */
    {0x3ff0000000000000u, 0xbc90000000000001u, 0x3fefffffffffffffu}, /* past it */
    {0x3ff0000000000000u, 0x0000000000000001u, 0x3ff0000000000000u}, /* 1 + 2^-1074 */
    {0x3ff0000000000000u, 0x8000000000000001u, 0x3ff0000000000000u}, /* 1 - 2^-1074 */
    /* exponent difference 33, found misrounded by one ulp by libgcc's __adddf3 on
     * Cortex-M3/M4 (...5d81, ...e7c3, ...d41e) */
    {0x3ff0000000000000u, 0xbdeaa27e2117a9f3u, 0x3fefffffffe55d82u}, /* 1 - 0x1.aa27e2117a9f3p-33 */
    {0x3de8183da83aaea2u, 0xbff0000000000000u, 0xbfefffffffe7e7c2u}, /* 0x1.8183da83aaea2p-33 - 1 */
    {0xbff0000000000000u, 0x3def2be17ab1c1eau, 0xbfefffffffe0d41fu}, /* -1 + 0x1.f2be17ab1c1eap-33 */
};

TEST(softfp_dadd_edge_cases)
{
    for (size_t i = 0; i < sizeof tn_dadd_table / sizeof tn_dadd_table[0]; i++) {
        const uint64_t *t = tn_dadd_table[i];
        uint64_t r = tn_dbits(qk__dadd_soft(tn_dbl(t[0]), tn_dbl(t[1])));
        uint64_t r2 = tn_dbits(qk__dadd_soft(tn_dbl(t[1]), tn_dbl(t[0])));
        CHECK(tn_same64(r, t[2]) && tn_same64(r2, t[2]), "dadd_soft case %d: %016llx / %016llx, expected %016llx",
              (int)i, (unsigned long long)r, (unsigned long long)r2, (unsigned long long)t[2]);
    }
}

/* Families (i mod 5): random bits; random significands, exponent difference 0..60;
 * ±2^e (1 + k 2^-52), k < 2^20, against an opposite-signed v 2^(e-30..e-36) (the
 * libgcc case); b = -a moved by up to 3 ulps; the whole exponent range. */
static void tn_gen_add(uint64_t *s, int fam, uint64_t *a, uint64_t *b)
{
    uint64_t r = tn_sm(s), x = tn_sm(s), y = tn_sm(s);
    int ea = 1 + (int)(r % 2046), g = (int)((r >> 16) % 61);
    *a = x, *b = y;
    if (fam == 1) {
        *a = tn_mk64(x >> 63, ea, x);
        *b = tn_mk64(y >> 63, ea + (r >> 24 & 1 ? g : -g), y);
    } else if (fam == 2) {
        *a = tn_mk64(x >> 63, ea, r >> 25 & 1 ? x >> 44 : 0);
        *b = tn_mk64(~x >> 63, ea - 30 - (int)((r >> 26) % 7), y);
    } else if (fam == 3) {
        *a = tn_mk64(x >> 63, ea, x);
        *b = (*a ^ 0x8000000000000000u) + (uint64_t)((int)(r >> 24 & 7) - 3);
    } else if (fam == 4) {
        *a = tn_mk64(x >> 63, ea, x) & (r >> 30 & 1 ? 0x800fffffffffffffu : ~0ull);
        *b = tn_mk64(y >> 63, ea + (int)(r >> 32 & 63) - 32, y) & (r >> 31 & 1 ? 0x800fffffffffffffu : ~0ull);
    }
}

#define TN_HA1 0x61911186237c0491u
#define TN_HA2 0xb85e4e850475bebdu

TEST(softfp_dadd_random_against_reference)
{
    long n = 200000 / qkt_scale(), bad = 0;
    uint64_t s = 777, h = 0xcbf29ce484222325u, hp = h;
    if (n < 12500) n = 12500;
    for (long i = 0; i < n; i++) {
        uint64_t a, b, r;
        tn_gen_add(&s, (int)(i % 5), &a, &b);
        r = tn_dbits(qk__dadd_soft(tn_dbl(a), tn_dbl(b)));
        h = tn_mix(h, tn_canon64(r));
#if TN_HW_DOUBLE
        {
            volatile double va = tn_dbl(a), vb = tn_dbl(b);
            uint64_t w = tn_dbits(va + vb);
            hp = tn_mix(hp, tn_canon64(w));
            if (!tn_same64(r, w) && bad++ < 5)
                CHECK(0, "%016llx + %016llx: soft %016llx, platform %016llx", (unsigned long long)a,
                      (unsigned long long)b, (unsigned long long)r, (unsigned long long)w);
        }
#endif
        if (i + 1 == 12500) CHECK(h == TN_HA1, "dadd_soft hash of 12500 cases %016llx (platform %016llx)",
                                  (unsigned long long)h, (unsigned long long)hp);
        if (i + 1 == 200000) CHECK(h == TN_HA2, "dadd_soft hash of 200000 cases %016llx (platform %016llx)",
                                   (unsigned long long)h, (unsigned long long)hp);
    }
    CHECK(bad == 0, "%ld of %ld additions differ from the platform's", bad, n);
}
