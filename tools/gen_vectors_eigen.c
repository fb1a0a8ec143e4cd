/* gen_vectors_eigen — writes the golden vectors of the eigensolver, SVD, power
 * iteration and Haar matrices (SPEC §3) to DIR/eigen.qkv.
 *   build/gen_vectors_eigen DIR
 * Inputs come from the project's generator with fixed seeds (and a few hand-made hard
 * cases); outputs from the scalar path. They are trusted because
 * tools/check_vectors_eigen.py recomputes every case with NumPy (float64; a 50-digit
 * Jacobi for the graded cases) and the suite checks every build and ISA path against
 * them bit for bit (qkspec verify, qktest eigen_golden_vectors_every_isa). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qk_eigen.h"
#include "qk_io.h"

static unsigned char arena_buf[64u << 20];
static qk_arena arena = {arena_buf, sizeof arena_buf, 0, 0};
static qk_rng rng;
static FILE *out;

#define GEN_PROG "gen_vectors_eigen"
#include "gen_common.h"

static double *add(qk_vcase *c, const char *name, int is_out, int d0, int d1)
{
    int dims[2] = {d0, d1};
    qk_vtensor *t = qk_vcase_add(c, &arena, name, is_out, QK_DT_F64, d1 > 0 ? 2 : 1, dims);
    if (!t) { fprintf(stderr, "gen_vectors_eigen: out of memory\n"); exit(1); }
    return t->data;
}


/* ---------------------------------------------------------------- symmetric inputs */
enum { RANDOM, ZERO, IDENTITY, DIAGONAL, REPEATED, CLUSTERED, GRADED, GRADED_INDEF, GRADED_PERM, ZERO_DIAG, RANK1, TRIDIAG };

static void haar(double *q, int n)
{
    double *work = malloc(sizeof(double) * qk_haar_work_len(n));
    qk_haar_orthogonal(n, &rng, q, n, work, qk_haar_work_len(n));
    free(work);
}

/* Q diag(w) Q^T for a Haar Q, symmetric by construction (upper triangle mirrored). */
static void spectrum(double *a, const double *w, int n)
{
    double *q = malloc(sizeof(double) * n * n);
    haar(q, n);
    for (int i = 0; i < n; i++)
        for (int j = 0; j <= i; j++) {
            double s = 0;
            for (int k = 0; k < n; k++) s = fma(q[i * n + k] * w[k], q[j * n + k], s);
            a[i * n + j] = a[j * n + i] = s;
        }
    free(q);
}

