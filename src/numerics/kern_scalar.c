/* kern_scalar.c — the portable reference kernels. Every other path must reproduce
 * these bits. */
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
            for (int j = 0; j < NR; j++) acc[r][j] = fmaf(a, bp[k * NR + j], acc[r][j]);
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
    for (int i = 0; i < n; i++) l[i & 7] = fmaf(x[i], y[i], l[i & 7]);
    return qk__combine8(l);
}

static void vexpf_scalar(float *y, const float *x, int n)
{
    for (int i = 0; i < n; i++) y[i] = qk_expf(x[i]);
}

const qk_kernels qk__kernels_scalar = {"scalar", MR, NR, gemm_tile_scalar,
                                       sum_scalar, dot_scalar, vexpf_scalar};
