#include "qk_fp.h"
/* qk_train.c — the training loop of the model (SPEC §1.2): batches, the optimizer
 * step with its non-finite stop, and evaluation (SPEC §1.1's numbers). No allocation,
 * no I/O; shapes: B sequences of T+1 tokens or walk steps of width d, K validation
 * batches. */
#include <math.h> /* NAN */
#include <string.h>
#include "qk_eigen.h"
#include "qk_train.h"

#define QK__DATA_SEED_MUL 7919u
#define QK__DATA_SEED_ADD 17u
#define QK__EVAL_WALK_SEED 987654321u

/* ------------------------------------------------------------------ sizes, binding */

/* Evaluation workspace in doubles: ρ accumulator (T), W_QK (d, d), and the larger of
 * the eigensolver's and the spectral norm's workspaces. */
static size_t qk__eig_work_len(int d)
{
    size_t a = qk_eigh_work_len(d, 0), b = qk_spectral_norm_work_len(d, d);
    return a > b ? a : b;
}

qk_status qk_train_sizes(const qk_model_config *mc, const qk_train_config *tc, qk_train_sizes_t *sz)
{
    if (!mc || !tc || !sz) return QK_ERR_ARG;
    if (tc->eval_batches < 0) return QK_ERR_ARG;
    memset(sz, 0, sizeof *sz);
    qk_status s = qk_model_sizes(mc, &sz->m);
    if (s != QK_OK) return s;
    size_t K = (size_t)tc->eval_batches, seq = (size_t)mc->B * (size_t)(mc->T + 1);
    sz->model = 4 * sz->m.params + sz->m.acts + sz->m.scratch + sz->m.state;
    if (mc->kind == QK_MODEL_LM) sz->tokens = seq;
    else sz->walks = (1 + K) * seq * (size_t)mc->d;
    if (K) sz->work = (size_t)mc->T + (size_t)mc->d * (size_t)mc->d + qk__eig_work_len(mc->d);
    sz->bytes = sizeof(float) * (sz->model + sz->walks) + sizeof(int) * sz->tokens + sizeof(double) * sz->work;
    return QK_OK;
}

qk_status qk_train_bind_model(qk_model *m, const qk_model_config *mc, float *mem, size_t n)
{
    if (!m || !mc || !mem) return QK_ERR_ARG;
    qk_model_sizes_t sz;
    qk_status s = qk_model_sizes(mc, &sz);
    if (s != QK_OK) return s;
    if (n < 4 * sz.params + sz.acts + sz.scratch + sz.state) return QK_ERR_CAPACITY;
    float *w = mem, *g = w + sz.params, *am = g + sz.params, *av = am + sz.params;
    float *acts = av + sz.params, *scr = acts + sz.acts, *st = scr + sz.scratch;
    return qk_model_bind(m, mc, w, g, am, av, acts, scr, st);
}

qk_status qk_train_split(long n, float val_frac, int T, long *n_train)
{
    if (!n_train || !(val_frac >= 0.0f && val_frac < 1.0f) || n < 0 || T < 1) return QK_ERR_ARG;
    long nval = (long)(n * (double)val_frac);
    *n_train = n - nval;
    if (*n_train < (long)T + 2 || nval < (long)T + 2) return QK_ERR_ARG;
    return QK_OK;
}

qk_status qk_train_init(qk_trainer *t, qk_model *m, const qk_train_config *tc, int *tokens, float *walks,
                        double *work)
{
    if (!t || !m || !tc || tc->eval_batches < 0) return QK_ERR_ARG;
    const qk_model_config *c = &m->cfg;
    int lm = c->kind == QK_MODEL_LM, K = tc->eval_batches;
    memset(t, 0, sizeof *t);
    if (lm) {
        if (!tokens || !tc->ids) return QK_ERR_ARG;
        qk_status s = qk_train_split(tc->n_ids, tc->val_frac, c->T, &t->n_train);
        if (s != QK_OK) return s;
    } else if (!walks) {
        return QK_ERR_ARG;
    }
    if (K > 0 && !work) return QK_ERR_ARG;
    qk_status s = qk_model_init(m, tc->seed);
    if (s != QK_OK) return s;
    t->m = m;
    t->cfg = *tc;
    t->tok = tokens;
    t->walk = lm ? NULL : walks;
    t->eval_walk = lm ? NULL : walks + (size_t)c->B * (c->T + 1) * c->d; /* (K, B, T+1, d) */
    t->work = K > 0 ? work : NULL;
    qk_rng_seed(&t->rng, tc->seed * QK__DATA_SEED_MUL + QK__DATA_SEED_ADD);
    t->step = 0;
    t->loss = NAN;
    t->stop = QK_TRAIN_RUNNING;
    t->stop_step = 0;
    if (!lm && K > 0) {
        qk_rng er;
        qk_rng_seed(&er, QK__EVAL_WALK_SEED);
        for (int b = 0; b < c->B * K; b++) qk_walk_sample(&er, t->eval_walk + (size_t)b * (c->T + 1) * c->d, c->T + 1, c->d, NULL);
    }
    return QK_OK;
}

