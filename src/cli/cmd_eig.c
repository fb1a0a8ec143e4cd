/* cmd_eig.c — `qkspec eig [FILE|-] [--vectors] [--symmetrize]` and `qkspec svd [FILE|-]`.
 *
 * Input (FILE, or standard input for '-' or no FILE): the integer n, then n·n numbers
 * in row-major order, anything strtod accepts, separated by white space. Output: the
 * eigenvalues ascending (eig) or singular values descending (svd), one per line with
 * %.17g (enough digits to round-trip a double); with --vectors the n eigenvectors
 * follow as rows (row i belongs to eigenvalue i; sign: largest-magnitude component
 * positive). Errors (a message naming the line, exit status 1): n not an integer in
 * [1, QK_EIG_MAX_N], a token that is not a number, NaN or Inf (also overflow such as
 * 1e999), too few or too many numbers, a non-symmetric matrix for eig without
 * --symmetrize (which uses (A + A^T)/2). Usage errors exit with 2. */
#include "qk_fp.h"
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "qk_eigen.h"

#define MAXN QK_EIG_MAX_N
/* >= qk_eigh_work_len(MAXN, 1) and qk_svd_work_len(MAXN, MAXN, 0) */
#define EIGWORK (((size_t)MAXN + 10) * (MAXN + 18) + (size_t)MAXN * MAXN + 16 * (size_t)MAXN + 64)

static double g_a[(size_t)MAXN * MAXN], g_v[(size_t)MAXN * MAXN], g_w[MAXN];
static double g_work[EIGWORK];

typedef struct {
    FILE *f;
    const char *name;
    long line; /* line of the last token read */
    long cur;  /* current line */
} tokin;

/* Next white-space separated token into buf; 0 at end of input, -1 if too long, -2 on
 * a NUL byte (binary data: a text number never holds one, and it would cut the token
 * short without a trace). */
static int next_token(tokin *t, char *buf, size_t cap)
{
    int c;
    while ((c = getc(t->f)) != EOF && isspace(c))
        if (c == '\n') t->cur++;
    if (c == EOF) return 0;
    t->line = t->cur;
    size_t n = 0;
    do {
        if (c == 0) return -2;
        if (n + 1 >= cap) return -1;
        buf[n++] = (char)c;
    } while ((c = getc(t->f)) != EOF && !isspace(c));
    if (c == '\n') t->cur++;
    buf[n] = 0;
    return 1;
}

/* A token as it may be shown in a message: printable ASCII as is, any other byte as
 * \xNN (a binary file must not put raw bytes on the terminal), at most 40 bytes. */
static const char *shown(const char *tok, char *buf, size_t cap)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)tok; *p && n + 8 < cap; p++) {
        if (p - (const unsigned char *)tok >= 40) { memcpy(buf + n, "...", 3); n += 3; break; }
        if (*p >= 0x20 && *p < 0x7f) buf[n++] = (char)*p;
        else n += (size_t)snprintf(buf + n, cap - n, "\\x%02x", *p);
    }
    buf[n] = 0;
    return buf;
}

static int fail(const char *cmd, tokin *t, const char *fmt, const char *tok, long a, long b)
{
    char safe[200];
    fprintf(stderr, "qkspec %s: %s:%ld: ", cmd, t->name, t->line);
    fprintf(stderr, fmt, shown(tok, safe, sizeof safe), a, b);
    fputc('\n', stderr);
    return 1;
}

/* The reasons next_token gives up, as messages; 1 (the exit status). */
static int bad_token(const char *cmd, tokin *t, int st)
{
    if (st == -2) return fail(cmd, t, "binary data (a NUL byte) where a number was expected%s", "", 0, 0);
    return fail(cmd, t, "token too long%s", "", 0, 0);
}

/* Input that ends because reading failed (a directory, an I/O error) is not "empty"
 * or "short": 1 with the reason printed, 0 if the input really ended. */
static int read_error(const char *cmd, tokin *t)
{
    if (!ferror(t->f)) return 0;
    fprintf(stderr, "qkspec %s: cannot read %s: %s\n", cmd, t->name, strerror(errno ? errno : EIO));
    return 1;
}

