/* test_collapse.c — the rank-collapse stack (SPEC §1.4): sizes and streams, the
 * composite norm against double, the path decomposition identity, collapse of SAN
 * against skip and transformer at BERT initialisation, the pure exponent, bit
 * identity across ISA paths, the bound's norms, the singular-value view, the
 * path-length shares and the SVG writer. */
#include <stdlib.h>
#include "qk_collapse.h"
#include "qk_svg.h"
#include "qktest.h"
#include "test_util.h"

typedef struct {
    qk_collapse s;
    qk_collapse_sizes_t sz;
    float *buf;
} stack;

static int st_open(stack *h, const qk_collapse_config *c, uint64_t seed)
{
    memset(h, 0, sizeof *h);
    if (qk_collapse_sizes(c, &h->sz) != QK_OK) return -1;
    h->buf = calloc(h->sz.params + h->sz.acts + h->sz.scratch, sizeof(float));
    if (!h->buf) return -1;
    CHECK_OK(qk_collapse_bind(&h->s, c, h->buf, h->buf + h->sz.params, h->buf + h->sz.params + h->sz.acts));
    CHECK_OK(qk_collapse_init(&h->s, seed));
    return 0;
}

static void st_close(stack *h) { free(h->buf); }

/* x0 from a fixed sentence (bytes) through the stack's embedding. */
static void text_input(stack *h, float *x0)
{
    static const char text[] = "The quick brown fox jumps over the lazy dog while the cat sleeps in the sun; "
                               "seven sailors sang softly at sea, and the moon rose over the quiet harbour.";
    int n = h->s.cfg.n, tok[1024];
    for (int i = 0; i < n; i++) tok[i] = (unsigned char)text[i % (int)(sizeof text - 1)];
    CHECK_OK(qk_collapse_embed(&h->s, tok, x0));
}

TEST(collapse_sizes_and_capacities)
{
    qk_collapse_config c = qk_collapse_default_config(128, 768, 12, 12);
    qk_collapse_sizes_t sz;
    CHECK_OK(qk_collapse_sizes(&c, &sz));
    /* BERT-base encoder: 12 (4 d² + 4 d + 2 d + 8 d² + 4 d + d + 2 d) = 85,017,600 + embeddings */
    size_t layers = 12 * (12 * (size_t)768 * 768 + 13 * 768);
    CHECK(sz.params == layers + 256 * 768 + 128 * 768 + 3 * 768, "params %zu", sz.params);
    c.d = 12 * (QK_COL_MAX_D / 12 + 1);
    CHECK(qk_collapse_sizes(&c, &sz) == QK_ERR_CAPACITY, "d above capacity");
    c.d = 770;
    CHECK(qk_collapse_sizes(&c, &sz) == QK_ERR_ARG, "d not divisible by H");
    c = qk_collapse_default_config(8, 8, 2, 2);
    c.ln_eps = 0.0f;
    CHECK(qk_collapse_sizes(&c, &sz) == QK_ERR_ARG, "eps 0");
    qk_col_variant v;
    for (int i = 0; i < QK_COL_NVARIANT; i++) {
        CHECK_OK(qk_col_variant_parse(qk_col_variant_name((qk_col_variant)i), &v));
        CHECK((int)v == i, "variant name round trip %d", i);
    }
    CHECK(qk_col_variant_parse("bert", &v) == QK_ERR_ARG, "unknown variant");
}

TEST(collapse_init_streams_independent_of_config)
{
    qk_collapse_config a = qk_collapse_default_config(8, 32, 4, 3), b = a;
    b.dff = 0;
    b.V = 0;
    stack A, B;
    if (st_open(&A, &a, 42) || st_open(&B, &b, 42)) { CHECK(0, "open"); return; }
    for (int t = QK_P_WQ; t <= QK_P_BO; t++)
        CHECK(!memcmp(A.s.m.w.p[t], B.s.m.w.p[t], A.sz.model.t[t].size * sizeof(float)), "tensor %s differs",
              A.sz.model.t[t].name);
    /* N(0, 0.02²): mean and variance of the 3·32·32 entries of wq */
    double m = 0, q = 0;
    size_t nq = A.sz.model.t[QK_P_WQ].size;
    for (size_t i = 0; i < nq; i++) { m += A.s.m.w.p[QK_P_WQ][i]; q += (double)A.s.m.w.p[QK_P_WQ][i] * A.s.m.w.p[QK_P_WQ][i]; }
    m /= nq;
    q = q / nq - m * m;
    CHECK(fabs(m) < 0.002 && fabs(sqrt(q) - 0.02) < 0.002, "wq mean %g std %g", m, sqrt(q));
    CHECK(A.s.m.w.p[QK_P_LN1_G][5] == 1.0f && A.s.m.w.p[QK_P_BO][3] == 0.0f, "LN gain 1, bias 0");
    CHECK(memcmp(A.s.m.w.p[QK_P_WQ], A.s.m.w.p[QK_P_WK], 32 * sizeof(float)), "wq and wk share a stream");
    st_close(&A);
    st_close(&B);
}

