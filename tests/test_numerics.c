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
