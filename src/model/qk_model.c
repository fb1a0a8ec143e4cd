/* qk_model.c — the transformer of SPEC §1.2, forward and hand-written backward; its
 * layer (attention and FFN sub-layers, the variants of SPEC §1.4) also runs the
 * rank-collapse stack (qk_collapse.c).
 *
 * One X_forward / X_backward pair per operation (llm.c style); backward functions
 * accumulate into gradient buffers. Every product goes through qk_matmul and every
 * reduction through qk_sum/qk_dot, so the whole model inherits the bit contract of
 * SPEC §2. Shapes: N = B·T rows, d width, F = d_ff, dh = d/H. */
#include "qk_fp.h"
#include <math.h> /* sqrtf, sqrt: IEEE-exact */
#include <string.h>
#include "qk_model.h"

/* ------------------------------------------------------------------ layout */

typedef struct { /* views of m->acts */
    float *pos;                       /* (T, d)                      */
    float *res;                       /* (L+1, N, d) residual stream */
    float *ln1, *ln1_mean, *ln1_rstd; /* (L, N, d), (L, N), (L, N)   */
    float *q, *k, *v;                 /* (L, N, d)                   */
    float *att;                       /* (L, B, H, T, T) softmax     */
    float *last;                      /* (L, B, H, T) last-query logits / λ */
    float *o;                         /* (L, N, d) heads concatenated */
    float *r1, *x1, *x1_mean, *x1_rstd; /* (L, N, d) x2, (L, N) x2   */
    float *ln2, *ln2_mean, *ln2_rstd; /* (L, N, d), (L, N), (L, N)   */
    float *h1, *h1r;                  /* (L, N, F) pre / post ReLU   */
    float *r2, *x2_mean, *x2_rstd;    /* (L, N, d), (L, N), (L, N)   */
    float *lnf, *lnf_mean, *lnf_rstd; /* (N, d), (N), (N)            */
    float *out;                       /* LM: logits (N, V); WALK: predictions (B, d) */
    float *lse, *losses;              /* (N), (max(N, B d))          */
    float *tok;                       /* (B, T+1) token ids as floats (LM) */
    float *target;                    /* (B, d) next walk step (WALK) */
    float *row;                       /* (max(V, T)) scratch row     */
    float *sr_w;                      /* (L, 6, maxlin) effective weights */
    float *sr_sigma;                  /* (L, 6)                      */
    float *drop;                      /* (1 + 2L, N, d) dropout multipliers (dropout > 0) */
} acts_t;

typedef struct { /* views of m->scratch */
    float *dres, *dx1, *dln, *dq, *dk, *dv, *dob; /* (N, d)          */
    float *dh1;                                    /* (N, F)          */
    float *dP, *dS;                                /* (T, T)          */
    float *dout;                                   /* (N, V) or (B, d) */
    float *lnscr;                                  /* (2 max(d, F))   */
    float *G;                                      /* (6, maxlin) dL/dW_used */
    float *mq, *mk, *tmp;                          /* (dh, dh) ×2, (dh, d) LocAteR */
} scr_t;

typedef struct { float *u, *v; } state_t; /* (L, 6, maxdim) each */

static int lin_out(const qk_model_config *c, int lin) { return lin == QK_LIN_1 ? c->dff : c->d; }
static int lin_in(const qk_model_config *c, int lin) { return lin == QK_LIN_2 ? c->dff : c->d; }
static size_t maxlin(const qk_model_config *c) { return (size_t)c->d * (size_t)(c->dff > c->d ? c->dff : c->d); }
static int maxdim(const qk_model_config *c) { return c->dff > c->d ? c->dff : c->d; }
static int uses_ln(const qk_model_config *c) { return c->ln != QK_LN_NONE; }
static int has_ffn(const qk_model_config *c) { return qk_variant_has_ffn(c->variant); }
/* The LayerNorm placement the layers use: cfg.ln, or none for the pure variants (the
 * layout still follows cfg.ln). */
static qk_ln_mode ln_of(const qk_model_config *c) { return qk_variant_has_ln(c->variant) ? c->ln : QK_LN_NONE; }
static int sr_on(const qk_model_config *c, int lin)
{
    if ((lin == QK_LIN_1 || lin == QK_LIN_2) && (!has_ffn(c) || c->dff < 1)) return 0;
    return c->sigma_reparam == QK_SR_ALL || (c->sigma_reparam == QK_SR_QK && (lin == QK_LIN_Q || lin == QK_LIN_K));
}

/* ------------------------------------------------------------------ variants (SPEC §1.4) */

static const char *const variant_names[QK_NVARIANT] = {"transformer", "san", "san+mlp", "san+skip", "pure",
                                                        "pure+skip"};

const char *qk_variant_name(qk_variant v) { return (unsigned)v < QK_NVARIANT ? variant_names[v] : NULL; }

qk_status qk_variant_parse(const char *name, qk_variant *v)
{
    if (!name || !v) return QK_ERR_ARG;
    for (int i = 0; i < QK_NVARIANT; i++)
        if (!strcmp(name, variant_names[i])) {
            *v = (qk_variant)i;
            return QK_OK;
        }
    return QK_ERR_ARG;
}

int qk_variant_has_ffn(qk_variant v) { return v == QK_VAR_TRANSFORMER || v == QK_VAR_SAN_MLP; }
int qk_variant_has_skip(qk_variant v)
{
    return v == QK_VAR_TRANSFORMER || v == QK_VAR_SAN_SKIP || v == QK_VAR_PURE_SKIP;
}
int qk_variant_has_ln(qk_variant v) { return v != QK_VAR_PURE && v != QK_VAR_PURE_SKIP; }

/* Carves consecutive sizes out of base; with base NULL only counts. */
typedef struct { float *base; size_t used; } carver;
static float *carve(carver *c, size_t n)
{
    float *p = c->base ? c->base + c->used : NULL;
    c->used += n;
    return p;
}

static size_t layout_acts(const qk_model_config *c, float *base, acts_t *a)
{
    carver cv = {base, 0};
    size_t L = (size_t)c->L, N = (size_t)c->B * c->T, d = (size_t)c->d, F = (size_t)c->dff;
    size_t V = c->kind == QK_MODEL_LM ? (size_t)c->V : 0, T = (size_t)c->T, B = (size_t)c->B, H = (size_t)c->H;
    size_t LN = uses_ln(c) ? 1 : 0, POST = c->ln == QK_LN_POST ? 1 : 0, PRE = c->ln == QK_LN_PRE ? 1 : 0;
    a->pos = carve(&cv, T * d);
    a->res = carve(&cv, (L + 1) * N * d);
    a->ln1 = carve(&cv, PRE * L * N * d);
    a->ln1_mean = carve(&cv, PRE * L * N);
    a->ln1_rstd = carve(&cv, PRE * L * N);
    a->q = carve(&cv, L * N * d);
    a->k = carve(&cv, L * N * d);
    a->v = carve(&cv, L * N * d);
    a->att = carve(&cv, L * B * H * T * T);
    a->last = carve(&cv, L * B * H * T);
    a->o = carve(&cv, L * N * d);
    a->r1 = carve(&cv, L * N * d);
    a->x1 = carve(&cv, POST * L * N * d);
    a->x1_mean = carve(&cv, POST * L * N);
    a->x1_rstd = carve(&cv, POST * L * N);
    a->ln2 = carve(&cv, PRE * L * N * d);
    a->ln2_mean = carve(&cv, PRE * L * N);
    a->ln2_rstd = carve(&cv, PRE * L * N);
    a->h1 = carve(&cv, L * N * F);
    a->h1r = carve(&cv, L * N * F);
    a->r2 = carve(&cv, L * N * d);
    a->x2_mean = carve(&cv, POST * L * N);
    a->x2_rstd = carve(&cv, POST * L * N);
    a->lnf = carve(&cv, PRE * N * d);
    a->lnf_mean = carve(&cv, PRE * N);
    a->lnf_rstd = carve(&cv, PRE * N);
    a->out = carve(&cv, V ? N * V : B * d);
    a->lse = carve(&cv, N);
    a->losses = carve(&cv, N > B * d ? N : B * d);
    a->tok = carve(&cv, V ? B * (T + 1) : 0);
    a->target = carve(&cv, V ? 0 : B * d);
    a->row = carve(&cv, V > T ? V : T);
    a->sr_w = carve(&cv, c->sigma_reparam ? L * QK_NLIN * maxlin(c) : 0);
    a->sr_sigma = carve(&cv, L * QK_NLIN);
    a->drop = carve(&cv, c->dropout > 0.0f ? (1 + 2 * L) * N * d : 0);
    (void)LN;
    return cv.used;
}

static size_t layout_scratch(const qk_model_config *c, float *base, scr_t *s, size_t *fwd_only)
{
    carver cv = {base, 0};
    size_t N = (size_t)c->B * c->T, d = (size_t)c->d, F = (size_t)c->dff, T = (size_t)c->T;
    size_t V = c->kind == QK_MODEL_LM ? (size_t)c->V : 0, dh = d / (size_t)c->H;
    s->lnscr = carve(&cv, 2 * (size_t)maxdim(c)); /* the forward's scratch first */
    s->mq = carve(&cv, dh * dh);
    s->mk = carve(&cv, dh * dh);
    s->tmp = carve(&cv, dh * d);
    if (fwd_only) *fwd_only = cv.used;
    s->dres = carve(&cv, N * d);
    s->dx1 = carve(&cv, N * d);
    s->dln = carve(&cv, N * d);
    s->dq = carve(&cv, N * d);
    s->dk = carve(&cv, N * d);
    s->dv = carve(&cv, N * d);
    s->dob = carve(&cv, N * d);
    s->dh1 = carve(&cv, N * F);
    s->dP = carve(&cv, T * T);
    s->dS = carve(&cv, T * T);
    s->dout = carve(&cv, V ? N * V : (size_t)c->B * d);
    s->G = carve(&cv, QK_NLIN * maxlin(c));
    return cv.used;
}

static size_t layout_state(const qk_model_config *c, float *base, state_t *st)
{
    carver cv = {base, 0};
    size_t n = c->sigma_reparam ? (size_t)c->L * QK_NLIN * (size_t)maxdim(c) : 0;
    st->u = carve(&cv, n);
    st->v = carve(&cv, n);
    return cv.used;
}

