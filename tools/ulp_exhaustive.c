/* ulp_exhaustive — exhaustive accuracy of qk_expf / qk_logf / qk_tanhf against the
 * correctly rounded binary32 result (SPEC §2.5), and bit-identity of every ISA path's
 * qk_vexpf with the scalar qk_expf (SPEC §2).
 *
 *   build/ulp_exhaustive [--func expf|logf|tanhf|all] [--stride N] [--threads T]
 *                        [--verify N] [--list K]
 *
 *   --func     which functions (default all = expf, logf, tanhf)
 *   --stride   test every N-th bit pattern 0, N, 2N, ... < 2^32 (default 1: all 2^32)
 *   --threads  worker threads (default 2); the input range is split into contiguous
 *              blocks of inputs, each result depends on its own input only, so the
 *              report is the same for any thread count (SPEC §2.8)
 *   --verify   cross-check the fast path against MPFR on every N-th tested input
 *              (default 65536; 0 = off). Any disagreement fails the run.
 *   --list     how many bad cases to list per category (default 10)
 *
 * Exit status: 0 when every tested function has max error <= 1 ulp, every available
 * non-scalar ISA path gives the same bits as scalar qk_expf, and the fast path agreed
 * with MPFR on every cross-checked input; 1 otherwise; 2 on a usage error.
 *
 * REFERENCE. For an input x the exact value is v = f(x) (real). The correctly rounded
 * result cr(x) is v rounded to binary32, round-to-nearest-even, with gradual underflow
 * and overflow to ±Inf exactly as IEEE 754 (v >= 2^128 - 2^103 rounds to +Inf).
 *  - Fast path: d = libm exp/log/tanh((double)x). glibc's double functions are within
 *    a few double ulps (exp, log < 0.52 ulp; tanh < 2 ulp), i.e. within ~2^-28 of a
 *    float ulp. If d lies farther than MARGIN = 2^-16 float ulp from every rounding
 *    boundary of binary32 (the midpoints between adjacent floats, including 2^-150
 *    between 0 and the least subnormal and 2^128 - 2^103 between FLT_MAX and Inf),
 *    then (float)d is cr(x); if moreover the result under test equals it, the error is
 *    measured against d (good to ~1e-8 ulp).
 *  - Slow path (everything else: d near a boundary, or the result under test differs
 *    from (float)d): MPFR. cr(x) = mpfr_<f> at 24 bits with emin = -148, emax = 128
 *    and mpfr_subnormalize (exact binary32 emulation, no double rounding); the error is
 *    measured against v computed by MPFR at 192 bits. So every result whose error is
 *    reported as >= 0.5 - 2^-16 ulp and every "not correctly rounded" verdict comes
 *    from MPFR. x = NaN and logf on x <= 0 or +Inf are decided by IEEE 754 directly.
 *  - Every --verify-th input also goes through MPFR and must agree with the fast path.
 *
 * ULP. ulp(v) = 2^(E - 23) with E = clamp(floor(log2 |v|), -126, 127):
 *  - the spacing of binary32 numbers in the binade of v (the spacing above v when v is
 *    a power of two);
 *  - subnormal range and zero: |v| < 2^-126 gives ulp = 2^-149 (the subnormal spacing);
 *  - overflow: |v| >= 2^127 gives ulp = 2^104 (the top binade's spacing; the exponent
 *    is not extended past FLT_MAX).
 * error(y) = |y - v| / ulp(v) for finite y. A result y = ±Inf stands for "every value
 * >= 2^128 in magnitude" (what IEEE overflow rounds to Inf): its error is 0 when
 * |v| >= 2^128 and (2^128 - |v|) / 2^104 when |v| < 2^128 (same sign). So a correctly
 * rounded result always has error <= 0.5 ulp, also at underflow (0 vs 2^-150) and at
 * overflow (FLT_MAX vs Inf). A NaN where a number is due, a number where NaN is due, or
 * an infinity of the wrong sign has error +Inf. NaN matches NaN (payloads are open,
 * qk.h). A zero of the wrong sign has error 0 but is not the correctly rounded result;
 * it is counted and listed separately ("signed-zero mismatches") and does not count as
 * "not correctly rounded".
 *
 * ISA CHECK (expf only). For every ISA path that qk_isa_available() reports besides
 * scalar, qk_isa_select() it and compare qk_vexpf over the same inputs with the scalar
 * qk_expf (bitwise; any NaN matches any NaN). The first such path is checked inside the
 * expf accuracy pass, further ones in their own pass. qk_vexpf is called on blocks of
 * 4096 consecutive tested inputs, so each input is seen in one SIMD lane position.
 *
 * COST. The run time is dominated by the functions under test, not by the reference:
 * in the native build the scalar code calls fma() out of line (no -mfma), about 40 ns
 * per qk_expf. Measured on a 2-core x86-64 VM: expf ~190 s CPU, logf ~110 s CPU for
 * all 2^32 inputs (wall time = CPU time / 2 with both cores free); MPFR resolves only
 * ~2e4 (expf) and ~7e4 (logf) inputs.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gmp.h>
#include <mpfr.h>

#include "qk.h"

#define MARGIN 0x1p-16 /* float ulps: fast-path safety distance from a rounding boundary */
#define BLOCK 4096     /* inputs per inner block (multiple of every SIMD width) */
#define LIST_MAX 64
#define HI_PREC 192

