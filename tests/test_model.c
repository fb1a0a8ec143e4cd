/* test_model.c — the transformer's gradients against finite differences on every
 * parameter tensor (all LayerNorm placements, LocAteR, σReparam, one and two heads,
 * LM and random-walk models), AdamW against its formula, and bit identity of a
 * training step across ISA paths. */
#include <stdlib.h>
#include "qk_eigen.h"
#include "qk_model.h"
#include "qk_train.h"
#include "qktest.h"
#include "test_util.h"

typedef struct {
    qk_model m;
    qk_model_sizes_t sz;
    float *buf;
    int *tok;
    float *walk;
} harness;

static void h_open(harness *h, const qk_model_config *c, uint64_t seed)
{
    memset(h, 0, sizeof *h);
    CHECK_OK(qk_model_sizes(c, &h->sz));
    size_t n = 4 * h->sz.params + h->sz.acts + h->sz.scratch + h->sz.state;
    h->buf = calloc(n, sizeof(float));
    float *p = h->buf;
    float *w = p, *g = p + h->sz.params, *am = g + h->sz.params, *av = am + h->sz.params;
    float *acts = av + h->sz.params, *scr = acts + h->sz.acts, *st = scr + h->sz.scratch;
    CHECK_OK(qk_model_bind(&h->m, c, w, g, am, av, acts, scr, st));
    CHECK_OK(qk_model_init(&h->m, seed));
    qk_rng r;
    qk_rng_seed(&r, seed + 1000);
    h->tok = malloc(sizeof(int) * (size_t)c->B * (c->T + 1));
    h->walk = malloc(sizeof(float) * (size_t)c->B * (c->T + 1) * c->d);
    for (int i = 0; i < c->B * (c->T + 1); i++) h->tok[i] = (int)(qk_rng_u64(&r) % (uint64_t)(c->V > 0 ? c->V : 1));
    for (int b = 0; b < c->B; b++) /* a random walk per sequence */
        for (int t = 0; t <= c->T; t++)
            for (int i = 0; i < c->d; i++) {
                float *x = h->walk + ((size_t)b * (c->T + 1) + t) * c->d + i;
                *x = (t ? x[-c->d] : 0.0f) + 0.3f * qk_rng_normalf(&r);
            }
}

static void h_close(harness *h)
{
    free(h->buf);
    free(h->tok);
    free(h->walk);
}

static double h_total(harness *h)
{
    qk_status s = qk_model_forward(&h->m, h->tok, h->walk);
    CHECK(s == QK_OK, "forward: %s", qk_status_str(s));
    return (double)h->m.loss + (double)h->m.reg;
}

/* Central differences at steps h and h/2 on every element of every used tensor,
 * combined by Richardson extrapolation (4 D(h/2) - D(h))/3, which cancels the h² term.
 * Where D(h) and D(h/2) disagree, a ReLU kink lies within the step and the element is
 * not differentiable at that scale: such elements are counted, and at most 10% of a
 * tensor may be skipped. Per tensor ‖fd - g‖ <= 1e-2·max(‖fd‖, ‖g‖) + the float32
 * noise of the differences (which matters only for gradients that are ~0, like bk:
 * softmax ignores a constant added to every key's logit). */
static double central(harness *h, float *p, float step)
{
    float keep = *p;
    *p = keep + step;
    double lp = h_total(h);
    *p = keep - step;
    double lm = h_total(h);
    *p = keep;
    return (lp - lm) / ((double)(keep + step) - (double)(keep - step));
}

static void check_gradients(const qk_model_config *c, const char *label)
{
    harness h;
    h_open(&h, c, 7);
    qk_model_sr_step(&h.m);
    h_total(&h);
    CHECK_OK(qk_model_backward(&h.m));
    const float step = 1e-3f;
    /* float32 noise of one extrapolated difference: the loss carries ~2 ulp of
     * rounding, (4·D(h/2) - D(h))/3 amplifies it about 3x: 6·2^-24·|loss|/h. */
    double noise = 6.0 * 0x1p-24 * fabs(h.m.loss + h.m.reg) / step;
    for (int t = 0; t < QK_NPARAM; t++) {
        size_t n = h.sz.t[t].size, kinks = 0;
        if (!n) continue;
        double num = 0, den_fd = 0, den_g = 0, worst = -1, worst_fd = 0;
        size_t worst_i = 0;
        for (size_t i = 0; i < n; i++) {
            double d1 = central(&h, h.m.w.p[t] + i, step), d2 = central(&h, h.m.w.p[t] + i, step / 2);
            if (fabs(d1 - d2) > 0.05 * fmax(fabs(d1), fabs(d2)) + 5e-4) { kinks++; continue; }
            double fd = (4.0 * d2 - d1) / 3.0, g = h.m.g.p[t][i];
            num += (fd - g) * (fd - g);
            den_fd += fd * fd;
            den_g += g * g;
            if (fabs(fd - g) > worst) { worst = fabs(fd - g); worst_i = i; worst_fd = fd; }
        }
        double scale = sqrt(den_fd > den_g ? den_fd : den_g), err = sqrt(num);
        double tol = 1e-2 * scale + noise * sqrt((double)(n - kinks));
        CHECK(err <= tol, "%s: tensor %s: |fd - g| %.3g > %.3g (norm %.3g; worst at %zu: fd %.6g, backward %.6g)",
              label, h.sz.t[t].name, err, tol, scale, worst_i, worst_fd, (double)h.m.g.p[t][worst_i]);
        CHECK(kinks * 10 <= n, "%s: tensor %s: %zu of %zu elements not differentiable at step %g", label,
              h.sz.t[t].name, kinks, n, (double)step);
        CHECK(scale > 0 || t == QK_P_LNF_B, "%s: tensor %s has an all-zero gradient", label, h.sz.t[t].name);
    }
    h_close(&h);
}

TEST(model_gradients_lm_all_options)
{
    static const char *ln_names[] = {"pre", "post", "none"};
    for (int ln = 0; ln < 3; ln++)
        for (int heads = 1; heads <= 2; heads++)
            for (int variant = 0; variant < 3; variant++) { /* plain, LocAteR, σReparam(all) */
                /* under emulation (qkt_scale() > 1) a covering subset: every LayerNorm
                 * placement once, each with another variant and alternating heads */
                if (qkt_scale() > 1 && (variant != ln || heads != 1 + ln % 2)) continue;
                qk_model_config c;
                qk_model_preset("tiny", &c);
                c.ln = (qk_ln_mode)ln;
                c.H = heads;
                if (variant == 1) { c.kappa1 = 0.5f; c.kappa2 = 0.3f; }
                if (variant == 2) c.sigma_reparam = QK_SR_ALL;
                char label[96];
                snprintf(label, sizeof label, "lm ln=%s H=%d %s", ln_names[ln], heads,
                         variant == 0 ? "plain" : variant == 1 ? "LocAteR" : "sigmaReparam");
                check_gradients(&c, label);
            }
}

/* Every variant of SPEC §1.4 as a model option (two layers, each LayerNorm placement
 * the variant allows, ReLU and GELU), and the continuous non-causal stack the
 * rank-collapse experiment runs (post-LN, GELU, BERT initialisation). */
