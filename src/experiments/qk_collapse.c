/* qk_collapse.c — rank collapse in deep attention (SPEC §1.4): the experiment on the
 * model's layer (qk_model.c runs the stack), its input embedding, metrics, the bound
 * and the path decomposition.
 *
 * Every product goes through qk_matmul, row reductions through qk_sum /
 * qk_layernorm_forward, and column sums are explicit loops over rows in increasing
 * order, so every result inherits the bit contract of SPEC §2.
 * Shapes: n tokens, d width, H heads of dh = d/H, F = dff, L layers. */
#include "qk_fp.h"
#include <math.h> /* sqrt, sqrtf, fabs: IEEE-exact */
#include <string.h>
#include "qk_collapse.h"
#include "qk_eigen.h"

/* ------------------------------------------------------------------ variants */

static const qk_variant to_model[QK_COL_NVARIANT] = {QK_VAR_SAN, QK_VAR_SAN_MLP, QK_VAR_SAN_SKIP,
                                                      QK_VAR_TRANSFORMER, QK_VAR_PURE, QK_VAR_PURE_SKIP};

qk_variant qk_col_variant_model(qk_col_variant v) { return (unsigned)v < QK_COL_NVARIANT ? to_model[v] : QK_NVARIANT; }

const char *qk_col_variant_name(qk_col_variant v) { return qk_variant_name(qk_col_variant_model(v)); }

qk_status qk_col_variant_parse(const char *name, qk_col_variant *v)
{
    qk_variant mv;
    if (!v || qk_variant_parse(name, &mv) != QK_OK) return QK_ERR_ARG;
    for (int i = 0; i < QK_COL_NVARIANT; i++)
        if (to_model[i] == mv) *v = (qk_col_variant)i;
    return QK_OK;
}

int qk_col_variant_has_ffn(qk_col_variant v) { return qk_variant_has_ffn(qk_col_variant_model(v)); }
int qk_col_variant_has_skip(qk_col_variant v) { return qk_variant_has_skip(qk_col_variant_model(v)); }
int qk_col_variant_has_ln(qk_col_variant v) { return qk_variant_has_ln(qk_col_variant_model(v)); }

qk_collapse_config qk_collapse_default_config(int n, int d, int H, int L)
{
    qk_collapse_config c;
    memset(&c, 0, sizeof c);
    c.n = n;
    c.d = d;
    c.H = H;
    c.L = L;
    c.dff = 4 * d;
    c.V = 256;
    c.ln_eps = 1e-12f;
    c.init_std = 0.02;
    return c;
}

qk_model_config qk_collapse_model_config(const qk_collapse_config *c, qk_col_variant v)
{
    qk_model_config m;
    qk_model_preset("walk", &m); /* continuous tokens, non-causal, no final LayerNorm */
    m.d = c->d;
    m.H = c->H;
    m.L = c->L;
    m.dff = c->dff;
    m.T = c->n;
    m.B = 1;
    m.ln = QK_LN_POST;
    m.ln_eps = c->ln_eps;
    m.init = QK_INIT_BERT;
    m.init_std = c->init_std;
    m.act = QK_ACT_GELU;
    m.variant = qk_col_variant_model(v);
    return m;
}

/* ------------------------------------------------------------------ layout */

/* The experiment's own scratch: the model's input (n+1, d) (X_0 and an unused
 * target row), the embedding sum (n, d), LayerNorm statistics (2 n), norms (3 d). */
typedef struct {
    float *in, *t, *mean, *rstd, *norm;
} scr_t;

static size_t layout_scratch(const qk_collapse_config *c, float *base, scr_t *s)
{
    size_t n = (size_t)c->n, d = (size_t)c->d, off = 0;
    float *p[5];
    size_t len[5] = {(n + 1) * d, n * d, n, n, 3 * d};
    for (int i = 0; i < 5; i++) {
        p[i] = base ? base + off : NULL;
        off += len[i];
    }
    s->in = p[0], s->t = p[1], s->mean = p[2], s->rstd = p[3], s->norm = p[4];
    return off;
}