/* ------------------------------------------------------------------ batches */

/* tok (B, T+1): windows of ids at random starts in [lo, hi - T - 1] */
static void qk__random_batch(int *tok, const int *ids, long lo, long hi, int B, int T, qk_rng *r)
{
    long span = hi - lo - T - 1;
    for (int b = 0; b < B; b++) {
        long s = lo + (long)(qk_rng_u64(r) % (uint64_t)(span + 1));
        memcpy(tok + (size_t)b * (T + 1), ids + s, sizeof(int) * (size_t)(T + 1));
    }
}

/* tok (B, T+1): validation batch k of K, windows j = k·B + b evenly spaced over
 * [lo, hi - T - 1]: start lo + floor(span·j/(K·B - 1)). Integer arithmetic; equal to
 * the truncated double quotient while span·j < 2^53 (the quotient of integers below
 * 2^53 never rounds up to the next integer). */
static void qk__eval_batch(int *tok, const int *ids, long lo, long hi, int B, int T, int k, int K)
{
    uint64_t span = (uint64_t)(hi - lo - T - 1), n = (uint64_t)K * (uint64_t)B;
    for (int b = 0; b < B; b++) {
        uint64_t j = (uint64_t)k * (uint64_t)B + (uint64_t)b;
        long s = lo + (n > 1 ? (long)(span * j / (n - 1)) : 0);
        memcpy(tok + (size_t)b * (T + 1), ids + s, sizeof(int) * (size_t)(T + 1));
    }
}

/* ------------------------------------------------------------------ step */

qk_status qk_train_step(qk_trainer *t)
{
    if (!t || !t->m) return QK_ERR_ARG;
    if (t->stop != QK_TRAIN_RUNNING) return QK_ERR_NONFINITE;
    qk_model *m = t->m;
    const qk_model_config *c = &m->cfg;
    int B = c->B, T = c->T, d = c->d;
    if (c->kind == QK_MODEL_LM) qk__random_batch(t->tok, t->cfg.ids, 0, t->n_train, B, T, &t->rng);
    else
        for (int b = 0; b < B; b++) qk_walk_sample(&t->rng, t->walk + (size_t)b * (T + 1) * d, T + 1, d, NULL);
    qk_model_sr_step(m);
    m->training = 1; /* dropout on (SPEC §1.2); its masks are keyed by m->step */
    qk_status s = qk_model_forward(m, t->tok, t->walk);
    if (s == QK_ERR_NONFINITE) {
        t->stop = QK_TRAIN_NONFINITE_LOSS;
        t->stop_step = t->step + 1;
    }
    if (s != QK_OK) return s;
    t->loss = m->loss;
    s = qk_model_backward(m);
    if (s != QK_OK) return s;
    s = qk_model_adamw(m);
    if (s == QK_ERR_NONFINITE) {
        t->stop = QK_TRAIN_NONFINITE_GRAD;
        t->stop_step = t->step + 1;
    }
    if (s != QK_OK) return s;
    t->step++;
    return QK_OK;
}

/* ------------------------------------------------------------------ evaluation */

/* σ_max of W_QK of head h (layer 0); NaN unless qk_spectral_norm writes it. */
static double qk__spectral_norm_wqk(const qk_model *m, int h, double *W, double *work)
{
    int d = m->cfg.d;
    qk_model_wqk(m, 0, h, W); /* (d, d) */
    double s = NAN;
    qk_spectral_norm(d, d, W, d, &s, work, qk_spectral_norm_work_len(d, d));
    return s;
}

qk_status qk_train_eval(qk_trainer *t, qk_train_metrics *e, float *rho)
{
    return qk_train_eval_layers(t, e, rho, NULL, NULL);
}

