/* bench_collapse.c — time of one forward pass of the rank-collapse stack at BERT-base
 * shape (n = 128 tokens, d = 768, H = 12, L = 12, dff = 3072; SPEC §1.4) per ISA path
 * against PyTorch (float32, one thread, OpenBLAS one thread with its own kernel for this
 * CPU), in one run with the samples interleaved.
 *
 *   build/bench_collapse [--samples N] [--scalar] [--isa avx2,avx512] [--threads 1,2] [--no-torch]
 *                        [--only transformer|san] [--no-gelu]
 *                        [--n N --d D --heads H --layers L --dff F]
 *
 * A benchmark, not a test: numbers depend on the machine and its load. Each of the N
 * rounds (default 7) takes one forward pass of every variant (transformer, san) on every
 * configuration (ISA path, threads) and one of PyTorch's, in turn, after one warm-up
 * pass each. Times: process CPU time on one thread, wall-clock on more; median (best).
 * The scalar path (fmaf() calls, ~1.3 GFLOP/s) takes ~20 s per transformer pass at this
 * shape, so it runs only with --scalar. GFLOP/s counts the products only:
 * L·(2n·(4d² + 2d·dff) + 4n²d) for the transformer.
 * Also measured: the GELU (erf form) over the L·n·dff pre-activations of one pass, per
 * element (qk_gelu_erff) and by the vector form of the selected path (qk_vgelu_erff).
 * --only and --no-gelu leave out the other variant and the GELU line (for a profiler).
 * Threads: the command-line tool's parallel-for (src/cli/cli_threads.c). */
#include "bench_common.h"
#include "qk_collapse.h"
#include "../src/cli/cli_threads.c" /* the tool's parallel-for (POSIX threads) */

#define MAX_CONF 8

static void usage(void)
{
    fprintf(stderr, "usage: bench_collapse [--samples N] [--scalar] [--isa avx2,avx512] [--threads 1,2] [--no-torch]\n"
                    "                      [--only transformer|san] [--no-gelu] [--n N --d D --heads H --layers L --dff F]\n");
}

