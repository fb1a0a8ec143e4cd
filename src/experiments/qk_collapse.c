/* qk_collapse.c — rank collapse in deep attention (SPEC §1.4): the stack, its
 * metrics, the bound and the path decomposition.
 *
 * One X_forward function per operation (llm.c style). Every product goes through
 * qk_matmul, row reductions through qk_sum / qk_layernorm_forward /
 * qk_softmax_forward, and column sums are explicit loops over rows in increasing
 * order, so every result inherits the bit contract of SPEC §2.
 * Shapes: n tokens, d width, H heads of dh = d/H, F = dff, L layers. */
#include "qk_fp.h"
#include <math.h> /* sqrt, sqrtf, fabs: IEEE-exact */
#include <string.h>
#include "qk_collapse.h"
#include "qk_eigen.h"

/* ------------------------------------------------------------------ variants */

static const char *const variant_names[QK_COL_NVARIANT] = {"san", "san+mlp", "san+skip", "transformer", "pure",
                                                            "pure+skip"};

const char *qk_col_variant_name(qk_col_variant v)
{
    return (unsigned)v < QK_COL_NVARIANT ? variant_names[v] : NULL;
}

qk_status qk_col_variant_parse(const char *name, qk_col_variant *v)
{
    if (!name || !v) return QK_ERR_ARG;
    for (int i = 0; i < QK_COL_NVARIANT; i++)
        if (!strcmp(name, variant_names[i])) {
            *v = (qk_col_variant)i;
            return QK_OK;
        }
    return QK_ERR_ARG;
}

int qk_col_variant_has_ffn(qk_col_variant v) { return v == QK_COL_SAN_MLP || v == QK_COL_TRANSFORMER; }
int qk_col_variant_has_skip(qk_col_variant v)
{
    return v == QK_COL_SAN_SKIP || v == QK_COL_TRANSFORMER || v == QK_COL_PURE_SKIP;
}
int qk_col_variant_has_ln(qk_col_variant v) { return v != QK_COL_PURE && v != QK_COL_PURE_SKIP; }

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

/* ------------------------------------------------------------------ layout */

typedef struct { /* views of the scratch buffer */
    float *q, *k, *v, *o; /* (n, d)           */
    float *sa, *t, *y;    /* (n, d)           */
    float *h;             /* (n, F)           */
    float *mean, *rstd;   /* (n)              */
    float *norm;          /* (3 d)            */
} scr_t;

typedef struct { float *base; size_t used; } carver;
static float *carve(carver *c, size_t n)
{
    float *p = c->base ? c->base + c->used : NULL;
    c->used += n;
    return p;
}

static size_t layout_scratch(const qk_collapse_config *c, float *base, scr_t *s)
{
    carver cv = {base, 0};
    size_t n = (size_t)c->n, d = (size_t)c->d, F = (size_t)c->dff;
    s->q = carve(&cv, n * d);
    s->k = carve(&cv, n * d);
    s->v = carve(&cv, n * d);
    s->o = carve(&cv, n * d);
    s->sa = carve(&cv, n * d);
    s->t = carve(&cv, n * d);
    s->y = carve(&cv, n * d);
    s->h = carve(&cv, n * F);
    s->mean = carve(&cv, n);
    s->rstd = carve(&cv, n);
    s->norm = carve(&cv, 3 * d);
    return cv.used;
}

static void tensor_info(const qk_collapse_config *c, qk_col_tensor_info *t)
{
    static const char *names[QK_CP_COUNT] = {"wq", "bq", "wk", "bk", "wv", "bv", "wo", "bo", "ln1_g", "ln1_b",
                                             "w1", "b1", "w2", "b2", "ln2_g", "ln2_b", "wte", "wpe", "wtt",
                                             "lne_g", "lne_b"};
    int L = c->L, d = c->d, F = c->dff, V = c->V, n = c->n, e = V > 0;
    int shapes[QK_CP_COUNT][4] = {
        {3, L, d, d}, {2, L, d, 0}, {3, L, d, d}, {2, L, d, 0}, {3, L, d, d}, {2, L, d, 0}, {3, L, d, d},
        {2, L, d, 0}, {2, L, d, 0}, {2, L, d, 0}, {3, L, F, d}, {2, L, F, 0}, {3, L, F ? d : 0, F},
        {2, L, F ? d : 0, 0}, {2, L, F ? d : 0, 0}, {2, L, F ? d : 0, 0}, {2, V, d, 0}, {2, e ? n : 0, d, 0},
        {1, e ? d : 0, 0, 0}, {1, e ? d : 0, 0, 0}, {1, e ? d : 0, 0, 0}};
    for (int i = 0; i < QK_CP_COUNT; i++) {
        t[i].name = names[i];
        t[i].ndim = shapes[i][0];
        t[i].size = 1;
        for (int k = 0; k < 3; k++) {
            t[i].dims[k] = k < t[i].ndim ? shapes[i][k + 1] : 0;
            if (k < t[i].ndim) t[i].size *= (size_t)t[i].dims[k];
        }
    }
}

