/* cmd_train.c — `qkspec train`: the language model on a text file (bytes or words) or
 * the theory model on random walks, with evaluations (loss, perplexity, W_QK eigen
 * statistics, attention entropy, per-position ρ) written as CSV. The training itself
 * is the library's (qk_train.h); this file reads and tokenises the corpus, shows the
 * progress line and writes the files. */
#include "qk_fp.h"
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "qk_eigen.h"
#include "cli.h"
#include "qk_collapse.h"
#include "train.h"

#ifndef QK_CLI_CORPUS_BYTES
#define QK_CLI_CORPUS_BYTES (64u << 20)
#endif
static unsigned char g_text[QK_CLI_CORPUS_BYTES];
static int g_tokens[QK_CLI_CORPUS_BYTES];

/* ------------------------------------------------------------------ options */

void train_defaults(train_opts *o)
{
    memset(o, 0, sizeof *o);
    qk_model_preset("paper-d32", &o->cfg);
    o->cfg.V = 0; /* from the data (256 bytes, or the words); --vocab sets it */
    o->seed = 1;
    o->steps = 1000;
    o->eval_every = 100;
    o->eval_batches = 2;
    o->val_frac = 0.1f;
    o->vocab_max = CLI_VOCAB_MAX_DEFAULT;
    o->label = "run";
    o->progress = 1;
}

void train_usage(FILE *f)
{
    fprintf(f, "usage: qkspec train [--text FILE] [--words] [--vocab N] [--steps N] [--eval-every N]\n"
               "       [--eval-batches N] [--val-frac X] [--out DIR] [--label NAME] [--rank-csv FILE] [--quiet]\n"
               "       [model options]\n"
               "Without --text the language model trains on a built-in synthetic corpus; --preset walk trains\n"
               "the theory model on random walks. Tokens are bytes (256); with --words, words: the N - 1 most\n"
               "frequent and <unk> (--vocab N, or --vocab-max N; default %d). --label names the CSV files\n"
               "(LABEL_evals.csv): letters, digits, '.', '_', '-' and '+'. --rank-csv FILE: at every evaluation\n"
               "r_l (SPEC 1.4) of the hidden state entering every layer and of the last layer's output, mean and\n"
               "std over the last validation batch's sequences, written at the end.\n", CLI_VOCAB_MAX_DEFAULT);
    cli_model_usage(f);
}

/* A label names files and fills a CSV column: nothing that would split the column
 * (',', '"', a line break) or leave the directory ('/'). */
static int label_ok(const char *cmd, const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 200 || s[0] == '.' || strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-") != n) {
        fprintf(stderr, "qkspec %s: --label '%s': 1 to 200 of letters, digits, '.', '_', '-' and '+', not starting with "
                        "'.' (the label names the CSV files and fills their first column)\n", cmd, s);
        return 0;
    }
    return 1;
}

int train_option(const char *cmd, int argc, char **argv, int *i, train_opts *o)
{
    const char *a = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    long n;
    if (!strcmp(a, "--vocab")) { /* the LM's vocabulary comes from the data; this asks for a size */
        if (cli_parse_long(cmd, a, v, 2, QK_MAX_V, &n)) return -1;
        o->cfg.V = (int)n;
        o->vocab_max = (int)n;
        *i += 2;
        return 1;
    }
    int asked = o->cfg.V; /* a preset's V is not a request (the data decide): keep --vocab's */
    int r = cli_model_option(cmd, argc, argv, i, &o->cfg, &o->seed);
    o->cfg.V = asked;
    if (r) return r;
    if (!strcmp(a, "--quiet")) { o->progress = 0; *i += 1; return 1; }
    if (!strcmp(a, "--words")) { o->word_level = 1; *i += 1; return 1; }
    if (!strcmp(a, "--text")) { if (!v) goto missing; o->text = v; }
    else if (!strcmp(a, "--out")) { if (!v) goto missing; o->out = v; }
    else if (!strcmp(a, "--rank-csv")) { if (!v) goto missing; o->rank_csv = v; }
    else if (!strcmp(a, "--label")) { if (!v) goto missing; if (!label_ok(cmd, v)) return -1; o->label = v; }
    else if (!strcmp(a, "--steps")) { if (cli_parse_long(cmd, a, v, 1, 100000000L, &n)) return -1; o->steps = n; }
    else if (!strcmp(a, "--eval-every")) { if (cli_parse_long(cmd, a, v, 1, 100000000L, &n)) return -1; o->eval_every = (int)n; }
    else if (!strcmp(a, "--eval-batches")) { if (cli_parse_long(cmd, a, v, 1, 1000, &n)) return -1; o->eval_batches = (int)n; }
    else if (!strcmp(a, "--vocab-max")) { if (cli_parse_long(cmd, a, v, 2, QK_MAX_V, &n)) return -1; o->vocab_max = (int)n; }
    else if (!strcmp(a, "--val-frac")) { if (cli_parse_float(cmd, a, v, 0.01, 0.9, &o->val_frac)) return -1; }
    else return 0;
    *i += 2;
    return 1;
missing:
    fprintf(stderr, "qkspec %s: %s needs a value\n", cmd, a);
    return -1;
}

const char *train_cached_corpus_named(const char *name)
{
    static char *path[2]; /* devil.txt, gcide.txt: built once, any length (NULL only when out of memory) */
    const char *env = getenv("QKSPEC_CORPUS");
    if (env && *env) return env;
    int k = strcmp(name, "devil.txt") != 0;
    if (path[k]) return path[k];
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (xdg && *xdg) path[k] = cli_strcat3(xdg, "/qkspec/", name);
    else path[k] = cli_strcat3(home ? home : ".", "/.cache/qkspec/", name);
    return path[k];
}

const char *train_cached_corpus(void) { return train_cached_corpus_named("devil.txt"); }

/* ------------------------------------------------------------------ corpora */

static long load_file(const char *path, unsigned char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    size_t n = fread(buf, 1, cap, f);
    int more = fgetc(f) != EOF;
    fclose(f);
    if (more) return -2;
    return (long)n;
}

/* Word-level ids: whitespace-separated words; the vocab_max-1 most frequent words of
 * the whole text get ids 1.. by frequency (ties by first appearance), the rest <unk> = 0. */
#define WORD_HASH (1u << 20)
typedef struct { unsigned start, len, count, first, id; } word_t;
static word_t g_words[WORD_HASH];

