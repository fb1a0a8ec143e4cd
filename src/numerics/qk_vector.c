/* qk_vector.c — reductions (SPEC §2.4), row softmax and LayerNorm with backward.
 * Rows are independent outputs, so large inputs are cut into bands of rows that run
 * as parallel tasks (SPEC §2.8); a reduction is never split. */
#include "qk_fp.h"
#include <math.h> /* sqrtf: IEEE-exact */
#include "qk_kernels.h"

float qk_sum(const float *x, int n) { return qk__kern()->sum(x, n); }
float qk_dot(const float *x, const float *y, int n) { return qk__kern()->dot(x, y, n); }

static int view_ok(const qk_mat *m)
{
    return m && m->data && m->rows > 0 && m->cols > 0 && m->stride >= m->cols;
}

static int same_shape(const qk_mat *a, const qk_mat *b)
{
    return a->rows == b->rows && a->cols == b->cols;
}

/* Inputs below this many elements run in the calling thread. */
#define QK__VEC_PAR_MIN 16384

/* Bands of rows: parts and rows per part for `rows` rows of `cols` elements. */
static int row_parts(int rows, int cols, int *per)
{
    int w = qk_parallel_workers(), parts = 1;
    if (w > 1 && ((long)rows * cols >= QK__VEC_PAR_MIN || qk__split_all())) parts = rows < 4 * w ? rows : 4 * w;
    *per = (rows + parts - 1) / parts;
    return (rows + *per - 1) / *per;
}

typedef struct {
    qk_mat *y, *dx;
    const qk_mat *x, *dy;
    float *mean, *rstd, *dgamma, *dbeta;
    const float *cmean, *crstd, *gamma, *beta;
    float eps;
    int causal, per;
} vec_job;

/* y = softmax(x) per row; masked columns (j > i when causal) become 0. */
static void softmax_rows(const qk_kernels *k, qk_mat *y, const qk_mat *x, int causal, int r0, int r1)
{
    for (int i = r0; i < r1; i++) {
        const float *xi = x->data + (size_t)i * x->stride;
        float *yi = y->data + (size_t)i * y->stride;
        int n = causal ? (i + 1 < x->cols ? i + 1 : x->cols) : x->cols;
        float mx = xi[0];
        for (int j = 1; j < n; j++) mx = xi[j] > mx ? xi[j] : mx;
        for (int j = 0; j < n; j++) yi[j] = xi[j] - mx;
        k->vexpf(yi, yi, n);
        float s = k->sum(yi, n);
        for (int j = 0; j < n; j++) yi[j] = yi[j] / s;
        for (int j = n; j < x->cols; j++) yi[j] = 0.0f;
    }
}

static void softmax_fwd_part(void *arg, int t)
{
    const vec_job *j = (const vec_job *)arg;
    int r1 = (t + 1) * j->per < j->x->rows ? (t + 1) * j->per : j->x->rows;
    softmax_rows(qk__kern(), j->y, j->x, j->causal, t * j->per, r1);
}

qk_status qk_softmax_forward(qk_mat *y, const qk_mat *x, int causal)
{
    if (!view_ok(y) || !view_ok(x)) return QK_ERR_ARG;
    if (!same_shape(y, x)) return QK_ERR_SHAPE;
    vec_job j = {y, NULL, x, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0.0f, causal, 0};
    int parts = row_parts(x->rows, x->cols, &j.per);
    if (parts > 1) qk_parallel_run(parts, softmax_fwd_part, &j);
    else softmax_rows(qk__kern(), y, x, causal, 0, x->rows);
    return QK_OK;
}

static void softmax_bwd_rows(const qk_kernels *k, qk_mat *dx, const qk_mat *y, const qk_mat *dy, int causal, int r0,
                             int r1)
{
    for (int i = r0; i < r1; i++) {
        const float *yi = y->data + (size_t)i * y->stride;
        const float *dyi = dy->data + (size_t)i * dy->stride;
        float *dxi = dx->data + (size_t)i * dx->stride;
        int n = causal ? (i + 1 < y->cols ? i + 1 : y->cols) : y->cols;
        float ydy = k->dot(yi, dyi, n);
        for (int j = 0; j < n; j++) dxi[j] += yi[j] * (dyi[j] - ydy);
    }
}

static void softmax_bwd_part(void *arg, int t)
{
    const vec_job *j = (const vec_job *)arg;
    int r1 = (t + 1) * j->per < j->x->rows ? (t + 1) * j->per : j->x->rows;
    softmax_bwd_rows(qk__kern(), j->dx, j->x, j->dy, j->causal, t * j->per, r1);
}