qk_status qk_collapse_sizes(const qk_collapse_config *c, qk_collapse_sizes_t *sz)
{
    if (!c || !sz) return QK_ERR_ARG;
    if (c->n < 1 || c->d < 1 || c->H < 1 || c->L < 1 || c->dff < 0 || c->V < 0 || c->d % c->H) return QK_ERR_ARG;
    if (!(c->ln_eps > 0.0f) || !(c->init_std >= 0.0) || !(c->init_std <= 1e6)) return QK_ERR_ARG;
    if (c->n > QK_COL_MAX_N || c->d > QK_COL_MAX_D || c->L > QK_COL_MAX_L || c->dff > 4 * QK_COL_MAX_D ||
        c->V > QK_COL_MAX_V)
        return QK_ERR_CAPACITY;
    memset(sz, 0, sizeof *sz);
    tensor_info(c, sz->t);
    for (int i = 0; i < QK_CP_COUNT; i++) sz->params += sz->t[i].size;
    size_t L = (size_t)c->L, n = (size_t)c->n, d = (size_t)c->d, H = (size_t)c->H;
    sz->acts = (L + 1) * n * d + L * H * n * n;
    scr_t s;
    sz->scratch = layout_scratch(c, NULL, &s);
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
    size_t off = 0;
    for (int i = 0; i < QK_CP_COUNT; i++) {
        s->p[i] = params + off;
        off += sz.t[i].size;
    }
    s->x = acts;
    s->att = acts + (size_t)(cfg->L + 1) * cfg->n * cfg->d;
    s->scratch = scratch;
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

static void fill_normal(float *p, size_t n, double std, qk_rng *r)
{
    for (size_t i = 0; i < n; i++) p[i] = (float)(std * qk_rng_normal(r));
}

/* ------------------------------------------------------------------ initialisation */

#define SLOT_EMBED 65536 /* first embedding slot; layer slots are 8 l + k */

/* Fills the tensor of one slot from its own generator; the sub-seeds are the master
 * generator's outputs in slot order. */
static void fill_slot(float *p, size_t n, double std, uint64_t seed, int slot)
{
    qk_rng master, r;
    qk_rng_seed(&master, seed);
    uint64_t sub = 0;
    for (int i = 0; i <= slot; i++) sub = qk_rng_u64(&master);
    qk_rng_seed(&r, sub);
    fill_normal(p, n, std, &r);
}

qk_status qk_collapse_init(qk_collapse *s, uint64_t seed)
{
    if (!s || !s->p[0]) return QK_ERR_ARG;
    const qk_collapse_config *c = &s->cfg;
    qk_collapse_sizes_t sz;
    qk_status st = qk_collapse_sizes(c, &sz);
    if (st != QK_OK) return st;
    static const int wslot[6][2] = {{QK_CP_WQ, 0}, {QK_CP_WK, 1}, {QK_CP_WV, 2},
                                    {QK_CP_WO, 3}, {QK_CP_W1, 4}, {QK_CP_W2, 5}};
    static const int ones[] = {QK_CP_LN1_G, QK_CP_LN2_G, QK_CP_LNE_G};
    static const int zeros[] = {QK_CP_BQ, QK_CP_BK, QK_CP_BV, QK_CP_BO, QK_CP_LN1_B, QK_CP_B1,
                                QK_CP_B2, QK_CP_LN2_B, QK_CP_LNE_B};
    for (int l = 0; l < c->L; l++)
        for (int k = 0; k < 6; k++) {
            int t = wslot[k][0];
            size_t per = sz.t[t].size / (size_t)c->L;
            if (per) fill_slot(at(s->p[t], l, per), per, c->init_std, seed, 8 * l + wslot[k][1]);
        }
    for (int k = 0; k < 3; k++) {
        int t = QK_CP_WTE + k;
        if (sz.t[t].size) fill_slot(s->p[t], sz.t[t].size, c->init_std, seed, SLOT_EMBED + k);
    }
    for (size_t i = 0; i < sizeof ones / sizeof ones[0]; i++) fill(s->p[ones[i]], sz.t[ones[i]].size, 1.0f);
    for (size_t i = 0; i < sizeof zeros / sizeof zeros[0]; i++) fill(s->p[zeros[i]], sz.t[zeros[i]].size, 0.0f);
    return QK_OK;
}

qk_status qk_collapse_perturb_biases(qk_collapse *s, uint64_t seed, float std)
{
    if (!s || !s->p[0] || !(std >= 0.0f)) return QK_ERR_ARG;
    qk_collapse_sizes_t sz;
    qk_status st = qk_collapse_sizes(&s->cfg, &sz);
    if (st != QK_OK) return st;
    static const int vecs[] = {QK_CP_BQ, QK_CP_BK, QK_CP_BV, QK_CP_BO, QK_CP_LN1_G, QK_CP_LN1_B, QK_CP_B1,
                               QK_CP_B2, QK_CP_LN2_G, QK_CP_LN2_B, QK_CP_LNE_G, QK_CP_LNE_B};
    qk_rng r;
    qk_rng_seed(&r, seed);
    for (size_t i = 0; i < sizeof vecs / sizeof vecs[0]; i++) {
        int t = vecs[i], gain = t == QK_CP_LN1_G || t == QK_CP_LN2_G || t == QK_CP_LNE_G;
        float *p = s->p[t];
        for (size_t j = 0; j < sz.t[t].size; j++) p[j] = (gain ? 1.0f : 0.0f) + (float)(std * qk_rng_normal(&r));
    }
    return QK_OK;
}

/* ------------------------------------------------------------------ operations */

/* y (n, out) = x (n, in) Wᵀ + b: each y_ij is one fma chain starting from b_j. */
static void linear_forward(float *y, const float *x, const float *W, const float *b, int n, int in, int out)
{
    for (int i = 0; i < n; i++) memcpy(y + (size_t)i * out, b, sizeof(float) * (size_t)out);
    qk_mat Y = mat(y, n, out), X = mat((float *)x, n, in), Wm = mat((float *)W, out, in);
    qk_matmul(&Y, &X, &Wm, QK_TRANS_B | QK_ACCUMULATE);
}

/* Per head h: P_h = softmax(Q_h K_hᵀ · (1/sqrt(dh))) into att (H, n, n), o_h = P_h V_h. */
static void attention_forward(float *o, float *att, const float *q, const float *k, const float *v, int n, int d,
                              int H)
{
    int dh = d / H;
    float scale = 1.0f / sqrtf((float)dh);
    for (int h = 0; h < H; h++) {
        size_t off = (size_t)h * dh;
        qk_mat Q = qk_mat_view((float *)q + off, n, dh, d), K = qk_mat_view((float *)k + off, n, dh, d);
        qk_mat Vm = qk_mat_view((float *)v + off, n, dh, d), O = qk_mat_view(o + off, n, dh, d);
        float *P = att + (size_t)h * n * n;
        qk_mat S = mat(P, n, n);
        qk_matmul(&S, &Q, &K, QK_TRANS_B);
        for (size_t i = 0; i < (size_t)n * n; i++) P[i] = P[i] * scale;
        qk_softmax_forward(&S, &S, 0);
        qk_matmul(&O, &S, &Vm, 0);
    }
}

/* sa (n, d) = SA(x) of layer l; attention matrices into att (H, n, n). */
static void sa_forward(qk_collapse *s, scr_t *w, int l, const float *x, float *sa, float *att)
{
    const qk_collapse_config *c = &s->cfg;
    int n = c->n, d = c->d;
    size_t dd = (size_t)d * d;
    linear_forward(w->q, x, at(s->p[QK_CP_WQ], l, dd), at(s->p[QK_CP_BQ], l, d), n, d, d);
    linear_forward(w->k, x, at(s->p[QK_CP_WK], l, dd), at(s->p[QK_CP_BK], l, d), n, d, d);
    linear_forward(w->v, x, at(s->p[QK_CP_WV], l, dd), at(s->p[QK_CP_BV], l, d), n, d, d);
    attention_forward(w->o, att, w->q, w->k, w->v, n, d, c->H);
    linear_forward(sa, w->o, at(s->p[QK_CP_WO], l, dd), at(s->p[QK_CP_BO], l, d), n, d, d);
}

/* f (n, d) = gelu(x W1ᵀ + b1) W2ᵀ + b2 of layer l. */
static void ffn_forward(qk_collapse *s, scr_t *w, int l, const float *x, float *f)
{
    const qk_collapse_config *c = &s->cfg;
    int n = c->n, d = c->d, F = c->dff;
    size_t dF = (size_t)d * F;
    linear_forward(w->h, x, at(s->p[QK_CP_W1], l, dF), at(s->p[QK_CP_B1], l, F), n, d, F);
    for (size_t i = 0; i < (size_t)n * F; i++) w->h[i] = qk_gelu_erff(w->h[i]);
    linear_forward(f, w->h, at(s->p[QK_CP_W2], l, dF), at(s->p[QK_CP_B2], l, d), n, F, d);
}

static void add(float *y, const float *a, const float *b, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = a[i] + b[i];
}

/* y = LN(x) with gamma/beta (n, d); y must not alias x. */
static void layernorm(float *y, const float *x, const float *g, const float *b, scr_t *w, int n, int d, float eps)
{
    qk_mat Y = mat(y, n, d), X = mat((float *)x, n, d);
    qk_layernorm_forward(&Y, w->mean, w->rstd, &X, g, b, eps);
}

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
    int n = c->n, d = c->d, L = c->L, H = c->H;
    size_t nd = (size_t)n * d, att_per = (size_t)H * n * n;
    scr_t w;
    layout_scratch(c, s->scratch, &w);
    memcpy(s->x, x0, sizeof(float) * nd);
    for (int l = 0; l < L; l++) {
        const float *x = at(s->x, l, nd);
        float *xn = at(s->x, l + 1, nd);
        const float *g1 = at(s->p[QK_CP_LN1_G], l, d), *b1 = at(s->p[QK_CP_LN1_B], l, d);
        sa_forward(s, &w, l, x, w.sa, at(s->att, l, att_per));
        switch (v) {
        case QK_COL_PURE: memcpy(xn, w.sa, sizeof(float) * nd); break;
        case QK_COL_PURE_SKIP: add(xn, x, w.sa, nd); break;
        case QK_COL_SAN: layernorm(xn, w.sa, g1, b1, &w, n, d, c->ln_eps); break;
        case QK_COL_SAN_SKIP:
            add(w.t, x, w.sa, nd);
            layernorm(xn, w.t, g1, b1, &w, n, d, c->ln_eps);
            break;
        case QK_COL_SAN_MLP:
        case QK_COL_TRANSFORMER:
            if (v == QK_COL_TRANSFORMER) {
                add(w.t, x, w.sa, nd);
                layernorm(w.y, w.t, g1, b1, &w, n, d, c->ln_eps);
            } else {
                layernorm(w.y, w.sa, g1, b1, &w, n, d, c->ln_eps);
            }
            ffn_forward(s, &w, l, w.y, w.sa);
            add(w.t, w.y, w.sa, nd);
            layernorm(xn, w.t, at(s->p[QK_CP_LN2_G], l, d), at(s->p[QK_CP_LN2_B], l, d), &w, n, d, c->ln_eps);
            break;
        default: return QK_ERR_ARG;
        }
    }
    s->last = v;
    for (int l = 0; l <= L; l++)
        qk_collapse_norms(at(s->x, l, nd), n, d, w.norm, res ? res + l : NULL, nrm ? nrm + l : NULL);
    return all_finite(at(s->x, L, nd), nd) ? QK_OK : QK_ERR_NONFINITE;
}

