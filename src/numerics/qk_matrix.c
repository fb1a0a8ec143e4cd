/* qk_matrix.c — matrix views and the matrix product (SPEC §2.3).
 *
 * Blocked product in the BLIS style: B blocks of (KC, NC) and A blocks of (MC, KC),
 * packed into micro-panels on the stack (or, where the kernel table has a tile on
 * operands in place, read in place where that is faster); the ISA kernel computes one
 * (mr, nr) tile. K is split into blocks processed in increasing order and each tile
 * restarts from the C value the previous block stored, so every C[i][j] stays one
 * FMA chain over k = 0..K-1: blocking, packing and tile shapes never change a bit.
 * With a parallel-for (qk.h), a large product is cut into bands of whole tiles,
 * columns or rows, each computed by one task with its own packing buffers (SPEC §2.8:
 * each C element is computed whole by one task). */
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
    /* op(A)[i][k] = A[i][k]: each of the m rows is read contiguously, written every mr */
    for (int r = 0; r < mr; r++) {
        const float *src = A->data + (size_t)(i0 + r) * s + k0;
        float *dst = ap + r;
        if (r < m)
            for (int k = 0; k < kc; k++) dst[(size_t)k * mr] = src[k];
        else
            for (int k = 0; k < kc; k++) dst[(size_t)k * mr] = 0.0f;
    }
}

/* bp: (kc, nr) — columns j0..j0+nr of op(B); beyond n zero when zero_pad (the packed
 * tile reads them), else left as they are (the strided tile masks them off) */
static void pack_b(float *bp, const qk_mat *B, int tb, int j0, int n, int k0, int kc, int nr, int zero_pad)
{
    const size_t s = (size_t)B->stride;
    if (tb) { /* op(B)[k][j] = B[j][k]: each of the n rows of B is read contiguously */
        for (int c = 0; c < n; c++) {
            const float *src = B->data + (size_t)(j0 + c) * s + k0;
            float *dst = bp + c;
            for (int k = 0; k < kc; k++) dst[(size_t)k * nr] = src[k];
        }
        if (zero_pad)
            for (int k = 0; k < kc; k++)
                for (int c = n; c < nr; c++) bp[(size_t)k * nr + c] = 0.0f;
        return;
    }
    for (int k = 0; k < kc; k++) { /* rows of B are contiguous in j */
        const float *src = B->data + (size_t)(k0 + k) * s + j0;
        float *dst = bp + (size_t)k * nr;
        memcpy(dst, src, sizeof(float) * (size_t)n);
        if (zero_pad)
            for (int c = n; c < nr; c++) dst[c] = 0.0f;
    }
}

static int imin(int a, int b) { return a < b ? a : b; }

/* One product, and the rectangle [i0, i1) x [j0, j1) of C a call computes. */
typedef struct {
    const qk_kernels *kern;
    const qk_kernels_ext *ext;
    qk_mat *C;
    const qk_mat *A, *B;
    int ta, tb, accumulate, K;
    int split_rows, step, M, N; /* parallel split: part t is rows (or columns) [t·step, (t+1)·step) */
} gemm_job;

/* The packed path (tables without gemm_tile_s): B blocks (KC, NC) and A blocks (MC, KC)
 * packed into micro-panels on the stack, the kernel computes one (mr, nr) tile. */
static void gemm_packed(const gemm_job *g, int i0, int i1, int j0, int j1)
{
    const qk_kernels *kern = g->kern;
    const int mr = kern->mr, nr = kern->nr, K = g->K;
    const int mcb = QK_GEMM_MC / mr * mr, ncb = QK_GEMM_NC / nr * nr;
    float abuf[QK_GEMM_MC * QK_GEMM_KC];
    float bbuf[QK_GEMM_KC * QK_GEMM_NC];
    qk_mat *C = g->C;
    for (int jc = j0; jc < j1; jc += ncb) {
        int nc = imin(ncb, j1 - jc);
        for (int pc = 0; pc < K; pc += QK_GEMM_KC) {
            int kc = imin(QK_GEMM_KC, K - pc);
            int load_c = g->accumulate || pc > 0;
            for (int jp = 0; jp < nc; jp += nr)
                pack_b(bbuf + (size_t)jp * kc, g->B, g->tb, jc + jp, imin(nr, nc - jp), pc, kc, nr, 1);
            for (int ic = i0; ic < i1; ic += mcb) {
                int mc = imin(mcb, i1 - ic);
                for (int ip = 0; ip < mc; ip += mr)
                    pack_a(abuf + (size_t)ip * kc, g->A, g->ta, ic + ip, imin(mr, mc - ip), pc, kc, mr);
                for (int jp = 0; jp < nc; jp += nr)
                    for (int ip = 0; ip < mc; ip += mr) {
                        float *c = C->data + (size_t)(ic + ip) * C->stride + jc + jp;
                        kern->gemm_tile(kc, abuf + (size_t)ip * kc, bbuf + (size_t)jp * kc, c, C->stride,
                                        imin(mr, mc - ip), imin(nr, nc - jp), load_c);
                    }
            }
        }
    }
}