TEST(collapse_norms_against_double)
{
    qk_rng r;
    qk_rng_seed(&r, 3);
    int n = 37, d = 29;
    float x[37 * 29], scr[3 * 29];
    tu_fill(x, n * d, &r, 2.0f);
    for (int i = 0; i < n * d; i++) x[i] += 0.7f; /* a common component */
    double res, nrm;
    qk_collapse_norms(x, n, d, scr, &res, &nrm);
    double mean[29] = {0}, col[29] = {0}, rcol[29] = {0}, rmax = 0, rrmax = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) mean[j] += x[i * d + j] / (double)n;
    for (int i = 0; i < n; i++) {
        double rs = 0, rrs = 0;
        for (int j = 0; j < d; j++) {
            rs += fabs(x[i * d + j]);
            rrs += fabs(x[i * d + j] - mean[j]);
            col[j] += fabs(x[i * d + j]);
            rcol[j] += fabs(x[i * d + j] - mean[j]);
        }
        if (rs > rmax) rmax = rs;
        if (rrs > rrmax) rrmax = rrs;
    }
    double cmax = 0, rcmax = 0;
    for (int j = 0; j < d; j++) {
        if (col[j] > cmax) cmax = col[j];
        if (rcol[j] > rcmax) rcmax = rcol[j];
    }
    CHECK(fabs(nrm - sqrt(cmax * rmax)) <= 1e-5 * nrm, "norm %.9g vs %.9g", nrm, sqrt(cmax * rmax));
    CHECK(fabs(res - sqrt(rcmax * rrmax)) <= 1e-5 * nrm, "res %.9g vs %.9g", res, sqrt(rcmax * rrmax));
    /* a matrix of equal rows has residual 0; a NaN gives NaN */
    for (int i = 0; i < n; i++) memcpy(x + i * d, x, sizeof(float) * d);
    qk_collapse_norms(x, n, d, scr, &res, &nrm);
    CHECK(res == 0.0 && nrm > 0.0, "equal rows: res %g", res);
    x[5] = NAN;
    qk_collapse_norms(x, n, d, scr, &res, &nrm);
    CHECK(res != res && nrm != nrm, "NaN propagates");
}

/* max |forward - path sum| relative to max |X_L| for variant v */
static double path_error(stack *h, qk_col_variant v, const float *x0, long *np)
{
    const qk_collapse_config *c = &h->s.cfg;
    size_t nd = (size_t)c->n * c->d;
    float *scr = malloc(sizeof(float) * qk_collapse_paths_scratch(c));
    double *sum = malloc(sizeof(double) * nd);
    CHECK_OK(qk_collapse_forward(&h->s, v, x0, NULL, NULL));
    CHECK_OK(qk_collapse_paths(&h->s, scr, sum, np));
    const float *xl = h->s.x + (size_t)c->L * nd;
    double e = 0, m = 0;
    for (size_t i = 0; i < nd; i++) {
        double di = fabs(xl[i] - sum[i]);
        if (!(di <= e)) e = di;
        if (fabs(sum[i]) > m) m = fabs(sum[i]);
    }
    free(scr);
    free(sum);
    return m > 0 ? e / m : e;
}

