/* bench_train.c — milliseconds per training step of the model (SPEC §1.2) per ISA path,
 * against the same model in PyTorch float32 on one thread, measured in the same run.
 *
 *   build/bench_train [--presets paper,paper-d32] [--isa scalar,avx2] [--min-s S]
 *                     [--min-steps N] [--no-torch] [--torch-script PATH]
 *
 * A benchmark, not a test: numbers depend on the machine and its load.
 *
 * A step is what a training loop does: qk_model_sr_step + qk_model_forward +
 * qk_model_backward + qk_model_adamw, on one fixed batch of random tokens, one thread.
 * Per (preset, ISA path): the model is initialised (seed 1), one warm-up step runs, then
 * steps until --min-s seconds (default 2) and --min-steps steps (default 3) have passed;
 * the table gives the median and best step time and the median time of each phase.
 * Model memory is allocated here (malloc) and bound with qk_model_sizes/qk_model_bind.
 *
 * FLOPs count only the model's matrix products, 2·M·N·K each, forward and backward
 * (N = B·T rows): per layer q, k, v, o (2·N·d·d each), fc1, fc2 (2·N·d·dff each), the
 * attention products Q·Kᵀ and P·V (2·B·T·T·d each, full T×T as computed); the output
 * projection 2·N·d·V; the backward does two products per forward product (dX and dW;
 * attention: dP = dO·Vᵀ, dV = Pᵀ·dO, dQ = dS·K, dK = dSᵀ·Q). Bias gradients, LayerNorm,
 * softmax, exp/log, AdamW, LocAteR and σReparam are not counted (all O(N·d) or smaller
 * for these presets). paper: 3.62 GFLOP per step; paper-d32: 0.45 GFLOP.
 *
 * Peak: _mm256_fmadd_ps on 8/10/12 independent accumulators (best count wins), compiled
 * with __attribute__((target("avx2,fma"))) since this file is built without -mavx2,
 * measured before and after the model runs, the larger value kept. "% peak" is against
 * this AVX2 peak for every row (it is the machine's single-core FP32 limit); the scalar
 * path's own ceiling, fmaf() as a libm call, is printed too.
 *
 * Each ISA path must give the same bits (SPEC §2): the parameter hash after the warm-up
 * and the first timed step is compared across paths; a mismatch is reported and makes
 * the exit status 1.
 *
 * PyTorch: tools/bench_train_torch.py through popen with OPENBLAS_NUM_THREADS=1,
 * OMP_NUM_THREADS=1 and torch.set_num_threads(1); same model and presets (without the
 * bit contract). */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "qk.h"
#include "qk_model.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_X86_PEAK 1
#else
#define HAVE_X86_PEAK 0
#endif

static double now_s(void) /* wall clock */
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int g_cpu_clock = 1; /* --clock cpu (default) or wall */

/* the clock of every reported time: this process's CPU time (robust when other jobs
 * share the machine: time spent descheduled is not counted) or the wall clock */