static unsigned hash_word(const unsigned char *w, unsigned len)
{
    unsigned h = 2166136261u;
    for (unsigned i = 0; i < len; i++) h = (h ^ w[i]) * 16777619u;
    return h;
}

static int cmp_freq(const void *a, const void *b)
{
    const word_t *x = *(const word_t *const *)a, *y = *(const word_t *const *)b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    return x->first < y->first ? -1 : 1;
}

/* Leaves the table empty for the next call: clearing the used slots costs what
 * filling them did, not the whole table's 20 MB. */
static void words_clear(word_t **order, unsigned n)
{
    for (unsigned k = 0; k < n; k++) memset(order[k], 0, sizeof *order[k]);
}

static long words_to_ids(const unsigned char *t, size_t n, int *ids, int vocab_max, int *V)
{
    static word_t *order[WORD_HASH];
    long nw = 0;
    unsigned distinct = 0;
    for (size_t i = 0; i < n;) {
        while (i < n && (t[i] == ' ' || t[i] == '\n' || t[i] == '\t' || t[i] == '\r')) i++;
        size_t s = i;
        while (i < n && !(t[i] == ' ' || t[i] == '\n' || t[i] == '\t' || t[i] == '\r')) i++;
        if (i == s) break;
        unsigned h = hash_word(t + s, (unsigned)(i - s)) & (WORD_HASH - 1);
        for (;;) {
            word_t *w = &g_words[h];
            if (!w->count) {
                if (distinct >= WORD_HASH / 2) {
                    words_clear(order, distinct);
                    return -1;
                }
                w->start = (unsigned)s; w->len = (unsigned)(i - s); w->count = 1; w->first = (unsigned)nw;
                order[distinct++] = w;
                break;
            }
            if (w->len == i - s && !memcmp(t + w->start, t + s, i - s)) { w->count++; break; }
            h = (h + 1) & (WORD_HASH - 1);
        }
        ids[nw++] = (int)h; /* hash slot for now */
    }
    qsort(order, distinct, sizeof order[0], cmp_freq);
    int v = (int)(distinct + 1 < (unsigned)vocab_max ? distinct + 1 : (unsigned)vocab_max);
    for (unsigned k = 0; k < distinct; k++) order[k]->id = (int)k + 1 < v ? k + 1 : 0;
    for (long k = 0; k < nw; k++) ids[k] = (int)g_words[ids[k]].id;
    words_clear(order, distinct);
    *V = v;
    return nw;
}

/* ------------------------------------------------------------------ helpers */

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* ------------------------------------------------------------------ r_l along training */

/* r_l = ‖res(X_l)‖_{1,∞}/‖X_l‖_{1,∞} (SPEC §1.4) of the hidden state entering layer l
 * (l = L: the last layer's output, before any final LayerNorm), per sequence of the
 * last validation batch; mean and sample std over the B sequences, per evaluation. */
#define RANK_MAX (QK_TRAIN_MAX_EVALS * (QK_MAX_LAYERS + 1))
static struct {
    int n;
    long step[RANK_MAX];
    int layer[RANK_MAX];
    double mean[RANK_MAX], sd[RANK_MAX];
} g_rank;

static void rank_record(const qk_model *m, long step)
{
    const qk_model_config *c = &m->cfg;
    static float scr[3 * QK_MAX_D];
    static double r[1 << 16];
    int B = c->B < (1 << 16) ? c->B : (1 << 16);
    for (int l = 0; l <= c->L && g_rank.n < RANK_MAX; l++) {
        const float *x = qk_model_hidden(m, l);
        double s = 0.0, q = 0.0;
        for (int b = 0; b < B; b++) {
            double res, nrm;
            qk_collapse_norms(x + (size_t)b * c->T * c->d, c->T, c->d, scr, &res, &nrm);
            r[b] = res / nrm;
            s += r[b];
        }
        double mean = s / B;
        for (int b = 0; b < B; b++) q += (r[b] - mean) * (r[b] - mean);
        int k = g_rank.n++;
        g_rank.step[k] = step;
        g_rank.layer[k] = l;
        g_rank.mean[k] = mean;
        g_rank.sd[k] = B > 1 ? sqrt(q / (B - 1)) : 0.0;
    }
}

static int rank_fill(FILE *f, void *ctx)
{
    const char *label = (const char *)ctx;
    fprintf(f, "run,step,layer,r_mean,r_std\n");
    for (int k = 0; k < g_rank.n; k++)
        fprintf(f, "%s,%ld,%d,%.9g,%.9g\n", label, g_rank.step[k], g_rank.layer[k], g_rank.mean[k], g_rank.sd[k]);
    return 0;
}

/* The last evaluation per layer and head (RUN_layers.csv, written when L·H > 1): the
 * eigen statistics of W_QK,h of layer l and its spectral norm, the layer's attention
 * entropy (mean over its heads) and the share of its Σρ on the T/8 largest ρ_i. */
typedef struct {
    int L, H;
    double mean[QK_MAX_LAYERS][QK_MAX_D], scale[QK_MAX_LAYERS][QK_MAX_D], var[QK_MAX_LAYERS][QK_MAX_D];
    double frob2[QK_MAX_LAYERS][QK_MAX_D], trace[QK_MAX_LAYERS][QK_MAX_D], spec[QK_MAX_LAYERS][QK_MAX_D];
    double entropy[QK_MAX_LAYERS], rho_top[QK_MAX_LAYERS];
} layer_eval;
static layer_eval g_layers;

static int layers_wanted(const qk_model_config *c) { return c->L * c->H > 1; }

static void layer_stats(const qk_model *m, layer_eval *le)
{
    const qk_model_config *c = &m->cfg;
    int d = c->d;
    size_t wl = qk_spectral_norm_work_len(d, d);
    double *W = malloc(sizeof(double) * ((size_t)d * d + wl));
    le->L = c->L;
    le->H = c->H;
    for (int l = 0; l < c->L; l++)
        for (int h = 0; h < c->H; h++) {
            qk_qk_stats st;
            qk_model_qk_stats(m, l, h, &st);
            le->mean[l][h] = st.mean;
            le->scale[l][h] = st.scale;
            le->var[l][h] = st.var;
            le->frob2[l][h] = st.frob2;
            le->trace[l][h] = st.trace;
            double s = NAN;
            if (W) {
                qk_model_wqk(m, l, h, W);
                qk_spectral_norm(d, d, W, d, &s, W + (size_t)d * d, wl);
            }
            le->spec[l][h] = s;
        }
    free(W);
}