static void emb_info(const qk_collapse_config *c, qk_tensor_info *t)
{
    static const char *names[QK_CE_COUNT] = {"wte", "wpe", "wtt", "lne_g", "lne_b"};
    int e = c->V > 0, rows[QK_CE_COUNT] = {c->V, e ? c->n : 0, 1, 1, 1};
    for (int i = 0; i < QK_CE_COUNT; i++) {
        t[i].name = names[i];
        t[i].ndim = i < 2 ? 2 : 1;
        t[i].dims[0] = i < 2 ? rows[i] : (e ? c->d : 0);
        t[i].dims[1] = i < 2 ? c->d : 0;
        t[i].dims[2] = 0;
        t[i].size = (size_t)(e ? rows[i] : 0) * (size_t)c->d;
    }
}

qk_status qk_collapse_sizes(const qk_collapse_config *c, qk_collapse_sizes_t *sz)
{
    if (!c || !sz) return QK_ERR_ARG;
    if (c->n < 1 || c->d < 2 || c->H < 1 || c->L < 1 || c->dff < 0 || c->V < 0 || c->d % c->H) return QK_ERR_ARG;
    if (!(c->ln_eps > 0.0f) || !(c->init_std >= 0.0) || !(c->init_std <= 1e6)) return QK_ERR_ARG;
    if (c->V > QK_COL_MAX_V) return QK_ERR_CAPACITY;
    memset(sz, 0, sizeof *sz);
    qk_model_config mc = qk_collapse_model_config(c, c->dff > 0 ? QK_COL_TRANSFORMER : QK_COL_SAN);
    qk_status st = qk_model_sizes(&mc, &sz->model);
    if (st != QK_OK) return st;
    emb_info(c, sz->emb);
    sz->params = sz->model.params;
    for (int i = 0; i < QK_CE_COUNT; i++) sz->params += sz->emb[i].size;
    sz->acts = sz->model.acts;
    scr_t s;
    sz->scratch = sz->model.scratch_forward + layout_scratch(c, NULL, &s);
    return QK_OK;
}

qk_status qk_collapse_bind(qk_collapse *s, const qk_collapse_config *cfg, float *params, float *acts,
                           float *scratch)
{
    qk_collapse_sizes_t sz;
    qk_status st = qk_collapse_sizes(cfg, &sz);
    if (st != QK_OK) return st;
    if (!s || !params || !acts || !scratch) return QK_ERR_ARG;
    memset(s, 0, sizeof *s);
    s->cfg = *cfg;
    qk_model_config mc = qk_collapse_model_config(cfg, cfg->dff > 0 ? QK_COL_TRANSFORMER : QK_COL_SAN);
    st = qk_model_bind(&s->m, &mc, params, NULL, NULL, NULL, acts, scratch, NULL);
    if (st != QK_OK) return st;
    size_t off = sz.model.params;
    for (int i = 0; i < QK_CE_COUNT; i++) {
        s->emb[i] = params + off;
        off += sz.emb[i].size;
    }
    s->x = (float *)qk_model_hidden(&s->m, 0);
    s->att = (float *)qk_model_attention(&s->m, 0);
    s->scratch = scratch + sz.model.scratch_forward;
    s->last = QK_COL_NVARIANT;
    return QK_OK;
}

/* ------------------------------------------------------------------ helpers */

static qk_mat mat(float *p, int rows, int cols) { return qk_mat_view(p, rows, cols, cols); }
static float *at(float *base, int l, size_t per) { return base + (size_t)l * per; }

static void fill(float *p, size_t n, float v)
{
    for (size_t i = 0; i < n; i++) p[i] = v;
}

/* ------------------------------------------------------------------ initialisation */

