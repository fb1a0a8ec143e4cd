/* cmd_collapse_train.c — `qkspec collapse-train`: rank collapse after training (SPEC §1.4,
 * the trained half of the paper's residual figure).
 *
 * For every variant, depth L and seed: a byte-level language model of the collapse
 * layer (post-LN, GELU FFN of width 4d, BERT initialisation; the model of qk_model.h, so
 * the same layer as `collapse`), trained by the project's trainer (train_run) on an
 * English text, with r_l of every layer's hidden state at initialisation and at every
 * evaluation (train --rank-csv: the mean over the last validation batch's sequences).
 * Each run leaves DIR/LABEL.csv (r_l) and DIR/LABEL_evals.csv (losses), LABEL =
 * L<L>_<variant>_s<seed>; the command then prints r_L at initialisation and after
 * training, mean over the seeds with their range, and the final validation loss, and
 * writes the same per layer and evaluation as one CSV.
 * --from DIR summarises runs made earlier (by this command, or by `train --rank-csv` and
 * `--out` with those labels), without training. */
#include "qk_fp.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "train.h"

#define CT_MAX_DEPTHS 8
#define CT_MAX_SEEDS 16
#define CT_MAX_EVALS 64
#define NV QK_NVARIANT

typedef struct {
    int depths[CT_MAX_DEPTHS], ndepths;
    int variants[NV], nvariants;
    int seeds;
    int d, H, T, B;
    long steps;
    int eval_every;
    float lr;
    const char *text, *dir, *from, *csv;
} ct_opts;

/* One run's record, read back from its files. */
typedef struct {
    int found, n;              /* evaluations read                                   */
    long step[CT_MAX_EVALS];
    double r[CT_MAX_EVALS][QK_MAX_LAYERS + 1]; /* NaN where absent                 */
    double val_loss[CT_MAX_EVALS];
} ct_run;

static ct_run g_runs[CT_MAX_DEPTHS][NV][CT_MAX_SEEDS];

static void ct_usage(FILE *f)
{
    fprintf(f, "usage: qkspec collapse-train --out DIR [--text FILE] [--layers L,L,..] [--variants V,V,..|all]\n"
               "                              [--seeds S] [--d D] [--heads H] [--seq T] [--batch B] [--lr X]\n"
               "                              [--steps N] [--eval-every N] [--csv FILE]\n"
               "       qkspec collapse-train --from DIR [--layers ..] [--variants ..] [--seeds S] [--csv FILE]\n"
               "  Byte-level language models of every variant (post-LN, GELU FFN 4d, BERT initialisation),\n"
               "  trained on FILE (default: the corpus of tools/get_corpus.sh, else the built-in synthetic\n"
               "  one); r_l of every layer at initialisation and every --eval-every steps. Defaults: layers\n"
               "  2,4,6, every variant, 2 seeds, d 64, heads d/16, seq 64, batch 16, lr 1e-3, 500 steps,\n"
               "  evaluations every 125. --from DIR: summarise runs made earlier (files L<L>_<variant>_s<seed>.csv\n"
               "  and L<L>_<variant>_s<seed>_evals.csv) without training.\n");
}

static int parse_list(const char *v, int *out, int cap, long lo, long hi)
{
    int n = 0;
    while (v && *v) {
        char *end;
        long x = strtol(v, &end, 10);
        if (end == v || x < lo || x > hi || (*end && *end != ',') || n == cap) return -1;
        out[n++] = (int)x;
        v = *end ? end + 1 : end;
        if (*end && !*v) return -1; /* a trailing comma */
    }
    return n ? n : -1;
}