qk_status qk_train_eval_layers(qk_trainer *t, qk_train_metrics *e, float *rho, double *entropy_l, float *rho_l)
{
    if (!t || !t->m || !e || !t->work || t->cfg.eval_batches < 1) return QK_ERR_ARG;
    qk_model *m = t->m;
    const qk_model_config *c = &m->cfg;
    int K = t->cfg.eval_batches, T = c->T, d = c->d, lm = c->kind == QK_MODEL_LM;
    double *racc = t->work;          /* (T) */
    double *W = racc + T;            /* (d, d) */
    double *ework = W + (size_t)d * d;
    double loss = 0, ent = 0;
    int L = c->L;
    for (int i = 0; i < T; i++) racc[i] = 0;
    if (entropy_l)
        for (int l = 0; l < L; l++) entropy_l[l] = 0;
    if (rho_l)
        for (size_t i = 0; i < (size_t)L * T; i++) rho_l[i] = 0.0f;
    for (int k = 0; k < K; k++) {
        const float *walk = NULL;
        if (lm) qk__eval_batch(t->tok, t->cfg.ids, t->n_train, t->cfg.n_ids, c->B, T, k, K);
        else walk = t->eval_walk + (size_t)k * c->B * (T + 1) * d;
        m->training = 0; /* evaluation: no dropout (SPEC §1.2) */
        qk_status s = qk_model_forward(m, t->tok, walk);
        m->training = 1;
        if (s != QK_OK) return s;
        loss += m->loss / K;
        ent += qk_model_attn_entropy(m, 0) / K;
        if (rho) {
            qk_model_rho(m, 0, rho); /* this batch's ρ, (T) */
            for (int i = 0; i < T; i++) racc[i] += rho[i] / K;
        }
        /* every layer (layer 0 again, by the same calls: the same numbers) */
        for (int l = 0; l < L && (entropy_l || rho_l); l++) {
            if (entropy_l) entropy_l[l] += qk_model_attn_entropy(m, l) / K;
            if (rho_l) {
                float *rl = rho_l + (size_t)l * T, *tmp = rho_l + (size_t)L * T; /* the scratch row */
                qk_model_rho(m, l, tmp);
                for (int i = 0; i < T; i++) rl[i] += tmp[i] / (float)K;
            }
        }
    }
    memset(e, 0, sizeof *e);
    e->step = t->step;
    e->train_loss = t->loss;
    e->val_loss = loss;
    e->val_ppl = lm ? qk_exp(loss) : NAN;
    e->reg = m->reg;
    e->entropy = ent;
    for (int h = 0; h < c->H; h++) {
        qk_qk_stats st;
        qk_model_qk_stats(m, 0, h, &st);
        e->eig_mean += st.mean / c->H;
        e->eig_scale += st.scale / c->H;
        e->eig_var += st.var / c->H;
        e->frob2 += st.frob2 / c->H;
        e->trace += st.trace / c->H;
        e->spectral_norm += qk__spectral_norm_wqk(m, h, W, ework) / c->H;
    }
    if (rho)
        for (int i = 0; i < T; i++) rho[i] = (float)racc[i];
    return QK_OK;
}

qk_status qk_train_qk_eigenvalues(qk_trainer *t, double *w)
{
    if (!t || !t->m || !w || !t->work) return QK_ERR_ARG;
    const qk_model *m = t->m;
    int d = m->cfg.d;
    double *W = t->work + m->cfg.T, *ework = W + (size_t)d * d; /* (d, d), eigensolver */
    qk_model_wqk(m, 0, 0, W);
    qk_symmetrize(d, W, d);
    if (qk_eigh(d, W, d, w, NULL, d, ework, qk_eigh_work_len(d, 0), NULL, NULL) != QK_OK)
        for (int i = 0; i < d; i++) w[i] = NAN;
    return QK_OK;
}

/* ------------------------------------------------------------------ state */

#define QK__STATE_HEAD 96 /* bytes before the float arrays */

static void qk__put32(unsigned char **p, uint32_t v)
{
    for (int i = 0; i < 4; i++) *(*p)++ = (unsigned char)(v >> (8 * i));
}

static void qk__put64(unsigned char **p, uint64_t v)
{
    qk__put32(p, (uint32_t)v);
    qk__put32(p, (uint32_t)(v >> 32));
}

static uint32_t qk__get32(const unsigned char **p)
{
    const unsigned char *b = *p;
    *p += 4;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint64_t qk__get64(const unsigned char **p)
{
    uint64_t lo = qk__get32(p);
    return lo | (uint64_t)qk__get32(p) << 32;
}

/* floats as their bit patterns, little-endian, whatever the host's byte order */
static void qk__put_floats(unsigned char **p, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], 4);
        qk__put32(p, u);
    }
}