qk_status qk_collapse_init(qk_collapse *s, uint64_t seed)
{
    if (!s || !s->m.w.p[0]) return QK_ERR_ARG;
    qk_collapse_sizes_t sz;
    qk_status st = qk_collapse_sizes(&s->cfg, &sz);
    if (st != QK_OK) return st;
    if ((st = qk_model_init(&s->m, seed)) != QK_OK) return st;
    for (int k = 0; k < 3; k++)
        qk_bert_fill(s->emb[k], sz.emb[k].size, s->cfg.init_std, seed, QK_BERT_SLOT_EMBED + k);
    fill(s->emb[QK_CE_LNE_G], sz.emb[QK_CE_LNE_G].size, 1.0f);
    fill(s->emb[QK_CE_LNE_B], sz.emb[QK_CE_LNE_B].size, 0.0f);
    return QK_OK;
}

qk_status qk_collapse_perturb_biases(qk_collapse *s, uint64_t seed, float std)
{
    if (!s || !s->m.w.p[0] || !(std >= 0.0f)) return QK_ERR_ARG;
    qk_collapse_sizes_t sz;
    qk_status st = qk_collapse_sizes(&s->cfg, &sz);
    if (st != QK_OK) return st;
    static const int vecs[] = {QK_P_BQ, QK_P_BK, QK_P_BV, QK_P_BO, QK_P_LN1_G, QK_P_LN1_B, QK_P_B1, QK_P_B2,
                               QK_P_LN2_G, QK_P_LN2_B, -QK_CE_LNE_G, -QK_CE_LNE_B};
    qk_rng r;
    qk_rng_seed(&r, seed);
    for (size_t i = 0; i < sizeof vecs / sizeof vecs[0]; i++) {
        int t = vecs[i], e = t < 0;
        int gain = e ? -t == QK_CE_LNE_G : t == QK_P_LN1_G || t == QK_P_LN2_G;
        float *p = e ? s->emb[-t] : s->m.w.p[t];
        size_t n = e ? sz.emb[-t].size : sz.model.t[t].size;
        for (size_t j = 0; j < n; j++) p[j] = (gain ? 1.0f : 0.0f) + (float)(std * qk_rng_normal(&r));
    }
    return QK_OK;
}

/* ------------------------------------------------------------------ forward */

static int all_finite(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!(x[i] - x[i] == 0.0f)) return 0;
    return 1;
}

qk_status qk_collapse_forward(qk_collapse *s, qk_col_variant v, const float *x0, double *res, double *nrm)
{
    if (!s || !s->x || !x0 || (unsigned)v >= QK_COL_NVARIANT) return QK_ERR_ARG;
    const qk_collapse_config *c = &s->cfg;
    if (qk_col_variant_has_ffn(v) && c->dff < 1) return QK_ERR_ARG;
    int n = c->n, d = c->d, L = c->L;
    size_t nd = (size_t)n * d;
    scr_t w;
    layout_scratch(c, s->scratch, &w);
    memcpy(w.in, x0, sizeof(float) * nd);
    fill(w.in + nd, (size_t)d, 0.0f); /* the walk model's target row: unused */
    s->m.cfg.variant = qk_col_variant_model(v);
    qk_status st = qk_model_forward(&s->m, NULL, w.in);
    if (st != QK_OK && st != QK_ERR_NONFINITE) return st;
    s->last = v;
    for (int l = 0; l <= L; l++)
        qk_collapse_norms(at(s->x, l, nd), n, d, w.norm, res ? res + l : NULL, nrm ? nrm + l : NULL);
    return all_finite(at(s->x, L, nd), nd) ? QK_OK : QK_ERR_NONFINITE;
}

/* ------------------------------------------------------------------ inputs */

void qk_collapse_gauss_input(qk_rng *r, float *x, int n, int d)
{
    if (!r || !x || n < 1 || d < 1) return;
    for (size_t i = 0; i < (size_t)n * d; i++) x[i] = (float)(1.0 * qk_rng_normal(r));
}

