/* test_eigen.c — the Jacobi eigensolver, SVD, power iteration and Haar matrices
 * (qk_eigen.h) against their definitions: residual ‖AV - VΛ‖ and orthogonality
 * ‖VV^T - I‖ within a small multiple of n·ε·‖A‖; the hard cases (1x1, 2x2, zero,
 * identity, diagonal, repeated and clustered eigenvalues, entries near the overflow
 * and underflow limits, zero diagonals, rank deficiency); relative accuracy on graded
 * matrices D·A·D against an independent Jacobi in long double; identical bits on every
 * ISA path (kernels and whole solves) and against the golden vectors. */
#include <float.h>
#include <stdlib.h>
#include "qk_eigen.h"
#include "qk_io.h"
#include "qk_kernels.h"
#include "qktest.h"
#include "test_util.h"

#define EPS 0x1p-52

static double *dalloc(size_t n) { return calloc(n ? n : 1, sizeof(double)); }

/* Random symmetric (n, n), entries uniform in [-1, 1). */
static void rand_sym(double *a, int n, qk_rng *r)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = 2.0 * qk_rng_uniform(r) - 1.0;
}

static double norm_inf(const double *a, int rows, int cols)
{
    double m = 0;
    for (int i = 0; i < rows; i++) {
        double s = 0;
        for (int j = 0; j < cols; j++) s += fabs(a[i * cols + j]);
        if (s > m) m = s;
    }
    return m;
}

/* Solves with vectors; returns status and fills w, v (row i = vector of w[i]). */
static qk_status eigh(int n, const double *a, double *w, double *v, qk_eig_info *info)
{
    size_t len = qk_eigh_work_len(n, v != NULL);
    double *work = dalloc(len);
    qk_status st = qk_eigh(n, a, n, w, v, n, work, len, NULL, info);
    free(work);
    return st;
}

/* max_ij |(A v_i)_j - w_i v_ij| and max |V V^T - I|, in long double sums. */
static void eig_errors(int n, const double *a, const double *w, const double *v, double *res, double *orth)
{
    *res = *orth = 0;
    for (int k = 0; k < n; k++) {
        for (int i = 0; i < n; i++) {
            long double s = 0;
            for (int j = 0; j < n; j++) s += (long double)a[i * n + j] * v[k * n + j];
            s -= (long double)w[k] * v[k * n + i];
            if (fabsl(s) > *res) *res = (double)fabsl(s);
        }
        for (int l = 0; l < n; l++) {
            long double s = 0;
            for (int j = 0; j < n; j++) s += (long double)v[k * n + j] * v[l * n + j];
            if (k == l) s -= 1;
            if (fabsl(s) > *orth) *orth = (double)fabsl(s);
        }
    }
}

/* The documented output contract: ascending, unit rows with the largest-magnitude
 * component (first on ties) positive, residual and orthogonality small. */
static void check_solution(const char *what, int n, const double *a, const double *w, const double *v, double c)
{
    for (int i = 1; i < n; i++) CHECK(w[i - 1] <= w[i], "%s n=%d: eigenvalues not ascending at %d", what, n, i);
    for (int i = 0; i < n; i++) {
        int k = 0;
        for (int j = 1; j < n; j++)
            if (fabs(v[i * n + j]) > fabs(v[i * n + k])) k = j;
        CHECK(v[i * n + k] > 0, "%s n=%d: vector %d: largest component negative", what, n, i);
    }
    double res, orth, an = norm_inf(a, n, n);
    eig_errors(n, a, w, v, &res, &orth);
    CHECK(res <= c * n * EPS * an, "%s n=%d: residual %.3g > %g·n·eps·|A| (%.3g)", what, n, res, c, c * n * EPS * an);
    CHECK(orth <= c * n * EPS, "%s n=%d: orthogonality %.3g > %g·n·eps", what, n, orth, c);
}

/* Q·diag(w)·Q^T with a Haar Q, symmetrised exactly. */
static void with_spectrum(double *a, const double *w, int n, qk_rng *r)
{
    double *q = dalloc((size_t)n * n), *work = dalloc(qk_haar_work_len(n));
    qk_haar_orthogonal(n, r, q, n, work, qk_haar_work_len(n));
    for (int i = 0; i < n; i++)
        for (int j = 0; j <= i; j++) {
            long double s = 0;
            for (int k = 0; k < n; k++) s += (long double)q[i * n + k] * w[k] * q[j * n + k];
            a[i * n + j] = a[j * n + i] = (double)s;
        }
    free(q);
    free(work);
}

/* ---------------------------------------------------------------- reference: Jacobi in long double */
/* Row-cyclic Jacobi with the textbook rotation, to the long double precision; an
 * independent implementation for the relative-accuracy test (x86-64: 64-bit, AArch64
 * and RISC-V: 113-bit significands; on 32-bit ARM long double is double and the test
 * falls back to a consistency check). */
static void ref_eigvals(int n, const double *a, long double *w)
{
    long double *b = calloc((size_t)n * n, sizeof(long double));
    for (int i = 0; i < n * n; i++) b[i] = a[i];
    for (int sweep = 0; sweep < 100; sweep++) {
        int rot = 0;
        for (int p = 0; p < n - 1; p++)
            for (int q = p + 1; q < n; q++) {
                long double apq = b[p * n + q], app = b[p * n + p], aqq = b[q * n + q];
                if (fabsl(apq) <= LDBL_EPSILON * 0.25L * sqrtl(fabsl(app)) * sqrtl(fabsl(aqq)) || apq == 0) continue;
                rot++;
                long double th = (aqq - app) / (2 * apq);
                long double t = (th < 0 ? -1 : 1) / (fabsl(th) + sqrtl(th * th + 1));
                long double c = 1 / sqrtl(t * t + 1), s = t * c;
                for (int k = 0; k < n; k++) { /* rows */
                    long double x = b[p * n + k], y = b[q * n + k];
                    b[p * n + k] = c * x - s * y;
                    b[q * n + k] = s * x + c * y;
                }
                for (int k = 0; k < n; k++) { /* columns */
                    long double x = b[k * n + p], y = b[k * n + q];
                    b[k * n + p] = c * x - s * y;
                    b[k * n + q] = s * x + c * y;
                }
                b[p * n + q] = b[q * n + p] = 0;
            }
        if (!rot) break;
    }
    for (int i = 0; i < n; i++) w[i] = b[i * n + i];
    for (int i = 1; i < n; i++) /* ascending */
        for (int j = i; j > 0 && w[j - 1] > w[j]; j--) {
            long double x = w[j];
            w[j] = w[j - 1];
            w[j - 1] = x;
        }
    free(b);
}

