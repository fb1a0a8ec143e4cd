/* qk_matrix.c — matrix views and the matrix product (SPEC §2.3).
 *
 * Packed, blocked product in the BLIS style: B blocks of (KC, NC) and A blocks of
 * (MC, KC) are packed into micro-panels on the stack; the ISA kernel computes one
 * (mr, nr) tile. K is split into blocks processed in increasing order and each tile
 * restarts from the C value the previous block stored, so every C[i][j] stays one
 * FMA chain over k = 0..K-1: blocking and tile shapes never change a bit. */
#include "qk_fp.h"
#include <stdint.h>
#include <string.h>
#include "qk_kernels.h"

qk_mat qk_mat_view(float *data, int rows, int cols, int stride)
{
    qk_mat m = {rows, cols, stride, data};
    return m;
}

size_t qk_gemm_stack_bytes(void)
{
    return sizeof(float) * ((size_t)QK_GEMM_MC * QK_GEMM_KC + (size_t)QK_GEMM_KC * QK_GEMM_NC);
}

static int view_ok(const qk_mat *m)
{
    return m && m->rows >= 0 && m->cols >= 0 && m->stride >= m->cols &&
           (m->data || m->rows == 0 || m->cols == 0);
}

static uintptr_t view_end(const qk_mat *m)
{
    if (m->rows == 0 || m->cols == 0) return (uintptr_t)m->data;
    return (uintptr_t)(m->data + (size_t)(m->rows - 1) * m->stride + m->cols);
}

static int views_overlap(const qk_mat *a, const qk_mat *b)
{
    if (a->rows == 0 || a->cols == 0 || b->rows == 0 || b->cols == 0) return 0;
    return (uintptr_t)a->data < view_end(b) && (uintptr_t)b->data < view_end(a);
}

/* ap: (kc, mr) — rows i0..i0+mr of op(A), zero beyond m */
static void pack_a(float *ap, const qk_mat *A, int ta, int i0, int m, int k0, int kc, int mr)
{
    const size_t s = (size_t)A->stride;
    if (ta) { /* op(A)[i][k] = A[k][i]: rows of A are contiguous in i */
        for (int k = 0; k < kc; k++) {
            const float *src = A->data + (size_t)(k0 + k) * s + i0;
            float *dst = ap + (size_t)k * mr;
            int r = 0;
            for (; r < m; r++) dst[r] = src[r];
            for (; r < mr; r++) dst[r] = 0.0f;
        }
        return;
    }
    /* op(A)[i][k] = A[i][k]: gather one element from each of the m rows per k */
    const float *src = A->data + (size_t)i0 * s + k0;
    for (int k = 0; k < kc; k++) {
        float *dst = ap + (size_t)k * mr;
        int r = 0;
        for (; r < m; r++) dst[r] = src[(size_t)r * s + k];
        for (; r < mr; r++) dst[r] = 0.0f;
    }
}

/* bp: (kc, nr) — columns j0..j0+nr of op(B), zero beyond n */
static void pack_b(float *bp, const qk_mat *B, int tb, int j0, int n, int k0, int kc, int nr)
{
    const size_t s = (size_t)B->stride;
    if (tb) { /* op(B)[k][j] = B[j][k]: gather one element from each of the n rows per k */
        const float *src = B->data + (size_t)j0 * s + k0;
        for (int k = 0; k < kc; k++) {
            float *dst = bp + (size_t)k * nr;
            int c = 0;
            for (; c < n; c++) dst[c] = src[(size_t)c * s + k];
            for (; c < nr; c++) dst[c] = 0.0f;
        }
        return;
    }
    for (int k = 0; k < kc; k++) { /* rows of B are contiguous in j */
        const float *src = B->data + (size_t)(k0 + k) * s + j0;
        float *dst = bp + (size_t)k * nr;
        if (n == nr) {
            memcpy(dst, src, sizeof(float) * nr);
            continue;
        }
        int c = 0;
        for (; c < n; c++) dst[c] = src[c];
        for (; c < nr; c++) dst[c] = 0.0f;
    }
}

static int imin(int a, int b) { return a < b ? a : b; }

qk_status qk_matmul(qk_mat *C, const qk_mat *A, const qk_mat *B, int flags)
{
    if (!view_ok(C) || !view_ok(A) || !view_ok(B)) return QK_ERR_ARG;
    int ta = (flags & QK_TRANS_A) != 0, tb = (flags & QK_TRANS_B) != 0;
    int accumulate = (flags & QK_ACCUMULATE) != 0;
    int M = ta ? A->cols : A->rows, K = ta ? A->rows : A->cols;
    int KB = tb ? B->cols : B->rows, N = tb ? B->rows : B->cols;
    if (K != KB || C->rows != M || C->cols != N) return QK_ERR_SHAPE;
    if (views_overlap(C, A) || views_overlap(C, B)) return QK_ERR_ARG;
    if (M == 0 || N == 0) return QK_OK;
    if (K == 0) {
        if (!accumulate)
            for (int i = 0; i < M; i++) memset(C->data + (size_t)i * C->stride, 0, sizeof(float) * N);
        return QK_OK;
    }
    const qk_kernels *kern = qk__kern();
    const int mr = kern->mr, nr = kern->nr;
    const int mcb = QK_GEMM_MC / mr * mr, ncb = QK_GEMM_NC / nr * nr;
    if (mcb == 0 || ncb == 0) return QK_ERR_CAPACITY;
    float abuf[QK_GEMM_MC * QK_GEMM_KC];
    float bbuf[QK_GEMM_KC * QK_GEMM_NC];
    for (int jc = 0; jc < N; jc += ncb) {
        int nc = imin(ncb, N - jc);
        for (int pc = 0; pc < K; pc += QK_GEMM_KC) {
            int kc = imin(QK_GEMM_KC, K - pc);
            int load_c = accumulate || pc > 0;
            for (int jp = 0; jp < nc; jp += nr)
                pack_b(bbuf + (size_t)jp * kc, B, tb, jc + jp, imin(nr, nc - jp), pc, kc, nr);
            for (int ic = 0; ic < M; ic += mcb) {
                int mc = imin(mcb, M - ic);
                for (int ip = 0; ip < mc; ip += mr)
                    pack_a(abuf + (size_t)ip * kc, A, ta, ic + ip, imin(mr, mc - ip), pc, kc, mr);
                for (int jp = 0; jp < nc; jp += nr)
                    for (int ip = 0; ip < mc; ip += mr) {
                        float *c = C->data + (size_t)(ic + ip) * C->stride + jc + jp;
                        kern->gemm_tile(kc, abuf + (size_t)ip * kc, bbuf + (size_t)jp * kc, c,
                                        C->stride, imin(mr, mc - ip), imin(nr, nc - jp), load_c);
                    }
            }
        }
    }
    return QK_OK;
}