static double now_t(void)
{
    if (!g_cpu_clock) return now_s();
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static volatile float g_sink;

/* ------------------------------------------------------------------ peaks */
#define ACC_LIST(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)

#if HAVE_X86_PEAK
#define AVX_DECL(i) __m256 v##i = _mm256_set1_ps(1.0f + (float)(i) * 1e-3f);
#define AVX_STEP(i) if (i < nacc) v##i = _mm256_fmadd_ps(v##i, m, a);
#define AVX_SUM(i) if (i < nacc) s = _mm256_add_ps(s, v##i);
#define DEF_AVX_PEAK(NACC)                                                                    \
    __attribute__((target("avx2,fma"), noinline)) static double avx_peak_##NACC(long iters) \
    {                                                                                       \
        enum { nacc = NACC };                                                               \
        ACC_LIST(AVX_DECL)                                                                  \
        __m256 m = _mm256_set1_ps(0.999999f), a = _mm256_set1_ps(1e-7f);                    \
        for (long it = 0; it < iters; it++) {                                               \
            ACC_LIST(AVX_STEP)                                                              \
            __asm__ volatile("" ::: "memory");                                              \
        }                                                                                   \
        __m256 s = _mm256_setzero_ps();                                                     \
        ACC_LIST(AVX_SUM)                                                                   \
        float out[8];                                                                       \
        _mm256_storeu_ps(out, s);                                                           \
        g_sink = out[0] + out[7];                                                           \
        return 16.0 * NACC * (double)iters;                                                 \
    }
DEF_AVX_PEAK(8)
DEF_AVX_PEAK(10)
DEF_AVX_PEAK(12)
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

/* best GFLOP/s of fn over 7 samples of >= 20 ms */
static double peak_of(double (*fn)(long))
{
    const double min_s = 0.020;
    long iters = 1000;
    for (;;) {
        double t0 = now_t();
        fn(iters);
        double dt = now_t() - t0;
        if (dt >= min_s || iters > (1L << 40)) break;
        iters = dt > 1e-4 ? (long)(iters * (min_s * 1.2 / dt)) + 1 : iters * 8;
    }
    double best = 0;
    for (int s = 0; s < 7; s++) {
        double t0 = now_t();
        double flops = fn(iters);
        double g = flops / (now_t() - t0) * 1e-9;
        if (g > best) best = g;
    }
    return best;
}

static double g_peak_avx = 0, g_peak_fmaf = 0;
static int g_best_nacc = 0;

static void measure_peaks(void)
{
#if HAVE_X86_PEAK
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        static double (*const fns[])(long) = {avx_peak_8, avx_peak_10, avx_peak_12};
        static const int naccs[] = {8, 10, 12};
        for (int i = 0; i < 3; i++) {
            double g = peak_of(fns[i]);
            if (g > g_peak_avx) { g_peak_avx = g; g_best_nacc = naccs[i]; }
        }
    }
#endif
    double g = peak_of(fmaf_peak);
    if (g > g_peak_fmaf) g_peak_fmaf = g;
}

/* ------------------------------------------------------------------ FLOPs */
static double step_flops(const qk_model_config *c)
{
    double N = (double)c->B * c->T, d = c->d, F = c->dff, V = c->V, T = c->T, B = c->B;
    double lin = 2.0 * N * (4.0 * d * d + 2.0 * d * F); /* q k v o fc1 fc2, forward */
    double att = 2.0 * 2.0 * B * T * T * d;             /* Q·Kᵀ, P·V over all heads */
    double out = 2.0 * N * d * V;
    return 3.0 * (c->L * lin + out) + 3.0 * c->L * att; /* forward + 2x backward */
}

