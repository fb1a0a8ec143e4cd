/* cmd_collapse_sweep.c — `qkspec collapse-sweep`: rank collapse at initialisation over
 * depth and width (SPEC §1.4) for every variant, the bound's constant per layer beside
 * the measured contraction, and the cubic exponent (constant-free form) over seeds and
 * widths, each with its spread.
 *
 * One stack of L layers per width and seed: BERT's initialisation draws every layer
 * from its own stream (qk_collapse_init), so the first l layers of an L-layer stack are
 * the l-layer stack and r_l against depth l = 0..L is one forward. */
#include "qk_fp.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "qk_collapse.h"

#define MAX_W 8
#define MAX_S 16
#define MAX_Q 32
#define NV QK_COL_NVARIANT
/* residuals below 2^-16 of the norm are at the float32 rounding floor (as collapse) */
#define RESOLVABLE 0x1p-16

typedef struct {
    int widths[MAX_W], nw, L, n, seeds, seqs, exp_seqs, exp_L;
    double exp_logit; /* exponent runs: weights N(0, s²) with s² d = exp_logit */
    const char *csv;
} sweep_opts;

/* per width: r_l per variant over (seed, sequence); the bound; the exponent */
static double g_r[MAX_W][NV][MAX_S * MAX_Q][QK_MAX_LAYERS + 1];
static double g_c[MAX_W][MAX_S][QK_MAX_LAYERS];        /* 4 β_l H / sqrt(d_h) per layer */
static double g_contr[MAX_W][MAX_S * MAX_Q][QK_MAX_LAYERS]; /* san: res_l / res_{l-1}^3  */
static double g_exp[MAX_W][MAX_S * MAX_Q * QK_MAX_LAYERS];
static int g_nexp[MAX_W];

static void sweep_usage(FILE *f)
{
    fprintf(f, "usage: qkspec collapse-sweep [--widths D,D,..] [--layers L] [--n N] [--seeds S] [--seqs Q]\n"
               "                              [--exp-seqs Q] [--exp-layers L] [--csv FILE]\n"
               "  BERT shape per width d: H = d/64 heads (at least 1), FFN 4d, weights N(0, 0.02^2), post-LN;\n"
               "  defaults: widths 64,128,256,768, 24 layers, n 128 tokens, 2 seeds, 4 windows of collapse's\n"
               "  built-in text per seed. Exponent: variant pure on N(0, 1) tokens, weights N(0, 0.7/d), 8 layers,\n"
               "  --exp-seqs 16 per seed.\n");
}

static int parse_widths(const char *v, sweep_opts *o)
{
    o->nw = 0;
    while (v && *v && o->nw < MAX_W) {
        char *end;
        long d = strtol(v, &end, 10);
        if (end == v || d < 2 || d > QK_MAX_D || (*end && *end != ',')) return -1;
        o->widths[o->nw++] = (int)d;
        v = *end ? end + 1 : end;
    }
    return o->nw ? 0 : -1;
}

static int sweep_parse(int argc, char **argv, sweep_opts *o)
{
    const char *cmd = "collapse-sweep";
    static const int dw[4] = {64, 128, 256, 768};
    memset(o, 0, sizeof *o);
    memcpy(o->widths, dw, sizeof dw);
    o->nw = 4, o->L = 24, o->n = 128, o->seeds = 2, o->seqs = 4, o->exp_seqs = 16, o->exp_L = 8;
    o->exp_logit = 0.7;
    for (int i = 0; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long n;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { sweep_usage(stdout); exit(0); }
        if (!strcmp(a, "--widths")) { if (parse_widths(v, o)) { fprintf(stderr, "qkspec %s: --widths: a list like 64,128\n", cmd); return -1; } }
        else if (!strcmp(a, "--layers")) { if (cli_parse_long(cmd, a, v, 1, QK_MAX_LAYERS, &n)) return -1; o->L = (int)n; }
        else if (!strcmp(a, "--n")) { if (cli_parse_long(cmd, a, v, 2, QK_MAX_T, &n)) return -1; o->n = (int)n; }
        else if (!strcmp(a, "--seeds")) { if (cli_parse_long(cmd, a, v, 1, MAX_S, &n)) return -1; o->seeds = (int)n; }
        else if (!strcmp(a, "--seqs")) { if (cli_parse_long(cmd, a, v, 1, MAX_Q, &n)) return -1; o->seqs = (int)n; }
        else if (!strcmp(a, "--exp-seqs")) { if (cli_parse_long(cmd, a, v, 0, MAX_Q, &n)) return -1; o->exp_seqs = (int)n; }
        else if (!strcmp(a, "--exp-layers")) { if (cli_parse_long(cmd, a, v, 3, QK_MAX_LAYERS, &n)) return -1; o->exp_L = (int)n; }
        else if (!strcmp(a, "--csv")) { if (!v) { fprintf(stderr, "qkspec %s: --csv needs a file\n", cmd); return -1; } o->csv = v; }
        else { fprintf(stderr, "qkspec %s: unknown option '%s'\n", cmd, a); sweep_usage(stderr); return -1; }
    }
    return 0;
}

