/* bench_common.h — what the benchmarks (tools/bench_*.c) share: the clocks, sample
 * statistics, the machine's measured FMA peaks, its description, and the anchor: the
 * NumPy or PyTorch script (tools/bench_*.py on tools/bench_common.py) run as a
 * coprocess that takes one sample per request, so that qkspec and the anchor are
 * measured interleaved, round after round, in one run.
 *
 * The anchor's command gets OPENBLAS_NUM_THREADS=1 (and OMP/MKL) and runs with
 * OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from its environment (only there: the
 * benchmark's own environment, tests and CI keep them), so that OpenBLAS picks the
 * kernel for this CPU; the script reports the kernel it picked.
 *
 * Header-only, for the tools; not part of the library. */
#ifndef QK_BENCH_COMMON_H
#define QK_BENCH_COMMON_H

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define BC_X86 1
#else
#define BC_X86 0
#endif

/* ------------------------------------------------------------------ clocks */
static inline double bc_wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* this process's CPU time (all threads): with one thread, robust when other jobs share
 * the machine (time spent descheduled does not count) */
static inline double bc_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ------------------------------------------------------------------ statistics */
#define BC_MAX_SAMPLES 4096
typedef struct {
    double v[BC_MAX_SAMPLES];
    int n;
} bc_samples;

static inline void bc_add(bc_samples *s, double x)
{
    if (s->n < BC_MAX_SAMPLES) s->v[s->n++] = x;
}

static int bc_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static inline double bc_median(const bc_samples *s)
{
    static double t[BC_MAX_SAMPLES];
    if (s->n == 0) return 0.0;
    memcpy(t, s->v, sizeof(double) * (size_t)s->n);
    qsort(t, (size_t)s->n, sizeof t[0], bc_cmp_double);
    return s->n % 2 ? t[s->n / 2] : 0.5 * (t[s->n / 2 - 1] + t[s->n / 2]);
}

static inline double bc_min(const bc_samples *s)
{
    double m = s->n ? s->v[0] : 0.0;
    for (int i = 1; i < s->n; i++)
        if (s->v[i] < m) m = s->v[i];
    return m;
}

/* ------------------------------------------------------------------ options */
/* whether name is one of the comma-separated items of list */
static inline int bc_in_list(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        size_t l = strcspn(p, ",");
        if (l == n && !strncmp(p, name, n)) return 1;
        p += l;
        if (*p == ',') p++;
    }
    return 0;
}

/* ------------------------------------------------------------------ FMA peaks */
/* GFLOP/s of independent FMA chains (named accumulators in registers; float: the
 * better of two chain counts), float or double, 256-bit (AVX2+FMA) or 512-bit
 * (AVX-512F) vectors; the functions carry target attributes (the tools are built
 * without ISA flags). */
static volatile double bc_sink;
#if BC_X86
#define BC_DECLS(VT, SET1)                                                                           \
    VT a0 = SET1(1.0), a1 = SET1(1.001), a2 = SET1(1.002), a3 = SET1(1.003), a4 = SET1(1.004),         \
       a5 = SET1(1.005), a6 = SET1(1.006), a7 = SET1(1.007), a8 = SET1(1.008), a9 = SET1(1.009),       \
       a10 = SET1(1.010), a11 = SET1(1.011), a12 = SET1(1.012), a13 = SET1(1.013), a14 = SET1(1.014),  \
       a15 = SET1(1.015);
#define BC_STEP1(i, FMA, N) if (i < N) a##i = FMA(a##i, m, c);
#define BC_STEPS(FMA, N)                                                                             \
    BC_STEP1(0, FMA, N) BC_STEP1(1, FMA, N) BC_STEP1(2, FMA, N) BC_STEP1(3, FMA, N)                  \
    BC_STEP1(4, FMA, N) BC_STEP1(5, FMA, N) BC_STEP1(6, FMA, N) BC_STEP1(7, FMA, N)                  \
    BC_STEP1(8, FMA, N) BC_STEP1(9, FMA, N) BC_STEP1(10, FMA, N) BC_STEP1(11, FMA, N)                \
    BC_STEP1(12, FMA, N) BC_STEP1(13, FMA, N) BC_STEP1(14, FMA, N) BC_STEP1(15, FMA, N)
