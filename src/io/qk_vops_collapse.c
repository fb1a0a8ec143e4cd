/* qk_vops_collapse.c — vector-file operations of the rank-collapse stack (SPEC §1.4).
 *
 *   collapse_forward  params: variant (qk_col_variant), n, d, H, L, dff, seed
 *                     in  x0 f32 (n, d)
 *                     out r f64 (L+1)      ‖res(X_l)‖_{1,∞} / ‖X_l‖_{1,∞}
 *                         res f64 (L+1)    ‖res(X_l)‖_{1,∞}
 *                         x f32 (n, d)     X_L
 *                     Weights from qk_collapse_init(seed) (BERT: N(0, 0.02²), biases 0).
 *   collapse_embed    params: n, d, V, seed;  in tok f32 (n) (ids as floats);
 *                     out x f32 (n, d) = LN(wte[tok] + wpe + wtt)
 *   collapse_norms    in x f32 (n, d); out res f64 (1), nrm f64 (1)
 *   collapse_bound    params: d, H, L, seed; out wqk1 f64 (L, H) = ‖W_QK,h‖_1,
 *                     wvo f64 (L, H) = ‖W_VO,h‖_{1,∞}
 * The stack's memory comes from the reader's arena. */
#include "qk_fp.h"
#include <stdarg.h>
#include <string.h>
#include "qk_collapse.h"
#include "qk_io.h"


/* Reads the integer params keys[0..nk) into v, each in [lo, hi]. */
static int read_params(const qk_vcase *c, const char *const *keys, int nk, long long *v, long long lo,
                       long long hi, char *err, size_t n)
{
    for (int i = 0; i < nk; i++)
        if (!qk_vcase_param(c, keys[i], &v[i]) || v[i] < lo || v[i] > hi)
            return qk_vop_error(err, n, "case %s: param '%s' missing or out of range", c->name, keys[i]);
    return 0;
}

/* The tensor `name` of case c: dtype dt and count elements (ndim, dims as given). */
static qk_vtensor *tensor(const qk_vcase *c, const char *name, qk_dtype dt, int ndim, const int *dims, char *err,
                          size_t n)
{
    qk_vtensor *t = qk_vcase_tensor((qk_vcase *)c, name);
    int ok = t && t->dt == dt && t->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++) ok = t->dims[i] == dims[i];
    if (!ok) {
        char shape[64] = "";
        size_t len = 0;
        for (int i = 0; i < ndim && len < sizeof shape; i++)
            len += (size_t)snprintf(shape + len, sizeof shape - len, "%s%d", i ? " " : "", dims[i]);
        qk_vop_error(err, n, "case %s: needs tensor '%s' %s %s", c->name, name, qk_dtype_name(dt), shape);
        return NULL;
    }
    return t;
}

/* A stack for cfg with memory from the arena. */
static int open_stack(const qk_collapse_config *cfg, qk_collapse *s, qk_arena *a, const char *name, char *err,
                      size_t n)
{
    qk_collapse_sizes_t sz;
    qk_status st = qk_collapse_sizes(cfg, &sz);
    if (st != QK_OK) return qk_vop_error(err, n, "case %s: stack configuration: %s", name, qk_status_str(st));
    size_t total = sz.params + sz.acts + sz.scratch;
    float *buf = qk_arena_take(a, total * sizeof(float));
    if (!buf) return qk_vop_error(err, n, "case %s: stack does not fit in the reader's memory", name);
    memset(buf, 0, total * sizeof(float));
    st = qk_collapse_bind(s, cfg, buf, buf + sz.params, buf + sz.params + sz.acts);
    return st == QK_OK ? 0 : qk_vop_error(err, n, "case %s: %s", name, qk_status_str(st));
}

static int op_forward(const qk_vcase *c, qk_vcase *got, qk_arena *a, char *err, size_t errlen)
{
    static const char *const keys[] = {"variant", "n", "d", "H", "L", "dff", "seed"};
    long long v[7];
    if (read_params(c, keys, 6, v, 0, 1 << 20, err, errlen) || read_params(c, keys + 6, 1, v + 6, 0, 1LL << 62, err, errlen))
        return -1;
    if (v[0] >= QK_COL_NVARIANT) return qk_vop_error(err, errlen, "case %s: unknown variant %ld", c->name, (long)v[0]);
    qk_collapse_config cfg = qk_collapse_default_config((int)v[1], (int)v[2], (int)v[3], (int)v[4]);
    cfg.dff = (int)v[5];
    cfg.V = 0;
    int n = cfg.n, d = cfg.d, L = cfg.L, nd[2] = {n, d}, l1 = L + 1;
    qk_vtensor *x0 = tensor(c, "x0", QK_DT_F32, 2, nd, err, errlen);
    qk_vtensor *r = tensor(got, "r", QK_DT_F64, 1, &l1, err, errlen);
    qk_vtensor *res = r ? tensor(got, "res", QK_DT_F64, 1, &l1, err, errlen) : NULL;
    qk_vtensor *x = res ? tensor(got, "x", QK_DT_F32, 2, nd, err, errlen) : NULL;
    if (!x0 || !x) return -1;
    qk_collapse s;
    if (open_stack(&cfg, &s, a, c->name, err, errlen)) return -1;
    double *nrm = qk_arena_take(a, sizeof(double) * (size_t)l1);
    if (!nrm) return qk_vop_error(err, errlen, "case %s: out of memory", c->name);
    qk_collapse_init(&s, (uint64_t)v[6]);
    qk_status st = qk_collapse_forward(&s, (qk_col_variant)v[0], x0->data, res->data, nrm);
    if (st != QK_OK && st != QK_ERR_NONFINITE) return qk_vop_error(err, errlen, "case %s: %s", c->name, qk_status_str(st));
    for (int l = 0; l <= L; l++) ((double *)r->data)[l] = ((double *)res->data)[l] / nrm[l];
    memcpy(x->data, s.x + (size_t)L * n * d, sizeof(float) * (size_t)n * d);
    return 0;
}

