/* bench_eigen.c — time per decomposition of qk_eigh (with and without vectors) at
 * n = 32, 64, 128, 256 against NumPy's eigh and eigvalsh (LAPACK dsyevd through
 * OpenBLAS, one thread) in the same run, and the solver's achieved GFLOP/s against
 * this machine's measured double-precision FMA peak.
 *
 *   build/bench_eigen [--samples N] [--min-ms MS] [--sizes 32,64,..] [--isa NAME]
 *                     [--wall] [--no-numpy] [--numpy-script PATH]
 *
 * A benchmark, not a test. Every figure is the best of N samples (default 9); a
 * sample repeats the call until it lasts --min-ms (default 30 ms); the samples are
 * taken in rounds over all cases. The clock is the process CPU time by default (this
 * machine is shared; CPU time is what one core spends, and NumPy is timed the same
 * way), or the wall clock with --wall.
 *
 * GFLOP/s counts the floating-point operations of the rotations that the solver
 * reports (qk_eig_info.flops: a multiply 1, an fma 2); Jacobi does far more of them
 * than LAPACK, so it is the fraction of peak, not the count, that says how close to
 * the machine the code runs. Peaks are measured here: _mm256_fmadd_pd (the AVX2 path's
 * instruction) on 12 independent accumulators, and for reference _mm512_fmadd_pd where
 * the CPU has AVX-512 (no qkspec path uses it). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "qk_eigen.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_X86 1
#else
#define HAVE_X86 0
#endif

static int g_wall = 0, g_samples = 9;
static double g_min_s = 0.030;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(g_wall ? CLOCK_MONOTONIC : CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ------------------------------------------------------------------ peaks */
#if HAVE_X86
#define ACC12(T, SET) T a0 = SET(0.0), a1 = SET(1.0), a2 = SET(2.0), a3 = SET(3.0), a4 = SET(4.0), a5 = SET(5.0), \
    a6 = SET(6.0), a7 = SET(7.0), a8 = SET(8.0), a9 = SET(9.0), a10 = SET(10.0), a11 = SET(11.0)
#define STEP12(F) a0 = F(a0, m, c); a1 = F(a1, m, c); a2 = F(a2, m, c); a3 = F(a3, m, c); a4 = F(a4, m, c); \
    a5 = F(a5, m, c); a6 = F(a6, m, c); a7 = F(a7, m, c); a8 = F(a8, m, c); a9 = F(a9, m, c); \
    a10 = F(a10, m, c); a11 = F(a11, m, c)
__attribute__((target("avx2,fma"), noinline)) static double peak_avx2(long iters)
{
    __m256d m = _mm256_set1_pd(0.999999), c = _mm256_set1_pd(1e-9);
    ACC12(__m256d, _mm256_set1_pd);
    for (long k = 0; k < iters; k++) { STEP12(_mm256_fmadd_pd); }
    __m256d s = _mm256_add_pd(_mm256_add_pd(_mm256_add_pd(a0, a1), _mm256_add_pd(a2, a3)),
                              _mm256_add_pd(_mm256_add_pd(a4, a5), _mm256_add_pd(a6, a7)));
    s = _mm256_add_pd(s, _mm256_add_pd(_mm256_add_pd(a8, a9), _mm256_add_pd(a10, a11)));
    double t[4];
    _mm256_storeu_pd(t, s);
    return t[0];
}
__attribute__((target("avx512f"), noinline)) static double peak_avx512(long iters)
{
    __m512d m = _mm512_set1_pd(0.999999), c = _mm512_set1_pd(1e-9);
    ACC12(__m512d, _mm512_set1_pd);
    for (long k = 0; k < iters; k++) { STEP12(_mm512_fmadd_pd); }
    __m512d s = _mm512_add_pd(_mm512_add_pd(_mm512_add_pd(a0, a1), _mm512_add_pd(a2, a3)),
                              _mm512_add_pd(_mm512_add_pd(a4, a5), _mm512_add_pd(a6, a7)));
    s = _mm512_add_pd(s, _mm512_add_pd(_mm512_add_pd(a8, a9), _mm512_add_pd(a10, a11)));
    double t[8];
    _mm512_storeu_pd(t, s);
    return t[0];
}
#endif

static volatile double g_sink;

