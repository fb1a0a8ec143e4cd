/* qk_eigen.c — spectra in double precision (qk_eigen.h): the two-sided Jacobi
 * eigensolver, the one-sided Jacobi SVD, σReparam's power iteration and Haar-random
 * orthogonal matrices (SPEC §1.1, §1.3, §1.4).
 *
 * Reproducibility (SPEC §2): only IEEE +,-,*,/, sqrt and explicit fma; every rotation
 * goes through the kernel table (qk_kernels.h), whose paths apply the same operations
 * per element, so the bits do not depend on the ISA path; all decisions (angles,
 * stopping tests, sorting, signs) are portable scalar code. Scaling is by powers of two
 * only, so it is exact. */
#include "qk_fp.h"
#include <float.h>
#include <math.h> /* sqrt, fma: IEEE-exact */
#include <string.h>
#include "qk_eigen.h"
#include "qk_kernels.h"

#if !defined(FLT_EVAL_METHOD) || FLT_EVAL_METHOD != 0
#error "qkspec needs FLT_EVAL_METHOD == 0 (SPEC §2.1)"
#endif

/* ---------------------------------------------------------------- helpers */
static inline uint64_t dbits(double x) { uint64_t u; memcpy(&u, &x, 8); return u; }
static inline double dfrom(uint64_t u) { double x; memcpy(&x, &u, 8); return x; }
static inline double dabs(double x) { return dfrom(dbits(x) & 0x7fffffffffffffffull); }
static inline int is_finite(double x) { return (dbits(x) & 0x7ff0000000000000ull) != 0x7ff0000000000000ull; }
static inline double pow2(int e) { return dfrom((uint64_t)(e + 1023) << 52); } /* e in [-1022, 1023] */
static inline size_t round4(int n) { return ((size_t)n + 3u) & ~(size_t)3u; }

/* floor(log2 |x|) for finite x != 0 (subnormals too). */
static int exponent_of(double x)
{
    int e = (int)((dbits(x) >> 52) & 0x7ff);
    if (e == 0) return (int)((dbits(x * 0x1p54) >> 52) & 0x7ff) - 1023 - 54;
    return e - 1023;
}

/* x·2^e with a single rounding, for any e: upward steps are exact (or overflow),
 * downward steps are exact while the value stays normal, then one multiply rounds. */
static double scale2(double x, int e)
{
    while (e > 1000) {
        x *= 0x1p1000;
        e -= 1000;
    }
    while (e < -1000) {
        if (!(dabs(x) >= DBL_MIN)) return x * 0.0; /* |x·2^e| < 2^-2022: rounds to ±0 */
        int room = exponent_of(x) + 1022;          /* binades above the lowest normal one */
        if (room == 0) return x * 0.0;
        int st = room < 1000 ? room : 1000;
        x *= pow2(-st);
        e += st;
    }
    return x * pow2(e);
}

/* max |a_ij| of a (rows, cols) view, or -1 if it holds a NaN or an Inf. */
static double max_abs(int rows, int cols, const double *a, int lda)
{
    double m = 0.0;
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) {
            double v = a[(size_t)i * lda + j];
            if (!is_finite(v)) return -1.0;
            if (dabs(v) > m) m = dabs(v);
        }
    return m;
}

/* SPEC §2.4 dot product in portable scalar code (8 lanes, fma per lane). */
static double dot8(const double *x, const double *y, int n)
{
    double l[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int i = 0; i < n; i++) l[i & 7] = qk__fma(x[i], y[i], l[i & 7]);
    return qk__combine8d(l);
}

/* ‖x‖ without overflow or underflow: exact power-of-two prescaling, SPEC §2.4 sum. */
static double norm8(const double *x, int n)
{
    double mx = 0.0;
    for (int i = 0; i < n; i++)
        if (dabs(x[i]) > mx) mx = dabs(x[i]);
    if (mx == 0.0) return 0.0;
    int e = exponent_of(mx);
    double l[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int i = 0; i < n; i++) {
        double y = scale2(x[i], -e);
        l[i & 7] = qk__fma(y, y, l[i & 7]);
    }
    return scale2(sqrt(qk__combine8d(l)), e);
}

/* Makes the largest-magnitude component (the first, on ties) of x (n) positive. */
static int sign_flip_needed(const double *x, int n)
{
    int k = 0;
    for (int i = 1; i < n; i++)
        if (dabs(x[i]) > dabs(x[k])) k = i;
    return x[k] < 0.0;
}

static int resolve_opts(const qk_eig_opts *o, double dflt_tol, double *tol)
{
    *tol = (o && o->tol > 0.0) ? o->tol : dflt_tol;
    return (o && o->max_sweeps > 0) ? o->max_sweeps : QK_EIG_MAX_SWEEPS;
}

/* The Jacobi rotation of the symmetric 2x2 [[app, apq], [apq, aqq]] (SPEC-free textbook
 * form, Rutishauser): returns 0 if the pair counts as converged, else 1 with
 * t = tan(phi), c = cos, s = sin such that the rotation zeroes apq:
 *   rotate iff |apq| >= 2^-1022 and |apq| > tol·sqrt|app|·sqrt|aqq|
 *   theta = (aqq - app)/(2 apq),  t = sign(theta)/(|theta| + sqrt(1 + theta²))
 * (t = apq/(aqq - app) when |theta| > 2^499, where the two agree to 2^-998). */
static int jacobi_angle(double app, double aqq, double apq, double tol, double *c, double *s, double *t)
{
    double aa = dabs(apq);
    if (!(aa >= DBL_MIN)) return 0;
    if (!(aa > tol * sqrt(dabs(app)) * sqrt(dabs(aqq)))) return 0;
    double d = aqq - app, tv;
    if (dabs(d) > 0x1p500 * aa) {
        tv = apq / d;
    } else {
        double theta = 0.5 * d / apq;
        double r = 1.0 / (dabs(theta) + sqrt(qk__fma(theta, theta, 1.0)));
        tv = theta < 0.0 ? -r : r;
    }
    double cv = 1.0 / sqrt(qk__fma(tv, tv, 1.0));
    *c = cv;
    *s = tv * cv;
    *t = tv;
    return 1;
}