static void tensor_info(const qk_model_config *c, qk_tensor_info *t)
{
    static const char *names[QK_NPARAM] = {"wte", "wout", "lnf_g", "lnf_b", "ln1_g", "ln1_b", "wq", "bq",
                                           "wk", "bk", "wv", "bv", "wo", "bo", "ln2_g", "ln2_b",
                                           "w1", "b1", "w2", "b2", "sr_gamma"};
    int L = c->L, d = c->d, F = c->dff, V = c->kind == QK_MODEL_LM ? c->V : 0;
    int pre = c->ln == QK_LN_PRE, ln = uses_ln(c), sr = c->sigma_reparam != QK_SR_OFF;
    int lnf = pre && c->kind == QK_MODEL_LM; /* the walk model has no final LayerNorm */
    int shapes[QK_NPARAM][4] = {
        {2, V, d, 0}, {2, V, d, 0}, {1, lnf ? d : 0, 0, 0}, {1, lnf ? d : 0, 0, 0},
        {2, L, ln ? d : 0, 0}, {2, L, ln ? d : 0, 0}, {3, L, d, d}, {2, L, d, 0},
        {3, L, d, d}, {2, L, d, 0}, {3, L, d, d}, {2, L, d, 0},
        {3, L, d, d}, {2, L, d, 0}, {2, L, ln && F ? d : 0, 0}, {2, L, ln && F ? d : 0, 0},
        {3, L, F, d}, {2, L, F, 0}, {3, L, d, F}, {2, L, F ? d : 0, 0},
        {2, L, sr ? QK_NLIN : 0, 0}};
    for (int i = 0; i < QK_NPARAM; i++) {
        t[i].name = names[i];
        t[i].ndim = shapes[i][0];
        t[i].size = 1;
        for (int k = 0; k < 3; k++) {
            t[i].dims[k] = k < t[i].ndim ? shapes[i][k + 1] : 0;
            if (k < t[i].ndim) t[i].size *= (size_t)t[i].dims[k];
        }
    }
}

qk_status qk_model_sizes(const qk_model_config *c, qk_model_sizes_t *sz)
{
    if (!c || !sz) return QK_ERR_ARG;
    if ((unsigned)c->variant >= QK_NVARIANT || (unsigned)c->act > QK_ACT_GELU) return QK_ERR_ARG;
    if (c->d < 2 || c->H < 1 || c->d % c->H || c->dff < (has_ffn(c) ? 1 : 0) || c->L < 1 || c->T < 1 || c->B < 1)
        return QK_ERR_ARG;
    if (c->kind == QK_MODEL_LM && c->V < 2) return QK_ERR_ARG;
    if (c->kind != QK_MODEL_LM && c->kind != QK_MODEL_WALK) return QK_ERR_ARG;
    if ((unsigned)c->ln > QK_LN_NONE || (unsigned)c->sigma_reparam > QK_SR_ALL) return QK_ERR_ARG;
    if (c->L > QK_MAX_LAYERS || c->d > QK_MAX_D || c->dff > 4 * QK_MAX_D || c->T > QK_MAX_T ||
        (c->kind == QK_MODEL_LM && c->V > QK_MAX_V))
        return QK_ERR_CAPACITY;
    if (!(c->ln_eps > 0) || !(c->kappa1 >= 0) || !(c->kappa2 >= 0) || !(c->lr >= 0) || !(c->adam_eps > 0) ||
        !(c->beta1 >= 0 && c->beta1 < 1) || !(c->beta2 >= 0 && c->beta2 < 1) || !(c->weight_decay >= 0))
        return QK_ERR_ARG;
    if (c->init == QK_INIT_BERT && !(c->init_std >= 0.0 && c->init_std <= 1e6)) return QK_ERR_ARG;
    if ((unsigned)c->locater_norm > QK_NORM_SUM || (unsigned)c->init > QK_INIT_BERT ||
        !(c->dropout >= 0.0f && c->dropout < 1.0f))
        return QK_ERR_ARG;
    memset(sz, 0, sizeof *sz);
    tensor_info(c, sz->t);
    for (int i = 0; i < QK_NPARAM; i++) sz->params += sz->t[i].size;
    acts_t a;
    scr_t s;
    state_t st;
    sz->acts = layout_acts(c, NULL, &a);
    sz->scratch = layout_scratch(c, NULL, &s, &sz->scratch_forward);
    sz->state = layout_state(c, NULL, &st);
    return QK_OK;
}

static void bind_params(qk_params *p, float *base, const qk_tensor_info *t)
{
    size_t off = 0;
    for (int i = 0; i < QK_NPARAM; i++) {
        p->p[i] = base ? base + off : NULL;
        off += t[i].size;
    }
}

qk_status qk_model_bind(qk_model *m, const qk_model_config *cfg, float *params, float *grads,
                        float *adam_m, float *adam_v, float *acts, float *scratch, float *state)
{
    qk_model_sizes_t sz;
    qk_status s = qk_model_sizes(cfg, &sz);
    if (s != QK_OK) return s;
    int fwd_only = !grads && !adam_m && !adam_v;
    if (!m || !params || (!fwd_only && (!grads || !adam_m || !adam_v)) || !acts || !scratch || (sz.state && !state))
        return QK_ERR_ARG;
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    bind_params(&m->w, params, sz.t);
    bind_params(&m->g, grads, sz.t);
    bind_params(&m->m, adam_m, sz.t);
    bind_params(&m->v, adam_v, sz.t);
    m->acts = acts;
    m->scratch = scratch;
    m->state = state;
    return QK_OK;
}

static size_t param_count(const qk_model *m)
{
    qk_model_sizes_t sz;
    qk_model_sizes(&m->cfg, &sz);
    return sz.params;
}

/* ------------------------------------------------------------------ helpers */

static qk_mat mat(float *p, int rows, int cols) { return qk_mat_view(p, rows, cols, cols); }

/* Element-wise work on [0, n) in bands as parallel tasks when it is large enough (SPEC
 * §2.8: each element is computed by one task, by the same operations as serially). */
#define QK__PAR_ELEMS 65536
typedef void (*range_fn)(void *ctx, size_t lo, size_t hi);
typedef struct {
    range_fn fn;
    void *ctx;
    size_t n, per;
} range_job;

static void range_task(void *arg, int t)
{
    const range_job *j = (const range_job *)arg;
    size_t lo = (size_t)t * j->per, hi = lo + j->per < j->n ? lo + j->per : j->n;
    if (lo < hi) j->fn(j->ctx, lo, hi);
}

static void par_range(size_t n, range_fn fn, void *ctx)
{
    int w = qk_parallel_workers();
    if (w < 2 || n < QK__PAR_ELEMS) {
        fn(ctx, 0, n);
        return;
    }
    range_job j = {fn, ctx, n, (n + 4 * (size_t)w - 1) / (4 * (size_t)w)}; /* 4 bands per worker */
    j.per = (j.per + 15) & ~(size_t)15; /* whole cache lines of floats */
    qk_parallel_run((int)((n + j.per - 1) / j.per), range_task, &j);
}

static void zero_range(void *p, size_t lo, size_t hi) { memset((float *)p + lo, 0, (hi - lo) * sizeof(float)); }
static void zero(float *p, size_t n) { par_range(n, zero_range, p); }

/* Pointer to the (rows, cols) slice l of a per-layer tensor. */
static float *at(float *base, int l, size_t per) { return base + (size_t)l * per; }

/* ------------------------------------------------------------------ initialisation */

static void fill_normal(float *p, size_t n, double std, qk_rng *r)
{
    for (size_t i = 0; i < n; i++) p[i] = (float)(std * qk_rng_normal(r));
}

/* Xavier-uniform: U(-a, a), a = gain·sqrt(6/(fan_in + fan_out)). */
static void fill_xavier(float *p, int out, int in, double gain, qk_rng *r)
{
    float a = (float)(gain * sqrt(6.0 / (double)(in + out)));
    for (size_t i = 0; i < (size_t)out * in; i++) p[i] = a * (2.0f * qk_rng_uniformf(r) - 1.0f);
}

static void fill(float *p, size_t n, float v)
{
    for (size_t i = 0; i < n; i++) p[i] = v;
}

/* PyTorch's nn.Linear default (SPEC §1.2): weights kaiming-uniform with a = sqrt(5), i.e.
 * U(-b, b) with b = sqrt(1/3)·sqrt(3/fan_in) = 1/sqrt(fan_in); biases U(-b, b) with the
 * same b. Drawn as b·(2u - 1), b = (float)(1/sqrt(fan_in)). */
static void fill_linear_default(float *p, size_t n, int fan_in, qk_rng *r)
{
    float b = (float)(1.0 / sqrt((double)fan_in));
    for (size_t i = 0; i < n; i++) p[i] = b * (2.0f * qk_rng_uniformf(r) - 1.0f);
}

/* fairseq's sinusoidal positions: channel i < d/2 is sin(pos·f_i), channel d/2 + i
 * is cos(pos·f_i), f_i = exp(-i·ln(10000)/(d/2 - 1)), pos = t + 2 (fairseq numbers
 * positions from padding_idx + 1 = 2). Odd d: the last channel is 0, as in fairseq. */
static void positions(float *pos, int T, int d)
{
    int half = d / 2;
    double step = half > 1 ? qk_log(10000.0) / (half - 1) : 0.0;
    for (int t = 0; t < T; t++) {
        for (int i = 0; i < half; i++) {
            double a = (double)(t + 2) * qk_exp(-step * i);
            pos[(size_t)t * d + i] = (float)qk_sin(a);
            pos[(size_t)t * d + half + i] = (float)qk_cos(a);
        }
        if (d % 2) pos[(size_t)t * d + d - 1] = 0.0f;
    }
}

static void sr_power_step(qk_model *m, int l, int lin);
static const float *weight_of(const qk_model *m, int l, int lin);
static float sr_sigma(const qk_model *m, int l, int lin);

/* LEGACY and FAIRSEQ (SPEC §1.2): one generator r in the documented draw order. */
static void init_fairseq(qk_model *m, qk_rng *r0)
{
    const qk_model_config *c = &m->cfg;
    qk_rng r = *r0;
    int L = c->L, d = c->d, F = c->dff, V = c->kind == QK_MODEL_LM ? c->V : 0;
    qk_params *w = &m->w;
    const double q_gain = 0.70710678118654752440; /* 1/sqrt(2), fairseq's q/k/v */
    int fairseq = c->init == QK_INIT_FAIRSEQ;
    fill_normal(w->p[QK_P_WTE], (size_t)V * d, 1.0 / sqrt((double)d), &r);
    fill_normal(w->p[QK_P_WOUT], (size_t)V * d, 1.0 / sqrt((double)d), &r);
    if (c->ln == QK_LN_PRE && c->kind == QK_MODEL_LM) {
        fill(w->p[QK_P_LNF_G], (size_t)d, 1.0f);
        fill(w->p[QK_P_LNF_B], (size_t)d, 0.0f);
    }
    int d2 = F ? d : 0; /* LN2 and fc2's bias: none without an FFN */
    for (int l = 0; l < L; l++) {
        size_t dd = (size_t)d * d;
        if (uses_ln(c)) {
            fill(at(w->p[QK_P_LN1_G], l, d), d, 1.0f);
            fill(at(w->p[QK_P_LN1_B], l, d), d, 0.0f);
            fill(at(w->p[QK_P_LN2_G], l, d2), d2, 1.0f);
            fill(at(w->p[QK_P_LN2_B], l, d2), d2, 0.0f);
        }
        fill_xavier(at(w->p[QK_P_WQ], l, dd), d, d, q_gain, &r);
        fill_xavier(at(w->p[QK_P_WK], l, dd), d, d, q_gain, &r);
        fill_xavier(at(w->p[QK_P_WV], l, dd), d, d, q_gain, &r);
        fill_xavier(at(w->p[QK_P_WO], l, dd), d, d, 1.0, &r);
        if (fairseq) { /* fc1, fc2: nn.Linear's default */
            fill_linear_default(at(w->p[QK_P_W1], l, (size_t)F * d), (size_t)F * d, d, &r);
            fill_linear_default(at(w->p[QK_P_W2], l, (size_t)d * F), (size_t)d * F, F, &r);
        } else {
            fill_xavier(at(w->p[QK_P_W1], l, (size_t)F * d), F, d, 1.0, &r);
            fill_xavier(at(w->p[QK_P_W2], l, (size_t)d * F), d, F, 1.0, &r);
        }
        fill(at(w->p[QK_P_BQ], l, d), d, 0.0f);
        fill(at(w->p[QK_P_BK], l, d), d, 0.0f);
        fill(at(w->p[QK_P_BV], l, d), d, 0.0f);
        fill(at(w->p[QK_P_BO], l, d), d, 0.0f); /* fairseq: out-projection bias 0 */
        fill(at(w->p[QK_P_B1], l, F), F, 0.0f);
        fill(at(w->p[QK_P_B2], l, d2), d2, 0.0f);
        if (fairseq) { /* q, k, v, fc1, fc2 biases: nn.Linear's default, fan_in d (fc2: F) */
            fill_linear_default(at(w->p[QK_P_BQ], l, d), d, d, &r);
            fill_linear_default(at(w->p[QK_P_BK], l, d), d, d, &r);
            fill_linear_default(at(w->p[QK_P_BV], l, d), d, d, &r);
            fill_linear_default(at(w->p[QK_P_B1], l, F), F, d, &r);
            fill_linear_default(at(w->p[QK_P_B2], l, d2), d2, F, &r);
        }
    }
    *r0 = r;
}

