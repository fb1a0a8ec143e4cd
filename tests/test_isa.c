/* test_isa.c — every ISA path this CPU has gives the bits of the scalar path
 * (SPEC §2): products of odd sizes, unaligned strides and k-blocking, reductions
 * and exp over special values, the vector GELU, softmax and LayerNorm forward and
 * backward. And the split of work into parallel tasks never changes a bit (SPEC §2.8):
 * a parallel-for that runs the tasks in reverse order, splitting work of any size,
 * against none, on products, softmax, LayerNorm, the eigensolver and training steps. */
#include <stdlib.h>
#include "qktest.h"
#include "test_util.h"
#include "qk_eigen.h"
#include "qk_model.h"

static const float specials[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 0x1p-149f, -0x1p-149f, 0x1p-126f,
                                 0x1.fffffep127f, -0x1.fffffep127f, 1.0f, -1.0f, 88.72283f, 88.7229f,
                                 -87.3365f, -103.9721f, -104.0f, 1e-30f, 0.5f, 3.4e38f};
#define NSPECIAL ((int)(sizeof specials / sizeof specials[0]))

static int same_bits(const float *a, const float *b, size_t n, size_t *where)
{
    for (size_t i = 0; i < n; i++)
        if (tu_bits(a[i]) != tu_bits(b[i]) && !(isnan(a[i]) && isnan(b[i]))) { *where = i; return 0; }
    return 1;
}

/* Runs fn under scalar and under isa; compares n floats of output. */
#define FOR_EACH_SIMD_ISA(isa) \
    for (int isa = 1; isa < QK_ISA_COUNT; isa++) if (qk_isa_available((qk_isa)isa))

static void matmul_on(qk_isa isa, float *c, int ldc, const float *a, int lda, const float *b, int ldb,
                      int M, int N, int K, int flags)
{
    qk_isa_select(isa);
    int ta = flags & QK_TRANS_A, tb = flags & QK_TRANS_B;
    qk_mat A = qk_mat_view((float *)a, ta ? K : M, ta ? M : K, lda);
    qk_mat B = qk_mat_view((float *)b, tb ? N : K, tb ? K : N, ldb);
    qk_mat C = qk_mat_view(c, M, N, ldc);
    CHECK_OK(qk_matmul(&C, &A, &B, flags));
}

/* One product C = op(A)·op(B) (+ C) on the scalar path and on isa, C (leading dimension
 * ldc) from c0 between a guard element on either side, A at a + 1 and B at b + 3 (not
 * aligned): the bits of both, guards included, must agree. */
static void matmul_same_bits(qk_isa isa, const char *what, const float *a, int lda, const float *b, int ldb,
                             const float *c0, float *cs, float *cv, int ldc, int M, int N, int K, int flags)
{
    memcpy(cs, c0, sizeof(float) * ((size_t)M * ldc + 2));
    memcpy(cv, c0, sizeof(float) * ((size_t)M * ldc + 2));
    matmul_on(QK_ISA_SCALAR, cs + 1, ldc, a + 1, lda, b + 3, ldb, M, N, K, flags);
    matmul_on(isa, cv + 1, ldc, a + 1, lda, b + 3, ldb, M, N, K, flags);
    size_t w;
    CHECK(same_bits(cs, cv, (size_t)M * ldc + 2, &w), "%s %s %dx%dx%d flags %d: index %zu %a vs %a", qk_isa_name(isa),
          what, M, N, K, flags, w, cs[w], cv[w]);
}