/* Reads n and the matrix into g_a; returns 0 or an exit status. */
static int read_matrix(const char *cmd, tokin *t, int *np)
{
    char tok[512];
    errno = 0;
    int st = next_token(t, tok, sizeof tok);
    if (st == 0 && read_error(cmd, t)) return 1;
    if (st == 0) { t->line = t->cur; return fail(cmd, t, "empty input: expected the dimension n%s", "", 0, 0); }
    if (st < 0) return bad_token(cmd, t, st);
    char *end;
    errno = 0;
    long n = strtol(tok, &end, 10);
    if (*end || end == tok || errno) return fail(cmd, t, "the dimension '%s' is not an integer", tok, 0, 0);
    if (n < 1 || n > MAXN) return fail(cmd, t, "n = %s is out of range [%ld, %ld]", tok, 1, MAXN);
    long total = n * n;
    for (long k = 0; k < total; k++) {
        st = next_token(t, tok, sizeof tok);
        if (st == 0 && read_error(cmd, t)) return 1;
        if (st == 0) {
            t->line = t->cur;
            return fail(cmd, t, "input ends after %s%ld of the n*n = %ld numbers", "", k, total);
        }
        if (st < 0) return bad_token(cmd, t, st);
        errno = 0;
        double x = strtod(tok, &end);
        if (*end || end == tok) return fail(cmd, t, "'%s' is not a number (entry %ld of %ld)", tok, k + 1, total);
        if (!(x - x == 0.0)) /* NaN, Inf, or overflow to Inf */
            return fail(cmd, t, "'%s' is not finite (entry %ld of %ld)", tok, k + 1, total);
        g_a[k] = x;
    }
    st = next_token(t, tok, sizeof tok);
    if (st == 0 && read_error(cmd, t)) return 1;
    if (st == -2) return bad_token(cmd, t, st);
    if (st != 0) return fail(cmd, t, "extra input '%s' after the n*n = %ld numbers", st > 0 ? tok : "...", total, 0);
    *np = (int)n;
    return 0;
}

int qk_cmd_eig(int argc, char **argv, int svd)
{
    const char *cmd = svd ? "svd" : "eig", *path = NULL;
    int vectors = 0, symmetrize = 0;
    for (int i = 0; i < argc; i++) {
        if (!svd && !strcmp(argv[i], "--vectors")) vectors = 1;
        else if (!svd && !strcmp(argv[i], "--symmetrize")) symmetrize = 1;
        else if (argv[i][0] == '-' && argv[i][1] != 0) {
            fprintf(stderr, "qkspec %s: unknown option '%s'\n", cmd, argv[i]);
            fprintf(stderr, svd ? "usage: qkspec svd [FILE|-]\n" : "usage: qkspec eig [FILE|-] [--vectors] [--symmetrize]\n");
            return 2;
        } else if (path) {
            fprintf(stderr, "qkspec %s: more than one input file ('%s', '%s')\n", cmd, path, argv[i]);
            return 2;
        } else path = argv[i];
    }
    tokin t = {stdin, "<stdin>", 1, 1};
    if (path && strcmp(path, "-")) {
        t.f = fopen(path, "r");
        t.name = path;
        if (!t.f) {
            fprintf(stderr, "qkspec %s: cannot open '%s': %s\n", cmd, path, strerror(errno));
            return 1;
        }
        struct stat sb;
        if (fstat(fileno(t.f), &sb) == 0 && S_ISDIR(sb.st_mode)) { /* fopen accepts a directory; reading it fails */
            fprintf(stderr, "qkspec %s: '%s' is a directory, not a matrix file\n", cmd, path);
            fclose(t.f);
            return 1;
        }
    }
    int n = 0, rc = read_matrix(cmd, &t, &n);
    if (t.f != stdin) fclose(t.f);
    if (rc) return rc;

    qk_status st;
    qk_eig_info info;
    if (svd) {
        st = qk_svd(n, n, g_a, n, g_w, NULL, 0, NULL, 0, g_work, EIGWORK, NULL, &info);
    } else {
        if (symmetrize) qk_symmetrize(n, g_a, n);
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
                if (!(g_a[(size_t)i * n + j] == g_a[(size_t)j * n + i])) {
                    fprintf(stderr,
                            "qkspec eig: %s: the matrix is not symmetric: a[%d][%d] = %.17g but a[%d][%d] = %.17g "
                            "(use --symmetrize for (A + A^T)/2)\n",
                            t.name, i, j, g_a[(size_t)i * n + j], j, i, g_a[(size_t)j * n + i]);
                    return 1;
                }
        st = qk_eigh(n, g_a, n, g_w, vectors ? g_v : NULL, n, g_work, EIGWORK, NULL, &info);
    }
    if (st == QK_ERR_NONFINITE) { /* the input was finite: a result overflows */
        fprintf(stderr, "qkspec %s: %s exceeds the double range (above 1.8e308)\n", cmd,
                svd ? "a singular value" : "an eigenvalue");
        return 1;
    }
    if (st != QK_OK) {
        fprintf(stderr, "qkspec %s: %s (after %d sweeps)\n", cmd, qk_status_str(st), info.sweeps);
        return 1;
    }
    for (int i = 0; i < n; i++) printf("%.17g\n", g_w[i]);
    if (vectors)
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) printf("%.17g%c", g_v[(size_t)i * n + j], j + 1 < n ? ' ' : '\n');
    return 0; /* a failed write to standard output: main's check */
}
