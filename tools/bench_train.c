/* bench_train.c — milliseconds per training step of the model (SPEC §1.2) per ISA path
 * and thread count, against the same model in PyTorch float32 on one thread (OpenBLAS,
 * its own kernel for this CPU), in one run with the samples interleaved.
 *
 *   build/bench_train [--presets paper,paper-d32] [--isa avx2,avx512] [--threads 1,2]
 *                     [--rounds N] [--min-s S] [--no-torch]
 *
 * A benchmark, not a test: numbers depend on the machine and its load.
 * A step is what a training loop does: qk_model_sr_step + qk_model_forward +
 * qk_model_backward + qk_model_adamw, on one fixed batch of random tokens. Every
 * configuration (preset, ISA path, threads) has its own model, initialised from seed 1
 * and stepped once before timing. Each of the N rounds (default 7) takes, for every
 * preset, one sample of every configuration and one of PyTorch, in turn; a sample is
 * the steps of >= --min-s seconds (default 0.25). Per step: process CPU time for one
 * thread (robust when other jobs share the machine), wall-clock time for more (the
 * speed-up of threads is wall-clock against wall-clock). Reported: median and best step
 * of all samples, the medians of forward, backward and AdamW, GFLOP/s and % of the peak
 * of the path's vector width, and the speed-ups against PyTorch (median, best).
 *
 * FLOPs count only the model's matrix products, 2·M·N·K each, forward and backward
 * (N = B·T rows): per layer q, k, v, o (2·N·d·d each), fc1, fc2 (2·N·d·dff each), the
 * attention products Q·Kᵀ and P·V (2·B·T·T·d each, full T×T as computed); the output
 * projection 2·N·d·V; the backward does two products per forward product. paper: 3.62
 * GFLOP per step; paper-d32: 0.45 GFLOP.
 *
 * Bits (SPEC §2): the parameter hash after the first two steps must be the same for
 * every ISA path and thread count of a preset; a mismatch makes the exit status 1.
 * Threads: the command-line tool's parallel-for (src/cli/cli_threads.c). */
#include <math.h>
#include <stdint.h>
#include "bench_common.h"
#include "qk.h"
#include "qk_model.h"
#include "../src/cli/cli_threads.c" /* the tool's parallel-for (POSIX threads) */

#define MAX_PRESETS 4
#define MAX_CONF 12

typedef struct {
    qk_isa isa;
    int threads;
    qk_model m;
    float *mem;
    uint64_t hash2;
    int ok;
    bc_samples t, f, b, a; /* per step: total, forward, backward, AdamW (the configuration's clock) */
    bc_samples w;          /* per step: wall-clock time */
} conf_t;

static double step_flops(const qk_model_config *c)
{
    double N = (double)c->B * c->T, d = c->d, F = c->dff, V = c->V, T = c->T, B = c->B;
    double lin = 2.0 * N * (4.0 * d * d + 2.0 * d * F);
    double att = 2.0 * 2.0 * B * T * T * d;
    double out = 2.0 * N * d * V;
    return 3.0 * (c->L * lin + out) + 3.0 * c->L * att;
}

static void use(const conf_t *k)
{
    qk_isa_select(k->isa);
    if (k->threads > 1) cli_threads_start(k->threads);
    else qk_set_parallel(NULL);
}

/* one step; times in the configuration's clock, t[4] the wall-clock time */
static int step(conf_t *k, const int *tok, double t[5])
{
    double (*clk)(void) = k->threads > 1 ? bc_wall : bc_cpu;
    double w0 = bc_wall(), t0 = clk();
    qk_model_sr_step(&k->m);
    if (qk_model_forward(&k->m, tok, NULL) != QK_OK) return 0;
    double t1 = clk();
    if (qk_model_backward(&k->m) != QK_OK) return 0;
    double t2 = clk();
    if (qk_model_adamw(&k->m) != QK_OK) return 0;
    double t3 = clk();
    t[0] = t3 - t0, t[1] = t1 - t0, t[2] = t2 - t1, t[3] = t3 - t2, t[4] = bc_wall() - w0;
    return 1;
}