/* GFLOP/s of fn (flops_per_iter per iteration), best of the samples. */
static double measure_peak(double (*fn)(long), double flops_per_iter)
{
    long iters = 1000;
    for (;;) {
        double t0 = now_s();
        g_sink = fn(iters);
        if (now_s() - t0 > 0.02) break;
        iters *= 4;
    }
    double best = 0;
    for (int s = 0; s < g_samples; s++) {
        double t0 = now_s();
        g_sink = fn(iters);
        double g = flops_per_iter * iters / (now_s() - t0) * 1e-9;
        if (g > best) best = g;
    }
    return best;
}

/* ------------------------------------------------------------------ cases */
#define MAXSIZES 8
typedef struct {
    int n, vectors;
    double *a, *w, *v, *work;
    size_t len;
    long reps;
    double best, flops;
    int sweeps;
    qk_status st;
} bcase;

static void run_once(bcase *c, qk_eig_info *info)
{
    c->st = qk_eigh(c->n, c->a, c->n, c->w, c->vectors ? c->v : NULL, c->n, c->work, c->len, NULL, info);
}

static void sample(bcase *c)
{
    qk_eig_info info;
    double t0 = now_s();
    for (long r = 0; r < c->reps; r++) run_once(c, &info);
    double t = (now_s() - t0) / c->reps;
    if (t < c->best) c->best = t;
    c->flops = info.flops;
    c->sweeps = info.sweeps;
}

/* ------------------------------------------------------------------ NumPy */
static char g_np_version[64], g_np_blas[1024];
static double g_np[MAXSIZES][2]; /* [size][eigh, eigvalsh] */

static int run_numpy(const char *script, const int *sizes, int ns)
{
    const char *py = "/usr/bin/python3";
    if (access(py, X_OK) != 0 || access(script, R_OK) != 0) {
        snprintf(g_np_blas, sizeof g_np_blas, "%s or %.900s not found", py, script);
        return 0;
    }
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    setenv("OMP_NUM_THREADS", "1", 1);
    setenv("MKL_NUM_THREADS", "1", 1);
    char list[256] = "", cmd[1600];
    for (int i = 0; i < ns; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%d", i ? "," : "", sizes[i]);
    snprintf(cmd, sizeof cmd, "%s '%.1100s' --sizes %s --samples %d --min-ms %g%s 2>&1", py, script, list, g_samples,
             g_min_s * 1e3, g_wall ? " --wall" : "");
    FILE *f = popen(cmd, "r");
    if (!f) {
        snprintf(g_np_blas, sizeof g_np_blas, "popen failed: %s", strerror(errno));
        return 0;
    }
    char line[1200];
    int got = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (!strncmp(line, "numpy ", 6)) snprintf(g_np_version, sizeof g_np_version, "%.60s", line + 6);
        else if (!strncmp(line, "blas ", 5)) snprintf(g_np_blas, sizeof g_np_blas, "%.1000s", line + 5);
        else if (!strncmp(line, "error ", 6)) snprintf(g_np_blas, sizeof g_np_blas, "%.1000s", line + 6);
        else if (!strncmp(line, "time ", 5)) {
            char op[32];
            int n;
            double t;
            if (sscanf(line + 5, "%31s %d %lf", op, &n, &t) == 3)
                for (int i = 0; i < ns; i++)
                    if (sizes[i] == n) { g_np[i][strcmp(op, "eigh") ? 1 : 0] = t; got++; }
        }
    }
    return pclose(f) == 0 && got == 2 * ns;
}

