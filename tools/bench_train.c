/* bench_train.c — milliseconds per training step of the model (SPEC §1.2) per ISA path
 * and thread count, against the same model in PyTorch float32 on one thread (OpenBLAS,
 * its own kernel for this CPU), in one run with the samples interleaved.
 *
 *   build/bench_train [--presets paper,paper-d32] [--isa avx2,avx512] [--threads 1,2]
 *                     [--rounds N] [--min-s S] [--no-torch]
 *   build/bench_train --regions [--presets ...] [--isa avx512] [--rounds N]
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
 * Threads: the command-line tool's parallel-for (src/cli/cli_threads.c).
 *
 * --regions: what limits two threads. One thread runs the step with the work split as
 * for two workers (a parallel-for that runs a region's tasks in order in the calling
 * thread and times each task), giving per step: the time outside parallel regions
 * (serial), the time inside, the number of regions, and the longest of the two
 * workers' shares of every region (tasks dealt as the tool's pool deals them: each to
 * the worker that is free first). Then serial + Σ longest share is the step on two
 * threads with free fork/join; the measured cost of one empty region on the tool's pool
 * (two threads) times the number of regions is added beside it. Wall-clock time: run it
 * on idle CPUs. */
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

/* The fixed batch of a preset: B·(T + 1) random tokens from one seed; NULL when out of memory. */
static int *batch_tokens(const qk_model_config *c)
{
    int *tok = malloc(sizeof(int) * (size_t)c->B * (c->T + 1));
    qk_rng rng;
    qk_rng_seed(&rng, 20240611u);
    for (int i = 0; tok && i < c->B * (c->T + 1); i++) tok[i] = (int)(qk_rng_u64(&rng) % (uint64_t)c->V);
    return tok;
}

/* cf's model on its own memory (parameters, gradients, AdamW moments, activations,
 * scratch, state: cf->mem), initialised from seed 1: 1; 0 when binding or initialising
 * fails; -1 when out of memory (printed). */
static int model_open(conf_t *cf, const qk_model_config *c)
{
    qk_model_sizes_t sz;
    qk_model_sizes(c, &sz);
    size_t nf = 4 * sz.params + sz.acts + sz.scratch + sz.state;
    void *mem = NULL;
    if (posix_memalign(&mem, 64, nf * sizeof(float) + 64)) {
        fprintf(stderr, "bench_train: out of memory\n");
        return -1;
    }
    cf->mem = mem;
    float *w = cf->mem, *g = w + sz.params, *am = g + sz.params, *av = am + sz.params, *acts = av + sz.params;
    return qk_model_bind(&cf->m, c, w, g, am, av, acts, acts + sz.acts, acts + sz.acts + sz.scratch) == QK_OK &&
           qk_model_init(&cf->m, 1) == QK_OK;
}

/* ---------------------------------------------------------------- --regions */
enum { PH_FWD, PH_BWD, PH_ADAMW, PH_COUNT };
static const char *const ph_name[PH_COUNT] = {"forward (with the σReparam step)", "backward", "AdamW"};
typedef struct {
    double in[PH_COUNT], span[PH_COUNT]; /* time inside regions; Σ of the longer worker's share */
    long regions[PH_COUNT], tasks[PH_COUNT];
} region_acc;
static region_acc g_reg;
static int g_phase;

/* a parallel-for for 2 workers that runs the tasks in order here, timing each */
static void record_run(void *ctx, int n, qk_task_fn task, void *arg)
{
    double share[2] = {0, 0}, t0 = bc_wall(), a = t0;
    (void)ctx;
    for (int i = 0; i < n; i++) {
        task(arg, i);
        double b = bc_wall();
        share[share[1] < share[0]] += b - a; /* the pool: the next task to the worker free first */
        a = b;
    }
    g_reg.in[g_phase] += a - t0;
    g_reg.span[g_phase] += share[0] > share[1] ? share[0] : share[1];
    g_reg.regions[g_phase]++;
    g_reg.tasks[g_phase] += n;
}