enum { F_EXP, F_LOG, F_TANH, F_COUNT };
static const char *fn_name[F_COUNT] = {"expf", "logf", "tanhf"};

static inline uint32_t fbits(float x) { uint32_t u; memcpy(&u, &x, 4); return u; }
static inline float ffrom(uint32_t u) { float x; memcpy(&x, &u, 4); return x; }
static inline uint64_t dbits(double x) { uint64_t u; memcpy(&u, &x, 8); return u; }
static inline double dfrom(uint64_t u) { double x; memcpy(&x, &u, 8); return x; }
static inline double pow2(int e) { return dfrom((uint64_t)(e + 1023) << 52); } /* normal e only */

/* Same result: bitwise, or both NaN. */
static inline int same_bits(float a, float b) { return fbits(a) == fbits(b) || (a != a && b != b); }

typedef struct { uint32_t x, got, cr; double err; } badcase;
typedef struct { uint32_t x, scal, vec; } isabad;

typedef struct {
    /* configuration */
    int fn;              /* F_*, or -1 for an ISA-only pass */
    int isa;             /* ISA whose qk_vexpf is compared with scalar, or -1 */
    uint64_t lo, hi;     /* index range [lo, hi); input bits = index * stride */
    uint64_t stride, verify_every;
    int list;
    /* results */
    uint64_t tested, slow, not_cr, zero_sign, verified, verify_bad, isa_mm, isa_tested;
    double max_err;
    badcase worst;
    int have_worst;
    badcase bad[LIST_MAX], zs[LIST_MAX], vbad[LIST_MAX];
    int nbad, nzs, nvbad;
    isabad ibad[LIST_MAX];
    int nibad;
    /* MPFR scratch (per thread) */
    mpfr_t mx, v, r24, tmp;
} job;

static int g_mpfr_tls = 1;
static pthread_mutex_t g_mpfr_lock = PTHREAD_MUTEX_INITIALIZER;

static float eval_qk(int fn, float x)
{
    switch (fn) {
    case F_EXP: return qk_expf(x);
    case F_LOG: return qk_logf(x);
    default: return qk_tanhf(x);
    }
}

static int mpfr_fn(int fn, mpfr_t r, const mpfr_t x)
{
    switch (fn) {
    case F_EXP: return mpfr_exp(r, x, MPFR_RNDN);
    case F_LOG: return mpfr_log(r, x, MPFR_RNDN);
    default: return mpfr_tanh(r, x, MPFR_RNDN);
    }
}

/* Error of y against a finite double reference d (|d| may exceed FLT_MAX). */
static double err_vs_double(float y, double d)
{
    double a = fabs(d);
    if (y != y) return INFINITY;
    if (isinf(y)) {
        if ((y > 0) != (d > 0) && d != 0) return INFINITY;
        if (d == 0) return INFINITY;
        return a >= 0x1p128 ? 0.0 : (0x1p128 - a) / 0x1p104;
    }
    int e = (int)((dbits(a) >> 52) & 0x7ff) - 1023;
    if (e < -126) e = -126;
    if (e > 127) e = 127;
    return fabs((double)y - d) * pow2(23 - e);
}