static void cpu_model(char *out, size_t cap)
{
    snprintf(out, cap, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10)) {
            char *p = strchr(line, ':');
            if (p) {
                p += 1 + strspn(p + 1, " ");
                p[strcspn(p, "\n")] = 0;
                snprintf(out, cap, "%s", p);
            }
            break;
        }
    fclose(f);
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_eigen [--samples N] [--min-ms MS] [--sizes 32,64,..] [--isa NAME] [--wall] "
                    "[--no-numpy] [--numpy-script PATH]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int sizes[MAXSIZES] = {32, 64, 128, 256}, ns = 4, numpy = 1;
    const char *script = "tools/bench_eigen.py";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--samples") && i + 1 < argc) g_samples = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--min-ms") && i + 1 < argc) g_min_s = atof(argv[++i]) * 1e-3;
        else if (!strcmp(argv[i], "--wall")) g_wall = 1;
        else if (!strcmp(argv[i], "--no-numpy")) numpy = 0;
        else if (!strcmp(argv[i], "--numpy-script") && i + 1 < argc) script = argv[++i];
        else if (!strcmp(argv[i], "--isa") && i + 1 < argc) {
            if (qk_isa_select_name(argv[++i]) != QK_OK) { fprintf(stderr, "bench_eigen: ISA path '%s' unavailable\n", argv[i]); return 2; }
        } else if (!strcmp(argv[i], "--sizes") && i + 1 < argc) {
            ns = 0;
            for (char *p = argv[++i]; *p && ns < MAXSIZES;) {
                sizes[ns] = (int)strtol(p, &p, 10);
                if (sizes[ns] < 1 || sizes[ns] > QK_EIG_MAX_N) usage();
                ns++;
                if (*p == ',') p++;
                else if (*p) usage();
            }
        } else usage();
    }
    if (g_samples < 1 || g_min_s <= 0) usage();

    char cpu[256];
    cpu_model(cpu, sizeof cpu);
    printf("bench_eigen: %s, ISA path %s, clock %s, best of %d samples (>= %.0f ms each)\n", cpu,
           qk_isa_name(qk_isa_current()), g_wall ? "wall" : "process CPU time", g_samples, g_min_s * 1e3);

    /* the cases: a symmetric matrix with entries uniform in [-1, 1), with and without vectors */
    bcase cs[2 * MAXSIZES];
    qk_rng rng;
    qk_rng_seed(&rng, 20240303);
    for (int i = 0; i < ns; i++) {
        int n = sizes[i];
        double *a = malloc(sizeof(double) * n * n);
        for (int r = 0; r < n; r++)
            for (int c = 0; c <= r; c++) a[r * n + c] = a[c * n + r] = 2.0 * qk_rng_uniform(&rng) - 1.0;
        for (int vec = 1; vec >= 0; vec--) {
            bcase *c = &cs[2 * i + (1 - vec)];
            memset(c, 0, sizeof *c);
            c->n = n;
            c->vectors = vec;
            c->a = a;
            c->w = malloc(sizeof(double) * n);
            c->v = malloc(sizeof(double) * n * n);
            c->len = qk_eigh_work_len(n, vec);
            c->work = malloc(sizeof(double) * c->len);
            c->best = 1e30;
            qk_eig_info info;
            c->reps = 1;
            for (;;) {
                double t0 = now_s();
                for (long r = 0; r < c->reps; r++) run_once(c, &info);
                double dt = now_s() - t0;
                if (dt >= g_min_s) break;
                c->reps = dt > 1e-4 ? (long)(c->reps * g_min_s * 1.3 / dt) + 1 : c->reps * 8;
            }
            if (c->st != QK_OK) { fprintf(stderr, "bench_eigen: n=%d: %s\n", n, qk_status_str(c->st)); return 1; }
        }
    }
    double p2 = 0, p5 = 0;
    for (int round = 0; round < g_samples; round++)
        for (int i = 0; i < 2 * ns; i++) sample(&cs[i]);
#if HAVE_X86
    p2 = measure_peak(peak_avx2, 12 * 4 * 2);
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) p5 = measure_peak(peak_avx512, 12 * 8 * 2);
    printf("peak (measured): AVX2 FMA %.1f GFLOP/s double", p2);
    if (p5 > 0) printf("; AVX-512 FMA %.1f GFLOP/s (not used by qkspec)", p5);
    printf("\n");
#endif
    int np_ok = numpy && run_numpy(script, sizes, ns);
    if (numpy)
        printf("numpy %s, %s%s\n", g_np_version[0] ? g_np_version : "?", g_np_blas, np_ok ? "" : " (NumPy run failed)");

    printf("\n%5s | %12s %12s %7s | %12s %12s %7s | %6s %9s %8s\n", "n", "qk eigh+vec", "numpy eigh", "ratio",
           "qk values", "eigvalsh", "ratio", "sweeps", "GFLOP/s", "of peak");
    for (int i = 0; i < ns; i++) {
        bcase *v = &cs[2 * i], *w = &cs[2 * i + 1];
        printf("%5d | %9.3f ms %9.3f ms %6.2fx | %9.3f ms %9.3f ms %6.2fx | %6d %9.1f %7.0f%%\n", v->n, v->best * 1e3,
               np_ok ? g_np[i][0] * 1e3 : 0.0, np_ok ? v->best / g_np[i][0] : 0.0, w->best * 1e3,
               np_ok ? g_np[i][1] * 1e3 : 0.0, np_ok ? w->best / g_np[i][1] : 0.0, v->sweeps,
               v->flops / v->best * 1e-9, p2 > 0 ? 100.0 * v->flops / v->best * 1e-9 / p2 : 0.0);
    }
    printf("(ratio = qkspec time / NumPy time; GFLOP/s and %% of the AVX2 peak for eigh with vectors)\n");
    return 0;
}