/* Evaluates the model at the trainer's step into the next row of r (when there is room). */
static int evaluate(qk_trainer *t, const train_opts *o, train_result *r)
{
    qk_train_metrics e;
    static float rho[QK_MAX_T], rho_l[(QK_MAX_LAYERS + 1) * QK_MAX_T];
    static double ent_l[QK_MAX_LAYERS];
    int per_layer = layers_wanted(&t->m->cfg);
    if (qk_train_eval_layers(t, &e, rho, per_layer ? ent_l : NULL, per_layer ? rho_l : NULL) != QK_OK) {
        fprintf(stderr, "\nqkspec train: %s: non-finite validation loss at step %ld\n", o->label, t->step);
        return 1;
    }
    if (o->rank_csv) rank_record(t->m, t->step); /* the activations of the last validation batch */
    if (r->n >= QK_TRAIN_MAX_EVALS) return 0;
    int k = r->n++;
    r->step[k] = e.step;
    r->train_loss[k] = e.train_loss;
    r->val_loss[k] = e.val_loss;
    r->reg[k] = e.reg;
    r->entropy[k] = e.entropy;
    r->eig_mean[k] = e.eig_mean;
    r->eig_scale[k] = e.eig_scale;
    r->eig_var[k] = e.eig_var;
    r->frob2[k] = e.frob2;
    r->trace[k] = e.trace;
    r->spec2[k] = e.spectral_norm;
    memcpy(r->rho[k], rho, sizeof(float) * (size_t)r->T);
    if (per_layer) {
        layer_stats(t->m, &g_layers);
        for (int l = 0; l < t->m->cfg.L; l++) {
            g_layers.entropy[l] = ent_l[l];
            g_layers.rho_top[l] = cli_rho_top_share_f(rho_l + (size_t)l * r->T, r->T);
        }
    }
    return 0;
}

/* done: steps taken since t0 (a resumed run started later than step 0) */
static void progress_line(const train_opts *o, const train_result *r, long step, long done, double loss, double t0)
{
    double el = now_seconds() - t0, per = done > 0 ? el / done : 0;
    double left = per * (o->steps - step);
    int e = r->n - 1;
    fprintf(stderr, "\r%-10s step %6ld/%-6ld loss %7.4f", o->label, step, o->steps, loss);
    if (e >= 0) {
        if (o->cfg.kind == QK_MODEL_LM) fprintf(stderr, " val ppl %8.3f", exp(r->val_loss[e]));
        fprintf(stderr, " eig mean %+8.4f scale %9.4g entropy %6.3f", r->eig_mean[e], r->eig_scale[e], r->entropy[e]);
    }
    fprintf(stderr, " %7.0f tok/s  left %4.0fs ", done > 0 ? (double)done * o->cfg.B * o->cfg.T / el : 0.0, left);
    fflush(stderr);
}

/* ------------------------------------------------------------------ CSV files */

static void evals_header(FILE *f)
{
    fprintf(f, "run,step,train_loss,val_loss,val_ppl,locater,eig_mean,eig_scale,eig_var,frob2,spectral_norm,trace,"
               "attn_entropy\n");
}

static void evals_row(FILE *f, const train_opts *o, const train_result *r, int e)
{
    fprintf(f, "%s,%ld,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g\n", o->label, r->step[e], r->train_loss[e],
            r->val_loss[e], o->cfg.kind == QK_MODEL_LM ? exp(r->val_loss[e]) : NAN, r->reg[e], r->eig_mean[e],
            r->eig_scale[e], r->eig_var[e], r->frob2[e], r->spec2[e], r->trace[e], r->entropy[e]);
}

static void rho_header(FILE *g) { fprintf(g, "run,step,position,rho\n"); }

static void rho_rows(FILE *g, const train_opts *o, const train_result *r, int e)
{
    for (int i = 0; i < r->T; i++) fprintf(g, "%s,%ld,%d,%.9g\n", o->label, r->step[e], i + 1, (double)r->rho[e][i]);
}

/* The two CSVs of a run. They grow in place, a flushed row at a time (cli_append), so
 * that a killed run keeps every evaluation it reached. */
typedef struct {
    char *evals_path, *rho_path, *layers_path; /* layers_path NULL: no RUN_layers.csv */
    cli_append evals, rho, layers;
} train_csv;

static void layers_header(FILE *f)
{
    fprintf(f, "run,step,layer,head,eig_mean,eig_scale,eig_var,frob2,spectral_norm,trace,layer_attn_entropy,"
               "layer_rho_top_share\n");
}

static void layers_rows(FILE *f, const train_opts *o, long step, const layer_eval *le)
{
    for (int l = 0; l < le->L; l++)
        for (int h = 0; h < le->H; h++)
            fprintf(f, "%s,%ld,%d,%d,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g\n", o->label, step, l, h, le->mean[l][h],
                    le->scale[l][h], le->var[l][h], le->frob2[l][h], le->spec[l][h], le->trace[l][h], le->entropy[l],
                    le->rho_top[l]);
}

/* RUN_layers.csv at the start of a run: a fresh run gets the header; a resumed run (one
 * with evaluations in its history, even if it stopped at step 0) keeps the header and
 * the rows of the steps up to its last recorded evaluation (they are not in the
 * checkpoint, so they are kept from the file), drops later ones. */
typedef struct {
    const unsigned char *old;
    size_t n;
    long upto;
} layers_keep;

static int fill_layers(FILE *f, void *ctx)
{
    const layers_keep *k = ctx;
    layers_header(f);
    size_t i = 0;
    while (k->old && i < k->n) {
        size_t j = i;
        while (j < k->n && k->old[j] != '\n') j++;
        if (j == k->n) break; /* an unfinished last line */
        const unsigned char *c = memchr(k->old + i, ',', j - i);
        if (c && i > 0) { /* not the header */
            long step = strtol((const char *)c + 1, NULL, 10);
            if (step <= k->upto) fwrite(k->old + i, 1, j + 1 - i, f);
        }
        i = j + 1;
    }
    return ferror(f) ? -1 : 0;
}

static int layers_open(train_csv *c, const train_opts *o, const train_result *r)
{
    layers_keep k = {NULL, 0, r->n ? r->step[r->n - 1] : -1};
    unsigned char *old = NULL;
    if (r->n > 0) old = cli_read_file(c->layers_path, (size_t)1 << 30, &k.n); /* a resumed run (even at step 0) */
    k.old = old;
    int bad = cli_write_file("train", c->layers_path, fill_layers, &k) || cli_append_open(&c->layers, "train", c->layers_path);
    free(old);
    return bad;
}