/* ---------------------------------------------------------------- small and special cases */
TEST(eigen_1x1_2x2_zero_identity_diagonal)
{
    double w[8], v[64];
    double a1 = -3.25;
    CHECK_OK(eigh(1, &a1, w, v, NULL));
    CHECK(w[0] == -3.25 && v[0] == 1.0, "1x1: w %g v %g", w[0], v[0]);

    /* 2x2 against the closed form (a+c)/2 ± sqrt(((a-c)/2)² + b²) */
    static const double c2[][3] = {{2, 1, 2}, {1, 1e-9, 1}, {0, 1, 0}, {1e-3, 5, -7}, {4, 0, 1}, {1, 1e-170, 1e-300}};
    for (size_t k = 0; k < sizeof c2 / sizeof c2[0]; k++) {
        double a[4] = {c2[k][0], c2[k][1], c2[k][1], c2[k][2]};
        CHECK_OK(eigh(2, a, w, v, NULL));
        long double m = ((long double)a[0] + a[3]) / 2, d = ((long double)a[0] - a[3]) / 2;
        long double r = sqrtl(d * d + (long double)a[1] * a[1]);
        long double lo = m - r, hi = m + r;
        if (fabsl(lo) < fabsl(hi) && hi != 0) lo = ((long double)a[0] * a[3] - (long double)a[1] * a[1]) / hi;
        CHECK(fabsl(w[0] - lo) <= 4 * EPS * fabsl(hi) && fabsl(w[1] - hi) <= 4 * EPS * fabsl(hi),
              "2x2 case %zu: %.17g %.17g vs %.17Lg %.17Lg", k, w[0], w[1], lo, hi);
        check_solution("2x2", 2, a, w, v, 4);
    }

    /* zero and identity (and -0): exact, with V = I */
    for (int n = 1; n <= 7; n++) {
        double *a = dalloc((size_t)n * n), *e = dalloc((size_t)n * n), *vv = dalloc((size_t)n * n);
        for (int id = 0; id < 3; id++) {
            for (int i = 0; i < n * n; i++) a[i] = id == 2 ? -0.0 : 0.0;
            if (id == 1)
                for (int i = 0; i < n; i++) a[i * n + i] = 1.0;
            CHECK_OK(eigh(n, a, e, vv, NULL));
            int exact = 1;
            for (int i = 0; i < n; i++) {
                exact &= e[i] == (id == 1 ? 1.0 : 0.0);
                for (int j = 0; j < n; j++) exact &= vv[i * n + j] == (i == j ? 1.0 : 0.0);
            }
            CHECK(exact, "n=%d %s: not exact", n, id == 1 ? "identity" : "zero");
        }
        free(a);
        free(e);
        free(vv);
    }

    /* diagonal: exact values, sorted, V a permutation (ties in index order) */
    /* (a range of 10^400, inside the 2^1500 that the scaling keeps at full precision) */
    double d[6] = {3, -1, 0.5, -1, 1e200, -1e-200}, a[36] = {0}, e[6], vv[36];
    for (int i = 0; i < 6; i++) a[i * 6 + i] = d[i];
    CHECK_OK(eigh(6, a, e, vv, NULL));
    static const double want[6] = {-1, -1, -1e-200, 0.5, 3, 1e200};
    static const int perm[6] = {1, 3, 5, 2, 0, 4};
    for (int i = 0; i < 6; i++) {
        CHECK(e[i] == want[i], "diagonal: w[%d] = %.17g, want %.17g", i, e[i], want[i]);
        for (int j = 0; j < 6; j++)
            CHECK(vv[i * 6 + j] == (j == perm[i] ? 1.0 : 0.0), "diagonal: v[%d][%d] = %g", i, j, vv[i * 6 + j]);
    }
}

TEST(eigen_random_residual_orthogonality)
{
    static const int ns[] = {3, 4, 5, 7, 8, 9, 16, 17, 31, 33, 64, 100};
    qk_rng r;
    qk_rng_seed(&r, 101);
    for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++) {
        int n = ns[t];
        double *a = dalloc((size_t)n * n), *w = dalloc(n), *w2 = dalloc(n), *v = dalloc((size_t)n * n);
        rand_sym(a, n, &r);
        qk_eig_info info;
        CHECK_OK(eigh(n, a, w, v, &info));
        check_solution("random", n, a, w, v, 2);
        CHECK(info.sweeps >= 1 && info.sweeps <= 12 && info.rotations > 0, "n=%d: %d sweeps", n, info.sweeps);
        /* values only: the same bits (V never feeds back into the matrix) */
        CHECK_OK(eigh(n, a, w2, NULL, NULL));
        CHECK(!memcmp(w, w2, sizeof(double) * n), "n=%d: eigenvalues differ with and without vectors", n);
        /* the trace is preserved */
        long double tr = 0, sw = 0;
        for (int i = 0; i < n; i++) {
            tr += a[i * n + i];
            sw += w[i];
        }
        CHECK(fabsl(tr - sw) <= 4 * n * EPS * norm_inf(a, n, n), "n=%d: trace %Lg vs sum %Lg", n, tr, sw);
        free(a);
        free(w);
        free(w2);
        free(v);
    }
}