qk_status qk_softmax_backward(qk_mat *dx, const qk_mat *y, const qk_mat *dy, int causal)
{
    if (!view_ok(dx) || !view_ok(y) || !view_ok(dy)) return QK_ERR_ARG;
    if (!same_shape(dx, y) || !same_shape(dy, y)) return QK_ERR_SHAPE;
    vec_job j = {NULL, dx, y, dy, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0.0f, causal, 0};
    int parts = row_parts(y->rows, y->cols, &j.per);
    if (parts > 1) qk_parallel_run(parts, softmax_bwd_part, &j);
    else softmax_bwd_rows(qk__kern(), dx, y, dy, causal, 0, y->rows);
    return QK_OK;
}

static void ln_fwd_rows(const qk_kernels *k, qk_mat *y, float *mean, float *rstd, const qk_mat *x, const float *gamma,
                        const float *beta, float eps, int r0, int r1)
{
    const qk_kernels_ext *e = qk__kern_ext();
    const int C = x->cols;
    for (int t = r0; t < r1; t++) {
        const float *xt = x->data + (size_t)t * x->stride;
        float *yt = y->data + (size_t)t * y->stride;
        float m = k->sum(xt, C) / (float)C;
        if (e->ln_center) e->ln_center(yt, xt, m, C);
        else
            for (int i = 0; i < C; i++) yt[i] = xt[i] - m;
        float var = k->dot(yt, yt, C) / (float)C;
        float rs = 1.0f / sqrtf(var + eps);
        if (e->ln_scale) e->ln_scale(yt, rs, gamma, beta, C);
        else
            for (int i = 0; i < C; i++) yt[i] = (yt[i] * rs) * gamma[i] + beta[i];
        mean[t] = m;
        rstd[t] = rs;
    }
}

static void ln_fwd_part(void *arg, int t)
{
    const vec_job *j = (const vec_job *)arg;
    int r1 = (t + 1) * j->per < j->x->rows ? (t + 1) * j->per : j->x->rows;
    ln_fwd_rows(qk__kern(), j->y, j->mean, j->rstd, j->x, j->gamma, j->beta, j->eps, t * j->per, r1);
}

qk_status qk_layernorm_forward(qk_mat *y, float *mean, float *rstd, const qk_mat *x,
                               const float *gamma, const float *beta, float eps)
{
    if (!view_ok(y) || !view_ok(x) || !mean || !rstd || !gamma || !beta) return QK_ERR_ARG;
    if (!same_shape(y, x)) return QK_ERR_SHAPE;
    if (y->data == x->data) return QK_ERR_ARG;
    vec_job j = {y, NULL, x, NULL, mean, rstd, NULL, NULL, NULL, NULL, gamma, beta, eps, 0, 0};
    int parts = row_parts(x->rows, x->cols, &j.per);
    if (parts > 1) qk_parallel_run(parts, ln_fwd_part, &j);
    else ln_fwd_rows(qk__kern(), y, mean, rstd, x, gamma, beta, eps, 0, x->rows);
    return QK_OK;
}

/* llm.c's form: with n = (x - mean)·rstd and g = gamma·dy,
 * dx += (g - mean(g) - n·mean(g·n))·rstd; dgamma += dy·n; dbeta += dy.
 * In parallel (SPEC §2.8) the rows' dx are split by bands of rows and the sums into
 * dgamma and dbeta (a chain over the rows per column, in row order) by bands of
 * columns; n is recomputed by the same operations, so every value is the serial one. */
#define QK__LN_BWD_STACK 1024 /* columns: a task's own n and g rows (wider rows: serial) */