static void qk__get_floats(const unsigned char **p, float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u = qk__get32(p);
        memcpy(&x[i], &u, 4);
    }
}

/* P and S of a bound trainer; 0 when it is not set up */
static int qk__state_counts(const qk_trainer *t, size_t *P, size_t *S)
{
    qk_model_sizes_t sz;
    if (!t || !t->m || qk_model_sizes(&t->m->cfg, &sz) != QK_OK) return 0;
    *P = sz.params;
    *S = sz.state;
    return 1;
}

size_t qk_train_state_size(const qk_trainer *t)
{
    size_t P, S;
    if (!qk__state_counts(t, &P, &S)) return 0;
    return QK__STATE_HEAD + 4 * (3 * P + S);
}

qk_status qk_train_save_state(const qk_trainer *t, void *buf, size_t n)
{
    size_t P, S;
    if (!buf || !qk__state_counts(t, &P, &S)) return QK_ERR_ARG;
    if (n < qk_train_state_size(t)) return QK_ERR_CAPACITY;
    const qk_model *m = t->m;
    unsigned char *p = buf;
    uint64_t spare;
    uint32_t loss;
    memcpy(&spare, &t->rng.spare, 8);
    memcpy(&loss, &t->loss, 4);
    memcpy(p, "QKTS", 4);
    p += 4;
    qk__put32(&p, 1);
    qk__put32(&p, (uint32_t)m->cfg.kind);
    qk__put32(&p, 0);
    qk__put64(&p, P);
    qk__put64(&p, S);
    qk__put64(&p, (uint64_t)t->step);
    qk__put64(&p, (uint64_t)m->step);
    for (int i = 0; i < 4; i++) qk__put64(&p, t->rng.s[i]);
    qk__put64(&p, spare);
    qk__put32(&p, t->rng.has_spare ? 1u : 0u);
    qk__put32(&p, loss);
    qk__put_floats(&p, m->w.p[0], P);
    qk__put_floats(&p, m->m.p[0], P);
    qk__put_floats(&p, m->v.p[0], P);
    qk__put_floats(&p, m->state, S);
    return QK_OK;
}

qk_status qk_train_load_state(qk_trainer *t, const void *buf, size_t n)
{
    size_t P, S;
    if (!buf || !qk__state_counts(t, &P, &S) || n != qk_train_state_size(t)) return QK_ERR_ARG;
    const unsigned char *p = buf;
    if (p[0] != 'Q' || p[1] != 'K' || p[2] != 'T' || p[3] != 'S') return QK_ERR_ARG; /* no memcmp on a board */
    p += 4;
    if (qk__get32(&p) != 1 || qk__get32(&p) != (uint32_t)t->m->cfg.kind || qk__get32(&p) != 0) return QK_ERR_ARG;
    if (qk__get64(&p) != P || qk__get64(&p) != S) return QK_ERR_ARG;
    uint64_t step = qk__get64(&p), mstep = qk__get64(&p);
    if (step > 0x7fffffffu || mstep > 0x7fffffffu) return QK_ERR_ARG; /* a long on every target */
    qk_rng r;
    for (int i = 0; i < 4; i++) r.s[i] = qk__get64(&p);
    uint64_t spare = qk__get64(&p);
    uint32_t has = qk__get32(&p), loss = qk__get32(&p);
    if (has > 1 || !(r.s[0] | r.s[1] | r.s[2] | r.s[3])) return QK_ERR_ARG; /* xoshiro's state is never all zero */
    memcpy(&r.spare, &spare, 8);
    r.has_spare = (int)has;
    qk_model *m = t->m;
    qk__get_floats(&p, m->w.p[0], P);
    qk__get_floats(&p, m->m.p[0], P);
    qk__get_floats(&p, m->v.p[0], P);
    qk__get_floats(&p, m->state, S);
    m->step = (long)mstep;
    t->rng = r;
    t->step = (long)step;
    memcpy(&t->loss, &loss, 4);
    t->stop = QK_TRAIN_RUNNING;
    t->stop_step = 0;
    return QK_OK;
}

/* ------------------------------------------------------------------ synthetic corpus */

static void qk__put(unsigned char *buf, size_t *n, const char *s)
{
    while (*s) buf[(*n)++] = (unsigned char)*s++;
}

/* Sentences from a small grammar with agreement and a few long-range patterns, from a
 * generator with its own seed. Each sentence draws, in this order: subject, object,
 * kind (u64 mod 4), then the other words of its kind from the last to the first,
 * then one u64 for a line break (1 in 8). The text is fixed by this order. */
