/* qk_vops.c — the operations a golden-vector case can name. Each computes the case's
 * `out` tensors from its `in` tensors through the public core API, so `qkspec verify`
 * exercises exactly what users call. */
#include "qk_fp.h"
#include <stdarg.h>
#include <string.h>
#include "qk_io.h"

int qk_vop_error(char *err, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
    return -1;
}


/* The tensor `name` of case c with dtype dt and ndim dims (dims[i] < 0: any). */
static qk_vtensor *want(qk_vcase *c, const char *name, qk_dtype dt, int ndim, const int *dims,
                        char *err, size_t n)
{
    qk_vtensor *t = qk_vcase_tensor(c, name);
    if (!t) { qk_vop_error(err, n, "case %s: missing tensor '%s'", c->name, name); return NULL; }
    if (t->dt != dt || t->ndim != ndim) {
        qk_vop_error(err, n, "case %s: tensor '%s' must be %s with %d dimension(s)", c->name, name, qk_dtype_name(dt), ndim);
        return NULL;
    }
    for (int i = 0; i < ndim; i++)
        if (dims && dims[i] >= 0 && t->dims[i] != dims[i]) {
            qk_vop_error(err, n, "case %s: tensor '%s' dimension %d is %d, expected %d", c->name, name, i, t->dims[i], dims[i]);
            return NULL;
        }
    return t;
}

#define WANT(var, cs, name, dt, nd, ...)                                  \
    qk_vtensor *var;                                                      \
    {                                                                     \
        int dims_[] = {__VA_ARGS__};                                      \
        var = want((qk_vcase *)(cs), name, dt, nd, dims_, err, errlen);   \
        if (!var) return -1;                                              \
    }

static long long param_or(const qk_vcase *c, const char *key, long long dflt)
{
    long long v;
    return qk_vcase_param(c, key, &v) ? v : dflt;
}

/* A (rows, cols) copy of t placed with stride cols+pad at an odd float offset, so
 * products see unaligned, strided views. */
static int strided(qk_mat *m, const qk_vtensor *t, int pad, qk_arena *a)
{
    int rows = t->dims[0], cols = t->dims[1], stride = cols + pad;
    float *buf = qk_arena_take(a, sizeof(float) * ((size_t)rows * stride + 1));
    if (!buf) return -1;
    memset(buf, 0, sizeof(float) * ((size_t)rows * stride + 1));
    *m = qk_mat_view(buf + 1, rows, cols, stride);
    for (int i = 0; i < rows; i++)
        memcpy(m->data + (size_t)i * stride, (const float *)t->data + (size_t)i * cols, sizeof(float) * cols);
    return 0;
}

static void unstride(qk_vtensor *t, const qk_mat *m)
{
    for (int i = 0; i < m->rows; i++)
        memcpy((float *)t->data + (size_t)i * m->cols, m->data + (size_t)i * m->stride, sizeof(float) * m->cols);
}

static qk_mat dense(qk_vtensor *t) { return qk_mat_view(t->data, t->dims[0], t->dims[1], t->dims[1]); }

static int op_matmul(const qk_vcase *c, qk_vcase *g, qk_arena *a, char *err, size_t errlen)
{
    int flags = (int)param_or(c, "flags", 0), pad = (int)param_or(c, "pad", 0);
    if (flags < 0 || flags > 7 || pad < 0 || pad > 64) return qk_vop_error(err, errlen, "case %s: bad flags/pad", c->name);
    WANT(A, c, "A", QK_DT_F32, 2, -1, -1);
    WANT(B, c, "B", QK_DT_F32, 2, -1, -1);
    int M = flags & QK_TRANS_A ? A->dims[1] : A->dims[0];
    int N = flags & QK_TRANS_B ? B->dims[0] : B->dims[1];
    WANT(C, g, "C", QK_DT_F32, 2, M, N);
    qk_mat ma, mb, mc;
    if (strided(&ma, A, pad, a) || strided(&mb, B, pad, a)) return qk_vop_error(err, errlen, "out of memory");
    if (flags & QK_ACCUMULATE) {
        WANT(C0, c, "C0", QK_DT_F32, 2, M, N);
        if (strided(&mc, C0, pad, a)) return qk_vop_error(err, errlen, "out of memory");
    } else if (strided(&mc, C, pad, a)) return qk_vop_error(err, errlen, "out of memory");
    qk_status s = qk_matmul(&mc, &ma, &mb, flags);
    if (s != QK_OK) return qk_vop_error(err, errlen, "case %s: qk_matmul: %s", c->name, qk_status_str(s));
    unstride(C, &mc);
    return 0;
}