qk_status qk_bert_fill(float *p, size_t n, double std, uint64_t seed, int slot)
{
    if (!p && n) return QK_ERR_ARG;
    qk_rng master, r;
    qk_rng_seed(&master, seed);
    uint64_t sub = 0;
    for (int i = 0; i <= slot; i++) sub = qk_rng_u64(&master);
    qk_rng_seed(&r, sub);
    fill_normal(p, n, std, &r);
    return QK_OK;
}

/* BERT (SPEC §1.4): weights N(0, init_std²) from one stream per (tensor, layer) slot,
 * biases 0, LayerNorm γ = 1, β = 0. */
static void init_bert(qk_model *m, uint64_t seed)
{
    const qk_model_config *c = &m->cfg;
    static const int wslot[6] = {QK_P_WQ, QK_P_WK, QK_P_WV, QK_P_WO, QK_P_W1, QK_P_W2};
    static const int ones[] = {QK_P_LNF_G, QK_P_LN1_G, QK_P_LN2_G};
    static const int zeros[] = {QK_P_LNF_B, QK_P_LN1_B, QK_P_BQ, QK_P_BK, QK_P_BV, QK_P_BO,
                                QK_P_LN2_B, QK_P_B1, QK_P_B2};
    qk_tensor_info t[QK_NPARAM];
    tensor_info(c, t);
    for (int l = 0; l < c->L; l++)
        for (int k = 0; k < 6; k++) {
            size_t per = t[wslot[k]].size / (size_t)c->L;
            qk_bert_fill(at(m->w.p[wslot[k]], l, per), per, c->init_std, seed, 8 * l + k);
        }
    qk_bert_fill(m->w.p[QK_P_WTE], t[QK_P_WTE].size, c->init_std, seed, QK_BERT_SLOT_EMBED);
    qk_bert_fill(m->w.p[QK_P_WOUT], t[QK_P_WOUT].size, c->init_std, seed, QK_BERT_SLOT_EMBED + 3);
    for (size_t i = 0; i < sizeof ones / sizeof ones[0]; i++) fill(m->w.p[ones[i]], t[ones[i]].size, 1.0f);
    for (size_t i = 0; i < sizeof zeros / sizeof zeros[0]; i++) fill(m->w.p[zeros[i]], t[zeros[i]].size, 0.0f);
}

qk_status qk_model_init(qk_model *m, uint64_t seed)
{
    if (!m) return QK_ERR_ARG;
    const qk_model_config *c = &m->cfg;
    qk_rng r;
    qk_rng_seed(&r, seed);
    int L = c->L, d = c->d;
    qk_params *w = &m->w;
    if (c->init == QK_INIT_BERT) init_bert(m, seed);
    else init_fairseq(m, &r);
    /* σReparam: random unit u, power steps until σ is stationary (QK_SR_INIT_STABLE steps
     * without a change of its bits, at most QK_SR_INIT_MAX_STEPS), then γ = σ(W0) so that
     * Ŵ = W (SPEC §1.1: the converged spectral norm, not a few-step estimate). */
    if (c->sigma_reparam) {
        state_t st;
        layout_state(c, m->state, &st);
        int md = maxdim(c);
        for (int l = 0; l < L; l++)
            for (int lin = 0; lin < QK_NLIN; lin++) {
                float *u = st.u + ((size_t)l * QK_NLIN + lin) * md;
                fill_normal(u, (size_t)lin_in(c, lin), 1.0, &r);
                float n = sqrtf(qk_dot(u, u, lin_in(c, lin)));
                for (int i = 0; i < lin_in(c, lin); i++) u[i] = u[i] / n;
                float g = 1.0f;
                if (sr_on(c, lin)) {
                    float prev = -1.0f;
                    int same = 0;
                    for (int it = 0; it < QK_SR_INIT_MAX_STEPS && same < QK_SR_INIT_STABLE; it++) {
                        sr_power_step(m, l, lin);
                        g = sr_sigma(m, l, lin);
                        same = g == prev ? same + 1 : 0;
                        prev = g;
                    }
                }
                w->p[QK_P_SR_GAMMA][l * QK_NLIN + lin] = g;
            }
    }
    size_t n = param_count(m);
    if (m->g.p[0]) {
        zero(m->g.p[0], n);
        zero(m->m.p[0], n);
        zero(m->v.p[0], n);
    }
    m->step = 0;
    m->seed = seed;
    m->training = 1;
    acts_t a;
    layout_acts(c, m->acts, &a);
    positions(a.pos, c->T, d);
    return QK_OK;
}

/* ------------------------------------------------------------------ σReparam (SPEC §1.1) */

static const int lin_param[QK_NLIN] = {QK_P_WQ, QK_P_WK, QK_P_WV, QK_P_WO, QK_P_W1, QK_P_W2};
static const int lin_bias[QK_NLIN] = {QK_P_BQ, QK_P_BK, QK_P_BV, QK_P_BO, QK_P_B1, QK_P_B2};

static float *raw_weight(const qk_params *p, const qk_model_config *c, int l, int lin)
{
    return at(p->p[lin_param[lin]], l, (size_t)lin_out(c, lin) * lin_in(c, lin));
}

static float *bias_of(const qk_params *p, const qk_model_config *c, int l, int lin)
{
    return at(p->p[lin_bias[lin]], l, (size_t)lin_out(c, lin));
}

static void state_uv(const qk_model *m, int l, int lin, float **u, float **v)
{
    state_t st;
    layout_state(&m->cfg, m->state, &st);
    size_t off = ((size_t)l * QK_NLIN + lin) * (size_t)maxdim(&m->cfg);
    *u = st.u + off;
    *v = st.v + off;
}

static void normalize(float *x, int n)
{
    float s = sqrtf(qk_dot(x, x, n));
    if (s > 0.0f)
        for (int i = 0; i < n; i++) x[i] = x[i] / s;
}

/* y (out) = W (out, in) x (in), as a product with a one-column view */
static void matvec(float *y, const float *W, const float *x, int out, int in, int trans)
{
    qk_mat Y = qk_mat_view(y, trans ? in : out, 1, 1);
    qk_mat Wm = mat((float *)W, out, in);
    qk_mat X = qk_mat_view((float *)x, trans ? out : in, 1, 1);
    qk_matmul(&Y, &Wm, &X, trans ? QK_TRANS_A : 0);
}

static void sr_power_step(qk_model *m, int l, int lin)
{
    const qk_model_config *c = &m->cfg;
    float *u, *v;
    state_uv(m, l, lin, &u, &v);
    const float *W = raw_weight(&m->w, c, l, lin);
    matvec(v, W, u, lin_out(c, lin), lin_in(c, lin), 0);
    normalize(v, lin_out(c, lin));
    matvec(u, W, v, lin_out(c, lin), lin_in(c, lin), 1);
    normalize(u, lin_in(c, lin));
}

void qk_model_sr_step(qk_model *m)
{
    if (!m || !m->cfg.sigma_reparam) return;
    for (int l = 0; l < m->cfg.L; l++)
        for (int lin = 0; lin < QK_NLIN; lin++)
            if (sr_on(&m->cfg, lin)) sr_power_step(m, l, lin);
}

/* σ = vᵀ W u with the stored u, v */
static float sr_sigma(const qk_model *m, int l, int lin)
{
    const qk_model_config *c = &m->cfg;
    float *u, *v;
    state_uv(m, l, lin, &u, &v);
    scr_t s;
    layout_scratch(c, m->scratch, &s, NULL);
    float *wu = s.lnscr; /* (out) */
    matvec(wu, raw_weight(&m->w, c, l, lin), u, lin_out(c, lin), lin_in(c, lin), 0);
    return qk_dot(v, wu, lin_out(c, lin));
}

/* Ŵ = (γ/σ) W into the activations */
static void sr_forward(qk_model *m, acts_t *a, int l, int lin)
{
    const qk_model_config *c = &m->cfg;
    size_t n = (size_t)lin_out(c, lin) * lin_in(c, lin);
    float sigma = sr_sigma(m, l, lin);
    float scale = m->w.p[QK_P_SR_GAMMA][l * QK_NLIN + lin] / sigma;
    const float *W = raw_weight(&m->w, c, l, lin);
    float *Wh = at(a->sr_w, l * QK_NLIN + lin, maxlin(c));
    for (size_t i = 0; i < n; i++) Wh[i] = scale * W[i];
    a->sr_sigma[l * QK_NLIN + lin] = sigma;
}

/* From G = dL/dŴ: dW += (γ/σ) G - (γ/σ²)<G, W> v uᵀ ; dγ += <G, W>/σ. */
static void sr_backward(qk_model *m, acts_t *a, int l, int lin, const float *G)
{
    const qk_model_config *c = &m->cfg;
    int out = lin_out(c, lin), in = lin_in(c, lin);
    size_t n = (size_t)out * in;
    float *u, *v;
    state_uv(m, l, lin, &u, &v);
    const float *W = raw_weight(&m->w, c, l, lin);
    float *dW = raw_weight(&m->g, c, l, lin);
    float sigma = a->sr_sigma[l * QK_NLIN + lin];
    float gamma = m->w.p[QK_P_SR_GAMMA][l * QK_NLIN + lin];
    float gw = qk_dot(G, W, (int)n);
    float s1 = gamma / sigma, s2 = -(gamma / sigma) * (gw / sigma);
    for (int i = 0; i < out; i++) {
        float cv = s2 * v[i];
        for (int j = 0; j < in; j++) {
            float t = s1 * G[(size_t)i * in + j];
            t = t + cv * u[j];
            dW[(size_t)i * in + j] += t;
        }
    }
    m->g.p[QK_P_SR_GAMMA][l * QK_NLIN + lin] += gw / sigma;
}