/* ------------------------------------------------------------------ timing one model */
typedef struct {
    int ok;
    double med_ms, best_ms, fwd_ms, bwd_ms, adam_ms; /* medians except best */
    double wall_ms;                                  /* median wall-clock step time */
    int steps;
    uint64_t hash2; /* parameter hash after 2 steps */
    float loss_last;
} run_result;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *x, int n)
{
    qsort(x, (size_t)n, sizeof *x, cmp_double);
    return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

static float *alloc_f(size_t n)
{
    void *p = 0;
    if (n == 0) n = 1;
    if (posix_memalign(&p, 64, n * sizeof(float)) != 0) {
        fprintf(stderr, "bench_train: out of memory (%zu floats)\n", n);
        exit(2);
    }
    return p;
}

#define MAX_STEPS 100000

static run_result run_model(const qk_model_config *cfg, const int *tokens, double min_s, int min_steps)
{
    run_result r;
    memset(&r, 0, sizeof r);
    qk_model_sizes_t sz;
    if (qk_model_sizes(cfg, &sz) != QK_OK) return r;
    float *w = alloc_f(sz.params), *g = alloc_f(sz.params), *am = alloc_f(sz.params), *av = alloc_f(sz.params);
    float *acts = alloc_f(sz.acts), *scr = alloc_f(sz.scratch), *st = alloc_f(sz.state);
    qk_model m;
    static double t_all[MAX_STEPS], t_f[MAX_STEPS], t_b[MAX_STEPS], t_a[MAX_STEPS], t_w[MAX_STEPS];
    if (qk_model_bind(&m, cfg, w, g, am, av, acts, scr, st) != QK_OK || qk_model_init(&m, 1) != QK_OK) goto done;
    int n = 0;
    double start = 0;
    for (int it = 0;; it++) { /* it == 0: warm-up */
        double w0 = now_s(), t0 = now_t();
        qk_model_sr_step(&m);
        if (qk_model_forward(&m, tokens, NULL) != QK_OK) goto done;
        double t1 = now_t();
        if (qk_model_backward(&m) != QK_OK) goto done;
        double t2 = now_t();
        if (qk_model_adamw(&m) != QK_OK) goto done;
        double t3 = now_t(), w1 = now_s();
        if (it == 1) r.hash2 = qk_model_param_hash(&m);
        if (it == 0) { start = now_s(); continue; }
        t_all[n] = t3 - t0; t_f[n] = t1 - t0; t_b[n] = t2 - t1; t_a[n] = t3 - t2; t_w[n] = w1 - w0;
        n++;
        if (n >= MAX_STEPS || (n >= min_steps && now_s() - start >= min_s)) break;
    }
    r.loss_last = m.loss;
    r.steps = n;
    r.med_ms = 1e3 * median(t_all, n);
    r.best_ms = 1e3 * t_all[0]; /* sorted by median() */
    r.fwd_ms = 1e3 * median(t_f, n);
    r.bwd_ms = 1e3 * median(t_b, n);
    r.adam_ms = 1e3 * median(t_a, n);
    r.wall_ms = 1e3 * median(t_w, n);
    r.ok = 1;
done:
    free(w); free(g); free(am); free(av); free(acts); free(scr); free(st);
    return r;
}

/* ------------------------------------------------------------------ PyTorch */
#define MAX_PRESETS 8
typedef struct {
    char version[64], threads[256], blas[512], err[1024];
    double med_ms[MAX_PRESETS], best_ms[MAX_PRESETS], wall_ms[MAX_PRESETS];
    int steps[MAX_PRESETS], have[MAX_PRESETS];
} torch_result;

/* runs the script for presets[only] (or all when only < 0), filling tr */
static void run_torch(const char *script, char presets[][32], int np, int only, double min_s, torch_result *tr)
{
    const char *py = "/usr/bin/python3";
    if (access(py, X_OK) != 0) { snprintf(tr->err, sizeof tr->err, "%s not found", py); return; }
    if (access(script, R_OK) != 0) { snprintf(tr->err, sizeof tr->err, "%.900s not found", script); return; }
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    setenv("OMP_NUM_THREADS", "1", 1);
    setenv("MKL_NUM_THREADS", "1", 1);
    char list[512] = "";
    for (int i = 0; i < np; i++) {
        if (only >= 0 && i != only) continue;
        size_t l = strlen(list);
        snprintf(list + l, sizeof list - l, "%s%s", l ? "," : "", presets[i]);
    }
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s '%.1000s' --presets %s --min-s %g --clock %s 2>&1", py, script, list, min_s,
             g_cpu_clock ? "cpu" : "wall");
    FILE *f = popen(cmd, "r");
    if (!f) { snprintf(tr->err, sizeof tr->err, "popen failed: %s", strerror(errno)); return; }
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (!strncmp(line, "torch ", 6)) snprintf(tr->version, sizeof tr->version, "%.60s", line + 6);
        else if (!strncmp(line, "threads ", 8)) snprintf(tr->threads, sizeof tr->threads, "%.250s", line + 8);
        else if (!strncmp(line, "blas ", 5)) snprintf(tr->blas, sizeof tr->blas, "%.500s", line + 5);
        else if (!strncmp(line, "ms ", 3)) {
            char key[32];
            double med, best, wall;
            int n;
            if (sscanf(line + 3, "%31s %lf %lf %d %lf", key, &med, &best, &n, &wall) == 5)
                for (int i = 0; i < np; i++)
                    if (!strcmp(key, presets[i])) {
                        tr->med_ms[i] = med; tr->best_ms[i] = best; tr->steps[i] = n; tr->wall_ms[i] = wall;
                        tr->have[i] = 1;
                    }
        } else if (!strncmp(line, "error ", 6) || !strncmp(line, "Traceback", 9)) {
            if (!tr->err[0]) snprintf(tr->err, sizeof tr->err, "%.1000s", line);
        }
    }
    int st = pclose(f);
    if (st != 0 && !tr->err[0]) snprintf(tr->err, sizeof tr->err, "python exited with status %d", st);
    if (tr->err[0]) fprintf(stderr, "bench_train: PyTorch: %s\n", tr->err);
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
    fprintf(stderr, "usage: bench_train [--presets paper,paper-d32] [--isa scalar,avx2] [--min-s S] "
                    "[--min-steps N] [--clock cpu|wall] [--no-torch] [--torch-script PATH]\n");
    exit(2);
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