TEST(eigen_repeated_and_clustered)
{
    qk_rng r;
    qk_rng_seed(&r, 102);
    const int n = 12;
    double w0[12], a[144], w[12], v[144];
    /* repeated: 1 (x4), -2 (x3), 0 (x2), 5, 5, 7 */
    static const double rep[12] = {1, 1, 1, 1, -2, -2, -2, 0, 0, 5, 5, 7};
    /* clustered: 1 + k·1e-13, and a pair 1e-8 apart */
    for (int kind = 0; kind < 2; kind++) {
        for (int i = 0; i < n; i++) w0[i] = kind == 0 ? rep[i] : (i < 8 ? 1.0 + i * 1e-13 : 3.0 + (i - 8) * 1e-8);
        with_spectrum(a, w0, n, &r);
        CHECK_OK(eigh(n, a, w, v, NULL));
        check_solution(kind ? "clustered" : "repeated", n, a, w, v, 4);
        double sorted[12];
        memcpy(sorted, w0, sizeof sorted);
        for (int i = 1; i < n; i++)
            for (int j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
                double x = sorted[j];
                sorted[j] = sorted[j - 1];
                sorted[j - 1] = x;
            }
        for (int i = 0; i < n; i++)
            CHECK(fabs(w[i] - sorted[i]) <= 8 * n * EPS * 7, "%s: w[%d] = %.17g vs %.17g", kind ? "clustered" : "repeated",
                  i, w[i], sorted[i]);
    }
}

/* Scaling by 2^k changes nothing but the exponent: the solver scales every input to the
 * same binade first, so the bits of V and of w·2^-k are those of the unscaled problem
 * (as long as w·2^k stays normal). */
TEST(eigen_overflow_underflow_scaling)
{
    qk_rng r;
    qk_rng_seed(&r, 103);
    const int n = 9;
    double a[81], b[81], w[9], v[81], ws[9], vs[81];
    rand_sym(a, n, &r);
    a[4] = a[36] = 0.0; /* some exact zeros */
    CHECK_OK(eigh(n, a, w, v, NULL));
    static const int ks[] = {1020, 1000, 600, -600, -1000, 7};
    for (size_t t = 0; t < sizeof ks / sizeof ks[0]; t++) {
        int k = ks[t];
        for (int i = 0; i < n * n; i++) b[i] = ldexp(a[i], k);
        qk_status st = eigh(n, b, ws, vs, NULL);
        if (k > 1015) { /* 2^1020·|w| overflows for the largest eigenvalues */
            int big = 0;
            for (int i = 0; i < n; i++) big |= fabs(w[i]) * 0x1p1020 > DBL_MAX / 2;
            CHECK(st == (big ? QK_ERR_NONFINITE : QK_OK), "2^%d: status %s", k, qk_status_str(st));
            continue;
        }
        CHECK_OK(st);
        int same = !memcmp(v, vs, sizeof v);
        for (int i = 0; i < n; i++) {
            double want = ldexp(w[i], k);
            if (fabs(want) >= DBL_MIN || want == 0) same &= ws[i] == want;
            else same &= fabs(ws[i] - want) <= 0x1p-1074; /* subnormal: one rounding */
        }
        CHECK(same, "2^%d·A: not the scaled bits of A's solution", k);
    }
    /* entries at the overflow limit with representable eigenvalues */
    double big[4] = {DBL_MAX / 2, DBL_MAX / 4, DBL_MAX / 4, DBL_MAX / 2}, e[2], ev[4];
    CHECK_OK(eigh(2, big, e, ev, NULL));
    CHECK(fabs(e[0] - DBL_MAX / 4) <= 4 * EPS * DBL_MAX / 4 && fabs(e[1] - 0.75 * DBL_MAX) <= 4 * EPS * DBL_MAX,
          "near overflow: %.17g %.17g", e[0], e[1]);
    /* eigenvalues beyond the range */
    double over[4] = {DBL_MAX, DBL_MAX, DBL_MAX, DBL_MAX};
    CHECK(eigh(2, over, e, ev, NULL) == QK_ERR_NONFINITE, "2·DBL_MAX eigenvalue not reported");
    /* subnormal entries */
    double sub[4] = {0x1p-1070, 0x1p-1073, 0x1p-1073, 0x1p-1072};
    CHECK_OK(eigh(2, sub, e, ev, NULL));
    check_solution("subnormal", 2, sub, e, ev, 4);
    CHECK(e[0] > 0 && e[1] > 0x1p-1071, "subnormal eigenvalues %a %a", e[0], e[1]);
}

/* A zero diagonal makes the relative threshold 0: such pairs must still be rotated
 * (to convergence), and singular or structured matrices must terminate. */
TEST(eigen_zero_diagonal_and_singular)
{
    qk_rng r;
    qk_rng_seed(&r, 104);
    for (int n = 2; n <= 70; n += 17) {
        double *a = dalloc((size_t)n * n), *w = dalloc(n), *v = dalloc((size_t)n * n), *u = dalloc(n);
        for (int kind = 0; kind < 4; kind++) {
            for (int i = 0; i < n; i++) u[i] = qk_rng_normal(&r);
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++) {
                    double x = kind == 0 ? (i == j ? 0.0 : ((i + j) % 3 ? 1.0 : -2.0)) /* zero diagonal */
                             : kind == 1 ? u[i] * u[j]                                   /* rank 1 */
                             : kind == 2 ? 1.0                                           /* ones */
                                         : (double)((i + 1) * (j + 1) % 5);              /* integer, singular */
                    a[i * n + j] = x;
                }
            for (int i = 0; i < n; i++)
                for (int j = 0; j < i; j++) a[i * n + j] = a[j * n + i];
            qk_eig_info info;
            CHECK_OK(eigh(n, a, w, v, &info));
            check_solution("zero-diagonal/singular", n, a, w, v, 4);
            CHECK(info.sweeps <= 16, "n=%d kind %d: %d sweeps", n, kind, info.sweeps);
        }
        free(a);
        free(w);
        free(v);
        free(u);
    }
}