/* The weight a linear layer uses: Ŵ under σReparam, else W. */
static const float *weight_of(const qk_model *m, int l, int lin)
{
    if (sr_on(&m->cfg, lin)) {
        acts_t a;
        layout_acts(&m->cfg, m->acts, &a);
        return at(a.sr_w, l * QK_NLIN + lin, maxlin(&m->cfg));
    }
    return raw_weight(&m->w, &m->cfg, l, lin);
}

/* ------------------------------------------------------------------ linear */

typedef struct {
    float *y, *db;
    const float *b, *dy;
    int N, out;
} bias_job;

static void bias_rows(void *ctx, size_t lo, size_t hi) /* rows lo..hi-1 of y = b */
{
    const bias_job *j = (const bias_job *)ctx;
    for (size_t i = lo; i < hi; i++) memcpy(j->y + i * (size_t)j->out, j->b, sizeof(float) * (size_t)j->out);
}

/* y (N, out) = x (N, in) Wᵀ + b: each y_ij is one chain starting from b_j. */
static void linear_forward(float *y, const float *x, const float *W, const float *b, int N, int in, int out)
{
    bias_job j = {y, NULL, b, NULL, N, out};
    if ((size_t)N * out >= QK__PAR_ELEMS) par_range((size_t)N, bias_rows, &j);
    else bias_rows(&j, 0, (size_t)N);
    qk_mat Y = mat(y, N, out), X = mat((float *)x, N, in), Wm = mat((float *)W, out, in);
    qk_matmul(&Y, &X, &Wm, QK_TRANS_B | QK_ACCUMULATE);
}

static void bias_grad_cols(void *ctx, size_t lo, size_t hi) /* db[lo..hi) += column sums, rows in order */
{
    const bias_job *j = (const bias_job *)ctx;
    for (int i = 0; i < j->N; i++) {
        const float *r = j->dy + (size_t)i * j->out;
        for (size_t c = lo; c < hi; c++) j->db[c] = j->db[c] + r[c];
    }
}

/* dx (N, in) += dy W; dW (out, in) += dyᵀ x; db (out) += Σ_i dy_i in row order (the
 * chain of 1ᵀ·dy: fma(1, x, a) rounds a + x exactly as the addition does). dx may be NULL. */
static void linear_backward(float *dx, float *dW, float *db, const float *dy, const float *x, const float *W, int N,
                            int in, int out)
{
    qk_mat DY = mat((float *)dy, N, out), X = mat((float *)x, N, in), Wm = mat((float *)W, out, in);
    if (dx) {
        qk_mat DX = mat(dx, N, in);
        qk_matmul(&DX, &DY, &Wm, QK_ACCUMULATE);
    }
    qk_mat DW = mat(dW, out, in);
    qk_matmul(&DW, &DY, &X, QK_TRANS_A | QK_ACCUMULATE);
    bias_job j = {NULL, db, NULL, dy, N, out};
    int w = qk_parallel_workers();
    if (w > 1 && (size_t)N * out >= QK__PAR_ELEMS && out >= 32) { /* bands of columns: each a chain over the rows */
        range_job r = {bias_grad_cols, &j, (size_t)out, ((size_t)out / (size_t)w + 15) & ~(size_t)15};
        if (r.per == 0) r.per = 16;
        qk_parallel_run((int)((r.n + r.per - 1) / r.per), range_task, &r);
    } else {
        bias_grad_cols(&j, 0, (size_t)out);
    }
}

/* ------------------------------------------------------------------ attention */

/* Per sequence b and head h: S = q_h k_hᵀ · (1/sqrt(dh)), P = softmax(S) (causal for
 * the LM), o_h = P v_h. The last query's scaled logits are kept for ρ (SPEC §1.1).
 * The (b, h) pairs write disjoint outputs, so they run as parallel tasks (SPEC §2.8). */
typedef struct {
    float *o, *att, *last, *dq, *dk, *dv, *slot[2];
    const float *q, *k, *v, *dout, *patt;
    int B, T, d, H, causal, per_slot;
} att_job;

static void attention_fwd_pair(void *arg, int bh)
{
    const att_job *j = (const att_job *)arg;
    int T = j->T, d = j->d, H = j->H, dh = d / H, b = bh / H, h = bh % H;
    float scale = 1.0f / sqrtf((float)dh);
    size_t off = (size_t)b * T * d + (size_t)h * dh;
    qk_mat Q = qk_mat_view((float *)j->q + off, T, dh, d), K = qk_mat_view((float *)j->k + off, T, dh, d);
    qk_mat Vm = qk_mat_view((float *)j->v + off, T, dh, d), O = qk_mat_view(j->o + off, T, dh, d);
    float *P = j->att + (size_t)bh * T * T;
    qk_mat S = mat(P, T, T);
    qk_matmul(&S, &Q, &K, QK_TRANS_B);
    for (size_t i = 0; i < (size_t)T * T; i++) P[i] = P[i] * scale;
    memcpy(j->last + (size_t)bh * T, P + (size_t)(T - 1) * T, sizeof(float) * T);
    qk_softmax_forward(&S, &S, j->causal);
    qk_matmul(&O, &S, &Vm, 0);
}

static void attention_forward(float *o, float *att, float *last, const float *q, const float *k, const float *v,
                              int B, int T, int d, int H, int causal)
{
    att_job j = {o, att, last, NULL, NULL, NULL, {NULL, NULL}, q, k, v, NULL, NULL, B, T, d, H, causal, 0};
    qk_parallel_run(B * H, attention_fwd_pair, &j);
}

/* One pair's backward with one (T, T) buffer: dP = dO Vᵀ; dV += Pᵀ dO; then dS in
 * place of dP, row by row, with the operations of qk_softmax_backward into a zeroed
 * dS followed by the scaling: dS_ij = (0 + P_ij (dP_ij - <P_i, dP_i>))·scale over the
 * visible columns, +0 elsewhere; dQ += dS K; dK += dSᵀ Q. */
static void attention_bwd_pair(const att_job *j, int bh, float *buf)
{
    int T = j->T, d = j->d, H = j->H, dh = d / H, b = bh / H, h = bh % H;
    float scale = 1.0f / sqrtf((float)dh);
    size_t off = (size_t)b * T * d + (size_t)h * dh;
    qk_mat Q = qk_mat_view((float *)j->q + off, T, dh, d), K = qk_mat_view((float *)j->k + off, T, dh, d);
    qk_mat Vm = qk_mat_view((float *)j->v + off, T, dh, d), DO = qk_mat_view((float *)j->dout + off, T, dh, d);
    qk_mat DQ = qk_mat_view(j->dq + off, T, dh, d), DK = qk_mat_view(j->dk + off, T, dh, d);
    qk_mat DV = qk_mat_view(j->dv + off, T, dh, d);
    const float *pa = j->patt + (size_t)bh * T * T;
    qk_mat P = mat((float *)pa, T, T), DS = mat(buf, T, T);
    qk_matmul(&DS, &DO, &Vm, QK_TRANS_B);                /* dP = dO Vᵀ   */
    qk_matmul(&DV, &P, &DO, QK_TRANS_A | QK_ACCUMULATE); /* dV += Pᵀ dO  */
    for (int i = 0; i < T; i++) {
        const float *y = pa + (size_t)i * T;
        float *r = buf + (size_t)i * T;
        int n = j->causal ? (i + 1 < T ? i + 1 : T) : T;
        float ydy = qk_dot(y, r, n);
        for (int c = 0; c < n; c++) r[c] = (0.0f + y[c] * (r[c] - ydy)) * scale;
        for (int c = n; c < T; c++) r[c] = 0.0f;
    }
    qk_matmul(&DQ, &DS, &K, QK_ACCUMULATE);              /* dQ += dS K   */
    qk_matmul(&DK, &DS, &Q, QK_TRANS_A | QK_ACCUMULATE); /* dK += dSᵀ Q  */
}

/* Task t: the pairs [t·per_slot, (t+1)·per_slot) in order, with buffer slot t. */
static void attention_bwd_slot(void *arg, int t)
{
    const att_job *j = (const att_job *)arg;
    int n = j->B * j->H, lo = t * j->per_slot, hi = lo + j->per_slot < n ? lo + j->per_slot : n;
    for (int bh = lo; bh < hi; bh++) attention_bwd_pair(j, bh, j->slot[t]);
}

/* dP and dS (T, T each) are the two buffers: up to two pairs run at once. */
static void attention_backward(float *dq, float *dk, float *dv, float *dP, float *dS, const float *dout,
                               const float *att, const float *q, const float *k, const float *v, int B, int T,
                               int d, int H, int causal)
{
    int n = B * H, slots = qk_parallel_workers() > 1 && n > 1 ? 2 : 1;
    att_job j = {NULL, NULL, NULL, dq, dk, dv, {dP, dS}, q, k, v, dout, att, B, T, d, H, causal, (n + slots - 1) / slots};
    qk_parallel_run(slots, attention_bwd_slot, &j);
}

/* ------------------------------------------------------------------ small ops */

typedef struct {
    float *y;
    const float *a, *b;
} ew_job;

static void relu_fwd_range(void *ctx, size_t lo, size_t hi)
{
    const ew_job *j = (const ew_job *)ctx;
    float *y = j->y;
    const float *a = j->a;
    for (size_t i = lo; i < hi; i++) y[i] = a[i] > 0.0f ? a[i] : 0.0f;
}

static void relu_forward(float *y, const float *x, size_t n)
{
    ew_job j = {y, x, NULL};
    par_range(n, relu_fwd_range, &j);
}

static void relu_bwd_range(void *ctx, size_t lo, size_t hi)
{
    const ew_job *j = (const ew_job *)ctx;
    float *y = j->y;
    const float *a = j->a, *b = j->b;
    for (size_t i = lo; i < hi; i++) {
        float v = b[i]; /* read unconditionally: the loop is then branch-free (vectorised) */
        y[i] = a[i] > 0.0f ? v : 0.0f;
    }
}

static void relu_backward(float *dx, const float *x, const float *dy, size_t n)
{
    ew_job j = {dx, x, dy};
    par_range(n, relu_bwd_range, &j);
}

static void add_range(void *ctx, size_t lo, size_t hi)
{
    const ew_job *j = (const ew_job *)ctx;
    float *y = j->y;
    const float *a = j->a, *b = j->b;
    for (size_t i = lo; i < hi; i++) y[i] = a[i] + b[i];
}

static void add(float *y, const float *a, const float *b, size_t n)
{
    ew_job j = {y, a, b};
    par_range(n, add_range, &j);
}

/* ------------------------------------------------------------------ dropout (SPEC §1.2) */

#define QK__GOLDEN 0x9e3779b97f4a7c15ull
#define QK__DROP_DOMAIN 0x64726f706f7574ull /* "dropout" */