TEST(isa_matmul_bit_identical)
{
    static const int dims[] = {1, 7, 8, 9, 16, 17, 63, 65, 100};
    static const int ks[] = {1, 8, 9, 65, 257, 600};
    qk_rng r;
    qk_rng_seed(&r, 11);
    const int cap = 700 * 712 + 3;
    float *a = malloc(sizeof(float) * cap), *b = malloc(sizeof(float) * cap);
    float *c0 = malloc(sizeof(float) * cap), *cs = malloc(sizeof(float) * cap), *cv = malloc(sizeof(float) * cap);
    tu_fill(a, cap, &r, 2.0f);
    tu_fill(b, cap, &r, 2.0f);
    tu_fill(c0, cap, &r, 2.0f);
    for (int s = 0; s < NSPECIAL; s++) a[37 * s + 5] = specials[s]; /* specials inside the data */
    long cases = 0;
    FOR_EACH_SIMD_ISA(isa)
    for (size_t mi = 0; mi < sizeof dims / sizeof dims[0]; mi++)
        for (size_t ni = 0; ni < sizeof dims / sizeof dims[0]; ni += 2)
            for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++)
                for (int flags = 0; flags < 8; flags++) {
                    int M = dims[mi], N = dims[(ni + mi) % 9], K = ks[ki], pad = (int)(mi % 3);
                    /* every M, N pair up to K = 65; the long-K products shrink with
                     * QKTEST_SCALE (the sanitizer build, emulated targets) */
                    if ((long)M * N * K > 4000000 / (K > 65 ? qkt_scale() : 1)) continue;
                    int lda = ((flags & QK_TRANS_A) ? M : K) + pad, ldb = ((flags & QK_TRANS_B) ? K : N) + pad;
                    matmul_same_bits((qk_isa)isa, "matmul", a, lda, b, ldb, c0, cs, cv, N + pad, M, N, K, flags);
                    cases++;
                }
    /* large enough to cross the MC, NC and KC blocks */
    FOR_EACH_SIMD_ISA(isa)
    {
        int M = 200, N = 300, K = 520;
        matmul_on(QK_ISA_SCALAR, cs, N, a, K, b, N, M, N, K, 0);
        matmul_on((qk_isa)isa, cv, N, a, K, b, N, M, N, K, 0);
        size_t w;
        CHECK(same_bits(cs, cv, (size_t)M * N, &w), "%s blocked matmul differs at %zu", qk_isa_name((qk_isa)isa), w);
    }
    free(a); free(b); free(c0); free(cs); free(cv);
}

/* A·Bᵀ with few rows of A and a wide B swaps the operands' roles on paths that read
 * operands in place (qk_matrix.c): Cᵀ = B·Aᵀ tile by tile, C moved through a transposing
 * copy, k cut into blocks that depend on M. Sizes around the rule's edges (M = 128,
 * N = 2M, K = the KC block) and across several k-blocks (K > 512 at M = 128), padded
 * strides, with and without accumulation: the bits of the scalar path, and the guard
 * elements around C untouched. */
TEST(isa_matmul_swapped_roles_bit_identical)
{
    static const int shapes[][3] = {{1, 2, 256},   {7, 300, 257},  {31, 64, 600},  {32, 97, 1100}, {33, 700, 300},
                                    {100, 200, 600}, {128, 256, 256}, {128, 300, 1030}, {127, 255, 513}, {129, 300, 300},
                                    {64, 128, 255}};
    qk_rng r;
    qk_rng_seed(&r, 12);
    const size_t cap = 300 * 1100 + 1200 * 8;
    float *a = malloc(sizeof(float) * cap), *b = malloc(sizeof(float) * cap);
    float *c0 = malloc(sizeof(float) * cap), *cs = malloc(sizeof(float) * cap), *cv = malloc(sizeof(float) * cap);
    tu_fill(a, (int)cap, &r, 2.0f);
    tu_fill(b, (int)cap, &r, 2.0f);
    tu_fill(c0, (int)cap, &r, 2.0f);
    long cases = 0;
    FOR_EACH_SIMD_ISA(isa)
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int flags = QK_TRANS_B; flags <= (QK_TRANS_B | QK_ACCUMULATE); flags += QK_ACCUMULATE) {
            int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2], pad = (int)(s % 3);
            if ((long)M * N * K > 40000000L / qkt_scale()) continue;
            matmul_same_bits((qk_isa)isa, "swapped matmul", a, K + pad, b, K + 2 * pad, c0, cs, cv, N + pad, M, N, K,
                             flags);
            cases++;
        }
    int nisa = 0;
    FOR_EACH_SIMD_ISA(isa) nisa++;
    CHECK(cases >= nisa * 2 * 4, "only %ld cases ran", cases); /* at least 4 shapes, also when scaled */
    free(a); free(b); free(c0); free(cs); free(cv);
}