static int split_list(const char *s, char out[][32], int max)
{
    int n = 0;
    while (*s && n < max) {
        size_t l = strcspn(s, ",");
        if (l == 0 || l >= 32) return -1;
        memcpy(out[n], s, l);
        out[n][l] = 0;
        n++;
        s += l;
        if (*s == ',') s++;
    }
    return *s ? -1 : n;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_train [--presets paper,paper-d32] [--isa avx2,avx512] [--threads 1,2] [--rounds N] "
                    "[--min-s S] [--no-torch]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    double min_s = 0.25;
    int rounds = 7, use_torch = 1;
    const char *preset_list = "paper,paper-d32", *isa_list = NULL, *thread_list = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--min-s") && i + 1 < argc) { min_s = atof(argv[++i]); if (!(min_s >= 0)) usage(); }
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) { rounds = atoi(argv[++i]); if (rounds < 1) usage(); }
        else if (!strcmp(argv[i], "--presets") && i + 1 < argc) preset_list = argv[++i];
        else if (!strcmp(argv[i], "--isa") && i + 1 < argc) isa_list = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) thread_list = argv[++i];
        else if (!strcmp(argv[i], "--no-torch")) use_torch = 0;
        else usage();
    }
    char presets[MAX_PRESETS][32], names[QK_ISA_COUNT][32], tl[4][32];
    int np = split_list(preset_list, presets, MAX_PRESETS);
    if (np <= 0) usage();
    qk_model_config cfgs[MAX_PRESETS];
    for (int p = 0; p < np; p++)
        if (qk_model_preset(presets[p], &cfgs[p]) != QK_OK || cfgs[p].kind != QK_MODEL_LM) {
            fprintf(stderr, "bench_train: '%s' is not a language-model preset\n", presets[p]);
            return 2;
        }
    /* configurations: the SIMD paths on one thread, the best path also on 2 threads */
    qk_isa isas[QK_ISA_COUNT];
    int nisa = 0;
    if (isa_list) {
        int k = split_list(isa_list, names, QK_ISA_COUNT);
        if (k <= 0) usage();
        for (int j = 0; j < k; j++) {
            int found = 0;
            for (int i = 0; i < QK_ISA_COUNT; i++)
                if (!strcmp(names[j], qk_isa_name((qk_isa)i)) && qk_isa_available((qk_isa)i)) isas[nisa++] = (qk_isa)i, found = 1;
            if (!found) { fprintf(stderr, "bench_train: ISA path '%s' is not available here\n", names[j]); return 2; }
        }
    } else {
        for (int i = 1; i < QK_ISA_COUNT; i++)
            if (qk_isa_available((qk_isa)i)) isas[nisa++] = (qk_isa)i;
        if (!nisa) isas[nisa++] = QK_ISA_SCALAR;
    }
    int threads[4] = {1, 2}, nth = 2;
    if (thread_list) {
        nth = split_list(thread_list, tl, 4);
        if (nth <= 0) usage();
        for (int i = 0; i < nth; i++) if ((threads[i] = atoi(tl[i])) < 1) usage();
    }
    qk_isa best = isas[nisa - 1];

    /* the anchor first (its start-up is in no sample) */
    bc_anchor an;
    memset(&an, 0, sizeof an);
    char script[1024];
    bc_script_path(argv[0], "bench_train_torch.py", script, sizeof script);
    const char *targs[3] = {"--presets", preset_list, NULL};
    int anchor = use_torch && bc_anchor_start(&an, script, targs) == 0;
    long areps[MAX_PRESETS];
    for (int p = 0; p < np && anchor; p++) anchor = (areps[p] = bc_anchor_calibrate(&an, presets[p], min_s)) > 0;

    static conf_t conf[MAX_PRESETS][MAX_CONF];
    int nconf = 0;
    for (int s = 0; s < nisa; s++)
        for (int t = 0; t < nth; t++)
            if ((threads[t] == 1 || isas[s] == best) && nconf < MAX_CONF)
                for (int p = 0; p < np; p++) conf[p][nconf].isa = isas[s], conf[p][nconf].threads = threads[t], nconf += p == np - 1;
    int mismatch = 0, failed = 0;
    int *tok[MAX_PRESETS];
    for (int p = 0; p < np; p++) {
        const qk_model_config *c = &cfgs[p];
        qk_model_sizes_t sz;
        qk_model_sizes(c, &sz);
        size_t nf = 4 * sz.params + sz.acts + sz.scratch + sz.state;
        tok[p] = malloc(sizeof(int) * (size_t)c->B * (c->T + 1));
        qk_rng rng;
        qk_rng_seed(&rng, 20240611u);
        for (int i = 0; i < c->B * (c->T + 1); i++) tok[p][i] = (int)(qk_rng_u64(&rng) % (uint64_t)c->V);
        for (int k = 0; k < nconf; k++) {
            conf_t *cf = &conf[p][k];
            void *mem = NULL;
            if (posix_memalign(&mem, 64, nf * sizeof(float) + 64)) { fprintf(stderr, "bench_train: out of memory\n"); return 2; }
            cf->mem = mem;
            float *w = cf->mem, *g = w + sz.params, *am = g + sz.params, *av = am + sz.params, *acts = av + sz.params;
            use(cf);
            double t[5];
            cf->ok = qk_model_bind(&cf->m, c, w, g, am, av, acts, acts + sz.acts, acts + sz.acts + sz.scratch) == QK_OK &&
                     qk_model_init(&cf->m, 1) == QK_OK && step(cf, tok[p], t) && step(cf, tok[p], t);
            cf->hash2 = qk_model_param_hash(&cf->m);
            if (!cf->ok) failed = 1;
            if (k > 0 && cf->ok && conf[p][0].ok && cf->hash2 != conf[p][0].hash2) mismatch = 1;
        }
    }
    double pk2 = 0, pk5 = 0;
    bc_peak(BC_PEAK_AVX2, 0, 5, &pk2);
    bc_peak(BC_PEAK_AVX512, 0, 5, &pk5);

    static bc_samples as[MAX_PRESETS], aw[MAX_PRESETS];
    for (int r = 0; r < rounds; r++)
        for (int p = 0; p < np; p++) {
            for (int k = 0; k < nconf; k++) {
                conf_t *cf = &conf[p][k];
                if (!cf->ok) continue;
                use(cf);
                double start = bc_wall(), t[5];
                do {
                    if (!step(cf, tok[p], t)) { cf->ok = 0; failed = 1; break; }
                    bc_add(&cf->t, t[0]), bc_add(&cf->f, t[1]), bc_add(&cf->b, t[2]), bc_add(&cf->a, t[3]), bc_add(&cf->w, t[4]);
                } while (bc_wall() - start < min_s);
            }
            if (anchor) {
                double w, tc = bc_anchor_sample(&an, presets[p], areps[p], &w);
                if (tc > 0) bc_add(&as[p], tc), bc_add(&aw[p], w);
                else anchor = 0;
            }
        }
    qk_set_parallel(NULL);
    bc_peak(BC_PEAK_AVX2, 0, 5, &pk2);
    bc_peak(BC_PEAK_AVX512, 0, 5, &pk5);
    bc_anchor_stop(&an);

    bc_print_header(argc, argv);
    printf("step = qk_model_sr_step + forward + backward + AdamW on one fixed batch; %d rounds, each one sample "
           "(steps of >= %g s) of every configuration and of PyTorch; ms per step: median (best) over all steps, "
           "process CPU time on 1 thread, wall-clock time on more (PyTorch: CPU time per step of a sample)\n",
           rounds, min_s);
    printf("measured FP32 peaks: AVX-512 %.1f GFLOP/s, AVX2 %.1f GFLOP/s (one core); %% of peak: against the peak "
           "of the path's vector width, times the threads\n", pk5, pk2);
    bc_anchor_describe(&an, "PyTorch");
    printf("GFLOP per step (matrix products, forward + backward):");
    for (int p = 0; p < np; p++) printf(" %s %.3f%s", presets[p], step_flops(&cfgs[p]) * 1e-9, p + 1 < np ? "," : "");
    printf("\n\n| preset | d | implementation | threads | ms/step | fwd | bwd | AdamW | GFLOP/s | %% of peak "
           "| PyTorch ms / qkspec ms |\n|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    for (int p = 0; p < np; p++) {
        double fl = step_flops(&cfgs[p]) * 1e-9;
        double tmed = anchor ? bc_median(&as[p]) * 1e3 : 0, tbest = anchor ? bc_min(&as[p]) * 1e3 : 0;
        for (int k = 0; k < nconf; k++) {
            conf_t *cf = &conf[p][k];
            if (!cf->t.n) { printf("| %s | %d | qkspec %s | %d | failed | | | | | | |\n", presets[p], cfgs[p].d,
                                   qk_isa_name(cf->isa), cf->threads); continue; }
            double med = bc_median(&cf->t) * 1e3, bst = bc_min(&cf->t) * 1e3, gf = fl / (med * 1e-3);
            double pk = (cf->isa == QK_ISA_AVX512 ? pk5 : pk2) * cf->threads;
            printf("| %s | %d | qkspec %s | %d | %.2f (%.2f) | %.2f | %.2f | %.2f | %.1f | %.0f%% |", presets[p],
                   cfgs[p].d, qk_isa_name(cf->isa), cf->threads, med, bst, bc_median(&cf->f) * 1e3,
                   bc_median(&cf->b) * 1e3, bc_median(&cf->a) * 1e3, gf, pk > 0 ? 100 * gf / pk : 0.0);
            if (anchor) printf(" %.2f× (%.2f×) |\n", tmed / med, tbest / bst);
            else printf(" – |\n");
        }
        if (anchor)
            printf("| %s | %d | PyTorch | 1 | %.2f (%.2f) | | | | %.1f | %.0f%% | 1 |\n", presets[p], cfgs[p].d, tmed,
                   tbest, fl / (tmed * 1e-3), pk5 > 0 ? 100 * fl / (tmed * 1e-3) / pk5 : 0.0);
    }
    /* threads: wall clock against wall clock, from the same rounds */
    printf("\nthreads, wall-clock ms per step, median (best):");
    for (int p = 0; p < np; p++)
        for (int k = 0; k < nconf; k++) {
            conf_t *cf = &conf[p][k];
            if (cf->threads > 1 && cf->w.n)
                for (int j = 0; j < nconf; j++)
                    if (conf[p][j].isa == cf->isa && conf[p][j].threads == 1 && conf[p][j].w.n)
                        printf("\n  %s %s: %d threads %.2f (%.2f), 1 thread %.2f (%.2f): speed-up %.2f× (%.2f×)", presets[p],
                               qk_isa_name(cf->isa), cf->threads, bc_median(&cf->w) * 1e3, bc_min(&cf->w) * 1e3,
                               bc_median(&conf[p][j].w) * 1e3, bc_min(&conf[p][j].w) * 1e3,
                               bc_median(&conf[p][j].w) / bc_median(&cf->w), bc_min(&conf[p][j].w) / bc_min(&cf->w));
        }
    printf("\nbit-identical across ISA paths and threads (parameter hash after 2 steps): %s\n",
           mismatch ? "NO — MISMATCH" : "yes");
    for (int p = 0; p < np; p++)
        for (int k = 0; k < nconf; k++)
            printf("  %s %s, %d thread%s: hash %016llx, %d steps timed\n", presets[p], qk_isa_name(conf[p][k].isa),
                   conf[p][k].threads, conf[p][k].threads > 1 ? "s" : "", (unsigned long long)conf[p][k].hash2,
                   conf[p][k].t.n);
    double la[3];
    bc_loadavg(la);
    printf("load average at the end: %.2f %.2f %.2f\n", la[0], la[1], la[2]);
    return mismatch || failed ? 1 : 0;
}