/* splitmix64's output from state x (SPEC §2.7's seeding function, one step) */
static uint64_t sm64(uint64_t x)
{
    uint64_t z = x + QK__GOLDEN;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t drop_key(uint64_t seed, uint64_t step, int site)
{
    return sm64(sm64(sm64(seed ^ QK__DROP_DOMAIN) ^ step) ^ (uint64_t)site);
}

/* floor(P·2^24): P·2^24 is exact in float (a power-of-two scaling) and below 2^24 */
static uint64_t drop_threshold(float p) { return (uint64_t)(p * 16777216.0f); }

float qk_dropout_keep(uint64_t seed, uint64_t step, int site, uint64_t i, float p)
{
    uint64_t h = sm64(drop_key(seed, step, site) + i * QK__GOLDEN);
    return (h >> 40) < drop_threshold(p) ? 0.0f : 1.0f / (1.0f - p);
}

/* x (n) *= mask of site at the model's step; the multipliers go to mask (n) */
static void dropout_forward(float *x, float *mask, size_t n, const qk_model *m, int site)
{
    float p = m->cfg.dropout, keep = 1.0f / (1.0f - p);
    uint64_t key = drop_key(m->seed, (uint64_t)m->step, site), thr = drop_threshold(p);
    for (size_t i = 0; i < n; i++) {
        mask[i] = (sm64(key + (uint64_t)i * QK__GOLDEN) >> 40) < thr ? 0.0f : keep;
        x[i] = x[i] * mask[i];
    }
}

/* dy (n) = dx ∘ mask */
static void dropout_backward(float *dy, const float *dx, const float *mask, size_t n)
{
    for (size_t i = 0; i < n; i++) dy[i] = dx[i] * mask[i];
}

static int dropout_on(const qk_model *m) { return m->training && m->cfg.dropout > 0.0f; }

const float *qk_model_dropout_masks(const qk_model *m)
{
    if (!m || !dropout_on(m)) return NULL;
    acts_t a;
    layout_acts(&m->cfg, m->acts, &a);
    return a.drop;
}

static void layernorm_fwd(float *y, float *mean, float *rstd, const float *x, const float *g, const float *b,
                          int N, int d, float eps)
{
    qk_mat Y = mat(y, N, d), X = mat((float *)x, N, d);
    qk_layernorm_forward(&Y, mean, rstd, &X, g, b, eps);
}

static void layernorm_bwd(float *dx, float *dg, float *db, const float *dy, const float *x, const float *mean,
                          const float *rstd, const float *g, float *scr, int N, int d)
{
    qk_mat DX = mat(dx, N, d), DY = mat((float *)dy, N, d), X = mat((float *)x, N, d);
    qk_layernorm_backward(&DX, dg, db, &DY, &X, mean, rstd, g, scr);
}

/* x0 (N, d) = wte[token]·sqrt(d) + pos[t]; rows (b, t) in bands as parallel tasks */
typedef struct {
    float *x0, *dwte;
    const float *tok, *wte, *pos, *dx0;
    int B, T, d;
} embed_job;

static void embed_fwd_rows(void *ctx, size_t lo, size_t hi)
{
    const embed_job *j = (const embed_job *)ctx;
    const int T = j->T, d = j->d;
    float s = sqrtf((float)d);
    for (size_t r = lo; r < hi; r++) {
        size_t b = r / (size_t)T, t = r % (size_t)T;
        const float *e = j->wte + (size_t)j->tok[b * (T + 1) + t] * d;
        float *x = j->x0 + r * d;
        for (int i = 0; i < d; i++) x[i] = e[i] * s + j->pos[t * d + i];
    }
}

static void embed_forward(float *x0, const float *tok, const float *wte, const float *pos, int B, int T, int d)
{
    embed_job j = {x0, NULL, tok, wte, pos, NULL, B, T, d};
    if ((size_t)B * T * d >= QK__PAR_ELEMS) par_range((size_t)B * T, embed_fwd_rows, &j);
    else embed_fwd_rows(&j, 0, (size_t)B * T);
}

/* dwte[token] += dx0·sqrt(d), in increasing (b, t) order: one chain per element of
 * dwte, so bands of columns run as parallel tasks, each over all rows in order */
static void embed_bwd_cols(void *ctx, size_t lo, size_t hi)
{
    const embed_job *j = (const embed_job *)ctx;
    const int B = j->B, T = j->T, d = j->d;
    float s = sqrtf((float)d);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            float *e = j->dwte + (size_t)j->tok[(size_t)b * (T + 1) + t] * d;
            const float *dx = j->dx0 + ((size_t)b * T + t) * d;
            for (size_t i = lo; i < hi; i++) e[i] += dx[i] * s;
        }
}

static void embed_backward(float *dwte, const float *dx0, const float *tok, int B, int T, int d)
{
    embed_job j = {NULL, dwte, tok, NULL, NULL, dx0, B, T, d};
    int w = qk_parallel_workers();
    if (w > 1 && (size_t)B * T * d >= QK__PAR_ELEMS && d >= 32) {
        range_job r = {embed_bwd_cols, &j, (size_t)d, ((size_t)d / (size_t)w + 15) & ~(size_t)15};
        if (r.per == 0) r.per = 16;
        qk_parallel_run((int)((r.n + r.per - 1) / r.per), range_task, &r);
    } else {
        embed_bwd_cols(&j, 0, (size_t)d);
    }
}

/* Mean cross-entropy over N rows; lse_i = max + log Σ exp(l - max). Rows are
 * independent tasks (SPEC §2.8); the mean is one sum over the rows' losses. */
#define QK__CE_ROW_STACK 4096 /* floats: a task's own exp row (larger V: one task, row) */
typedef struct {
    float *lse, *losses, *row, *dlogits;
    const float *logits, *tok;
    int B, T, V, per_task;
} ce_job;

/* rows of task t, with row (V) as the exp scratch */
static void ce_forward_part(const ce_job *j, int t, float *row)
{
    int N = j->B * j->T, V = j->V, lo = t * j->per_task, hi = lo + j->per_task < N ? lo + j->per_task : N;
    for (int i = lo; i < hi; i++) {
        int b = i / j->T, tt = i % j->T;
        const float *l = j->logits + (size_t)i * V;
        float mx = l[0];
        for (int c = 1; c < V; c++) mx = l[c] > mx ? l[c] : mx;
        for (int c = 0; c < V; c++) row[c] = l[c] - mx;
        qk_vexpf(row, row, V);
        j->lse[i] = mx + qk_logf(qk_sum(row, V));
        j->losses[i] = j->lse[i] - l[(int)j->tok[(size_t)b * (j->T + 1) + tt + 1]];
    }
}

/* a parallel task: its own exp row on its stack (only when there are several tasks, so a
 * serial build, such as a board's, never reserves it) */
static void ce_forward_rows(void *arg, int t)
{
    float own[QK__CE_ROW_STACK];
    ce_forward_part((const ce_job *)arg, t, own);
}

static int ce_tasks(int N, int V)
{
    int w = qk_parallel_workers();
    if (w < 2 || V > QK__CE_ROW_STACK) return 1; /* serial; or the tasks would share the one scratch row */
    return N < 2 * w ? 1 : 2 * w;       /* two tasks per worker: the rows' costs are equal */
}

static float crossentropy_forward(float *lse, float *losses, float *row, const float *logits, const float *tok,
                                  int B, int T, int V)
{
    int N = B * T, nt = ce_tasks(N, V);
    ce_job j = {lse, losses, row, NULL, logits, tok, B, T, V, (N + nt - 1) / nt};
    if (nt > 1) qk_parallel_run(nt, ce_forward_rows, &j);
    else ce_forward_part(&j, 0, row);
    return qk_sum(losses, N) / (float)N;
}

/* dlogits = (softmax - onehot)/N, softmax_j = exp(l_j - lse) */
static void ce_backward_rows(void *arg, int t)
{
    const ce_job *j = (const ce_job *)arg;
    int N = j->B * j->T, V = j->V, lo = t * j->per_task, hi = lo + j->per_task < N ? lo + j->per_task : N;
    for (int i = lo; i < hi; i++) {
        int b = i / j->T, tt = i % j->T;
        float *dl = j->dlogits + (size_t)i * V;
        const float *l = j->logits + (size_t)i * V;
        for (int c = 0; c < V; c++) dl[c] = l[c] - j->lse[i];
        qk_vexpf(dl, dl, V);
        dl[(int)j->tok[(size_t)b * (j->T + 1) + tt + 1]] -= 1.0f;
        for (int c = 0; c < V; c++) dl[c] = dl[c] / (float)N;
    }
}

static void crossentropy_backward(float *dlogits, const float *lse, const float *logits, const float *tok, int B,
                                  int T, int V)
{
    int N = B * T, nt = N < 2 * qk_parallel_workers() ? 1 : 2 * qk_parallel_workers();
    ce_job j = {(float *)lse, NULL, NULL, dlogits, logits, tok, B, T, V, (N + nt - 1) / nt};
    qk_parallel_run(nt, ce_backward_rows, &j);
}

/* ------------------------------------------------------------------ LocAteR (SPEC §1.1) */

/* R_h = κ1 tr(M_Q M_K) + κ2 (tr(W_Q,hᵀ W_K,h) - 1)², M_Q = W_Q,h W_Q,hᵀ (dh, dh).
 * When G is not NULL, adds dR/dW_Q,h = 2κ1 M_K W_Q,h + 2κ2(tr - 1) W_K,h (and the
 * symmetric term for K) into G (6, maxlin) rows of head h. Returns R summed over heads. */
static float locater(const qk_model *m, scr_t *s, int l, float *G)
{
    const qk_model_config *c = &m->cfg;
    int d = c->d, H = c->H, dh = d / H;
    /* SPEC §1.1's weight of R: TOKEN κ, SUM κ/N (N the data loss's terms) */
    float n = c->locater_norm == QK_NORM_SUM ? (float)(c->kind == QK_MODEL_LM ? c->B * c->T : c->B * c->d) : 1.0f;
    float kappa1 = c->kappa1 / n, kappa2 = c->kappa2 / n;
    const float *Wq = weight_of(m, l, QK_LIN_Q), *Wk = weight_of(m, l, QK_LIN_K);
    float R = 0.0f;
    for (int h = 0; h < H; h++) {
        const float *wq = Wq + (size_t)h * dh * d, *wk = Wk + (size_t)h * dh * d;
        qk_mat WQ = mat((float *)wq, dh, d), WK = mat((float *)wk, dh, d);
        qk_mat MQ = mat(s->mq, dh, dh), MK = mat(s->mk, dh, dh);
        qk_matmul(&MQ, &WQ, &WQ, QK_TRANS_B);
        qk_matmul(&MK, &WK, &WK, QK_TRANS_B);
        float frob = qk_dot(s->mq, s->mk, dh * dh);
        float tr1 = qk_dot(wq, wk, dh * d) - 1.0f;
        R = R + (kappa1 * frob + kappa2 * (tr1 * tr1));
        if (!G) continue;
        float a1 = 2.0f * kappa1, a2 = 2.0f * kappa2 * tr1;
        size_t ml = maxlin(c);
        for (int side = 0; side < 2; side++) {
            qk_mat TMP = mat(s->tmp, dh, d);
            qk_matmul(&TMP, side ? &MQ : &MK, side ? &WK : &WQ, 0); /* M_K W_Q or M_Q W_K */
            const float *other = side ? wq : wk;
            float *g = G + (size_t)(side ? QK_LIN_K : QK_LIN_Q) * ml + (size_t)h * dh * d;
            for (size_t i = 0; i < (size_t)dh * d; i++) g[i] += a1 * s->tmp[i] + a2 * other[i];
        }
    }
    return R;
}