/* Fast path. Returns 1 and sets *cr, *err when it can decide rigorously; 0 means
 * "ask MPFR". */
static int fast_ref(int fn, float x, float y, float *cr, double *err)
{
    double d;
    if (x != x) { *cr = x; *err = (y != y) ? 0.0 : INFINITY; return 1; }
    switch (fn) {
    case F_EXP:
        d = exp((double)x);
        /* d = +Inf: x > 709.7, v > 2^1023; d = 0: v < 2^-1074. Both far from any
         * binary32 boundary. */
        if (isinf(d)) { *cr = INFINITY; *err = (y == INFINITY) ? 0.0 : INFINITY; return 1; }
        if (d == 0) { *cr = 0.0f; *err = err_vs_double(y, 0.0); return 1; }
        break;
    case F_LOG:
        if (x < 0) { *cr = NAN; *err = (y != y) ? 0.0 : INFINITY; return 1; }
        if (x == 0) { *cr = -INFINITY; *err = (y == -INFINITY) ? 0.0 : INFINITY; return 1; }
        if (isinf(x)) { *cr = INFINITY; *err = (y == INFINITY) ? 0.0 : INFINITY; return 1; }
        d = log((double)x);
        break;
    default:
        d = tanh((double)x);
        break;
    }
    double a = fabs(d);
    if (a < 0x1p128) { /* above 2^128 there is no boundary left (Inf for sure) */
        int e = (int)((dbits(a) >> 52) & 0x7ff) - 1023;
        if (e < -126) e = -126;
        if (e > 127) e = 127;
        double q = a * pow2(23 - e); /* |d| in float ulps: exact */
        double f = q - floor(q);
        if (fabs(f - 0.5) < MARGIN) return 0;
    }
    float c = (float)d;
    if (fbits(c) != fbits(y)) return 0; /* measure a wrong result with MPFR */
    *cr = c;
    *err = err_vs_double(y, d);
    return 1;
}

/* Slow path: MPFR. Always decides. */
static void slow_ref(job *J, int fn, float x, float y, float *cr, double *err)
{
    if (!g_mpfr_tls) pthread_mutex_lock(&g_mpfr_lock);
    mpfr_set_flt(J->mx, x, MPFR_RNDN);
    mpfr_fn(fn, J->v, J->mx); /* v at HI_PREC bits, default (huge) exponent range */

    mpfr_exp_t emin = mpfr_get_emin(), emax = mpfr_get_emax();
    mpfr_set_emin(-148); /* binary32: least subnormal 2^-149 = 0.5·2^-148 */
    mpfr_set_emax(128);  /* largest finite (1 - 2^-24)·2^128                 */
    int t = mpfr_fn(fn, J->r24, J->mx);
    t = mpfr_subnormalize(J->r24, t, MPFR_RNDN);
    *cr = mpfr_get_flt(J->r24, MPFR_RNDN); /* exact: r24 is a binary32 value */
    mpfr_set_emin(emin);
    mpfr_set_emax(emax);

    if (mpfr_nan_p(J->v)) *err = (y != y) ? 0.0 : INFINITY;
    else if (y != y) *err = INFINITY;
    else if (mpfr_inf_p(J->v)) {
        int vs = mpfr_sgn(J->v) > 0;
        *err = (isinf(y) && (y > 0) == vs) ? 0.0 : INFINITY;
    } else if (isinf(y)) {
        if (mpfr_zero_p(J->v) || (mpfr_sgn(J->v) > 0) != (y > 0)) *err = INFINITY;
        else {
            mpfr_abs(J->tmp, J->v, MPFR_RNDN);
            if (mpfr_cmp_d(J->tmp, 0x1p128) >= 0) *err = 0.0;
            else {
                mpfr_d_sub(J->tmp, 0x1p128, J->tmp, MPFR_RNDN);
                mpfr_mul_2si(J->tmp, J->tmp, -104, MPFR_RNDN);
                *err = mpfr_get_d(J->tmp, MPFR_RNDU);
            }
        }
    } else {
        long e = mpfr_zero_p(J->v) ? -126 : (long)mpfr_get_exp(J->v) - 1; /* floor(log2|v|) */
        if (e < -126) e = -126;
        if (e > 127) e = 127;
        mpfr_set_flt(J->tmp, y, MPFR_RNDN);
        mpfr_sub(J->tmp, J->tmp, J->v, MPFR_RNDN);
        mpfr_abs(J->tmp, J->tmp, MPFR_RNDN);
        mpfr_mul_2si(J->tmp, J->tmp, 23 - e, MPFR_RNDN);
        *err = mpfr_get_d(J->tmp, MPFR_RNDU);
    }
    if (!g_mpfr_tls) pthread_mutex_unlock(&g_mpfr_lock);
}