#define BC_SUMS(ADD)                                                                                 \
    s = ADD(ADD(ADD(a0, a1), ADD(a2, a3)), ADD(ADD(a4, a5), ADD(a6, a7)));                           \
    s = ADD(s, ADD(ADD(ADD(a8, a9), ADD(a10, a11)), ADD(ADD(a12, a13), ADD(a14, a15))));
#define BC_PEAK_FN(NAME, TGT, VT, SET1, FMA, ADD, LANES, NACC)                                        \
    __attribute__((target(TGT), noinline)) static double NAME(long iters)                            \
    {                                                                                                \
        VT m = SET1(0.999999), c = SET1(1e-7), s;                                                    \
        BC_DECLS(VT, SET1)                                                                           \
        for (long it = 0; it < iters; it++) {                                                        \
            BC_STEPS(FMA, NACC)                                                                      \
            __asm__ volatile("" ::: "memory");                                                       \
        }                                                                                            \
        BC_SUMS(ADD)                                                                                 \
        double out[16];                                                                              \
        memcpy(out, &s, sizeof s);                                                                   \
        bc_sink = out[0];                                                                            \
        return 2.0 * LANES * NACC * (double)iters;                                                   \
    }
__attribute__((target("avx2,fma"))) static inline __m256 bc_set8f(double x) { return _mm256_set1_ps((float)x); }
__attribute__((target("avx512f"))) static inline __m512 bc_set16f(double x) { return _mm512_set1_ps((float)x); }
BC_PEAK_FN(p2s8, "avx2,fma", __m256, bc_set8f, _mm256_fmadd_ps, _mm256_add_ps, 8, 8)
BC_PEAK_FN(p2s12, "avx2,fma", __m256, bc_set8f, _mm256_fmadd_ps, _mm256_add_ps, 8, 12)
BC_PEAK_FN(p5s12, "avx512f", __m512, bc_set16f, _mm512_fmadd_ps, _mm512_add_ps, 16, 12)
BC_PEAK_FN(p5s16, "avx512f", __m512, bc_set16f, _mm512_fmadd_ps, _mm512_add_ps, 16, 16)
BC_PEAK_FN(p2d12, "avx2,fma", __m256d, _mm256_set1_pd, _mm256_fmadd_pd, _mm256_add_pd, 4, 12)
BC_PEAK_FN(p5d16, "avx512f", __m512d, _mm512_set1_pd, _mm512_fmadd_pd, _mm512_add_pd, 8, 16)
#endif

enum { BC_PEAK_AVX2 = 0, BC_PEAK_AVX512 = 1 };

static inline int bc_cpu_has(int which)
{
#if BC_X86
    __builtin_cpu_init();
    if (which == BC_PEAK_AVX2) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return __builtin_cpu_supports("avx512f");
#else
    (void)which;
    return 0;
#endif
}

/* best GFLOP/s of one peak kernel over `samples` samples of >= 20 ms (process CPU time) */
static inline double bc_peak_of(double (*fn)(long), int samples)
{
    long iters = 1000;
    for (;;) {
        double t0 = bc_cpu();
        fn(iters);
        double dt = bc_cpu() - t0;
        if (dt >= 0.02 || iters > (1L << 40)) break;
        iters = dt > 1e-4 ? (long)(iters * (0.024 / dt)) + 1 : iters * 8;
    }
    double best = 0;
    for (int s = 0; s < samples; s++) {
        double t0 = bc_cpu(), fl = fn(iters), g = fl / (bc_cpu() - t0) * 1e-9;
        if (g > best) best = g;
    }
    return best;
}

/* The FMA peak of one core: which = BC_PEAK_AVX2 or BC_PEAK_AVX512, dbl = double
 * precision; 0 where the CPU lacks it. Keeps the maximum over calls in *keep. */
static inline double bc_peak(int which, int dbl, int samples, double *keep)
{
    double g = 0;
#if BC_X86
    if (bc_cpu_has(which)) {
        if (which == BC_PEAK_AVX2 && !dbl) {
            double a = bc_peak_of(p2s8, samples), b = bc_peak_of(p2s12, samples);
            g = a > b ? a : b;
        } else if (which == BC_PEAK_AVX512 && !dbl) {
            double a = bc_peak_of(p5s12, samples), b = bc_peak_of(p5s16, samples);
            g = a > b ? a : b;
        } else {
            g = bc_peak_of(which == BC_PEAK_AVX2 ? p2d12 : p5d16, samples);
        }
    }
#else
    (void)which;
    (void)dbl;
    (void)samples;
#endif
    if (keep && g > *keep) *keep = g;
    return keep ? *keep : g;
}

