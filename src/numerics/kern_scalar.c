/* kern_scalar.c — the portable reference kernels. Every other path must reproduce
 * these bits. */
#include "qk_fp.h"
#include <math.h>
#include "qk_kernels.h"

#define MR 4
#define NR 8

static void gemm_tile_scalar(int kc, const float *ap, const float *bp, float *c, int ldc,
                             int m, int n, int load_c)
{
    float acc[MR][NR];
    for (int r = 0; r < MR; r++)
        for (int j = 0; j < NR; j++) acc[r][j] = (load_c && r < m && j < n) ? c[r * ldc + j] : 0.0f;
    for (int k = 0; k < kc; k++)
        for (int r = 0; r < MR; r++) {
            float a = ap[k * MR + r];
            for (int j = 0; j < NR; j++) acc[r][j] = qk__fmaf(a, bp[k * NR + j], acc[r][j]);
        }
    for (int r = 0; r < m; r++)
        for (int j = 0; j < n; j++) c[r * ldc + j] = acc[r][j];
}

static float sum_scalar(const float *x, int n)
{
    float l[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int i = 0; i < n; i++) l[i & 7] += x[i];
    return qk__combine8(l);
}

static float dot_scalar(const float *x, const float *y, int n)
{
    float l[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int i = 0; i < n; i++) l[i & 7] = qk__fmaf(x[i], y[i], l[i & 7]);
    return qk__combine8(l);
}

static void vexpf_scalar(float *y, const float *x, int n)
{
    for (int i = 0; i < n; i++) y[i] = qk_expf(x[i]);
}

/* Jacobi kernels (double): defined at the end of this file. */
static void jrot_scalar(double *x, double *y, int n, double c, double s);
static void jstep_scalar(const double *x0, const double *x1, double *y0, double *y1, int h, double a,
                         double b, const double *as, const double *bs);
static void jdot3_scalar(const double *x, const double *y, int n, double out[3]);
static void jfrot_scalar(double *x, double *y, int n, double a, double b);
static void jangle_scalar(int h, double tol, const double *g, double *o);
static void jfcols_scalar(double *r, int nr, const int *cp, const int *cq, const double *a, const double *b);

const qk_kernels qk__kernels_scalar = {"scalar", MR, NR, gemm_tile_scalar,
                                       sum_scalar, dot_scalar, vexpf_scalar,
                                       jrot_scalar, jstep_scalar, jdot3_scalar, jfrot_scalar,
                                       jangle_scalar, jfcols_scalar};

/* ---------------------------------------------------------------- Jacobi (double) */
/* The rotation of every path: x' = fma(c, x, -(s*y)), y' = fma(c, y, s*x). */
static void jrot_scalar(double *x, double *y, int n, double c, double s)
{
    for (int i = 0; i < n; i++) {
        double a = x[i], b = y[i];
        x[i] = qk__fma(c, a, -(s * b));
        y[i] = qk__fma(c, b, s * a);
    }
}

/* The factored rotation (a, b) of a pair: x' = fma(b, y, x), y' = fma(a, x, y). */
static void jfrot_scalar(double *x, double *y, int n, double a, double b)
{
    for (int i = 0; i < n; i++) {
        double u = x[i], w = y[i];
        x[i] = qk__fma(b, w, u);
        y[i] = qk__fma(a, u, w);
    }
}

/* Row map first, then the column map of each result row (qk_kernels.h). */
static void jstep_scalar(const double *x0, const double *x1, double *y0, double *y1, int h, double a,
                         double b, const double *as, const double *bs)
{
    const double *x0b = x0 + h + 8, *x1b = x1 + h + 8;
    double *y0t = y0 + 4, *y1t = y1 + 4, *y0b = y0 + h + 4, *y1b = y1 + h + 4;
    for (int o = 0; o < h; o++) {
        double u = x0[o], w = x1[o], ub = x0b[o], wb = x1b[o];
        double r0t = qk__fma(b, w, u), r1t = qk__fma(a, u, w);
        double r0b = qk__fma(b, wb, ub), r1b = qk__fma(a, ub, wb);
        double ao = as[o], bo = bs[o];
        y0t[o] = qk__fma(bo, r0b, r0t);
        y0b[o] = qk__fma(ao, r0t, r0b);
        y1t[o] = qk__fma(bo, r1b, r1t);
        y1b[o] = qk__fma(ao, r1t, r1b);
    }
}

static void jdot3_scalar(const double *x, const double *y, int n, double out[3])
{
    double a[8] = {0, 0, 0, 0, 0, 0, 0, 0}, b[8] = {0, 0, 0, 0, 0, 0, 0, 0}, g[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int i = 0; i < n; i++) {
        a[i & 7] = qk__fma(x[i], x[i], a[i & 7]);
        b[i & 7] = qk__fma(y[i], y[i], b[i & 7]);
        g[i & 7] = qk__fma(x[i], y[i], g[i & 7]);
    }
    out[0] = qk__combine8d(a);
    out[1] = qk__combine8d(b);
    out[2] = qk__combine8d(g);
}

/* The reference of the angle computation (qk_kernels.h); |x| written as a comparison. */
static void jangle_scalar(int h, double tol, const double *g, double *o)
{
    for (int k = 0; k < h; k++) {
        double app = g[k], aqq = g[h + k], apq = g[2 * h + k], dp = g[3 * h + k], dq = g[4 * h + k];
        double aa = apq < 0.0 ? -apq : apq, t;
        o[k] = o[h + k] = o[2 * h + k] = o[3 * h + k] = o[4 * h + k] = 0.0;
        if (!(aa >= 0x1p-1022) || !(aa > tol * sqrt(app < 0.0 ? -app : app) * sqrt(aqq < 0.0 ? -aqq : aqq))) continue;
        double r = dq / dp, dd = qk__fma(r, aqq, -(app / r));
        if ((dd < 0.0 ? -dd : dd) > 0x1p500 * aa) {
            t = apq / dd;
        } else {
            double theta = 0.5 * dd / apq;
            double w = 1.0 / ((theta < 0.0 ? -theta : theta) + sqrt(qk__fma(theta, theta, 1.0)));
            t = theta < 0.0 ? -w : w;
        }
        double u = qk__fma(t, t, 1.0), al = t / r, be = -(t * r);
        o[k] = al;
        o[h + k] = be;
        o[2 * h + k] = 1.0 / sqrt(u);
        o[3 * h + k] = qk__fma(be, apq, app) * u;
        o[4 * h + k] = qk__fma(al, apq, aqq) * u;
    }
}

static void jfcols_scalar(double *r, int nr, const int *cp, const int *cq, const double *a, const double *b)
{
    for (int i = 0; i < nr; i++) {
        double x = r[cp[i]], y = r[cq[i]];
        r[cp[i]] = qk__fma(b[i], y, x);
        r[cq[i]] = qk__fma(a[i], x, y);
    }
}

