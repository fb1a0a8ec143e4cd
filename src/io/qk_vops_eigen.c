/* qk_vops_eigen.c — the golden-vector operations of qk_eigen.h (SPEC §3). Each computes
 * a case's `out` tensors from its `in` tensors (all f64) through the public API:
 *
 *   eigh                 in A (n, n)            out w (n), V (n, n)      (qk_eigh; rows of V)
 *   eigvalsh             in A (n, n)            out w (n)
 *   svd                  in A (r, c)            out s (k), U (r, k), Vt (k, c)
 *   svdvals              in A (r, c)            out s (k), stats (3) = spectral norm,
 *                                                   stable rank, numerical rank
 *   spectral_norm_power  in W (r, c), u0 (c)    out sigma (1), u (c), v (r); param iters
 *   haar                 param n, seed          out Q (n, n)             (qk_haar_orthogonal)
 *
 * Workspaces come from the reader's arena. */
#include "qk_fp.h"
#include <stdarg.h>
#include <string.h>
#include "qk_eigen.h"
#include "qk_io.h"


/* The f64 tensor `name` of case c with ndim dims (dims[i] < 0: any). */
static qk_vtensor *want(qk_vcase *c, const char *name, int ndim, const int *dims, char *err, size_t n)
{
    qk_vtensor *t = qk_vcase_tensor(c, name);
    if (!t) { qk_vop_error(err, n, "case %s: missing tensor '%s'", c->name, name); return NULL; }
    if (t->dt != QK_DT_F64 || t->ndim != ndim) {
        qk_vop_error(err, n, "case %s: tensor '%s' must be f64 with %d dimension(s)", c->name, name, ndim);
        return NULL;
    }
    for (int i = 0; i < ndim; i++)
        if (dims[i] >= 0 && t->dims[i] != dims[i]) {
            qk_vop_error(err, n, "case %s: tensor '%s' dimension %d is %d, expected %d", c->name, name, i, t->dims[i], dims[i]);
            return NULL;
        }
    return t;
}

#define WANT(var, cs, name, nd, ...)                                  \
    qk_vtensor *var;                                                  \
    {                                                                 \
        int dims_[] = {__VA_ARGS__};                                  \
        var = want((qk_vcase *)(cs), name, nd, dims_, err, errlen);   \
        if (!var) return -1;                                          \
    }

static double *take(qk_arena *a, size_t n) { return qk_arena_take(a, sizeof(double) * (n ? n : 1)); }

static int status(const qk_vcase *c, const char *fn, qk_status s, char *err, size_t errlen)
{
    return s == QK_OK ? 0 : qk_vop_error(err, errlen, "case %s: %s: %s", c->name, fn, qk_status_str(s));
}

static int op_eigh_common(const qk_vcase *c, qk_vcase *g, qk_arena *a, char *err, size_t errlen, int vectors)
{
    WANT(A, c, "A", 2, -1, -1);
    int n = A->dims[0];
    if (A->dims[1] != n) return qk_vop_error(err, errlen, "case %s: A must be square", c->name);
    WANT(w, g, "w", 1, n);
    double *v = NULL;
    if (vectors) {
        WANT(V, g, "V", 2, n, n);
        v = V->data;
    }
    size_t len = qk_eigh_work_len(n, vectors);
    double *work = take(a, len);
    if (!work) return qk_vop_error(err, errlen, "out of memory");
    return status(c, "qk_eigh", qk_eigh(n, A->data, n, w->data, v, n, work, len, NULL, NULL), err, errlen);
}
static int op_eigh(const qk_vcase *c, qk_vcase *g, qk_arena *a, char *e, size_t n) { return op_eigh_common(c, g, a, e, n, 1); }
static int op_eigvalsh(const qk_vcase *c, qk_vcase *g, qk_arena *a, char *e, size_t n) { return op_eigh_common(c, g, a, e, n, 0); }