qk_status qk_collapse_embed(const qk_collapse *s, const int *tok, float *x)
{
    if (!s || !tok || !x || s->cfg.V < 1) return QK_ERR_ARG;
    const qk_collapse_config *c = &s->cfg;
    int n = c->n, d = c->d;
    scr_t w;
    layout_scratch(c, s->scratch, &w);
    for (int i = 0; i < n; i++)
        if (tok[i] < 0 || tok[i] >= c->V) return QK_ERR_ARG;
    for (int i = 0; i < n; i++) {
        const float *e = s->emb[QK_CE_WTE] + (size_t)tok[i] * d, *p = s->emb[QK_CE_WPE] + (size_t)i * d;
        float *t = w.t + (size_t)i * d;
        for (int j = 0; j < d; j++) t[j] = (e[j] + p[j]) + s->emb[QK_CE_WTT][j];
    }
    qk_mat Y = mat(x, n, d), X = mat(w.t, n, d);
    qk_layernorm_forward(&Y, w.mean, w.rstd, &X, s->emb[QK_CE_LNE_G], s->emb[QK_CE_LNE_B], c->ln_eps);
    return QK_OK;
}

/* ------------------------------------------------------------------ metrics */

/* max of v (n >= 1); NaN if any element is NaN. */
static float max_or_nan(const float *v, int n)
{
    float m = v[0];
    for (int i = 0; i < n; i++) {
        if (v[i] != v[i]) return v[i];
        if (v[i] > m) m = v[i];
    }
    return m;
}

/* ‖a‖_1 (largest column sum of |a|) and ‖a‖_∞ (largest row sum) of a (rows, cols) with
 * row stride ld, minus the row vector sub (cols) when sub != NULL. scratch: 2·cols. */
static double composite(const float *a, int rows, int cols, size_t ld, const float *sub, float *scratch)
{
    float *col = scratch, *row = scratch + cols;
    float rmax = 0.0f;
    int rnan = 0;
    fill(col, (size_t)cols, 0.0f);
    for (int i = 0; i < rows; i++) {
        const float *ai = a + (size_t)i * ld;
        for (int j = 0; j < cols; j++) {
            float e = sub ? ai[j] - sub[j] : ai[j];
            row[j] = fabsf(e);
            col[j] = col[j] + row[j];
        }
        float rs = qk_sum(row, cols);
        if (rs != rs) rnan = 1;
        if (i == 0 || rs > rmax) rmax = rs;
    }
    float cmax = max_or_nan(col, cols);
    if (rnan || cmax != cmax) return cmax != cmax ? (double)cmax : (double)NAN;
    return sqrt((double)cmax * (double)rmax);
}

void qk_collapse_norms(const float *x, int n, int d, float *scratch, double *res, double *nrm)
{
    if (!x || !scratch || n < 1 || d < 1) return;
    if (nrm) *nrm = composite(x, n, d, (size_t)d, NULL, scratch);
    if (res) {
        float *mean = scratch + 2 * (size_t)d;
        for (int j = 0; j < d; j++) { /* in double: the mean of equal values is that value */
            double m = 0.0;
            for (int i = 0; i < n; i++) m += (double)x[(size_t)i * d + j];
            mean[j] = (float)(m / (double)n);
        }
        *res = composite(x, n, d, (size_t)d, mean, scratch);
    }
}

size_t qk_collapse_spectrum_work_len(int n, int d)
{
    if (n < 1 || d < 1) return 0;
    int k = n < d ? n : d;
    return (size_t)n * d + (size_t)k + qk_svd_work_len(n, d, 0);
}