int main(int argc, char **argv)
{
    double min_s = 2.0;
    int min_steps = 3, use_torch = 1;
    const char *script = 0, *preset_list = "paper,paper-d32", *isa_list = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--min-s") && i + 1 < argc) {
            min_s = atof(argv[++i]);
            if (!(min_s >= 0)) usage();
        } else if (!strcmp(argv[i], "--min-steps") && i + 1 < argc) {
            min_steps = atoi(argv[++i]);
            if (min_steps < 1) usage();
        } else if (!strcmp(argv[i], "--presets") && i + 1 < argc) preset_list = argv[++i];
        else if (!strcmp(argv[i], "--isa") && i + 1 < argc) isa_list = argv[++i];
        else if (!strcmp(argv[i], "--no-torch")) use_torch = 0;
        else if (!strcmp(argv[i], "--clock") && i + 1 < argc) {
            i++;
            if (!strcmp(argv[i], "cpu")) g_cpu_clock = 1;
            else if (!strcmp(argv[i], "wall")) g_cpu_clock = 0;
            else usage();
        }
        else if (!strcmp(argv[i], "--torch-script") && i + 1 < argc) script = argv[++i];
        else usage();
    }
    static char script_buf[1024];
    if (!script) { /* tools/ next to build/ (argv[0] = .../build/bench_train), else cwd */
        const char *slash = strrchr(argv[0], '/');
        if (slash) {
            snprintf(script_buf, sizeof script_buf, "%.*s/../tools/bench_train_torch.py", (int)(slash - argv[0]),
                     argv[0]);
            if (access(script_buf, R_OK) != 0) snprintf(script_buf, sizeof script_buf, "tools/bench_train_torch.py");
        } else {
            snprintf(script_buf, sizeof script_buf, "tools/bench_train_torch.py");
        }
        script = script_buf;
    }
    char presets[MAX_PRESETS][32];
    int np = split_list(preset_list, presets, MAX_PRESETS);
    if (np <= 0) usage();
    qk_model_config cfgs[MAX_PRESETS];
    for (int p = 0; p < np; p++)
        if (qk_model_preset(presets[p], &cfgs[p]) != QK_OK || cfgs[p].kind != QK_MODEL_LM) {
            fprintf(stderr, "bench_train: '%s' is not a language-model preset\n", presets[p]);
            return 2;
        }
    qk_isa isas[QK_ISA_COUNT];
    int nisa = 0;
    if (isa_list) {
        char names[QK_ISA_COUNT][32];
        int k = split_list(isa_list, names, QK_ISA_COUNT);
        if (k <= 0) usage();
        for (int j = 0; j < k; j++) {
            int found = 0;
            for (int i = 0; i < QK_ISA_COUNT; i++)
                if (!strcmp(names[j], qk_isa_name((qk_isa)i)) && qk_isa_available((qk_isa)i)) {
                    isas[nisa++] = (qk_isa)i;
                    found = 1;
                }
            if (!found) {
                fprintf(stderr, "bench_train: ISA path '%s' is not available here\n", names[j]);
                return 2;
            }
        }
    } else {
        for (int i = 0; i < QK_ISA_COUNT; i++)
            if (qk_isa_available((qk_isa)i)) isas[nisa++] = (qk_isa)i;
    }

    char cmdline[1024] = "";
    for (int i = 0; i < argc; i++) {
        size_t l = strlen(cmdline);
        snprintf(cmdline + l, sizeof cmdline - l, "%s%s", i ? " " : "", argv[i]);
    }
    char cpu[256];
    cpu_model(cpu, sizeof cpu);
    measure_peaks();

    static run_result res[MAX_PRESETS][QK_ISA_COUNT];
    static torch_result tr;
    int mismatch = 0, failed = 0;
    for (int p = 0; p < np; p++) {
        const qk_model_config *c = &cfgs[p];
        int ntok = c->B * (c->T + 1);
        int *tokens = malloc(sizeof(int) * (size_t)ntok);
        if (!tokens) return 2;
        qk_rng rng;
        qk_rng_seed(&rng, 20240611u);
        for (int i = 0; i < ntok; i++) tokens[i] = (int)(qk_rng_u64(&rng) % (uint64_t)c->V);
        for (int s = 0; s < nisa; s++) {
            qk_isa_select(isas[s]);
            fprintf(stderr, "bench_train: %s on %s ...\n", presets[p], qk_isa_name(isas[s]));
            res[p][s] = run_model(c, tokens, min_s, min_steps);
            if (!res[p][s].ok) failed = 1;
            if (s > 0 && res[p][s].ok && res[p][0].ok && res[p][s].hash2 != res[p][0].hash2) mismatch = 1;
        }
        free(tokens);
        /* PyTorch right after the C runs of the same preset (the machine's load drifts) */
        if (use_torch) {
            fprintf(stderr, "bench_train: %s in PyTorch ...\n", presets[p]);
            run_torch(script, presets, np, p, min_s, &tr);
        }
    }
    measure_peaks();

    /* report */
    printf("$ %s\n\n", cmdline);
    printf("CPU: %s, 1 thread; compiler: gcc %s\n", cpu, __VERSION__);
    printf("step = qk_model_sr_step + forward + backward + AdamW on one fixed batch; after 1 warm-up step, "
           "steps until >= %g s and >= %d steps; median and best ms per step in %s; GFLOP/s, %% peak and "
           "speed-ups from the medians\n", min_s, min_steps,
           g_cpu_clock ? "process CPU time (CLOCK_PROCESS_CPUTIME_ID; PyTorch: time.process_time), also the "
                         "median wall-clock time" : "wall-clock time");
    {
        double la[3] = {0, 0, 0};
        FILE *f = fopen("/proc/loadavg", "r");
        if (f) {
            if (fscanf(f, "%lf %lf %lf", &la[0], &la[1], &la[2]) != 3) la[0] = la[1] = la[2] = 0;
            fclose(f);
        }
        printf("load average at the end: %.2f %.2f %.2f (%ld CPUs online)\n", la[0], la[1], la[2],
               sysconf(_SC_NPROCESSORS_ONLN));
    }
    printf("measured FP32 peak: avx2 %.1f GFLOP/s (_mm256_fmadd_ps, %d accumulators); scalar fmaf() %.2f GFLOP/s "
           "(libm call); %% peak is against the avx2 peak\n", g_peak_avx, g_best_nacc, g_peak_fmaf);
    printf("GFLOP per step (matrix products, forward + backward):");
    for (int p = 0; p < np; p++) printf(" %s %.3f%s", presets[p], step_flops(&cfgs[p]) * 1e-9, p + 1 < np ? "," : "");
    printf("\n");
    if (use_torch)
        printf("PyTorch: %s float32, torch.get_num_threads() = %s, BLAS %s%s%s\n", tr.version[0] ? tr.version : "?",
               tr.threads[0] ? tr.threads : "?", tr.blas[0] ? tr.blas : "?", tr.err[0] ? "; " : "", tr.err);
    printf("\n| preset | d | implementation | ms/step | best ms | wall ms | fwd ms | bwd ms | AdamW ms | GFLOP/s "
           "| %% peak | speed-up vs PyTorch (median / best) |\n");
    printf("|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    for (int p = 0; p < np; p++) {
        double fl = step_flops(&cfgs[p]);
        int ht = use_torch && tr.have[p];
        for (int s = 0; s < nisa; s++) {
            run_result *r = &res[p][s];
            if (!r->ok) {
                printf("| %s | %d | qkspec %s | failed | | | | | | | | |\n", presets[p], cfgs[p].d,
                       qk_isa_name(isas[s]));
                continue;
            }
            double gf = fl / (r->med_ms * 1e-3) * 1e-9;
            printf("| %s | %d | qkspec %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.1f | %.0f%% |", presets[p],
                   cfgs[p].d, qk_isa_name(isas[s]), r->med_ms, r->best_ms, r->wall_ms, r->fwd_ms, r->bwd_ms,
                   r->adam_ms, gf,
                   g_peak_avx > 0 ? 100.0 * gf / g_peak_avx : 0.0);
            if (ht) printf(" %.2f× / %.2f× |\n", tr.med_ms[p] / r->med_ms, tr.best_ms[p] / r->best_ms);
            else printf(" — |\n");
        }
        if (ht) {
            double gf = fl / (tr.med_ms[p] * 1e-3) * 1e-9;
            printf("| %s | %d | PyTorch %s fp32 | %.2f | %.2f | %.2f | | | | %.1f | %.0f%% | 1 |\n", presets[p],
                   cfgs[p].d, tr.version, tr.med_ms[p], tr.best_ms[p], tr.wall_ms[p], gf,
                   g_peak_avx > 0 ? 100.0 * gf / g_peak_avx : 0.0);
        }
    }
    printf("\nsteps timed:");
    for (int p = 0; p < np; p++)
        for (int s = 0; s < nisa; s++)
            printf(" %s/%s %d,", presets[p], qk_isa_name(isas[s]), res[p][s].steps);
    if (use_torch)
        for (int p = 0; p < np; p++)
            if (tr.have[p]) printf(" %s/PyTorch %d,", presets[p], tr.steps[p]);
    printf("\n");
    for (int s = 0; s < nisa; s++)
        if (isas[s] == QK_ISA_SCALAR && g_peak_fmaf > 0)
            for (int p = 0; p < np; p++)
                if (res[p][s].ok)
                    printf("scalar path, %s: %.0f%% of the scalar fmaf() peak\n", presets[p],
                           100.0 * step_flops(&cfgs[p]) / (res[p][s].med_ms * 1e-3) * 1e-9 / g_peak_fmaf);
    printf("bit-identical across ISA paths (parameter hash after 2 steps): %s\n",
           nisa < 2 ? "only one path" : mismatch ? "NO — MISMATCH" : "yes");
    for (int p = 0; p < np; p++)
        for (int s = 0; s < nisa; s++)
            if (res[p][s].ok)
                printf("  %s %s: hash %016llx; loss of the last step (step %d) %.7g\n", presets[p], qk_isa_name(isas[s]),
                       (unsigned long long)res[p][s].hash2, res[p][s].steps + 1, (double)res[p][s].loss_last);
    return mismatch || failed ? 1 : 0;
}