typedef struct {
    const train_opts *o;
    const train_result *r;
    int rho;
} csv_fill;

/* the header and the rows so far (a resumed run's history) */
static int fill_csv(FILE *f, void *ctx)
{
    const csv_fill *c = ctx;
    if (c->rho) rho_header(f);
    else evals_header(f);
    for (int e = 0; e < c->r->n; e++) {
        if (c->rho) rho_rows(f, c->o, c->r, e);
        else evals_row(f, c->o, c->r, e);
    }
    return ferror(f) ? -1 : 0;
}

static char *csv_path(const train_opts *o, const char *suffix)
{
    char *name = cli_strcat3(o->label, suffix, ""), *p = name ? cli_path_join(o->out, name) : NULL;
    free(name);
    return p;
}

static void csv_free(train_csv *c)
{
    free(c->evals_path);
    free(c->rho_path);
    free(c->layers_path);
    c->evals_path = c->rho_path = c->layers_path = NULL;
}

/* Starts both files afresh (atomically: header and the history of r), then opens
 * them for appending. 0, or 1 (printed). */
static int csv_open(train_csv *c, const train_opts *o, const train_result *r)
{
    memset(c, 0, sizeof *c);
    if (cli_mkdir("train", o->out)) return 1;
    c->evals_path = csv_path(o, "_evals.csv");
    c->rho_path = csv_path(o, "_rho.csv");
    csv_fill fe = {o, r, 0}, fr = {o, r, 1};
    if (layers_wanted(&o->cfg)) c->layers_path = csv_path(o, "_layers.csv");
    if (!c->evals_path || !c->rho_path || (layers_wanted(&o->cfg) && !c->layers_path))
        fprintf(stderr, "qkspec train: out of memory\n");
    else if (!cli_write_file("train", c->evals_path, fill_csv, &fe) && !cli_write_file("train", c->rho_path, fill_csv, &fr) &&
             !cli_append_open(&c->evals, "train", c->evals_path)) {
        if (!cli_append_open(&c->rho, "train", c->rho_path)) {
            if (!c->layers_path || !layers_open(c, o, r)) return 0;
            cli_append_close(&c->rho);
        }
        cli_append_close(&c->evals);
    }
    csv_free(c);
    return 1;
}

/* Appends evaluation e and flushes both files. */
static int csv_append(train_csv *c, const train_opts *o, const train_result *r, int e)
{
    if (!c->evals_path) return 0;
    long evals0 = c->evals.good, rho0 = c->rho.good;
    evals_row(c->evals.f, o, r, e);
    rho_rows(c->rho.f, o, r, e);
    if (c->layers_path) {
        layers_rows(c->layers.f, o, r->step[e], &g_layers);
        if (cli_append_flush(&c->layers)) return 1; /* printed; the other two stay consistent */
    }
    if (!cli_append_flush(&c->evals) && !cli_append_flush(&c->rho)) return 0;
    /* the failed file was cut back to its last complete row; both must end at the same
     * evaluation, so this one's rows go from the other too */
    cli_append_discard(&c->evals, evals0);
    cli_append_discard(&c->rho, rho0);
    return 1;
}

static int csv_close(train_csv *c)
{
    if (!c->evals_path) return 0;
    int bad = cli_append_close(&c->evals);
    bad |= cli_append_close(&c->rho);
    if (c->layers_path) bad |= cli_append_close(&c->layers);
    csv_free(c);
    return bad ? 1 : 0;
}

static int csv_files_exist(const train_opts *o)
{
    char *a = csv_path(o, "_evals.csv"), *b = csv_path(o, "_rho.csv");
    struct stat st;
    int ok = a && b && stat(a, &st) == 0 && S_ISREG(st.st_mode) && stat(b, &st) == 0 && S_ISREG(st.st_mode);
    free(a);
    free(b);
    return ok;
}

/* ------------------------------------------------------------------ signals */

/* SIGINT and SIGTERM stop training at the next step boundary, where the checkpoint is
 * consistent; the handler only records which signal came. */
static volatile sig_atomic_t g_signal;

static void on_signal(int s) { g_signal = s; }

typedef struct {
    struct sigaction intr, term;
} saved_signals;

static void signals_install(saved_signals *old)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART; /* a write in progress completes instead of failing with EINTR */
    g_signal = 0;
    sigaction(SIGINT, &sa, &old->intr);
    sigaction(SIGTERM, &sa, &old->term);
}

static void signals_restore(const saved_signals *old)
{
    sigaction(SIGINT, &old->intr, NULL);
    sigaction(SIGTERM, &old->term, NULL);
}

/* The signal that asks training to stop, 0 if none; a sweep's run stops as if by
 * SIGTERM once its parent is gone (killed without a chance to forward a signal). */
static int stop_requested(const train_opts *o)
{
    if (g_signal) return g_signal;
    if (o->parent_pid && (long)getppid() != o->parent_pid) return SIGTERM;
    return 0;
}

static const char *signal_name(int s) { return s == SIGINT ? "SIGINT" : s == SIGTERM ? "SIGTERM" : "a signal"; }

/* ------------------------------------------------------------------ checkpoints */

#define CKPT_MAX_BYTES ((size_t)1 << 31)
#define TRAIN_RESULT_MAGIC "qkspec-result 1"

/* FNV-1a over the token ids (little-endian int32): the corpus is part of the run */
static uint64_t fnv_ids(const int *ids, long n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (long i = 0; i < n; i++)
        for (int b = 0; b < 4; b++) {
            h ^= (unsigned)ids[i] >> (8 * b) & 0xffu;
            h *= 0x100000001b3ull;
        }
    return h;
}

/* cli_config_json's object (every model option, as dump's config.json names them)
 * as "key=value ..." on one line: quotes dropped, spaces inside values as '_'. */
static void json_to_line(const char *json, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = json; *p && n + 1 < cap;) {
        const char *k = strchr(p, '"'), *e = k ? strchr(k + 1, '"') : NULL;
        if (!e || e[1] != ':') break;
        const char *v = e + 2, *end = strchr(v, '\n');
        if (!end) end = v + strlen(v);
        while (*v == ' ') v++;
        const char *ve = end;
        if (ve > v && ve[-1] == ',') ve--;
        if (ve > v + 1 && *v == '"' && ve[-1] == '"') v++, ve--;
        n += (size_t)snprintf(out + n, cap - n, "%.*s=", (int)(e - k - 1), k + 1);
        for (; v < ve && n + 2 < cap; v++) out[n++] = *v == ' ' ? '_' : *v;
        if (n + 1 < cap) out[n++] = ' ';
        out[n < cap ? n : cap - 1] = 0;
        p = end;
    }
    if (n && n < cap) out[n - 1] = 0; /* no trailing space */
}