/* The path of tables with gemm_tile_s: A is read where it is, by rows (each of the mr
 * rows a stream in k) or, transposed, by k-rows of mr contiguous elements; B by k-rows
 * of nr contiguous elements, in place for a few row tiles, else (and always when it is
 * transposed: its k-rows are columns in memory) packed into contiguous (kc, nr)
 * micro-panels, which stay in L1 while the row tiles pass (the tile masks the columns
 * beyond n, so no padding is written). */
#define QK__SWAP_TILE 512      /* floats of one (mr, nr) tile of the swapped product, at most */
#define QK__GEMM_PACK_B_ROWS 64 /* more rows than this: B is packed (measured, AVX-512) */

static void gemm_strided(const gemm_job *g, int i0, int i1, int j0, int j1)
{
    const qk_kernels *kern = g->kern;
    const int mr = kern->mr, nr = kern->nr, K = g->K, kcb = QK_GEMM_KC;
    const int mcb = QK_GEMM_MC / mr * mr, ncb = QK_GEMM_NC / nr * nr;
    float bbuf[QK_GEMM_KC * QK_GEMM_NC];
    qk_mat *C = g->C;
    const qk_mat *A = g->A, *B = g->B;
    const ptrdiff_t lda = A->stride, ldb = B->stride;
    const ptrdiff_t ars = g->ta ? 1 : lda, acs = g->ta ? lda : 1;
    const int packb = g->tb || i1 - i0 > QK__GEMM_PACK_B_ROWS;
    for (int jc = j0; jc < j1; jc += ncb) {
        int nc = imin(ncb, j1 - jc);
        for (int pc = 0; pc < K; pc += kcb) {
            int kc = imin(kcb, K - pc);
            int load_c = g->accumulate || pc > 0;
            for (int jp = 0; packb && jp < nc; jp += nr) {
                int n = imin(nr, nc - jp);
                if (g->tb && g->ext->pack_bt)
                    g->ext->pack_bt(bbuf + (size_t)jp * kc, nr, B->data + (size_t)(jc + jp) * ldb + pc, ldb, n, kc);
                else
                    pack_b(bbuf + (size_t)jp * kc, B, g->tb, jc + jp, n, pc, kc, nr, 0);
            }
            for (int ic = i0; ic < i1; ic += mcb) {
                int mc = imin(mcb, i1 - ic);
                for (int jp = 0; jp < nc; jp += nr) {
                    const float *bp = packb ? bbuf + (size_t)jp * kc : B->data + (size_t)pc * ldb + jc + jp;
                    const ptrdiff_t lb = packb ? nr : ldb;
                    int n = imin(nr, nc - jp);
                    for (int ip = 0; ip < mc; ip += mr) {
                        float *c = C->data + (size_t)(ic + ip) * C->stride + jc + jp;
                        const float *a = A->data + (size_t)(ic + ip) * ars + (size_t)pc * acs;
                        g->ext->gemm_tile_s(kc, a, ars, acs, bp, lb, c, C->stride, imin(mr, mc - ip), n, load_c);
                    }
                }
            }
        }
    }
}

/* A·Bᵀ with few rows of A — a short sequence through a wide layer, as BERT's 128 tokens
 * through its 768 × 3072 weights: there, packing the transposed B (the weights, each
 * read once) is a quarter of the product's time, so the roles swap: Cᵀ = B·Aᵀ, B's rows
 * read in place as the tile's A operand, A's rows packed as its B (once per k-block,
 * used by every row tile), each (mr, nr) tile of Cᵀ moved to and from C by the same
 * transposing copy. Every element is the same chain as on the other paths (SPEC §2.3):
 * the tile's fmaf(b, a, c) is fmaf(a, b, c), one rounding of the same exact product;
 * between k-blocks the chain goes through C's float as it does there. */
#define QK__SWAP_ROWS 128 /* at most this many rows of A (their panels fill the stack buffer) */

static int gemm_swaps(const gemm_job *g)
{
    return g->tb && !g->ta && g->ext->gemm_tile_s && g->ext->pack_bt && g->M <= QK__SWAP_ROWS &&
           g->N >= 2 * g->M && g->K >= QK_GEMM_KC && g->kern->mr * g->kern->nr <= QK__SWAP_TILE;
}

