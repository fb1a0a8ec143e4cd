/* bench_gemm.c — single-thread GFLOP/s of qk_matmul per ISA path against NumPy (OpenBLAS,
 * one thread, its own kernel for this CPU) and this machine's measured FMA peaks, in one
 * run with the samples interleaved.
 *
 *   build/bench_gemm [--samples N] [--min-ms MS] [--isa scalar,avx2,avx512] [--no-numpy]
 *
 * A benchmark, not a test: numbers depend on the machine and its load. A sample repeats
 * one product until it lasts --min-ms milliseconds of process CPU time (default 20);
 * the N rounds (default 9) take one sample of every (case, path) and of NumPy's case in
 * turn, so qkspec and the anchor see the same moments of a shared machine. Reported:
 * the median and the best sample, GFLOP/s = 2·n³/time, and the ratios to NumPy of both.
 * Peaks (tools/bench_common.h): fmaf() as kern_scalar.c calls it (libm), and the AVX2
 * and AVX-512 FMA peaks; each path is compared with its own (scalar: fmaf, avx2: AVX2,
 * avx512: AVX-512). Each path's product is compared bit for bit with the scalar path's
 * (SPEC §2.3); a mismatch makes the exit status 1. */
#include <math.h>
#include <stdint.h>
#include "bench_common.h"
#include "qk.h"

static volatile float g_sink;

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

typedef struct {
    const char *op, *key; /* key: the anchor's case */
    int n, flags;
} bench_case;

static const bench_case cases[] = {
    {"A·B", "nn64", 64, 0}, {"A·B", "nn128", 128, 0}, {"A·B", "nn512", 512, 0},
    {"A·Bᵀ", "nt512", 512, QK_TRANS_B}, {"Aᵀ·B", "tn512", 512, QK_TRANS_A},
};
#define NCASES (int)(sizeof cases / sizeof cases[0])

static float *alloc_f(size_t n)
{
    void *p = 0;
    if (posix_memalign(&p, 64, n * sizeof(float) + 64) != 0) { fprintf(stderr, "bench_gemm: out of memory\n"); exit(2); }
    return p;
}

static void product(int k, float *a, float *b, float *c)
{
    int n = cases[k].n;
    qk_mat A = qk_mat_view(a, n, n, n), B = qk_mat_view(b, n, n, n), C = qk_mat_view(c, n, n, n);
    qk_matmul(&C, &A, &B, cases[k].flags);
}