TEST(model_gradients_every_variant)
{
    static const char *ln_names[] = {"pre", "post", "none"};
    for (int v = 0; v < QK_NVARIANT; v++)
        for (int ln = 0; ln < 3; ln++) {
            if (!qk_variant_has_ln((qk_variant)v) && ln != QK_LN_NONE) continue;
            if (qkt_scale() > 1 && ln != (v % 3) && qk_variant_has_ln((qk_variant)v)) continue;
            qk_model_config c;
            qk_model_preset("tiny", &c);
            c.L = 2;
            c.variant = (qk_variant)v;
            c.ln = (qk_ln_mode)ln;
            c.dff = qk_variant_has_ffn(c.variant) ? 8 : 0;
            c.act = (v + ln) % 2 ? QK_ACT_GELU : QK_ACT_RELU;
            char label[96];
            snprintf(label, sizeof label, "lm %s ln=%s %s", qk_variant_name(c.variant), ln_names[ln],
                     c.act == QK_ACT_GELU ? "gelu" : "relu");
            check_gradients(&c, label);
        }
    for (int v = 0; v < QK_NVARIANT; v++) {
        if (qkt_scale() > 1 && v % 2) continue;
        qk_model_config c;
        qk_model_preset("walk", &c);
        c.d = 6; c.dff = 12; c.T = 4; c.B = 2; c.H = 2; c.L = 2;
        c.variant = (qk_variant)v;
        c.ln = qk_variant_has_ln(c.variant) ? QK_LN_POST : QK_LN_NONE;
        c.dff = qk_variant_has_ffn(c.variant) ? 12 : 0;
        c.act = QK_ACT_GELU;
        c.init = QK_INIT_BERT;
        c.init_std = 0.5; /* BERT's 0.02 makes the attention uniform and the gradients tiny */
        char label[96];
        snprintf(label, sizeof label, "stack %s post-LN gelu bert", qk_variant_name(c.variant));
        check_gradients(&c, label);
    }
}

TEST(model_gradients_lm_two_layers_and_walk)
{
    qk_model_config c;
    qk_model_preset("tiny", &c);
    c.L = 2;
    c.kappa1 = 0.2f;
    c.kappa2 = 0.1f;
    c.sigma_reparam = QK_SR_QK;
    check_gradients(&c, "lm L=2 LocAteR+sigmaReparam(qk)");
    if (qkt_scale() > 1) return; /* the walk model's gradients: natively */
    qk_model_preset("walk", &c);
    c.d = 6; c.dff = 5; c.T = 4; c.B = 3; c.H = 2;
    check_gradients(&c, "walk");
    c.kappa1 = 0.5f; c.kappa2 = 1.0f;
    check_gradients(&c, "walk LocAteR");
}

TEST(model_metrics_against_direct_computation)
{
    qk_model_config c;
    qk_model_preset("tiny", &c);
    c.H = 2;
    harness h;
    h_open(&h, &c, 3);
    h_total(&h);
    int d = c.d;
    double *W = malloc(sizeof(double) * d * d);
    for (int head = 0; head < c.H; head++) {
        qk_model_wqk(&h.m, 0, head, W);
        double tr = 0, frob = 0, trs2 = 0;
        for (int i = 0; i < d; i++) {
            tr += W[i * d + i];
            for (int j = 0; j < d; j++) {
                double s = 0.5 * (W[i * d + j] + W[j * d + i]);
                frob += W[i * d + j] * W[i * d + j];
                trs2 += s * s;
            }
        }
        qk_qk_stats st;
        qk_model_qk_stats(&h.m, 0, head, &st);
        CHECK(fabs(st.trace - tr) < 1e-12 && fabs(st.frob2 - frob) < 1e-12 * (1 + frob), "head %d trace/frob", head);
        CHECK(fabs(st.scale - trs2) < 1e-12 * (1 + trs2), "head %d tr(S^2) %.17g vs %.17g", head, st.scale, trs2);
        CHECK(fabs(st.var - (trs2 / d - (tr / d) * (tr / d))) < 1e-12, "head %d variance", head);
    }
    free(W);
    /* zero query/key weights: uniform causal attention, entropy = mean_i log(i+1); ρ = 1 */
    memset(h.m.w.p[QK_P_WQ], 0, sizeof(float) * d * d);
    memset(h.m.w.p[QK_P_WK], 0, sizeof(float) * d * d);
    h_total(&h);
    double want = 0;
    for (int i = 0; i < c.T; i++) want += log(i + 1.0);
    want /= c.T;
    float e = qk_model_attn_entropy(&h.m, 0);
    CHECK(fabs(e - want) < 1e-6, "uniform causal entropy %.9g, expected %.9g", e, want);
    float rho[64];
    qk_model_rho(&h.m, 0, rho);
    for (int i = 0; i < c.T; i++) CHECK(rho[i] == 1.0f, "rho[%d] = %g with zero logits", i, rho[i]);
    /* logits far above their mean push z_i above 1: ρ_i = 0 at that key */
    h.m.w.p[QK_P_BQ][0] = 50.0f;
    h.m.w.p[QK_P_WK][0] = 50.0f; /* k_0 ∝ x_0: a large logit spread */
    h_total(&h);
    qk_model_rho(&h.m, 0, rho);
    int below = 0;
    for (int i = 0; i < c.T; i++) below += rho[i] < 1.0f;
    CHECK(below > 0, "rho stays 1 everywhere with a large logit spread");
    h_close(&h);
}

TEST(model_adamw_matches_formula)
{
    qk_model_config c;
    qk_model_preset("tiny", &c);
    harness h;
    h_open(&h, &c, 5);
    size_t n = h.sz.params;
    float *p0 = malloc(sizeof(float) * n);
    for (int step = 1; step <= 3; step++) {
        h_total(&h);
        CHECK_OK(qk_model_backward(&h.m));
        memcpy(p0, h.m.w.p[0], sizeof(float) * n);
        float m0 = h.m.m.p[0][17], v0 = h.m.v.p[0][17], g = h.m.g.p[0][17];
        CHECK_OK(qk_model_adamw(&h.m));
        double m1 = 0.9 * m0 + 0.1 * g, v1 = 0.999 * v0 + 0.001 * (double)g * g;
        double mh = m1 / (1 - pow(0.9, step)), vh = v1 / (1 - pow(0.999, step));
        double want = p0[17] * (1 - 1e-2 * 0.01) - 1e-2 * mh / (sqrt(vh) + 1e-8);
        CHECK(fabs(h.m.w.p[0][17] - want) < 1e-6 * (1 + fabs(want)), "step %d: %.9g vs %.9g", step,
              h.m.w.p[0][17], want);
    }
    /* a NaN gradient stops the update */
    h.m.g.p[0][3] = NAN;
    memcpy(p0, h.m.w.p[0], sizeof(float) * n);
    CHECK(qk_model_adamw(&h.m) == QK_ERR_NONFINITE, "NaN gradient accepted");
    CHECK(!memcmp(p0, h.m.w.p[0], sizeof(float) * n), "parameters changed despite a NaN gradient");
    free(p0);
    h_close(&h);
}