static int parse_variants(const char *v, ct_opts *o)
{
    o->nvariants = 0;
    if (v && !strcmp(v, "all")) {
        for (int k = 0; k < NV; k++) o->variants[o->nvariants++] = k;
        return 0;
    }
    char name[32];
    while (v && *v) {
        size_t len = strcspn(v, ",");
        qk_variant x;
        if (len == 0 || len >= sizeof name || o->nvariants == NV) return -1;
        memcpy(name, v, len);
        name[len] = 0;
        if (qk_variant_parse(name, &x) != QK_OK) return -1;
        for (int k = 0; k < o->nvariants; k++)
            if (o->variants[k] == (int)x) return -1; /* listed twice */
        o->variants[o->nvariants++] = (int)x;
        v += len;
        if (*v == ',' && !*++v) return -1;
    }
    return o->nvariants ? 0 : -1;
}

static int ct_parse(int argc, char **argv, ct_opts *o)
{
    const char *cmd = "collapse-train";
    memset(o, 0, sizeof *o);
    o->depths[0] = 2, o->depths[1] = 4, o->depths[2] = 6, o->ndepths = 3;
    parse_variants("all", o);
    o->seeds = 2, o->d = 64, o->T = 64, o->B = 16, o->steps = 500, o->eval_every = 125, o->lr = 1e-3f;
    for (int i = 0; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long n;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { ct_usage(stdout); exit(0); }
        if (!v) { fprintf(stderr, "qkspec %s: %s needs a value\n", cmd, a); return -1; }
        if (!strcmp(a, "--layers")) {
            if ((o->ndepths = parse_list(v, o->depths, CT_MAX_DEPTHS, 1, QK_MAX_LAYERS)) < 0) {
                fprintf(stderr, "qkspec %s: --layers: a list like 2,4,6 (at most %d depths, each 1..%d)\n", cmd,
                        CT_MAX_DEPTHS, QK_MAX_LAYERS);
                return -1;
            }
        } else if (!strcmp(a, "--variants")) {
            if (parse_variants(v, o)) {
                fprintf(stderr, "qkspec %s: --variants: 'all' or a list of distinct variants among transformer, san, "
                                "san+mlp, san+skip, pure, pure+skip\n", cmd);
                return -1;
            }
        } else if (!strcmp(a, "--seeds")) { if (cli_parse_long(cmd, a, v, 1, CT_MAX_SEEDS, &n)) return -1; o->seeds = (int)n; }
        else if (!strcmp(a, "--d")) { if (cli_parse_long(cmd, a, v, 2, QK_MAX_D, &n)) return -1; o->d = (int)n; }
        else if (!strcmp(a, "--heads")) { if (cli_parse_long(cmd, a, v, 1, QK_MAX_D, &n)) return -1; o->H = (int)n; }
        else if (!strcmp(a, "--seq")) { if (cli_parse_long(cmd, a, v, 2, QK_MAX_T, &n)) return -1; o->T = (int)n; }
        else if (!strcmp(a, "--batch")) { if (cli_parse_long(cmd, a, v, 1, 1024, &n)) return -1; o->B = (int)n; }
        else if (!strcmp(a, "--steps")) { if (cli_parse_long(cmd, a, v, 1, TRAIN_MAX_STEPS, &n)) return -1; o->steps = n; }
        else if (!strcmp(a, "--eval-every")) { if (cli_parse_long(cmd, a, v, 1, TRAIN_MAX_STEPS, &n)) return -1; o->eval_every = (int)n; }
        else if (!strcmp(a, "--lr")) { if (cli_parse_float(cmd, a, v, 1e-12, 10, &o->lr)) return -1; }
        else if (!strcmp(a, "--text")) o->text = v;
        else if (!strcmp(a, "--out")) o->dir = v;
        else if (!strcmp(a, "--from")) o->from = v;
        else if (!strcmp(a, "--csv")) o->csv = v;
        else { fprintf(stderr, "qkspec %s: unknown option '%s'\n", cmd, a); ct_usage(stderr); return -1; }
    }
    if (!o->H) o->H = o->d >= 16 ? o->d / 16 : 1;
    if (!!o->dir == !!o->from) {
        fprintf(stderr, "qkspec %s: give exactly one of --out DIR (train) and --from DIR (summarise)\n", cmd);
        return -1;
    }
    if (o->d % o->H) {
        fprintf(stderr, "qkspec %s: --d %d is not a multiple of --heads %d\n", cmd, o->d, o->H);
        return -1;
    }
    if ((o->steps + o->eval_every - 1) / o->eval_every + 1 > CT_MAX_EVALS) {
        fprintf(stderr, "qkspec %s: --steps / --eval-every gives more than %d evaluations\n", cmd, CT_MAX_EVALS - 1);
        return -1;
    }
    return 0;
}

