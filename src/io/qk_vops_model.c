/* qk_vops_model.c — vector-file operations of the model (SPEC §3): one training step
 * and a short AdamW trajectory, from the configuration in the case's params.
 *
 *   params: kind V d H dff L T B ln sr seed [steps] [norm] [init] [variant] [act]
 *           norm: LocAteR weighting (SPEC §1.1), 0 token (when absent), 1 sum;
 *           init: 0 legacy (when absent), 1 fairseq (SPEC §1.2), 2 bert (SPEC §1.4;
 *           then also init_std_ppm, the weights' std in millionths);
 *           variant: qk_variant (SPEC §1.4), 0 transformer when absent; act: 0 ReLU
 *           (when absent), 1 GELU
 *   in hyper f32 (8 or 9): ln_eps kappa1 kappa2 lr beta1 beta2 adam_eps weight_decay
 *           [dropout] (absent: 0). With dropout the model is in training mode: step s
 *           uses the masks of step s (qk_model.h)
 *   in data  f32: LM token ids (steps?, B, T+1) as floats; WALK walks (steps?, B, T+1, d)
 *   model_step  out: p_NAME (initial parameters), loss (1), reg (1), out (logits
 *               (B·T, V) or predictions (B, d)), g_NAME (gradients)
 *   model_train out: p_NAME, loss (steps), reg (steps), final_NAME, hash u64 (1)
 *   with σReparam also: model_step sr_u, sr_v (the power-iteration vectors its forward
 *   used); model_train sr_u0, sr_v0 (after initialisation), each (L, 6, max(d, dff))
 *   with dropout also: model_step drop (1 + 2L, B·T, d), the multipliers its forward used
 * Each step: σReparam power step, forward, backward, AdamW. */
#include "qk_fp.h"
#include <stdarg.h>
#include <string.h>
#include "qk_io.h"
#include "qk_model.h"


static const char *const keys[] = {"kind", "V", "d", "H", "dff", "L", "T", "B", "ln", "sr", "seed"};

static int read_config(const qk_vcase *c, qk_model_config *cfg, long long *seed, char *err, size_t n)
{
    long long v[11];
    for (int i = 0; i < 11; i++)
        if (!qk_vcase_param(c, keys[i], &v[i]) || v[i] < 0 || v[i] > (i == 10 ? (1LL << 62) : 1000000))
            return qk_vop_error(err, n, "case %s: param '%s' missing or out of range", c->name, keys[i]);
    memset(cfg, 0, sizeof *cfg);
    cfg->kind = (qk_model_kind)v[0];
    cfg->V = (int)v[1]; cfg->d = (int)v[2]; cfg->H = (int)v[3]; cfg->dff = (int)v[4]; cfg->L = (int)v[5];
    cfg->T = (int)v[6]; cfg->B = (int)v[7]; cfg->ln = (qk_ln_mode)v[8]; cfg->sigma_reparam = (qk_sr_mode)v[9];
    *seed = v[10];
    long long norm = 0, init = 0, variant = 0, act = 0; /* optional: absent in the first cases */
    if ((qk_vcase_param(c, "norm", &norm) && (norm < 0 || norm > 1)) ||
        (qk_vcase_param(c, "init", &init) && (init < 0 || init > 2)) ||
        (qk_vcase_param(c, "variant", &variant) && (variant < 0 || variant >= QK_NVARIANT)) ||
        (qk_vcase_param(c, "act", &act) && (act < 0 || act > 1)))
        return qk_vop_error(err, n, "case %s: param 'norm', 'init', 'variant' or 'act' out of range", c->name);
    cfg->locater_norm = (qk_locater_norm)norm;
    cfg->init = (qk_init_mode)init;
    cfg->variant = (qk_variant)variant;
    cfg->act = (qk_act)act;
    if (init == QK_INIT_BERT) { /* the weights' std in millionths, e.g. 20000 for BERT's 0.02 */
        long long ppm;
        if (!qk_vcase_param(c, "init_std_ppm", &ppm) || ppm < 1 || ppm > 1000000)
            return qk_vop_error(err, n, "case %s: init 2 (bert) needs param 'init_std_ppm' in [1, 1000000]", c->name);
        cfg->init_std = (double)ppm / 1e6;
    }
    qk_vtensor *h = qk_vcase_tensor((qk_vcase *)c, "hyper");
    if (!h || h->dt != QK_DT_F32 || (h->count != 8 && h->count != 9))
        return qk_vop_error(err, n, "case %s: needs 'in hyper f32 8' (or 9, with dropout)", c->name);
    const float *p = h->data;
    cfg->ln_eps = p[0]; cfg->kappa1 = p[1]; cfg->kappa2 = p[2]; cfg->lr = p[3];
    cfg->beta1 = p[4]; cfg->beta2 = p[5]; cfg->adam_eps = p[6]; cfg->weight_decay = p[7];
    cfg->dropout = h->count == 9 ? p[8] : 0.0f;
    return 0;
}