static void add_case(badcase *list, int *n, int cap, uint32_t x, float got, float cr, double err)
{
    if (*n < cap) { list[*n].x = x; list[*n].got = fbits(got); list[*n].cr = fbits(cr); list[*n].err = err; (*n)++; }
}

static void check_one(job *J, int verify_now, uint32_t u, float x, float y)
{
    float cr;
    double err;
    int fast = fast_ref(J->fn, x, y, &cr, &err);
    if (!fast) { J->slow++; slow_ref(J, J->fn, x, y, &cr, &err); }
    else if (verify_now) {
        float cr2;
        double err2;
        slow_ref(J, J->fn, x, y, &cr2, &err2);
        J->verified++;
        int ok = same_bits(cr, cr2) &&
                 ((isinf(err) && isinf(err2)) || fabs(err - err2) <= 1e-6 * (1.0 + err2));
        if (!ok) { J->verify_bad++; add_case(J->vbad, &J->nvbad, J->list, u, cr, cr2, err2); }
    }
    J->tested++;
    if (!J->have_worst || err > J->max_err) { /* ascending inputs: ties keep the lowest x */
        J->max_err = err;
        J->worst.x = u; J->worst.got = fbits(y); J->worst.cr = fbits(cr); J->worst.err = err;
        J->have_worst = 1;
    }
    if (!same_bits(y, cr)) {
        if (y == 0 && cr == 0) { J->zero_sign++; add_case(J->zs, &J->nzs, J->list, u, y, cr, err); }
        else { J->not_cr++; add_case(J->bad, &J->nbad, J->list, u, y, cr, err); }
    }
}