int main(int argc, char **argv)
{
    int samples = 7, scalar = 0, torch = 1, nth = 1, threads[4] = {1};
    int n = 128, d = 768, H = 12, L = 12, F = -1;
    const char *isa_list = NULL, *only = NULL; /* the paths and the variant to time (default: all) */
    int gelu = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (!strcmp(a, "--samples") && has) samples = atoi(argv[++i]);
        else if (!strcmp(a, "--scalar")) scalar = 1;
        else if (!strcmp(a, "--no-torch")) torch = 0;
        else if (!strcmp(a, "--isa") && has) isa_list = argv[++i];
        else if (!strcmp(a, "--only") && has) only = argv[++i];
        else if (!strcmp(a, "--no-gelu")) gelu = 0;
        else if (!strcmp(a, "--threads") && has) {
            nth = 0;
            for (char *p = argv[++i]; *p && nth < 4;) {
                threads[nth] = (int)strtol(p, &p, 10);
                if (threads[nth++] < 1) { usage(); return 2; }
                if (*p == ',') p++;
                else if (*p) { usage(); return 2; }
            }
        }
        else if (!strcmp(a, "--n") && has) n = atoi(argv[++i]);
        else if (!strcmp(a, "--d") && has) d = atoi(argv[++i]);
        else if (!strcmp(a, "--heads") && has) H = atoi(argv[++i]);
        else if (!strcmp(a, "--layers") && has) L = atoi(argv[++i]);
        else if (!strcmp(a, "--dff") && has) F = atoi(argv[++i]);
        else { usage(); return 2; }
    }
    if (F < 0) F = 4 * d;
    if (samples < 1 || samples > 1000 || nth < 1) { usage(); return 2; }
    if (only && strcmp(only, "transformer") && strcmp(only, "san")) { usage(); return 2; }
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
    double t0 = bc_wall();
    qk_collapse_init(&s, 1);
    double t_init = bc_wall() - t0;
    qk_rng r;
    qk_rng_seed(&r, 2);
    qk_collapse_gauss_input(&r, x0, n, d);

    bc_anchor an;
    memset(&an, 0, sizeof an);
    char script[1024], sn[16], sd[16], sh[16], sl[16], sf[16];
    bc_script_path(argv[0], "bench_collapse_torch.py", script, sizeof script);
    snprintf(sn, sizeof sn, "%d", n), snprintf(sd, sizeof sd, "%d", d), snprintf(sh, sizeof sh, "%d", H);
    snprintf(sl, sizeof sl, "%d", L), snprintf(sf, sizeof sf, "%d", F);
    const char *targs[] = {"--n", sn, "--d", sd, "--heads", sh, "--layers", sl, "--dff", sf, NULL};
    int anchor = torch && bc_anchor_start(&an, script, targs) == 0;
    static const char *vname[2] = {"transformer", "san"};
    static const qk_col_variant vars[2] = {QK_COL_TRANSFORMER, QK_COL_SAN};

    /* configurations: the paths (scalar only with --scalar) on 1 thread, the best path on every thread count */
    qk_isa cisa[MAX_CONF];
    int cth[MAX_CONF], nconf = 0;
    qk_isa best = QK_ISA_SCALAR; /* the widest selected path */
    for (int i = 0; i < QK_ISA_COUNT; i++)
        if (qk_isa_available((qk_isa)i) && i != QK_ISA_SCALAR && (!isa_list || bc_in_list(isa_list, qk_isa_name((qk_isa)i))))
            best = (qk_isa)i;
    for (int i = 0; i < QK_ISA_COUNT && nconf < MAX_CONF; i++) {
        if (!qk_isa_available((qk_isa)i) || (i == QK_ISA_SCALAR && !scalar && !isa_list)) continue;
        if (isa_list && !bc_in_list(isa_list, qk_isa_name((qk_isa)i))) continue;
        for (int t = 0; t < nth && nconf < MAX_CONF; t++)
            if (threads[t] == 1 || i == (int)best) cisa[nconf] = (qk_isa)i, cth[nconf++] = threads[t];
    }
    if (!nconf) { fprintf(stderr, "bench_collapse: no available ISA path in '%s'\n", isa_list); return 2; }
    static bc_samples qs[MAX_CONF][2], as[2];
    for (int k = 0; k < nconf; k++) { /* warm-up */
        qk_isa_select(cisa[k]);
        if (cth[k] > 1) cli_threads_start(cth[k]);
        else qk_set_parallel(NULL);
        for (int v = 0; v < 2; v++)
            if (!only || !strcmp(only, vname[v])) qk_collapse_forward(&s, vars[v], x0, NULL, NULL);
    }
    for (int v = 0; v < 2 && anchor; v++)
        if (!only || !strcmp(only, vname[v])) anchor = bc_anchor_calibrate(&an, vname[v], 0.0) > 0;
    for (int round = 0; round < samples; round++)
        for (int v = 0; v < 2; v++) {
            if (only && strcmp(only, vname[v])) continue;
            for (int k = 0; k < nconf; k++) {
                qk_isa_select(cisa[k]);
                if (cth[k] > 1) cli_threads_start(cth[k]);
                else qk_set_parallel(NULL);
                double (*clk)(void) = cth[k] > 1 ? bc_wall : bc_cpu;
                t0 = clk();
                qk_collapse_forward(&s, vars[v], x0, NULL, NULL);
                bc_add(&qs[k][v], clk() - t0);
            }
            if (anchor) {
                double t = bc_anchor_sample(&an, vname[v], 1, NULL);
                if (t > 0) bc_add(&as[v], t);
                else anchor = 0;
            }
        }
    qk_set_parallel(NULL);
    bc_anchor_stop(&an);

    /* GELU over the L·n·dff pre-activations of one pass (normal, std 0.5) */
    size_t ng = (size_t)n * F;
    float *g = malloc(sizeof(float) * ng), *y = malloc(sizeof(float) * ng);
    double t_gelu = 0, t_vgelu = 0;
    if (g && y && gelu) {
        for (size_t i = 0; i < ng; i++) g[i] = 0.5f * qk_rng_normalf(&r);
        qk_isa_select(best);
        t0 = bc_cpu();
        for (int l = 0; l < L; l++)
            for (size_t i = 0; i < ng; i++) y[i] = qk_gelu_erff(g[i]);
        t_gelu = bc_cpu() - t0;
        t0 = bc_cpu();
        for (int l = 0; l < L; l++) qk_vgelu_erff(y, g, (int)ng);
        t_vgelu = bc_cpu() - t0;
    }
    free(g);
    free(y);

    bc_print_header(argc, argv);
    printf("one forward pass of one sequence, n %d, d %d, H %d, L %d, dff %d; %d rounds, each one pass of every "
           "variant and configuration and one of PyTorch's; seconds: median (best), process CPU time on 1 thread, "
           "wall-clock on more (init %.2f s)\n", n, d, H, L, F, samples, t_init);
    bc_anchor_describe(&an, "PyTorch");
    double flops[2] = {(double)L * (2.0 * n * (4.0 * d * d + 2.0 * d * F) + 4.0 * n * (double)n * d),
                       (double)L * (2.0 * n * 4.0 * d * d + 4.0 * n * (double)n * d)};
    printf("\n| implementation | threads | transformer (s) | GFLOP/s | PyTorch / qkspec | san (s) | GFLOP/s | "
           "PyTorch / qkspec |\n|---|--:|--:|--:|--:|--:|--:|--:|\n");
    for (int k = 0; k < nconf; k++) {
        printf("| qkspec %s | %d |", qk_isa_name(cisa[k]), cth[k]);
        for (int v = 0; v < 2; v++) {
            if (!qs[k][v].n) { printf(" – | – | – |"); continue; }
            double med = bc_median(&qs[k][v]), bst = bc_min(&qs[k][v]);
            printf(" %.4f (%.4f) | %.1f |", med, bst, flops[v] / med * 1e-9);
            if (anchor) printf(" %.2f× (%.2f×) |", bc_median(&as[v]) / med, bc_min(&as[v]) / bst);
            else printf(" – |");
        }
        printf("\n");
    }
    if (anchor) {
        printf("| PyTorch (float32) | 1 |");
        for (int v = 0; v < 2; v++)
            if (as[v].n) printf(" %.4f (%.4f) | %.1f | 1 |", bc_median(&as[v]), bc_min(&as[v]), flops[v] / bc_median(&as[v]) * 1e-9);
            else printf(" – | – | – |");
        printf("\n");
    }
    if (gelu) printf("\nGELU (erf form) over the %d x %zu pre-activations of one transformer pass (std 0.5): qk_gelu_erff per "
           "element %.4f s, qk_vgelu_erff (%s) %.4f s (CPU time)\n", L, ng, t_gelu, qk_isa_name(best), t_vgelu);
    double la[3];
    bc_loadavg(la);
    printf("load average at the end: %.2f %.2f %.2f\n", la[0], la[1], la[2]);
    free(buf);
    return 0;
}