/* Binds and initialises a stack of cfg in the tool's model memory; x0 and the head-norm
 * scratch follow it. */
static int open_stack(const qk_collapse_config *cfg, uint64_t seed, qk_collapse *s, float **x0, float **hs)
{
    qk_collapse_sizes_t sz;
    qk_status st = qk_collapse_sizes(cfg, &sz);
    size_t extra = (size_t)cfg->n * cfg->d + qk_collapse_head_norms_scratch(cfg->d);
    if (st != QK_OK || sz.params + sz.acts + sz.scratch + extra > cli_model_capacity_floats()) {
        fprintf(stderr, "qkspec collapse-sweep: d %d, L %d: %s\n", cfg->d, cfg->L,
                st != QK_OK ? qk_status_str(st) : "does not fit the tool's model memory");
        return -1;
    }
    float *p = cli_model_memory();
    if (qk_collapse_bind(s, cfg, p, p + sz.params, p + sz.params + sz.acts) != QK_OK) return -1;
    *x0 = p + sz.params + sz.acts + sz.scratch;
    *hs = *x0 + (size_t)cfg->n * cfg->d;
    return qk_collapse_init(s, seed) == QK_OK ? 0 : -1;
}

static qk_collapse_config width_config(const sweep_opts *o, int d, int L)
{
    qk_collapse_config c = qk_collapse_default_config(o->n, d, d >= 64 ? d / 64 : 1, L);
    return c;
}

/* Window q of the built-in text through the stack's embedding into x0. */
static void text_window(qk_collapse *s, int q, float *x0)
{
    static int tok[QK_MAX_T];
    size_t len;
    const char *t = cli_collapse_text(&len);
    int n = s->cfg.n;
    size_t start = ((size_t)q * (size_t)n) % (len - (size_t)n + 1);
    for (int i = 0; i < n; i++) tok[i] = (unsigned char)t[start + (size_t)i];
    qk_collapse_embed(s, tok, x0);
}

static int ok_res(double res, double nrm) { return res >= RESOLVABLE * nrm; }

/* r_l of every variant and the bound's constants, width w, seed index k */
static int run_depth(const sweep_opts *o, int w, int k)
{
    int d = o->widths[w], L = o->L;
    qk_collapse_config cfg = width_config(o, d, L);
    qk_collapse s;
    float *x0, *hs;
    if (open_stack(&cfg, (uint64_t)k + 1, &s, &x0, &hs)) return -1;
    qk_col_bound b;
    static double beta[QK_MAX_LAYERS], res[QK_MAX_LAYERS + 1], nrm[QK_MAX_LAYERS + 1];
    if (qk_collapse_bound(&s.m, 1.0, hs, &b, beta) != QK_OK) return -1;
    double dh = (double)(d / cfg.H);
    for (int l = 0; l < L; l++) g_c[w][k][l] = 4.0 * beta[l] * cfg.H / sqrt(dh);
    for (int v = 0; v < NV; v++)
        for (int q = 0; q < o->seqs; q++) {
            text_window(&s, q, x0);
            qk_status st = qk_collapse_forward(&s, (qk_col_variant)v, x0, res, nrm);
            if (st != QK_OK && st != QK_ERR_NONFINITE) return -1;
            int i = k * o->seqs + q;
            for (int l = 0; l <= L; l++) g_r[w][v][i][l] = res[l] / nrm[l];
            if (v == QK_COL_PURE)
                for (int l = 1; l <= L; l++)
                    g_contr[w][i][l - 1] = ok_res(res[l], nrm[l]) && ok_res(res[l - 1], nrm[l - 1])
                                               ? res[l] / (res[l - 1] * res[l - 1] * res[l - 1])
                                               : NAN;
        }
    return 0;
}