static int op_reduce(const qk_vcase *c, qk_vcase *g, qk_arena *a, char *err, size_t errlen, int dot)
{
    (void)a;
    WANT(x, c, "x", QK_DT_F32, 1, -1);
    WANT(s, g, "s", QK_DT_F32, 1, 1);
    if (dot) {
        WANT(y, c, "y", QK_DT_F32, 1, x->dims[0]);
        *(float *)s->data = qk_dot(x->data, y->data, x->dims[0]);
    } else {
        *(float *)s->data = qk_sum(x->data, x->dims[0]);
    }
    return 0;
}
static int op_sum(const qk_vcase *c, qk_vcase *g, qk_arena *a, char *e, size_t n) { return op_reduce(c, g, a, e, n, 0); }
static int op_dot(const qk_vcase *c, qk_vcase *g, qk_arena *a, char *e, size_t n) { return op_reduce(c, g, a, e, n, 1); }

/* Elementwise maps: expf goes through the vector kernel (the ISA path), the others
 * are portable scalar code. */
typedef float (*map32)(float);
typedef double (*map64)(double);
static const struct { const char *name; map32 f32; map64 f64; } maps[] = {
    {"expf", 0, 0},          {"logf", qk_logf, 0},           {"tanhf", qk_tanhf, 0},
    {"gelu_tanhf", qk_gelu_tanhf, 0}, {"gelu_erff", qk_gelu_erff, 0},
    {"exp", 0, qk_exp},      {"log", 0, qk_log},             {"erf", 0, qk_erf},
    {"erfc", 0, qk_erfc},    {"sin", 0, qk_sin},             {"cos", 0, qk_cos},
};

static int op_map(const qk_vcase *c, qk_vcase *g, qk_arena *a, char *err, size_t errlen)
{
    (void)a;
    for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++) {
        if (strcmp(maps[i].name, c->op)) continue;
        qk_dtype dt = maps[i].f64 ? QK_DT_F64 : QK_DT_F32;
        WANT(x, c, "x", dt, 1, -1);
        WANT(y, g, "y", dt, 1, x->dims[0]);
        int n = x->dims[0];
        if (maps[i].f64)
            for (int k = 0; k < n; k++) ((double *)y->data)[k] = maps[i].f64(((double *)x->data)[k]);
        else if (maps[i].f32)
            for (int k = 0; k < n; k++) ((float *)y->data)[k] = maps[i].f32(((float *)x->data)[k]);
        else
            qk_vexpf(y->data, x->data, n);
        return 0;
    }
    return qk_vop_error(err, errlen, "case %s: unknown map '%s'", c->name, c->op);
}

static int op_softmax(const qk_vcase *c, qk_vcase *g, qk_arena *a, char *err, size_t errlen)
{
    (void)a;
    int causal = param_or(c, "causal", 0) != 0;
    WANT(x, c, "x", QK_DT_F32, 2, -1, -1);
    WANT(y, g, "y", QK_DT_F32, 2, x->dims[0], x->dims[1]);
    qk_mat mx = dense(x), my = dense(y);
    qk_status s = qk_softmax_forward(&my, &mx, causal);
    return s == QK_OK ? 0 : qk_vop_error(err, errlen, "case %s: %s", c->name, qk_status_str(s));
}

static int op_softmax_backward(const qk_vcase *c, qk_vcase *g, qk_arena *a, char *err, size_t errlen)
{
    (void)a;
    int causal = param_or(c, "causal", 0) != 0;
    WANT(y, c, "y", QK_DT_F32, 2, -1, -1);
    WANT(dy, c, "dy", QK_DT_F32, 2, y->dims[0], y->dims[1]);
    WANT(dx0, c, "dx0", QK_DT_F32, 2, y->dims[0], y->dims[1]);
    WANT(dx, g, "dx", QK_DT_F32, 2, y->dims[0], y->dims[1]);
    memcpy(dx->data, dx0->data, sizeof(float) * dx->count);
    qk_mat my = dense(y), mdy = dense(dy), mdx = dense(dx);
    qk_status s = qk_softmax_backward(&mdx, &my, &mdy, causal);
    return s == QK_OK ? 0 : qk_vop_error(err, errlen, "case %s: %s", c->name, qk_status_str(s));
}

static int op_layernorm(const qk_vcase *c, qk_vcase *g, qk_arena *a, char *err, size_t errlen)
{
    (void)a;
    WANT(x, c, "x", QK_DT_F32, 2, -1, -1);
    int T = x->dims[0], C = x->dims[1];
    WANT(gamma, c, "gamma", QK_DT_F32, 1, C);
    WANT(beta, c, "beta", QK_DT_F32, 1, C);
    WANT(eps, c, "eps", QK_DT_F32, 1, 1);
    WANT(y, g, "y", QK_DT_F32, 2, T, C);
    WANT(mean, g, "mean", QK_DT_F32, 1, T);
    WANT(rstd, g, "rstd", QK_DT_F32, 1, T);
    qk_mat mx = dense(x), my = dense(y);
    qk_status s = qk_layernorm_forward(&my, mean->data, rstd->data, &mx, gamma->data, beta->data, *(float *)eps->data);
    return s == QK_OK ? 0 : qk_vop_error(err, errlen, "case %s: %s", c->name, qk_status_str(s));
}

