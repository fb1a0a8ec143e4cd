/* bench_gemm.c — single-thread GFLOP/s of qk_matmul per ISA path, against this
 * machine's measured FP32 FMA peak and (when available) NumPy + its BLAS.
 *
 *   build/bench_gemm [--samples N] [--min-ms MS] [--no-numpy] [--numpy-script PATH]
 *
 * A benchmark, not a test: numbers depend on the machine and its load. Every
 * figure is the best of N samples (default 9); a sample repeats the call until it
 * lasts at least --min-ms milliseconds (default 20). Samples are taken in N rounds
 * over all measurements (peaks included), so each figure's samples spread over the
 * whole run. GFLOP/s = 2·M·N·K / time.
 *
 * Peaks are measured here, not taken from a data sheet:
 *   avx2   _mm256_fmadd_ps on 8..14 independent accumulators (best count wins),
 *          compiled with __attribute__((target("avx2,fma"))) since this file is
 *          built without -mavx2;
 *   fmaf   fmaf() on 8 independent chains exactly as this file (and kern_scalar.c,
 *          built without -mfma) compiles it: a call into libm;
 *   fma-ss the scalar vfmadd instruction on 8 independent chains (hardware bound
 *          of scalar code that could inline the FMA).
 * The scalar path is reported against the fmaf() peak, AVX2 against the avx2 peak.
 *
 * Along the way each ISA path's product is compared bit for bit with the scalar
 * path (SPEC §2.3); a mismatch is reported and makes the exit status 1. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "qk.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_X86_PEAK 1
#else
#define HAVE_X86_PEAK 0
#endif

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int g_samples = 9;
static double g_min_s = 0.020;
static volatile float g_sink;

/* ------------------------------------------------------------------ peaks */
/* Each peak kernel runs `iters` iterations of `nacc` independent FMAs and returns
 * FLOPs done. The accumulators are live until the end and summed into g_sink. */

#define ACC_LIST(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13)

#if HAVE_X86_PEAK
#define AVX_DECL(i) __m256 v##i = _mm256_set1_ps(1.0f + (float)(i) * 1e-3f);
#define AVX_STEP(i) if (i < nacc) v##i = _mm256_fmadd_ps(v##i, m, a);
#define AVX_SUM(i) if (i < nacc) s = _mm256_add_ps(s, v##i);
#define DEF_AVX_PEAK(NACC)                                                               \
    __attribute__((target("avx2,fma"), noinline)) static double avx_peak_##NACC(long iters) \
    {                                                                                    \
        enum { nacc = NACC };                                                            \
        ACC_LIST(AVX_DECL)                                                               \
        __m256 m = _mm256_set1_ps(0.999999f), a = _mm256_set1_ps(1e-7f);                 \
        for (long it = 0; it < iters; it++) {                                            \
            ACC_LIST(AVX_STEP)                                                           \
            __asm__ volatile("" ::: "memory");                                           \
        }                                                                                \
        __m256 s = _mm256_setzero_ps();                                                  \
        ACC_LIST(AVX_SUM)                                                                \
        float out[8];                                                                    \
        _mm256_storeu_ps(out, s);                                                        \
        g_sink = out[0] + out[7];                                                        \
        return 16.0 * NACC * (double)iters;                                              \
    }
DEF_AVX_PEAK(8)
DEF_AVX_PEAK(10)
DEF_AVX_PEAK(12)
DEF_AVX_PEAK(14)

#define SS_DECL(i) __m128 w##i = _mm_set_ss(1.0f + (float)(i) * 1e-3f);
#define SS_STEP(i) if (i < 8) w##i = _mm_fmadd_ss(w##i, m, a);
#define SS_SUM(i) if (i < 8) s = _mm_add_ss(s, w##i);
__attribute__((target("avx2,fma"), noinline)) static double ss_peak(long iters)
{
    ACC_LIST(SS_DECL)
    __m128 m = _mm_set_ss(0.999999f), a = _mm_set_ss(1e-7f);
    for (long it = 0; it < iters; it++) {
        ACC_LIST(SS_STEP)
        __asm__ volatile("" ::: "memory");
    }
    __m128 s = _mm_setzero_ps();
    ACC_LIST(SS_SUM)
    g_sink = _mm_cvtss_f32(s);
    return 2.0 * 8 * (double)iters;
}
#endif