/* ------------------------------------------------------------------ the machine */
static inline void bc_cpu_name(char *out, size_t cap)
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

static inline void bc_loadavg(double la[3])
{
    la[0] = la[1] = la[2] = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (!f) return;
    if (fscanf(f, "%lf %lf %lf", &la[0], &la[1], &la[2]) != 3) la[0] = la[1] = la[2] = -1;
    fclose(f);
}

/* The command line, the CPU and the OpenBLAS variables of this environment (which the
 * anchor's command does not get). */
static inline void bc_print_header(int argc, char **argv)
{
    char cpu[256];
    bc_cpu_name(cpu, sizeof cpu);
    printf("$");
    for (int i = 0; i < argc; i++) printf(" %s", argv[i]);
    double la[3];
    bc_loadavg(la);
    printf("\n\nCPU: %s, %ld CPUs online, load average %.2f %.2f %.2f at the start; compiler: %s\n", cpu,
           sysconf(_SC_NPROCESSORS_ONLN), la[0], la[1], la[2],
#if defined(__clang__)
           "clang " __clang_version__
#elif defined(__GNUC__)
           "gcc " __VERSION__
#else
           "unknown"
#endif
    );
    const char *ct = getenv("OPENBLAS_CORETYPE"), *l2 = getenv("OPENBLAS_L2_SIZE");
    printf("environment: OPENBLAS_CORETYPE=%s OPENBLAS_L2_SIZE=%s (unset in the anchor's command: OpenBLAS picks "
           "its own kernel)\n", ct ? ct : "(unset)", l2 ? l2 : "(unset)");
}

/* ------------------------------------------------------------------ the anchor */
/* A script on tools/bench_common.py's protocol: it prints "info KEY VALUE" lines and
 * "ready", then answers each request line:
 *   calibrate CASE MIN_S   -> "reps CASE N"            (N calls last >= MIN_S)
 *   sample CASE N          -> "sample CASE CPU WALL"   (seconds for N calls)
 *   quit
 * and "error MESSAGE" on failure. */
typedef struct {
    pid_t pid;
    FILE *to, *from;
    int ok;
    char version[128], blas[512], core[64], threads[64], err[512];
} bc_anchor;

/* tools/NAME next to build/ (argv0 = .../build/TOOL), else ./tools/NAME */
static inline void bc_script_path(const char *argv0, const char *name, char *out, size_t cap)
{
    const char *slash = strrchr(argv0, '/');
    if (slash) {
        snprintf(out, cap, "%.*s/../tools/%s", (int)(slash - argv0), argv0, name);
        if (access(out, R_OK) == 0) return;
    }
    snprintf(out, cap, "tools/%s", name);
}

static inline int bc_anchor_line(bc_anchor *a, char *line, size_t cap)
{
    for (;;) {
        if (!a->from || !fgets(line, (int)cap, a->from)) {
            if (!a->err[0]) snprintf(a->err, sizeof a->err, "the anchor process ended");
            a->ok = 0;
            return 0;
        }
        line[strcspn(line, "\n")] = 0;
        if (!strncmp(line, "info ", 5)) {
            const char *v = strchr(line + 5, ' ');
            v = v ? v + 1 : "";
            if (!strncmp(line + 5, "version ", 8)) snprintf(a->version, sizeof a->version, "%s", v);
            else if (!strncmp(line + 5, "blas ", 5)) snprintf(a->blas, sizeof a->blas, "%s", v);
            else if (!strncmp(line + 5, "core ", 5)) snprintf(a->core, sizeof a->core, "%s", v);
            else if (!strncmp(line + 5, "threads ", 8)) snprintf(a->threads, sizeof a->threads, "%s", v);
            continue;
        }
        if (!strncmp(line, "error ", 6)) {
            snprintf(a->err, sizeof a->err, "%s", line + 6);
            continue;
        }
        return 1;
    }
}