static int op_embed(const qk_vcase *c, qk_vcase *got, qk_arena *a, char *err, size_t errlen)
{
    static const char *const keys[] = {"n", "d", "V", "seed"};
    long long v[4];
    if (read_params(c, keys, 3, v, 1, 1 << 20, err, errlen) || read_params(c, keys + 3, 1, v + 3, 0, 1LL << 62, err, errlen))
        return -1;
    qk_collapse_config cfg = qk_collapse_default_config((int)v[0], (int)v[1], 1, 1);
    cfg.V = (int)v[2];
    cfg.dff = 0;
    int n = cfg.n, nd[2] = {n, cfg.d};
    qk_vtensor *tok = tensor(c, "tok", QK_DT_F32, 1, &n, err, errlen);
    qk_vtensor *x = tok ? tensor(got, "x", QK_DT_F32, 2, nd, err, errlen) : NULL;
    if (!x) return -1;
    qk_collapse s;
    if (open_stack(&cfg, &s, a, c->name, err, errlen)) return -1;
    int *ids = qk_arena_take(a, sizeof(int) * (size_t)n);
    if (!ids) return qk_vop_error(err, errlen, "case %s: out of memory", c->name);
    for (int i = 0; i < n; i++) {
        float f = ((float *)tok->data)[i];
        if (!(f >= 0.0f && f < (float)cfg.V) || f != (float)(int)f)
            return qk_vop_error(err, errlen, "case %s: tok[%d] is not an id in [0, %d)", c->name, i, cfg.V);
        ids[i] = (int)f;
    }
    qk_collapse_init(&s, (uint64_t)v[3]);
    qk_status st = qk_collapse_embed(&s, ids, x->data);
    return st == QK_OK ? 0 : qk_vop_error(err, errlen, "case %s: %s", c->name, qk_status_str(st));
}

static int op_norms(const qk_vcase *c, qk_vcase *got, qk_arena *a, char *err, size_t errlen)
{
    qk_vtensor *x = qk_vcase_tensor((qk_vcase *)c, "x");
    if (!x || x->dt != QK_DT_F32 || x->ndim != 2 || x->is_out)
        return qk_vop_error(err, errlen, "case %s: needs 'in x f32 N D'", c->name);
    int one = 1;
    qk_vtensor *res = tensor(got, "res", QK_DT_F64, 1, &one, err, errlen);
    qk_vtensor *nrm = res ? tensor(got, "nrm", QK_DT_F64, 1, &one, err, errlen) : NULL;
    if (!nrm) return -1;
    float *scr = qk_arena_take(a, sizeof(float) * 3 * (size_t)x->dims[1]);
    if (!scr) return qk_vop_error(err, errlen, "case %s: out of memory", c->name);
    qk_collapse_norms(x->data, x->dims[0], x->dims[1], scr, res->data, nrm->data);
    return 0;
}

static int op_bound(const qk_vcase *c, qk_vcase *got, qk_arena *a, char *err, size_t errlen)
{
    static const char *const keys[] = {"d", "H", "L", "seed"};
    long long v[4];
    if (read_params(c, keys, 3, v, 1, 1 << 20, err, errlen) || read_params(c, keys + 3, 1, v + 3, 0, 1LL << 62, err, errlen))
        return -1;
    qk_collapse_config cfg = qk_collapse_default_config(1, (int)v[0], (int)v[1], (int)v[2]);
    cfg.dff = 0;
    cfg.V = 0;
    int lh[2] = {cfg.L, cfg.H};
    qk_vtensor *q = tensor(got, "wqk1", QK_DT_F64, 2, lh, err, errlen);
    qk_vtensor *w = q ? tensor(got, "wvo", QK_DT_F64, 2, lh, err, errlen) : NULL;
    if (!w) return -1;
    qk_collapse s;
    if (open_stack(&cfg, &s, a, c->name, err, errlen)) return -1;
    float *scr = qk_arena_take(a, sizeof(float) * qk_collapse_head_norms_scratch(cfg.d));
    if (!scr) return qk_vop_error(err, errlen, "case %s: out of memory", c->name);
    qk_collapse_init(&s, (uint64_t)v[3]);
    for (int l = 0; l < cfg.L; l++)
        for (int h = 0; h < cfg.H; h++) {
            size_t i = (size_t)l * cfg.H + h;
            qk_status st = qk_collapse_head_norms(&s.m, l, h, scr, (double *)q->data + i, (double *)w->data + i);
            if (st != QK_OK) return qk_vop_error(err, errlen, "case %s: %s", c->name, qk_status_str(st));
        }
    return 0;
}

qk_vop_fn qk_vop_find_collapse(const char *op)
{
    if (!strcmp(op, "collapse_forward")) return op_forward;
    if (!strcmp(op, "collapse_embed")) return op_embed;
    if (!strcmp(op, "collapse_norms")) return op_norms;
    if (!strcmp(op, "collapse_bound")) return op_bound;
    return NULL;
}
