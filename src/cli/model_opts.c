/* model_opts.c — model options and static model memory of the command-line tool. */
#include "qk_fp.h"
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cli.h"
#include "qk_train.h"

#ifndef QK_CLI_MODEL_FLOATS
/* 896 MiB of float on 64-bit hosts (256 MiB on 32-bit ones); the paper preset needs ~90
 * byte-level, word-level with --vocab-max 8192 at B = T = 64 needs 277 (the logits and
 * their gradient, 2·B·T·V floats, dominate); collapse at d = 768, 24 layers, 812.
 * Untouched pages cost nothing. */
#if UINTPTR_MAX > 0xffffffffu
#define QK_CLI_MODEL_FLOATS (224u << 20)
#else
#define QK_CLI_MODEL_FLOATS (64u << 20)
#endif
#endif
static float g_model_mem[QK_CLI_MODEL_FLOATS];

size_t cli_model_capacity_floats(void) { return QK_CLI_MODEL_FLOATS; }
float *cli_model_memory(void) { return g_model_mem; }

int cli_parse_long(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "qkspec %s: %s: '%s' is not an integer in [%ld, %ld]\n", cmd, opt, s ? s : "(missing)", lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_parse_float(const char *cmd, const char *opt, const char *s, double lo, double hi, float *out)
{
    char *end;
    errno = 0;
    double v = s ? strtod(s, &end) : 0;
    if (!s || errno || end == s || *end || !isfinite(v) || v < lo || v > hi) {
        fprintf(stderr, "qkspec %s: %s: '%s' is not a finite number in [%g, %g]\n", cmd, opt, s ? s : "(missing)", lo, hi);
        return -1;
    }
    *out = (float)v;
    return 0;
}

int cli_check_corpus(const char *cmd, const char *path, int T, float val_frac)
{
    struct stat st;
    FILE *f = NULL;
    if (stat(path, &st) != 0 || !(f = fopen(path, "rb"))) {
        fprintf(stderr, "qkspec %s: cannot read %s: %s\n", cmd, path, strerror(errno));
        return -1;
    }
    fclose(f);
    if (!S_ISREG(st.st_mode)) {
        fprintf(stderr, "qkspec %s: %s is not a regular file (a text corpus is expected)\n", cmd, path);
        return -1;
    }
    long ntrain;
    if (T > 0 && qk_train_split((long)(st.st_size < 0x7fffffff ? st.st_size : 0x7fffffff), val_frac, T, &ntrain) != QK_OK) {
        fprintf(stderr, "qkspec %s: the corpus %s (%lld bytes) is too short for sequences of %d tokens\n", cmd, path,
                (long long)st.st_size, T);
        return -1;
    }
    return 0;
}

int cli_check_vocab(const char *cmd, int lm, int word_level, int vocab, int vocab_max)
{
    int max_given = vocab_max != CLI_VOCAB_MAX_DEFAULT && vocab_max != vocab;
    if (!lm && (vocab || max_given)) {
        fprintf(stderr, "qkspec %s: --vocab/--vocab-max: the walk model has no vocabulary (its tokens are vectors)\n", cmd);
        return -1;
    }
    if (lm && !word_level && vocab && vocab != 256) {
        fprintf(stderr, "qkspec %s: --vocab %d: byte-level training has 256 tokens, one per byte value; add --words for a "
                        "word vocabulary of %d (the %d most frequent words and <unk>)\n", cmd, vocab, vocab, vocab - 1);
        return -1;
    }
    if (lm && !word_level && max_given) {
        fprintf(stderr, "qkspec %s: --vocab-max %d applies to word-level training only; add --words\n", cmd, vocab_max);
        return -1;
    }
    return 0;
}

void cli_model_usage(FILE *f)
{
    fprintf(f,
            "model options:\n"
            "  --preset tiny|small|paper|paper-d32|walk   (first; default depends on the command)\n"
            "  --ln pre|post|none   --heads H   --layers L   --d D   --dff F   --seq T   --batch B\n"
            "  --vocab V   --kappa1 X   --kappa2 X   --sigma-reparam off|qk|all   --lr X   --seed N\n"
            "  --locater-norm token|sum   (LocAteR's R added to the per-token mean loss, or R/(B*T) as in\n"
            "                              fairseq's summed criterion; default token)\n"
            "  --init legacy|fairseq|bert (default legacy; fairseq: transformer_lm's initialisation exactly;\n"
            "                              bert: N(0, 0.02^2) weights, biases 0, SPEC 1.4)\n"
            "  --variant transformer|san|san+mlp|san+skip|pure|pure+skip   (SPEC 1.4; default transformer;\n"
            "                              without FFN sets dff 0, pure sets ln none)\n"
            "  --act relu|gelu            (the FFN's activation; default relu, gelu in erf form as BERT)\n"
            "  --dropout P                (on the embedding sum, attention output and FFN output; default 0)\n");
}

static const char *ln_name(qk_ln_mode m) { return m == QK_LN_PRE ? "pre" : m == QK_LN_POST ? "post" : "none"; }
static const char *sr_name(qk_sr_mode m) { return m == QK_SR_OFF ? "off" : m == QK_SR_QK ? "qk" : "all"; }
static const char *norm_name(qk_locater_norm n) { return n == QK_NORM_SUM ? "sum" : "token"; }
static const char *init_name(qk_init_mode m)
{
    return m == QK_INIT_FAIRSEQ ? "fairseq" : m == QK_INIT_BERT ? "bert" : "legacy";
}

int cli_model_option(const char *cmd, int argc, char **argv, int *i, qk_model_config *c, unsigned long long *seed)
{
    const char *opt = argv[*i], *val = *i + 1 < argc ? argv[*i + 1] : NULL;
    long n;
    if (!strcmp(opt, "--preset")) {
        if (!val || qk_model_preset(val, c) != QK_OK) {
            fprintf(stderr, "qkspec %s: --preset: unknown preset '%s' (tiny, small, paper, paper-d32, walk)\n", cmd,
                    val ? val : "(missing)");
            return -1;
        }
    } else if (!strcmp(opt, "--ln")) {
        if (val && !strcmp(val, "pre")) c->ln = QK_LN_PRE;
        else if (val && !strcmp(val, "post")) c->ln = QK_LN_POST;
        else if (val && !strcmp(val, "none")) c->ln = QK_LN_NONE;
        else { fprintf(stderr, "qkspec %s: --ln: expected pre, post or none\n", cmd); return -1; }
    } else if (!strcmp(opt, "--sigma-reparam")) {
        if (val && !strcmp(val, "off")) c->sigma_reparam = QK_SR_OFF;
        else if (val && !strcmp(val, "qk")) c->sigma_reparam = QK_SR_QK;
        else if (val && !strcmp(val, "all")) c->sigma_reparam = QK_SR_ALL;
        else { fprintf(stderr, "qkspec %s: --sigma-reparam: expected off, qk or all\n", cmd); return -1; }
    } else if (!strcmp(opt, "--locater-norm")) {
        if (val && !strcmp(val, "token")) c->locater_norm = QK_NORM_TOKEN;
        else if (val && !strcmp(val, "sum")) c->locater_norm = QK_NORM_SUM;
        else { fprintf(stderr, "qkspec %s: --locater-norm: expected token or sum\n", cmd); return -1; }
    } else if (!strcmp(opt, "--init")) {
        if (val && !strcmp(val, "legacy")) c->init = QK_INIT_LEGACY;
        else if (val && !strcmp(val, "fairseq")) c->init = QK_INIT_FAIRSEQ;
        else if (val && !strcmp(val, "bert")) c->init = QK_INIT_BERT;
        else { fprintf(stderr, "qkspec %s: --init: expected legacy, fairseq or bert\n", cmd); return -1; }
    } else if (!strcmp(opt, "--variant")) {
        if (qk_variant_parse(val, &c->variant) != QK_OK) {
            fprintf(stderr, "qkspec %s: --variant: expected transformer, san, san+mlp, san+skip, pure or pure+skip\n",
                    cmd);
            return -1;
        }
        if (!qk_variant_has_ffn(c->variant)) c->dff = 0;
        if (!qk_variant_has_ln(c->variant)) c->ln = QK_LN_NONE;
    } else if (!strcmp(opt, "--act")) {
        if (val && !strcmp(val, "relu")) c->act = QK_ACT_RELU;
        else if (val && !strcmp(val, "gelu")) c->act = QK_ACT_GELU;
        else { fprintf(stderr, "qkspec %s: --act: expected relu or gelu\n", cmd); return -1; }
    } else if (!strcmp(opt, "--dropout")) {
        if (cli_parse_float(cmd, opt, val, 0, 0.99, &c->dropout)) return -1;
    } else if (!strcmp(opt, "--heads")) { if (cli_parse_long(cmd, opt, val, 1, QK_MAX_D, &n)) return -1; c->H = (int)n; }
    else if (!strcmp(opt, "--layers")) { if (cli_parse_long(cmd, opt, val, 1, QK_MAX_LAYERS, &n)) return -1; c->L = (int)n; }
    else if (!strcmp(opt, "--d")) { if (cli_parse_long(cmd, opt, val, 2, QK_MAX_D, &n)) return -1; c->d = (int)n; }
    else if (!strcmp(opt, "--dff")) { if (cli_parse_long(cmd, opt, val, 0, 4 * QK_MAX_D, &n)) return -1; c->dff = (int)n; }
    else if (!strcmp(opt, "--seq")) { if (cli_parse_long(cmd, opt, val, 1, QK_MAX_T, &n)) return -1; c->T = (int)n; }
    else if (!strcmp(opt, "--batch")) { if (cli_parse_long(cmd, opt, val, 1, 1 << 16, &n)) return -1; c->B = (int)n; }
    else if (!strcmp(opt, "--vocab")) { if (cli_parse_long(cmd, opt, val, 2, QK_MAX_V, &n)) return -1; c->V = (int)n; }
    else if (!strcmp(opt, "--seed")) { if (cli_parse_long(cmd, opt, val, 0, 2147483647L, &n)) return -1; *seed = (unsigned long long)n; }
    else if (!strcmp(opt, "--kappa1")) { if (cli_parse_float(cmd, opt, val, 0, 1e6, &c->kappa1)) return -1; }
    else if (!strcmp(opt, "--kappa2")) { if (cli_parse_float(cmd, opt, val, 0, 1e6, &c->kappa2)) return -1; }
    else if (!strcmp(opt, "--lr")) { if (cli_parse_float(cmd, opt, val, 0, 10, &c->lr)) return -1; }
    else return 0;
    *i += 2;
    return 1;
}

int cli_model_open(const char *cmd, const qk_model_config *cfg, qk_model *m, qk_model_sizes_t *sz)
{
    qk_status s = qk_model_sizes(cfg, sz);
    if (s != QK_OK) {
        fprintf(stderr, "qkspec %s: invalid model configuration: %s (d must be divisible by heads; capacities: "
                        "layers <= %d, d <= %d, seq <= %d, vocab <= %d)\n",
                cmd, qk_status_str(s), QK_MAX_LAYERS, QK_MAX_D, QK_MAX_T, QK_MAX_V);
        return -1;
    }
    size_t need = 4 * sz->params + sz->acts + sz->scratch + sz->state;
    if (need > QK_CLI_MODEL_FLOATS) {
        fprintf(stderr, "qkspec %s: the model needs %zu MiB, more than this build's %zu MiB of model memory "
                        "(reduce batch or seq, or rebuild with a larger QK_CLI_MODEL_FLOATS)\n",
                cmd, need * 4 >> 20, (size_t)QK_CLI_MODEL_FLOATS * 4 >> 20);
        return -1;
    }
    float *p = g_model_mem;
    float *w = p, *g = w + sz->params, *am = g + sz->params, *av = am + sz->params;
    float *acts = av + sz->params, *scr = acts + sz->acts, *st = scr + sz->scratch;
    s = qk_model_bind(m, cfg, w, g, am, av, acts, scr, st);
    if (s != QK_OK) {
        fprintf(stderr, "qkspec %s: %s\n", cmd, qk_status_str(s));
        return -1;
    }
    return 0;
}

void cli_config_json(FILE *f, const qk_model_config *c, unsigned long long seed)
{
    fprintf(f,
            "{\n  \"model\": \"%s\",\n  \"vocab\": %d,\n  \"d\": %d,\n  \"heads\": %d,\n  \"dff\": %d,\n"
            "  \"layers\": %d,\n  \"seq\": %d,\n  \"batch\": %d,\n  \"ln\": \"%s\",\n  \"ln_eps\": %.9g,\n"
            "  \"kappa1\": %.9g,\n  \"kappa2\": %.9g,\n  \"locater_norm\": \"%s\",\n  \"init\": \"%s\",\n"
            "  \"dropout\": %.9g,\n  \"variant\": \"%s\",\n  \"act\": \"%s\",\n  \"sigma_reparam\": \"%s\",\n  \"lr\": %.9g,\n"
            "  \"beta1\": %.9g,\n  \"beta2\": %.9g,\n  \"adam_eps\": %.9g,\n  \"weight_decay\": %.9g,\n"
            "  \"seed\": %llu,\n  \"positions\": \"sinusoidal, fairseq layout, positions t+2\",\n"
            "  \"embedding_scale\": \"sqrt(d)\",\n  \"causal\": %s\n}\n",
            c->kind == QK_MODEL_LM ? "lm" : "walk", c->kind == QK_MODEL_LM ? c->V : 0, c->d, c->H, c->dff, c->L, c->T,
            c->B, ln_name(c->ln), (double)c->ln_eps, (double)c->kappa1, (double)c->kappa2, norm_name(c->locater_norm),
            init_name(c->init), (double)c->dropout, qk_variant_name(c->variant), c->act == QK_ACT_GELU ? "gelu" : "relu",
            sr_name(c->sigma_reparam),
            (double)c->lr, (double)c->beta1, (double)c->beta2, (double)c->adam_eps, (double)c->weight_decay, seed,
            c->kind == QK_MODEL_LM ? "true" : "false");
}