qk_status qk_collapse_spectrum(const float *x, int n, int d, int centered, double *work, size_t work_len,
                               qk_col_spectrum *out)
{
    if (!x || !work || !out || n < 1 || d < 1) return QK_ERR_ARG;
    size_t need = qk_collapse_spectrum_work_len(n, d);
    if (work_len < need) return QK_ERR_CAPACITY;
    int k = n < d ? n : d;
    double *a = work, *sv = a + (size_t)n * d, *w = sv + k;
    for (size_t i = 0; i < (size_t)n * d; i++) a[i] = x[i];
    if (centered)
        for (int j = 0; j < d; j++) {
            double m = 0.0;
            for (int i = 0; i < n; i++) m += a[(size_t)i * d + j];
            m /= n;
            for (int i = 0; i < n; i++) a[(size_t)i * d + j] -= m;
        }
    qk_status st = qk_svd(n, d, a, d, sv, NULL, 0, NULL, 0, w, work_len - (size_t)n * d - (size_t)k, NULL, NULL);
    if (st != QK_OK) return st;
    memset(out, 0, sizeof *out);
    out->sigma_max = sv[0];
    out->stable_rank = qk_stable_rank(sv, k);
    out->numerical_rank = qk_numerical_rank(sv, k, n, d, (double)(n > d ? n : d) * 0x1p-24);
    if (sv[0] > 0.0) {
        double tail = 0.0, all = 1.0;
        for (int i = 1; i < k; i++) {
            double r = sv[i] / sv[0];
            tail += r * r;
        }
        all += tail;
        out->rank1_dist = sqrt(tail / all);
    }
    return QK_OK;
}

/* ------------------------------------------------------------------ the bound */

size_t qk_collapse_head_norms_scratch(int d) { return d < 1 ? 0 : (size_t)d * d + 3 * (size_t)d; }

/* ‖a‖_1 and ‖a‖_∞ of a (d, d) separately: col max and row max of |a|. */
static void norms_1_inf(const float *a, int d, float *scratch, double *n1, double *ninf)
{
    float *col = scratch, *row = scratch + d;
    fill(col, (size_t)d, 0.0f);
    float rmax = 0.0f;
    int nan = 0;
    for (int i = 0; i < d; i++) {
        for (int j = 0; j < d; j++) {
            row[j] = fabsf(a[(size_t)i * d + j]);
            col[j] = col[j] + row[j];
        }
        float rs = qk_sum(row, d);
        if (rs != rs) nan = 1;
        if (i == 0 || rs > rmax) rmax = rs;
    }
    *n1 = max_or_nan(col, d);
    *ninf = nan ? (double)NAN : (double)rmax;
}

qk_status qk_collapse_head_norms(const qk_model *m, int layer, int head, float *scratch, double *wqk_1,
                                 double *wvo_1inf)
{
    if (!m || !scratch || !m->w.p[0]) return QK_ERR_ARG;
    const qk_model_config *c = &m->cfg;
    if (layer < 0 || layer >= c->L || head < 0 || head >= c->H) return QK_ERR_ARG;
    int d = c->d, dh = d / c->H;
    size_t dd = (size_t)d * d, off = (size_t)head * dh * d;
    float *M = scratch, *ns = scratch + dd;
    qk_mat C = mat(M, d, d);
    double n1, ninf;
    if (wqk_1) { /* W_QK = W_Q,hᵀ W_K,h: (dh, d)ᵀ (dh, d) */
        qk_mat A = qk_mat_view(at(m->w.p[QK_P_WQ], layer, dd) + off, dh, d, d);
        qk_mat B = qk_mat_view(at(m->w.p[QK_P_WK], layer, dd) + off, dh, d, d);
        qk_matmul(&C, &A, &B, QK_TRANS_A);
        norms_1_inf(M, d, ns, &n1, &ninf);
        *wqk_1 = n1;
    }
    if (wvo_1inf) { /* W_VO = W_V,hᵀ W_O[:, h]ᵀ: (dh, d)ᵀ (d, dh)ᵀ */
        qk_mat A = qk_mat_view(at(m->w.p[QK_P_WV], layer, dd) + off, dh, d, d);
        qk_mat B = qk_mat_view(at(m->w.p[QK_P_WO], layer, dd) + (size_t)head * dh, d, dh, d);
        qk_matmul(&C, &A, &B, QK_TRANS_A | QK_TRANS_B);
        norms_1_inf(M, d, ns, &n1, &ninf);
        *wvo_1inf = sqrt(n1 * ninf);
    }
    return QK_OK;
}