/* Graded H = D·A·D, D spanning many orders of magnitude, A well conditioned: Jacobi
 * determines every eigenvalue to high relative accuracy (Demmel & Veselić 1992), also
 * the ones 10^-60 below the largest, where a tridiagonal method's absolute error
 * eps·‖H‖ swamps them. */
TEST(eigen_graded_relative_accuracy)
{
    qk_rng r;
    qk_rng_seed(&r, 105);
    const int n = 12;
    double a[144], h[144], w[144], v[144], hr[144], wr[12];
    long double ref[12];
    for (int kind = 0; kind < 3; kind++) {
        /* A: positive definite I + E (kinds 0, 1) or indefinite diag(±1) + E (kind 2), |E| <= 0.3 */
        for (int i = 0; i < n; i++)
            for (int j = 0; j <= i; j++) {
                double e = (2 * qk_rng_uniform(&r) - 1) * 0.3 / n;
                a[i * n + j] = a[j * n + i] = i == j ? (kind == 2 && i % 3 == 1 ? -1.0 : 1.0) + e : e;
            }
        double span = kind == 1 ? 60.0 : 30.0; /* D_ii from 1 down to 10^-span */
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                double di = pow(10.0, -span * i / (n - 1)), dj = pow(10.0, -span * j / (n - 1));
                h[i * n + j] = (di * a[i * n + j]) * dj;
            }
        for (int i = 0; i < n; i++)
            for (int j = 0; j < i; j++) h[i * n + j] = h[j * n + i];
        CHECK_OK(eigh(n, h, w, v, NULL));
        check_solution("graded", n, h, w, v, 4);
        double worst = 0;
        if (LDBL_MANT_DIG > 53) {
            ref_eigvals(n, h, ref);
            for (int i = 0; i < n; i++) {
                double e = (double)(fabsl(w[i] - ref[i]) / fabsl(ref[i]));
                if (e > worst) worst = e;
            }
            CHECK(worst <= 64 * n * EPS, "graded kind %d: max relative error %.3g (vs long double Jacobi)", kind, worst);
        }
        /* on every target: the reversed matrix (another rotation order) agrees relatively */
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) hr[i * n + j] = h[(n - 1 - i) * n + (n - 1 - j)];
        CHECK_OK(eigh(n, hr, wr, NULL, NULL));
        worst = 0;
        for (int i = 0; i < n; i++) {
            double e = fabs(w[i] - wr[i]) / fabs(w[i]);
            if (e > worst) worst = e;
        }
        CHECK(worst <= 64 * n * EPS, "graded kind %d: reversed order differs by %.3g relative", kind, worst);
        double span_w = fabs(w[0]) < fabs(w[n - 1]) ? fabs(w[0]) : fabs(w[n - 1]);
        (void)span_w;
    }
}

TEST(eigen_errors_and_limits)
{
    double a[9] = {1, 2, 3, 2, 1, 4, 3, 4, 1}, w[3], v[9];
    double *work = dalloc(qk_eigh_work_len(3, 1));
    size_t len = qk_eigh_work_len(3, 1);
    CHECK_OK(qk_eigh(3, a, 3, w, v, 3, work, len, NULL, NULL));
    a[1] = 2.5;
    CHECK(qk_eigh(3, a, 3, w, v, 3, work, len, NULL, NULL) == QK_ERR_ARG, "non-symmetric accepted");
    CHECK_OK(qk_symmetrize(3, a, 3));
    CHECK(a[1] == 2.25 && a[3] == 2.25, "symmetrize: %g %g", a[1], a[3]);
    a[4] = NAN;
    CHECK(qk_eigh(3, a, 3, w, v, 3, work, len, NULL, NULL) == QK_ERR_NONFINITE, "NaN accepted");
    a[4] = INFINITY;
    CHECK(qk_eigh(3, a, 3, w, v, 3, work, len, NULL, NULL) == QK_ERR_NONFINITE, "Inf accepted");
    a[4] = 1;
    CHECK(qk_eigh(0, a, 3, w, v, 3, work, len, NULL, NULL) == QK_ERR_ARG, "n = 0 accepted");
    CHECK(qk_eigh(3, a, 2, w, v, 3, work, len, NULL, NULL) == QK_ERR_ARG, "lda < n accepted");
    CHECK(qk_eigh(3, a, 3, w, v, 3, work, len - 1, NULL, NULL) == QK_ERR_CAPACITY, "short work accepted");
    CHECK(qk_eigh(QK_EIG_MAX_N + 1, a, QK_EIG_MAX_N + 1, w, v, QK_EIG_MAX_N + 1, work, (size_t)-1, NULL, NULL) ==
              QK_ERR_CAPACITY,
          "n above QK_EIG_MAX_N accepted");
    CHECK(qk_eigh(3, NULL, 3, w, v, 3, work, len, NULL, NULL) == QK_ERR_ARG, "NULL a accepted");
    free(work);
    /* sweep limit: a status, and the current approximation, sorted */
    const int n = 40;
    double *b = dalloc(n * n), *e = dalloc(n), *vv = dalloc(n * n);
    qk_rng r;
    qk_rng_seed(&r, 106);
    rand_sym(b, n, &r);
    len = qk_eigh_work_len(n, 1);
    work = dalloc(len);
    qk_eig_opts o = {0, 2};
    qk_eig_info info;
    CHECK(qk_eigh(n, b, n, e, vv, n, work, len, &o, &info) == QK_ERR_NOCONVERGE && info.sweeps == 2,
          "sweep limit not reported (%d sweeps)", info.sweeps);
    for (int i = 1; i < n; i++) CHECK(e[i - 1] <= e[i], "not sorted after the sweep limit");
    /* a looser tolerance stops earlier */
    qk_eig_opts loose = {1e-6, 0};
    qk_eig_info i2;
    CHECK_OK(qk_eigh(n, b, n, e, vv, n, work, len, &loose, &i2));
    CHECK_OK(qk_eigh(n, b, n, e, vv, n, work, len, NULL, &info));
    CHECK(i2.sweeps < info.sweeps, "tol 1e-6: %d sweeps, default: %d", i2.sweeps, info.sweeps);
    CHECK(qk_eig_stack_bytes() < 64 * 1024, "stack use %zu bytes", qk_eig_stack_bytes());
    free(work);
    free(b);
    free(e);
    free(vv);
}