/* ---------------------------------------------------------------- the eigensolver */
/* Cyclic two-sided Jacobi, round-robin order, with factored ("fast") rotations
 * (Rutishauser; Anda & Park 1994): the scaled matrix is kept as B = D·Bh·D and the
 * eigenvector matrix as V = Vh·D, D = diag(d) > 0. A Jacobi rotation J (c, s, t = s/c)
 * of the pair (p, q) then becomes Bh' = M^T Bh M, Vh' = Vh M with
 *     M = [[1, alpha], [beta, 1]],  alpha = t·d_p/d_q,  beta = -t·d_q/d_p,
 *     d_p' = c·d_p,  d_q' = c·d_q,
 * one fma per element instead of a multiply and an fma. |t| <= 1 gives c >= 2^-1/2,
 * and D is folded back into Bh and Vh whenever a factor drops below 2^-200, so the
 * entries of Bh stay below 2^400·n·max|B| <= 2^911 (B is scaled to max|b| < 2^501).
 * The stopping test is invariant under D.
 *
 * Order: m = n padded with zero rows to a multiple of 8 (>= 8), h = m/2 pairs per
 * step, positions p; the pairs of a step are (k, h+k). Between steps every position
 * moves one seat round the circle 1, 2, .., h-1, m-1, m-2, .., h (position 0 fixed;
 * next_pos): after m-1 steps (a sweep) each pair has met once and every position is
 * back in place. Luk & Park (1989) show this order equivalent to the cyclic-by-rows
 * one, so it converges as that does.
 *
 * Storage: Bh by rows through brow (position -> physical row; two spare rows after
 * the m positions) and bcol (position -> physical column). In the aligned layout a
 * row is [top seats 0..h-1 | gap 8 | bottom seats 0..h-1] (position h+s is bottom seat
 * s) and within each half seat s sits at column colh(s) = 4·(s mod L) + s div L,
 * L = h/4: four interleaved streams in which the next seat is 4 columns on. So the
 * pairs of a step are the same column c of both halves (vertical SIMD, no gathers),
 * and the move is an aligned shift by one vector: the kernel stores each transformed
 * row pair into the spare rows with the top half 4 columns right and the bottom half
 * 4 columns left, and jac_fixup places the 9 seats that change stream or half. A step
 * in which few pairs rotate is done in place instead (sparse): the rotated rows
 * through the kernel, the rotated columns element by element, and the move only in
 * the maps; the next dense step first realigns. Both apply, per element, the map of
 * its row pair and then that of its column pair, so they give the same numbers. */
#define QK__EIG_SCALE_EXP 500 /* max|b_ij| in [2^500, 2^501) */
#define QK__EIG_DMIN 0x1p-200

typedef struct {
    int n, m, h, L, aligned;
    size_t ld, ldv;
    double *b, *v;                  /* Bh (m+2, ld); rows of Vh^T (m, ldv) or NULL */
    /* per pair, indexed by the column c of its seat (seat sc[c]), h each: */
    double *pa, *pb, *pc, *np, *nq; /* alpha, beta, c (0: not rotated), new diagonal */
    double *g, *ra, *rb;            /* angle inputs (5, h); alpha, beta of the listed pairs */
    double *d, *dt;                 /* per position (m): d; scratch */
    double *cdg, *cpe;              /* per position (m): b_pp and (top positions) b_{p,h+p} */
    int cached;                     /* cdg, cpe hold the current matrix's values */
    int brow[QK_EIG_MAX_N + 10];    /* [m], [m+1]: the spare rows */
    int bcol[QK_EIG_MAX_N + 10];
    int vrow[QK_EIG_MAX_N + 10];
    int nxt[QK_EIG_MAX_N + 10];     /* next_pos */
    int cof[QK_EIG_MAX_N + 10];     /* colof: the column of each position, aligned layout */
    int tmp[QK_EIG_MAX_N + 10];
    int sc[QK_EIG_MAX_N / 2 + 6];   /* seat at column c of a half */
    int rl[QK_EIG_MAX_N / 2 + 6];   /* the columns (pairs) that rotate in this step */
    int rcp[QK_EIG_MAX_N / 2 + 6], rcq[QK_EIG_MAX_N / 2 + 6]; /* their columns (sparse step) */
} jac;

size_t qk_eig_stack_bytes(void) { return sizeof(jac); }

static inline int colh(int s, int L) { return 4 * (s % L) + s / L; }
static inline int colof(int p, int h, int L) { return p < h ? colh(p, L) : h + 8 + colh(p - h, L); }
static inline double *jrow(jac *J, int phys) { return J->b + (size_t)phys * J->ld; }
static inline double *jel(jac *J, int p, int q) { return jrow(J, J->brow[p]) + J->bcol[q]; }

static inline int next_pos(int p, int h)
{
    if (p == 0) return 0;
    if (p < h - 1) return p + 1;
    if (p == h - 1) return 2 * h - 1;
    if (p == h) return 1;
    return p - 1;
}

/* After the shifted store (top value of column c at c+4, bottom value of column c at
 * h+8+c-4), the seats whose new place is not 4 columns on: top seat 0 (fixed; stored
 * at 4), the stream ends of the top half (stored at h..h+3), the stream starts of the
 * bottom half (stored at h+4..h+7). */