TEST(paths_decomposition_identity)
{
    static const int shapes[][2] = {{2, 3}, {3, 2}, {1, 4}, {4, 3}};
    for (int k = 0; k < 4; k++) {
        int H = shapes[k][0], L = shapes[k][1];
        qk_collapse_config c = qk_collapse_default_config(9, 4 * H, H, L);
        c.dff = 0;
        c.V = 0;
        c.init_std = 0.35;
        stack h;
        if (st_open(&h, &c, 11 + k)) { CHECK(0, "open"); return; }
        CHECK_OK(qk_collapse_perturb_biases(&h.s, 5 + k, 0.2f));
        float x0[9 * 16];
        qk_rng r;
        qk_rng_seed(&r, 99 + k);
        qk_collapse_gauss_input(&r, x0, c.n, c.d);
        long np = 0, want = 1, want_skip = 1;
        for (int l = 0; l < L; l++) { want *= H; want_skip *= H + 1; }
        double e = path_error(&h, QK_COL_PURE, x0, &np);
        CHECK(np == want && e < 2e-6, "pure H %d L %d: %ld paths, relative error %.3g", H, L, np, e);
        e = path_error(&h, QK_COL_PURE_SKIP, x0, &np);
        CHECK(np == want_skip && e < 2e-6, "pure+skip H %d L %d: %ld paths, relative error %.3g", H, L, np, e);
        /* the identity needs the forward's own attention: perturbing one entry breaks it */
        h.s.att[3] += 0.25f;
        float *scr = malloc(sizeof(float) * qk_collapse_paths_scratch(&c));
        double *sum = malloc(sizeof(double) * 9 * 16);
        CHECK_OK(qk_collapse_paths(&h.s, scr, sum, &np));
        double dmax = 0;
        for (int i = 0; i < c.n * c.d; i++) dmax = fmax(dmax, fabs(sum[i] - h.s.x[(size_t)L * c.n * c.d + i]));
        CHECK(dmax > 1e-3, "perturbed attention still matches (%g)", dmax);
        free(scr);
        free(sum);
        st_close(&h);
    }
    /* only the pure variants decompose this way */
    qk_collapse_config c = qk_collapse_default_config(4, 4, 2, 1);
    stack h;
    if (st_open(&h, &c, 1)) return;
    float x0[16] = {0}, scr[256];
    double sum[16];
    CHECK_OK(qk_collapse_forward(&h.s, QK_COL_SAN, x0, NULL, NULL));
    CHECK(qk_collapse_paths(&h.s, scr, sum, NULL) == QK_ERR_ARG, "paths of a LayerNorm variant");
    st_close(&h);
}

TEST(paths_length_shares)
{
    double sh[97], mean;
    CHECK_OK(qk_path_length_shares(3, 2, sh, &mean));
    static const double want[4] = {1 / 27.0, 6 / 27.0, 12 / 27.0, 8 / 27.0};
    for (int k = 0; k <= 3; k++) CHECK(fabs(sh[k] - want[k]) < 1e-15, "k %d: %.17g", k, sh[k]);
    CHECK(fabs(mean - 2.0) < 1e-15, "mean %g", mean);
    CHECK_OK(qk_path_length_shares(96, 96, sh, &mean));
    double s = 0, m = 0;
    for (int k = 0; k <= 96; k++) { s += sh[k]; m += k * sh[k]; }
    CHECK(fabs(s - 1) < 1e-12 && fabs(m - mean) < 1e-10, "GPT-3 175B: sum %.17g mean %.17g vs %.17g", s, m, mean);
    CHECK(qk_path_length_shares(0, 3, sh, NULL) == QK_ERR_ARG, "L = 0");
}

/* r_l of variant v: n 16, d 32, H 2, L 12 (BERT initialisation; small d keeps the
 * test fast under emulation: collapse and its absence are as clear as at d = 768). */
static void r_curve(stack *h, qk_col_variant v, const float *x0, double *r)
{
    double res[13], nrm[13];
    CHECK_OK(qk_collapse_forward(&h->s, v, x0, res, nrm));
    for (int l = 0; l <= h->s.cfg.L; l++) r[l] = res[l] / nrm[l];
}