TEST(model_training_bit_identical_across_isa)
{
    qk_model_config c;
    qk_model_preset("small", &c);
    c.kappa1 = 0.01f;
    c.kappa2 = 0.01f;
    c.sigma_reparam = QK_SR_QK;
    float loss[2][4];
    uint64_t hash[2];
    for (int isa = 1; isa < QK_ISA_COUNT; isa++) {
        if (!qk_isa_available((qk_isa)isa)) continue;
        for (int pass = 0; pass < 2; pass++) {
            qk_isa_select(pass ? (qk_isa)isa : QK_ISA_SCALAR);
            harness h;
            h_open(&h, &c, 11);
            for (int s = 0; s < 4; s++) {
                qk_model_sr_step(&h.m);
                loss[pass][s] = (float)h_total(&h);
                CHECK_OK(qk_model_backward(&h.m));
                CHECK_OK(qk_model_adamw(&h.m));
            }
            hash[pass] = qk_model_param_hash(&h.m);
            h_close(&h);
        }
        CHECK(!memcmp(loss[0], loss[1], sizeof loss[0]), "%s: losses differ from scalar", qk_isa_name((qk_isa)isa));
        CHECK(hash[0] == hash[1], "%s: parameters differ from scalar after 4 steps", qk_isa_name((qk_isa)isa));
    }
}

TEST(model_rejects_bad_configs)
{
    qk_model_config c;
    qk_model_sizes_t sz;
    CHECK(qk_model_preset("nonsense", &c) == QK_ERR_ARG, "unknown preset accepted");
    qk_model_preset("paper", &c);
    CHECK_OK(qk_model_sizes(&c, &sz));
    c.H = 3;
    CHECK(qk_model_sizes(&c, &sz) == QK_ERR_ARG, "d %% H != 0 accepted");
    qk_model_preset("paper", &c);
    c.T = QK_MAX_T + 1;
    CHECK(qk_model_sizes(&c, &sz) == QK_ERR_CAPACITY, "T above capacity accepted");
    qk_model_preset("paper", &c);
    c.lr = NAN;
    CHECK(qk_model_sizes(&c, &sz) == QK_ERR_ARG, "NaN learning rate accepted");
    qk_model_preset("tiny", &c);
    harness h;
    h_open(&h, &c, 1);
    h.tok[3] = c.V;
    CHECK(qk_model_forward(&h.m, h.tok, NULL) == QK_ERR_ARG, "token id out of range accepted");
    h.tok[3] = 0;
    h.m.w.p[QK_P_WOUT][0] = INFINITY;
    CHECK(qk_model_forward(&h.m, h.tok, NULL) == QK_ERR_NONFINITE, "infinite weight gave a finite loss");
    h_close(&h);
}

/* SPEC §1.1 at a small size: under the same seed and data, LocAteR lowers the eigen
 * scale tr(S²) of W_QK against the unregularised run, and κ2 pulls tr W_QK towards 1. */
static void train_small(const qk_model_config *c, int steps, qk_qk_stats *st)
{
    harness h;
    h_open(&h, c, 21);
    qk_rng r;
    qk_rng_seed(&r, 99);
    for (int s = 0; s < steps; s++) {
        for (int i = 0; i < c->B * (c->T + 1); i++) h.tok[i] = (int)(qk_rng_u64(&r) % 7); /* a skewed toy language */
        qk_model_sr_step(&h.m);
        h_total(&h);
        CHECK_OK(qk_model_backward(&h.m));
        CHECK_OK(qk_model_adamw(&h.m));
    }
    qk_model_qk_stats(&h.m, 0, 0, st);
    h_close(&h);
}

TEST(model_locater_lowers_eigen_scale)
{
    qk_model_config c;
    qk_model_preset("small", &c);
    c.lr = 3e-3f;
    if (qkt_scale() > 1) c.B = 1;
    qk_qk_stats none, loc, loc_k2;
    train_small(&c, 40, &none);
    c.kappa1 = 1.0f;
    train_small(&c, 40, &loc);
    c.kappa1 = 0.0f;
    c.kappa2 = 1.0f;
    train_small(&c, 40, &loc_k2);
    CHECK(loc.scale < 0.5 * none.scale, "LocAteR scale %.4g not below half of %.4g", loc.scale, none.scale);
    CHECK(fabs(loc_k2.trace - 1.0) < fabs(none.trace - 1.0), "kappa2: |tr - 1| %.4g vs %.4g without", fabs(loc_k2.trace - 1.0),
          fabs(none.trace - 1.0));
}

/* ------------------------------------------------------------------ the trainer (qk_train.h) */

/* tiny with byte tokens (V = 256) on the first 4 KiB of the built-in synthetic corpus:
 * the setting of the board example in qk_train.h. */
typedef struct {
    qk_model_config c;
    qk_train_config tc;
    qk_train_sizes_t sz;
    qk_model m;
    qk_trainer t;
    float *mem, *walks;
    int *tok;
    double *work;
} trainer_h;

static unsigned char tr_text[4096];
static int tr_ids[4096];

static long tr_corpus(void)
{
    long n = (long)qk_synthetic_corpus(tr_text, sizeof tr_text);
    for (long i = 0; i < n; i++) tr_ids[i] = tr_text[i];
    return n;
}

/* a trainer of configuration c (LM: V = 256 on the corpus above) */
static void tr_open_c(trainer_h *h, const qk_model_config *c, uint64_t seed, int K)
{
    memset(h, 0, sizeof *h);
    h->c = *c;
    int lm = h->c.kind == QK_MODEL_LM;
    if (lm) h->c.V = 256;
    qk_train_config tc = {seed, K, 0.1f, lm ? tr_ids : NULL, lm ? tr_corpus() : 0};
    h->tc = tc;
    CHECK_OK(qk_train_sizes(&h->c, &h->tc, &h->sz));
    h->mem = calloc(h->sz.model, sizeof(float));
    h->tok = calloc(h->sz.tokens + 1, sizeof(int));
    h->walks = calloc(h->sz.walks + 1, sizeof(float));
    h->work = calloc(h->sz.work + 1, sizeof(double));
    CHECK_OK(qk_train_bind_model(&h->m, &h->c, h->mem, h->sz.model));
    CHECK_OK(qk_train_init(&h->t, &h->m, &h->tc, h->tok, h->walks, K ? h->work : NULL));
}

static void tr_open_bl(trainer_h *h, const char *preset, uint64_t seed, int K, int B, int L)
{
    qk_model_config c;
    qk_model_preset(preset, &c);
    if (B > 0) c.B = B;
    if (L > 0) c.L = L;
    tr_open_c(h, &c, seed, K);
}

static void tr_open_b(trainer_h *h, const char *preset, uint64_t seed, int K, int B) { tr_open_bl(h, preset, seed, K, B, 0); }
static void tr_open(trainer_h *h, const char *preset, uint64_t seed, int K) { tr_open_b(h, preset, seed, K, 0); }

static void tr_close(trainer_h *h)
{
    free(h->mem);
    free(h->tok);
    free(h->walks);
    free(h->work);
}