/* Everything that decides the trajectory or the CSV rows, as one line: a checkpoint
 * continues only a run with the same line. The model options come from
 * cli_config_json, so that an option added there is part of it. --steps is not (a run
 * may be extended), nor --label or --out. */
static void config_line(const train_opts *o, const qk_model_config *c, long ntok, char *buf, size_t cap)
{
    char *json = NULL, model[1536] = "";
    size_t jn = 0;
    FILE *f = open_memstream(&json, &jn);
    if (f) {
        cli_config_json(f, c, o->seed);
        fclose(f);
    }
    if (json) json_to_line(json, model, sizeof model);
    free(json);
    int lm = c->kind == QK_MODEL_LM;
    snprintf(buf, cap, "qkspec=%s %s eval_every=%d eval_batches=%d val_frac=%.9g data=%s tokens=%ld fnv=%016llx",
             QK_VERSION, model, o->eval_every, o->eval_batches, (double)o->val_frac,
             !lm ? "walks" : o->word_level ? "words" : "bytes", lm ? ntok : 0L,
             lm ? (unsigned long long)fnv_ids(g_tokens, ntok) : 0ull);
}

/* The first key=value where two configuration lines differ, for the message. */
static void config_diff(const char *have, size_t hn, const char *want, char *out, size_t cap)
{
    size_t i = 0, j = 0;
    while (i < hn || want[j]) {
        size_t a = i, b = j;
        while (i < hn && have[i] != ' ') i++;
        while (want[j] && want[j] != ' ') j++;
        if (i - a != j - b || memcmp(have + a, want + b, i - a)) {
            snprintf(out, cap, "the file has '%.*s', this run '%.*s'", (int)(i - a > 200 ? 200 : i - a), have + a,
                     (int)(j - b > 200 ? 200 : j - b), want + b);
            return;
        }
        if (i < hn) i++;
        if (want[j]) j++;
    }
    snprintf(out, cap, "(no difference)");
}

static void put_u32(unsigned char **p, uint32_t v)
{
    for (int i = 0; i < 4; i++) *(*p)++ = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char **p, uint64_t v)
{
    put_u32(p, (uint32_t)v);
    put_u32(p, (uint32_t)(v >> 32));
}

static void put_f64(unsigned char **p, double x)
{
    uint64_t u;
    memcpy(&u, &x, 8);
    put_u64(p, u);
}

