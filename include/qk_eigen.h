/* qk_eigen.h — spectra in double precision: the symmetric Jacobi eigensolver, the
 * one-sided Jacobi SVD with the norms and ranks built on it, the power-iteration
 * spectral-norm estimate of σReparam (SPEC §1.1), and Haar-random orthogonal matrices
 * for the eigenspectrum simulation (SPEC §1.3).
 *
 * Contract (SPEC §2): identical bits on every target and ISA path at any optimisation
 * level. No allocation and no I/O: the caller passes a workspace of doubles whose
 * length the *_work_len functions give. The only automatic storage is a few index
 * arrays bounded by QK_EIG_MAX_N (qk_eig_stack_bytes()).
 *
 * Matrices are row-major doubles with a leading dimension (row stride) ld >= cols;
 * shapes are written (rows, cols). */
#ifndef QK_EIGEN_H
#define QK_EIGEN_H

#include "qk.h"

/* Largest n (eigh, haar) and largest min(rows, cols) (svd) this build accepts; larger
 * sizes return QK_ERR_CAPACITY. Covers d = 768 (SPEC §1.4) with room to spare. */
#ifndef QK_EIG_MAX_N
#define QK_EIG_MAX_N 1024
#endif
size_t qk_eig_stack_bytes(void);

/* Stopping and iteration limits; pass NULL for the defaults. */
typedef struct {
    double tol;     /* relative threshold; <= 0: the default of the routine          */
    int max_sweeps; /* <= 0: QK_EIG_MAX_SWEEPS                                         */
} qk_eig_opts;
#define QK_EIG_MAX_SWEEPS 60
#define QK_EIGH_TOL 0x1p-52 /* eigh: |a_pq| <= tol·sqrt(|a_pp|)·sqrt(|a_qq|) for all p != q */

/* What a solve did (any pointer may be NULL). flops counts the floating-point
 * operations of the rotations (a multiply 1, an fma 2), for benchmarks. */
typedef struct {
    int sweeps;
    long long rotations;
    double flops;
} qk_eig_info;

/* ---------------------------------------------------------------- symmetric eigensolver */
/* Cyclic two-sided Jacobi with the round-robin pair order (n padded with zero rows to
 * m, a multiple of 8 and >= 8; each sweep visits every pair once in m-1 steps of m/2
 * disjoint rotations, applied in factored form: one fma per element; qk_eigen.c
 * explains the storage that makes every step one vectorised pass). Before the iteration
 * the matrix is scaled by a power of two so that max|a_ij| lies in [2^500, 2^501):
 * exact, and no intermediate overflows for any finite input, while entries down to
 * 2^-1500·max|a_ij| keep full precision. A pair is rotated when
 *     |a_pq| >= 2^-1022 (in the scaled matrix)  and  |a_pq| > tol·sqrt(|a_pp|)·sqrt(|a_qq|);
 * with a zero diagonal entry the threshold is 0, so a_pq is rotated away (the
 * rotation makes it exactly 0 and moves the diagonal off zero), never left in place
 * or divided by. The iteration stops before a sweep in which no pair would rotate.
 *
 *   a:    (n, n), lda >= n. Must be exactly symmetric (a_ij == a_ji) and finite.
 *   w:    (n) eigenvalues, ascending (ties in index order).
 *   v:    (n, n), ldv >= n, or NULL: row i is the unit eigenvector of w[i], with the
 *         sign that makes its largest-magnitude component (the first one, on ties)
 *         positive. A·v_i = w_i·v_i.
 *   work: work_len >= qk_eigh_work_len(n, v != NULL) doubles.
 * Returns QK_ERR_ARG (bad pointer or dimension, or a not exactly symmetric a),
 * QK_ERR_CAPACITY (n > QK_EIG_MAX_N or work too short), QK_ERR_NONFINITE (a NaN or Inf
 * in a, or an eigenvalue beyond the double range, possible only when
 * max|a_ij| > DBL_MAX/n), QK_ERR_NOCONVERGE (sweep limit hit: w and v hold the
 * current approximation, sorted). */
size_t qk_eigh_work_len(int n, int want_vectors);
qk_status qk_eigh(int n, const double *a, int lda, double *w, double *v, int ldv, double *work,
                  size_t work_len, const qk_eig_opts *opts, qk_eig_info *info);

/* a := (a + a^T)/2 in place, computed as 0.5·a_ij + 0.5·a_ji (no overflow). (n, n) */
qk_status qk_symmetrize(int n, double *a, int lda);

