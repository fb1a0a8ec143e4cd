/* qk_vector.c — reductions (SPEC §2.4), row softmax and LayerNorm with backward. */
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

/* y = softmax(x) per row; masked columns (j > i when causal) become 0. */
qk_status qk_softmax_forward(qk_mat *y, const qk_mat *x, int causal)
{
    if (!view_ok(y) || !view_ok(x)) return QK_ERR_ARG;
    if (!same_shape(y, x)) return QK_ERR_SHAPE;
    const qk_kernels *k = qk__kern();
    for (int i = 0; i < x->rows; i++) {
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
    return QK_OK;
}

qk_status qk_softmax_backward(qk_mat *dx, const qk_mat *y, const qk_mat *dy, int causal)
{
    if (!view_ok(dx) || !view_ok(y) || !view_ok(dy)) return QK_ERR_ARG;
    if (!same_shape(dx, y) || !same_shape(dy, y)) return QK_ERR_SHAPE;
    const qk_kernels *k = qk__kern();
    for (int i = 0; i < y->rows; i++) {
        const float *yi = y->data + (size_t)i * y->stride;
        const float *dyi = dy->data + (size_t)i * dy->stride;
        float *dxi = dx->data + (size_t)i * dx->stride;
        int n = causal ? (i + 1 < y->cols ? i + 1 : y->cols) : y->cols;
        float ydy = k->dot(yi, dyi, n);
        for (int j = 0; j < n; j++) dxi[j] += yi[j] * (dyi[j] - ydy);
    }
    return QK_OK;
}

qk_status qk_layernorm_forward(qk_mat *y, float *mean, float *rstd, const qk_mat *x,
                               const float *gamma, const float *beta, float eps)
{
    if (!view_ok(y) || !view_ok(x) || !mean || !rstd || !gamma || !beta) return QK_ERR_ARG;
    if (!same_shape(y, x)) return QK_ERR_SHAPE;
    if (y->data == x->data) return QK_ERR_ARG;
    const qk_kernels *k = qk__kern();
    const int C = x->cols;
    for (int t = 0; t < x->rows; t++) {
        const float *xt = x->data + (size_t)t * x->stride;
        float *yt = y->data + (size_t)t * y->stride;
        float m = k->sum(xt, C) / (float)C;
        for (int i = 0; i < C; i++) yt[i] = xt[i] - m;
        float var = k->dot(yt, yt, C) / (float)C;
        float rs = 1.0f / sqrtf(var + eps);
        for (int i = 0; i < C; i++) yt[i] = (yt[i] * rs) * gamma[i] + beta[i];
        mean[t] = m;
        rstd[t] = rs;
    }
    return QK_OK;
}

/* llm.c's form: with n = (x - mean)·rstd and g = gamma·dy,
 * dx += (g - mean(g) - n·mean(g·n))·rstd; dgamma += dy·n; dbeta += dy. */
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
    float *norm = scratch, *g = scratch + C;
    for (int t = 0; t < x->rows; t++) {
        const float *xt = x->data + (size_t)t * x->stride;
        const float *dyt = dy->data + (size_t)t * dy->stride;
        float *dxt = dx->data + (size_t)t * dx->stride;
        for (int i = 0; i < C; i++) {
            norm[i] = (xt[i] - mean[t]) * rstd[t];
            g[i] = gamma[i] * dyt[i];
        }
        float gmean = k->sum(g, C) / (float)C;
        float gnmean = k->dot(g, norm, C) / (float)C;
        for (int i = 0; i < C; i++) {
            dxt[i] += ((g[i] - gmean) - norm[i] * gnmean) * rstd[t];
            dgamma[i] += dyt[i] * norm[i];
            dbeta[i] += dyt[i];
        }
    }
    return QK_OK;
}