/* ---------------------------------------------------------------- ISA paths */
#define FOR_EACH_SIMD_ISA(isa) \
    for (int isa = 1; isa < QK_ISA_COUNT; isa++) if (qk_isa_available((qk_isa)isa))

static int same64(const double *x, const double *y, size_t n, size_t *where)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(x + i, y + i, 8) && !(isnan(x[i]) && isnan(y[i]))) { *where = i; return 0; }
    return 1;
}

TEST(eigen_isa_kernels_bit_identical)
{
    enum { N = 203 };
    static double x[4][2 * N + 16], y[4][2 * N + 16], g[5 * N], o[2][5 * N], as[N], bs[N];
    qk_rng r;
    qk_rng_seed(&r, 107);
    for (int i = 0; i < 2 * N + 16; i++) {
        x[0][i] = qk_rng_normal(&r);
        x[1][i] = qk_rng_normal(&r) * 1e-3;
    }
    for (int i = 0; i < N; i++) {
        as[i] = qk_rng_normal(&r) * 0.3;
        bs[i] = qk_rng_normal(&r) * 0.3;
    }
    /* angle inputs: a mix of rotating and converged pairs, huge theta, zeros */
    for (int k = 0; k < N; k++) {
        g[k] = qk_rng_normal(&r);
        g[N + k] = k % 7 == 0 ? g[k] : qk_rng_normal(&r);
        g[2 * N + k] = k % 5 == 0 ? 0.0 : k % 11 == 0 ? 1e-170 : k % 13 == 0 ? 1e-20 * g[k] : qk_rng_normal(&r);
        g[3 * N + k] = k % 3 ? 1.0 : 0.7;
        g[4 * N + k] = k % 4 ? 1.0 : 0.3;
    }
    const qk_kernels *S = &qk__kernels_scalar;
    FOR_EACH_SIMD_ISA(isa)
    {
        qk_isa_select((qk_isa)isa);
        const qk_kernels *V = qk__kern();
        const char *nm = qk_isa_name((qk_isa)isa);
        size_t w;
        for (int n = 0; n <= 37; n++) { /* jrot, jfrot, jdot3 over every tail length */
            for (int f = 0; f < 2; f++) {
                memcpy(y[0], x[0], sizeof y[0]);
                memcpy(y[1], x[1], sizeof y[1]);
                memcpy(y[2], x[0], sizeof y[2]);
                memcpy(y[3], x[1], sizeof y[3]);
                if (f == 0) {
                    S->jrot(y[0] + 1, y[1] + 1, n, 0.8, -0.6);
                    V->jrot(y[2] + 1, y[3] + 1, n, 0.8, -0.6);
                } else {
                    S->jfrot(y[0] + 1, y[1] + 1, n, 0.3, -1.7);
                    V->jfrot(y[2] + 1, y[3] + 1, n, 0.3, -1.7);
                }
                CHECK(same64(y[0], y[2], 2 * N, &w) && same64(y[1], y[3], 2 * N, &w), "%s %s n=%d differs at %zu", nm,
                      f ? "jfrot" : "jrot", n, w);
            }
            double d0[3], d1[3];
            S->jdot3(x[0] + 3, x[1], n, d0);
            V->jdot3(x[0] + 3, x[1], n, d1);
            CHECK(same64(d0, d1, 3, &w), "%s jdot3 n=%d: %a vs %a", nm, n, d0[w], d1[w]);
        }
        for (int h = 4; h <= 100; h += 4) { /* jstep on the [top | gap 8 | bottom] layout */
            memset(y, 0, sizeof y);
            S->jstep(x[0], x[1], y[0], y[1], h, 0.25, -0.4, as, bs);
            V->jstep(x[0], x[1], y[2], y[3], h, 0.25, -0.4, as, bs);
            CHECK(same64(y[0], y[2], 2 * h + 8, &w) && same64(y[1], y[3], 2 * h + 8, &w), "%s jstep h=%d differs at %zu",
                  nm, h, w);
        }
        for (int h = 1; h <= N; h += 13) {
            /* jangle reads g as (5, h) rows */
            static double gh[5 * N];
            for (int j = 0; j < 5; j++) memcpy(gh + j * h, g + j * N, sizeof(double) * h);
            S->jangle(h, 0x1p-52, gh, o[0]);
            V->jangle(h, 0x1p-52, gh, o[1]);
            CHECK(same64(o[0], o[1], 5 * (size_t)h, &w), "%s jangle h=%d differs at %zu: %a vs %a", nm, h, w, o[0][w],
                  o[1][w]);
            int cp[8] = {0, 2, 5, 9, 14, 20, 27, 35}, cq[8] = {1, 3, 7, 11, 17, 23, 31, 40};
            memcpy(y[0], x[0], sizeof y[0]);
            memcpy(y[2], x[0], sizeof y[2]);
            S->jfcols(y[0], 8, cp, cq, as, bs);
            V->jfcols(y[2], 8, cp, cq, as, bs);
            CHECK(same64(y[0], y[2], 2 * N, &w), "%s jfcols differs at %zu", nm, w);
        }
    }
}