static void *worker(void *arg)
{
    job *J = (job *)arg;
    float *xs = malloc(3 * BLOCK * sizeof *xs), *ys = xs + BLOCK, *vs = ys + BLOCK;
    if (!xs) { perror("malloc"); exit(2); }
    mpfr_init2(J->mx, 24);
    mpfr_init2(J->v, HI_PREC);
    mpfr_init2(J->r24, 24);
    mpfr_init2(J->tmp, 2 * HI_PREC);
    /* cross-check every input whose index is a multiple of verify_every */
    uint64_t next_verify = J->verify_every ? (J->lo + J->verify_every - 1) / J->verify_every * J->verify_every : 0;
    for (uint64_t base = J->lo; base < J->hi; base += BLOCK) {
        int n = (int)(J->hi - base < BLOCK ? J->hi - base : BLOCK);
        for (int k = 0; k < n; k++) xs[k] = ffrom((uint32_t)((base + (uint64_t)k) * J->stride));
        int fn = J->fn < 0 ? F_EXP : J->fn;
        for (int k = 0; k < n; k++) ys[k] = eval_qk(fn, xs[k]);
        if (J->isa >= 0) {
            qk_vexpf(vs, xs, n);
            J->isa_tested += (uint64_t)n;
            for (int k = 0; k < n; k++)
                if (!same_bits(vs[k], ys[k])) {
                    J->isa_mm++;
                    if (J->nibad < J->list) {
                        isabad *b = &J->ibad[J->nibad++];
                        b->x = fbits(xs[k]); b->scal = fbits(ys[k]); b->vec = fbits(vs[k]);
                    }
                }
        }
        if (J->fn >= 0)
            for (int k = 0; k < n; k++) {
                uint64_t idx = base + (uint64_t)k;
                int verify_now = J->verify_every && idx == next_verify;
                if (verify_now) next_verify += J->verify_every;
                check_one(J, verify_now, fbits(xs[k]), xs[k], ys[k]);
            }
    }
    mpfr_clears(J->mx, J->v, J->r24, J->tmp, (mpfr_ptr)0);
    mpfr_free_cache();
    free(xs);
    return 0;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_case(const void *a, const void *b)
{
    uint32_t x = ((const badcase *)a)->x, y = ((const badcase *)b)->x;
    return x < y ? -1 : x > y;
}
static int cmp_isabad(const void *a, const void *b)
{
    uint32_t x = ((const isabad *)a)->x, y = ((const isabad *)b)->x;
    return x < y ? -1 : x > y;
}

/* Merge the per-thread lists (each ascending) into the first `list` by input bits. */
static int merge_cases(badcase *out, job *jobs, int nt, size_t off_list, size_t off_n, int list)
{
    badcase all[LIST_MAX * 64];
    int n = 0;
    for (int t = 0; t < nt; t++) {
        badcase *l = (badcase *)((char *)&jobs[t] + off_list);
        int m = *(int *)((char *)&jobs[t] + off_n);
        for (int i = 0; i < m && n < LIST_MAX * 64; i++) all[n++] = l[i];
    }
    qsort(all, (size_t)n, sizeof *all, cmp_case);
    if (n > list) n = list;
    memcpy(out, all, (size_t)n * sizeof *out);
    return n;
}

static void print_case(const char *tag, const badcase *c)
{
    float x = ffrom(c->x), g = ffrom(c->got), r = ffrom(c->cr);
    printf("    %s x=0x%08x (%a = %.9g)  got 0x%08x (%a = %.9g)  correct 0x%08x (%a = %.9g)  err %.12f ulp\n",
           tag, c->x, (double)x, (double)x, c->got, (double)g, (double)g, c->cr, (double)r, (double)r, c->err);
}

typedef struct { uint64_t tested, not_cr, zero_sign, slow, verified, verify_bad, isa_mm, isa_tested; double max_err, secs; badcase worst; } totals;

static int g_nthreads = 2;

static void run_pass(job *jobs, int fn, int isa, uint64_t stride, uint64_t verify, int list, totals *T,
                     badcase *bad, int *nbad, badcase *zs, int *nzs, badcase *vb, int *nvb, isabad *ib, int *nib)
{
    uint64_t total = ((1ull << 32) + stride - 1) / stride;
    pthread_t th[64];
    double t0 = now();
    for (int t = 0; t < g_nthreads; t++) {
        memset(&jobs[t], 0, sizeof jobs[t]);
        jobs[t].fn = fn; jobs[t].isa = isa; jobs[t].stride = stride; jobs[t].verify_every = verify;
        jobs[t].list = list;
        jobs[t].lo = total * (uint64_t)t / (uint64_t)g_nthreads;
        jobs[t].hi = total * (uint64_t)(t + 1) / (uint64_t)g_nthreads;
        if (pthread_create(&th[t], 0, worker, &jobs[t]) != 0) { perror("pthread_create"); exit(2); }
    }
    for (int t = 0; t < g_nthreads; t++) pthread_join(th[t], 0);
    memset(T, 0, sizeof *T);
    T->secs = now() - t0;
    int have = 0;
    for (int t = 0; t < g_nthreads; t++) { /* threads in ascending input order: ties keep the lowest x */
        job *J = &jobs[t];
        T->tested += J->tested; T->not_cr += J->not_cr; T->zero_sign += J->zero_sign; T->slow += J->slow;
        T->verified += J->verified; T->verify_bad += J->verify_bad; T->isa_mm += J->isa_mm;
        T->isa_tested += J->isa_tested;
        if (J->have_worst && (!have || J->max_err > T->max_err)) { T->max_err = J->max_err; T->worst = J->worst; have = 1; }
    }
    *nbad = merge_cases(bad, jobs, g_nthreads, offsetof(job, bad), offsetof(job, nbad), list);
    *nzs = merge_cases(zs, jobs, g_nthreads, offsetof(job, zs), offsetof(job, nzs), list);
    *nvb = merge_cases(vb, jobs, g_nthreads, offsetof(job, vbad), offsetof(job, nvbad), list);
    int n = 0;
    isabad all[LIST_MAX * 64];
    for (int t = 0; t < g_nthreads; t++)
        for (int i = 0; i < jobs[t].nibad; i++) all[n++] = jobs[t].ibad[i];
    qsort(all, (size_t)n, sizeof *all, cmp_isabad);
    if (n > list) n = list;
    memcpy(ib, all, (size_t)n * sizeof *ib);
    *nib = n;
}

static void usage(void)
{
    fprintf(stderr, "usage: ulp_exhaustive [--func expf|logf|tanhf|all] [--stride N] [--threads T]\n"
                    "                      [--verify N] [--list K]\n");
    exit(2);
}

static uint64_t parse_u64(const char *s, uint64_t lo, uint64_t hi)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end || s[0] == '-' || v < lo || v > hi) usage();
    return (uint64_t)v;
}