qk_status qk_collapse_bound(const qk_model *m, double gamma, float *scratch, qk_col_bound *b,
                            double *beta_layer)
{
    if (!m || !scratch || !b || !(gamma > 0.0)) return QK_ERR_ARG;
    const qk_model_config *c = &m->cfg;
    double beta = 0.0;
    for (int l = 0; l < c->L; l++) {
        double bl = 0.0;
        for (int h = 0; h < c->H; h++) {
            double q1, v1;
            qk_status st = qk_collapse_head_norms(m, l, h, scratch, &q1, &v1);
            if (st != QK_OK) return st;
            double bh = q1 * v1;
            if (bh != bh) return QK_ERR_NONFINITE;
            if (bh > bl) bl = bh;
        }
        if (beta_layer) beta_layer[l] = bl;
        if (bl > beta) beta = bl;
    }
    b->beta = beta;
    b->gamma = gamma;
    b->c = 4.0 * gamma * beta * (double)c->H / sqrt((double)(c->d / c->H));
    return QK_OK;
}

double qk_collapse_bound_log10(const qk_col_bound *b, int l, double log10_res0)
{
    if (!b || l < 0) return NAN;
    double ln10 = qk_log(10.0), p = 1.0;
    for (int i = 0; i < l; i++) p *= 3.0;
    double lc = b->c > 0.0 ? qk_log(b->c) / ln10 : -INFINITY;
    if (l == 0) return log10_res0;
    return 0.5 * (p - 1.0) * lc + p * log10_res0;
}

/* ------------------------------------------------------------------ paths */

#define MAX_PATHS (1L << 20)

size_t qk_collapse_paths_scratch(const qk_collapse_config *c)
{
    if (!c || c->L < 1 || c->n < 1 || c->d < 1 || c->H < 1) return 0;
    size_t n = (size_t)c->n, d = (size_t)c->d, dh = d / (size_t)c->H, L = (size_t)c->L;
    /* prefixes Y_0..Y_L (n, d), P·Y (n, d), (n, dh), bias rows β, b, tmp (d), (dh) */
    return (L + 1) * n * d + n * d + n * dh + 3 * d + dh;
}

typedef struct {
    const qk_collapse *s;
    float *Y, *PY, *T;   /* (L+1, n, d), (n, d), (n, dh) */
    double *out;
    int skip, choices;
} path_ctx;

/* out (rows, d) (+)= y · W_VO,h of layer l: y W_V,hᵀ (rows, dh), then · W_O[:, h]ᵀ */
static void apply_wvo(const qk_collapse *s, int l, int h, const float *y, int rows, float *t, float *out, int acc)
{
    const qk_collapse_config *c = &s->cfg;
    int d = c->d, dh = d / c->H;
    size_t dd = (size_t)d * d;
    qk_mat Ym = mat((float *)y, rows, d), Tm = mat(t, rows, dh), Om = mat(out, rows, d);
    qk_mat Wv = qk_mat_view(at(s->m.w.p[QK_P_WV], l, dd) + (size_t)h * dh * d, dh, d, d);
    qk_mat Wo = qk_mat_view(at(s->m.w.p[QK_P_WO], l, dd) + (size_t)h * dh, d, dh, d);
    qk_matmul(&Tm, &Ym, &Wv, QK_TRANS_B);
    qk_matmul(&Om, &Tm, &Wo, QK_TRANS_B | (acc ? QK_ACCUMULATE : 0));
}