TEST(collapse_san_collapses_skip_and_transformer_do_not)
{
    qk_collapse_config c = qk_collapse_default_config(16, 32, 2, 12);
    stack h;
    if (st_open(&h, &c, 1)) { CHECK(0, "open"); return; }
    float x0[16 * 32];
    text_input(&h, x0);
    double r[13];
    r_curve(&h, QK_COL_SAN, x0, r);
    CHECK(r[0] > 0.3 && r[2] < 0.05, "san: r0 %.3g r1 %.3g r2 %.3g", r[0], r[1], r[2]);
    if (qkt_scale() == 1) { /* natively; under emulation the required three */
        r_curve(&h, QK_COL_SAN_MLP, x0, r);
        CHECK(r[2] < 0.05, "san+mlp: r2 %.3g", r[2]);
    }
    static const qk_col_variant keep[2] = {QK_COL_SAN_SKIP, QK_COL_TRANSFORMER};
    for (int k = 0; k < 2; k++) {
        r_curve(&h, keep[k], x0, r);
        double rmin = 1;
        for (int l = 0; l <= 12; l++) rmin = fmin(rmin, r[l]);
        CHECK(rmin > 0.3, "%s: min r %.3g (r12 %.3g)", qk_col_variant_name(keep[k]), rmin, r[12]);
    }
    /* Gaussian tokens: the same ordering */
    if (qkt_scale() > 1) { st_close(&h); return; }
    qk_rng rg;
    qk_rng_seed(&rg, 5);
    qk_collapse_gauss_input(&rg, x0, 16, 32);
    r_curve(&h, QK_COL_SAN, x0, r);
    CHECK(r[0] > 0.9 && r[2] < 0.05, "san, gauss: r0 %.3g r2 %.3g", r[0], r[2]);
    r_curve(&h, QK_COL_SAN_SKIP, x0, r);
    CHECK(r[12] > 0.3, "san+skip, gauss: r12 %.3g", r[12]);
    st_close(&h);
}

TEST(collapse_pure_exponent_tends_to_3)
{
    /* Pure SAN (no LayerNorm): near collapse log res_{l+1} ≈ 3 log res_l + c (SPEC §1.4).
     * float32 resolves residuals down to r ~ 2^-16 only, where log res is still
     * comparable to c, so the constant-free form of the exponent is measured:
     *   (log res_{l+1} - log res_l) / (log res_l - log res_{l-1})  ->  3,
     * at the deepest layer whose r_l is below 0.05 but resolvable. Weights N(0, 0.15²)
     * (gain ~0.7 per layer at d = 32) so that the logits stay O(1) and the cubic regime
     * is reached before the rounding floor; averaged over 8 Gaussian sequences. */
    qk_collapse_config c = qk_collapse_default_config(16, 32, 2, 6);
    c.dff = 0;
    c.V = 0;
    c.init_std = 0.15;
    stack h;
    if (st_open(&h, &c, 1)) { CHECK(0, "open"); return; }
    float x0[16 * 32];
    qk_rng r;
    qk_rng_seed(&r, 8);
    double sum = 0;
    int cnt = 0;
    for (int q = 0; q < 8; q++) {
        qk_collapse_gauss_input(&r, x0, 16, 32);
        double res[7], nrm[7];
        qk_collapse_forward(&h.s, QK_COL_PURE, x0, res, nrm);
        for (int l = 6; l >= 2; l--) { /* the deepest resolvable layer below r = 0.05 */
            double rl = res[l] / nrm[l];
            if (!(rl >= 0x1p-16 && rl < 0.05)) continue;
            double e = (log(res[l]) - log(res[l - 1])) / (log(res[l - 1]) - log(res[l - 2]));
            sum += e;
            cnt++;
            CHECK(e > 2.0 && e < 4.5, "sequence %d layer %d: exponent %.3g", q, l, e);
            break;
        }
    }
    CHECK(cnt >= 4 && fabs(sum / cnt - 3.0) < 0.4, "mean exponent %.3g over %d sequences", cnt ? sum / cnt : 0, cnt);
    st_close(&h);
}