/* a task that keeps its thread busy for 20 µs */
static void busy_task(void *arg, int i)
{
    double t0 = bc_wall();
    (void)arg, (void)i;
    while (bc_wall() - t0 < 20e-6) {}
}

/* wall-clock seconds that one region of 2 tasks on the tool's pool of 2 threads takes
 * beyond its tasks' own 20 µs (fork, join and waking the worker) */
static double region_cost(void)
{
    cli_threads_start(2);
    for (int i = 0; i < 200; i++) qk_parallel_run(2, busy_task, NULL);
    bc_samples s;
    s.n = 0;
    for (int r = 0; r < 21; r++) {
        double t0 = bc_wall();
        for (int i = 0; i < 500; i++) qk_parallel_run(2, busy_task, NULL);
        bc_add(&s, (bc_wall() - t0) / 500 - 20e-6);
    }
    qk_set_parallel(NULL);
    return bc_median(&s);
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
    g_phase = PH_FWD;
    qk_model_sr_step(&k->m);
    if (qk_model_forward(&k->m, tok, NULL) != QK_OK) return 0;
    double t1 = clk();
    g_phase = PH_BWD;
    if (qk_model_backward(&k->m) != QK_OK) return 0;
    double t2 = clk();
    g_phase = PH_ADAMW;
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
                    "[--min-s S] [--no-torch]\n       bench_train --regions [--presets ...] [--isa PATH] [--rounds N]\n");
    exit(2);
}

/* --regions for one preset: rounds of three samples each (1 thread; 1 thread with the
 * split recorded; 2 threads), ms per step as medians over each kind's steps */
static int regions_preset(const char *name, const qk_model_config *c, qk_isa isa, int rounds, double min_s,
                          double cost)
{
    int *tok = batch_tokens(c);
    conf_t *cf = calloc(1, sizeof *cf);
    bc_samples *s1 = calloc(1, sizeof *s1), *s2 = calloc(1, sizeof *s2), *sr = calloc(1, sizeof *sr);
    bc_samples *in = calloc(1, sizeof *in), *span = calloc(1, sizeof *span);
    if (!tok || !cf || !s1 || !s2 || !sr || !in || !span) {
        fprintf(stderr, "bench_train: out of memory\n");
        return 0;
    }
    cf->isa = isa, cf->threads = 2; /* step() then reads the wall clock */
    qk_isa_select(isa);
    double t[5];
    if (model_open(cf, c) <= 0 || !step(cf, tok, t)) {
        fprintf(stderr, "bench_train: %s: the model failed\n", name);
        return 0;
    }
    const qk_parallel_for rec = {record_run, NULL, 2, 0};
    region_acc sum;
    memset(&sum, 0, sizeof sum);
    double ph_time[PH_COUNT] = {0, 0, 0}, ph_one[PH_COUNT] = {0, 0, 0};
    long nrec = 0, none = 0;
    for (int r = 0; r < rounds; r++)
        for (int kind = 0; kind < 3; kind++) {
            if (kind == 0) qk_set_parallel(NULL);
            else if (kind == 1) qk_set_parallel(&rec);
            else cli_threads_start(2);
            double start = bc_wall();
            do {
                memset(&g_reg, 0, sizeof g_reg);
                if (!step(cf, tok, t)) return 0;
                if (kind == 0) {
                    bc_add(s1, t[4]);
                    for (int ph = 0; ph < PH_COUNT; ph++) ph_one[ph] += t[1 + ph];
                    none++;
                }
                else if (kind == 2) bc_add(s2, t[4]);
                else {
                    double i = 0, sp = 0;
                    for (int ph = 0; ph < PH_COUNT; ph++) {
                        i += g_reg.in[ph], sp += g_reg.span[ph];
                        sum.in[ph] += g_reg.in[ph], sum.span[ph] += g_reg.span[ph];
                        sum.regions[ph] += g_reg.regions[ph], sum.tasks[ph] += g_reg.tasks[ph];
                    }
                    for (int ph = 0; ph < PH_COUNT; ph++) ph_time[ph] += t[1 + ph];
                    bc_add(sr, t[4]), bc_add(in, i), bc_add(span, sp);
                    nrec++;
                }
            } while (bc_wall() - start < min_s);
        }
    qk_set_parallel(NULL);
    double T1 = bc_median(s1) * 1e3, T2 = bc_median(s2) * 1e3, TR = bc_median(sr) * 1e3;
    double IN = bc_median(in) * 1e3, SP = bc_median(span) * 1e3, S = TR - IN;
    long R = 0;
    for (int ph = 0; ph < PH_COUNT; ph++) R += sum.regions[ph];
    double nreg = (double)R / (double)nrec, free2 = S + SP, with_cost = free2 + nreg * cost * 1e3;
    printf("\n%s (%s): ms per step, median over the steps of %d rounds\n", name, qk_isa_name(isa), rounds);
    printf("  1 thread %.2f; 1 thread with the 2-worker split %.2f: outside regions %.2f (%.0f%%), inside %.2f "
           "in %.0f regions of %.0f tasks\n", T1, TR, S, 100 * S / TR, IN, nreg, (double)(sum.tasks[0] + sum.tasks[1] +
           sum.tasks[2]) / (double)nrec);
    printf("  2 threads: bound with free fork/join %.2f (%.2f×), with %.0f regions × %.1f µs %.2f (%.2f×); "
           "measured %.2f (%.2f×)\n", free2, T1 / free2, nreg, cost * 1e6, with_cost, T1 / with_cost, T2, T1 / T2);
    printf("  per phase, mean ms per step: 1 thread | with the split: outside regions, inside, the longer "
           "worker's share | regions\n");
    for (int ph = 0; ph < PH_COUNT; ph++) {
        double m = 1e3 / (double)nrec;
        printf("    %-34s %6.2f | %6.2f  %6.2f  %6.2f | %5.1f\n", ph_name[ph], ph_one[ph] * 1e3 / (double)none,
               (ph_time[ph] - sum.in[ph]) * m, sum.in[ph] * m, sum.span[ph] * m, (double)sum.regions[ph] / (double)nrec);
    }
    free(cf->mem), free(tok), free(cf), free(s1), free(s2), free(sr), free(in), free(span);
    return 1;
}