static void gemm_swapped(const gemm_job *g, int i0, int i1, int j0, int j1)
{
    const qk_kernels_ext *x = g->ext;
    const int mr = g->kern->mr, nr = g->kern->nr, K = g->K;
    const int mp = (i1 - i0 + nr - 1) / nr * nr;       /* A's rows, whole panels */
    const int kcb = QK_GEMM_KC * QK_GEMM_NC / mp / 8 * 8; /* k-block: the panels fill abuf */
    float abuf[QK_GEMM_KC * QK_GEMM_NC];
    float ct[QK__SWAP_TILE];
    qk_mat *C = g->C;
    const qk_mat *A = g->A, *B = g->B;
    const ptrdiff_t lda = A->stride, ldb = B->stride;
    const int ldc = C->stride;
    for (int pc = 0; pc < K; pc += kcb) {
        int kc = imin(kcb, K - pc), load_c = g->accumulate || pc > 0;
        for (int jp = 0; jp < i1 - i0; jp += nr)
            x->pack_bt(abuf + (size_t)jp * kc, nr, A->data + (size_t)(i0 + jp) * lda + pc, lda, imin(nr, i1 - i0 - jp), kc);
        for (int ip = j0; ip < j1; ip += mr) { /* mr rows of B: stay in L1 across A's panels */
            int m = imin(mr, j1 - ip);
            const float *b = B->data + (size_t)ip * ldb + pc;
            for (int jp = 0; jp < i1 - i0; jp += nr) {
                int n = imin(nr, i1 - i0 - jp);
                float *c = C->data + (size_t)(i0 + jp) * ldc + ip;
                if (load_c) x->pack_bt(ct, nr, c, ldc, n, m); /* ct[r][t] = C[i0+jp+t][ip+r] */
                x->gemm_tile_s(kc, b, ldb, 1, abuf + (size_t)jp * kc, nr, ct, nr, m, n, load_c);
                x->pack_bt(c, ldc, ct, nr, m, n);             /* and back */
            }
        }
    }
}

static void gemm_region(const gemm_job *g, int i0, int i1, int j0, int j1)
{
    if (gemm_swaps(g)) gemm_swapped(g, i0, i1, j0, j1);
    else if (g->ext->gemm_tile_s) gemm_strided(g, i0, i1, j0, j1);
    else gemm_packed(g, i0, i1, j0, j1);
}

/* Part t of a parallel product: a band of rows or of columns (SPEC §2.8: every C
 * element is computed whole by one part, the same chain as without the split). */
static void gemm_part(void *arg, int t)
{
    const gemm_job *g = (const gemm_job *)arg;
    int lo = t * g->step;
    if (g->split_rows) gemm_region(g, lo, imin(lo + g->step, g->M), 0, g->N);
    else gemm_region(g, 0, g->M, lo, imin(lo + g->step, g->N));
}

/* Products below this many multiply-adds run in the calling thread: a parallel region
 * costs a few microseconds. */
#define QK__GEMM_PAR_MIN (1L << 19)

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
    if (QK_GEMM_MC / mr == 0 || QK_GEMM_NC / nr == 0) return QK_ERR_CAPACITY;
    gemm_job g = {kern, qk__kern_ext(), C, A, B, ta, tb, accumulate, K, 0, 0, M, N};
    int workers = qk_parallel_workers();
    if (workers > 1 && ((long)M * N * K >= QK__GEMM_PAR_MIN || qk__split_all())) {
        /* Each part reads all of the operand on the side it does not split: a band of
         * columns reads all of A, a band of rows packs all of B. So the longer side is
         * split (rows when M >= N: the training's 4096-row products), in whole mr tiles
         * or nr panels, when it has a unit for every worker; else the other side. */
        /* Up to 4 parts per worker: a worker that is descheduled (a shared machine)
         * holds up a region by one small part only. But one per worker when k is long
         * against the output (the weight gradients, K = B·T): there each part streams
         * the whole long operand again. */
        int pn = (N + nr - 1) / nr, pm = (M + mr - 1) / mr, parts;
        g.split_rows = M >= N ? pm >= workers || pm > pn : pn < workers && pm > pn;
        int units = g.split_rows ? pm : pn, unit = g.split_rows ? mr : nr;
        int most = K >= 2 * (M > N ? M : N) ? workers : 4 * workers;
        parts = units < most ? units : most;
        g.step = (units + parts - 1) / parts * unit;
        parts = ((g.split_rows ? M : N) + g.step - 1) / g.step;
        if (parts > 1) {
            qk_parallel_run(parts, gemm_part, &g);
            return QK_OK;
        }
    }
    gemm_region(&g, 0, M, 0, N);
    return QK_OK;
}