static uint32_t get_u32(const unsigned char **p)
{
    const unsigned char *b = *p;
    *p += 4;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint64_t get_u64(const unsigned char **p)
{
    uint64_t lo = get_u32(p);
    return lo | (uint64_t)get_u32(p) << 32;
}

static double get_f64(const unsigned char **p)
{
    uint64_t u = get_u64(p);
    double x;
    memcpy(&x, &u, 8);
    return x;
}

/* Payload: u32 evaluations n, u32 T, f64 seconds so far; per evaluation u64 step and
 * 10 f64 (train loss, val loss, LocAteR, entropy, eig mean, scale, var, frob2,
 * ‖W_QK‖₂, trace) and T float ρ; then u64 length and the trainer's state. */
static size_t ckpt_row_bytes(int T) { return 8 + 10 * 8 + 4 * (size_t)T; }

static double *row_field(train_result *r, int k, int e)
{
    double *f[10] = {r->train_loss, r->val_loss, r->reg, r->entropy, r->eig_mean,
                     r->eig_scale, r->eig_var, r->frob2, r->spec2, r->trace};
    return &f[k][e];
}

static unsigned char *ckpt_encode(const qk_trainer *t, const train_result *r, size_t *n)
{
    size_t state = qk_train_state_size(t);
    *n = 16 + (size_t)r->n * ckpt_row_bytes(r->T) + 8 + state;
    unsigned char *buf = malloc(*n), *p = buf;
    if (!buf) return NULL;
    put_u32(&p, (uint32_t)r->n);
    put_u32(&p, (uint32_t)r->T);
    put_f64(&p, r->seconds);
    for (int e = 0; e < r->n; e++) {
        put_u64(&p, (uint64_t)r->step[e]);
        for (int k = 0; k < 10; k++) put_f64(&p, *row_field((train_result *)r, k, e));
        for (int i = 0; i < r->T; i++) {
            uint32_t u;
            memcpy(&u, &r->rho[e][i], 4);
            put_u32(&p, u);
        }
    }
    put_u64(&p, (uint64_t)state);
    if (qk_train_save_state(t, p, state) != QK_OK) {
        free(buf);
        return NULL;
    }
    return buf;
}

static int ckpt_write(const train_opts *o, const char *config, const qk_trainer *t, const train_result *r)
{
    size_t n;
    unsigned char *buf = ckpt_encode(t, r, &n);
    if (!buf) {
        fprintf(stderr, "qkspec train: cannot write checkpoint %s: out of memory\n", o->checkpoint);
        return 1;
    }
    int rc = cli_frame_write("train", o->checkpoint, TRAIN_CKPT_MAGIC, config, buf, n);
    free(buf);
    return rc ? 1 : 0;
}

/* The history part of a payload into h (rows, seconds); the state's offset in *state. */
static int ckpt_decode_history(const unsigned char *p, size_t n, int T, train_result *h, const unsigned char **state,
                               size_t *state_len, char *err, size_t errlen)
{
    const unsigned char *end = p + n;
    if (n < 16) { snprintf(err, errlen, "payload too short"); return -1; }
    uint32_t rows = get_u32(&p), t = get_u32(&p);
    h->seconds = get_f64(&p);
    if ((int)t != T || t > QK_MAX_T) { snprintf(err, errlen, "sequence length %lu, this run %d", (unsigned long)t, T); return -1; }
    if (rows > QK_TRAIN_MAX_EVALS || (size_t)(end - p) < rows * ckpt_row_bytes(T) + 8) {
        snprintf(err, errlen, "%lu evaluations do not fit the payload", (unsigned long)rows);
        return -1;
    }
    if (!(h->seconds >= 0 && h->seconds < 1e12)) { snprintf(err, errlen, "elapsed time out of range"); return -1; }
    h->n = (int)rows;
    for (int e = 0; e < h->n; e++) {
        uint64_t s = get_u64(&p);
        if (s > 0x7fffffffu || (e && (long)s <= h->step[e - 1])) { snprintf(err, errlen, "evaluation steps out of order"); return -1; }
        h->step[e] = (long)s;
        for (int k = 0; k < 10; k++) *row_field(h, k, e) = get_f64(&p);
        for (int i = 0; i < T; i++) {
            uint32_t u = get_u32(&p);
            memcpy(&h->rho[e][i], &u, 4);
        }
    }
    uint64_t len = get_u64(&p);
    if (len != (uint64_t)(end - p)) { snprintf(err, errlen, "state length %llu, %llu bytes left", (unsigned long long)len, (unsigned long long)(end - p)); return -1; }
    *state = p;
    *state_len = (size_t)len;
    return 0;
}

int train_ckpt_decode(const unsigned char *buf, size_t n, const char *want_config, qk_trainer *t, train_result *r,
                      char *err, size_t errlen)
{
    static train_result h; /* decoded here first: nothing changes unless all of it is valid */
    cli_frame fr;
    if (cli_frame_parse(buf, n, TRAIN_CKPT_MAGIC, &fr, err, errlen)) return -1;
    if (want_config && (fr.config_len != strlen(want_config) || memcmp(fr.config, want_config, fr.config_len))) {
        char d[512];
        config_diff(fr.config, fr.config_len, want_config, d, sizeof d);
        snprintf(err, errlen, "written by a run with another configuration: %s", d);
        return -1;
    }
    const unsigned char *state;
    size_t state_len;
    if (ckpt_decode_history(fr.payload, fr.payload_len, t->m->cfg.T, &h, &state, &state_len, err, errlen)) return -1;
    if (state_len != qk_train_state_size(t)) {
        snprintf(err, errlen, "the trainer's state does not fit this model");
        return -1;
    }
    /* the trainer's and AdamW's step counts (bytes 32..47 of the state): equal, within
     * what --steps allows (AdamW's bias correction costs one multiplication per step
     * taken, so a forged count would make every step slow), not before the history */
    const unsigned char *sp = state + 32;
    uint64_t step = get_u64(&sp), adam_step = get_u64(&sp);
    if (step != adam_step || step > TRAIN_MAX_STEPS || (h.n && (uint64_t)h.step[h.n - 1] > step)) {
        snprintf(err, errlen, "step counts out of range");
        return -1;
    }
    if (qk_train_load_state(t, state, state_len) != QK_OK) {
        snprintf(err, errlen, "the trainer's state does not fit this model");
        return -1;
    }
    r->n = h.n;
    r->seconds = h.seconds;
    r->resumed_at = t->step;
    for (int e = 0; e < h.n; e++) {
        r->step[e] = h.step[e];
        for (int k = 0; k < 10; k++) *row_field(r, k, e) = *row_field(&h, k, e);
        memcpy(r->rho[e], h.rho[e], sizeof(float) * (size_t)r->T);
    }
    return 0;
}

/* Continues from o->resume: 0 (resumed, or starting afresh where that is allowed), or
 * an exit status after printing why the file was refused. */
static int ckpt_resume(const train_opts *o, const char *config, qk_trainer *t, train_result *r)
{
    size_t n;
    unsigned char *buf = cli_read_file(o->resume, CKPT_MAX_BYTES, &n);
    char err[768];
    int bad = !buf, missing = !buf && errno == ENOENT;
    if (!buf) snprintf(err, sizeof err, "%s", strerror(errno));
    else bad = train_ckpt_decode(buf, n, config, t, r, err, sizeof err);
    free(buf);
    if (bad && o->resume_optional) { /* a run that never wrote a checkpoint starts quietly */
        if (!missing)
            fprintf(stderr, "qkspec train: %s: not resuming from %s (%s); starting from step 0\n", o->label, o->resume,
                    err);
        return 0;
    }
    if (bad) {
        fprintf(stderr, "qkspec train: refusing to resume from %s: %s\n", o->resume, err);
        return 2;
    }
    if (t->step > o->steps) {
        fprintf(stderr, "qkspec train: %s is at step %ld, beyond --steps %ld\n", o->resume, t->step, o->steps);
        return 2;
    }
    return 0;
}

/* A finished run's result (sweep's completion marker): the configuration line with
 * the step budget, and the result itself (this build's layout). */
static void result_config(const char *config, const train_opts *o, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s steps=%ld result_bytes=%lu", config, o->steps, (unsigned long)sizeof(train_result));
}

/* 1 when o->result_file holds this run's result and its CSVs exist (r filled). */
static int result_load(const train_opts *o, const char *config, train_result *r)
{
    static char want[2304];
    result_config(config, o, want, sizeof want);
    size_t n;
    if (o->out && !csv_files_exist(o)) return 0;
    unsigned char *buf = cli_read_file(o->result_file, sizeof *r + sizeof want + 4096, &n);
    cli_frame fr;
    char err[256];
    int ok = buf && !cli_frame_parse(buf, n, TRAIN_RESULT_MAGIC, &fr, err, sizeof err) &&
             fr.config_len == strlen(want) && !memcmp(fr.config, want, fr.config_len) && fr.payload_len == sizeof *r;
    if (ok) memcpy(r, fr.payload, sizeof *r);
    free(buf);
    return ok;
}

int train_read_result(const char *path, train_result *r)
{
    size_t n;
    unsigned char *buf = cli_read_file(path, sizeof *r + 8192, &n);
    cli_frame fr;
    char err[256];
    int ok = buf && !cli_frame_parse(buf, n, TRAIN_RESULT_MAGIC, &fr, err, sizeof err) && fr.payload_len == sizeof *r;
    if (ok) memcpy(r, fr.payload, sizeof *r);
    free(buf);
    return ok ? 0 : -1;
}

static int result_write(const train_opts *o, const char *config, const train_result *r)
{
    static char want[2304];
    result_config(config, o, want, sizeof want);
    return cli_frame_write("train", o->result_file, TRAIN_RESULT_MAGIC, want, r, sizeof *r) ? 1 : 0;
}

/* ------------------------------------------------------------------ options */

int train_ckpt_option(const char *cmd, int argc, char **argv, int *i, train_opts *o)
{
    const char *a = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    long n;
    if (strcmp(a, "--checkpoint") && strcmp(a, "--checkpoint-every") && strcmp(a, "--resume")) return 0;
    if (!strcmp(a, "--checkpoint-every")) {
        if (cli_parse_long(cmd, a, v, 1, 100000000L, &n)) return -1;
        o->checkpoint_every = n;
    } else if (!v || !*v) {
        fprintf(stderr, "qkspec %s: %s needs a file name\n", cmd, a);
        return -1;
    } else if (!strcmp(a, "--checkpoint")) o->checkpoint = v;
    else o->resume = v;
    *i += 2;
    return 1;
}

void train_ckpt_usage(FILE *f)
{
    fprintf(f, "checkpoints: --checkpoint FILE [--checkpoint-every N]   the state every N steps (default: at every\n"
               "  evaluation), on SIGINT/SIGTERM and at the end;  --resume FILE   continue a run with the same options\n"
               "  (its checkpoints then go to FILE unless --checkpoint names another)\n");
}

/* Reads and tokenises the corpus into g_tokens (LM); sets c->V and the corpus name. */
static int prepare_data(const train_opts *o, qk_model_config *c, long *ntok_out, train_result *r)
{
    *ntok_out = 0;
    if (c->kind != QK_MODEL_LM) {
        snprintf(r->corpus, sizeof r->corpus, "random walks, Sigma = I");
        return 0;
    }
    long n;
    if (o->text) {
        n = load_file(o->text, g_text, sizeof g_text);
        if (n == -1) { fprintf(stderr, "qkspec train: cannot read %s: %s\n", o->text, strerror(errno)); return 2; }
        if (n == -2) { fprintf(stderr, "qkspec train: %s is larger than %u bytes\n", o->text, QK_CLI_CORPUS_BYTES); return 2; }
        const char *base = strrchr(o->text, '/');
        snprintf(r->corpus, sizeof r->corpus, "%s", base ? base + 1 : o->text);
    } else {
        n = (long)qk_synthetic_corpus(g_text, sizeof g_text);
        snprintf(r->corpus, sizeof r->corpus, "built-in synthetic corpus");
    }
    long ntok, ntrain;
    if (o->word_level) {
        int V;
        ntok = words_to_ids(g_text, (size_t)n, g_tokens, o->vocab_max, &V);
        if (ntok < 0) { fprintf(stderr, "qkspec train: too many distinct words\n"); return 2; }
        c->V = V;
    } else {
        for (long i = 0; i < n; i++) g_tokens[i] = g_text[i];
        ntok = n;
        c->V = 256;
    }
    if (qk_train_split(ntok, o->val_frac, c->T, &ntrain) != QK_OK) {
        fprintf(stderr, "qkspec train: the corpus (%ld tokens) is too short for sequences of %d tokens\n", ntok, c->T);
        return 2;
    }
    *ntok_out = ntok;
    return 0;
}

/* ------------------------------------------------------------------ the run */

typedef struct {
    const train_opts *o;
    qk_trainer *t;
    train_result *r;
    train_csv csv;
    const char *config; /* the configuration line (checkpoints) */
} train_state;

/* Evaluates at the trainer's step unless the history already has that step (a
 * resumed run), and appends the new row to the CSVs. */
static int eval_step(train_state *s)
{
    train_result *r = s->r;
    if (r->n && r->step[r->n - 1] == s->t->step) return 0;
    int before = r->n;
    if (evaluate(s->t, s->o, r)) return 1;
    return r->n > before ? csv_append(&s->csv, s->o, r, r->n - 1) : 0;
}

/* A signal (or a vanished parent) stopped the run at a step boundary: the final
 * checkpoint, and why. Returns the exit status 128 + signal. */
static int interrupted(train_state *s, int sig, double seconds, int tty)
{
    const train_opts *o = s->o;
    s->r->seconds = seconds;
    int bad = o->checkpoint && ckpt_write(o, s->config, s->t, s->r);
    char rows[64] = "";
    if (o->out && s->r->n) snprintf(rows, sizeof rows, "; CSV rows up to step %ld kept", s->r->step[s->r->n - 1]);
    /* one write: the runs of a sweep report at the same moment */
    fprintf(stderr, "%sqkspec train: %s: %s at step %ld of %ld%s%s%s%s%s\n", tty ? "\n" : "", o->label, signal_name(sig),
            s->t->step, o->steps, !o->checkpoint ? "; no checkpoint (--checkpoint FILE keeps the state)" : "",
            o->checkpoint && !bad ? "; checkpoint written: " : "", o->checkpoint && !bad ? o->checkpoint : "",
            o->checkpoint && bad ? "; the checkpoint could not be written" : "", rows);
    return 128 + sig;
}

static int step_failed(const train_opts *o, const qk_trainer *t, qk_status s)
{
    const qk_model *m = t->m;
    if (t->stop == QK_TRAIN_NONFINITE_LOSS)
        fprintf(stderr, "\nqkspec train: %s: non-finite loss at step %ld (loss %g, LocAteR %g); stopping\n", o->label,
                t->stop_step, (double)m->loss, (double)m->reg);
    else if (t->stop == QK_TRAIN_NONFINITE_GRAD)
        fprintf(stderr, "\nqkspec train: %s: non-finite gradient at step %ld; stopping\n", o->label, t->stop_step);
    else
        fprintf(stderr, "\nqkspec train: %s: step %ld: %s; stopping\n", o->label, t->step + 1, qk_status_str(s));
    return 1;
}

/* Steps until o->steps: evaluations (appended to the CSVs), checkpoints every
 * o->checkpoint_every steps (0: at every evaluation), a stop at a signal. */
static int train_loop(train_state *s)
{
    const train_opts *o = s->o;
    qk_trainer *t = s->t;
    long start = t->step, every = o->checkpoint_every > 0 ? o->checkpoint_every : o->eval_every;
    int tty = o->progress && isatty(fileno(stderr));
    double t0 = now_seconds(), last_print = 0, before = s->r->seconds;
    for (;;) {
        if ((t->step % o->eval_every == 0 || t->step == o->steps) && eval_step(s)) return 1;
        if (t->step == o->steps) break;
        int sig = stop_requested(o);
        if (sig) return interrupted(s, sig, before + now_seconds() - t0, tty);
        if (o->checkpoint && t->step != start && t->step % every == 0) {
            s->r->seconds = before + now_seconds() - t0;
            if (ckpt_write(o, s->config, t, s->r)) return 1;
        }
        qk_status st = qk_train_step(t);
        if (st != QK_OK) return step_failed(o, t, st);
        if (tty && now_seconds() - last_print > 0.2) {
            progress_line(o, s->r, t->step, t->step - start, t->loss, t0);
            last_print = now_seconds();
        }
    }
    if (tty) fputc('\n', stderr);
    s->r->seconds = before + now_seconds() - t0;
    return 0;
}

/* After the last step: the numbers of the result, the final checkpoint (a run can be
 * extended with a larger --steps) or, for a sweep's run, the completion marker. */
static int train_finish(train_state *s, const qk_model_config *c)
{
    const train_opts *o = s->o;
    train_result *r = s->r;
    r->ms_per_step = 1000.0 * r->seconds / (double)o->steps;
    r->tokens_per_second = (double)o->steps * c->B * c->T / r->seconds;
    r->param_hash = qk_model_param_hash(s->t->m);
    qk_train_qk_eigenvalues(s->t, r->eig_final);
    if (csv_close(&s->csv)) return 1;
    if (o->rank_csv && cli_write_file("train", o->rank_csv, rank_fill, (void *)o->label)) return 1;
    if (o->result_file) {
        if (result_write(o, s->config, r)) return 1;
        if (o->checkpoint) remove(o->checkpoint); /* the result supersedes it */
        return 0;
    }
    return o->checkpoint ? ckpt_write(o, s->config, s->t, r) : 0;
}

static int train_run_inner(const train_opts *o, train_result *r)
{
    qk_model_config c = o->cfg;
    memset(r, 0, sizeof *r);
    g_rank.n = 0; /* a process may run several trainings (collapse-train) */
    long ntok;
    int rc = prepare_data(o, &c, &ntok, r);
    if (rc) return rc;
    static qk_model m;
    qk_model_sizes_t sz;
    if (cli_model_open("train", &c, &m, &sz)) return 2;
    /* the trainer's buffers: one batch of tokens or walks, the validation walks, the
     * evaluation workspace */
    static int tok[(QK_MAX_T + 1) * 1024];
    static float walk[1 << 22];
    static double work[QK_MAX_T + 9 * (size_t)QK_MAX_D * QK_MAX_D];
    qk_train_config tc = {o->seed, o->eval_batches, o->val_frac, c.kind == QK_MODEL_LM ? g_tokens : NULL, ntok};
    qk_train_sizes_t ts;
    if (qk_train_sizes(&c, &tc, &ts) != QK_OK || ts.tokens > sizeof tok / sizeof tok[0] ||
        ts.walks > sizeof walk / sizeof walk[0] || ts.work > sizeof work / sizeof work[0]) {
        fprintf(stderr, "qkspec train: batch too large for this build (reduce --batch or --seq)\n");
        return 2;
    }
    static qk_trainer t;
    qk_status st = qk_train_init(&t, &m, &tc, tok, walk, work);
    if (st != QK_OK) {
        fprintf(stderr, "qkspec train: %s\n", qk_status_str(st));
        return 2;
    }
    r->T = c.T;
    r->d = c.d;
    r->params = (long long)sz.params;
    qk_train_qk_eigenvalues(&t, r->eig_init); /* from the seed, also for a resumed run */
    static char config[2048];
    train_state s = {o, &t, r, {0}, config};
    if (o->checkpoint || o->resume || o->result_file) config_line(o, &c, ntok, config, sizeof config);
    if (o->result_file && result_load(o, config, r)) {
        fprintf(stderr, "qkspec train: %s: finished earlier (%s); not run again\n", o->label, o->result_file);
        return 0;
    }
    if (o->resume && (rc = ckpt_resume(o, config, &t, r)) != 0) return rc;
    if (o->out && csv_open(&s.csv, o, r)) return 1;
    rc = train_loop(&s);
    if (!rc) return train_finish(&s, &c);
    csv_close(&s.csv);
    return rc;
}

int train_run(const train_opts *o, train_result *r)
{
    train_opts eff = *o;
    if (eff.resume && !eff.checkpoint) eff.checkpoint = eff.resume; /* a resumed run keeps its file current */
    saved_signals old;
    signals_install(&old);
    int rc = train_run_inner(&eff, r);
    signals_restore(&old);
    return rc;
}

int qk_cmd_train(int argc, char **argv)
{
    train_opts o;
    train_defaults(&o);
    for (int i = 0; i < argc;) {
        int k = train_ckpt_option("train", argc, argv, &i, &o);
        if (k == 0) k = train_option("train", argc, argv, &i, &o);
        if (k < 0) return 2;
        if (k == 0) {
            fprintf(stderr, "qkspec train: unknown option '%s'\n", argv[i]);
            train_usage(stderr);
            train_ckpt_usage(stderr);
            return 2;
        }
    }
    if (cli_check_vocab("train", o.cfg.kind == QK_MODEL_LM, o.word_level, o.cfg.V, o.vocab_max)) return 2;
    if (o.text && o.cfg.kind == QK_MODEL_LM && cli_check_corpus("train", o.text, 0, o.val_frac)) return 2;
    if (o.checkpoint_every && !o.checkpoint && !o.resume) {
        fprintf(stderr, "qkspec train: --checkpoint-every needs --checkpoint FILE\n");
        return 2;
    }
    static train_result r;
    int rc = train_run(&o, &r);
    if (rc) return rc;
    int e = r.n - 1;
    printf("%s: %s, %lld parameters, %ld steps in %.1f s (%.2f ms/step, %.0f tokens/s)", o.label, r.corpus, r.params,
           o.steps, r.seconds, r.ms_per_step, r.tokens_per_second);
    if (r.resumed_at) printf(", resumed at step %ld", r.resumed_at);
    printf("\n  final: train loss %.4f, val loss %.4f", r.train_loss[e], r.val_loss[e]);
    if (o.cfg.kind == QK_MODEL_LM) printf(" (ppl %.3f)", exp(r.val_loss[e]));
    printf(", W_QK eigen mean %.5g, scale %.5g, var %.5g, entropy %.4f\n", r.eig_mean[e], r.eig_scale[e], r.eig_var[e],
           r.entropy[e]);
    printf("  parameter hash %016llx\n", (unsigned long long)r.param_hash);
    if (o.out) printf("  wrote %s/%s_evals.csv and %s/%s_rho.csv\n", o.out, o.label, o.out, o.label);
    if (o.out && layers_wanted(&o.cfg)) printf("  per layer and head: %s/%s_layers.csv\n", o.out, o.label);
    if (o.checkpoint || o.resume) printf("  checkpoint %s (step %ld)\n", o.checkpoint ? o.checkpoint : o.resume, o.steps);
    return 0;
}