/* Starts /usr/bin/python3 SCRIPT ARGS... (args: NULL-terminated); 0 on success. */
static inline int bc_anchor_start(bc_anchor *a, const char *script, const char *const *args)
{
    memset(a, 0, sizeof *a);
    a->pid = -1;
    const char *py = "/usr/bin/python3";
    if (access(py, X_OK) != 0) { snprintf(a->err, sizeof a->err, "%s not found", py); return -1; }
    if (access(script, R_OK) != 0) { snprintf(a->err, sizeof a->err, "%.400s not found", script); return -1; }
    int in[2], out[2];
    if (pipe(in) || pipe(out)) { snprintf(a->err, sizeof a->err, "pipe: %s", strerror(errno)); return -1; }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) { snprintf(a->err, sizeof a->err, "fork: %s", strerror(errno)); return -1; }
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]); close(in[1]); close(out[0]); close(out[1]);
        unsetenv("OPENBLAS_CORETYPE");
        unsetenv("OPENBLAS_L2_SIZE");
        setenv("OPENBLAS_NUM_THREADS", "1", 1);
        setenv("OMP_NUM_THREADS", "1", 1);
        setenv("MKL_NUM_THREADS", "1", 1);
        const char *argv[32];
        int k = 0;
        argv[k++] = py;
        argv[k++] = script;
        for (int i = 0; args && args[i] && k < 31; i++) argv[k++] = args[i];
        argv[k] = NULL;
        execv(py, (char *const *)argv);
        printf("error exec %s: %s\n", py, strerror(errno));
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    a->pid = pid;
    a->to = fdopen(in[1], "w");
    a->from = fdopen(out[0], "r");
    a->ok = 1;
    char line[1024];
    while (bc_anchor_line(a, line, sizeof line))
        if (!strcmp(line, "ready")) return 0;
    a->ok = 0;
    return -1;
}

static inline void bc_anchor_send(bc_anchor *a, const char *fmt, ...)
{
    if (!a->ok) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(a->to, fmt, ap);
    va_end(ap);
    fputc('\n', a->to);
    fflush(a->to);
}

/* calls of CASE for one sample to last >= min_s; 0 on failure */
static inline long bc_anchor_calibrate(bc_anchor *a, const char *name, double min_s)
{
    char line[1024], key[128];
    long n;
    bc_anchor_send(a, "calibrate %s %g", name, min_s);
    if (!a->ok || !bc_anchor_line(a, line, sizeof line)) return 0;
    if (sscanf(line, "reps %127s %ld", key, &n) != 2 || strcmp(key, name)) { a->ok = 0; return 0; }
    return n;
}

/* one sample of reps calls: seconds per call in CPU time (*wall: wall-clock), -1 on failure */
static inline double bc_anchor_sample(bc_anchor *a, const char *name, long reps, double *wall)
{
    char line[1024], key[128];
    double c, w;
    bc_anchor_send(a, "sample %s %ld", name, reps);
    if (!a->ok || !bc_anchor_line(a, line, sizeof line)) return -1;
    if (sscanf(line, "sample %127s %lf %lf", key, &c, &w) != 3 || strcmp(key, name)) { a->ok = 0; return -1; }
    if (wall) *wall = w / (double)reps;
    return c / (double)reps;
}

static inline void bc_anchor_stop(bc_anchor *a)
{
    if (a->to) {
        if (a->ok) bc_anchor_send(a, "quit");
        fclose(a->to);
    }
    if (a->from) fclose(a->from);
    if (a->pid > 0) waitpid(a->pid, NULL, 0);
    a->to = a->from = NULL;
    a->pid = -1;
}

/* "numpy 1.24.2, OpenBLAS 0.3.21 ..., core Cooperlake, 1 thread" */
static inline void bc_anchor_describe(const bc_anchor *a, const char *what)
{
    if (a->version[0] || a->blas[0])
        printf("anchor: %s %s; BLAS: %s; OpenBLAS kernel: %s; %s thread(s)%s%s\n", what, a->version,
               a->blas[0] ? a->blas : "?", a->core[0] ? a->core : "?", a->threads[0] ? a->threads : "?",
               a->err[0] ? "; error: " : "", a->err);
    else
        printf("anchor: %s not run (%s)\n", what, a->err[0] ? a->err : "disabled");
}

#endif