TEST(isa_reductions_and_exp_bit_identical)
{
    enum { N = 4099 };
    static float x[N], y[N], es[N], ev[N];
    qk_rng r;
    qk_rng_seed(&r, 12);
    tu_fill(x, N, &r, 100.0f);
    tu_fill(y, N, &r, 1.0f);
    FOR_EACH_SIMD_ISA(isa)
    for (int round = 0; round < 3; round++) {
        if (round == 1) for (int i = 0; i < NSPECIAL; i++) x[3 * i + 1] = specials[i];
        if (round == 2) for (int i = 0; i < N; i++) x[i] = tu_float(qk_rng_u64(&r) >> 32); /* any bit pattern */
        for (int n = 0; n < 80; n++) {
            qk_isa_select(QK_ISA_SCALAR);
            float s0 = qk_sum(x, n), d0 = qk_dot(x, y, n);
            qk_isa_select((qk_isa)isa);
            float s1 = qk_sum(x, n), d1 = qk_dot(x, y, n);
            CHECK(tu_bits(s0) == tu_bits(s1) || (isnan(s0) && isnan(s1)), "%s sum n=%d", qk_isa_name((qk_isa)isa), n);
            CHECK(tu_bits(d0) == tu_bits(d1) || (isnan(d0) && isnan(d1)), "%s dot n=%d", qk_isa_name((qk_isa)isa), n);
        }
        for (int off = 0; off < 4; off++) {
            qk_isa_select(QK_ISA_SCALAR);
            qk_vexpf(es, x + off, N - off);
            qk_isa_select((qk_isa)isa);
            qk_vexpf(ev, x + off, N - off);
            size_t w;
            CHECK(same_bits(es, ev, N - off, &w), "%s vexpf round %d: x=%a %a vs %a", qk_isa_name((qk_isa)isa), round,
                  x[off + w], es[w], ev[w]);
        }
    }
}

/* Every 61st float bit pattern (70 million inputs) through the vector exp. */
TEST(isa_vexpf_bit_identical_sampled)
{
    enum { CH = 4096 };
    static float x[CH], es[CH], ev[CH];
    FOR_EACH_SIMD_ISA(isa)
    {
        long bad = 0;
        uint64_t u = 0;
        while (u <= 0xffffffffu) {
            int n = 0;
            for (; n < CH && u <= 0xffffffffu; n++, u += 61u * (unsigned)qkt_scale()) x[n] = tu_float((uint32_t)u);
            qk_isa_select(QK_ISA_SCALAR);
            qk_vexpf(es, x, n);
            qk_isa_select((qk_isa)isa);
            qk_vexpf(ev, x, n);
            size_t w;
            if (!same_bits(es, ev, (size_t)n, &w)) bad++;
        }
        CHECK(bad == 0, "%s vexpf: %ld chunks differ from scalar", qk_isa_name((qk_isa)isa), bad);
    }
}

TEST(isa_softmax_layernorm_bit_identical)
{
    enum { R = 33, C = 67 };
    static float x[R * C], dy[R * C], g[C], b[C], out[2][4][R * C], st[2][4][C + R], scratch[2 * C];
    qk_rng r;
    qk_rng_seed(&r, 13);
    tu_fill(x, R * C, &r, 20.0f);
    tu_fill(dy, R * C, &r, 1.0f);
    tu_fill(g, C, &r, 1.0f);
    tu_fill(b, C, &r, 1.0f);
    FOR_EACH_SIMD_ISA(isa)
    {
        for (int p = 0; p < 2; p++) {
            qk_isa_select(p ? (qk_isa)isa : QK_ISA_SCALAR);
            memset(out[p], 0, sizeof out[p]);
            memset(st[p], 0, sizeof st[p]);
            qk_mat mx = qk_mat_view(x, R, C, C), mdy = qk_mat_view(dy, R, C, C);
            qk_mat y0 = qk_mat_view(out[p][0], R, C, C), y1 = qk_mat_view(out[p][1], R, C, C);
            qk_mat dx0 = qk_mat_view(out[p][2], R, C, C), ln = qk_mat_view(out[p][3], R, C, C);
            CHECK_OK(qk_softmax_forward(&y0, &mx, 0));
            CHECK_OK(qk_softmax_forward(&y1, &mx, 1));
            CHECK_OK(qk_softmax_backward(&dx0, &y1, &mdy, 1));
            CHECK_OK(qk_layernorm_forward(&ln, st[p][0], st[p][0] + R, &mx, g, b, 1e-5f));
            qk_mat dx1 = qk_mat_view(out[p][1], R, C, C); /* accumulate onto y1 */
            CHECK_OK(qk_layernorm_backward(&dx1, st[p][1], st[p][2], &mdy, &mx, st[p][0], st[p][0] + R, g, scratch));
        }
        size_t w;
        CHECK(same_bits(out[0][0], out[1][0], sizeof out[0] / sizeof(float), &w), "%s softmax/layernorm differ at %zu",
              qk_isa_name((qk_isa)isa), w);
        CHECK(same_bits(st[0][0], st[1][0], sizeof st[0] / sizeof(float), &w), "%s layernorm stats differ at %zu",
              qk_isa_name((qk_isa)isa), w);
    }
}