static inline void jac_fixup(double *y, int h, int L)
{
    const int be = h + 8 + 4 * (L - 1); /* column of bottom seat L-1 (end of stream 0) */
    y[0] = y[4];                        /* top seat 0 stays */
    if (L > 1) {
        y[4] = y[h + 4]; /* new top seat 1 (column 4) <- old bottom seat 0 */
        y[1] = y[h];     /* new top seat jL <- old top seat jL-1 (stream ends) */
    } else {
        y[1] = y[h + 4];
    }
    y[2] = y[h + 1];
    y[3] = y[h + 2];
    y[be] = y[h + 5]; /* new bottom seat jL+L-1 <- old bottom seat (j+1)L */
    y[be + 1] = y[h + 6];
    y[be + 2] = y[h + 7];
    y[be + 3] = y[h + 3]; /* new bottom seat h-1 <- old top seat h-1 */
}

static void jac_dims(int n, int *m, size_t *ld, size_t *ldv)
{
    *m = (n + 7) & ~7;
    if (*m < 8) *m = 8;
    *ld = (size_t)*m + 8;
    *ldv = round4(n);
}

size_t qk_eigh_work_len(int n, int want_vectors)
{
    if (n < 1) return 0;
    int m;
    size_t ld, ldv;
    jac_dims(n, &m, &ld, &ldv);
    return (size_t)(m + 2) * ld + (want_vectors ? (size_t)m * ldv : 0) + (size_t)12 * (m / 2) + (size_t)4 * m + 4;
}

/* The rotations of the step's pairs from Bh and D by the kernel's jangle
 * (qk_kernels.h), which is jacobi_angle's test and angle in factored form: with
 * r = d_q/d_p, theta = (r·a_qq - a_pp/r)/(2 a_pq) is the angle of the true 2x2,
 * alpha = t/r, beta = -t·r, c = (1 + t²)^-1/2, and the new diagonal is
 * (a_pp - t a_pq)/d_p'^2 = (a_pp + beta·a_pq)(1 + t²), (a_qq + t a_pq)/d_q'^2 likewise.
 * Returns the number of rotating pairs, listed (by column) in rl. */
static int jac_angles(jac *J, double tol, const qk_kernels *K)
{
    const int h = J->h;
    for (int c = 0; c < h; c++) {
        int k = J->sc[c];
        if (J->cached) { /* captured by the last dense step while the rows were in cache */
            J->g[c] = J->cdg[k];
            J->g[h + c] = J->cdg[h + k];
            J->g[2 * h + c] = J->cpe[k];
        } else {
            J->g[c] = *jel(J, k, k);
            J->g[h + c] = *jel(J, h + k, h + k);
            J->g[2 * h + c] = *jel(J, k, h + k);
        }
        J->g[3 * h + c] = J->d[k];
        J->g[4 * h + c] = J->d[h + k];
    }
    K->jangle(h, tol, J->g, J->pa); /* pa, pb, pc, np, nq are consecutive */
    int nr = 0;
    for (int c = 0; c < h; c++)
        if (J->pc[c] != 0.0) J->rl[nr++] = c;
    return nr;
}

/* Realigned copy of Bh (only before a dense step that follows sparse ones). */
static void jac_realign(jac *J)
{
    const int m = J->m, h = J->h;
    for (int p = 0; p < m; p++) {
        const double *src = jrow(J, J->brow[p]);
        int spare = J->brow[m];
        double *dst = jrow(J, spare);
        for (int q = 0; q < m; q++) dst[J->cof[q]] = src[J->bcol[q]];
        for (int j = 0; j < 8; j++) dst[h + j] = 0.0;
        J->brow[m] = J->brow[p];
        J->brow[p] = spare;
    }
    memcpy(J->bcol, J->cof, sizeof(int) * (size_t)m);
    J->aligned = 1;
}

/* The dense step of pair c (column c of the halves): rows x0, x1 mapped into y0, y1. */
static void jac_dense_pair(jac *J, const qk_kernels *K, int c, const double *x0, const double *x1, double *y0,
                           double *y1)
{
    const int h = J->h, L = J->L;
    const int P = J->sc[c], Q = h + P, P2 = J->nxt[P], Q2 = J->nxt[Q];
    K->jstep(x0, x1, y0, y1, h, J->pa[c], J->pb[c], J->pa, J->pb);
    jac_fixup(y0, h, L);
    jac_fixup(y1, h, L);
    if (J->pc[c] != 0.0) { /* the pair's own 2x2 block: the exact Jacobi update */
        y0[J->cof[P2]] = J->np[c];
        y1[J->cof[Q2]] = J->nq[c];
        y0[J->cof[Q2]] = 0.0;
        y1[J->cof[P2]] = 0.0;
    }
    /* the next step's angle inputs of these rows (equal to a later read of them) */
    J->cdg[P2] = y0[J->cof[P2]];
    J->cdg[Q2] = y1[J->cof[Q2]];
    if (P2 < h) J->cpe[P2] = y0[J->cof[P2 + h]];
    if (Q2 < h) J->cpe[Q2] = y1[J->cof[Q2 + h]];
}

/* Pair c's rows go to the two rows pair c - 1 read (pair 0's to the spare rows), so
 * each physical row is written only after it was read. */
static void jac_dense(jac *J, const qk_kernels *K)
{
    const int h = J->h, m = J->m;
    if (!J->aligned) jac_realign(J);
    int sp0 = J->brow[m], sp1 = J->brow[m + 1];
    for (int c = 0; c < h; c++) {
        const int P = J->sc[c], Q = h + P;
        const int r0 = J->brow[P], r1 = J->brow[Q];
        jac_dense_pair(J, K, c, jrow(J, r0), jrow(J, r1), jrow(J, sp0), jrow(J, sp1));
        J->tmp[J->nxt[P]] = sp0;
        J->tmp[J->nxt[Q]] = sp1;
        sp0 = r0;
        sp1 = r1;
    }
    memcpy(J->brow, J->tmp, sizeof(int) * (size_t)m);
    J->brow[m] = sp0;
    J->brow[m + 1] = sp1;
    J->cached = 1;
}