/* Checkpoints (qk_train_save_state / qk_train_load_state): a run saved after k steps
 * and continued by a freshly initialised trainer that loads the state ends with the
 * parameters, step count, last loss and evaluation of the run never interrupted, bit
 * for bit: the LM with dropout, σReparam and LocAteR (the data order from the
 * generator), and the walk model (the generator's spare normal). A state whose
 * generator is not restored must not give them (the comparison can fail); a damaged
 * header, a wrong size and another model's state are refused with t unchanged. */
TEST(model_train_state_resume_bit_exact)
{
    for (int which = 0; which < 2; which++) {
        qk_model_config c;
        qk_model_preset(which ? "walk" : "tiny", &c);
        if (!which) {
            c.dropout = 0.1f;
            c.sigma_reparam = QK_SR_QK;
            c.kappa1 = 1.0f;
            c.kappa2 = 0.1f;
        } else {
            c.B = 4;
        }
        const char *name = which ? "walk" : "tiny with dropout, sigmaReparam and LocAteR";
        enum { N = 9, K = 4 };
        trainer_h a, b, r, x;
        tr_open_c(&a, &c, 5, 1);
        tr_open_c(&b, &c, 5, 1);
        for (int s = 0; s < N; s++) CHECK_OK(qk_train_step(&a.t));
        for (int s = 0; s < K; s++) CHECK_OK(qk_train_step(&b.t));
        size_t n = qk_train_state_size(&b.t);
        unsigned char *st = malloc(n + 1);
        CHECK(n > 64 && qk_train_save_state(&b.t, st, n - 1) == QK_ERR_CAPACITY, "%s: state of %zu bytes", name, n);
        CHECK_OK(qk_train_save_state(&b.t, st, n));

        tr_open_c(&r, &c, 5, 1);
        CHECK_OK(qk_train_load_state(&r.t, st, n));
        CHECK(r.t.step == K && r.m.step == b.m.step, "%s: loaded step %ld, expected %d", name, r.t.step, (int)K);
        for (int s = K; s < N; s++) CHECK_OK(qk_train_step(&r.t));
        qk_train_metrics ea, er;
        CHECK_OK(qk_train_eval(&a.t, &ea, NULL));
        CHECK_OK(qk_train_eval(&r.t, &er, NULL));
        uint64_t ha = qk_model_param_hash(&a.m), hr = qk_model_param_hash(&r.m);
        CHECK(ha == hr && a.t.step == r.t.step && tu_bits(a.t.loss) == tu_bits(r.t.loss) &&
                  memcmp(&ea, &er, sizeof ea) == 0,
              "%s: resumed after %d steps: hash %016llx, loss %a; uninterrupted %016llx, loss %a", name, (int)K,
              (unsigned long long)hr, r.t.loss, (unsigned long long)ha, a.t.loss);

        /* the same state with the data-order generator left at its initial words */
        tr_open_c(&x, &c, 5, 1);
        qk_rng fresh = x.t.rng;
        CHECK_OK(qk_train_load_state(&x.t, st, n));
        x.t.rng = fresh;
        for (int s = K; s < N; s++) CHECK_OK(qk_train_step(&x.t));
        CHECK(qk_model_param_hash(&x.m) != ha, "%s: a resume without the generator's position gives the same hash", name);

        /* refused, t unchanged: a damaged header, a wrong size, another model's state */
        uint64_t before = qk_model_param_hash(&x.m);
        long step = x.t.step;
        st[4] ^= 1; /* the version */
        CHECK(qk_train_load_state(&x.t, st, n) == QK_ERR_ARG, "%s: a state of version 0 accepted", name);
        st[4] ^= 1;
        CHECK(qk_train_load_state(&x.t, st, n - 1) == QK_ERR_ARG, "%s: a state one byte short accepted", name);
        CHECK(x.t.step == step && qk_model_param_hash(&x.m) == before, "%s: a refused state changed the trainer", name);
        if (which) {
            trainer_h lm;
            tr_open(&lm, "tiny", 5, 1);
            size_t nl = qk_train_state_size(&lm.t);
            unsigned char *sl = malloc(nl);
            CHECK_OK(qk_train_save_state(&lm.t, sl, nl));
            CHECK(qk_train_load_state(&x.t, sl, nl) == QK_ERR_ARG, "the LM's state accepted by the walk model");
            free(sl);
            tr_close(&lm);
        }
        free(st);
        tr_close(&a); tr_close(&b); tr_close(&r); tr_close(&x);
    }
}

/* 20 steps lower the validation loss and the mean training loss; the evaluation
 * numbers are finite and in range; the walk model trains and evaluates too. */
TEST(model_train_tiny_loss_decreases)
{
    trainer_h h;
    tr_open(&h, "tiny", 1, 2);
    qk_train_metrics e0, e1;
    float rho[8];
    CHECK_OK(qk_train_eval(&h.t, &e0, rho));
    CHECK(e0.step == 0 && isnan(e0.train_loss), "step-0 evaluation: step %ld, train loss %g", e0.step, e0.train_loss);
    double first = 0, last = 0;
    for (int s = 0; s < 20; s++) {
        CHECK_OK(qk_train_step(&h.t));
        if (s < 5) first += h.t.loss / 5.0;
        if (s >= 15) last += h.t.loss / 5.0;
    }
    CHECK_OK(qk_train_eval(&h.t, &e1, rho));
    /* the documented validation windows: j = k·B + b of K·B = 4 evenly spaced over the
     * validation split, start n_train + floor(span·j/3) */
    long span = h.tc.n_ids - h.t.n_train - h.c.T - 1;
    double manual = 0;
    for (int k = 0; k < 2; k++) {
        int tok[12];
        for (int b = 0; b < 2; b++)
            memcpy(tok + b * 6, tr_ids + h.t.n_train + span * (k * 2 + b) / 3, sizeof(int) * 6);
        CHECK_OK(qk_model_forward(&h.m, tok, NULL));
        manual += h.m.loss / 2;
    }
    CHECK(manual == e1.val_loss, "validation loss %.17g, by hand %.17g", e1.val_loss, manual);
    CHECK(h.t.step == 20 && e1.step == 20 && e1.train_loss == (double)h.t.loss, "step count %ld / %ld", h.t.step, e1.step);
    CHECK(e1.val_loss < e0.val_loss - 0.5, "validation loss %.4f -> %.4f", e0.val_loss, e1.val_loss);
    CHECK(last < first - 0.5, "mean training loss of steps 1-5 %.4f, of steps 16-20 %.4f", first, last);
    CHECK(fabs(e1.val_ppl / exp(e1.val_loss) - 1.0) < 1e-12, "perplexity %g vs exp(%g)", e1.val_ppl, e1.val_loss);
    CHECK(e1.entropy > 0 && e1.entropy < log(5.0) && e1.frob2 > 0 && e1.spectral_norm > 0 &&
              e1.spectral_norm * e1.spectral_norm <= e1.frob2 * (1 + 1e-9),
          "entropy %g, frob2 %g, spectral norm %g", e1.entropy, e1.frob2, e1.spectral_norm);
    for (int i = 0; i < h.c.T; i++) CHECK(rho[i] >= 0 && rho[i] <= 1, "rho[%d] = %g", i, rho[i]);
    double w[8];
    CHECK_OK(qk_train_qk_eigenvalues(&h.t, w));
    qk_qk_stats st;
    qk_model_qk_stats(&h.m, 0, 0, &st);
    double tr = 0;
    for (int i = 0; i < h.c.d; i++) {
        tr += w[i];
        CHECK(i == 0 || w[i - 1] <= w[i], "eigenvalues not ascending at %d", i);
    }
    CHECK(fabs(tr - st.trace) <= 1e-9 * (1.0 + sqrt(st.scale)), "sum of eigenvalues %.17g, trace %.17g", tr, st.trace);
    tr_close(&h);

    tr_open_b(&h, "walk", 3, 2, qkt_scale() > 1 ? 8 : 0); /* 32 walks per batch natively */
    CHECK_OK(qk_train_eval(&h.t, &e0, NULL));
    for (int s = 0; s < 20; s++) CHECK_OK(qk_train_step(&h.t));
    CHECK_OK(qk_train_eval(&h.t, &e1, NULL));
    CHECK(isnan(e1.val_ppl) && isfinite(e1.val_loss) && e1.val_loss < e0.val_loss, "walk: validation loss %.4f -> %.4f",
          e0.val_loss, e1.val_loss);
    tr_close(&h);
}