static void make_sym(double *a, int n, int kind, double scale)
{
    double *w = calloc((size_t)n, sizeof(double));
    memset(a, 0, sizeof(double) * n * n);
    switch (kind) {
    case RANDOM:
        for (int i = 0; i < n; i++)
            for (int j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = 2 * qk_rng_uniform(&rng) - 1;
        break;
    case ZERO: break;
    case IDENTITY:
        for (int i = 0; i < n; i++) a[i * n + i] = 1;
        break;
    case DIAGONAL:
        for (int i = 0; i < n; i++) a[i * n + i] = (i % 3 ? 1 : -1) * ldexp(1.0 + qk_rng_uniform(&rng), 40 * (i % 5) - 80);
        break;
    case REPEATED:
        for (int i = 0; i < n; i++) w[i] = (double)(i / 3) - 1.0; /* triples */
        spectrum(a, w, n);
        break;
    case CLUSTERED:
        for (int i = 0; i < n; i++) w[i] = 1.0 + i * 1e-12;
        w[n - 1] = -2;
        spectrum(a, w, n);
        break;
    case GRADED: /* D (I + E) D, D_ii = 10^(-span i/(n-1)) */
    case GRADED_INDEF:
    case GRADED_PERM: /* the same with the rows and columns in the order 0, n-1, 1, n-2, ... */
        for (int i = 0; i < n; i++)
            for (int j = 0; j <= i; j++) {
                double e = (2 * qk_rng_uniform(&rng) - 1) * 0.3 / n;
                double base = i == j ? (kind == GRADED_INDEF && i % 3 == 1 ? -1.0 : 1.0) : 0.0;
                double di = pow(10.0, -scale * i / (n - 1)), dj = pow(10.0, -scale * j / (n - 1));
                a[i * n + j] = a[j * n + i] = (di * (base + e)) * dj;
            }
        scale = 1.0;
        if (kind == GRADED_PERM) {
            double *b = malloc(sizeof(double) * n * n);
            int *p = malloc(sizeof(int) * n);
            for (int i = 0; i < n; i++) p[i] = i % 2 ? n - 1 - i / 2 : i / 2;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++) b[i * n + j] = a[p[i] * n + p[j]];
            memcpy(a, b, sizeof(double) * n * n);
            free(b);
            free(p);
        }
        break;
    case ZERO_DIAG:
        for (int i = 0; i < n; i++)
            for (int j = 0; j < i; j++) a[i * n + j] = a[j * n + i] = (i + j) % 3 ? 1.0 : -2.0;
        break;
    case RANK1:
        for (int i = 0; i < n; i++) w[i] = qk_rng_normal(&rng);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) a[i * n + j] = w[i] * w[j];
        break;
    case TRIDIAG:
        for (int i = 0; i < n; i++) {
            a[i * n + i] = 2;
            if (i + 1 < n) a[i * n + i + 1] = a[(i + 1) * n + i] = -1;
        }
        break;
    }
    if (scale != 1.0)
        for (int i = 0; i < n * n; i++) a[i] *= scale;
    free(w);
}

static void gen_eigh(const char *op, const char *label, int n, int kind, double scale)
{
    qk_vcase c;
    begin(&c, op, "%s_%s_%d", op, label, n);
    make_sym(add(&c, "A", 0, n, n), n, kind, scale);
    add(&c, "w", 1, n, 0);
    if (!strcmp(op, "eigh")) add(&c, "V", 1, n, n);
    finish(&c);
}

static void gen_svd(const char *op, const char *label, int rows, int cols, int kind)
{
    qk_vcase c;
    int k = rows < cols ? rows : cols;
    begin(&c, op, "%s_%s_%dx%d", op, label, rows, cols);
    double *a = add(&c, "A", 0, rows, cols);
    if (kind == RANDOM)
        for (int i = 0; i < rows * cols; i++) a[i] = qk_rng_normal(&rng);
    else if (kind == RANK1)
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) a[i * cols + j] = (i + 1) * (j % 3 + 1.0);
    else if (kind == GRADED) /* rows scaled by 10^-3i */
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) a[i * cols + j] = qk_rng_normal(&rng) * pow(10.0, -3.0 * i);
    else if (kind == TRIDIAG) { /* W_QK = W_Q^T W_K with W_Q, W_K (8, cols): rank 8 */
        double wq[8 * 64], wk[8 * 64];
        for (int i = 0; i < 8 * cols; i++) wq[i] = 0.02 * qk_rng_normal(&rng);
        for (int i = 0; i < 8 * cols; i++) wk[i] = 0.02 * qk_rng_normal(&rng);
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) {
                double s = 0;
                for (int h = 0; h < 8; h++) s = fma(wq[h * cols + i], wk[h * cols + j], s);
                a[i * cols + j] = s;
            }
    } /* ZERO: calloc'd by the arena? make it explicit */
    else
        memset(a, 0, sizeof(double) * rows * cols);
    add(&c, "s", 1, k, 0);
    if (!strcmp(op, "svd")) {
        add(&c, "U", 1, rows, k);
        add(&c, "Vt", 1, k, cols);
    } else {
        add(&c, "stats", 1, 3, 0);
    }
    finish(&c);
}