static int op_layernorm_backward(const qk_vcase *c, qk_vcase *g, qk_arena *a, char *err, size_t errlen)
{
    WANT(x, c, "x", QK_DT_F32, 2, -1, -1);
    int T = x->dims[0], C = x->dims[1];
    WANT(dy, c, "dy", QK_DT_F32, 2, T, C);
    WANT(mean, c, "mean", QK_DT_F32, 1, T);
    WANT(rstd, c, "rstd", QK_DT_F32, 1, T);
    WANT(gamma, c, "gamma", QK_DT_F32, 1, C);
    WANT(dx0, c, "dx0", QK_DT_F32, 2, T, C);
    WANT(dgamma0, c, "dgamma0", QK_DT_F32, 1, C);
    WANT(dbeta0, c, "dbeta0", QK_DT_F32, 1, C);
    WANT(dx, g, "dx", QK_DT_F32, 2, T, C);
    WANT(dgamma, g, "dgamma", QK_DT_F32, 1, C);
    WANT(dbeta, g, "dbeta", QK_DT_F32, 1, C);
    memcpy(dx->data, dx0->data, sizeof(float) * dx->count);
    memcpy(dgamma->data, dgamma0->data, sizeof(float) * C);
    memcpy(dbeta->data, dbeta0->data, sizeof(float) * C);
    float *scratch = qk_arena_take(a, sizeof(float) * 2 * (size_t)C);
    if (!scratch) return qk_vop_error(err, errlen, "out of memory");
    qk_mat mx = dense(x), mdy = dense(dy), mdx = dense(dx);
    qk_status s = qk_layernorm_backward(&mdx, dgamma->data, dbeta->data, &mdy, &mx, mean->data, rstd->data,
                                        gamma->data, scratch);
    return s == QK_OK ? 0 : qk_vop_error(err, errlen, "case %s: %s", c->name, qk_status_str(s));
}

static int op_rng(const qk_vcase *c, qk_vcase *g, qk_arena *a, char *err, size_t errlen)
{
    (void)a;
    long long seed;
    if (!qk_vcase_param(c, "seed", &seed)) return qk_vop_error(err, errlen, "case %s: missing param 'seed'", c->name);
    WANT(u64, g, "u64", QK_DT_U64, 1, -1);
    int n = u64->dims[0];
    WANT(uniformf, g, "uniformf", QK_DT_F32, 1, n);
    WANT(normal, g, "normal", QK_DT_F64, 1, n);
    WANT(normalf, g, "normalf", QK_DT_F32, 1, n);
    qk_rng r;
    qk_rng_seed(&r, (uint64_t)seed);
    for (int i = 0; i < n; i++) ((uint64_t *)u64->data)[i] = qk_rng_u64(&r);
    for (int i = 0; i < n; i++) ((float *)uniformf->data)[i] = qk_rng_uniformf(&r);
    for (int i = 0; i < n; i++) ((double *)normal->data)[i] = qk_rng_normal(&r);
    for (int i = 0; i < n; i++) ((float *)normalf->data)[i] = qk_rng_normalf(&r);
    return 0;
}

static const struct { const char *name; qk_vop_fn fn; } ops[] = {
    {"matmul", op_matmul},
    {"sum", op_sum},
    {"dot", op_dot},
    {"expf", op_map},
    {"logf", op_map},
    {"tanhf", op_map},
    {"gelu_tanhf", op_map},
    {"gelu_erff", op_map},
    {"exp", op_map},
    {"log", op_map},
    {"erf", op_map},
    {"erfc", op_map},
    {"sin", op_map},
    {"cos", op_map},
    {"softmax", op_softmax},
    {"softmax_backward", op_softmax_backward},
    {"layernorm", op_layernorm},
    {"layernorm_backward", op_layernorm_backward},
    {"rng", op_rng},
};

qk_vop_fn qk_vop_find_eigen(const char *op); /* qk_vops_eigen.c */
qk_vop_fn qk_vop_find_model(const char *op); /* qk_vops_model.c */
qk_vop_fn qk_vop_find_collapse(const char *op); /* qk_vops_collapse.c */

qk_vop_fn qk_vop_find(const char *op)
{
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (!strcmp(ops[i].name, op)) return ops[i].fn;
    qk_vop_fn fn = qk_vop_find_eigen(op);
    if (!fn) fn = qk_vop_find_model(op);
    return fn ? fn : qk_vop_find_collapse(op);
}

const char *qk_vop_name(int i) { return i >= 0 && (size_t)i < sizeof ops / sizeof ops[0] ? ops[i].name : NULL; }