static void run_label(char *buf, size_t cap, int L, int v, int seed)
{
    snprintf(buf, cap, "L%d_%s_s%d", L, qk_variant_name((qk_variant)v), seed);
}

/* DIR/LABEL + suffix, newly allocated (NULL when out of memory, message printed): the
 * one name of a run's file, for writing it and for reading it back */
static char *run_path(const char *dir, const char *label, const char *suffix)
{
    char *base = cli_path_join(dir, label);
    char *p = base ? cli_strcat3(base, suffix, "") : NULL;
    free(base);
    if (!p) fprintf(stderr, "qkspec collapse-train: out of memory\n");
    return p;
}

/* ------------------------------------------------------------------ training */

static int train_one(const ct_opts *o, int L, int v, int seed)
{
    static train_opts t;
    static train_result res;
    static char label[64];
    run_label(label, sizeof label, L, v, seed);
    train_defaults(&t);
    qk_model_config *c = &t.cfg;
    c->d = o->d, c->H = o->H, c->dff = 4 * o->d, c->L = L, c->T = o->T, c->B = o->B;
    c->ln = QK_LN_POST, c->act = QK_ACT_GELU, c->init = QK_INIT_BERT, c->init_std = 0.02;
    c->variant = (qk_variant)v, c->lr = o->lr;
    c->kappa1 = c->kappa2 = 0.0f, c->dropout = 0.0f, c->sigma_reparam = QK_SR_OFF;
    t.seed = (unsigned long long)seed;
    t.steps = o->steps;
    t.eval_every = o->eval_every;
    t.text = o->text;
    t.out = o->dir;
    t.label = label;
    t.progress = 0;
    char *rank = run_path(o->dir, label, ".csv");
    if (!rank) return 1;
    t.rank_csv = rank;
    int rc = train_run(&t, &res);
    free(rank);
    if (rc) return rc;
    int e = res.n - 1;
    printf("  %-24s %6.1f s  val loss %.4f\n", label, res.seconds, res.val_loss[e]);
    fflush(stdout);
    return 0;
}

/* ------------------------------------------------------------------ reading runs back */

/* "run,step,layer,r_mean,r_std" rows of one run from f (named path in messages); 0 or
 * -1 (message printed). Closes f. */
static int read_rank_stream(FILE *f, const char *path, ct_run *r)
{
    char line[512];
    int lineno = 0, bad = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (lineno == 1) {
            if (strncmp(line, "run,step,layer,r_mean,r_std", 27)) bad = 1;
            if (bad) break;
            continue;
        }
        char *p = strchr(line, ','), *end;
        if (!p) { bad = 1; break; }
        long step = strtol(p + 1, &end, 10);
        if (end == p + 1 || *end != ',' || step < 0) { bad = 1; break; }
        long layer = strtol(end + 1, &p, 10);
        if (p == end + 1 || *p != ',' || layer < 0 || layer > QK_MAX_LAYERS) { bad = 1; break; }
        double x = strtod(p + 1, &end);
        /* r = ‖res‖/‖X‖ >= 0; NaN where train recorded a non-finite state */
        if (end == p + 1 || *end != ',' || x < 0 || x == INFINITY) { bad = 1; break; }
        int e = r->n - 1;
        if (e < 0 || r->step[e] != step) {
            if ((e >= 0 && step <= r->step[e]) || r->n == CT_MAX_EVALS) { bad = 1; break; }
            e = r->n++;
            r->step[e] = step;
            r->val_loss[e] = NAN;
            for (int l = 0; l <= QK_MAX_LAYERS; l++) r->r[e][l] = NAN;
        }
        r->r[e][layer] = x;
    }
    fclose(f);
    if (bad || r->n == 0) {
        fprintf(stderr, "qkspec collapse-train: %s: line %d: not a rank CSV of train --rank-csv (run,step,layer,"
                        "r_mean,r_std; r_mean >= 0; steps increasing; at most %d evaluations)\n", path, lineno, CT_MAX_EVALS);
        return -1;
    }
    r->found = 1;
    return 0;
}