/* Per-layer evaluation (RUN_layers.csv): qk_train_eval_layers gives qk_train_eval's
 * numbers bit for bit, and per layer l the attention entropy and ρ averaged over the K
 * validation batches, as recomputed here from qk_model_attn_entropy / qk_model_rho
 * after a forward of each batch (the same windows qk_train_eval uses). */
TEST(model_train_eval_layers)
{
    trainer_h h;
    tr_open_bl(&h, "tiny", 4, 3, 0, 3);
    for (int s = 0; s < 6; s++) CHECK_OK(qk_train_step(&h.t));
    qk_train_metrics e0, e1;
    float rho0[8], rho1[8], rho_l[4 * 8];
    double ent_l[3];
    CHECK_OK(qk_train_eval(&h.t, &e0, rho0));
    CHECK_OK(qk_train_eval_layers(&h.t, &e1, rho1, ent_l, rho_l));
    CHECK(!memcmp(&e0, &e1, sizeof e0) && !memcmp(rho0, rho1, sizeof(float) * (size_t)h.c.T),
          "the layer-0 numbers differ from qk_train_eval's");
    CHECK(ent_l[0] == e1.entropy, "layer-0 entropy %.17g, qk_train_eval's %.17g", ent_l[0], e1.entropy);
    long span = h.tc.n_ids - h.t.n_train - h.c.T - 1;
    int B = h.c.B, T = h.c.T, K = 3;
    double ent[3] = {0, 0, 0};
    float rr[3][8], tmp[8];
    memset(rr, 0, sizeof rr);
    for (int k = 0; k < K; k++) {
        int tok[2 * 6];
        for (int b = 0; b < B; b++)
            memcpy(tok + b * (T + 1), tr_ids + h.t.n_train + span * (k * B + b) / (K * B - 1), sizeof(int) * (size_t)(T + 1));
        h.m.training = 0;
        CHECK_OK(qk_model_forward(&h.m, tok, NULL));
        h.m.training = 1;
        for (int l = 0; l < 3; l++) {
            ent[l] += qk_model_attn_entropy(&h.m, l) / K;
            qk_model_rho(&h.m, l, tmp);
            for (int i = 0; i < T; i++) rr[l][i] += tmp[i] / (float)K;
        }
    }
    int layers_differ = 0;
    for (int l = 0; l < 3; l++) {
        CHECK(ent[l] == ent_l[l], "layer %d: entropy %.17g, recomputed %.17g", l, ent_l[l], ent[l]);
        CHECK(!memcmp(rr[l], rho_l + l * T, sizeof(float) * (size_t)T), "layer %d: rho differs from the recomputation", l);
        layers_differ += l > 0 && ent[l] != ent[0];
    }
    CHECK(layers_differ == 2, "layers 1 and 2 report layer 0's entropy");
    CHECK_OK(qk_train_eval_layers(&h.t, &e1, NULL, NULL, NULL));
    CHECK(!memcmp(&e0, &e1, sizeof e0), "without the optional outputs the numbers differ");
    tr_close(&h);
}

/* A NaN parameter, an absurd learning rate and a LocAteR weight whose gradient
 * overflows stop training at the step they first affect, with QK_ERR_NONFINITE,
 * sticky; a NaN learning rate is refused up front. */
TEST(model_train_stops_on_nonfinite)
{
    trainer_h h;
    tr_open(&h, "tiny", 1, 0);
    for (int s = 0; s < 5; s++) CHECK_OK(qk_train_step(&h.t));
    float keep = h.m.w.p[QK_P_WOUT][3];
    h.m.w.p[QK_P_WOUT][3] = NAN;
    CHECK(qk_train_step(&h.t) == QK_ERR_NONFINITE, "NaN parameter: step 6 did not stop");
    CHECK(h.t.stop == QK_TRAIN_NONFINITE_LOSS && h.t.stop_step == 6 && h.t.step == 5,
          "NaN parameter: stop %d at step %ld after %ld steps", (int)h.t.stop, h.t.stop_step, h.t.step);
    h.m.w.p[QK_P_WOUT][3] = keep;
    CHECK(qk_train_step(&h.t) == QK_ERR_NONFINITE && h.t.stop_step == 6, "a stopped trainer went on");
    CHECK(h.m.step == 5, "AdamW ran after the stop (%ld steps)", h.m.step);
    tr_close(&h);

    /* A NaN FFN weight: the ReLU hides it from the loss, not from the gradients. The
     * step stops before AdamW, so the parameters stay those after 2 steps. */
    tr_open(&h, "tiny", 1, 0);
    for (int s = 0; s < 2; s++) CHECK_OK(qk_train_step(&h.t));
    h.m.w.p[QK_P_W1][3] = NAN;
    uint64_t before = qk_model_param_hash(&h.m);
    CHECK(qk_train_step(&h.t) == QK_ERR_NONFINITE && h.t.stop == QK_TRAIN_NONFINITE_GRAD && h.t.stop_step == 3,
          "NaN FFN weight: stop %d at step %ld", (int)h.t.stop, h.t.stop_step);
    CHECK(isfinite(h.m.loss) && qk_model_param_hash(&h.m) == before && h.m.step == 2, "parameters changed at the stop");
    tr_close(&h);

    /* A NaN learning rate is refused with the configuration; a finite but absurd one
     * (1e30) moves the parameters to ~1e30 at step 4, and step 5's loss overflows. */
    tr_open(&h, "tiny", 1, 0);
    qk_model_config bad = h.c;
    bad.lr = NAN;
    CHECK(qk_train_sizes(&bad, &h.tc, &h.sz) == QK_ERR_ARG, "NaN learning rate: sizes accepted");
    CHECK(qk_train_bind_model(&h.m, &bad, h.mem, h.sz.model) == QK_ERR_ARG, "NaN learning rate: bind accepted");
    tr_close(&h);
    tr_open(&h, "tiny", 1, 0);
    for (int s = 0; s < 3; s++) CHECK_OK(qk_train_step(&h.t));
    h.m.cfg.lr = 1e30f;
    CHECK_OK(qk_train_step(&h.t));
    CHECK(qk_train_step(&h.t) == QK_ERR_NONFINITE && h.t.stop == QK_TRAIN_NONFINITE_LOSS && h.t.stop_step == 5,
          "learning rate 1e30: stop %d at step %ld", (int)h.t.stop, h.t.stop_step);
    tr_close(&h);

    /* LocAteR weight 1.9e38: the penalty is still finite (3.2e38) at initialisation,
     * its gradient is not; the parameters keep their initial values. */
    memset(&h, 0, sizeof h);
    qk_model_config c;
    qk_model_preset("tiny", &c);
    c.V = 256;
    c.kappa1 = 1.9e38f;
    qk_train_config tc = {1, 0, 0.1f, tr_ids, tr_corpus()};
    qk_train_sizes_t sz;
    CHECK_OK(qk_train_sizes(&c, &tc, &sz));
    float *mem = calloc(sz.model, sizeof(float));
    int tok[12];
    qk_model m;
    qk_trainer t;
    CHECK_OK(qk_train_bind_model(&m, &c, mem, sz.model));
    CHECK_OK(qk_train_init(&t, &m, &tc, tok, NULL, NULL));
    uint64_t init = qk_model_param_hash(&m);
    CHECK(qk_train_step(&t) == QK_ERR_NONFINITE && t.stop == QK_TRAIN_NONFINITE_GRAD && t.stop_step == 1,
          "overflowing gradient: stop %d at step %ld (loss %g, LocAteR %g)", (int)t.stop, t.stop_step, (double)m.loss,
          (double)m.reg);
    CHECK(isfinite(m.loss) && isfinite(m.reg) && qk_model_param_hash(&m) == init, "parameters changed at the stop");
    free(mem);
}