size_t qk_synthetic_corpus(unsigned char *buf, size_t cap)
{
    static const char *const det[] = {"the", "a", "every", "no", "one"};
    static const char *const adj[] = {"old", "quiet", "clever", "small", "bright", "cold", "honest", "strange",
                                      "patient", "red"};
    static const char *const noun[] = {"king", "river", "doctor", "garden", "machine", "teacher", "city", "letter",
                                       "sailor", "lawyer", "window", "horse"};
    static const char *const verb[] = {"sees", "follows", "praises", "forgets", "builds", "answers", "carries",
                                       "watches", "admires", "remembers"};
    static const char *const adv[] = {"slowly", "often", "never", "again", "gladly", "at night"};
    if (!buf) return 0;
    qk_rng r;
    qk_rng_seed(&r, 20240202);
#define QK__PICK(a) a[qk_rng_u64(&r) % (sizeof a / sizeof a[0])]
    size_t n = 0;
    while (n + 200 < cap && n < QK_SYNTHETIC_CORPUS_MAX - 200) { /* a sentence is < 100 bytes */
        size_t s0 = n;
        const char *subj = QK__PICK(noun);
        const char *obj = QK__PICK(noun);
        int kind = (int)(qk_rng_u64(&r) % 4);
        if (kind == 0) { /* det adj subj verb det obj. */
            const char *d2 = QK__PICK(det), *v = QK__PICK(verb), *a = QK__PICK(adj), *d1 = QK__PICK(det);
            const char *w[] = {d1, " ", a, " ", subj, " ", v, " ", d2, " ", obj, ". "};
            for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) qk__put(buf, &n, w[i]);
        } else if (kind == 1) { /* det subj verb the obj. */
            const char *v = QK__PICK(verb), *d1 = QK__PICK(det);
            const char *w[] = {d1, " ", subj, " ", v, " the ", obj, ". "};
            for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) qk__put(buf, &n, w[i]);
        } else if (kind == 2) { /* the subj adv verb, and the obj verb it. */
            const char *v2 = QK__PICK(verb), *v1 = QK__PICK(verb), *a = QK__PICK(adv);
            const char *w[] = {"the ", subj, " ", a, " ", v1, ", and the ", obj, " ", v2, " it. "};
            for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) qk__put(buf, &n, w[i]);
        } else { /* when the subj verb the obj, the obj verb the subj. */
            const char *v2 = QK__PICK(verb), *v1 = QK__PICK(verb);
            const char *w[] = {"when the ", subj, " ", v1, " the ", obj, ", the ", obj, " ", v2, " the ", subj, ". "};
            for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) qk__put(buf, &n, w[i]);
        }
        if (buf[s0] >= 'a' && buf[s0] <= 'z') buf[s0] = (unsigned char)(buf[s0] - 32); /* capital */
        if (qk_rng_u64(&r) % 8 == 0) buf[n++] = '\n';
    }
#undef QK__PICK
    return n;
}

qk_status qk_train_example(qk_train_example_mem *mem, int steps, uint64_t *hash, float *first_loss,
                           float *last_loss)
{
    qk_model_config c;
    qk_model m;
    qk_trainer t;
    qk_train_sizes_t sz;
    qk_train_config tc = {1, 0, 0.1f, mem->ids, 0};
    qk_model_preset("tiny", &c);
    c.V = 256;
    tc.n_ids = (long)qk_synthetic_corpus(mem->text, sizeof mem->text);
    for (long i = 0; i < tc.n_ids; i++) mem->ids[i] = mem->text[i];
    qk_status s = qk_train_sizes(&c, &tc, &sz);
    if (s != QK_OK) return s;
    if (sz.model != sizeof mem->model / sizeof mem->model[0] || sz.tokens > sizeof mem->tok / sizeof mem->tok[0] ||
        sz.work != 0)
        return QK_ERR_CAPACITY;
    s = qk_train_bind_model(&m, &c, mem->model, sz.model);
    if (s == QK_OK) s = qk_train_init(&t, &m, &tc, mem->tok, NULL, NULL);
    for (int k = 0; k < steps && s == QK_OK; k++) {
        s = qk_train_step(&t);
        if (k == 0 && first_loss) *first_loss = t.loss;
    }
    if (s != QK_OK) return s;
    if (last_loss) *last_loss = t.loss;
    *hash = qk_model_param_hash(&m);
    return QK_OK;
}