int main(int argc, char **argv)
{
    int want[F_COUNT] = {1, 1, 1};
    uint64_t stride = 1, verify = 65536;
    int list = 10;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--func") && i + 1 < argc) {
            const char *f = argv[++i];
            if (!strcmp(f, "all")) want[0] = want[1] = want[2] = 1;
            else {
                want[0] = want[1] = want[2] = 0;
                int ok = 0;
                for (int k = 0; k < F_COUNT; k++) if (!strcmp(f, fn_name[k])) want[k] = ok = 1;
                if (!ok) usage();
            }
        } else if (!strcmp(argv[i], "--stride") && i + 1 < argc) stride = parse_u64(argv[++i], 1, 1ull << 32);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) g_nthreads = (int)parse_u64(argv[++i], 1, 64);
        else if (!strcmp(argv[i], "--verify") && i + 1 < argc) verify = parse_u64(argv[++i], 0, 1ull << 32);
        else if (!strcmp(argv[i], "--list") && i + 1 < argc) list = (int)parse_u64(argv[++i], 0, LIST_MAX);
        else usage();
    }

    printf("command:");
    for (int i = 0; i < argc; i++) printf(" %s", argv[i]);
    printf("\n");
    g_mpfr_tls = mpfr_buildopt_tls_p();
    printf("qkspec %s; MPFR %s (thread-local: %s); reference: libm double + MPFR near boundaries "
           "(margin 2^-16 ulp)\n", QK_VERSION, mpfr_get_version(), g_mpfr_tls ? "yes" : "no, serialised");
    uint64_t total = ((1ull << 32) + stride - 1) / stride;
    if (stride == 1) printf("inputs: all 2^32 binary32 bit patterns per function (exhaustive), %d threads\n", g_nthreads);
    else printf("inputs: bit patterns 0, %llu, %llu, ... (%llu per function), %d threads\n", (unsigned long long)stride,
                2 * (unsigned long long)stride, (unsigned long long)total, g_nthreads);

    int isas[QK_ISA_COUNT], nisa = 0;
    printf("ISA paths:");
    for (int i = 0; i < QK_ISA_COUNT; i++)
        printf(" %s(%s)", qk_isa_name((qk_isa)i),
               qk_isa_available((qk_isa)i) ? "available" : qk_isa_compiled((qk_isa)i) ? "compiled, CPU lacks it" : "not compiled");
    printf("\n");
    for (int i = 1; i < QK_ISA_COUNT; i++) if (qk_isa_available((qk_isa)i)) isas[nisa++] = i;

    static job jobs[64];
    static badcase bad[LIST_MAX], zs[LIST_MAX], vb[LIST_MAX];
    static isabad ib[LIST_MAX];
    int nbad, nzs, nvb, nib;
    char summary[F_COUNT + QK_ISA_COUNT][512];
    int nsum = 0, fail = 0;
    double t_all = now();

    for (int f = 0; f < F_COUNT; f++) {
        if (!want[f]) continue;
        int isa = (f == F_EXP && nisa > 0) ? isas[0] : -1;
        if (isa >= 0 && qk_isa_select((qk_isa)isa) != QK_OK) { fprintf(stderr, "cannot select %s\n", qk_isa_name((qk_isa)isa)); return 2; }
        totals T;
        run_pass(jobs, f, isa, stride, verify, list, &T, bad, &nbad, zs, &nzs, vb, &nvb, ib, &nib);
        printf("\n%s: %llu inputs, %.1f s (%llu resolved by MPFR)\n", fn_name[f], (unsigned long long)T.tested, T.secs,
               (unsigned long long)T.slow);
        printf("  max error %.12f ulp at x=0x%08x (%a): got %a, correct %a\n", T.max_err, T.worst.x,
               (double)ffrom(T.worst.x), (double)ffrom(T.worst.got), (double)ffrom(T.worst.cr));
        printf("  not correctly rounded: %llu\n", (unsigned long long)T.not_cr);
        for (int i = 0; i < nbad; i++) print_case("", &bad[i]);
        if (T.zero_sign) {
            printf("  signed-zero mismatches (error 0, wrong sign of zero): %llu\n", (unsigned long long)T.zero_sign);
            for (int i = 0; i < nzs; i++) print_case("", &zs[i]);
        }
        printf("  fast path cross-checked with MPFR: %llu inputs, %llu disagreements\n",
               (unsigned long long)T.verified, (unsigned long long)T.verify_bad);
        for (int i = 0; i < nvb; i++) print_case("fast!=MPFR", &vb[i]);
        if (T.max_err > 1.0 || T.verify_bad) fail = 1;
        char isa_txt[160] = "";
        if (isa >= 0) {
            printf("  qk_vexpf[%s] vs scalar qk_expf: %llu inputs, %llu mismatches\n", qk_isa_name((qk_isa)isa),
                   (unsigned long long)T.isa_tested, (unsigned long long)T.isa_mm);
            for (int i = 0; i < nib; i++)
                printf("    x=0x%08x (%a): scalar 0x%08x (%a), %s 0x%08x (%a)\n", ib[i].x, (double)ffrom(ib[i].x),
                       ib[i].scal, (double)ffrom(ib[i].scal), qk_isa_name((qk_isa)isa), ib[i].vec, (double)ffrom(ib[i].vec));
            snprintf(isa_txt, sizeof isa_txt, "; qk_vexpf[%s] vs scalar: %llu mismatches", qk_isa_name((qk_isa)isa),
                     (unsigned long long)T.isa_mm);
            if (T.isa_mm) fail = 1;
        }
        char zs_txt[64] = "";
        if (T.zero_sign) snprintf(zs_txt, sizeof zs_txt, ", %llu wrong-signed zeros", (unsigned long long)T.zero_sign);
        char in_txt[64];
        if (stride == 1) snprintf(in_txt, sizeof in_txt, "all 2^32 inputs");
        else snprintf(in_txt, sizeof in_txt, "%llu inputs (stride %llu)", (unsigned long long)T.tested, (unsigned long long)stride);
        snprintf(summary[nsum++], sizeof summary[0],
                 "%s: %s, max error %.12f ulp (x=%a), %llu not correctly rounded%s%s [%.1f s, %d threads]",
                 fn_name[f], in_txt, T.max_err, (double)ffrom(T.worst.x), (unsigned long long)T.not_cr, zs_txt,
                 isa_txt, T.secs, g_nthreads);
    }
    /* further ISA paths (none on a CPU with a single SIMD path): bits-only passes */
    if (want[F_EXP])
        for (int k = 1; k < nisa; k++) {
            qk_isa_select((qk_isa)isas[k]);
            totals T;
            run_pass(jobs, -1, isas[k], stride, 0, list, &T, bad, &nbad, zs, &nzs, vb, &nvb, ib, &nib);
            printf("\nqk_vexpf[%s] vs scalar qk_expf: %llu inputs, %llu mismatches, %.1f s\n", qk_isa_name((qk_isa)isas[k]),
                   (unsigned long long)T.isa_tested, (unsigned long long)T.isa_mm, T.secs);
            for (int i = 0; i < nib; i++)
                printf("    x=0x%08x (%a): scalar 0x%08x, %s 0x%08x\n", ib[i].x, (double)ffrom(ib[i].x), ib[i].scal,
                       qk_isa_name((qk_isa)isas[k]), ib[i].vec);
            snprintf(summary[nsum++], sizeof summary[0], "qk_vexpf %s == scalar qk_expf: %llu inputs, %llu mismatches",
                     qk_isa_name((qk_isa)isas[k]), (unsigned long long)T.isa_tested, (unsigned long long)T.isa_mm);
            if (T.isa_mm) fail = 1;
        }
    if (want[F_EXP] && nisa == 0) printf("\n(no ISA path besides scalar is available: qk_vexpf check skipped)\n");

    printf("\nelapsed %.1f s\nsummary:\n", now() - t_all);
    for (int i = 0; i < nsum; i++) printf("  %s\n", summary[i]);
    printf("result: %s\n", fail ? "FAIL (max error > 1 ulp, ISA mismatch or fast-path disagreement)" : "PASS");
    return fail;
}