/* The same step as parallel tasks over the rotation sets [c0, c1) (SPEC §2.8: the
 * pairs of a step write disjoint rows). A task first copies the rows of its last pair
 * to its stack; its first pair then writes into them, pair c into the rows pair c - 1
 * read, and the last pair reads the stack copy. Every row gets the serial bits (only
 * the physical places of the rows differ, which brow records); the spare rows stay
 * spare. With vectors, a task also rotates its pairs' rows of Vh. */
typedef struct {
    jac *J;
    const qk_kernels *K;
    int per, with_v;
} jac_par;

static void jac_dense_part(void *arg, int t)
{
    const jac_par *jp = (const jac_par *)arg;
    jac *J = jp->J;
    const int h = J->h, c0 = t * jp->per, c1 = c0 + jp->per < h ? c0 + jp->per : h;
    if (c0 >= c1) return;
    double own[2 * (QK_EIG_MAX_N + 16)];
    const size_t ld = J->ld;
    const int last = c1 - 1, rl0 = J->brow[J->sc[last]], rl1 = J->brow[h + J->sc[last]];
    memcpy(own, jrow(J, rl0), sizeof(double) * ld);
    memcpy(own + ld, jrow(J, rl1), sizeof(double) * ld);
    for (int c = c0; c < c1; c++) {
        const int P = J->sc[c], Q = h + P;
        const int w0 = c == c0 ? rl0 : J->brow[J->sc[c - 1]], w1 = c == c0 ? rl1 : J->brow[h + J->sc[c - 1]];
        const double *x0 = c == last ? own : jrow(J, J->brow[P]), *x1 = c == last ? own + ld : jrow(J, J->brow[Q]);
        jac_dense_pair(J, jp->K, c, x0, x1, jrow(J, w0), jrow(J, w1));
        J->tmp[J->nxt[P]] = w0;
        J->tmp[J->nxt[Q]] = w1;
    }
    for (int c = c0; jp->with_v && c < c1; c++)
        if (J->pc[c] != 0.0) {
            const int k = J->sc[c];
            jp->K->jfrot(J->v + (size_t)J->vrow[k] * J->ldv, J->v + (size_t)J->vrow[h + k] * J->ldv, J->n,
                         J->pa[c], J->pb[c]);
        }
}

/* Steps of this many pairs and more are split when a parallel-for is installed (a step
 * of fewer is some 10 microseconds of work: less than a parallel region costs). */
#define QK__EIG_PAR_MIN_H 128

/* The dense step in parallel (and, with vectors, Vh's rotations); 0 if it is not worth
 * it or there is no parallel-for. */
static int jac_dense_parallel(jac *J, const qk_kernels *K)
{
    const int h = J->h, w = qk_parallel_workers();
    if (w < 2 || (h < QK__EIG_PAR_MIN_H && !qk__split_all())) return 0;
    if (!J->aligned) jac_realign(J);
    int parts = 4 * w < h ? 4 * w : h; /* a few parts per worker: a late worker holds up less */
    jac_par jp = {J, K, (h + parts - 1) / parts, J->v != NULL};
    qk_parallel_run((h + jp.per - 1) / jp.per, jac_dense_part, &jp);
    memcpy(J->brow, J->tmp, sizeof(int) * (size_t)J->m);
    J->cached = 1;
    return 1;
}

static void jac_sparse(jac *J, const qk_kernels *K, int nr)
{
    const int h = J->h, m = J->m;
    for (int i = 0; i < nr; i++) { /* rows (whole physical rows; the gap holds finite junk) */
        int c = J->rl[i], k = J->sc[c];
        K->jfrot(jrow(J, J->brow[k]), jrow(J, J->brow[h + k]), m + 8, J->pa[c], J->pb[c]);
    }
    for (int i = 0; i < nr; i++) { /* then columns */
        int c = J->rl[i], k = J->sc[c];
        J->rcp[i] = J->bcol[k];
        J->rcq[i] = J->bcol[h + k];
        J->ra[i] = J->pa[c];
        J->rb[i] = J->pb[c];
    }
    for (int p = 0; p < m && nr > 0; p++) K->jfcols(jrow(J, J->brow[p]), nr, J->rcp, J->rcq, J->ra, J->rb);
    for (int i = 0; i < nr; i++) {
        int c = J->rl[i], k = J->sc[c];
        *jel(J, k, k) = J->np[c];
        *jel(J, h + k, h + k) = J->nq[c];
        *jel(J, k, h + k) = 0.0;
        *jel(J, h + k, k) = 0.0;
    }
    for (int p = 0; p < m; p++) J->tmp[J->nxt[p]] = J->brow[p];
    memcpy(J->brow, J->tmp, sizeof(int) * (size_t)m);
    for (int p = 0; p < m; p++) J->tmp[J->nxt[p]] = J->bcol[p];
    memcpy(J->bcol, J->tmp, sizeof(int) * (size_t)m);
    J->aligned = 0;
    J->cached = 0;
}

/* Folds D into Bh and Vh: b_pq <- (d_p·b_pq)·d_q, v_p <- d_p·v_p, d <- 1. */
static void jac_renorm(jac *J)
{
    for (int p = 0; p < J->m; p++) {
        double *r = jrow(J, J->brow[p]), dp = J->d[p];
        for (int q = 0; q < J->m; q++) r[J->bcol[q]] = (dp * r[J->bcol[q]]) * J->d[q];
        if (J->v && dp != 1.0) {
            double *vr = J->v + (size_t)J->vrow[p] * J->ldv;
            for (int j = 0; j < J->n; j++) vr[j] = dp * vr[j];
        }
    }
    for (int p = 0; p < J->m; p++) J->d[p] = 1.0;
    J->cached = 0;
}