/* Model memory from the arena. */
static int open_model(const qk_model_config *cfg, qk_model *m, qk_model_sizes_t *sz, qk_arena *a, const char *name,
                      char *err, size_t n)
{
    qk_status s = qk_model_sizes(cfg, sz);
    if (s != QK_OK) return qk_vop_error(err, n, "case %s: model configuration: %s", name, qk_status_str(s));
    size_t total = 4 * sz->params + sz->acts + sz->scratch + sz->state;
    float *buf = qk_arena_take(a, total * sizeof(float));
    if (!buf) return qk_vop_error(err, n, "case %s: model does not fit in the reader's memory", name);
    memset(buf, 0, total * sizeof(float));
    float *w = buf, *g = w + sz->params, *am = g + sz->params, *av = am + sz->params;
    float *acts = av + sz->params, *scr = acts + sz->acts, *st = scr + sz->scratch;
    s = qk_model_bind(m, cfg, w, g, am, av, acts, scr, st);
    return s == QK_OK ? 0 : qk_vop_error(err, n, "case %s: %s", name, qk_status_str(s));
}

/* Copies n floats into the output tensor `name` (must exist with that count). */
static int put(qk_vcase *got, const char *name, const void *src, size_t count, size_t elem, char *err, size_t n)
{
    qk_vtensor *t = qk_vcase_tensor(got, name);
    if (!t || t->count != count || qk_dtype_size(t->dt) != elem || !t->is_out)
        return qk_vop_error(err, n, "case %s: output '%s' missing or not of %lu values", got->name, name, (unsigned long)count);
    memcpy(t->data, src, count * elem);
    return 0;
}

static int put_params(qk_vcase *got, const char *prefix, const qk_params *p, const qk_model_sizes_t *sz, char *err,
                      size_t n)
{
    for (int t = 0; t < QK_NPARAM; t++) {
        if (!sz->t[t].size) continue;
        char name[QK_VEC_NAME];
        snprintf(name, sizeof name, "%s%s", prefix, sz->t[t].name);
        if (put(got, name, p->p[t], sz->t[t].size, 4, err, n)) return -1;
    }
    return 0;
}

/* Token ids (as floats) of step s into ints; checks the data tensor's size. */
static int step_data(const qk_vcase *c, const qk_model_config *cfg, int s, int *tok, const float **walk, char *err,
                     size_t n)
{
    qk_vtensor *d = qk_vcase_tensor((qk_vcase *)c, "data");
    size_t per = (size_t)cfg->B * (cfg->T + 1) * (cfg->kind == QK_MODEL_LM ? 1 : (size_t)cfg->d);
    if (!d || d->dt != QK_DT_F32 || d->count < per * (size_t)(s + 1))
        return qk_vop_error(err, n, "case %s: 'data' has too few values for step %d", c->name, s);
    const float *x = (const float *)d->data + per * (size_t)s;
    if (cfg->kind == QK_MODEL_LM)
        for (size_t i = 0; i < per; i++) {
            /* an id is a whole number in [0, V); anything else (NaN, 2^31 and up) would
             * make the conversion to int undefined, so the range is checked first (V is
             * at most 10^6: read_config) */
            if (!(x[i] >= 0.0f && x[i] < (float)cfg->V && x[i] == (float)(int)x[i]))
                return qk_vop_error(err, n, "line %d: case %s: 'data' value %lu is %.9g, not a token id in [0, %d)",
                                    qk_vtensor_line(d, per * (size_t)s + i), c->name, (unsigned long)(per * (size_t)s + i),
                                    (double)x[i], cfg->V);
            tok[i] = (int)x[i];
        }
    *walk = x;
    return 0;
}