/* fmaf() as a file built without -mfma sees it (a libm call), 8 chains */
__attribute__((noinline)) static double fmaf_peak(long iters)
{
    float v[8];
    for (int i = 0; i < 8; i++) v[i] = 1.0f + (float)i * 1e-3f;
    const float m = 0.999999f, a = 1e-7f;
    for (long it = 0; it < iters; it++) {
        v[0] = fmaf(v[0], m, a); v[1] = fmaf(v[1], m, a);
        v[2] = fmaf(v[2], m, a); v[3] = fmaf(v[3], m, a);
        v[4] = fmaf(v[4], m, a); v[5] = fmaf(v[5], m, a);
        v[6] = fmaf(v[6], m, a); v[7] = fmaf(v[7], m, a);
    }
    float s = 0;
    for (int i = 0; i < 8; i++) s += v[i];
    g_sink = s;
    return 2.0 * 8 * (double)iters;
}

/* iterations for one sample of fn to last >= g_min_s */
static long calibrate_peak(double (*fn)(long))
{
    long iters = 1000;
    for (;;) {
        double t0 = now_s();
        fn(iters);
        double dt = now_s() - t0;
        if (dt >= g_min_s || iters > (1L << 40)) return iters;
        iters = dt > 1e-4 ? (long)(iters * (g_min_s * 1.2 / dt)) + 1 : iters * 8;
    }
}

/* one sample: GFLOP/s of fn(iters), kept in *best when higher */
static void peak_sample(double (*fn)(long), long iters, double *best)
{
    double t0 = now_s();
    double flops = fn(iters);
    double g = flops / (now_s() - t0) * 1e-9;
    if (g > *best) *best = g;
}

#define NPEAK 6
static const char *const peak_names[NPEAK] = {"8", "10", "12", "14", "fma-ss", "fmaf"};
static double (*const peak_fns[NPEAK])(long) = {
#if HAVE_X86_PEAK
    avx_peak_8, avx_peak_10, avx_peak_12, avx_peak_14, ss_peak,
#else
    0, 0, 0, 0, 0,
#endif
    fmaf_peak};
static long peak_iters[NPEAK];
static double peak_best[NPEAK];

static int have_avx2_fma(void)
{
#if HAVE_X86_PEAK
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

/* ------------------------------------------------------------------ qk_matmul */
static float *alloc_f(size_t n)
{
    void *p = 0;
    if (posix_memalign(&p, 64, n * sizeof(float) + 64) != 0) {
        fprintf(stderr, "bench_gemm: out of memory\n");
        exit(2);
    }
    return p;
}

static void fill(float *x, size_t n, qk_rng *r)
{
    for (size_t i = 0; i < n; i++) x[i] = 2.0f * qk_rng_uniformf(r) - 1.0f;
}

/* repetitions of C = op(A)·op(B) (all n x n) for one sample to last >= g_min_s */
static long calibrate_matmul(int n, int flags, float *a, float *b, float *c)
{
    qk_mat A = qk_mat_view(a, n, n, n), B = qk_mat_view(b, n, n, n), C = qk_mat_view(c, n, n, n);
    if (qk_matmul(&C, &A, &B, flags) != QK_OK) return -1; /* warm-up */
    long reps = 1;
    for (;;) {
        double t0 = now_s();
        for (long r = 0; r < reps; r++) qk_matmul(&C, &A, &B, flags);
        double dt = now_s() - t0;
        if (dt >= g_min_s) return reps;
        reps = dt > 1e-4 ? (long)(reps * (g_min_s * 1.2 / dt)) + 1 : reps * 8;
    }
}

/* one sample: GFLOP/s of reps products, kept in *best when higher */
static void matmul_sample(int n, int flags, long reps, float *a, float *b, float *c, double *best)
{
    qk_mat A = qk_mat_view(a, n, n, n), B = qk_mat_view(b, n, n, n), C = qk_mat_view(c, n, n, n);
    double t0 = now_s();
    for (long r = 0; r < reps; r++) qk_matmul(&C, &A, &B, flags);
    double g = 2.0 * n * n * (double)n * (double)reps / (now_s() - t0) * 1e-9;
    if (g > *best) *best = g;
}

/* ------------------------------------------------------------------ cases */
typedef struct {
    const char *op;
    int n, flags;
    const char *np_key; /* key in the NumPy script's output */
} bench_case;

static const bench_case cases[] = {
    {"A·B", 64, 0, "nn64"},
    {"A·B", 128, 0, "nn128"},
    {"A·B", 512, 0, "nn512"},
    {"A·Bᵀ", 512, QK_TRANS_B, "nt512"},
    {"Aᵀ·B", 512, QK_TRANS_A, "tn512"},
};
#define NCASES (int)(sizeof cases / sizeof cases[0])

/* ------------------------------------------------------------------ NumPy */
static char g_np_blas[1024] = "";
static char g_np_version[64] = "";
static double g_np[NCASES];
static int g_np_ok = 0;

static void run_numpy(const char *script)
{
    const char *py = "/usr/bin/python3";
    if (access(py, X_OK) != 0) {
        snprintf(g_np_blas, sizeof g_np_blas, "%s not found", py);
        return;
    }
    if (access(script, R_OK) != 0) {
        snprintf(g_np_blas, sizeof g_np_blas, "%.900s not found", script);
        return;
    }
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    setenv("OMP_NUM_THREADS", "1", 1);
    setenv("MKL_NUM_THREADS", "1", 1);
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "%s '%.1100s' --samples %d --min-ms %g 2>&1", py, script, g_samples,
             g_min_s * 1e3);
    FILE *f = popen(cmd, "r");
    if (!f) {
        snprintf(g_np_blas, sizeof g_np_blas, "popen failed: %s", strerror(errno));
        return;
    }
    char line[1024];
    int got = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (!strncmp(line, "blas ", 5)) {
            snprintf(g_np_blas, sizeof g_np_blas, "%.1000s", line + 5);
        } else if (!strncmp(line, "numpy ", 6)) {
            snprintf(g_np_version, sizeof g_np_version, "%.60s", line + 6);
        } else if (!strncmp(line, "gflops ", 7)) {
            char key[32];
            double g;
            if (sscanf(line + 7, "%31s %lf", key, &g) == 2)
                for (int i = 0; i < NCASES; i++)
                    if (!strcmp(key, cases[i].np_key)) { g_np[i] = g; got++; }
        } else if (!strncmp(line, "error ", 6)) {
            snprintf(g_np_blas, sizeof g_np_blas, "%.1000s", line + 6);
        }
    }
    int st = pclose(f);
    g_np_ok = got == NCASES && st == 0;
    if (!g_np_ok && !g_np_blas[0]) snprintf(g_np_blas, sizeof g_np_blas, "NumPy run failed");
}