int main(int argc, char **argv)
{
    double min_s = 0.25;
    int rounds = 7, use_torch = 1, regions = 0;
    const char *preset_list = "paper,paper-d32", *isa_list = NULL, *thread_list = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--min-s") && i + 1 < argc) { min_s = atof(argv[++i]); if (!(min_s >= 0)) usage(); }
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) { rounds = atoi(argv[++i]); if (rounds < 1) usage(); }
        else if (!strcmp(argv[i], "--presets") && i + 1 < argc) preset_list = argv[++i];
        else if (!strcmp(argv[i], "--isa") && i + 1 < argc) isa_list = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) thread_list = argv[++i];
        else if (!strcmp(argv[i], "--no-torch")) use_torch = 0;
        else if (!strcmp(argv[i], "--regions")) regions = 1;
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
    if (regions) {
        bc_print_header(argc, argv);
        double cost = region_cost();
        printf("one region of 2 tasks of 20 µs on the tool's pool of 2 threads: %.2f µs beyond the 20 (median of 21 × "
           "500)\n", cost * 1e6);
        int ok = 1;
        for (int p = 0; p < np; p++) ok &= regions_preset(presets[p], &cfgs[p], best, rounds, min_s, cost);
        double la[3];
        bc_loadavg(la);
        printf("load average at the end: %.2f %.2f %.2f\n", la[0], la[1], la[2]);
        return ok ? 0 : 1;
    }

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
        if (!(tok[p] = batch_tokens(c))) { fprintf(stderr, "bench_train: out of memory\n"); return 2; }
        for (int k = 0; k < nconf; k++) {
            conf_t *cf = &conf[p][k];
            use(cf);
            double t[5];
            int opened = model_open(cf, c);
            if (opened < 0) return 2;
            cf->ok = opened && step(cf, tok[p], t) && step(cf, tok[p], t);
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
