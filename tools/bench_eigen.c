/* bench_eigen.c — time per decomposition of qk_eigh (with and without vectors) at
 * n = 32, 64, 128, 256 against NumPy's eigh and eigvalsh (LAPACK dsyevd through
 * OpenBLAS, one thread, its own kernel for this CPU), in one run with the samples
 * interleaved, and the solver's achieved GFLOP/s against the measured double-precision
 * FMA peaks.
 *
 *   build/bench_eigen [--samples N] [--min-ms MS] [--sizes 32,64,..] [--isa NAME]
 *                     [--threads N] [--no-numpy]
 *
 * A benchmark, not a test. A sample repeats a call until it lasts --min-ms (default 30)
 * of process CPU time; each of the N rounds (default 9) takes one sample of every case
 * and of NumPy's case in turn. Reported: median (best) time per call and the ratios
 * qkspec/NumPy of both. With --threads N > 1 the solver gets the command-line tool's
 * parallel-for (src/cli/cli_threads.c) and times are wall-clock.
 *
 * GFLOP/s counts the floating-point operations of the rotations that the solver
 * reports (qk_eig_info.flops: a multiply 1, an fma 2); Jacobi does far more of them
 * than LAPACK, so it is the fraction of peak, not the count, that says how close to
 * the machine the code runs. */
#include "bench_common.h"
#include "qk_eigen.h"
#include "../src/cli/cli_threads.c" /* the tool's parallel-for (POSIX threads) */

#define MAXSIZES 8
typedef struct {
    int n, vectors;
    double *a, *w, *v, *work;
    size_t len;
    long reps;
    double flops;
    int sweeps;
    qk_status st;
    bc_samples t;
    char key[32];
    long areps;
    bc_samples at;
} bcase;

static double (*g_clock)(void) = bc_cpu;