static inline double *jvrow(jac *J, int phys) { return J->v + (size_t)phys * J->ldv; }

/* One step: the rotations of the pairs (k, h+k), then the move. Returns how many rotated. */
static int jac_step(jac *J, double tol, const qk_kernels *K, qk_eig_info *info)
{
    const int h = J->h, m = J->m;
    int nr = jac_angles(J, tol, K);
    const int dense = nr * 16 > m, par = dense && jac_dense_parallel(J, K); /* par: Vh done too */
    if (dense && !par) jac_dense(J, K);
    else if (!dense) jac_sparse(J, K, nr);
    for (int i = 0; J->v && !par && i < nr; i++) {
        int c = J->rl[i], k = J->sc[c];
        K->jfrot(jvrow(J, J->vrow[k]), jvrow(J, J->vrow[h + k]), J->n, J->pa[c], J->pb[c]);
    }
    double dmin = 1.0;
    for (int i = 0; i < nr; i++) {
        int c = J->rl[i], k = J->sc[c];
        J->d[k] *= J->pc[c];
        J->d[h + k] *= J->pc[c];
        if (J->d[k] < dmin) dmin = J->d[k];
        if (J->d[h + k] < dmin) dmin = J->d[h + k];
    }
    for (int p = 0; p < m; p++) {
        J->tmp[J->nxt[p]] = J->vrow[p];
        J->dt[J->nxt[p]] = J->d[p];
    }
    memcpy(J->vrow, J->tmp, sizeof(int) * (size_t)m);
    memcpy(J->d, J->dt, sizeof(double) * (size_t)m);
    if (dmin < QK__EIG_DMIN) jac_renorm(J);
    if (info) {
        info->rotations += nr;
        if (dense) info->flops += 4.0 * m * m;
        else info->flops += 4.0 * nr * (m + 8) + 4.0 * nr * m;
        if (J->v) info->flops += 4.0 * J->n * nr;
    }
    return nr;
}

/* 1 if no pair (in either triangle) passes the rotation test of jangle. */
static int jac_converged(jac *J, double tol)
{
    for (int p = 0; p < J->m; p++) J->dt[p] = sqrt(dabs(*jel(J, p, p)));
    for (int p = 0; p < J->m; p++) {
        const double *r = jrow(J, J->brow[p]);
        double dp = tol * J->dt[p];
        for (int q = 0; q < J->m; q++) {
            double aa = dabs(r[J->bcol[q]]);
            if (q != p && aa >= DBL_MIN && aa > dp * J->dt[q]) return 0;
        }
    }
    return 1;
}

qk_status qk_symmetrize(int n, double *a, int lda)
{
    if (!a || n < 1 || lda < n) return QK_ERR_ARG;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            double v = 0.5 * a[(size_t)i * lda + j] + 0.5 * a[(size_t)j * lda + i];
            a[(size_t)i * lda + j] = v;
            a[(size_t)j * lda + i] = v;
        }
    return QK_OK;
}

/* Sorts idx[0..n) by key (ascending, or descending when desc), ties in index order. */
static void sort_index(int *idx, const double *key, int n, int desc)
{
    for (int i = 0; i < n; i++) idx[i] = i;
    for (int i = 1; i < n; i++) {
        int x = idx[i], j = i;
        double kx = key[x];
        while (j > 0 && (desc ? key[idx[j - 1]] < kx : key[idx[j - 1]] > kx)) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = x;
    }
}

qk_status qk_eigh(int n, const double *a, int lda, double *w, double *v, int ldv, double *work,
                  size_t work_len, const qk_eig_opts *opts, qk_eig_info *info)
{
    if (info) memset(info, 0, sizeof *info);
    if (!a || !w || !work || n < 1 || lda < n || (v && ldv < n)) return QK_ERR_ARG;
    if (n > QK_EIG_MAX_N || work_len < qk_eigh_work_len(n, v != NULL)) return QK_ERR_CAPACITY;
    double amax = max_abs(n, n, a, lda);
    if (amax < 0.0) return QK_ERR_NONFINITE;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (!(a[(size_t)i * lda + j] == a[(size_t)j * lda + i])) return QK_ERR_ARG;
    double tol;
    const int max_sweeps = resolve_opts(opts, QK_EIGH_TOL, &tol);
    const qk_kernels *K = qk__kern();

    jac J; /* the index arrays; the numbers live in work */
    J.n = n;
    jac_dims(n, &J.m, &J.ld, &J.ldv);
    J.h = J.m / 2;
    J.L = J.h / 4;
    J.aligned = 1;
    J.b = work + ((4 - ((uintptr_t)work / sizeof(double)) % 4) % 4); /* 32-byte rows if work is */
    J.v = v ? J.b + (size_t)(J.m + 2) * J.ld : NULL;
    J.pa = v ? J.v + (size_t)J.m * J.ldv : J.b + (size_t)(J.m + 2) * J.ld;
    J.pb = J.pa + J.h;
    J.pc = J.pb + J.h;
    J.np = J.pc + J.h;
    J.nq = J.np + J.h;
    J.g = J.nq + J.h;
    J.ra = J.g + 5 * J.h;
    J.rb = J.ra + J.h;
    J.d = J.rb + J.h;
    J.cdg = J.d + J.m;
    J.cpe = J.cdg + J.m;
    J.cached = 0;
    J.dt = J.cpe + J.m;

    /* Bh = A·2^sc with max|b_ij| in [2^500, 2^501) (exact); padding rows and columns 0 */
    const int sc = amax > 0.0 ? QK__EIG_SCALE_EXP - exponent_of(amax) : 0;
    memset(J.b, 0, sizeof(double) * (size_t)(J.m + 2) * J.ld);
    for (int p = 0; p < J.m + 2; p++) J.brow[p] = p;
    for (int p = 0; p < J.m; p++) {
        J.cof[p] = J.bcol[p] = colof(p, J.h, J.L);
        J.vrow[p] = p;
        J.nxt[p] = next_pos(p, J.h);
        J.d[p] = 1.0;
    }
    for (int k = 0; k < J.h; k++) J.sc[colh(k, J.L)] = k;
    for (int p = 0; p < n; p++)
        for (int q = 0; q < n; q++) J.b[(size_t)p * J.ld + J.bcol[q]] = scale2(a[(size_t)p * lda + q], sc);
    if (J.v) {
        memset(J.v, 0, sizeof(double) * (size_t)J.m * J.ldv);
        for (int p = 0; p < n; p++) J.v[(size_t)p * J.ldv + p] = 1.0;
    }

    qk_status st = QK_OK;
    int sweeps = 0;
    for (;;) {
        if (jac_converged(&J, tol)) break;
        if (sweeps == max_sweeps) { st = QK_ERR_NOCONVERGE; break; }
        long long nrot = 0;
        for (int step = 0; step < J.m - 1; step++) nrot += jac_step(&J, tol, K, info);
        sweeps++;
        if (nrot == 0) break;
    }
    if (info) info->sweeps = sweeps;
    jac_renorm(&J);

    /* positions are in their original places after whole sweeps */
    for (int p = 0; p < n; p++) J.dt[p] = *jel(&J, p, p);
    int *order = J.tmp;
    sort_index(order, J.dt, n, 0);
    for (int i = 0; i < n; i++) {
        w[i] = scale2(J.dt[order[i]], -sc);
        if (!is_finite(w[i]) && st == QK_OK) st = QK_ERR_NONFINITE;
    }
    if (v) {
        for (int i = 0; i < n; i++) {
            const double *src = J.v + (size_t)J.vrow[order[i]] * J.ldv;
            double *dst = v + (size_t)i * ldv;
            int flip = sign_flip_needed(src, n);
            for (int j = 0; j < n; j++) dst[j] = flip ? -src[j] : src[j];
        }
    }
    return st;
}