/* The constant-free exponent Δlog res_l / Δlog res_{l-1} of pure on N(0, 1) tokens with
 * weights N(0, exp_logit/d) (attention logits of order exp_logit: a collapse over several
 * layers), every l >= 2 with three resolvable residuals. */
static int run_exponent(const sweep_opts *o, int w, int k)
{
    int d = o->widths[w];
    qk_collapse_config cfg = width_config(o, d, o->exp_L);
    cfg.init_std = sqrt(o->exp_logit / d);
    cfg.V = 0;
    qk_collapse s;
    float *x0, *hs;
    if (open_stack(&cfg, (uint64_t)k + 1, &s, &x0, &hs)) return -1;
    qk_rng r;
    qk_rng_seed(&r, ((uint64_t)k + 1) ^ 0xda7a5eedda7a5eedull);
    static double res[QK_MAX_LAYERS + 1], nrm[QK_MAX_LAYERS + 1];
    for (int q = 0; q < o->exp_seqs; q++) {
        qk_collapse_gauss_input(&r, x0, cfg.n, d);
        qk_status st = qk_collapse_forward(&s, QK_COL_PURE, x0, res, nrm);
        if (st != QK_OK && st != QK_ERR_NONFINITE) return -1;
        for (int l = 2; l <= cfg.L; l++) {
            if (!ok_res(res[l], nrm[l]) || !ok_res(res[l - 1], nrm[l - 1]) || !ok_res(res[l - 2], nrm[l - 2])) continue;
            double a = qk_log(res[l - 2]), m = qk_log(res[l - 1]), z = qk_log(res[l]);
            if (m != a) g_exp[w][g_nexp[w]++] = (z - m) / (m - a);
        }
    }
    return 0;
}

static const int show_l[] = {0, 1, 2, 4, 8, 12, 16, 24, 32, 48};
#define NSHOW ((int)(sizeof show_l / sizeof show_l[0]))

static void print_depth(const sweep_opts *o)
{
    int S = o->seeds * o->seqs;
    printf("\nr_l at initialisation, mean +- std over %d seeds x %d text windows (n %d; H = d/64, FFN 4d)\n",
           o->seeds, o->seqs, o->n);
    printf(" %-12s %5s", "variant", "d");
    for (int j = 0; j < NSHOW && show_l[j] <= o->L; j++) printf("  l=%-15d", show_l[j]);
    printf("\n");
    for (int v = 0; v < NV; v++)
        for (int w = 0; w < o->nw; w++) {
            printf(" %-12s %5d", qk_col_variant_name((qk_col_variant)v), o->widths[w]);
            for (int j = 0; j < NSHOW && show_l[j] <= o->L; j++) {
                double m, sd;
                cli_mean_std(&g_r[w][v][0][show_l[j]], S, QK_MAX_LAYERS + 1, &m, &sd, NULL);
                char cell[40];
                snprintf(cell, sizeof cell, "%.3g+-%.2g", m, sd);
                printf("  %-17s", cell);
            }
            printf("\n");
        }
}

static void print_bound(const sweep_opts *o)
{
    int S = o->seeds * o->seqs;
    printf("\nthe bound (SPEC 1.4, gamma 1): per-layer constant c_l = 4 beta_l H / sqrt(d_h), mean +- std over %d "
           "seeds;\nbeside it what pure measures: res_l / res_{l-1}^3 (the bound needs it <= c_l), mean +- std, where "
           "resolvable\n", o->seeds);
    printf(" %5s %5s  %-18s %-18s\n", "d", "layer", "c_l", "res_l/res_{l-1}^3");
    for (int w = 0; w < o->nw; w++)
        for (int j = 1; j < NSHOW && show_l[j] <= o->L; j++) {
            int l = show_l[j];
            double cm, cs, mm, ms;
            int cnt;
            cli_mean_std(&g_c[w][0][l - 1], o->seeds, QK_MAX_LAYERS, &cm, &cs, NULL);
            cli_mean_std(&g_contr[w][0][l - 1], S, QK_MAX_LAYERS, &mm, &ms, &cnt);
            char a[40], b[48];
            snprintf(a, sizeof a, "%.4g+-%.2g", cm, cs);
            if (cnt) snprintf(b, sizeof b, "%.3g+-%.2g (%d)", mm, ms, cnt);
            else snprintf(b, sizeof b, "- (collapsed)");
            printf(" %5d %5d  %-18s %-18s\n", o->widths[w], l, a, b);
        }
}