TEST(collapse_isa_paths_bit_identical)
{
    qk_collapse_config c = qk_collapse_default_config(16, 32, 4, 2);
    stack h;
    if (st_open(&h, &c, 21)) { CHECK(0, "open"); return; }
    CHECK_OK(qk_collapse_perturb_biases(&h.s, 4, 0.05f));
    float x0[16 * 32], ref[16 * 32];
    text_input(&h, x0);
    for (int v = 0; v < QK_COL_NVARIANT; v++) {
        double res0[3], nrm0[3];
        qk_isa_select(QK_ISA_SCALAR);
        qk_collapse_forward(&h.s, (qk_col_variant)v, x0, res0, nrm0);
        memcpy(ref, h.s.x + 2 * 16 * 32, sizeof ref);
        for (int isa = 1; isa < QK_ISA_COUNT; isa++) {
            if (!qk_isa_available((qk_isa)isa)) continue;
            double res[3], nrm[3];
            qk_isa_select((qk_isa)isa);
            qk_collapse_forward(&h.s, (qk_col_variant)v, x0, res, nrm);
            CHECK(!memcmp(ref, h.s.x + 2 * 16 * 32, sizeof ref) && !memcmp(res, res0, sizeof res) &&
                      !memcmp(nrm, nrm0, sizeof nrm),
                  "%s differs on %s", qk_col_variant_name((qk_col_variant)v), qk_isa_name((qk_isa)isa));
        }
    }
    st_close(&h);
}

TEST(collapse_bound_head_norms_against_double)
{
    qk_collapse_config c = qk_collapse_default_config(4, 24, 3, 2);
    stack h;
    if (st_open(&h, &c, 13)) { CHECK(0, "open"); return; }
    int d = 24, dh = 8;
    float *scr = malloc(sizeof(float) * qk_collapse_head_norms_scratch(d));
    for (int l = 0; l < 2; l++)
        for (int hd = 0; hd < 3; hd++) {
            double q1, v1;
            CHECK_OK(qk_collapse_head_norms(&h.s.m, l, hd, scr, &q1, &v1));
            const float *wq = h.s.m.w.p[QK_P_WQ] + (size_t)l * d * d + hd * dh * d;
            const float *wk = h.s.m.w.p[QK_P_WK] + (size_t)l * d * d + hd * dh * d;
            const float *wv = h.s.m.w.p[QK_P_WV] + (size_t)l * d * d + hd * dh * d;
            const float *wo = h.s.m.w.p[QK_P_WO] + (size_t)l * d * d + hd * dh;
            double qk[24][24], vo[24][24];
            for (int i = 0; i < d; i++)
                for (int j = 0; j < d; j++) {
                    qk[i][j] = vo[i][j] = 0;
                    for (int k = 0; k < dh; k++) {
                        qk[i][j] += (double)wq[k * d + i] * wk[k * d + j];
                        vo[i][j] += (double)wv[k * d + i] * wo[j * d + k];
                    }
                }
            double c1 = 0, v1c = 0, v1r = 0;
            for (int j = 0; j < d; j++) {
                double s = 0, t = 0, u = 0;
                for (int i = 0; i < d; i++) { s += fabs(qk[i][j]); t += fabs(vo[i][j]); u += fabs(vo[j][i]); }
                c1 = fmax(c1, s);
                v1c = fmax(v1c, t);
                v1r = fmax(v1r, u);
            }
            CHECK(fabs(q1 - c1) < 1e-5 * c1, "l %d h %d: ||W_QK||_1 %.9g vs %.9g", l, hd, q1, c1);
            CHECK(fabs(v1 - sqrt(v1c * v1r)) < 1e-5 * v1, "l %d h %d: ||W_VO||_1inf %.9g", l, hd, v1);
        }
    qk_col_bound b;
    double bl[2];
    CHECK_OK(qk_collapse_bound(&h.s.m, 1.0, scr, &b, bl));
    CHECK(b.beta == fmax(bl[0], bl[1]) && fabs(b.c - 4 * b.beta * 3 / sqrt(8.0)) < 1e-12 * b.c, "c %g", b.c);
    CHECK(fabs(qk_collapse_bound_log10(&b, 2, -1.0) - (4 * log10(b.c) - 9)) < 1e-9, "2-layer bound");
    free(scr);
    st_close(&h);
}