/* ------------------------------------------------------------------ the layer (SPEC §1.2, §1.4) */

/* One layer of one pass: the model, its views and the layer's index. */
typedef struct {
    qk_model *m;
    acts_t *a;
    scr_t *s;
    int l, N, drop;
    size_t Nd, NF;
} layer_ctx;

static float *lparam(const layer_ctx *x, const qk_params *p, int t, size_t per) { return at(p->p[t], x->l, per); }

/* y = LN_t(x) of this layer with the statistics into mean, rstd (N) */
static void layer_ln_fwd(const layer_ctx *x, int gain, float *y, float *mean, float *rstd, const float *in)
{
    const qk_model_config *c = &x->m->cfg;
    layernorm_fwd(y, mean, rstd, in, lparam(x, &x->m->w, gain, c->d), lparam(x, &x->m->w, gain + 1, c->d), x->N,
                  c->d, c->ln_eps);
}

static void gelu_fwd_range(void *ctx, size_t lo, size_t hi)
{
    const ew_job *j = (const ew_job *)ctx;
    qk_vgelu_erff(j->y + lo, j->a + lo, (int)(hi - lo));
}

typedef struct {
    float *dx;
    const float *x, *y, *dy;
} gelu_job;

/* gelu'(x) = Φ(x) + x φ(x) with Φ(x) = gelu(x)/x from the forward's output y (0.5 for
 * |x| < 2^-60, where y would be inexact), φ(x) = qk_expf(-x²/2)/sqrt(2π) through the
 * vector exp, in float: dx = dy ∘ (Φ + x φ), in blocks of 256 (dx may be dy). */
static void gelu_bwd_range(void *ctx, size_t lo, size_t hi)
{
    const gelu_job *j = (const gelu_job *)ctx;
    const float inv_sqrt_2pi = 0x1.988454p-2f;
    float t[256];
    for (size_t b = lo; b < hi; b += 256) {
        int n = hi - b < 256 ? (int)(hi - b) : 256;
        for (int i = 0; i < n; i++) t[i] = -0.5f * (j->x[b + i] * j->x[b + i]);
        qk_vexpf(t, t, n);
        for (int i = 0; i < n; i++) {
            float x = j->x[b + i], phi = x > -0x1p-60f && x < 0x1p-60f ? 0.5f : j->y[b + i] / x;
            j->dx[b + i] = j->dy[b + i] * (phi + x * (t[i] * inv_sqrt_2pi));
        }
    }
}

/* y (n) = act(x); y may not alias x (backward needs x) */
static void act_forward(const qk_model_config *c, float *y, const float *x, size_t n)
{
    ew_job j = {y, x, NULL};
    if (c->act == QK_ACT_GELU) par_range(n, gelu_fwd_range, &j);
    else relu_forward(y, x, n);
}

/* dx (n) = dy ∘ act'(x), y = act(x) the forward's output; dx may be dy */
static void act_backward(const qk_model_config *c, float *dx, const float *x, const float *y, const float *dy, size_t n)
{
    gelu_job j = {dx, x, y, dy};
    if (c->act == QK_ACT_GELU) par_range(n, gelu_bwd_range, &j);
    else relu_backward(dx, x, dy, n);
}

/* The attention sub-layer: x1 = LN_post([x +] drop(SA(LN_pre(x)))) // (N, d). Returns x1
 * (r1, or the post-LN output). */
static const float *attn_sublayer_forward(layer_ctx *x, const float *in)
{
    qk_model *m = x->m;
    const qk_model_config *c = &m->cfg;
    acts_t *a = x->a;
    int l = x->l, N = x->N, d = c->d, B = c->B, T = c->T, H = c->H;
    size_t Nd = x->Nd;
    qk_ln_mode ln = ln_of(c);
    const float *h = in;
    if (ln == QK_LN_PRE) {
        h = at(a->ln1, l, Nd);
        layer_ln_fwd(x, QK_P_LN1_G, at(a->ln1, l, Nd), at(a->ln1_mean, l, N), at(a->ln1_rstd, l, N), in);
    }
    float *q = at(a->q, l, Nd), *k = at(a->k, l, Nd), *v = at(a->v, l, Nd), *o = at(a->o, l, Nd);
    linear_forward(q, h, weight_of(m, l, QK_LIN_Q), bias_of(&m->w, c, l, QK_LIN_Q), N, d, d); // (N, d)
    linear_forward(k, h, weight_of(m, l, QK_LIN_K), bias_of(&m->w, c, l, QK_LIN_K), N, d, d);
    linear_forward(v, h, weight_of(m, l, QK_LIN_V), bias_of(&m->w, c, l, QK_LIN_V), N, d, d);
    attention_forward(o, at(a->att, l, (size_t)B * H * T * T), at(a->last, l, (size_t)B * H * T), q, k, v, B, T, d,
                      H, c->kind == QK_MODEL_LM);
    float *r1 = at(a->r1, l, Nd);
    linear_forward(r1, o, weight_of(m, l, QK_LIN_O), bias_of(&m->w, c, l, QK_LIN_O), N, d, d);
    if (x->drop) dropout_forward(r1, at(a->drop, 1 + 2 * l, Nd), Nd, m, 1 + 2 * l);
    if (qk_variant_has_skip(c->variant)) add(r1, r1, in, Nd); /* r1 = x + dropout(attn) */
    if (ln != QK_LN_POST) return r1;
    layer_ln_fwd(x, QK_P_LN1_G, at(a->x1, l, Nd), at(a->x1_mean, l, N), at(a->x1_rstd, l, N), r1);
    return at(a->x1, l, Nd);
}

/* The FFN sub-layer: out = LN_post(x1 + drop(W2 act(W1 LN_pre(x1) + b1) + b2)) // (N, d) */
static void ffn_sublayer_forward(layer_ctx *x, const float *x1, float *out)
{
    qk_model *m = x->m;
    const qk_model_config *c = &m->cfg;
    acts_t *a = x->a;
    int l = x->l, N = x->N, d = c->d, F = c->dff;
    size_t Nd = x->Nd, NF = x->NF;
    qk_ln_mode ln = ln_of(c);
    const float *h2 = x1;
    if (ln == QK_LN_PRE) {
        h2 = at(a->ln2, l, Nd);
        layer_ln_fwd(x, QK_P_LN2_G, at(a->ln2, l, Nd), at(a->ln2_mean, l, N), at(a->ln2_rstd, l, N), x1);
    }
    float *h1 = at(a->h1, l, NF), *h1r = at(a->h1r, l, NF), *r2 = at(a->r2, l, Nd);
    linear_forward(h1, h2, weight_of(m, l, QK_LIN_1), bias_of(&m->w, c, l, QK_LIN_1), N, d, F); // (N, F)
    act_forward(c, h1r, h1, NF);
    linear_forward(r2, h1r, weight_of(m, l, QK_LIN_2), bias_of(&m->w, c, l, QK_LIN_2), N, F, d); // (N, d)
    if (x->drop) dropout_forward(r2, at(a->drop, 2 + 2 * l, Nd), Nd, m, 2 + 2 * l);
    add(r2, r2, x1, Nd); /* r2 = x1 + dropout(ffn) */
    if (ln == QK_LN_POST)
        layer_ln_fwd(x, QK_P_LN2_G, out, at(a->x2_mean, l, N), at(a->x2_rstd, l, N), r2);
    else
        memcpy(out, r2, sizeof(float) * Nd);
}

/* res[l+1] = layer_l(res[l]) */
static void layer_forward(layer_ctx *x)
{
    qk_model *m = x->m;
    const qk_model_config *c = &m->cfg;
    for (int lin = 0; lin < QK_NLIN; lin++)
        if (sr_on(c, lin)) sr_forward(m, x->a, x->l, lin);
    const float *x1 = attn_sublayer_forward(x, at(x->a->res, x->l, x->Nd));
    float *xn = at(x->a->res, x->l + 1, x->Nd);
    if (has_ffn(c)) {
        ffn_sublayer_forward(x, x1, xn);
    } else {
        memcpy(xn, x1, sizeof(float) * x->Nd);
        if (x->drop) fill(at(x->a->drop, 2 + 2 * x->l, x->Nd), x->Nd, 1.0f); /* no FFN: its site holds 1 */
    }
    if (c->kappa1 > 0.0f || c->kappa2 > 0.0f) m->reg = m->reg + locater(m, x->s, x->l, NULL);
}

/* The gradient target of linear layer lin: G[lin] under σReparam (mapped later), else dW. */
static float *grad_target(qk_model *m, scr_t *s, int l, int lin)
{
    if (sr_on(&m->cfg, lin) || lin == QK_LIN_Q || lin == QK_LIN_K) return s->G + (size_t)lin * maxlin(&m->cfg);
    return raw_weight(&m->g, &m->cfg, l, lin);
}

/* dx += LN_t backward of this layer from dy, for the input in and its statistics */
static void layer_ln_bwd(const layer_ctx *x, int gain, float *dx, const float *dy, const float *in, const float *mean,
                         const float *rstd)
{
    const qk_model_config *c = &x->m->cfg;
    layernorm_bwd(dx, lparam(x, &x->m->g, gain, c->d), lparam(x, &x->m->g, gain + 1, c->d), dy, in, mean, rstd,
                  lparam(x, &x->m->w, gain, c->d), x->s->lnscr, x->N, c->d);
}

/* The FFN sub-layer backward: from s->dres = dL/d out, s->dx1 = dL/dx1. */
static void ffn_sublayer_backward(layer_ctx *x, const float *x1)
{
    qk_model *m = x->m;
    const qk_model_config *c = &m->cfg;
    acts_t *a = x->a;
    scr_t *s = x->s;
    int l = x->l, N = x->N, d = c->d, F = c->dff;
    size_t Nd = x->Nd, NF = x->NF;
    qk_ln_mode ln = ln_of(c);
    float *dr2 = s->dres;
    if (ln == QK_LN_POST) {
        zero(s->dln, Nd);
        layer_ln_bwd(x, QK_P_LN2_G, s->dln, s->dres, at(a->r2, l, Nd), at(a->x2_mean, l, N), at(a->x2_rstd, l, N));
        dr2 = s->dln;
    }
    /* r2 = x1 + mask ∘ (W2 act(W1 h2 + b1) + b2) */
    memcpy(s->dx1, dr2, sizeof(float) * Nd);
    const float *h2 = ln == QK_LN_PRE ? at(a->ln2, l, Nd) : x1, *dffn = dr2;
    if (x->drop) { /* s->dk is free until attention */
        dropout_backward(s->dk, dr2, at(a->drop, 2 + 2 * l, Nd), Nd);
        dffn = s->dk;
    }
    zero(s->dh1, NF);
    linear_backward(s->dh1, grad_target(m, s, l, QK_LIN_2), bias_of(&m->g, c, l, QK_LIN_2), dffn, at(a->h1r, l, NF),
                    weight_of(m, l, QK_LIN_2), N, F, d); // (N, F)
    act_backward(c, s->dh1, at(a->h1, l, NF), at(a->h1r, l, NF), s->dh1, NF);
    float *dh2 = ln == QK_LN_PRE ? s->dq : s->dx1; /* dq is free until attention */
    if (ln == QK_LN_PRE) zero(dh2, Nd);
    linear_backward(dh2, grad_target(m, s, l, QK_LIN_1), bias_of(&m->g, c, l, QK_LIN_1), s->dh1, h2,
                    weight_of(m, l, QK_LIN_1), N, d, F); // (N, d)
    if (ln == QK_LN_PRE)
        layer_ln_bwd(x, QK_P_LN2_G, s->dx1, dh2, x1, at(a->ln2_mean, l, N), at(a->ln2_rstd, l, N));
}