static int op_svd(const qk_vcase *c, qk_vcase *g, qk_arena *a, char *err, size_t errlen)
{
    WANT(A, c, "A", 2, -1, -1);
    int rows = A->dims[0], cols = A->dims[1], k = rows < cols ? rows : cols;
    WANT(s, g, "s", 1, k);
    WANT(U, g, "U", 2, rows, k);
    WANT(Vt, g, "Vt", 2, k, cols);
    size_t len = qk_svd_work_len(rows, cols, 1);
    double *work = take(a, len);
    if (!work) return qk_vop_error(err, errlen, "out of memory");
    return status(c, "qk_svd",
                  qk_svd(rows, cols, A->data, cols, s->data, U->data, k, Vt->data, cols, work, len, NULL, NULL), err,
                  errlen);
}

static int op_svdvals(const qk_vcase *c, qk_vcase *g, qk_arena *a, char *err, size_t errlen)
{
    WANT(A, c, "A", 2, -1, -1);
    int rows = A->dims[0], cols = A->dims[1], k = rows < cols ? rows : cols;
    WANT(s, g, "s", 1, k);
    WANT(stats, g, "stats", 1, 3);
    size_t len = qk_spectral_norm_work_len(rows, cols);
    double *work = take(a, len), *sv = s->data, *st = stats->data;
    if (!work) return qk_vop_error(err, errlen, "out of memory");
    if (status(c, "qk_svd", qk_svd(rows, cols, A->data, cols, sv, NULL, 0, NULL, 0, work, len, NULL, NULL), err, errlen))
        return -1;
    if (status(c, "qk_spectral_norm", qk_spectral_norm(rows, cols, A->data, cols, &st[0], work, len), err, errlen))
        return -1;
    st[1] = qk_stable_rank(sv, k);
    st[2] = (double)qk_numerical_rank(sv, k, rows, cols, 0.0);
    return 0;
}

static int op_power(const qk_vcase *c, qk_vcase *g, qk_arena *a, char *err, size_t errlen)
{
    long long iters;
    if (!qk_vcase_param(c, "iters", &iters) || iters < 1 || iters > 100000)
        return qk_vop_error(err, errlen, "case %s: param 'iters' missing or not in [1, 100000]", c->name);
    WANT(W, c, "W", 2, -1, -1);
    int rows = W->dims[0], cols = W->dims[1];
    WANT(u0, c, "u0", 1, cols);
    WANT(sigma, g, "sigma", 1, 1);
    WANT(u, g, "u", 1, cols);
    WANT(v, g, "v", 1, rows);
    double *scratch = take(a, (size_t)rows + cols);
    if (!scratch) return qk_vop_error(err, errlen, "out of memory");
    memcpy(u->data, u0->data, sizeof(double) * cols);
    return status(c, "qk_spectral_norm_power",
                  qk_spectral_norm_power(rows, cols, W->data, cols, u->data, v->data, (int)iters, sigma->data, scratch),
                  err, errlen);
}

static int op_haar(const qk_vcase *c, qk_vcase *g, qk_arena *a, char *err, size_t errlen)
{
    long long n, seed;
    if (!qk_vcase_param(c, "n", &n) || n < 1 || n > QK_EIG_MAX_N || !qk_vcase_param(c, "seed", &seed))
        return qk_vop_error(err, errlen, "case %s: params 'n' (1..%d) and 'seed' needed", c->name, QK_EIG_MAX_N);
    WANT(Q, g, "Q", 2, (int)n, (int)n);
    size_t len = qk_haar_work_len((int)n);
    double *work = take(a, len);
    if (!work) return qk_vop_error(err, errlen, "out of memory");
    qk_rng r;
    qk_rng_seed(&r, (uint64_t)seed);
    return status(c, "qk_haar_orthogonal", qk_haar_orthogonal((int)n, &r, Q->data, (int)n, work, len), err, errlen);
}

static const struct { const char *name; qk_vop_fn fn; } ops[] = {
    {"eigh", op_eigh},        {"eigvalsh", op_eigvalsh}, {"svd", op_svd},
    {"svdvals", op_svdvals},  {"spectral_norm_power", op_power}, {"haar", op_haar},
};

qk_vop_fn qk_vop_find_eigen(const char *op)
{
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (!strcmp(ops[i].name, op)) return ops[i].fn;
    return NULL;
}