/* GELU (erf form) of the vector paths against qk_gelu_erff: specials, every 4099th
 * float bit pattern, and normal pre-activations (where the loops run longest). */
TEST(isa_vgelu_bit_identical)
{
    enum { CH = 4096 };
    static float x[CH], es[CH], ev[CH];
    qk_rng r;
    qk_rng_seed(&r, 14);
    FOR_EACH_SIMD_ISA(isa)
    {
        long bad = 0;
        uint64_t u = 0;
        for (int round = 0; round < 3 + (int)(0xffffffffu / (4099u * CH)) / qkt_scale(); round++) {
            int n = 0;
            if (round == 0) /* specials and the thresholds of the branches */
                for (; n < NSPECIAL; n++) x[n] = specials[n];
            if (round == 0) {
                static const float edge[] = {2.8284271f, 2.8284273f, 8.485281f, 8.485282f, -2.8284271f,
                                             -2.8284273f, -38.60791f, -38.60793f, -0x1.a4ae0ep3f,
                                             -0x1.a4ae0cp3f, -0x1.cb64eap3f, -0x1.cb64e8p3f};
                for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) x[n++] = edge[i];
                for (; n < CH; n++) x[n] = (float)((n - CH / 2) * 0.01);
            } else if (round <= 2) /* normal pre-activations (std 0.5, 3) */
                for (; n < CH; n++) x[n] = (round == 1 ? 0.5f : 3.0f) * qk_rng_normalf(&r);
            else
                for (; n < CH && u <= 0xffffffffu; n++, u += 4099u * (unsigned)qkt_scale()) x[n] = tu_float((uint32_t)u);
            for (int off = 0; off < 3; off++) {
                qk_isa_select(QK_ISA_SCALAR);
                qk_vgelu_erff(es, x + off, n - off);
                qk_isa_select((qk_isa)isa);
                qk_vgelu_erff(ev, x + off, n - off);
                size_t w;
                if (!same_bits(es, ev, (size_t)(n - off), &w)) {
                    if (bad++ < 3)
                        CHECK(0, "%s vgelu: x=%a %a vs %a", qk_isa_name((qk_isa)isa), x[off + w], es[w], ev[w]);
                }
            }
            memcpy(ev, x, sizeof(float) * (size_t)n); /* y may be x */
            qk_isa_select((qk_isa)isa);
            qk_vgelu_erff(ev, ev, n);
            qk_isa_select(QK_ISA_SCALAR);
            for (int i = 0; i < n; i++) es[i] = qk_gelu_erff(x[i]);
            size_t w;
            CHECK(same_bits(es, ev, (size_t)n, &w), "%s vgelu in place differs at %zu", qk_isa_name((qk_isa)isa), w);
        }
        CHECK(bad == 0, "%s vgelu: %ld chunks differ from scalar", qk_isa_name((qk_isa)isa), bad);
    }
    qk_isa_select(QK_ISA_SCALAR);
}

/* ------------------------------------------------------------ parallel splits */
/* A parallel-for without threads that runs the tasks last to first: any dependence
 * between tasks, or on their order, shows up as other bits. */
static void reverse_run(void *ctx, int n, qk_task_fn task, void *arg)
{
    (void)ctx;
    for (int i = n - 1; i >= 0; i--) task(arg, i);
}

static void use_split(int on, int workers)
{
    qk_parallel_for pf = {reverse_run, NULL, workers, 1};
    qk_set_parallel(on ? &pf : NULL);
}