/* ------------------------------------------------------------------ inputs */

void qk_collapse_gauss_input(qk_rng *r, float *x, int n, int d)
{
    if (!r || !x || n < 1 || d < 1) return;
    fill_normal(x, (size_t)n * d, 1.0, r);
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
        const float *e = s->p[QK_CP_WTE] + (size_t)tok[i] * d, *p = s->p[QK_CP_WPE] + (size_t)i * d;
        float *t = w.t + (size_t)i * d;
        for (int j = 0; j < d; j++) t[j] = (e[j] + p[j]) + s->p[QK_CP_WTT][j];
    }
    layernorm(x, w.t, s->p[QK_CP_LNE_G], s->p[QK_CP_LNE_B], &w, n, d, c->ln_eps);
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

qk_status qk_collapse_head_norms(const qk_collapse *s, int layer, int head, float *scratch, double *wqk_1,
                                 double *wvo_1inf)
{
    if (!s || !scratch || !s->p[0]) return QK_ERR_ARG;
    const qk_collapse_config *c = &s->cfg;
    if (layer < 0 || layer >= c->L || head < 0 || head >= c->H) return QK_ERR_ARG;
    int d = c->d, dh = d / c->H;
    size_t dd = (size_t)d * d, off = (size_t)head * dh * d;
    float *M = scratch, *ns = scratch + dd;
    qk_mat C = mat(M, d, d);
    double n1, ninf;
    if (wqk_1) { /* W_QK = W_Q,hᵀ W_K,h: (dh, d)ᵀ (dh, d) */
        qk_mat A = qk_mat_view(at(s->p[QK_CP_WQ], layer, dd) + off, dh, d, d);
        qk_mat B = qk_mat_view(at(s->p[QK_CP_WK], layer, dd) + off, dh, d, d);
        qk_matmul(&C, &A, &B, QK_TRANS_A);
        norms_1_inf(M, d, ns, &n1, &ninf);
        *wqk_1 = n1;
    }
    if (wvo_1inf) { /* W_VO = W_V,hᵀ W_O[:, h]ᵀ: (dh, d)ᵀ (d, dh)ᵀ */
        qk_mat A = qk_mat_view(at(s->p[QK_CP_WV], layer, dd) + off, dh, d, d);
        qk_mat B = qk_mat_view(at(s->p[QK_CP_WO], layer, dd) + (size_t)head * dh, d, dh, d);
        qk_matmul(&C, &A, &B, QK_TRANS_A | QK_TRANS_B);
        norms_1_inf(M, d, ns, &n1, &ninf);
        *wvo_1inf = sqrt(n1 * ninf);
    }
    return QK_OK;
}