/* The attention sub-layer backward: from s->dx1 = dL/dx1, s->dres = dL/dx. */
static void attn_sublayer_backward(layer_ctx *x)
{
    qk_model *m = x->m;
    const qk_model_config *c = &m->cfg;
    acts_t *a = x->a;
    scr_t *s = x->s;
    int l = x->l, N = x->N, d = c->d, B = c->B, T = c->T, H = c->H;
    size_t Nd = x->Nd;
    qk_ln_mode ln = ln_of(c);
    const float *in = at(a->res, l, Nd);
    float *dr1 = s->dx1;
    if (ln == QK_LN_POST) {
        zero(s->dln, Nd);
        layer_ln_bwd(x, QK_P_LN1_G, s->dln, s->dx1, at(a->r1, l, Nd), at(a->x1_mean, l, N), at(a->x1_rstd, l, N));
        dr1 = s->dln;
    }
    /* r1 = [x +] mask ∘ (Wo o + bo); dL/dx accumulates the residual first */
    if (qk_variant_has_skip(c->variant)) memcpy(s->dres, dr1, sizeof(float) * Nd);
    else zero(s->dres, Nd);
    const float *dattn = dr1;
    if (x->drop) { /* s->dv is free until attention */
        dropout_backward(s->dv, dr1, at(a->drop, 1 + 2 * l, Nd), Nd);
        dattn = s->dv;
    }
    zero(s->dob, Nd);
    linear_backward(s->dob, grad_target(m, s, l, QK_LIN_O), bias_of(&m->g, c, l, QK_LIN_O), dattn, at(a->o, l, Nd),
                    weight_of(m, l, QK_LIN_O), N, d, d);
    zero(s->dq, Nd);
    zero(s->dk, Nd);
    zero(s->dv, Nd);
    attention_backward(s->dq, s->dk, s->dv, s->dP, s->dS, s->dob, at(a->att, l, (size_t)B * H * T * T),
                       at(a->q, l, Nd), at(a->k, l, Nd), at(a->v, l, Nd), B, T, d, H, c->kind == QK_MODEL_LM);
    const float *h = ln == QK_LN_PRE ? at(a->ln1, l, Nd) : in;
    float *dh = ln == QK_LN_PRE ? s->dln : s->dres;
    if (ln == QK_LN_PRE) zero(s->dln, Nd);
    static const int lins[3] = {QK_LIN_Q, QK_LIN_K, QK_LIN_V};
    float *dqkv[3] = {s->dq, s->dk, s->dv};
    for (int i = 0; i < 3; i++)
        linear_backward(dh, grad_target(m, s, l, lins[i]), bias_of(&m->g, c, l, lins[i]), dqkv[i], h,
                        weight_of(m, l, lins[i]), N, d, d);
    if (ln == QK_LN_PRE)
        layer_ln_bwd(x, QK_P_LN1_G, s->dres, s->dln, in, at(a->ln1_mean, l, N), at(a->ln1_rstd, l, N));
}

/* LocAteR's gradient, then every buffered weight gradient G to its parameters */
static void layer_map_grads(layer_ctx *x)
{
    qk_model *m = x->m;
    const qk_model_config *c = &m->cfg;
    int l = x->l;
    if (c->kappa1 > 0.0f || c->kappa2 > 0.0f) locater(m, x->s, l, x->s->G);
    for (int lin = 0; lin < QK_NLIN; lin++) {
        const float *G = x->s->G + (size_t)lin * maxlin(c);
        if (sr_on(c, lin)) sr_backward(m, x->a, l, lin, G);
        else if (lin == QK_LIN_Q || lin == QK_LIN_K) {
            float *dW = raw_weight(&m->g, c, l, lin);
            size_t n = (size_t)lin_out(c, lin) * lin_in(c, lin);
            for (size_t i = 0; i < n; i++) dW[i] += G[i];
        }
    }
}

/* From s->dres = dL/d res[l+1] to s->dres = dL/d res[l], accumulating the layer's gradients */
static void layer_backward(layer_ctx *x)
{
    const qk_model_config *c = &x->m->cfg;
    acts_t *a = x->a;
    zero(x->s->G, QK_NLIN * maxlin(c));
    const float *x1 = ln_of(c) == QK_LN_POST ? at(a->x1, x->l, x->Nd) : at(a->r1, x->l, x->Nd);
    if (has_ffn(c)) ffn_sublayer_backward(x, x1);
    else memcpy(x->s->dx1, x->s->dres, sizeof(float) * x->Nd);
    attn_sublayer_backward(x);
    layer_map_grads(x);
}

/* ------------------------------------------------------------------ forward */

qk_status qk_model_forward(qk_model *m, const int *tokens, const float *walk)
{
    if (!m) return QK_ERR_ARG;
    const qk_model_config *c = &m->cfg;
    int B = c->B, T = c->T, d = c->d, F = c->dff, L = c->L, N = B * T;
    int lm = c->kind == QK_MODEL_LM;
    if (lm ? !tokens : !walk) return QK_ERR_ARG;
    acts_t a;
    layout_acts(c, m->acts, &a);
    scr_t s;
    layout_scratch(c, m->scratch, &s, NULL);
    size_t Nd = (size_t)N * d, NF = (size_t)N * F;
    int drop = dropout_on(m);
    if (lm) {
        for (size_t i = 0; i < (size_t)B * (T + 1); i++) {
            if (tokens[i] < 0 || tokens[i] >= c->V) return QK_ERR_ARG;
            a.tok[i] = (float)tokens[i];
        }
        embed_forward(a.res, a.tok, m->w.p[QK_P_WTE], a.pos, B, T, d);
        if (drop) dropout_forward(a.res, a.drop, Nd, m, 0); /* the embedding sum */
    } else {
        for (int b = 0; b < B; b++) {
            memcpy(a.res + (size_t)b * T * d, walk + (size_t)b * (T + 1) * d, sizeof(float) * (size_t)T * d);
            memcpy(a.target + (size_t)b * d, walk + ((size_t)b * (T + 1) + T) * d, sizeof(float) * d);
        }
        if (drop) fill(a.drop, Nd, 1.0f); /* the walk model's input is not dropped: site 0 is all 1 */
    }
    m->reg = 0.0f;
    for (int l = 0; l < L; l++) {
        layer_ctx lx = {m, &a, &s, l, N, drop, Nd, NF};
        layer_forward(&lx);
    }
    const float *xf = at(a.res, L, Nd);
    if (lm) {
        if (ln_of(c) == QK_LN_PRE) {
            layernorm_fwd(a.lnf, a.lnf_mean, a.lnf_rstd, xf, m->w.p[QK_P_LNF_G], m->w.p[QK_P_LNF_B], N, d, c->ln_eps);
            xf = a.lnf;
        }
        qk_mat LO = mat(a.out, N, c->V), XF = mat((float *)xf, N, d), WO = mat(m->w.p[QK_P_WOUT], c->V, d);
        qk_matmul(&LO, &XF, &WO, QK_TRANS_B);
        m->loss = crossentropy_forward(a.lse, a.losses, a.row, a.out, a.tok, B, T, c->V);
    } else {
        /* squared error of the last position against the next step, mean over B·d */
        for (int b = 0; b < B; b++) {
            const float *pred = xf + ((size_t)b * T + T - 1) * d;
            memcpy(a.out + (size_t)b * d, pred, sizeof(float) * d);
            for (int i = 0; i < d; i++) {
                float e = pred[i] - a.target[(size_t)b * d + i];
                a.losses[(size_t)b * d + i] = e * e;
            }
        }
        m->loss = qk_sum(a.losses, B * d) / (float)(B * d);
    }
    float total = m->loss + m->reg;
    if (!(total - total == 0.0f)) return QK_ERR_NONFINITE;
    return QK_OK;
}

/* ------------------------------------------------------------------ backward */

qk_status qk_model_backward(qk_model *m)
{
    if (!m || !m->g.p[0]) return QK_ERR_ARG;
    const qk_model_config *c = &m->cfg;
    int B = c->B, T = c->T, d = c->d, F = c->dff, L = c->L, N = B * T;
    int lm = c->kind == QK_MODEL_LM;
    acts_t a;
    layout_acts(c, m->acts, &a);
    scr_t s;
    layout_scratch(c, m->scratch, &s, NULL);
    size_t Nd = (size_t)N * d, NF = (size_t)N * F;
    int drop = dropout_on(m);
    zero(m->g.p[0], param_count(m));
    zero(s.dres, Nd);
    const float *xf = at(a.res, L, Nd);
    if (lm) {
        crossentropy_backward(s.dout, a.lse, a.out, a.tok, B, T, c->V);
        const float *xin = ln_of(c) == QK_LN_PRE ? a.lnf : xf;
        float *dxf = ln_of(c) == QK_LN_PRE ? s.dln : s.dres;
        if (ln_of(c) == QK_LN_PRE) zero(s.dln, Nd);
        qk_mat DL = mat(s.dout, N, c->V), WO = mat(m->w.p[QK_P_WOUT], c->V, d), X = mat((float *)xin, N, d);
        qk_mat DX = mat(dxf, N, d), DW = mat(m->g.p[QK_P_WOUT], c->V, d);
        qk_matmul(&DX, &DL, &WO, QK_ACCUMULATE);
        qk_matmul(&DW, &DL, &X, QK_TRANS_A | QK_ACCUMULATE);
        if (ln_of(c) == QK_LN_PRE)
            layernorm_bwd(s.dres, m->g.p[QK_P_LNF_G], m->g.p[QK_P_LNF_B], s.dln, xf, a.lnf_mean, a.lnf_rstd,
                          m->w.p[QK_P_LNF_G], s.lnscr, N, d);
    } else {
        float inv = 2.0f / (float)(B * d);
        for (int b = 0; b < B; b++)
            for (int i = 0; i < d; i++)
                s.dres[((size_t)b * T + T - 1) * d + i] = (a.out[(size_t)b * d + i] - a.target[(size_t)b * d + i]) * inv;
    }
    for (int l = L - 1; l >= 0; l--) {
        layer_ctx lx = {m, &a, &s, l, N, drop, Nd, NF};
        layer_backward(&lx);
    }
    if (lm) {
        if (drop) dropout_backward(s.dres, s.dres, a.drop, Nd);
        embed_backward(m->g.p[QK_P_WTE], s.dres, a.tok, B, T, d);
    }
    return QK_OK;
}