static uint64_t train_hash(const char *preset, int steps, int kappa, float *loss)
{
    qk_model_config c;
    qk_model_preset(preset, &c);
    if (!strcmp(preset, "paper")) { c.B = 4; c.T = 32; } /* the shapes of paper, less work */
    if (kappa) { c.kappa1 = 0.01f; c.kappa2 = 0.01f; c.sigma_reparam = QK_SR_QK; c.H = 2; }
    qk_model_sizes_t sz;
    if (qk_model_sizes(&c, &sz) != QK_OK) return 0;
    size_t n = 4 * sz.params + sz.acts + sz.scratch + sz.state;
    float *mem = calloc(n, sizeof(float));
    int *tok = malloc(sizeof(int) * (size_t)c.B * (c.T + 1));
    qk_model m;
    float *w = mem, *g = w + sz.params, *am = g + sz.params, *av = am + sz.params, *acts = av + sz.params;
    qk_model_bind(&m, &c, w, g, am, av, acts, acts + sz.acts, acts + sz.acts + sz.scratch);
    qk_model_init(&m, 3);
    qk_rng r;
    qk_rng_seed(&r, 4);
    for (int i = 0; i < c.B * (c.T + 1); i++) tok[i] = (int)(qk_rng_u64(&r) % (uint64_t)c.V);
    for (int s = 0; s < steps; s++) {
        qk_model_sr_step(&m);
        qk_model_forward(&m, tok, NULL);
        loss[s] = m.loss + m.reg;
        qk_model_backward(&m);
        qk_model_adamw(&m);
    }
    uint64_t h = qk_model_param_hash(&m);
    free(mem);
    free(tok);
    return h;
}