static void print_exponent(const sweep_opts *o)
{
    if (!o->exp_seqs) return;
    static double all[MAX_W * MAX_S * MAX_Q * QK_MAX_LAYERS];
    int na = 0;
    printf("\nthe exponent (constant-free: dlog res_l / dlog res_{l-1}; the cubic law: 3), pure, %d layers, N(0, 1) "
           "tokens,\nweights N(0, %.2g/d), %d seeds x %d sequences per width\n", o->exp_L, o->exp_logit, o->seeds,
           o->exp_seqs);
    printf(" %5s  %-10s %-8s %-6s %-8s %-8s\n", "d", "mean", "std", "count", "min", "max");
    for (int w = 0; w < o->nw; w++) {
        double m, sd, lo = INFINITY, hi = -INFINITY;
        int c;
        cli_mean_std(g_exp[w], g_nexp[w], 1, &m, &sd, &c);
        for (int i = 0; i < g_nexp[w]; i++) {
            lo = g_exp[w][i] < lo ? g_exp[w][i] : lo;
            hi = g_exp[w][i] > hi ? g_exp[w][i] : hi;
            all[na++] = g_exp[w][i];
        }
        printf(" %5d  %-10.4g %-8.3g %-6d %-8.4g %-8.4g\n", o->widths[w], m, sd, c, lo, hi);
    }
    double m, sd;
    int c;
    cli_mean_std(all, na, 1, &m, &sd, &c);
    printf(" %5s  %-10.4g %-8.3g %-6d\n", "all", m, sd, c);
}

static int csv_fill(FILE *f, void *ctx)
{
    const sweep_opts *o = (const sweep_opts *)ctx;
    int S = o->seeds * o->seqs;
    fprintf(f, "quantity,variant,d,H,layer,mean,std,count\n");
    for (int w = 0; w < o->nw; w++) {
        int d = o->widths[w], H = d >= 64 ? d / 64 : 1;
        for (int v = 0; v < NV; v++)
            for (int l = 0; l <= o->L; l++) {
                double m, sd;
                int c;
                cli_mean_std(&g_r[w][v][0][l], S, QK_MAX_LAYERS + 1, &m, &sd, &c);
                fprintf(f, "r,%s,%d,%d,%d,%.9g,%.9g,%d\n", qk_col_variant_name((qk_col_variant)v), d, H, l, m, sd, c);
            }
        for (int l = 1; l <= o->L; l++) {
            double m, sd;
            int c;
            cli_mean_std(&g_c[w][0][l - 1], o->seeds, QK_MAX_LAYERS, &m, &sd, &c);
            fprintf(f, "bound_c,pure,%d,%d,%d,%.9g,%.9g,%d\n", d, H, l, m, sd, c);
            cli_mean_std(&g_contr[w][0][l - 1], S, QK_MAX_LAYERS, &m, &sd, &c);
            fprintf(f, "res_over_cube,pure,%d,%d,%d,%.9g,%.9g,%d\n", d, H, l, m, sd, c);
        }
        double m, sd;
        int c;
        cli_mean_std(g_exp[w], g_nexp[w], 1, &m, &sd, &c);
        fprintf(f, "exponent,pure,%d,%d,,%.9g,%.9g,%d\n", d, H, m, sd, c);
    }
    return 0;
}

int qk_cmd_collapse_sweep(int argc, char **argv)
{
    sweep_opts o;
    if (sweep_parse(argc, argv, &o)) return 2;
    printf("qkspec collapse-sweep: widths");
    for (int w = 0; w < o.nw; w++) printf(" %d", o.widths[w]);
    printf(", %d layers, n %d, %d seeds x %d windows, isa %s\n", o.L, o.n, o.seeds, o.seqs,
           qk_isa_name(qk_isa_current()));
    for (int w = 0; w < o.nw; w++) {
        g_nexp[w] = 0;
        for (int k = 0; k < o.seeds; k++) {
            if (run_depth(&o, w, k) || (o.exp_seqs && run_exponent(&o, w, k))) return 1;
            fprintf(stderr, "collapse-sweep: d %d seed %d done\n", o.widths[w], k + 1);
        }
    }
    print_depth(&o);
    print_bound(&o);
    print_exponent(&o);
    if (o.csv && cli_write_file("collapse-sweep", o.csv, csv_fill, &o)) return 1;
    return 0;
}
