/* cmd_train.c — `qkspec train`: the language model on a text file (bytes or words) or
 * the theory model on random walks, with evaluations (loss, perplexity, W_QK eigen
 * statistics, attention entropy, per-position ρ) written as CSV. The training itself
 * is the library's (qk_train.h); this file reads and tokenises the corpus, shows the
 * progress line and writes the files. */
#include "qk_fp.h"
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"
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
    o->seed = 1;
    o->steps = 1000;
    o->eval_every = 100;
    o->eval_batches = 2;
    o->val_frac = 0.1f;
    o->vocab_max = 8192;
    o->label = "run";
    o->progress = 1;
}

void train_usage(FILE *f)
{
    fprintf(f, "usage: qkspec train [--text FILE] [--words] [--vocab-max N] [--steps N] [--eval-every N]\n"
               "       [--eval-batches N] [--val-frac X] [--out DIR] [--label NAME] [--quiet] [model options]\n"
               "Without --text the language model trains on a built-in synthetic corpus; --preset walk trains\n"
               "the theory model on random walks.\n");
    cli_model_usage(f);
}

int train_option(const char *cmd, int argc, char **argv, int *i, train_opts *o)
{
    int r = cli_model_option(cmd, argc, argv, i, &o->cfg, &o->seed);
    if (r) return r;
    const char *a = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    long n;
    if (!strcmp(a, "--quiet")) { o->progress = 0; *i += 1; return 1; }
    if (!strcmp(a, "--words")) { o->word_level = 1; *i += 1; return 1; }
    if (!strcmp(a, "--text")) { if (!v) goto missing; o->text = v; }
    else if (!strcmp(a, "--out")) { if (!v) goto missing; o->out = v; }
    else if (!strcmp(a, "--label")) { if (!v) goto missing; o->label = v; }
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

const char *train_cached_corpus(void)
{
    static char path[1024];
    const char *env = getenv("QKSPEC_CORPUS");
    if (env && *env) return env;
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (xdg && *xdg) snprintf(path, sizeof path, "%s/qkspec/devil.txt", xdg);
    else snprintf(path, sizeof path, "%s/.cache/qkspec/devil.txt", home ? home : ".");
    return path;
}

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

static long words_to_ids(const unsigned char *t, size_t n, int *ids, int vocab_max, int *V)
{
    memset(g_words, 0, sizeof g_words);
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
                if (distinct >= WORD_HASH / 2) return -1;
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

/* Evaluates the model at the trainer's step into the next row of r (when there is room). */
static int evaluate(qk_trainer *t, const train_opts *o, train_result *r)
{
    qk_train_metrics e;
    static float rho[QK_MAX_T];
    if (qk_train_eval(t, &e, rho) != QK_OK) {
        fprintf(stderr, "\nqkspec train: %s: non-finite validation loss at step %ld\n", o->label, t->step);
        return 1;
    }
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
    return 0;
}

static void progress_line(const train_opts *o, const train_result *r, long step, double loss, double t0)
{
    double el = now_seconds() - t0, per = step > 0 ? el / step : 0;
    double left = per * (o->steps - step);
    int e = r->n - 1;
    fprintf(stderr, "\r%-10s step %6ld/%-6ld loss %7.4f", o->label, step, o->steps, loss);
    if (e >= 0) {
        if (o->cfg.kind == QK_MODEL_LM) fprintf(stderr, " val ppl %8.3f", exp(r->val_loss[e]));
        fprintf(stderr, " eig mean %+8.4f scale %9.4g entropy %6.3f", r->eig_mean[e], r->eig_scale[e], r->entropy[e]);
    }
    fprintf(stderr, " %7.0f tok/s  left %4.0fs ", step > 0 ? (double)step * o->cfg.B * o->cfg.T / el : 0.0, left);
    fflush(stderr);
}

static int write_csvs(const train_opts *o, const train_result *r)
{
    if (!o->out) return 0;
    if (mkdir(o->out, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "qkspec train: cannot create %s: %s\n", o->out, strerror(errno));
        return 1;
    }
    char p[1024];
    snprintf(p, sizeof p, "%s/%s_evals.csv", o->out, o->label);
    FILE *f = fopen(p, "w");
    snprintf(p, sizeof p, "%s/%s_rho.csv", o->out, o->label);
    FILE *g = fopen(p, "w");
    if (!f || !g) {
        fprintf(stderr, "qkspec train: cannot write CSV files in %s\n", o->out);
        if (f) fclose(f);
        if (g) fclose(g);
        return 1;
    }
    fprintf(f, "run,step,train_loss,val_loss,val_ppl,locater,eig_mean,eig_scale,eig_var,frob2,spectral_norm,trace,"
               "attn_entropy\n");
    for (int e = 0; e < r->n; e++)
        fprintf(f, "%s,%ld,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g\n", o->label, r->step[e], r->train_loss[e],
                r->val_loss[e], o->cfg.kind == QK_MODEL_LM ? exp(r->val_loss[e]) : NAN, r->reg[e], r->eig_mean[e],
                r->eig_scale[e], r->eig_var[e], r->frob2[e], r->spec2[e], r->trace[e], r->entropy[e]);
    fprintf(g, "run,step,position,rho\n");
    for (int e = 0; e < r->n; e++)
        for (int i = 0; i < r->T; i++) fprintf(g, "%s,%ld,%d,%.9g\n", o->label, r->step[e], i + 1, (double)r->rho[e][i]);
    fclose(f);
    fclose(g);
    return 0;
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

int train_run(const train_opts *o, train_result *r)
{
    qk_model_config c = o->cfg;
    memset(r, 0, sizeof *r);
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
    qk_status s = qk_train_init(&t, &m, &tc, tok, walk, work);
    if (s != QK_OK) {
        fprintf(stderr, "qkspec train: %s\n", qk_status_str(s));
        return 2;
    }
    r->T = c.T;
    r->d = c.d;
    r->params = (long long)sz.params;
    qk_train_qk_eigenvalues(&t, r->eig_init);
    int tty = o->progress && isatty(fileno(stderr));
    double t0 = now_seconds(), last_print = 0;
    for (;;) {
        if (t.step % o->eval_every == 0 || t.step == o->steps) {
            if (evaluate(&t, o, r)) return 1;
        }
        if (t.step == o->steps) break;
        s = qk_train_step(&t);
        if (s != QK_OK) {
            if (t.stop == QK_TRAIN_NONFINITE_LOSS)
                fprintf(stderr, "\nqkspec train: %s: non-finite loss at step %ld (loss %g, LocAteR %g); stopping\n",
                        o->label, t.stop_step, (double)m.loss, (double)m.reg);
            else if (t.stop == QK_TRAIN_NONFINITE_GRAD)
                fprintf(stderr, "\nqkspec train: %s: non-finite gradient at step %ld; stopping\n", o->label, t.stop_step);
            else
                fprintf(stderr, "\nqkspec train: %s: step %ld: %s; stopping\n", o->label, t.step + 1, qk_status_str(s));
            return 1;
        }
        if (tty && now_seconds() - last_print > 0.2) {
            progress_line(o, r, t.step, t.loss, t0);
            last_print = now_seconds();
        }
    }
    if (tty) fputc('\n', stderr);
    r->seconds = now_seconds() - t0;
    r->ms_per_step = 1000.0 * r->seconds / (double)o->steps;
    r->tokens_per_second = (double)o->steps * c.B * c.T / r->seconds;
    r->param_hash = qk_model_param_hash(&m);
    qk_train_qk_eigenvalues(&t, r->eig_final);
    return write_csvs(o, r);
}

int qk_cmd_train(int argc, char **argv)
{
    train_opts o;
    train_defaults(&o);
    for (int i = 0; i < argc;) {
        int k = train_option("train", argc, argv, &i, &o);
        if (k < 0) return 2;
        if (k == 0) {
            fprintf(stderr, "qkspec train: unknown option '%s'\n", argv[i]);
            train_usage(stderr);
            return 2;
        }
    }
    static train_result r;
    int rc = train_run(&o, &r);
    if (rc) return rc;
    int e = r.n - 1;
    printf("%s: %s, %lld parameters, %ld steps in %.1f s (%.2f ms/step, %.0f tokens/s)\n", o.label, r.corpus, r.params,
           o.steps, r.seconds, r.ms_per_step, r.tokens_per_second);
    printf("  final: train loss %.4f, val loss %.4f", r.train_loss[e], r.val_loss[e]);
    if (o.cfg.kind == QK_MODEL_LM) printf(" (ppl %.3f)", exp(r.val_loss[e]));
    printf(", W_QK eigen mean %.5g, scale %.5g, var %.5g, entropy %.4f\n", r.eig_mean[e], r.eig_scale[e], r.eig_var[e],
           r.entropy[e]);
    printf("  parameter hash %016llx\n", (unsigned long long)r.param_hash);
    if (o.out) printf("  wrote %s/%s_evals.csv and %s/%s_rho.csv\n", o.out, o.label, o.out, o.label);
    return 0;
}
