/* cmd_train.c — `qkspec train`: the language model on a text file (bytes or words) or
 * the theory model on random walks, with evaluations (loss, perplexity, W_QK eigen
 * statistics, attention entropy, per-position ρ) written as CSV. */
#include "qk_fp.h"
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"
#include "qk_eigen.h"
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

/* A fixed synthetic English-like corpus (always the same text: its own seed), so the
 * language-model experiments run without any download. Sentences from a small
 * grammar with agreement and a few long-range patterns. */
static size_t synthetic_corpus(unsigned char *buf, size_t cap)
{
    static const char *det[] = {"the", "a", "every", "no", "one"};
    static const char *adj[] = {"old", "quiet", "clever", "small", "bright", "cold", "honest", "strange", "patient", "red"};
    static const char *noun[] = {"king", "river", "doctor", "garden", "machine", "teacher", "city", "letter", "sailor",
                                 "lawyer", "window", "horse"};
    static const char *verb[] = {"sees", "follows", "praises", "forgets", "builds", "answers", "carries", "watches",
                                 "admires", "remembers"};
    static const char *adv[] = {"slowly", "often", "never", "again", "gladly", "at night"};
    qk_rng r;
    qk_rng_seed(&r, 20240202);
    size_t n = 0;
#define PICK(a) a[qk_rng_u64(&r) % (sizeof a / sizeof a[0])]
    while (n + 200 < cap && n < (2u << 20) - 200) {
        char s[200];
        const char *subj = PICK(noun), *obj = PICK(noun);
        int kind = (int)(qk_rng_u64(&r) % 4);
        if (kind == 0) snprintf(s, sizeof s, "%s %s %s %s %s %s. ", PICK(det), PICK(adj), subj, PICK(verb), PICK(det), obj);
        else if (kind == 1) snprintf(s, sizeof s, "%s %s %s the %s. ", PICK(det), subj, PICK(verb), obj);
        else if (kind == 2) snprintf(s, sizeof s, "the %s %s %s, and the %s %s it. ", subj, PICK(adv), PICK(verb), obj, PICK(verb));
        else snprintf(s, sizeof s, "when the %s %s the %s, the %s %s the %s. ", subj, PICK(verb), obj, obj, PICK(verb), subj);
        s[0] = (char)(s[0] == 'w' && kind == 3 ? 'W' : s[0] - 32 * (s[0] >= 'a' && s[0] <= 'z'));
        size_t k = strlen(s);
        memcpy(buf + n, s, k);
        n += k;
        if (qk_rng_u64(&r) % 8 == 0) buf[n++] = '\n';
    }
#undef PICK
    return n;
}

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

/* B windows of T+1 tokens at random starts in [lo, hi - T - 1] */
static void random_batch(int *tok, const int *ids, long lo, long hi, int B, int T, qk_rng *r)
{
    long span = hi - lo - T - 1;
    for (int b = 0; b < B; b++) {
        long s = lo + (long)(qk_rng_u64(r) % (uint64_t)(span + 1));
        memcpy(tok + (size_t)b * (T + 1), ids + s, sizeof(int) * (size_t)(T + 1));
    }
}

/* eval batch k: evenly spaced windows of the validation split */
static void eval_batch(int *tok, const int *ids, long lo, long hi, int B, int T, int k, int K)
{
    long span = hi - lo - T - 1;
    for (int b = 0; b < B; b++) {
        long j = (long)k * B + b, n = (long)K * B;
        long s = lo + (n > 1 ? (long)((double)span * j / (n - 1)) : 0);
        memcpy(tok + (size_t)b * (T + 1), ids + s, sizeof(int) * (size_t)(T + 1));
    }
}