TEST(eigen_isa_solves_bit_identical)
{
    static const int ns[] = {1, 2, 3, 5, 8, 9, 13, 16, 17, 24, 31, 40, 64, 65, 100};
    qk_rng r;
    qk_rng_seed(&r, 108);
    FOR_EACH_SIMD_ISA(isa)
    for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++) {
        int n = ns[t];
        double *a = dalloc((size_t)n * n), *w[2], *v[2], *s[2], *u[2], *vt[2];
        for (int p = 0; p < 2; p++) {
            w[p] = dalloc(n);
            v[p] = dalloc((size_t)n * n);
            s[p] = dalloc(n);
            u[p] = dalloc((size_t)n * n);
            vt[p] = dalloc((size_t)n * n);
        }
        rand_sym(a, n, &r);
        if (t % 3 == 1) /* graded */
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++) a[i * n + j] *= pow(10.0, -(i + j) * 20.0 / n);
        size_t le = qk_eigh_work_len(n, 1), ls = qk_svd_work_len(n, n, 1);
        double *work = dalloc(le > ls ? le : ls);
        for (int p = 0; p < 2; p++) {
            qk_isa_select(p ? (qk_isa)isa : QK_ISA_SCALAR);
            CHECK_OK(qk_eigh(n, a, n, w[p], v[p], n, work, le, NULL, NULL));
            CHECK_OK(qk_svd(n, n, a, n, s[p], u[p], n, vt[p], n, work, ls, NULL, NULL));
        }
        size_t wh;
        CHECK(same64(w[0], w[1], n, &wh) && same64(v[0], v[1], (size_t)n * n, &wh), "%s eigh n=%d: bits differ",
              qk_isa_name((qk_isa)isa), n);
        CHECK(same64(s[0], s[1], n, &wh) && same64(u[0], u[1], (size_t)n * n, &wh) &&
                  same64(vt[0], vt[1], (size_t)n * n, &wh),
              "%s svd n=%d: bits differ", qk_isa_name((qk_isa)isa), n);
        free(work);
        free(a);
        for (int p = 0; p < 2; p++) {
            free(w[p]);
            free(v[p]);
            free(s[p]);
            free(u[p]);
            free(vt[p]);
        }
    }
}

/* vectors/eigen.qkv (tools/gen_vectors_eigen.c) on every ISA path of this build. */
TEST(eigen_golden_vectors_every_isa)
{
    const char *path = "vectors/eigen.qkv";
    FILE *f = fopen(path, "r");
    CHECK(f != NULL, "%s not found (run the tests from the repository root)", path);
    if (!f) return;
    fclose(f);
    size_t cap = 64u << 20;
    unsigned char *buf = malloc(cap);
    for (int isa = 0; isa < QK_ISA_COUNT; isa++) {
        if (!qk_isa_available((qk_isa)isa)) continue;
        qk_isa_select((qk_isa)isa);
        qk_arena ar = {buf, cap, 0, 0};
        long cases = 0, bad = 0;
        int rc = qk_verify_file(path, &ar, stdout, &cases, &bad);
        CHECK(rc == 0 && bad == 0 && cases > 0, "%s: %ld of %ld cases differ (rc %d)", qk_isa_name((qk_isa)isa), bad,
              cases, rc);
    }
    free(buf);
}

/* ---------------------------------------------------------------- SVD */
static void check_svd(const char *what, int rows, int cols, const double *a, const double *s, const double *u,
                      const double *vt, double c)
{
    int k = rows < cols ? rows : cols, L = rows < cols ? cols : rows;
    double an = norm_inf(a, rows, cols), rec = 0, ou = 0, ov = 0;
    for (int i = 1; i < k; i++) CHECK(s[i - 1] >= s[i], "%s: not descending at %d", what, i);
    for (int i = 0; i < k; i++) CHECK(s[i] >= 0, "%s: s[%d] < 0", what, i);
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) {
            long double x = 0;
            for (int l = 0; l < k; l++) x += (long double)u[i * k + l] * s[l] * vt[l * cols + j];
            if (fabsl(x - a[i * cols + j]) > rec) rec = (double)fabsl(x - a[i * cols + j]);
        }
    for (int p = 0; p < k; p++)
        for (int q = 0; q < k; q++) {
            long double x = 0, y = 0;
            for (int i = 0; i < rows; i++) x += (long double)u[i * k + p] * u[i * k + q];
            for (int j = 0; j < cols; j++) y += (long double)vt[p * cols + j] * vt[q * cols + j];
            if (p == q) { x -= 1; y -= 1; }
            if (fabsl(x) > ou) ou = (double)fabsl(x);
            if (fabsl(y) > ov) ov = (double)fabsl(y);
        }
    CHECK(rec <= c * L * EPS * (an > 0 ? an : 1), "%s %dx%d: reconstruction %.3g", what, rows, cols, rec);
    CHECK(ou <= c * L * EPS && ov <= c * L * EPS, "%s %dx%d: orthogonality U %.3g V %.3g", what, rows, cols, ou, ov);
}

static qk_status svd(int rows, int cols, const double *a, double *s, double *u, double *vt, qk_eig_info *info)
{
    int k = rows < cols ? rows : cols;
    size_t len = qk_svd_work_len(rows, cols, u != NULL);
    double *work = dalloc(len);
    qk_status st = qk_svd(rows, cols, a, cols, s, u, k, vt, cols, work, len, NULL, info);
    free(work);
    return st;
}