/* Row t: norm and g (C each) into the buffers, dx; with dgb also dgamma and dbeta. */
static void ln_bwd_row(const qk_kernels *k, const qk_kernels_ext *e, qk_mat *dx, float *dgamma, float *dbeta,
                       const qk_mat *dy, const qk_mat *x, float mean, float rstd, const float *gamma, float *norm,
                       float *g, int t, int dgb)
{
    const int C = x->cols;
    const float *xt = x->data + (size_t)t * x->stride;
    const float *dyt = dy->data + (size_t)t * dy->stride;
    float *dxt = dx->data + (size_t)t * dx->stride;
    if (e->ln_bwd_prep) e->ln_bwd_prep(norm, g, xt, dyt, gamma, mean, rstd, C);
    else
        for (int i = 0; i < C; i++) {
            norm[i] = (xt[i] - mean) * rstd;
            g[i] = gamma[i] * dyt[i];
        }
    float gmean = k->sum(g, C) / (float)C;
    float gnmean = k->dot(g, norm, C) / (float)C;
    if (e->ln_bwd_dx) e->ln_bwd_dx(dxt, norm, g, gmean, gnmean, rstd, C);
    else
        for (int i = 0; i < C; i++) dxt[i] += ((g[i] - gmean) - norm[i] * gnmean) * rstd;
    if (!dgb) return;
    if (e->ln_bwd_dgb) e->ln_bwd_dgb(dgamma, dbeta, dyt, norm, C);
    else
        for (int i = 0; i < C; i++) {
            dgamma[i] += dyt[i] * norm[i];
            dbeta[i] += dyt[i];
        }
}

static void ln_bwd_part(void *arg, int t)
{
    const vec_job *j = (const vec_job *)arg;
    float buf[2 * QK__LN_BWD_STACK];
    const qk_kernels *k = qk__kern();
    const qk_kernels_ext *e = qk__kern_ext();
    int r1 = (t + 1) * j->per < j->x->rows ? (t + 1) * j->per : j->x->rows;
    for (int r = t * j->per; r < r1; r++)
        ln_bwd_row(k, e, j->dx, NULL, NULL, j->dy, j->x, j->cmean[r], j->crstd[r], j->gamma, buf,
                   buf + QK__LN_BWD_STACK, r, 0);
}

/* columns [t·per, (t+1)·per) of dgamma and dbeta, rows in order; norm recomputed */
static void ln_bwd_cols(void *arg, int t)
{
    const vec_job *j = (const vec_job *)arg;
    const qk_kernels_ext *e = qk__kern_ext();
    float norm[QK__LN_BWD_STACK], g[QK__LN_BWD_STACK];
    const int C = j->x->cols, c0 = t * j->per, c1 = c0 + j->per < C ? c0 + j->per : C;
    for (int r = 0; r < j->x->rows; r++) {
        const float *xt = j->x->data + (size_t)r * j->x->stride + c0;
        const float *dyt = j->dy->data + (size_t)r * j->dy->stride + c0;
        if (e->ln_bwd_prep && e->ln_bwd_dgb) {
            e->ln_bwd_prep(norm, g, xt, dyt, j->gamma + c0, j->cmean[r], j->crstd[r], c1 - c0);
            e->ln_bwd_dgb(j->dgamma + c0, j->dbeta + c0, dyt, norm, c1 - c0);
            continue;
        }
        for (int i = 0; i < c1 - c0; i++) {
            float nv = (xt[i] - j->cmean[r]) * j->crstd[r];
            j->dgamma[c0 + i] += dyt[i] * nv;
            j->dbeta[c0 + i] += dyt[i];
        }
    }
}

qk_status qk_layernorm_backward(qk_mat *dx, float *dgamma, float *dbeta, const qk_mat *dy,
                                const qk_mat *x, const float *mean, const float *rstd,
                                const float *gamma, float *scratch)
{
    if (!view_ok(dx) || !view_ok(dy) || !view_ok(x) || !dgamma || !dbeta || !mean || !rstd ||
        !gamma || !scratch)
        return QK_ERR_ARG;
    if (!same_shape(dx, x) || !same_shape(dy, x)) return QK_ERR_SHAPE;
    const qk_kernels *k = qk__kern();
    const int C = x->cols;
    vec_job j = {NULL, dx, x, dy, NULL, NULL, dgamma, dbeta, mean, rstd, gamma, NULL, 0.0f, 0, 0};
    int parts = row_parts(x->rows, C, &j.per);
    /* split only when dx shares no memory with what the other phase reads */
    if (parts > 1 && C <= QK__LN_BWD_STACK && dx->data != dy->data && dx->data != x->data) {
        qk_parallel_run(parts, ln_bwd_part, &j);
        int w = qk_parallel_workers(), cp = C < w ? C : w;
        j.per = (C + cp - 1) / cp;
        qk_parallel_run((C + j.per - 1) / j.per, ln_bwd_cols, &j);
        return QK_OK;
    }
    const qk_kernels_ext *e = qk__kern_ext();
    for (int t = 0; t < x->rows; t++)
        ln_bwd_row(k, e, dx, dgamma, dbeta, dy, x, mean[t], rstd[t], gamma, scratch, scratch + C, t, 1);
    return QK_OK;
}