TEST(parallel_split_bit_identical)
{
    const int cap = 300 * 320 + 3;
    float *a = malloc(sizeof(float) * cap), *b = malloc(sizeof(float) * cap);
    float *c0 = malloc(sizeof(float) * cap), *cs = malloc(sizeof(float) * cap), *cp = malloc(sizeof(float) * cap);
    qk_rng r;
    qk_rng_seed(&r, 15);
    tu_fill(a, cap, &r, 2.0f);
    tu_fill(b, cap, &r, 2.0f);
    tu_fill(c0, cap, &r, 2.0f);
    static const int dims[] = {1, 9, 40, 65, 200, 300};
    /* the scalar path (the packed product) on small work, and the default path; work
     * shrinks for the scalar path and under emulation (QKTEST_SCALE) */
    qk_isa best = qk_isa_current();
    for (int isa = 0; isa < QK_ISA_COUNT; isa++) {
        if (!qk_isa_available((qk_isa)isa) || (isa != QK_ISA_SCALAR && isa != (int)best)) continue;
        qk_isa_select((qk_isa)isa);
        const long maxwork = (isa == QK_ISA_SCALAR ? 200000L : 3000000L) / qkt_scale();
        const int maxn = qkt_scale() > 1 ? 22 : isa == QK_ISA_SCALAR ? 40 : 130;
        const int npre = qkt_scale() > 1 ? 1 : maxn > 40 ? 4 : 2;
        for (int wk = 2; wk <= 3; wk++)
            for (size_t mi = 0; mi < 6; mi++)
                for (size_t ni = 0; ni < 6; ni++)
                    for (int flags = 0; flags < 8; flags += 3) {
                        int M = dims[mi], N = dims[ni], K = dims[(mi + ni) % 6] + 257 * (flags == 3);
                        if ((long)M * N * K > maxwork) continue;
                        int ta = flags & QK_TRANS_A, tb = flags & QK_TRANS_B;
                        for (int pass = 0; pass < 2; pass++) {
                            float *c = pass ? cp : cs;
                            memcpy(c, c0, sizeof(float) * (size_t)M * N);
                            use_split(pass, wk);
                            qk_mat A = qk_mat_view(a, ta ? K : M, ta ? M : K, ta ? M : K);
                            qk_mat B = qk_mat_view(b, tb ? N : K, tb ? K : N, tb ? K : N);
                            qk_mat C = qk_mat_view(c, M, N, N);
                            CHECK_OK(qk_matmul(&C, &A, &B, flags));
                        }
                        use_split(0, 1);
                        size_t w;
                        CHECK(same_bits(cs, cp, (size_t)M * N, &w), "%s split matmul %dx%dx%d flags %d (%d workers) at %zu",
                              qk_isa_name((qk_isa)isa), M, N, K, flags, wk, w);
                    }
        /* softmax and LayerNorm by bands of rows, LayerNorm's dgamma by bands of columns */
        enum { R = 37, C = 70 };
        static float x[R * C], dy[R * C], g[C], be[C], out[2][4][R * C], st[2][4][R + C], scr[2 * C];
        tu_fill(x, R * C, &r, 20.0f);
        tu_fill(dy, R * C, &r, 1.0f);
        tu_fill(g, C, &r, 1.0f);
        tu_fill(be, C, &r, 1.0f);
        for (int pass = 0; pass < 2; pass++) {
            use_split(pass, 3);
            memset(out[pass], 0, sizeof out[pass]);
            memset(st[pass], 0, sizeof st[pass]);
            qk_mat mx = qk_mat_view(x, R, C, C), mdy = qk_mat_view(dy, R, C, C);
            qk_mat y0 = qk_mat_view(out[pass][0], R, C, C), y1 = qk_mat_view(out[pass][1], R, C, C);
            qk_mat dx0 = qk_mat_view(out[pass][2], R, C, C), ln = qk_mat_view(out[pass][3], R, C, C);
            CHECK_OK(qk_softmax_forward(&y0, &mx, 0));
            CHECK_OK(qk_softmax_forward(&y1, &mx, 1));
            CHECK_OK(qk_softmax_backward(&dx0, &y1, &mdy, 1));
            CHECK_OK(qk_layernorm_forward(&ln, st[pass][0], st[pass][0] + R, &mx, g, be, 1e-5f));
            qk_mat dx1 = qk_mat_view(out[pass][1], R, C, C);
            CHECK_OK(qk_layernorm_backward(&dx1, st[pass][1], st[pass][2], &mdy, &mx, st[pass][0], st[pass][0] + R, g, scr));
        }
        use_split(0, 1);
        size_t w;
        CHECK(same_bits(out[0][0], out[1][0], sizeof out[0] / sizeof(float), &w), "%s split softmax/layernorm at %zu",
              qk_isa_name((qk_isa)isa), w);
        CHECK(same_bits(st[0][0], st[1][0], sizeof st[0] / sizeof(float), &w), "%s split layernorm stats at %zu",
              qk_isa_name((qk_isa)isa), w);
        /* the eigensolver: rotation sets of a step in parallel */
        for (int n = 1; n <= maxn; n += n < 20 ? 7 : 37) {
            double *am = malloc(sizeof(double) * n * n), *ev[2], *wv[2];
            size_t len = qk_eigh_work_len(n, 1);
            double *work = malloc(sizeof(double) * len);
            for (int i = 0; i < n; i++)
                for (int j = 0; j <= i; j++) am[i * n + j] = am[j * n + i] = 2.0 * qk_rng_uniform(&r) - 1.0;
            for (int pass = 0; pass < 2; pass++) {
                use_split(pass, 2 + (n & 1));
                ev[pass] = malloc(sizeof(double) * n * n);
                wv[pass] = malloc(sizeof(double) * n);
                CHECK_OK(qk_eigh(n, am, n, wv[pass], ev[pass], n, work, len, NULL, NULL));
            }
            use_split(0, 1);
            CHECK(!memcmp(wv[0], wv[1], sizeof(double) * n) && !memcmp(ev[0], ev[1], sizeof(double) * n * n),
                  "%s split eigh differs, n = %d", qk_isa_name((qk_isa)isa), n);
            for (int pass = 0; pass < 2; pass++) { free(ev[pass]); free(wv[pass]); }
            free(am);
            free(work);
        }
        /* training steps: attention by (sequence, head), cross-entropy by rows, the
         * element-wise steps and the bias and embedding gradients (paper-d32: large
         * enough for the model's own splits) */
        static const char *presets[] = {"tiny", "small", "paper", "paper-d32"};
        for (int p = 0; p < npre; p++)
            for (int kappa = 0; kappa < 2; kappa++) {
                float loss[2][3];
                uint64_t h0, h1;
                use_split(0, 1);
                h0 = train_hash(presets[p], 3, kappa, loss[0]);
                use_split(1, 3);
                h1 = train_hash(presets[p], 3, kappa, loss[1]);
                use_split(0, 1);
                CHECK(h0 == h1 && h0 != 0 && !memcmp(loss[0], loss[1], sizeof loss[0]),
                      "%s split training of %s%s differs: %016llx vs %016llx", qk_isa_name((qk_isa)isa), presets[p],
                      kappa ? " (LocAteR, sigmaReparam, 2 heads)" : "", (unsigned long long)h0, (unsigned long long)h1);
            }
    }
    qk_isa_select(best);
    free(a); free(b); free(c0); free(cs); free(cp);
}