TEST(svd_random_shapes)
{
    static const int shapes[][2] = {{1, 1}, {1, 5}, {5, 1}, {2, 2}, {3, 5}, {5, 3}, {8, 8}, {17, 9}, {9, 17}, {64, 64}};
    qk_rng r;
    qk_rng_seed(&r, 109);
    for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++) {
        int rows = shapes[t][0], cols = shapes[t][1], k = rows < cols ? rows : cols;
        double *a = dalloc((size_t)rows * cols), *s = dalloc(k), *s2 = dalloc(k), *u = dalloc((size_t)rows * k),
               *vt = dalloc((size_t)k * cols);
        for (int i = 0; i < rows * cols; i++) a[i] = qk_rng_normal(&r);
        qk_eig_info info;
        CHECK_OK(svd(rows, cols, a, s, u, vt, &info));
        check_svd("random", rows, cols, a, s, u, vt, 2);
        CHECK_OK(svd(rows, cols, a, s2, NULL, NULL, NULL));
        CHECK(!memcmp(s, s2, sizeof(double) * k), "%dx%d: values differ with and without vectors", rows, cols);
        /* s_i² are the eigenvalues of A A^T (or A^T A) */
        int m = k;
        double *g = dalloc((size_t)m * m), *w = dalloc(m);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < m; j++) {
                long double x = 0;
                if (rows <= cols)
                    for (int l = 0; l < cols; l++) x += (long double)a[i * cols + l] * a[j * cols + l];
                else
                    for (int l = 0; l < rows; l++) x += (long double)a[l * cols + i] * a[l * cols + j];
                g[i * m + j] = (double)x;
            }
        CHECK_OK(eigh(m, g, w, NULL, NULL));
        for (int i = 0; i < m; i++)
            CHECK(fabs(s[i] * s[i] - w[m - 1 - i]) <= 8 * m * EPS * s[0] * s[0], "%dx%d: s[%d]² %.17g vs %.17g", rows,
                  cols, i, s[i] * s[i], w[m - 1 - i]);
        double sn;
        double *work = dalloc(qk_spectral_norm_work_len(rows, cols));
        CHECK_OK(qk_spectral_norm(rows, cols, a, cols, &sn, work, qk_spectral_norm_work_len(rows, cols)));
        CHECK(sn == s[0], "spectral norm %.17g vs s[0] %.17g", sn, s[0]);
        free(work);
        free(g);
        free(w);
        free(a);
        free(s);
        free(s2);
        free(u);
        free(vt);
    }
}

TEST(svd_rank_deficient_zero_graded)
{
    double a[36], s[6], u[36], vt[36];
    qk_eig_info info;
    for (int i = 0; i < 6; i++) /* rank 1, integer pattern (the rounding residue stays parallel) */
        for (int j = 0; j < 6; j++) a[i * 6 + j] = (i + 1) * (j % 3 + 1.0);
    CHECK_OK(svd(6, 6, a, s, u, vt, &info));
    check_svd("rank 1", 6, 6, a, s, u, vt, 4);
    CHECK(qk_numerical_rank(s, 6, 6, 6, 0) == 1 && fabs(qk_stable_rank(s, 6) - 1) < 1e-15,
          "rank 1: rank %d, stable rank %.17g", qk_numerical_rank(s, 6, 6, 6, 0), qk_stable_rank(s, 6));
    CHECK(info.sweeps <= 20, "rank 1: %d sweeps", info.sweeps);
    memset(a, 0, sizeof a); /* zero: s = 0, U and V completed to orthonormal bases */
    CHECK_OK(svd(6, 6, a, s, u, vt, &info));
    check_svd("zero", 6, 6, a, s, u, vt, 4);
    CHECK(s[0] == 0 && qk_numerical_rank(s, 6, 6, 6, 0) == 0 && qk_stable_rank(s, 6) == 0, "zero matrix");
    /* rank 3 (10 x 7) */
    qk_rng r;
    qk_rng_seed(&r, 110);
    double b[70], x[30], y[21], sb[7], ub[70], vb[49];
    for (int i = 0; i < 30; i++) x[i] = qk_rng_normal(&r);
    for (int i = 0; i < 21; i++) y[i] = qk_rng_normal(&r);
    for (int i = 0; i < 10; i++)
        for (int j = 0; j < 7; j++) b[i * 7 + j] = x[i * 3] * y[j * 3] + x[i * 3 + 1] * y[j * 3 + 1] + x[i * 3 + 2] * y[j * 3 + 2];
    CHECK_OK(svd(10, 7, b, sb, ub, vb, NULL));
    check_svd("rank 3", 10, 7, b, sb, ub, vb, 4);
    CHECK(qk_numerical_rank(sb, 7, 10, 7, 0) == 3, "rank 3: numerical rank %d", qk_numerical_rank(sb, 7, 10, 7, 0));
    /* graded 2x2: [[1, 0], [1e-20, 1e-30]] has s_min = 1e-30 (det / s_max) */
    double gr[4] = {1, 0, 1e-20, 1e-30}, sg[2];
    CHECK_OK(svd(2, 2, gr, sg, NULL, NULL, NULL));
    CHECK(fabs(sg[1] - 1e-30) <= 4 * EPS * 1e-30, "graded 2x2: s_min %.17g", sg[1]);
}