static long calibrate(int k, float *a, float *b, float *c, double min_s)
{
    product(k, a, b, c);
    long reps = 1;
    for (;;) {
        double t0 = bc_cpu();
        for (long r = 0; r < reps; r++) product(k, a, b, c);
        double dt = bc_cpu() - t0;
        if (dt >= min_s) return reps;
        reps = dt > 1e-4 ? (long)(reps * (min_s * 1.2 / dt)) + 1 : reps * 8;
    }
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_gemm [--samples N] [--min-ms MS] [--isa scalar,avx2,avx512] [--no-numpy]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int samples = 9, use_numpy = 1;
    double min_s = 0.020;
    const char *isa_list = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--samples") && i + 1 < argc) { samples = atoi(argv[++i]); if (samples < 1) usage(); }
        else if (!strcmp(argv[i], "--min-ms") && i + 1 < argc) { min_s = atof(argv[++i]) * 1e-3; if (!(min_s > 0)) usage(); }
        else if (!strcmp(argv[i], "--isa") && i + 1 < argc) isa_list = argv[++i];
        else if (!strcmp(argv[i], "--no-numpy")) use_numpy = 0;
        else usage();
    }
    qk_isa isas[QK_ISA_COUNT];
    int nisa = 0;
    for (int i = 0; i < QK_ISA_COUNT; i++) {
        if (!qk_isa_available((qk_isa)i)) continue;
        if (isa_list) {
            const char *nm = qk_isa_name((qk_isa)i), *p = strstr(isa_list, nm);
            size_t l = strlen(nm);
            if (!p || (p != isa_list && p[-1] != ',') || (p[l] && p[l] != ',')) continue;
        }
        isas[nisa++] = (qk_isa)i;
    }
    if (nisa == 0) { fprintf(stderr, "bench_gemm: no ISA path of --isa is available here\n"); return 2; }

    const int maxn = 512;
    float *a = alloc_f((size_t)maxn * maxn), *b = alloc_f((size_t)maxn * maxn);
    float *c = alloc_f((size_t)maxn * maxn), *ref = alloc_f((size_t)maxn * maxn);
    qk_rng rng;
    qk_rng_seed(&rng, 20240611u);
    for (size_t i = 0; i < (size_t)maxn * maxn; i++) a[i] = 2.0f * qk_rng_uniformf(&rng) - 1.0f;
    for (size_t i = 0; i < (size_t)maxn * maxn; i++) b[i] = 2.0f * qk_rng_uniformf(&rng) - 1.0f;

    /* the anchor first (its start-up is not in any sample), then calibration */
    bc_anchor an;
    memset(&an, 0, sizeof an);
    char script[1024];
    bc_script_path(argv[0], "bench_gemm_numpy.py", script, sizeof script);
    int anchor = use_numpy && bc_anchor_start(&an, script, NULL) == 0;
    long areps[NCASES];
    for (int k = 0; k < NCASES && anchor; k++) anchor = (areps[k] = bc_anchor_calibrate(&an, cases[k].key, min_s)) > 0;

    static long reps[QK_ISA_COUNT][NCASES];
    int identical[QK_ISA_COUNT], mismatch = 0;
    for (int s = 0; s < nisa; s++) {
        identical[s] = 1;
        for (int k = 0; k < NCASES; k++) {
            int n = cases[k].n;
            qk_isa_select(QK_ISA_SCALAR);
            product(k, a, b, ref);
            qk_isa_select(isas[s]);
            product(k, a, b, c);
            if (memcmp(c, ref, sizeof(float) * (size_t)n * n)) identical[s] = 0, mismatch = 1;
            reps[s][k] = calibrate(k, a, b, c, min_s);
        }
    }
    double pk_fmaf = bc_peak_of(fmaf_peak, 5), pk2 = 0, pk5 = 0;
    bc_peak(BC_PEAK_AVX2, 0, 5, &pk2);
    bc_peak(BC_PEAK_AVX512, 0, 5, &pk5);

    static bc_samples qs[QK_ISA_COUNT][NCASES], as[NCASES];
    for (int round = 0; round < samples; round++)
        for (int k = 0; k < NCASES; k++) {
            for (int s = 0; s < nisa; s++) {
                qk_isa_select(isas[s]);
                double t0 = bc_cpu();
                for (long r = 0; r < reps[s][k]; r++) product(k, a, b, c);
                bc_add(&qs[s][k], (bc_cpu() - t0) / reps[s][k]);
            }
            if (anchor) {
                double t = bc_anchor_sample(&an, cases[k].key, areps[k], NULL);
                if (t > 0) bc_add(&as[k], t);
                else anchor = 0;
            }
        }
    bc_peak(BC_PEAK_AVX2, 0, 5, &pk2); /* again at the end: the larger value counts */
    bc_peak(BC_PEAK_AVX512, 0, 5, &pk5);
    bc_anchor_stop(&an);

    bc_print_header(argc, argv);
    printf("one thread; %d rounds, each one sample (>= %g ms of CPU time) of every case and path and of NumPy's "
           "case; GFLOP/s = 2·n³/time from the median (best) sample\n", samples, min_s * 1e3);
    printf("measured FP32 peaks: AVX-512 %.1f GFLOP/s, AVX2 %.1f GFLOP/s, scalar fmaf() %.2f GFLOP/s (libm call)\n",
           pk5, pk2, pk_fmaf);
    bc_anchor_describe(&an, "NumPy");
    printf("\n| op | n |");
    for (int s = 0; s < nisa; s++) printf(" %s GFLOP/s | %% of peak |", qk_isa_name(isas[s]));
    if (anchor) printf(" NumPy GFLOP/s | %s / NumPy |", qk_isa_name(isas[nisa - 1]));
    printf("\n|---|--:|");
    for (int s = 0; s < nisa; s++) printf("--:|--:|");
    if (anchor) printf("--:|--:|");
    printf("\n");
    for (int k = 0; k < NCASES; k++) {
        double fl = 2.0 * cases[k].n * cases[k].n * (double)cases[k].n * 1e-9;
        printf("| %s | %d |", cases[k].op, cases[k].n);
        double last_med = 0, last_best = 0;
        for (int s = 0; s < nisa; s++) {
            double med = fl / bc_median(&qs[s][k]), best = fl / bc_min(&qs[s][k]);
            double pk = isas[s] == QK_ISA_SCALAR ? pk_fmaf : isas[s] == QK_ISA_AVX2 ? pk2 : isas[s] == QK_ISA_AVX512 ? pk5 : 0;
            printf(" %.1f (%.1f) |", med, best);
            if (pk > 0) printf(" %.0f%% (%.0f%%) |", 100 * med / pk, 100 * best / pk);
            else printf(" – |");
            last_med = med, last_best = best;
        }
        if (anchor) {
            double med = fl / bc_median(&as[k]), best = fl / bc_min(&as[k]);
            printf(" %.1f (%.1f) | %.2f× (%.2f×) |", med, best, last_med / med, last_best / best);
        }
        printf("\n");
    }
    printf("\nmedian (best) of the samples; %% of peak: scalar against fmaf(), avx2 against the AVX2 peak, avx512 "
           "against the AVX-512 peak.\nbit-identical to the scalar path:");
    for (int s = 0; s < nisa; s++) printf(" %s %s", qk_isa_name(isas[s]), identical[s] ? "yes" : "NO");
    double la[3];
    bc_loadavg(la);
    printf("\nload average at the end: %.2f %.2f %.2f\n", la[0], la[1], la[2]);
    free(a); free(b); free(c); free(ref);
    return mismatch;
}