/* The same seed gives the same parameters bit for bit; another seed, or another token
 * array, gives others. Bad setups are refused. */
TEST(model_train_hash_depends_on_seed_and_data)
{
    uint64_t hash[4];
    for (int run = 0; run < 4; run++) {
        trainer_h h;
        tr_open(&h, "tiny", run == 2 ? 2 : 1, 0);
        if (run == 3) /* every token changed: 'a' <-> 'b', ... */
            for (long i = 0; i < h.tc.n_ids; i++) tr_ids[i] ^= 1;
        for (int s = 0; s < 20; s++) CHECK_OK(qk_train_step(&h.t));
        hash[run] = qk_model_param_hash(&h.m);
        tr_close(&h);
    }
    /* the documented data order: batch 1 of seed 2 holds windows at u64() mod (n_train - T)
     * of a generator seeded with 2·7919 + 17 */
    trainer_h h;
    tr_open(&h, "tiny", 2, 0);
    CHECK_OK(qk_train_step(&h.t));
    qk_rng r;
    qk_rng_seed(&r, 2 * 7919 + 17);
    for (int b = 0; b < 2; b++) {
        long s0 = (long)(qk_rng_u64(&r) % (uint64_t)(h.t.n_train - h.c.T));
        CHECK(!memcmp(h.tok + b * 6, tr_ids + s0, sizeof(int) * 6), "window %d of batch 1 is not at %ld", b, s0);
    }
    tr_close(&h);
    CHECK(hash[0] == hash[1], "two runs with seed 1 differ: %016llx %016llx", (unsigned long long)hash[0],
          (unsigned long long)hash[1]);
    CHECK(hash[2] != hash[0], "seed 2 gave the parameters of seed 1");
    CHECK(hash[3] != hash[0], "another token array gave the same parameters");

    tr_open(&h, "tiny", 1, 0);
    qk_train_metrics e;
    CHECK(qk_train_eval(&h.t, &e, NULL) == QK_ERR_ARG, "evaluation without K and work accepted");
    CHECK(qk_train_qk_eigenvalues(&h.t, (double[8]){0}) == QK_ERR_ARG, "eigenvalues without work accepted");
    qk_trainer t;
    qk_train_config tc = h.tc;
    tc.n_ids = 12; /* too short for a validation window of T + 2 = 7 tokens */
    CHECK(qk_train_init(&t, &h.m, &tc, h.tok, NULL, NULL) == QK_ERR_ARG, "a 12-token corpus accepted");
    tc = h.tc;
    tc.val_frac = 1.0f;
    CHECK(qk_train_init(&t, &h.m, &tc, h.tok, NULL, NULL) == QK_ERR_ARG, "val_frac 1 accepted");
    tc = h.tc;
    CHECK(qk_train_init(&t, &h.m, &tc, NULL, NULL, NULL) == QK_ERR_ARG, "LM without a token buffer accepted");
    tc.eval_batches = 1;
    CHECK(qk_train_init(&t, &h.m, &tc, h.tok, NULL, NULL) == QK_ERR_ARG, "K = 1 without work accepted");
    CHECK(qk_train_bind_model(&h.m, &h.c, h.mem, h.sz.model - 1) == QK_ERR_CAPACITY, "a short model buffer accepted");
    long ntr;
    CHECK(qk_train_split(1000, 0.1f, 5, &ntr) == QK_OK && ntr == 900, "split of 1000 tokens: %ld", ntr);
    tr_close(&h);
}

/* The board example of qk_train.h (its calls, with checked sizes): tiny, V = 256, seed
 * 1, 20 steps on 4 KiB of the synthetic corpus, no evaluation; on every ISA path of
 * this CPU. Prints the parameter hash a bare-metal run must reproduce. */
static uint64_t board_hash(void)
{
    static qk_train_example_mem mem;
    uint64_t hash = 0;
    CHECK_OK(qk_train_example(&mem, 20, &hash, NULL, NULL));
    CHECK(mem.ids[0] == mem.text[0] && qk_synthetic_corpus(mem.text, sizeof mem.text) == 3936,
          "the example's corpus changed (update qk_train.h)");
    return hash;
}

/* Every ISA path gives the scalar path's hash; tests/run.sh compares the printed scalar
 * hash of every target (cross compilers, bare-metal boards) with the native one. */
TEST(model_train_tiny_board_hash)
{
    qk_isa was = qk_isa_current();
    uint64_t scalar = 0;
    for (int isa = 0; isa < QK_ISA_COUNT; isa++) {
        if (!qk_isa_available((qk_isa)isa)) continue;
        qk_isa_select((qk_isa)isa);
        uint64_t hash = board_hash();
        printf("model_train_tiny_board_hash: tiny (V = 256), seed 1, 20 steps, 3936-byte synthetic corpus, isa %s: "
               "parameter hash %08lx%08lx\n", qk_isa_name((qk_isa)isa), (unsigned long)(hash >> 32),
               (unsigned long)(hash & 0xffffffffu));
        if (isa == QK_ISA_SCALAR) scalar = hash;
        CHECK(hash == scalar, "%s: parameter hash differs from the scalar path's", qk_isa_name((qk_isa)isa));
    }
    qk_isa_select(was);
}

/* ------------------------------------------------------------------ LocAteR weighting, initialisation, dropout, σReparam γ */

/* The gradients with dropout (SPEC §1.2: masks on the embedding sum, the attention
 * block's output and the FFN's output, fixed for a given seed and step, so finite
 * differences see the same masks), the fairseq initialisation and LocAteR's summed
 * weighting, for every LayerNorm placement, two layers and the walk model. */
