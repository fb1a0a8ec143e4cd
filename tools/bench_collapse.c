/* bench_collapse.c — time of one forward pass of the rank-collapse stack at BERT-base
 * shape (n = 128 tokens, d = 768, H = 12, L = 12, dff = 3072; SPEC §1.4) on one
 * thread, per ISA path, against PyTorch (float32, one thread, OpenBLAS one thread) in
 * the same run.
 *
 *   build/bench_collapse [--samples N] [--scalar] [--no-torch] [--torch-script PATH]
 *                        [--n N --d D --heads H --layers L --dff F]
 *
 * A benchmark, not a test: numbers depend on the machine and its load. Every figure
 * is the best of N samples (default 5) of one forward pass (variants transformer and
 * san), after one warm-up pass. The scalar path (fmaf() calls, ~1.3 GFLOP/s) takes
 * ~20 s per transformer pass at this shape, so it runs only with --scalar.
 * GFLOP/s counts the products only: L·(2n·(4d² + 2d·dff) + 4n²d) for the transformer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "qk_collapse.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static char g_torch_ver[64] = "not run", g_torch_blas[512] = "", g_torch_threads[16] = "?";
static double g_torch[2] = {-1, -1};

static void run_torch(const char *script, int n, int d, int H, int L, int F, int samples)
{
    char cmd[1400];
    snprintf(cmd, sizeof cmd,
             "OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 /usr/bin/python3 %s --n %d --d %d "
             "--heads %d --layers %d --dff %d --samples %d 2>&1",
             script, n, d, H, L, F, samples);
    FILE *f = popen(cmd, "r");
    if (!f) { snprintf(g_torch_ver, sizeof g_torch_ver, "popen failed"); return; }
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        double s;
        if (!strncmp(line, "torch ", 6)) snprintf(g_torch_ver, sizeof g_torch_ver, "%.63s", line + 6);
        else if (!strncmp(line, "blas ", 5)) snprintf(g_torch_blas, sizeof g_torch_blas, "%.511s", line + 5);
        else if (!strncmp(line, "threads ", 8)) snprintf(g_torch_threads, sizeof g_torch_threads, "%.15s", line + 8);
        else if (sscanf(line, "seconds transformer %lf", &s) == 1) g_torch[0] = s;
        else if (sscanf(line, "seconds san %lf", &s) == 1) g_torch[1] = s;
        else fprintf(stderr, "bench_collapse: torch: %s\n", line);
    }
    int rc = pclose(f);
    if (rc != 0 && g_torch[0] < 0) snprintf(g_torch_ver, sizeof g_torch_ver, "failed (exit %d)", rc);
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_collapse [--samples N] [--scalar] [--no-torch] [--torch-script PATH]\n"
                    "                      [--n N --d D --heads H --layers L --dff F]\n");
}

int main(int argc, char **argv)
{
    int samples = 5, scalar = 0, torch = 1;
    int n = 128, d = 768, H = 12, L = 12, F = -1;
    const char *script = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (!strcmp(a, "--samples") && has) samples = atoi(argv[++i]);
        else if (!strcmp(a, "--scalar")) scalar = 1;
        else if (!strcmp(a, "--no-torch")) torch = 0;
        else if (!strcmp(a, "--torch-script") && has) script = argv[++i];
        else if (!strcmp(a, "--n") && has) n = atoi(argv[++i]);
        else if (!strcmp(a, "--d") && has) d = atoi(argv[++i]);
        else if (!strcmp(a, "--heads") && has) H = atoi(argv[++i]);
        else if (!strcmp(a, "--layers") && has) L = atoi(argv[++i]);
        else if (!strcmp(a, "--dff") && has) F = atoi(argv[++i]);
        else { usage(); return 2; }
    }
    if (F < 0) F = 4 * d;
    if (samples < 1 || samples > 1000) { usage(); return 2; }
    qk_collapse_config c = qk_collapse_default_config(n, d, H, L);
    c.dff = F;
    c.V = 0;
    qk_collapse_sizes_t sz;
    qk_status st = qk_collapse_sizes(&c, &sz);
    if (st != QK_OK) { fprintf(stderr, "bench_collapse: configuration: %s\n", qk_status_str(st)); return 2; }
    float *buf = malloc(sizeof(float) * (sz.params + sz.acts + sz.scratch + (size_t)n * d));
    if (!buf) { fprintf(stderr, "bench_collapse: out of memory\n"); return 1; }
    qk_collapse s;
    qk_collapse_bind(&s, &c, buf, buf + sz.params, buf + sz.params + sz.acts);
    float *x0 = buf + sz.params + sz.acts + sz.scratch;
    double t0 = now_s();
    qk_collapse_init(&s, 1);
    double t_init = now_s() - t0;
    qk_rng r;
    qk_rng_seed(&r, 2);
    qk_collapse_gauss_input(&r, x0, n, d);

    if (torch) {
        static char path[1024];
        if (!script) {
            const char *slash = strrchr(argv[0], '/');
            int len = slash ? (int)(slash - argv[0]) : 1;
            snprintf(path, sizeof path, "%.*s/../tools/bench_collapse_torch.py", len, slash ? argv[0] : ".");
            if (access(path, R_OK) != 0) snprintf(path, sizeof path, "tools/bench_collapse_torch.py");
            script = path;
        }
        run_torch(script, n, d, H, L, F, samples);
    }

    double flops_tr = (double)L * (2.0 * n * (4.0 * d * d + 2.0 * d * F) + 4.0 * n * (double)n * d);
    double flops_san = (double)L * (2.0 * n * 4.0 * d * d + 4.0 * n * (double)n * d);
    static const qk_col_variant vars[2] = {QK_COL_TRANSFORMER, QK_COL_SAN};
    double best[QK_ISA_COUNT][2];
    int have[QK_ISA_COUNT] = {0};
    for (int isa = 0; isa < QK_ISA_COUNT; isa++) {
        if (!qk_isa_available((qk_isa)isa) || (isa == QK_ISA_SCALAR && !scalar)) continue;
        qk_isa_select((qk_isa)isa);
        have[isa] = 1;
        for (int v = 0; v < 2; v++) {
            qk_collapse_forward(&s, vars[v], x0, NULL, NULL); /* warm-up */
            best[isa][v] = 1e30;
            for (int k = 0; k < samples; k++) {
                t0 = now_s();
                qk_collapse_forward(&s, vars[v], x0, NULL, NULL);
                double t = now_s() - t0;
                if (t < best[isa][v]) best[isa][v] = t;
            }
        }
    }
    /* GELU share: qk_gelu_erff over the L·n·dff pre-activations of one pass */
    size_t ng = (size_t)n * F;
    float *g = malloc(sizeof(float) * ng);
    double t_gelu = 0;
    if (g) {
        for (size_t i = 0; i < ng; i++) g[i] = 0.5f * qk_rng_normalf(&r);
        t0 = now_s();
        volatile float sink = 0;
        for (int l = 0; l < L; l++)
            for (size_t i = 0; i < ng; i++) sink = sink + qk_gelu_erff(g[i]);
        t_gelu = now_s() - t0;
        free(g);
    }
    printf("bench_collapse: one forward pass of one sequence, n %d, d %d, H %d, L %d, dff %d, 1 thread; "
           "best of %d (init %.2f s)\n", n, d, H, L, F, samples, t_init);
    printf("torch %s, %s thread(s), BLAS: %s\n\n", g_torch_ver, g_torch_threads, g_torch_blas);
    printf("| implementation | transformer (s) | GFLOP/s | san (s) | GFLOP/s |\n|---|--:|--:|--:|--:|\n");
    for (int isa = 0; isa < QK_ISA_COUNT; isa++)
        if (have[isa])
            printf("| qkspec %s | %.4f | %.1f | %.4f | %.1f |\n", qk_isa_name((qk_isa)isa), best[isa][0],
                   flops_tr / best[isa][0] * 1e-9, best[isa][1], flops_san / best[isa][1] * 1e-9);
    if (g_torch[0] > 0)
        printf("| PyTorch %s (float32) | %.4f | %.1f | %.4f | %.1f |\n", g_torch_ver, g_torch[0],
               flops_tr / g_torch[0] * 1e-9, g_torch[1], flops_san / g_torch[1] * 1e-9);
    printf("\nqk_gelu_erff over the %d x %zu pre-activations of one transformer pass: %.4f s\n", L, ng, t_gelu);
    free(buf);
    return 0;
}