/* ------------------------------------------------------------------ main */
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
                p++;
                while (*p == ' ') p++;
                p[strcspn(p, "\n")] = 0;
                snprintf(out, cap, "%s", p);
            }
            break;
        }
    fclose(f);
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_gemm [--samples N] [--min-ms MS] [--no-numpy] "
                    "[--numpy-script PATH]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int use_numpy = 1;
    const char *script = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--samples") && i + 1 < argc) {
            g_samples = atoi(argv[++i]);
            if (g_samples < 1) usage();
        } else if (!strcmp(argv[i], "--min-ms") && i + 1 < argc) {
            g_min_s = atof(argv[++i]) * 1e-3;
            if (!(g_min_s > 0)) usage();
        } else if (!strcmp(argv[i], "--no-numpy")) {
            use_numpy = 0;
        } else if (!strcmp(argv[i], "--numpy-script") && i + 1 < argc) {
            script = argv[++i];
        } else {
            usage();
        }
    }
    /* default script: tools/ next to build/ (argv[0] = .../build/bench_gemm), else cwd */
    static char script_buf[1024];
    if (!script) {
        const char *slash = strrchr(argv[0], '/');
        if (slash) {
            int len = (int)(slash - argv[0]);
            snprintf(script_buf, sizeof script_buf, "%.*s/../tools/bench_gemm_numpy.py", len, argv[0]);
            if (access(script_buf, R_OK) != 0) snprintf(script_buf, sizeof script_buf, "tools/bench_gemm_numpy.py");
        } else {
            snprintf(script_buf, sizeof script_buf, "tools/bench_gemm_numpy.py");
        }
        script = script_buf;
    }

    char cmdline[1024] = "";
    for (int i = 0; i < argc; i++) {
        size_t l = strlen(cmdline);
        snprintf(cmdline + l, sizeof cmdline - l, "%s%s", i ? " " : "", argv[i]);
    }
    char cpu[256];
    cpu_model(cpu, sizeof cpu);

    int maxn = 512;
    float *a = alloc_f((size_t)maxn * maxn), *b = alloc_f((size_t)maxn * maxn);
    float *c = alloc_f((size_t)maxn * maxn), *ref = alloc_f((size_t)maxn * maxn);
    qk_rng rng;
    qk_rng_seed(&rng, 20240611u);
    fill(a, (size_t)maxn * maxn, &rng);
    fill(b, (size_t)maxn * maxn, &rng);

    qk_isa isas[QK_ISA_COUNT];
    int nisa = 0;
    for (int i = 0; i < QK_ISA_COUNT; i++)
        if (qk_isa_available((qk_isa)i)) isas[nisa++] = (qk_isa)i;
    static double g[QK_ISA_COUNT][NCASES];
    static long reps[QK_ISA_COUNT][NCASES];
    int identical[QK_ISA_COUNT];
    int mismatch = 0;

    /* bit comparison with the scalar path, and calibration of every measurement */
    int peak_on[NPEAK];
    for (int p = 0; p < NPEAK; p++) {
        peak_on[p] = p == NPEAK - 1 || have_avx2_fma();
        if (peak_on[p]) peak_iters[p] = calibrate_peak(peak_fns[p]);
    }
    for (int s = 0; s < nisa; s++) {
        identical[s] = 1;
        for (int k = 0; k < NCASES; k++) {
            int n = cases[k].n;
            qk_mat A = qk_mat_view(a, n, n, n), B = qk_mat_view(b, n, n, n);
            qk_mat C = qk_mat_view(c, n, n, n), R = qk_mat_view(ref, n, n, n);
            qk_isa_select(QK_ISA_SCALAR);
            qk_matmul(&R, &A, &B, cases[k].flags);
            if (qk_isa_select(isas[s]) != QK_OK) return 2;
            qk_matmul(&C, &A, &B, cases[k].flags);
            if (memcmp(c, ref, sizeof(float) * (size_t)n * n) != 0) {
                identical[s] = 0;
                mismatch = 1;
            }
            reps[s][k] = calibrate_matmul(n, cases[k].flags, a, b, c);
        }
    }
    /* samples in rounds, so that each measurement's samples spread over the whole run
     * and the best one is likely to fall in a quiet moment of a shared machine */
    for (int round = 0; round < g_samples; round++) {
        for (int p = 0; p < NPEAK; p++)
            if (peak_on[p]) peak_sample(peak_fns[p], peak_iters[p], &peak_best[p]);
        for (int s = 0; s < nisa; s++) {
            qk_isa_select(isas[s]);
            for (int k = 0; k < NCASES; k++)
                if (reps[s][k] > 0) matmul_sample(cases[k].n, cases[k].flags, reps[s][k], a, b, c, &g[s][k]);
        }
    }
    double peak_avx = 0, peak_ss = peak_best[4], peak_fmaf = peak_best[5];
    const char *best_avx = "-";
    for (int p = 0; p < 4; p++)
        if (peak_best[p] > peak_avx) { peak_avx = peak_best[p]; best_avx = peak_names[p]; }

    if (use_numpy) run_numpy(script);

    /* report */
    printf("$ %s\n\n", cmdline);
    printf("CPU: %s, 1 thread; compiler: gcc %s\n", cpu, __VERSION__);
    printf("best of %d interleaved samples of >= %g ms; GFLOP/s = 2·n³/time; QK_GEMM_MC/KC/NC = %d/%d/%d, "
           "qk_gemm_stack_bytes() = %zu\n",
           g_samples, g_min_s * 1e3, QK_GEMM_MC, QK_GEMM_KC, QK_GEMM_NC, qk_gemm_stack_bytes());
    printf("measured FP32 peak: avx2 %.1f GFLOP/s (_mm256_fmadd_ps, best of 8/10/12/14 "
           "accumulators: %s), scalar fmaf() %.2f GFLOP/s (libm call), scalar vfmadd %.1f GFLOP/s\n",
           peak_avx, best_avx, peak_fmaf, peak_ss);
    if (use_numpy)
        printf("NumPy: %s%s%s\n", g_np_version[0] ? g_np_version : "", g_np_version[0] ? ", " : "",
               g_np_blas);
    printf("\n| op | n |");
    for (int s = 0; s < nisa; s++) printf(" %s GFLOP/s | %s %% peak |", qk_isa_name(isas[s]), qk_isa_name(isas[s]));
    if (g_np_ok) printf(" NumPy GFLOP/s |");
    printf("\n|---|--:|");
    for (int s = 0; s < nisa; s++) printf("--:|--:|");
    if (g_np_ok) printf("--:|");
    printf("\n");
    for (int k = 0; k < NCASES; k++) {
        printf("| %s | %d |", cases[k].op, cases[k].n);
        for (int s = 0; s < nisa; s++) {
            double pk = isas[s] == QK_ISA_SCALAR ? peak_fmaf : isas[s] == QK_ISA_AVX2 ? peak_avx : 0;
            if (pk > 0)
                printf(" %.2f | %.0f%% |", g[s][k], 100.0 * g[s][k] / pk);
            else
                printf(" %.2f | – |", g[s][k]);
        }
        if (g_np_ok) printf(" %.2f |", g_np[k]);
        printf("\n");
    }
    printf("\n%% peak: scalar against the fmaf() peak, avx2 against the _mm256_fmadd_ps peak.\n");
    printf("bit-identical to the scalar path:");
    for (int s = 0; s < nisa; s++) printf(" %s %s", qk_isa_name(isas[s]), identical[s] ? "yes" : "NO");
    printf("\n");
    free(a);
    free(b);
    free(c);
    free(ref);
    return mismatch;
}