/* The same from a file: 1 if it cannot be opened (no such run). */
static int read_rank(const char *path, ct_run *r)
{
    FILE *f = fopen(path, "r");
    return f ? read_rank_stream(f, path, r) : 1;
}

/* The val_loss column of LABEL_evals.csv at the rank file's steps (optional file). */
static void read_evals(const char *path, ct_run *r)
{
    FILE *f = fopen(path, "r");
    if (!f) return;
    char line[2048];
    if (fgets(line, sizeof line, f) && !strncmp(line, "run,step,train_loss,val_loss,", 29))
        while (fgets(line, sizeof line, f)) {
            char *p = strchr(line, ','), *end;
            if (!p) break;
            long step = strtol(p + 1, &end, 10);
            if (end == p + 1 || *end != ',' || !(p = strchr(end + 1, ','))) break;
            double vl = strtod(p + 1, &end);
            if (end == p + 1) break;
            for (int e = 0; e < r->n; e++)
                if (r->step[e] == step) r->val_loss[e] = vl;
        }
    fclose(f);
}

static int read_runs(const ct_opts *o, const char *dir)
{
    int any = 0;
    char label[64];
    for (int i = 0; i < o->ndepths; i++)
        for (int k = 0; k < o->nvariants; k++)
            for (int s = 0; s < o->seeds; s++) {
                ct_run *r = &g_runs[i][o->variants[k]][s];
                memset(r, 0, sizeof *r);
                run_label(label, sizeof label, o->depths[i], o->variants[k], s + 1);
                char *rank = run_path(dir, label, ".csv"), *ev = run_path(dir, label, "_evals.csv");
                int rc = rank && ev ? read_rank(rank, r) : -1;
                if (rc == 0) read_evals(ev, r), any = 1;
                free(rank), free(ev);
                if (rc < 0) return -1;
            }
    if (!any) {
        fprintf(stderr, "qkspec collapse-train: %s: no run files (L<L>_<variant>_s<seed>.csv) for these options\n", dir);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ summary */

/* Mean, min and max over the seeds found of r_l at evaluation e (seeds aligned by
 * evaluation index; a seed with another step there is left out). */
static int seed_stats(const ct_opts *o, int i, int v, int e, int l, double *mean, double *lo, double *hi, double *vl)
{
    int c = 0, cv = 0;
    double s = 0, sv = 0;
    long step = -1;
    *lo = INFINITY, *hi = -INFINITY;
    for (int k = 0; k < o->seeds; k++) {
        const ct_run *r = &g_runs[i][v][k];
        if (!r->found || e >= r->n || (step >= 0 && r->step[e] != step)) continue;
        step = r->step[e];
        double x = r->r[e][l];
        if (x - x != 0.0) continue;
        s += x, c++;
        if (x < *lo) *lo = x;
        if (x > *hi) *hi = x;
        if (r->val_loss[e] - r->val_loss[e] == 0.0) sv += r->val_loss[e], cv++;
    }
    *mean = c ? s / c : NAN;
    if (!c) *lo = *hi = NAN;
    *vl = cv ? sv / cv : NAN;
    return c;
}

static const ct_run *first_run(const ct_opts *o, int i, int v)
{
    for (int k = 0; k < o->seeds; k++)
        if (g_runs[i][v][k].found) return &g_runs[i][v][k];
    return NULL;
}

static int last_eval(const ct_opts *o, int i, int v)
{
    int n = 0;
    for (int k = 0; k < o->seeds; k++)
        if (g_runs[i][v][k].found && (n == 0 || g_runs[i][v][k].n < n)) n = g_runs[i][v][k].n;
    return n - 1;
}

static void print_summary(const ct_opts *o)
{
    printf("\nr_L of the last layer's output (l = L), mean over the seeds found [min, max]; validation loss "
           "after training (nats per byte)\n %-12s %3s %5s  %-10s %-30s %s\n", "variant", "L", "seeds", "init",
           "trained [range]", "val loss");
    for (int k = 0; k < o->nvariants; k++)
        for (int i = 0; i < o->ndepths; i++) {
            int v = o->variants[k], L = o->depths[i], e = last_eval(o, i, v);
            double m0, lo0, hi0, vl0, m, lo, hi, vl;
            if (e < 0) {
                printf(" %-12s %3d %5d  (no runs)\n", qk_variant_name((qk_variant)v), L, 0);
                continue;
            }
            int c = seed_stats(o, i, v, 0, L, &m0, &lo0, &hi0, &vl0);
            seed_stats(o, i, v, e, L, &m, &lo, &hi, &vl);
            char cell[64];
            snprintf(cell, sizeof cell, "%.3g [%.3g, %.3g] (step %ld)", m, lo, hi, first_run(o, i, v)->step[e]);
            printf(" %-12s %3d %5d  %-10.3g %-30s %.3f\n", qk_variant_name((qk_variant)v), L, c, m0, cell, vl);
        }
}

static int csv_fill(FILE *f, void *ctx)
{
    const ct_opts *o = (const ct_opts *)ctx;
    fprintf(f, "variant,layers,step,layer,r_mean,r_min,r_max,seeds,val_loss\n");
    for (int k = 0; k < o->nvariants; k++)
        for (int i = 0; i < o->ndepths; i++) {
            int v = o->variants[k], L = o->depths[i], ne = last_eval(o, i, v) + 1;
            const ct_run *first = first_run(o, i, v);
            for (int e = 0; e < ne; e++)
                for (int l = 0; l <= L; l++) {
                    double m, lo, hi, vl;
                    int c = seed_stats(o, i, v, e, l, &m, &lo, &hi, &vl);
                    fprintf(f, "%s,%d,%ld,%d,%.9g,%.9g,%.9g,%d,%.9g\n", qk_variant_name((qk_variant)v), L, first->step[e],
                            l, m, lo, hi, c, vl);
                }
        }
    return 0;
}

int qk_cmd_collapse_train(int argc, char **argv)
{
    static ct_opts o;
    if (ct_parse(argc, argv, &o)) return 2;
    if (o.dir) {
        if (!o.text) {
            const char *cached = train_cached_corpus();
            FILE *f = cached ? fopen(cached, "rb") : NULL;
            if (f) fclose(f), o.text = cached;
        }
        if (o.text && cli_check_corpus("collapse-train", o.text, o.T, 0.1f)) return 2;
        if (cli_mkdir("collapse-train", o.dir)) return 1;
        printf("qkspec collapse-train: %s, d %d, %d heads, FFN %d, post-LN, GELU, BERT init, T %d, batch %d, lr %g, "
               "%ld steps, %d seeds, isa %s\n", o.text ? o.text : "the built-in synthetic corpus", o.d, o.H, 4 * o.d,
               o.T, o.B, (double)o.lr, o.steps, o.seeds, qk_isa_name(qk_isa_current()));
        fflush(stdout);
        for (int i = 0; i < o.ndepths; i++)
            for (int k = 0; k < o.nvariants; k++)
                for (int s = 1; s <= o.seeds; s++) {
                    int rc = train_one(&o, o.depths[i], o.variants[k], s);
                    if (rc) return rc;
                }
    }
    if (read_runs(&o, o.dir ? o.dir : o.from)) return 1;
    print_summary(&o);
    if (o.csv) {
        if (cli_write_file("collapse-train", o.csv, csv_fill, &o)) return 1;
        printf("wrote %s\n", o.csv);
    }
    return 0;
}