/* ---------------------------------------------------------------- SVD */
typedef struct {
    int order[QK_EIG_MAX_N + 4];
} svd_idx;

size_t qk_svd_work_len(int rows, int cols, int want_vectors)
{
    if (rows < 1 || cols < 1) return 0;
    int k = rows < cols ? rows : cols, L = rows < cols ? cols : rows;
    return (size_t)k * round4(L) + (want_vectors ? (size_t)k * round4(k) : 0) + (size_t)k;
}

/* Replaces the rows of g (k, L) flagged zero (sig[i] == 0) by unit vectors orthogonal
 * to all other rows: classical Gram-Schmidt, twice, on e_0, e_1, ... (a candidate
 * that fails once fails for every later row too). The other rows are orthonormal. */
static void complete_rows(double *g, size_t ldg, int k, int L, const double *sig)
{
    int cand = 0;
    for (int i = 0; i < k; i++) {
        if (sig[i] != 0.0) continue;
        double *x = g + (size_t)i * ldg;
        for (; cand < L; cand++) {
            for (int j = 0; j < L; j++) x[j] = 0.0;
            x[cand] = 1.0;
            for (int pass = 0; pass < 2; pass++)
                for (int r = 0; r < k; r++) {
                    if (r == i || (sig[r] == 0.0 && r > i)) continue;
                    const double *y = g + (size_t)r * ldg;
                    double d = dot8(y, x, L);
                    for (int j = 0; j < L; j++) x[j] = qk__fma(-d, y[j], x[j]);
                }
            double nx = norm8(x, L);
            if (nx > 0.5) {
                for (int j = 0; j < L; j++) x[j] = x[j] / nx;
                cand++;
                break;
            }
        }
    }
}