static void sym_eigenvalues(const qk_model *m, double *w)
{
    int d = m->cfg.d;
    static double W[QK_MAX_D * QK_MAX_D], work[8 * QK_MAX_D * QK_MAX_D];
    qk_model_wqk(m, 0, 0, W);
    qk_symmetrize(d, W, d);
    size_t wl = qk_eigh_work_len(d, 0);
    if (wl > sizeof work / sizeof work[0] || qk_eigh(d, W, d, w, NULL, d, work, wl, NULL, NULL) != QK_OK)
        for (int i = 0; i < d; i++) w[i] = NAN;
}

static double spectral_norm_wqk(const qk_model *m, int head)
{
    int d = m->cfg.d;
    static double W[QK_MAX_D * QK_MAX_D], work[8 * QK_MAX_D * QK_MAX_D];
    qk_model_wqk(m, 0, head, W);
    double s = NAN;
    size_t wl = qk_spectral_norm_work_len(d, d);
    if (wl <= sizeof work / sizeof work[0]) qk_spectral_norm(d, d, W, d, &s, work, wl);
    return s;
}

/* ------------------------------------------------------------------ training */

typedef struct {
    const int *ids;
    long train_lo, train_hi, val_lo, val_hi;
    int *tok;
    float *walk;
    float *eval_walk;
} data_t;

static int evaluate(qk_model *m, const train_opts *o, data_t *D, train_result *r, long step, double train_loss)
{
    const qk_model_config *c = &m->cfg;
    int K = o->eval_batches, T = c->T, lm = c->kind == QK_MODEL_LM;
    double loss = 0, ent = 0;
    static double rho[QK_MAX_T];
    static float rh[QK_MAX_T];
    for (int i = 0; i < T; i++) rho[i] = 0;
    for (int k = 0; k < K; k++) {
        if (lm) eval_batch(D->tok, D->ids, D->val_lo, D->val_hi, c->B, T, k, K);
        const float *walk = D->eval_walk + (size_t)k * c->B * (T + 1) * c->d;
        qk_status s = qk_model_forward(m, D->tok, walk);
        if (s != QK_OK) {
            fprintf(stderr, "\nqkspec train: %s: non-finite validation loss at step %ld\n", o->label, step);
            return 1;
        }
        loss += m->loss / K;
        ent += qk_model_attn_entropy(m, 0) / K;
        qk_model_rho(m, 0, rh);
        for (int i = 0; i < T; i++) rho[i] += rh[i] / K;
    }
    if (r->n >= QK_TRAIN_MAX_EVALS) return 0;
    int e = r->n++;
    r->step[e] = step;
    r->train_loss[e] = train_loss;
    r->val_loss[e] = loss;
    r->reg[e] = m->reg;
    r->entropy[e] = ent;
    qk_qk_stats st, acc = {0, 0, 0, 0, 0};
    double spec = 0;
    for (int h = 0; h < c->H; h++) {
        qk_model_qk_stats(m, 0, h, &st);
        acc.mean += st.mean / c->H;
        acc.scale += st.scale / c->H;
        acc.var += st.var / c->H;
        acc.frob2 += st.frob2 / c->H;
        acc.trace += st.trace / c->H;
        spec += spectral_norm_wqk(m, h) / c->H;
    }
    r->eig_mean[e] = acc.mean;
    r->eig_scale[e] = acc.scale;
    r->eig_var[e] = acc.var;
    r->frob2[e] = acc.frob2;
    r->trace[e] = acc.trace;
    r->spec2[e] = spec;
    for (int i = 0; i < T; i++) r->rho[e][i] = (float)rho[i];
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

static int prepare_data(const train_opts *o, qk_model_config *c, data_t *D, train_result *r)
{
    memset(D, 0, sizeof *D);
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
        n = (long)synthetic_corpus(g_text, sizeof g_text);
        snprintf(r->corpus, sizeof r->corpus, "built-in synthetic corpus");
    }
    long ntok;
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
    long nval = (long)(ntok * (double)o->val_frac);
    D->ids = g_tokens;
    D->train_lo = 0;
    D->train_hi = ntok - nval;
    D->val_lo = D->train_hi;
    D->val_hi = ntok;
    if (D->train_hi - D->train_lo < c->T + 2 || D->val_hi - D->val_lo < c->T + 2) {
        fprintf(stderr, "qkspec train: the corpus (%ld tokens) is too short for sequences of %d tokens\n", ntok, c->T);
        return 2;
    }
    return 0;
}