TEST(collapse_spectrum_rank_one_and_full)
{
    float x[12 * 20];
    qk_rng r;
    qk_rng_seed(&r, 2);
    for (int i = 0; i < 12; i++)
        for (int j = 0; j < 20; j++) x[i * 20 + j] = (float)(i + 1) * (float)(j - 7);
    size_t wl = qk_collapse_spectrum_work_len(12, 20);
    double *w = malloc(sizeof(double) * wl);
    qk_col_spectrum sp;
    CHECK_OK(qk_collapse_spectrum(x, 12, 20, 0, w, wl, &sp));
    CHECK(fabs(sp.stable_rank - 1) < 1e-12 && sp.numerical_rank == 1 && sp.rank1_dist < 1e-7, "rank one: %g %d %g",
          sp.stable_rank, sp.numerical_rank, sp.rank1_dist);
    tu_fill(x, 12 * 20, &r, 1.0f);
    CHECK_OK(qk_collapse_spectrum(x, 12, 20, 1, w, wl, &sp));
    CHECK(sp.numerical_rank == 11 && sp.stable_rank > 2, "centered random: rank %d (n - 1), stable %g",
          sp.numerical_rank, sp.stable_rank);
    CHECK(qk_collapse_spectrum(x, 12, 20, 0, w, wl - 1, &sp) == QK_ERR_CAPACITY, "short workspace");
    free(w);
}

TEST(collapse_svg_writer)
{
    FILE *f = tmpfile();
    if (!f) { CHECK(0, "tmpfile"); return; }
    double x[5] = {0, 1, 2, 3, 4}, y[5] = {1, 0.5, NAN, 0.01, 1e-4}, lo[5], hi[5];
    for (int i = 0; i < 5; i++) { lo[i] = y[i] * 0.8; hi[i] = y[i] * 1.2; }
    qk_svg_series s[2] = {{"a<b & c", 5, x, y, lo, hi, NULL, 0, 1}, {"second", 5, NULL, x, NULL, NULL, "red", 1, 0}};
    qk_svg_plot p;
    qk_svg_plot_defaults(&p);
    p.title = "t";
    p.logy = 1;
    CHECK(qk_svg_lines(f, &p, s, 2) == 0, "lines");
    double v[6] = {0, 1, 2, 3, NAN, 5};
    CHECK(qk_svg_heatmap(f, &p, v, 2, 3, NAN, NAN, "value") == 0, "heatmap");
    CHECK(qk_svg_histogram(f, &p, v, 6, 3, 0, 0, 1, NULL) == 0, "histogram");
    const char *lab[2] = {"x", "y"};
    CHECK(qk_svg_bars(f, &p, lab, x, y, 2, NULL) == 0, "bars");
    CHECK(qk_svg_lines(f, &p, s, -1) == -1, "bad count");
    long len = ftell(f);
    char *buf = malloc((size_t)len + 1);
    rewind(f);
    size_t got = fread(buf, 1, (size_t)len, f);
    buf[got] = 0;
    fclose(f);
    int svgs = 0;
    for (char *q = buf; (q = strstr(q, "<svg ")); q++) svgs++;
    CHECK(svgs == 4 && strstr(buf, "a&lt;b &amp; c") && strstr(buf, "<polyline") && strstr(buf, "<polygon") &&
              !strstr(buf, "nan") && !strstr(buf, "inf"),
          "svg content (%d documents)", svgs);
    free(buf);
}

/* A markers-only series (QK_SVG_MARKERS_ONLY, the report's scatter plots): one circle
 * per finite point and in the legend, no polyline; a line series beside it keeps its. */
TEST(collapse_svg_scatter)
{
    double x[4] = {0, 1, 2, 3}, y[4] = {1, 3, NAN, 2};
    for (int with_line = 0; with_line < 2; with_line++) {
        FILE *f = tmpfile();
        if (!f) { CHECK(0, "tmpfile"); return; }
        qk_svg_series s[2] = {{"points", 4, x, y, NULL, NULL, NULL, 0, QK_SVG_MARKERS_ONLY},
                              {"line", 4, x, x, NULL, NULL, NULL, 0, 0}};
        qk_svg_plot p;
        qk_svg_plot_defaults(&p);
        CHECK(qk_svg_lines(f, &p, s, 1 + with_line) == 0, "scatter");
        long len = ftell(f);
        char *buf = malloc((size_t)len + 1);
        rewind(f);
        size_t got = fread(buf, 1, (size_t)len, f);
        buf[got] = 0;
        fclose(f);
        int circles = 0, lines = 0;
        for (char *q = buf; (q = strstr(q, "<circle")); q++) circles++;
        for (char *q = buf; (q = strstr(q, "<polyline")); q++) lines++;
        CHECK(circles == 3 + 1 && lines == with_line, "%s: %d circles (3 points + legend), %d polylines",
              with_line ? "with a line series" : "alone", circles, lines);
        free(buf);
    }
}