static int op_model(const qk_vcase *c, qk_vcase *got, qk_arena *a, char *err, size_t n, int train)
{
    qk_model_config cfg;
    long long seed = 0, steps = 1;
    if (read_config(c, &cfg, &seed, err, n)) return -1;
    if (train && (!qk_vcase_param(c, "steps", &steps) || steps < 1 || steps > 1000))
        return qk_vop_error(err, n, "case %s: param 'steps' missing or not in [1, 1000]", c->name);
    qk_model m;
    qk_model_sizes_t sz;
    if (open_model(&cfg, &m, &sz, a, c->name, err, n)) return -1;
    int *tok = qk_arena_take(a, sizeof(int) * (size_t)cfg.B * (cfg.T + 1));
    float *losses = qk_arena_take(a, sizeof(float) * 2 * (size_t)steps);
    if (!tok || !losses) return qk_vop_error(err, n, "case %s: out of memory", c->name);
    qk_model_init(&m, (uint64_t)seed);
    if (put_params(got, "p_", &m.w, &sz, err, n)) return -1;
    size_t nstate = sz.state / 2;
    if (train && nstate &&
        (put(got, "sr_u0", m.state, nstate, 4, err, n) || put(got, "sr_v0", m.state + nstate, nstate, 4, err, n)))
        return -1;
    for (int s = 0; s < steps; s++) {
        const float *walk = NULL;
        if (step_data(c, &cfg, s, tok, &walk, err, n)) return -1;
        qk_model_sr_step(&m);
        qk_status st = qk_model_forward(&m, tok, walk);
        if (st == QK_OK) st = qk_model_backward(&m);
        if (st == QK_OK && train) st = qk_model_adamw(&m);
        if (st != QK_OK) return qk_vop_error(err, n, "case %s: step %d: %s", c->name, s, qk_status_str(st));
        losses[s] = m.loss;
        losses[steps + s] = m.reg;
    }
    if (put(got, "loss", losses, (size_t)steps, 4, err, n) || put(got, "reg", losses + steps, (size_t)steps, 4, err, n))
        return -1;
    if (train) {
        uint64_t h = qk_model_param_hash(&m);
        return put_params(got, "final_", &m.w, &sz, err, n) || put(got, "hash", &h, 1, 8, err, n) ? -1 : 0;
    }
    size_t nout = cfg.kind == QK_MODEL_LM ? (size_t)cfg.B * cfg.T * cfg.V : (size_t)cfg.B * cfg.d;
    if (put(got, "out", qk_model_output(&m), nout, 4, err, n)) return -1;
    if (nstate && (put(got, "sr_u", m.state, nstate, 4, err, n) || put(got, "sr_v", m.state + nstate, nstate, 4, err, n)))
        return -1;
    const float *masks = qk_model_dropout_masks(&m);
    if (masks && put(got, "drop", masks, (size_t)(1 + 2 * cfg.L) * cfg.B * cfg.T * cfg.d, 4, err, n)) return -1;
    return put_params(got, "g_", &m.g, &sz, err, n);
}

static int op_model_step(const qk_vcase *c, qk_vcase *g, qk_arena *a, char *e, size_t n) { return op_model(c, g, a, e, n, 0); }
static int op_model_train(const qk_vcase *c, qk_vcase *g, qk_arena *a, char *e, size_t n) { return op_model(c, g, a, e, n, 1); }

qk_vop_fn qk_vop_find_model(const char *op)
{
    if (!strcmp(op, "model_step")) return op_model_step;
    if (!strcmp(op, "model_train")) return op_model_train;
    return NULL;
}