qk_status qk_svd(int rows, int cols, const double *a, int lda, double *s, double *u, int ldu, double *vt,
                 int ldvt, double *work, size_t work_len, const qk_eig_opts *opts, qk_eig_info *info)
{
    if (info) memset(info, 0, sizeof *info);
    if (!a || !s || !work || rows < 1 || cols < 1 || lda < cols || (!u) != (!vt)) return QK_ERR_ARG;
    const int k = rows < cols ? rows : cols, L = rows < cols ? cols : rows, trans = rows > cols;
    if ((u && ldu < k) || (vt && ldvt < cols)) return QK_ERR_ARG;
    if (k > QK_EIG_MAX_N || work_len < qk_svd_work_len(rows, cols, u != NULL)) return QK_ERR_CAPACITY;
    double amax = max_abs(rows, cols, a, lda);
    if (amax < 0.0) return QK_ERR_NONFINITE;
    double tol;
    /* default: above the rounding error bound of the dot products, (ceil(L/8)+3)·2^-53
     * relative (SPEC §2.4), so that a pair just rotated always passes the test */
    double dflt = QK_SVD_TOL * sqrt((double)L), dotb = 2.0 * ((L + 7) / 8 + 3) * 0x1p-53;
    const int max_sweeps = resolve_opts(opts, dflt > dotb ? dflt : dotb, &tol);
    const qk_kernels *K = qk__kern();

    /* G (k, L): the rows of A (or of A^T) scaled so that max|g| is in [2^500, 2^501) */
    const size_t ldg = round4(L), ldq = round4(k);
    double *g = work, *qt = u ? work + (size_t)k * ldg : NULL;
    double *sig = (u ? qt + (size_t)k * ldq : g + (size_t)k * ldg);
    const int sc = amax > 0.0 ? 500 - exponent_of(amax) : 0;
    for (int i = 0; i < k; i++)
        for (int j = 0; j < L; j++)
            g[(size_t)i * ldg + j] = scale2(trans ? a[(size_t)j * lda + i] : a[(size_t)i * lda + j], sc);
    if (qt) {
        memset(qt, 0, sizeof(double) * (size_t)k * ldq);
        for (int i = 0; i < k; i++) qt[(size_t)i * ldq + i] = 1.0;
    }

    /* row-cyclic sweeps until one rotates nothing */
    qk_status st = QK_OK;
    int sweeps = 0;
    for (;;) {
        if (sweeps == max_sweeps) { st = QK_ERR_NOCONVERGE; break; }
        long long nrot = 0;
        for (int p = 0; p < k - 1; p++)
            for (int q = p + 1; q < k; q++) {
                double *gp = g + (size_t)p * ldg, *gq = g + (size_t)q * ldg, d[3], c, sn, t;
                K->jdot3(gp, gq, L, d);
                if (info) info->flops += 6.0 * L;
                /* a row below 2^-600 of its partner counts as zero: the rounding residue
                 * of an exactly rank-deficient matrix can stay parallel to the large row
                 * and would otherwise only shrink by 2^-52 per sweep */
                if (d[0] < d[1] * 0x1p-600 * 0x1p-600 || d[1] < d[0] * 0x1p-600 * 0x1p-600) continue;
                if (!jacobi_angle(d[0], d[1], d[2], tol, &c, &sn, &t)) continue;
                K->jrot(gp, gq, L, c, sn);
                if (qt) K->jrot(qt + (size_t)p * ldq, qt + (size_t)q * ldq, k, c, sn);
                nrot++;
                if (info) info->flops += 6.0 * L + (qt ? 6.0 * k : 0.0);
            }
        sweeps++;
        if (info) info->rotations += nrot;
        if (nrot == 0) break;
    }
    if (info) info->sweeps = sweeps;

    double smax = 0.0;
    for (int i = 0; i < k; i++) {
        double d[3];
        K->jdot3(g + (size_t)i * ldg, g + (size_t)i * ldg, L, d);
        sig[i] = sqrt(d[0]);
        if (sig[i] > smax) smax = sig[i];
    }
    for (int i = 0; i < k; i++) /* below the floor of the sweeps: zero (see qk_eigen.h) */
        if (sig[i] < smax * 0x1p-300 * 0x1p-300) sig[i] = 0.0;
    svd_idx ix;
    sort_index(ix.order, sig, k, 1);
    for (int i = 0; i < k; i++) {
        s[i] = scale2(sig[ix.order[i]], -sc);
        if (!is_finite(s[i]) && st == QK_OK) st = QK_ERR_NONFINITE;
    }
    if (!u) return st;

    /* G rows -> unit singular vectors (completed where sigma is 0) */
    for (int i = 0; i < k; i++)
        if (sig[i] != 0.0)
            for (int j = 0; j < L; j++) g[(size_t)i * ldg + j] = g[(size_t)i * ldg + j] / sig[i];
    complete_rows(g, ldg, k, L, sig);
    /* sign: the largest-magnitude component of each right singular vector positive */
    for (int i = 0; i < k; i++) {
        int r = ix.order[i];
        const double *gv = g + (size_t)r * ldg, *qv = qt + (size_t)r * ldq;
        int flip = trans ? sign_flip_needed(qv, k) : sign_flip_needed(gv, L);
        for (int j = 0; j < cols; j++) {
            double x = trans ? qv[j] : gv[j];
            vt[(size_t)i * ldvt + j] = flip ? -x : x;
        }
        for (int j = 0; j < rows; j++) {
            double x = trans ? gv[j] : qv[j];
            u[(size_t)j * ldu + i] = flip ? -x : x;
        }
    }
    return st;
}

size_t qk_spectral_norm_work_len(int rows, int cols)
{
    if (rows < 1 || cols < 1) return 0;
    return qk_svd_work_len(rows, cols, 0) + (size_t)(rows < cols ? rows : cols);
}

qk_status qk_spectral_norm(int rows, int cols, const double *a, int lda, double *sigma, double *work,
                           size_t work_len)
{
    if (!sigma || !work || rows < 1 || cols < 1) return QK_ERR_ARG;
    size_t k = (size_t)(rows < cols ? rows : cols), need = qk_svd_work_len(rows, cols, 0);
    if (work_len < need + k) return QK_ERR_CAPACITY;
    double *sv = work + need; /* the singular values, after the SVD's own workspace */
    qk_status st = qk_svd(rows, cols, a, lda, sv, NULL, 0, NULL, 0, work, need, NULL, NULL);
    *sigma = st == QK_OK || st == QK_ERR_NOCONVERGE ? sv[0] : 0.0;
    return st;
}

double qk_stable_rank(const double *s, int k)
{
    if (!s || k < 1 || !(s[0] > 0.0)) return 0.0;
    double l[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int i = 0; i < k; i++) {
        double r = s[i] / s[0];
        l[i & 7] = qk__fma(r, r, l[i & 7]);
    }
    return qk__combine8d(l);
}

int qk_numerical_rank(const double *s, int k, int rows, int cols, double rtol)
{
    if (!s || k < 1 || !(s[0] > 0.0)) return 0;
    if (!(rtol > 0.0)) rtol = (rows > cols ? rows : cols) * 0x1p-52;
    double thr = rtol * s[0];
    int r = 0;
    for (int i = 0; i < k; i++) r += s[i] > thr;
    return r;
}

/* ---------------------------------------------------------------- power iteration */
/* y = W x, W (rows, cols) scaled by 2^-e: one fma chain over j per output (SPEC §2.3). */
static void matvec(int rows, int cols, const double *w, int ldw, int e, const double *x, double *y)
{
    for (int i = 0; i < rows; i++) {
        const double *wi = w + (size_t)i * ldw;
        double acc = 0.0;
        for (int j = 0; j < cols; j++) acc = qk__fma(scale2(wi[j], -e), x[j], acc);
        y[i] = acc;
    }
}