TEST(model_gradients_dropout_fairseq_sum)
{
    static const char *ln_names[] = {"pre", "post", "none"};
    for (int ln = 0; ln < 3; ln++) {
        qk_model_config c;
        qk_model_preset("tiny", &c);
        c.ln = (qk_ln_mode)ln;
        c.init = QK_INIT_FAIRSEQ;
        c.dropout = 0.25f;
        c.kappa1 = 20.0f; /* /(B·T) = 2 under the summed weighting */
        c.kappa2 = 5.0f;
        c.locater_norm = QK_NORM_SUM;
        if (ln == 1) c.sigma_reparam = QK_SR_ALL;
        char label[96];
        snprintf(label, sizeof label, "lm ln=%s fairseq dropout 0.25 LocAteR sum%s", ln_names[ln],
                 ln == 1 ? " sigmaReparam" : "");
        check_gradients(&c, label);
        if (qkt_scale() > 1) return;
    }
    qk_model_config c;
    qk_model_preset("tiny", &c);
    c.L = 2; c.H = 1; c.init = QK_INIT_FAIRSEQ; c.dropout = 0.5f;
    check_gradients(&c, "lm L=2 fairseq dropout 0.5");
    qk_model_preset("walk", &c);
    c.d = 6; c.dff = 5; c.T = 4; c.B = 3; c.dropout = 0.2f; c.init = QK_INIT_FAIRSEQ;
    c.kappa1 = 6.0f; c.locater_norm = QK_NORM_SUM;
    check_gradients(&c, "walk dropout 0.2 LocAteR sum");
}

/* SUM weighting is TOKEN with κ/N: the same bits for loss, reg and every gradient. */
TEST(model_locater_norm_sum_is_token_over_n)
{
    qk_model_config c;
    qk_model_preset("tiny", &c);
    c.kappa1 = 100.0f;
    c.kappa2 = 0.1f;
    c.locater_norm = QK_NORM_SUM;
    harness a, b;
    h_open(&a, &c, 5);
    qk_model_config t = c;
    t.locater_norm = QK_NORM_TOKEN;
    t.kappa1 = c.kappa1 / (float)(c.B * c.T);
    t.kappa2 = c.kappa2 / (float)(c.B * c.T);
    h_open(&b, &t, 5);
    h_total(&a);
    h_total(&b);
    CHECK_OK(qk_model_backward(&a.m));
    CHECK_OK(qk_model_backward(&b.m));
    CHECK(tu_bits(a.m.loss) == tu_bits(b.m.loss) && tu_bits(a.m.reg) == tu_bits(b.m.reg),
          "sum: loss %.9g reg %.9g; token with kappa/N: %.9g %.9g", a.m.loss, a.m.reg, b.m.loss, b.m.reg);
    CHECK(!memcmp(a.m.g.p[0], b.m.g.p[0], sizeof(float) * a.sz.params), "gradients differ");
    /* and R/(B·T) against R: the token reg is B·T times larger up to rounding */
    qk_model_config k = c;
    k.locater_norm = QK_NORM_TOKEN;
    harness r;
    h_open(&r, &k, 5);
    h_total(&r);
    CHECK(fabs(r.m.reg / (c.B * c.T) - a.m.reg) <= 1e-6 * fabs(r.m.reg / (c.B * c.T)), "R %.9g, R/N %.9g", r.m.reg,
          a.m.reg);
    h_close(&a);
    h_close(&b);
    h_close(&r);
}

/* fairseq's initialisation (SPEC §1.2): q/k/v/out-projection weights, embeddings and
 * LayerNorm as LEGACY (same draws); fc1/fc2 weights and q/k/v/fc biases in
 * U(±1/sqrt(fan_in)) and spread over it; out-projection bias 0. */
TEST(model_init_fairseq)
{
    qk_model_config c;
    qk_model_preset("small", &c);
    c.dff = 48;
    harness f, l;
    qk_model_config cf = c;
    cf.init = QK_INIT_FAIRSEQ;
    h_open(&f, &cf, 9);
    h_open(&l, &c, 9);
    static const int same[] = {QK_P_WTE, QK_P_WOUT, QK_P_LNF_G, QK_P_LNF_B, QK_P_LN1_G, QK_P_LN1_B, QK_P_WQ, QK_P_WK,
                               QK_P_WV, QK_P_WO, QK_P_LN2_G, QK_P_LN2_B, QK_P_BO};
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++)
        CHECK(!memcmp(f.m.w.p[same[i]], l.m.w.p[same[i]], sizeof(float) * f.sz.t[same[i]].size),
              "tensor %s differs between the initialisations", f.sz.t[same[i]].name);
    static const int uni[] = {QK_P_W1, QK_P_B1, QK_P_W2, QK_P_B2, QK_P_BQ, QK_P_BK, QK_P_BV};
    static const int fan[] = {32, 32, 48, 48, 32, 32, 32};
    for (size_t i = 0; i < sizeof uni / sizeof uni[0]; i++) {
        const float *p = f.m.w.p[uni[i]];
        size_t n = f.sz.t[uni[i]].size;
        double b = 1.0 / sqrt((double)fan[i]), mx = 0, s2 = 0;
        for (size_t j = 0; j < n; j++) {
            mx = fmax(mx, fabs(p[j]));
            s2 += (double)p[j] * p[j];
        }
        /* U(-b, b): max |x| <= b, mean square b²/3 within 5 standard errors */
        double ms = s2 / n, se = b * b * sqrt(4.0 / 45.0 / n);
        CHECK(mx <= (float)b && mx > 0.8 * b, "%s: max |x| %.4g, bound %.4g", f.sz.t[uni[i]].name, mx, b);
        CHECK(fabs(ms - b * b / 3) <= 5 * se, "%s: mean square %.4g, expected %.4g ± %.2g", f.sz.t[uni[i]].name, ms,
              b * b / 3, se);
    }
    for (int j = 0; j < c.d; j++) CHECK(f.m.w.p[QK_P_BO][j] == 0.0f, "bo[%d] = %g", j, f.m.w.p[QK_P_BO][j]);
    h_close(&f);
    h_close(&l);
}

/* Dropout masks (qk_model.h): the forward's multipliers are qk_dropout_keep's, the
 * dropped fraction is P within binomial bounds, the masks change with the step and the
 * site, evaluation mode (training = 0) is the model without dropout bit for bit, and a
 * few training steps with dropout give the same parameters on every ISA path. */