static void gen_power(int rows, int cols, int iters)
{
    qk_vcase c;
    begin(&c, "spectral_norm_power", "spectral_norm_power_%dx%d_it%d", rows, cols, iters);
    param(&c, "iters", iters);
    double *w = add(&c, "W", 0, rows, cols), *u = add(&c, "u0", 0, cols, 0);
    for (int i = 0; i < rows * cols; i++) w[i] = qk_rng_normal(&rng) / sqrt((double)cols);
    for (int j = 0; j < cols; j++) u[j] = qk_rng_normal(&rng);
    add(&c, "sigma", 1, 1, 0);
    add(&c, "u", 1, cols, 0);
    add(&c, "v", 1, rows, 0);
    finish(&c);
}

static void gen_haar(int n, long long seed)
{
    qk_vcase c;
    begin(&c, "haar", "haar_%d_seed%lld", n, seed);
    param(&c, "n", n);
    param(&c, "seed", seed);
    add(&c, "Q", 1, n, n);
    finish(&c);
}

int main(int argc, char **argv)
{
    if (argc != 2) { fprintf(stderr, "usage: gen_vectors_eigen DIR\n"); return 2; }
    qk_isa_select(QK_ISA_SCALAR);
    qk_rng_seed(&rng, 20240303);
    char path[1024];
    snprintf(path, sizeof path, "%s/eigen.qkv", argv[1]);
    out = fopen(path, "w");
    if (!out) { fprintf(stderr, "gen_vectors_eigen: cannot write %s\n", path); return 1; }
    qk_vec_write_header(out);
    fprintf(out, "# eigen.qkv — generated by tools/gen_vectors_eigen.c; checked by tools/check_vectors_eigen.py\n");

    static const int rnd[] = {1, 2, 3, 4, 5, 8, 9, 17, 33, 64};
    for (size_t i = 0; i < sizeof rnd / sizeof rnd[0]; i++) gen_eigh("eigh", "random", rnd[i], RANDOM, 1.0);
    gen_eigh("eigh", "zero", 4, ZERO, 1.0);
    gen_eigh("eigh", "identity", 5, IDENTITY, 1.0);
    gen_eigh("eigh", "diagonal", 7, DIAGONAL, 1.0);
    gen_eigh("eigh", "repeated", 12, REPEATED, 1.0);
    gen_eigh("eigh", "clustered", 10, CLUSTERED, 1.0);
    gen_eigh("eigh", "graded30", 12, GRADED, 30.0);
    gen_eigh("eigh", "graded_indef20", 10, GRADED_INDEF, 20.0);
    gen_eigh("eigh", "zero_diagonal", 9, ZERO_DIAG, 1.0);
    gen_eigh("eigh", "rank1", 7, RANK1, 1.0);
    gen_eigh("eigh", "tridiag", 16, TRIDIAG, 1.0);
    gen_eigh("eigh", "near_overflow", 6, RANDOM, 0x1p1020);
    gen_eigh("eigh", "near_underflow", 6, RANDOM, 0x1p-1015);
    gen_eigh("eigvalsh", "random", 100, RANDOM, 1.0);
    gen_eigh("eigvalsh", "graded60", 16, GRADED, 60.0);
    gen_eigh("eigvalsh", "random_odd", 37, RANDOM, 1.0);
    gen_eigh("eigh", "graded_perm40", 12, GRADED_PERM, 40.0);

    gen_svd("svd", "random", 1, 1, RANDOM);
    gen_svd("svd", "random", 3, 5, RANDOM);
    gen_svd("svd", "random", 5, 3, RANDOM);
    gen_svd("svd", "random", 8, 8, RANDOM);
    gen_svd("svd", "random", 20, 13, RANDOM);
    gen_svd("svd", "rank1", 6, 6, RANK1);
    gen_svd("svd", "zero", 4, 3, ZERO);
    gen_svd("svd", "graded", 7, 7, GRADED);
    gen_svd("svdvals", "random", 48, 48, RANDOM);
    gen_svd("svdvals", "wqk_rank8", 32, 32, TRIDIAG);

    gen_power(9, 6, 1);
    gen_power(9, 6, 30);
    gen_power(32, 24, 5);

    gen_haar(1, 1);
    gen_haar(2, 2);
    gen_haar(5, 3);
    gen_haar(16, 4);
    fclose(out);
    return 0;
}