static void run_once(bcase *c, qk_eig_info *info)
{
    c->st = qk_eigh(c->n, c->a, c->n, c->w, c->vectors ? c->v : NULL, c->n, c->work, c->len, NULL, info);
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_eigen [--samples N] [--min-ms MS] [--sizes 32,64,..] [--isa NAME] [--threads N] "
                    "[--no-numpy]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int sizes[MAXSIZES] = {32, 64, 128, 256}, ns = 4, numpy = 1, samples = 9, threads = 1;
    double min_s = 0.030;
    char list[256] = "32,64,128,256";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--samples") && i + 1 < argc) samples = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--min-ms") && i + 1 < argc) min_s = atof(argv[++i]) * 1e-3;
        else if (!strcmp(argv[i], "--no-numpy")) numpy = 0;
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--isa") && i + 1 < argc) {
            if (qk_isa_select_name(argv[++i]) != QK_OK) { fprintf(stderr, "bench_eigen: ISA path '%s' unavailable\n", argv[i]); return 2; }
        } else if (!strcmp(argv[i], "--sizes") && i + 1 < argc) {
            snprintf(list, sizeof list, "%s", argv[++i]);
            ns = 0;
            for (char *p = list; *p && ns < MAXSIZES;) {
                sizes[ns] = (int)strtol(p, &p, 10);
                if (sizes[ns] < 1 || sizes[ns] > QK_EIG_MAX_N) usage();
                ns++;
                if (*p == ',') p++;
                else if (*p) usage();
            }
            snprintf(list, sizeof list, "%s", argv[i]);
        } else usage();
    }
    if (samples < 1 || min_s <= 0 || threads < 1) usage();
    if (threads > 1) {
        threads = cli_threads_start(threads);
        g_clock = bc_wall;
    }

    bc_anchor an;
    memset(&an, 0, sizeof an);
    char script[1024];
    bc_script_path(argv[0], "bench_eigen.py", script, sizeof script);
    const char *aargs[3] = {"--sizes", list, NULL};
    int anchor = numpy && bc_anchor_start(&an, script, aargs) == 0;

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
            snprintf(c->key, sizeof c->key, "%s_%d", vec ? "eigh" : "eigvalsh", n);
            qk_eig_info info;
            c->reps = 1;
            for (;;) {
                double t0 = g_clock();
                for (long r = 0; r < c->reps; r++) run_once(c, &info);
                double dt = g_clock() - t0;
                if (dt >= min_s) break;
                c->reps = dt > 1e-4 ? (long)(c->reps * min_s * 1.3 / dt) + 1 : c->reps * 8;
            }
            c->flops = info.flops;
            c->sweeps = info.sweeps;
            if (c->st != QK_OK) { fprintf(stderr, "bench_eigen: n=%d: %s\n", n, qk_status_str(c->st)); return 1; }
            if (anchor) anchor = (c->areps = bc_anchor_calibrate(&an, c->key, min_s)) > 0;
        }
    }
    double p2 = 0, p5 = 0;
    bc_peak(BC_PEAK_AVX2, 1, 5, &p2);
    bc_peak(BC_PEAK_AVX512, 1, 5, &p5);
    for (int round = 0; round < samples; round++)
        for (int i = 0; i < 2 * ns; i++) {
            bcase *c = &cs[i];
            qk_eig_info info;
            double t0 = g_clock();
            for (long r = 0; r < c->reps; r++) run_once(c, &info);
            bc_add(&c->t, (g_clock() - t0) / c->reps);
            if (anchor) {
                double t = bc_anchor_sample(&an, c->key, c->areps, NULL);
                if (t > 0) bc_add(&c->at, t);
                else anchor = 0;
            }
        }
    bc_peak(BC_PEAK_AVX2, 1, 5, &p2);
    bc_peak(BC_PEAK_AVX512, 1, 5, &p5);
    bc_anchor_stop(&an);

    bc_print_header(argc, argv);
    printf("qkspec: ISA path %s, %d thread%s (%s); %d rounds, each one sample (>= %.0f ms) of every case and of "
           "NumPy's case; times per call: median (best)\n", qk_isa_name(qk_isa_current()), threads,
           threads > 1 ? "s" : "", threads > 1 ? "wall-clock time" : "process CPU time", samples, min_s * 1e3);
    printf("measured FP64 peaks: AVX-512 %.1f GFLOP/s, AVX2 %.1f GFLOP/s\n", p5, p2);
    bc_anchor_describe(&an, "NumPy");
    double pk = qk_isa_current() == QK_ISA_AVX512 ? p5 : p2;
    printf("\n| n | qkspec eigh + vectors (ms) | numpy eigh (ms) | ratio | qkspec values (ms) | eigvalsh (ms) | ratio "
           "| sweeps | GFLOP/s (%% of peak) |\n|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    for (int i = 0; i < ns; i++) {
        bcase *v = &cs[2 * i], *w = &cs[2 * i + 1];
        double vm = bc_median(&v->t), vb = bc_min(&v->t), wm = bc_median(&w->t), wb = bc_min(&w->t);
        printf("| %d | %.3f (%.3f) |", v->n, vm * 1e3, vb * 1e3);
        if (anchor) printf(" %.3f (%.3f) | %.2f× (%.2f×) |", bc_median(&v->at) * 1e3, bc_min(&v->at) * 1e3,
                           vm / bc_median(&v->at), vb / bc_min(&v->at));
        else printf(" – | – |");
        printf(" %.3f (%.3f) |", wm * 1e3, wb * 1e3);
        if (anchor) printf(" %.3f (%.3f) | %.2f× (%.2f×) |", bc_median(&w->at) * 1e3, bc_min(&w->at) * 1e3,
                           wm / bc_median(&w->at), wb / bc_min(&w->at));
        else printf(" – | – |");
        double gf = v->flops / vm * 1e-9;
        printf(" %d | %.1f (%.0f%%) |\n", v->sweeps, gf, pk > 0 ? 100 * gf / pk / threads : 0.0);
    }
    printf("(ratio = qkspec time / NumPy time, of the medians (of the best samples); GFLOP/s for eigh with vectors, "
           "%% of the FP64 peak of the path's vector width)\n");
    double la[3];
    bc_loadavg(la);
    printf("load average at the end: %.2f %.2f %.2f\n", la[0], la[1], la[2]);
    return 0;
}