/* ---------------------------------------------------------------- power iteration */
TEST(eigen_power_iteration_sigma_reparam)
{
    qk_rng r;
    qk_rng_seed(&r, 111);
    const int rows = 9, cols = 6;
    double w[54], u[6], v[9], sig, scratch[15], s[6];
    for (int i = 0; i < 54; i++) w[i] = qk_rng_normal(&r);
    CHECK_OK(svd(rows, cols, w, s, NULL, NULL, NULL));
    for (int j = 0; j < cols; j++) u[j] = 1.0;
    CHECK_OK(qk_spectral_norm_power(rows, cols, w, cols, u, v, 500, &sig, scratch));
    CHECK(fabs(sig - s[0]) <= 1e-12 * s[0], "power: %.17g vs s_max %.17g (gap %.3g)", sig, s[0], s[1] / s[0]);
    /* one step is SPEC §1.1 literally: v = Wu/|Wu|, u = W^T v/|W^T v|, sigma = v^T W u */
    double u0[6], uu[6], vv[9];
    for (int j = 0; j < cols; j++) u0[j] = uu[j] = qk_rng_normal(&r);
    CHECK_OK(qk_spectral_norm_power(rows, cols, w, cols, uu, vv, 1, &sig, scratch));
    long double t[9], nt = 0, q[6], nq = 0, sr = 0;
    for (int i = 0; i < rows; i++) {
        t[i] = 0;
        for (int j = 0; j < cols; j++) t[i] += (long double)w[i * cols + j] * u0[j];
        nt += t[i] * t[i];
    }
    for (int i = 0; i < rows; i++) t[i] /= sqrtl(nt);
    for (int j = 0; j < cols; j++) {
        q[j] = 0;
        for (int i = 0; i < rows; i++) q[j] += (long double)w[i * cols + j] * t[i];
        nq += q[j] * q[j];
    }
    for (int j = 0; j < cols; j++) q[j] /= sqrtl(nq);
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) sr += t[i] * (long double)w[i * cols + j] * q[j];
    CHECK(fabsl(sig - sr) <= 16 * EPS * s[0], "one step: %.17g vs %.17Lg", sig, sr);
    for (int j = 0; j < cols; j++) CHECK(fabsl(uu[j] - q[j]) <= 16 * EPS, "one step: u[%d]", j);
    for (int i = 0; i < rows; i++) CHECK(fabsl(vv[i] - t[i]) <= 16 * EPS, "one step: v[%d]", i);
    /* exact power-of-two scaling, and no overflow near the limit */
    double wb[54], ub[6], sb;
    for (int i = 0; i < 54; i++) wb[i] = ldexp(w[i], 1000);
    for (int j = 0; j < cols; j++) ub[j] = u0[j];
    memcpy(uu, u0, sizeof uu);
    CHECK_OK(qk_spectral_norm_power(rows, cols, w, cols, uu, NULL, 3, &sig, scratch));
    CHECK_OK(qk_spectral_norm_power(rows, cols, wb, cols, ub, NULL, 3, &sb, scratch));
    CHECK(sb == ldexp(sig, 1000) && !memcmp(ub, uu, sizeof ub), "2^1000·W: %.17g vs %.17g", sb, ldexp(sig, 1000));
    /* degenerate cases */
    double z[54] = {0};
    CHECK_OK(qk_spectral_norm_power(rows, cols, z, cols, uu, NULL, 2, &sig, scratch));
    CHECK(sig == 0.0, "zero W: sigma %g", sig);
    double zu[6] = {0};
    CHECK(qk_spectral_norm_power(rows, cols, w, cols, zu, NULL, 2, &sig, scratch) == QK_ERR_ARG, "zero u accepted");
    w[3] = NAN;
    CHECK(qk_spectral_norm_power(rows, cols, w, cols, uu, NULL, 2, &sig, scratch) == QK_ERR_NONFINITE, "NaN accepted");
}

/* ---------------------------------------------------------------- Haar */
/* Orthogonal to working precision, reproducible, and distributed as Haar measure: for
 * Q Haar on O(n), E[tr Q] = 0, E[(tr Q)²] = 1, E[q_ij²] = 1/n, and det = ±1 equally
 * often. Without the sign correction tr Q is biased (E[tr Q] ≈ 0.8 for n = 5). */
TEST(eigen_haar_orthogonal)
{
    const int n = 5, draws = 4000;
    double q[25], q2[25], *work = dalloc(qk_haar_work_len(n));
    qk_rng r, r2;
    qk_rng_seed(&r, 112);
    double str = 0, str2 = 0, s00 = 0, worst = 0;
    int pos = 0;
    for (int d = 0; d < draws; d++) {
        CHECK_OK(qk_haar_orthogonal(n, &r, q, n, work, qk_haar_work_len(n)));
        double tr = 0;
        for (int i = 0; i < n; i++) tr += q[i * n + i];
        str += tr;
        str2 += tr * tr;
        s00 += q[0] * q[0];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                double x = 0;
                for (int k = 0; k < n; k++) x += q[i * n + k] * q[j * n + k];
                x -= i == j;
                if (fabs(x) > worst) worst = fabs(x);
            }
        /* determinant by elimination */
        double m[25], det = 1;
        memcpy(m, q, sizeof m);
        for (int c = 0; c < n; c++) {
            int p = c;
            for (int i = c + 1; i < n; i++)
                if (fabs(m[i * n + c]) > fabs(m[p * n + c])) p = i;
            if (p != c) {
                det = -det;
                for (int j = 0; j < n; j++) { double x = m[c * n + j]; m[c * n + j] = m[p * n + j]; m[p * n + j] = x; }
            }
            det *= m[c * n + c];
            for (int i = c + 1; i < n; i++) {
                double f = m[i * n + c] / m[c * n + c];
                for (int j = c; j < n; j++) m[i * n + j] -= f * m[c * n + j];
            }
        }
        pos += det > 0;
    }
    CHECK(worst <= 4 * n * EPS, "Haar: orthogonality %.3g", worst);
    double se = 1.0 / sqrt((double)draws);
    CHECK(fabs(str / draws) < 4 * se, "Haar: mean trace %.4f (4 s.e. = %.4f)", str / draws, 4 * se);
    CHECK(fabs(str2 / draws - 1) < 0.15, "Haar: mean trace² %.4f, want 1", str2 / draws);
    CHECK(fabs(s00 / draws - 1.0 / n) < 0.02, "Haar: mean q00² %.4f, want %.4f", s00 / draws, 1.0 / n);
    CHECK(abs(2 * pos - draws) < 4 * (int)sqrt((double)draws), "Haar: %d of %d with det +1", pos, draws);
    /* same seed, same bits; another seed, another matrix */
    qk_rng_seed(&r, 7);
    qk_rng_seed(&r2, 7);
    qk_haar_orthogonal(n, &r, q, n, work, qk_haar_work_len(n));
    qk_haar_orthogonal(n, &r2, q2, n, work, qk_haar_work_len(n));
    CHECK(!memcmp(q, q2, sizeof q), "Haar: same seed, different bits");
    CHECK(qk_haar_orthogonal(n, &r2, q2, n, work, 3) == QK_ERR_CAPACITY, "Haar: short work accepted");
    free(work);
}