/* ------------------------------------------------------------------ AdamW */

/* PyTorch's AdamW: p *= 1 - lr·wd; m = β1 m + (1-β1) g; v = β2 v + (1-β2) g²;
 * p -= (lr/bc1) · m / (sqrt(v)/sqrt(bc2) + eps), bc_i = 1 - β_i^t (in double). */
typedef struct {
    float *p;
    const float *g;
    float *mm, *vv;
    float b1, b2, ob1, ob2, decay, sqrt_bc2, eps, step_size;
} adam_job;

static void adam_range(void *ctx, size_t lo, size_t hi)
{
    const adam_job *j = (const adam_job *)ctx;
    float *p = j->p, *mm = j->mm, *vv = j->vv;
    const float *g = j->g;
    for (size_t i = lo; i < hi; i++) {
        p[i] = p[i] * j->decay;
        mm[i] = j->b1 * mm[i] + j->ob1 * g[i];
        vv[i] = j->b2 * vv[i] + j->ob2 * (g[i] * g[i]);
        float denom = sqrtf(vv[i]) / j->sqrt_bc2 + j->eps;
        p[i] = p[i] - j->step_size * (mm[i] / denom);
    }
}

qk_status qk_model_adamw(qk_model *m)
{
    if (!m || !m->g.p[0]) return QK_ERR_ARG;
    const qk_model_config *c = &m->cfg;
    size_t n = param_count(m);
    float *p = m->w.p[0], *g = m->g.p[0], *mm = m->m.p[0], *vv = m->v.p[0];
    for (size_t i = 0; i < n; i++)
        if (!(g[i] - g[i] == 0.0f)) return QK_ERR_NONFINITE;
    m->step++;
    double b1t = 1.0, b2t = 1.0;
    for (long t = 0; t < m->step; t++) {
        b1t *= (double)c->beta1;
        b2t *= (double)c->beta2;
    }
    float step_size = (float)((double)c->lr / (1.0 - b1t));
    float sqrt_bc2 = (float)sqrt(1.0 - b2t);
    float decay = 1.0f - c->lr * c->weight_decay;
    adam_job j = {p, g, mm, vv, c->beta1, c->beta2, 1.0f - c->beta1, 1.0f - c->beta2, decay, sqrt_bc2, c->adam_eps,
                  step_size};
    par_range(n, adam_range, &j); /* each parameter by one task (SPEC §2.8) */
    return QK_OK;
}

/* ------------------------------------------------------------------ outputs, hash */

const float *qk_model_output(const qk_model *m)
{
    acts_t a;
    layout_acts(&m->cfg, m->acts, &a);
    return a.out;
}

const float *qk_model_hidden(const qk_model *m, int layer)
{
    acts_t a;
    layout_acts(&m->cfg, m->acts, &a);
    return at(a.res, layer, (size_t)m->cfg.B * m->cfg.T * m->cfg.d);
}

const float *qk_model_attention(const qk_model *m, int layer)
{
    const qk_model_config *c = &m->cfg;
    acts_t a;
    layout_acts(c, m->acts, &a);
    return at(a.att, layer, (size_t)c->B * c->H * c->T * c->T);
}

uint64_t qk_model_param_hash(const qk_model *m)
{
    uint64_t h = 0xcbf29ce484222325ull;
    const unsigned char *p = (const unsigned char *)m->w.p[0];
    size_t n = param_count(m) * sizeof(float);
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* ------------------------------------------------------------------ presets */

qk_status qk_model_preset(const char *name, qk_model_config *c)
{
    if (!name || !c) return QK_ERR_ARG;
    qk_model_config base = {QK_MODEL_LM, 256, 128, 1, 128, 1, 64, 64, QK_LN_PRE, 1e-5f, 0.0f, 0.0f, QK_SR_OFF,
                            2.5e-5f, 0.9f, 0.999f, 1e-8f, 0.01f, QK_NORM_TOKEN, QK_INIT_LEGACY, 0.0f,
                            QK_VAR_TRANSFORMER, QK_ACT_RELU, 0.02};
    *c = base;
    if (!strcmp(name, "paper")) return QK_OK; /* SPEC §1.2: d=128, T=64, batch 64, lr 2.5e-5 */
    if (!strcmp(name, "paper-d32")) {
        c->d = c->dff = 32;
        c->lr = 1e-4f;
        return QK_OK;
    }
    if (!strcmp(name, "tiny")) { /* a few hundred parameters, for gradient checks */
        c->V = 11; c->d = 8; c->H = 2; c->dff = 8; c->T = 5; c->B = 2; c->lr = 1e-2f;
        return QK_OK;
    }
    if (!strcmp(name, "small")) {
        c->V = 64; c->d = 32; c->H = 2; c->dff = 32; c->T = 16; c->B = 4; c->lr = 1e-3f;
        return QK_OK;
    }
    if (!strcmp(name, "walk")) { /* the theory model of SPEC §1.2 on random walks */
        c->kind = QK_MODEL_WALK; c->V = 0; c->d = 16; c->dff = 16; c->T = 20; c->B = 32;
        c->ln = QK_LN_NONE; c->lr = 1e-3f;
        return QK_OK;
    }
    return QK_ERR_ARG;
}

/* ------------------------------------------------------------------ metrics (SPEC §1.1) */

float qk_model_attn_entropy(const qk_model *m, int layer)
{
    const qk_model_config *c = &m->cfg;
    acts_t a;
    layout_acts(c, m->acts, &a);
    int B = c->B, T = c->T, H = c->H, causal = c->kind == QK_MODEL_LM;
    const float *att = at(a.att, layer, (size_t)B * H * T * T);
    double total = 0.0; /* a mean of B·H·T row entropies; order fixed */
    for (int bh = 0; bh < B * H; bh++)
        for (int i = 0; i < T; i++) {
            const float *p = att + ((size_t)bh * T + i) * T;
            int n = causal ? i + 1 : T;
            double e = 0.0;
            for (int j = 0; j < n; j++)
                if (p[j] > 0.0f) e -= (double)p[j] * qk_log((double)p[j]);
            total += e;
        }
    return (float)(total / ((double)B * H * T));
}

/* z_i = ω_i/T - Σ_j ω_j/T² + 1/T for the last query's logits ω (already /λ);
 * ρ_i = fraction of (sequence, head) pairs with z_i in [0, 1]. */
void qk_model_rho(const qk_model *m, int layer, float *rho)
{
    const qk_model_config *c = &m->cfg;
    acts_t a;
    layout_acts(c, m->acts, &a);
    int B = c->B, T = c->T, H = c->H;
    const float *last = at(a.last, layer, (size_t)B * H * T);
    for (int i = 0; i < T; i++) rho[i] = 0.0f;
    for (int bh = 0; bh < B * H; bh++) {
        const float *w = last + (size_t)bh * T;
        double s = 0.0;
        for (int j = 0; j < T; j++) s += w[j];
        for (int i = 0; i < T; i++) {
            double z = (double)w[i] / T - s / ((double)T * T) + 1.0 / T;
            if (z >= 0.0 && z <= 1.0) rho[i] += 1.0f;
        }
    }
    for (int i = 0; i < T; i++) rho[i] = rho[i] / (float)(B * H);
}

void qk_model_wqk(const qk_model *m, int layer, int head, double *out)
{
    const qk_model_config *c = &m->cfg;
    int d = c->d, dh = d / c->H;
    const float *wq = weight_of(m, layer, QK_LIN_Q) + (size_t)head * dh * d;
    const float *wk = weight_of(m, layer, QK_LIN_K) + (size_t)head * dh * d;
    /* W_QK = W_Q,hᵀ W_K,h: (d, d), in double, k in increasing order */
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) {
            double s = 0.0;
            for (int k = 0; k < dh; k++) s = qk__fma((double)wq[(size_t)k * d + i], (double)wk[(size_t)k * d + j], s);
            out[(size_t)i * d + j] = s;
        }
}

void qk_model_qk_stats(const qk_model *m, int layer, int head, qk_qk_stats *st)
{
    const qk_model_config *c = &m->cfg;
    int d = c->d, dh = d / c->H;
    const float *wq = weight_of(m, layer, QK_LIN_Q) + (size_t)head * dh * d;
    const float *wk = weight_of(m, layer, QK_LIN_K) + (size_t)head * dh * d;
    /* traces from dh×dh Gram matrices: tr W = <W_Q, W_K>; ‖W‖_F² = tr(M_Q M_K);
     * tr(S²) = (‖W‖_F² + tr(W²))/2 with tr(W²) = ‖W_Q W_Kᵀ‖_F²... computed below. */
    double tr = 0.0, frob = 0.0, trw2 = 0.0;
    for (size_t i = 0; i < (size_t)dh * d; i++) tr = qk__fma((double)wq[i], (double)wk[i], tr);
    for (int a = 0; a < dh; a++)
        for (int b = 0; b < dh; b++) {
            double mq = 0.0, mk = 0.0, x = 0.0, y = 0.0;
            for (int k = 0; k < d; k++) {
                mq = qk__fma((double)wq[(size_t)a * d + k], (double)wq[(size_t)b * d + k], mq);
                mk = qk__fma((double)wk[(size_t)a * d + k], (double)wk[(size_t)b * d + k], mk);
                x = qk__fma((double)wk[(size_t)a * d + k], (double)wq[(size_t)b * d + k], x); /* (W_K W_Qᵀ)_ab */
                y = qk__fma((double)wk[(size_t)b * d + k], (double)wq[(size_t)a * d + k], y); /* (W_K W_Qᵀ)_ba */
            }
            frob = qk__fma(mq, mk, frob);
            trw2 = qk__fma(x, y, trw2); /* tr(W²) = tr((W_K W_Qᵀ)²) */
        }
    double trs2 = 0.5 * (frob + trw2);
    st->trace = tr;
    st->frob2 = frob;
    st->mean = tr / d;
    st->scale = trs2;
    st->var = ((double)d * trs2 - tr * tr) / ((double)d * d);
}

/* ------------------------------------------------------------------ random walks */

void qk_walk_sample(qk_rng *r, float *x, int n, int d, const float *R)
{
    double z[QK_MAX_D];
    double inv = R ? 1.0 / sqrt((double)d) : 1.0;
    for (int t = 0; t < n; t++) {
        for (int i = 0; i < d; i++) z[i] = qk_rng_normal(r);
        for (int j = 0; j < d; j++) {
            double s = z[j];
            if (R) { /* (Rᵀ z)_j = Σ_i R_ij z_i */
                s = 0.0;
                for (int i = 0; i < d; i++) s = qk__fma((double)R[(size_t)i * d + j], z[i], s);
            }
            /* x_t = x_{t-1} + step, rounded once (row t - 1 is not written here) */
            double prev = t ? (double)x[(size_t)(t - 1) * d + j] : 0.0;
            x[(size_t)t * d + j] = (float)(prev + s * inv);
        }
    }
}