/* y = W^T x: the chain of y_j runs over i in increasing order (SPEC §2.3). */
static void matvec_t(int rows, int cols, const double *w, int ldw, int e, const double *x, double *y)
{
    for (int j = 0; j < cols; j++) y[j] = 0.0;
    for (int i = 0; i < rows; i++) {
        const double *wi = w + (size_t)i * ldw;
        for (int j = 0; j < cols; j++) y[j] = qk__fma(scale2(wi[j], -e), x[i], y[j]);
    }
}

qk_status qk_spectral_norm_power(int rows, int cols, const double *w, int ldw, double *u, double *v,
                                 int iters, double *sigma, double *scratch)
{
    if (!w || !u || !sigma || !scratch || rows < 1 || cols < 1 || ldw < cols || iters < 1) return QK_ERR_ARG;
    double wmax = max_abs(rows, cols, w, ldw), umax = max_abs(1, cols, u, cols);
    if (wmax < 0.0 || umax < 0.0) return QK_ERR_NONFINITE;
    if (umax == 0.0) return QK_ERR_ARG;
    *sigma = 0.0;
    if (wmax == 0.0) return QK_OK;
    const int e = exponent_of(wmax);
    double *t = scratch, *r = scratch + rows;
    /* u·2^-eu: exact, and W u does not depend on the scale of u */
    const int eu = exponent_of(umax);
    for (int j = 0; j < cols; j++) r[j] = scale2(u[j], -eu);
    for (int it = 0; it < iters; it++) {
        matvec(rows, cols, w, ldw, e, r, t);
        double nt = norm8(t, rows);
        if (nt == 0.0) return QK_OK;
        for (int i = 0; i < rows; i++) t[i] = t[i] / nt; /* v */
        if (v) memcpy(v, t, sizeof(double) * rows);
        matvec_t(rows, cols, w, ldw, e, t, r);
        double nr = norm8(r, cols);
        if (nr == 0.0) return QK_OK;
        for (int j = 0; j < cols; j++) r[j] = r[j] / nr; /* u */
        memcpy(u, r, sizeof(double) * cols);
    }
    /* sigma = v^T (W u): (W u)_i as matvec's chain, the products v_i (W u)_i summed in
     * SPEC §2.4's lanes (t still holds v) */
    double l[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int i = 0; i < rows; i++) {
        const double *wi = w + (size_t)i * ldw;
        double acc = 0.0;
        for (int j = 0; j < cols; j++) acc = qk__fma(scale2(wi[j], -e), u[j], acc);
        l[i & 7] = qk__fma(t[i], acc, l[i & 7]);
    }
    *sigma = scale2(qk__combine8d(l), e);
    return QK_OK;
}

/* ---------------------------------------------------------------- Haar orthogonal */
size_t qk_haar_work_len(int n) { return n < 1 ? 0 : (size_t)n * round4(n) + (size_t)n; }

qk_status qk_haar_orthogonal(int n, qk_rng *rng, double *q, int ldq, double *work, size_t work_len)
{
    if (!rng || !q || !work || n < 1 || ldq < n) return QK_ERR_ARG;
    if (n > QK_EIG_MAX_N || work_len < qk_haar_work_len(n)) return QK_ERR_CAPACITY;
    const size_t ldx = round4(n);
    double *x = work, *tau = work + (size_t)n * ldx;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) x[(size_t)i * ldx + j] = qk_rng_normal(rng);
    /* H = X^T = Q R: column k of H is row k of X. Reflector k: v = (1, x[k][k+1..]),
     * tau[k], and x[k][k] = beta = r_kk. */
    for (int k = 0; k < n; k++) {
        double *xk = x + (size_t)k * ldx + k;
        const int len = n - k - 1;
        double alpha = xk[0], ss = dot8(xk + 1, xk + 1, len);
        tau[k] = 0.0;
        if (len == 0 || ss == 0.0) continue;
        double nrm = sqrt(qk__fma(alpha, alpha, ss));
        double beta = alpha >= 0.0 ? -nrm : nrm;
        tau[k] = (beta - alpha) / beta;
        double den = alpha - beta;
        for (int j = 1; j <= len; j++) xk[j] = xk[j] / den;
        xk[0] = beta;
        for (int i = k + 1; i < n; i++) { /* column i of H: y <- y - tau (v.y) v */
            double *y = x + (size_t)i * ldx + k;
            double wv = y[0] + dot8(xk + 1, y + 1, len);
            double f = -(tau[k] * wv);
            y[0] = y[0] + f;
            for (int j = 1; j <= len; j++) y[j] = qk__fma(f, xk[j], y[j]);
        }
    }
    /* rows of Q = P_0 P_1 ... P_{n-2}: each row r <- r P_k = r - tau (r.v) v^T, k ascending */
    for (int i = 0; i < n; i++) {
        double *r = q + (size_t)i * ldq;
        for (int j = 0; j < n; j++) r[j] = i == j ? 1.0 : 0.0;
        for (int k = 0; k < n - 1; k++) {
            if (tau[k] == 0.0) continue;
            const double *xk = x + (size_t)k * ldx + k;
            const int len = n - k - 1;
            double wv = r[k] + dot8(xk + 1, r + k + 1, len);
            double f = -(tau[k] * wv);
            r[k] = r[k] + f;
            for (int j = 1; j <= len; j++) r[k + j] = qk__fma(f, xk[j], r[k + j]);
        }
    }
    /* Q diag(sign r_kk) */
    for (int k = 0; k < n; k++)
        if (x[(size_t)k * ldx + k] < 0.0)
            for (int i = 0; i < n; i++) q[(size_t)i * ldq + k] = -q[(size_t)i * ldq + k];
    return QK_OK;
}