/* ---------------------------------------------------------------- SVD */
/* One-sided (Hestenes) Jacobi on the rows of a (rows <= cols) or of a^T, row-cyclic
 * order, after scaling max|a_ij| into [2^500, 2^501) so that no sum of squares
 * overflows. Rows p, q (length L = max(rows, cols)) are rotated when
 * |g_p·g_q| > tol·‖g_p‖·‖g_q‖; the dot products follow SPEC §2.4 (8 lanes, fma), and
 * the default tol, max(QK_SVD_TOL·sqrt(L), 2(ceil(L/8) + 3)·2^-53), lies above their
 * rounding error, so that a pair just rotated passes the test; and a row whose norm
 * is below 2^-600 of its partner's counts as zero (the rounding residue of an exactly
 * rank-deficient matrix can stay parallel to a large row and would otherwise shrink
 * by only 2^-52 per sweep). Relative accuracy thus holds for singular values down to
 * 2^-600·σ_max; smaller ones are returned as 0 (their vectors completed as below).
 * Thin SVD, k = min(rows, cols):  a = U·diag(s)·Vt.
 *   s:  (k) singular values, descending (ties in index order).
 *   u:  (rows, k), ldu >= k, or NULL: column i is the left singular vector of s[i].
 *   vt: (k, cols), ldvt >= cols, or NULL: row i is the right singular vector of s[i].
 *   (u and vt are both given or both NULL. Vectors of zero singular values complete
 *   an orthonormal basis, found by Gram-Schmidt on e_0, e_1, ...)
 *   work: work_len >= qk_svd_work_len(rows, cols, u != NULL) doubles.
 * Errors as qk_eigh (no symmetry requirement). */
#define QK_SVD_TOL 0x1p-52
size_t qk_svd_work_len(int rows, int cols, int want_vectors);
qk_status qk_svd(int rows, int cols, const double *a, int lda, double *s, double *u, int ldu, double *vt,
                 int ldvt, double *work, size_t work_len, const qk_eig_opts *opts, qk_eig_info *info);

/* σ_max(a) through qk_svd (values only); work: qk_spectral_norm_work_len doubles. */
size_t qk_spectral_norm_work_len(int rows, int cols);
qk_status qk_spectral_norm(int rows, int cols, const double *a, int lda, double *sigma, double *work,
                           size_t work_len);
/* From singular values s (k, descending, as qk_svd returns them):
 * stable rank ‖a‖_F²/‖a‖_2² = Σ (s_i/s_0)² (SPEC §2.4 sum; 0 for a zero matrix), and
 * numerical rank #{i : s_i > rtol·s_0}, rtol <= 0 meaning max(rows, cols)·2^-52
 * (NumPy's matrix_rank default). */
double qk_stable_rank(const double *s, int k);
int qk_numerical_rank(const double *s, int k, int rows, int cols, double rtol);

/* ---------------------------------------------------------------- power iteration */
/* σReparam's estimate (SPEC §1.1), iters >= 1 steps of
 *     v <- normalize(W u);  u <- normalize(W^T v);  sigma = v^T W u
 * starting from the caller's u, which is updated (keep it between calls).
 * W u and W^T v are products over an inner index (SPEC §2.3: one fma chain per
 * output, increasing index), norms and v^T(Wu) reductions (SPEC §2.4). W is scaled by
 * a power of two on the fly, so no step overflows.
 *   w: (rows, cols), ldw >= cols.  u: (cols), nonzero.  v: (rows) out (may be NULL).
 *   scratch: rows + cols doubles.
 * If W u = 0 the estimate is sigma = 0 and u, v are left as they are.
 * Errors: QK_ERR_ARG (u zero or bad argument), QK_ERR_NONFINITE (NaN/Inf in w or u). */
qk_status qk_spectral_norm_power(int rows, int cols, const double *w, int ldw, double *u, double *v,
                                 int iters, double *sigma, double *scratch);

/* ---------------------------------------------------------------- Haar orthogonal */
/* A Haar-distributed random orthogonal q (n, n), ldq >= n (SPEC §1.3): draw G (n, n)
 * row by row with qk_rng_normal, take the Householder QR factorisation G^T = Q·R
 * (reflectors as LAPACK's dlarfg: beta = -sign(alpha)·norm) and return Q·diag(sign r_ii)
 * (Mezzadri's correction; sign 0 = +1). work: qk_haar_work_len(n) doubles. */
size_t qk_haar_work_len(int n);
qk_status qk_haar_orthogonal(int n, qk_rng *rng, double *q, int ldq, double *work, size_t work_len);

#endif /* QK_EIGEN_H */