int train_run(const train_opts *o, train_result *r)
{
    qk_model_config c = o->cfg;
    data_t D;
    memset(r, 0, sizeof *r);
    int rc = prepare_data(o, &c, &D, r);
    if (rc) return rc;
    static qk_model m;
    qk_model_sizes_t sz;
    if (cli_model_open("train", &c, &m, &sz)) return 2;
    /* token and walk buffers: one training batch and the eval walks */
    static int tok[(QK_MAX_T + 1) * 1024];
    static float walk[1 << 22];
    size_t per = (size_t)c.B * (c.T + 1) * (size_t)c.d;
    if ((size_t)c.B * (c.T + 1) > sizeof tok / sizeof tok[0] ||
        (c.kind != QK_MODEL_LM && per * (size_t)(1 + o->eval_batches) > sizeof walk / sizeof walk[0])) {
        fprintf(stderr, "qkspec train: batch too large for this build (reduce --batch or --seq)\n");
        return 2;
    }
    D.tok = tok;
    D.walk = walk;
    D.eval_walk = walk + per;
    qk_model_init(&m, o->seed);
    r->T = c.T;
    r->d = c.d;
    r->params = (long long)sz.params;
    qk_rng data_rng, eval_rng;
    qk_rng_seed(&data_rng, o->seed * 7919u + 17u);
    qk_rng_seed(&eval_rng, 987654321u);
    if (c.kind != QK_MODEL_LM)
        for (int b = 0; b < c.B * o->eval_batches; b++)
            qk_walk_sample(&eval_rng, D.eval_walk + (size_t)b * (c.T + 1) * c.d, c.T + 1, c.d, NULL);
    sym_eigenvalues(&m, r->eig_init);
    int tty = o->progress && isatty(fileno(stderr));
    double t0 = now_seconds(), loss = NAN, last_print = 0;
    for (long step = 0; step <= o->steps; step++) {
        if (step % o->eval_every == 0 || step == o->steps) {
            if (evaluate(&m, o, &D, r, step, loss)) return 1;
        }
        if (step == o->steps) break;
        if (c.kind == QK_MODEL_LM) random_batch(tok, D.ids, D.train_lo, D.train_hi, c.B, c.T, &data_rng);
        else
            for (int b = 0; b < c.B; b++) qk_walk_sample(&data_rng, walk + (size_t)b * (c.T + 1) * c.d, c.T + 1, c.d, NULL);
        qk_model_sr_step(&m);
        qk_status s = qk_model_forward(&m, tok, walk);
        if (s != QK_OK) {
            fprintf(stderr, "\nqkspec train: %s: non-finite loss at step %ld (loss %g, LocAteR %g); stopping\n", o->label,
                    step + 1, (double)m.loss, (double)m.reg);
            return 1;
        }
        loss = m.loss;
        qk_model_backward(&m);
        if (qk_model_adamw(&m) != QK_OK) {
            fprintf(stderr, "\nqkspec train: %s: non-finite gradient at step %ld; stopping\n", o->label, step + 1);
            return 1;
        }
        if (tty && now_seconds() - last_print > 0.2) {
            progress_line(o, r, step + 1, loss, t0);
            last_print = now_seconds();
        }
    }
    if (tty) fputc('\n', stderr);
    r->seconds = now_seconds() - t0;
    r->ms_per_step = 1000.0 * r->seconds / (double)o->steps;
    r->tokens_per_second = (double)o->steps * c.B * c.T / r->seconds;
    sym_eigenvalues(&m, r->eig_final);
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
    if (o.out) printf("  wrote %s/%s_evals.csv and %s/%s_rho.csv\n", o.out, o.label, o.out, o.label);
    return 0;
}