qk_status qk_collapse_bound(const qk_collapse *s, double gamma, float *scratch, qk_col_bound *b,
                            double *beta_layer)
{
    if (!s || !scratch || !b || !(gamma > 0.0)) return QK_ERR_ARG;
    const qk_collapse_config *c = &s->cfg;
    double beta = 0.0;
    for (int l = 0; l < c->L; l++) {
        double bl = 0.0;
        for (int h = 0; h < c->H; h++) {
            double q1, v1;
            qk_status st = qk_collapse_head_norms(s, l, h, scratch, &q1, &v1);
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
    qk_mat Wv = qk_mat_view(at(s->p[QK_CP_WV], l, dd) + (size_t)h * dh * d, dh, d, d);
    qk_mat Wo = qk_mat_view(at(s->p[QK_CP_WO], l, dd) + (size_t)h * dh, d, dh, d);
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
        memcpy(bl, at(s->p[QK_CP_BO], l, d), sizeof(float) * d);
        const float *bv = at(s->p[QK_CP_BV], l, d);
        for (int h = 0; h < H; h++) {
            qk_mat Bv = mat((float *)bv + (size_t)h * dh, 1, dh), Bl = mat(bl, 1, d);
            qk_mat Wo = qk_mat_view(at(s->p[QK_CP_WO], l, (size_t)d * d) + (size_t)h * dh, d, dh, d);
            qk_matmul(&Bl, &Bv, &Wo, QK_TRANS_B | QK_ACCUMULATE);
        }
        if (skip) memcpy(tmp, beta, sizeof(float) * d);
        else fill(tmp, (size_t)d, 0.0f);
        for (int h = 0; h < H; h++) apply_wvo(s, l, h, beta, 1, th, tmp, 1);
        add(beta, tmp, bl, (size_t)d);
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