TEST(model_dropout_masks)
{
    qk_model_config c;
    qk_model_preset("small", &c);
    c.dropout = 0.1f;
    c.L = 2;
    harness h;
    h_open(&h, &c, 11);
    h.m.step = 7;
    h_total(&h);
    const float *mk = qk_model_dropout_masks(&h.m);
    CHECK(mk != NULL, "no masks in training mode");
    size_t n = (size_t)c.B * c.T * c.d, dropped = 0, differ = 0;
    float keep = 1.0f / (1.0f - c.dropout);
    for (int site = 0; site < 1 + 2 * c.L && mk; site++)
        for (size_t i = 0; i < n; i++) {
            float want = qk_dropout_keep(11, 7, site, i, c.dropout), got = mk[(size_t)site * n + i];
            CHECK(tu_bits(want) == tu_bits(got), "site %d element %zu: %g, qk_dropout_keep %g", site, i, got, want);
            CHECK(got == 0.0f || got == keep, "multiplier %g", got);
            dropped += got == 0.0f;
            differ += (qk_dropout_keep(11, 8, site, i, c.dropout) == 0.0f) != (got == 0.0f);
            if (site) differ += 0;
        }
    double total = (double)n * (1 + 2 * c.L), p = dropped / total, se = sqrt(0.1 * 0.9 / total);
    CHECK(fabs(p - 0.1) <= 5 * se, "dropped fraction %.4f of %.0f, P = 0.1", p, total);
    /* another step drops other elements: about 2P(1-P) of them differ */
    CHECK(fabs(differ / total - 0.18) <= 5 * sqrt(0.18 * 0.82 / total), "masks of steps 7 and 8 differ in %.4f",
          differ / total);
    size_t same_site = 0;
    for (size_t i = 0; i < n; i++) same_site += (qk_dropout_keep(11, 7, 1, i, 0.1f) == 0.0f) == (qk_dropout_keep(11, 7, 2, i, 0.1f) == 0.0f);
    CHECK(same_site < n, "sites 1 and 2 have the same mask");
    /* evaluation mode = no dropout */
    h.m.training = 0;
    h_total(&h);
    CHECK(qk_model_dropout_masks(&h.m) == NULL, "masks reported in evaluation mode");
    size_t no = (size_t)c.B * c.T * c.V;
    float *out_eval = malloc(sizeof(float) * no);
    memcpy(out_eval, qk_model_output(&h.m), sizeof(float) * no);
    float loss_eval = h.m.loss;
    qk_model_config c0 = c;
    c0.dropout = 0.0f;
    harness z;
    h_open(&z, &c0, 11);
    h_total(&z);
    CHECK(tu_bits(loss_eval) == tu_bits(z.m.loss) && !memcmp(out_eval, qk_model_output(&z.m), sizeof(float) * no),
          "evaluation mode differs from the model without dropout (loss %.9g vs %.9g)", loss_eval, z.m.loss);
    free(out_eval);
    h_close(&z);
    h_close(&h);
    /* training with dropout: the same parameters on every ISA path */
    qk_isa was = qk_isa_current();
    uint64_t first = 0;
    for (int isa = 0; isa < QK_ISA_COUNT; isa++) {
        if (!qk_isa_available((qk_isa)isa)) continue;
        qk_isa_select((qk_isa)isa);
        qk_model_config t;
        qk_model_preset("tiny", &t);
        t.dropout = 0.25f;
        t.init = QK_INIT_FAIRSEQ;
        harness g;
        h_open(&g, &t, 3);
        for (int s = 0; s < 5; s++) {
            h_total(&g);
            CHECK_OK(qk_model_backward(&g.m));
            CHECK_OK(qk_model_adamw(&g.m));
        }
        uint64_t hash = qk_model_param_hash(&g.m);
        if (!first) first = hash;
        CHECK(hash == first, "%s: dropout training hash differs", qk_isa_name((qk_isa)isa));
        h_close(&g);
    }
    qk_isa_select(was);
}

/* σReparam's γ starts at the converged spectral norm σ(W0) (SPEC §1.1): against the
 * double-precision Jacobi SVD (qk_spectral_norm) within 1e-5, and the first training
 * step's power step leaves γ/σ = 1 within 1e-6, so that Ŵ = W at step 0. */
TEST(model_sigma_reparam_gamma_converged)
{
    static const char *presets[] = {"tiny", "small", "paper-d32", "paper"};
    double worst_g = 0, worst_r = 0;
    for (int pi = 0; pi < 4; pi++) {
        if (qkt_scale() > 1 && pi == 3) break;
        for (uint64_t seed = 1; seed <= (pi == 3 ? 1u : 4u); seed++) {
            qk_model_config c;
            qk_model_preset(presets[pi], &c);
            c.sigma_reparam = QK_SR_ALL;
            if (pi == 3) { c.B = 1; c.T = 4; }
            if (pi == 2) c.dff = 48; /* a rectangular fc1/fc2 */
            harness h;
            h_open(&h, &c, seed);
            qk_model_sr_step(&h.m);
            h_total(&h);
            int md = c.dff > c.d ? c.dff : c.d;
            double *W = malloc(sizeof(double) * (size_t)md * md);
            size_t wl = qk_spectral_norm_work_len(md, md);
            double *work = malloc(sizeof(double) * wl);
            static const int lp[6] = {QK_P_WQ, QK_P_WK, QK_P_WV, QK_P_WO, QK_P_W1, QK_P_W2};
            for (int l = 0; l < c.L; l++)
                for (int lin = 0; lin < 6; lin++) {
                    int out = lin == 4 ? c.dff : c.d, in = lin == 5 ? c.dff : c.d;
                    const float *w = h.m.w.p[lp[lin]] + (size_t)l * out * in;
                    for (int i = 0; i < out * in; i++) W[i] = w[i];
                    double s = 0;
                    CHECK_OK(qk_spectral_norm(out, in, W, in, &s, work, wl));
                    float g = h.m.w.p[QK_P_SR_GAMMA][l * 6 + lin];
                    double eg = fabs(g / s - 1.0);
                    worst_g = fmax(worst_g, eg);
                    CHECK(eg <= 1e-5, "%s seed %d layer %d linear %d: gamma %.9g, sigma(W0) %.9g", presets[pi],
                          (int)seed, l, lin, g, s);
                }
            /* Ŵ = (γ/σ) W as the forward used it: compare with W */
            for (int l = 0; l < c.L; l++) {
                const float *wq = h.m.w.p[QK_P_WQ] + (size_t)l * c.d * c.d;
                double *Wq = malloc(sizeof(double) * (size_t)c.d * c.d);
                qk_model_wqk(&h.m, l, 0, Wq); /* effective weights: W_QK of Ŵ_Q, Ŵ_K */
                double num = 0, den = 0;
                const float *wk = h.m.w.p[QK_P_WK] + (size_t)l * c.d * c.d;
                int dh = c.d / c.H;
                for (int i = 0; i < c.d; i++)
                    for (int j = 0; j < c.d; j++) {
                        double r = 0;
                        for (int k = 0; k < dh; k++) r += (double)wq[(size_t)k * c.d + i] * wk[(size_t)k * c.d + j];
                        num += (Wq[(size_t)i * c.d + j] - r) * (Wq[(size_t)i * c.d + j] - r);
                        den += r * r;
                    }
                worst_r = fmax(worst_r, sqrt(num / den));
                CHECK(sqrt(num / den) <= 2e-6, "%s seed %d layer %d: effective W_QK differs from the raw one by %.3g",
                      presets[pi], (int)seed, l, sqrt(num / den));
                free(Wq);
            }
            free(W);
            free(work);
            h_close(&h);
        }
    }
    printf("model_sigma_reparam_gamma_converged: worst |gamma/sigma(W0) - 1| %.3g, worst |W_QK(hat) - W_QK|/|W_QK| %.3g\n",
           worst_g, worst_r);
}