/* Depth-first over the choices of layer l, prefix term in Y[l]. */
static void paths_rec(path_ctx *p, int l)
{
    const qk_collapse_config *c = &p->s->cfg;
    int n = c->n, d = c->d, L = c->L;
    size_t nd = (size_t)n * d;
    const float *y = p->Y + (size_t)l * nd;
    if (l == L) {
        for (size_t i = 0; i < nd; i++) p->out[i] += (double)y[i];
        return;
    }
    float *yn = p->Y + (size_t)(l + 1) * nd;
    for (int ch = 0; ch < p->choices; ch++) {
        if (p->skip && ch == 0) {
            memcpy(yn, y, sizeof(float) * nd);
        } else {
            int h = ch - p->skip;
            qk_mat P = mat(p->s->att + ((size_t)l * c->H + h) * n * n, n, n), Ym = mat((float *)y, n, d);
            qk_mat PY = mat(p->PY, n, d);
            qk_matmul(&PY, &P, &Ym, 0);
            apply_wvo(p->s, l, h, p->PY, n, p->T, yn, 0);
        }
        paths_rec(p, l + 1);
    }
}

qk_status qk_collapse_paths(const qk_collapse *s, float *scratch, double *out, long *npaths)
{
    if (!s || !scratch || !out || !s->x) return QK_ERR_ARG;
    if (s->last != QK_COL_PURE && s->last != QK_COL_PURE_SKIP) return QK_ERR_ARG;
    const qk_collapse_config *c = &s->cfg;
    int n = c->n, d = c->d, L = c->L, H = c->H, dh = d / H, skip = s->last == QK_COL_PURE_SKIP;
    long count = 1;
    for (int l = 0; l < L; l++) {
        count *= H + skip;
        if (count > MAX_PATHS) return QK_ERR_CAPACITY;
    }
    size_t nd = (size_t)n * d;
    path_ctx p = {s, scratch, scratch + (size_t)(L + 1) * nd, scratch + (size_t)(L + 2) * nd, out, skip, H + skip};
    float *beta = p.T + (size_t)n * dh, *bl = beta + d, *tmp = bl + d, *th = tmp + d;
    memcpy(p.Y, s->x, sizeof(float) * nd);
    for (size_t i = 0; i < nd; i++) out[i] = 0.0;
    paths_rec(&p, 0);
    /* biases: β_{l+1}ᵀ = β_lᵀ([I +] Σ_h W_VO,h) + b_lᵀ, b_lᵀ = b_Oᵀ + Σ_h b_V,hᵀ W_O[:, h]ᵀ */
    fill(beta, (size_t)d, 0.0f);
    for (int l = 0; l < L; l++) {
        memcpy(bl, at(s->m.w.p[QK_P_BO], l, d), sizeof(float) * d);
        const float *bv = at(s->m.w.p[QK_P_BV], l, d);
        for (int h = 0; h < H; h++) {
            qk_mat Bv = mat((float *)bv + (size_t)h * dh, 1, dh), Bl = mat(bl, 1, d);
            qk_mat Wo = qk_mat_view(at(s->m.w.p[QK_P_WO], l, (size_t)d * d) + (size_t)h * dh, d, dh, d);
            qk_matmul(&Bl, &Bv, &Wo, QK_TRANS_B | QK_ACCUMULATE);
        }
        if (skip) memcpy(tmp, beta, sizeof(float) * d);
        else fill(tmp, (size_t)d, 0.0f);
        for (int h = 0; h < H; h++) apply_wvo(s, l, h, beta, 1, th, tmp, 1);
        for (int j = 0; j < d; j++) beta[j] = tmp[j] + bl[j];
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) out[(size_t)i * d + j] += (double)beta[j];
    if (npaths) *npaths = count;
    return QK_OK;
}

qk_status qk_path_length_shares(int L, int H, double *shares, double *mean_length)
{
    if (L < 1 || H < 1 || L > 100000 || !shares) return QK_ERR_ARG;
    double lh = qk_log((double)H), lz = (double)L * qk_log(1.0 + (double)H), lc = 0.0;
    for (int k = 0; k <= L; k++) {
        if (k > 0) lc += qk_log((double)(L - k + 1)) - qk_log((double)k);
        shares[k] = qk_exp(lc + (double)k * lh - lz);
    }
    if (mean_length) *mean_length = (double)L * (double)H / (1.0 + (double)H);
    return QK_OK;
}
