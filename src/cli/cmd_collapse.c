/* cmd_collapse.c — `qkspec collapse` (rank collapse along depth, SPEC §1.4: residual
 * ratio r_l, singular-value view, the bound from the weights, the pure exponent; CSV
 * and SVG) and `qkspec paths` (the path decomposition checked numerically, and the
 * path-length shares of named architectures). */
#include "qk_fp.h"
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli.h"
#include "qk_collapse.h"
#include "qk_eigen.h"
#include "qk_svg.h"

/* The stack lives in the tool's static model memory (cli_model_memory; the core
 * never allocates). The paper's setting needs about 102 M floats (BERT-base weights:
 * 85 M; the model's activations: 21 M), 24 layers of it about 203 M. */
#define QK_COLLAPSE_CLI_FLOATS cli_model_capacity_floats()
#define MAX_SEQS 4096
/* r_l below this is at the float32 rounding floor (256 u): left out of the exponents */
#define RESOLVABLE 0x1p-16
#define MAX_TEXT (4u << 20)
#define SVD_DOUBLES ((size_t)1 << 20)

static double g_svd[SVD_DOUBLES];
static unsigned char g_text[MAX_TEXT];
static int g_tok[QK_COL_MAX_N];
static double g_res[MAX_SEQS][QK_COL_MAX_L + 1], g_nrm[MAX_SEQS][QK_COL_MAX_L + 1];
static double g_srank[MAX_SEQS][QK_COL_MAX_L + 1], g_nrank[MAX_SEQS][QK_COL_MAX_L + 1];
static double g_r1[MAX_SEQS][QK_COL_MAX_L + 1];

/* A built-in text for --input text without --text (plain English, 2.8 kB). */
static const char builtin_text[] =
    "Attention layers mix the tokens of a sequence: every output row is a weighted average of the value "
    "rows, with weights from a softmax over the similarities of a query with all keys. Averaging is a "
    "contraction. If nothing else happens between two averaging steps, the rows move towards their common "
    "mean, and a deep stack of such steps leaves a matrix whose rows are all the same. The paper studied "
    "here makes this precise. It writes the output of a network of self-attention layers as a sum over "
    "paths, each path picking one head in every layer, and shows that without skip connections and without "
    "feed-forward blocks the distance of the output from the nearest matrix of rank one shrinks doubly "
    "exponentially with depth: the residual of one layer is bounded by a constant times the cube of the "
    "residual of the layer before. Skip connections change the picture completely, because then most paths "
    "are short, and a short path applies only a few averaging steps. The feed-forward blocks help as well, "
    "since a block with a large Lipschitz constant can undo part of the contraction. Layer normalisation, "
    "on the other hand, rescales every token by its own spread and does not stop the rows from becoming "
    "equal. To see the effect one takes a transformer at initialisation, removes the skip connections or "
    "the feed-forward blocks, feeds it text, and measures after every layer how far the token matrix is "
    "from its mean token, relative to its size. The composite norm used for this is the geometric mean of "
    "the largest column sum and the largest row sum of absolute values. For the full transformer the "
    "relative residual decays slowly over twelve layers; for the network of attention layers alone it "
    "drops to a few percent after one layer and to the rounding level after two. The same experiment "
    "repeated with random Gaussian tokens instead of text gives the same ordering of the variants, though "
    "the starting value differs, since Gaussian rows share no common component at all. A reproduction is "
    "only useful if somebody else can repeat it and obtain the same numbers, which is why this program "
    "computes every result bit for bit the same on every processor it supports, with its own exponential "
    "and logarithm, its own random generator and a fixed order for every sum. Sixteen kinds of weather "
    "pass over the hills in a single spring; the river keeps its own counsel and carries the snow down to "
    "the sea, where the gulls quarrel over what the fishing boats leave behind. An old clock in the "
    "station hall has been wrong by four minutes for as long as anyone remembers, and the trains run by it. "
    "Numbers, letters, spaces and punctuation all become tokens here, one byte each, looked up in a random "
    "embedding table together with a position vector and a segment vector, and normalised, as BERT does.";

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double ln_(double x) { return qk_log(x); }

const char *cli_collapse_text(size_t *len)
{
    *len = sizeof builtin_text - 1;
    return builtin_text;
}

/* mean and sample standard deviation of the finite v[i*stride] (count into *cnt). */
/* Output files are written atomically (cli_file.c); one is open at a time. */
static cli_out g_out;

static FILE *open_out(const char *cmd, const char *path) { return cli_out_open(&g_out, cmd, path); }

/* bad: the writer reported an error (a failed write, or input it refused); then the
 * temporary is dropped and the final name is left as it was. */
static int close_out(const char *cmd, const char *path, FILE *f, int bad)
{
    (void)f;
    if (bad) {
        fprintf(stderr, "qkspec %s: error writing %s%s\n", cmd, path, ferror(g_out.f) ? "" : " (the plot was refused)");
        cli_out_abort(&g_out);
        return -1;
    }
    return cli_out_commit(&g_out);
}

/* ================================================================== collapse */

typedef struct {
    qk_collapse_config cfg;
    int variants[QK_COL_NVARIANT], nvar;
    int seqs, text_input, svd, logy;
    unsigned long long seed;
    float gamma, std, scale;
    int std_set;
    const char *text, *csv, *svg;
} col_opts;

static void collapse_usage(FILE *f)
{
    fprintf(f,
            "usage: qkspec collapse [options]\n"
            "  --variant V     san | san+mlp | san+skip | transformer | pure | pure+skip | all (default all:\n"
            "                  the four of the paper and pure); repeat for several\n"
            "  --preset P      paper (n 128, d 768, H 12, L 12; the default) | small (n 64, d 128, H 4, L 12)\n"
            "                  | tiny (n 16, d 32, H 2, L 6); options after it change single sizes\n"
            "  --n N  --d D  --heads H  --layers L  --dff F (default 4d)\n"
            "  --seqs S        sequences (default 32)\n"
            "  --input text|gauss   tokens of a text through a random BERT-style embedding table (bytes,\n"
            "                  V = 256; default), or i.i.d. N(0, 1) tokens\n"
            "  --text FILE     the text (default: a built-in paragraph); sequence s is the n bytes at s*n\n"
            "                  (wrapping)\n"
            "  --seed N        weights (default 1); the data use a generator seeded with N ^ 0xda7a5eedda7a5eed\n"
            "  --svd K         singular-value view (stable and numerical rank) on the first K sequences\n"
            "                  (default 4; 0: off)\n"
            "  --gamma G       the gamma of the bound (default 1; SPEC 1.4 leaves it to the attention entries)\n"
            "  --std S         weights N(0, S^2) instead of BERT's S = 0.02\n"
            "  --scale A       multiply every input token by A (default 1)\n"
            "  --csv FILE      per variant and layer: means and standard deviations (see the header line)\n"
            "  --svg FILE      r_l against l, one line per variant with a +-std band\n"
            "  --logy          log10 y axis in the SVG\n"
            "At initialisation. The same layers after training, as language models of every variant:\n"
            "qkspec collapse-train (its --help).\n");
}

static void preset(col_opts *o, const char *name)
{
    if (!strcmp(name, "small")) o->cfg = qk_collapse_default_config(64, 128, 4, 12);
    else if (!strcmp(name, "tiny")) o->cfg = qk_collapse_default_config(16, 32, 2, 6);
    else o->cfg = qk_collapse_default_config(128, 768, 12, 12);
}

static int collapse_parse(int argc, char **argv, col_opts *o)
{
    const char *cmd = "collapse";
    memset(o, 0, sizeof *o);
    preset(o, "paper");
    o->seqs = 32;
    o->text_input = 1;
    o->svd = 4;
    o->seed = 1;
    o->gamma = 1.0f;
    o->scale = 1.0f;
    int dff_set = 0, all = 0;
    for (int i = 0; i < argc;) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long n;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { collapse_usage(stdout); exit(0); }
        if (!strcmp(a, "--logy")) { o->logy = 1; i++; continue; }
        if (!strcmp(a, "--variant")) {
            qk_col_variant var;
            if (v && !strcmp(v, "all")) all = 1;
            else if (v && qk_col_variant_parse(v, &var) == QK_OK) {
                int dup = 0;
                for (int k = 0; k < o->nvar; k++) dup |= o->variants[k] == (int)var;
                if (!dup) o->variants[o->nvar++] = (int)var;
            } else {
                fprintf(stderr, "qkspec collapse: --variant: '%s' is not one of san, san+mlp, san+skip, "
                                "transformer, pure, pure+skip, all\n", v ? v : "(missing)");
                return -1;
            }
        } else if (!strcmp(a, "--preset")) {
            if (!v || (strcmp(v, "paper") && strcmp(v, "small") && strcmp(v, "tiny"))) {
                fprintf(stderr, "qkspec collapse: --preset: '%s' is not paper, small or tiny\n", v ? v : "(missing)");
                return -1;
            }
            preset(o, v);
        } else if (!strcmp(a, "--input")) {
            if (v && !strcmp(v, "text")) o->text_input = 1;
            else if (v && !strcmp(v, "gauss")) o->text_input = 0;
            else { fprintf(stderr, "qkspec collapse: --input: expected text or gauss\n"); return -1; }
        } else if (!strcmp(a, "--text")) {
            if (!v) { fprintf(stderr, "qkspec collapse: --text: missing file name\n"); return -1; }
            o->text = v;
        } else if (!strcmp(a, "--csv")) {
            if (!v) { fprintf(stderr, "qkspec collapse: --csv: missing file name\n"); return -1; }
            o->csv = v;
        } else if (!strcmp(a, "--svg")) {
            if (!v) { fprintf(stderr, "qkspec collapse: --svg: missing file name\n"); return -1; }
            o->svg = v;
        } else if (!strcmp(a, "--n")) { if (cli_parse_long(cmd, a, v, 2, QK_COL_MAX_N, &n)) return -1; o->cfg.n = (int)n; }
        else if (!strcmp(a, "--d")) { if (cli_parse_long(cmd, a, v, 1, QK_COL_MAX_D, &n)) return -1; o->cfg.d = (int)n; }
        else if (!strcmp(a, "--heads")) { if (cli_parse_long(cmd, a, v, 1, QK_COL_MAX_D, &n)) return -1; o->cfg.H = (int)n; }
        else if (!strcmp(a, "--layers")) { if (cli_parse_long(cmd, a, v, 1, QK_COL_MAX_L, &n)) return -1; o->cfg.L = (int)n; }
        else if (!strcmp(a, "--dff")) { if (cli_parse_long(cmd, a, v, 1, 4 * QK_COL_MAX_D, &n)) return -1; o->cfg.dff = (int)n; dff_set = 1; }
        else if (!strcmp(a, "--seqs")) { if (cli_parse_long(cmd, a, v, 1, MAX_SEQS, &n)) return -1; o->seqs = (int)n; }
        else if (!strcmp(a, "--svd")) { if (cli_parse_long(cmd, a, v, 0, MAX_SEQS, &n)) return -1; o->svd = (int)n; }
        else if (!strcmp(a, "--seed")) { if (cli_parse_long(cmd, a, v, 0, 2147483647L, &n)) return -1; o->seed = (unsigned long long)n; }
        else if (!strcmp(a, "--gamma")) { if (cli_parse_float(cmd, a, v, 1e-30, 1e30, &o->gamma)) return -1; }
        else if (!strcmp(a, "--scale")) { if (cli_parse_float(cmd, a, v, 1e-30, 1e30, &o->scale)) return -1; }
        else if (!strcmp(a, "--std")) { if (cli_parse_float(cmd, a, v, 0, 100, &o->std)) return -1; o->std_set = 1; }
        else {
            fprintf(stderr, "qkspec collapse: unknown option '%s'\n", a);
            collapse_usage(stderr);
            return -1;
        }
        i += 2;
    }
    if (!dff_set) o->cfg.dff = 4 * o->cfg.d;
    if (o->std_set) o->cfg.init_std = o->std;
    if (all || !o->nvar) {
        static const int def[] = {QK_COL_SAN, QK_COL_SAN_MLP, QK_COL_SAN_SKIP, QK_COL_TRANSFORMER, QK_COL_PURE};
        for (int k = 0; k < 5; k++) {
            int dup = 0;
            for (int j = 0; j < o->nvar; j++) dup |= o->variants[j] == def[k];
            if (!dup) o->variants[o->nvar++] = def[k];
        }
    }
    if (o->cfg.d % o->cfg.H) {
        fprintf(stderr, "qkspec collapse: --d %d is not divisible by --heads %d\n", o->cfg.d, o->cfg.H);
        return -1;
    }
    if (o->cfg.dff > 4 * QK_COL_MAX_D) {
        fprintf(stderr, "qkspec collapse: --dff %d above the capacity %d\n", o->cfg.dff, 4 * QK_COL_MAX_D);
        return -1;
    }
    if (!o->text_input && o->text) {
        fprintf(stderr, "qkspec collapse: --text needs --input text\n");
        return -1;
    }
    o->cfg.V = o->text_input ? 256 : 0;
    return 0;
}

/* Reads the text (or the built-in one) into g_text; returns its length or -1. */
static long load_text(const char *cmd, const char *path, int n)
{
    size_t len;
    if (!path) {
        len = sizeof builtin_text - 1;
        memcpy(g_text, builtin_text, len);
    } else {
        FILE *f = fopen(path, "rb");
        if (!f) { fprintf(stderr, "qkspec %s: cannot read %s: %s\n", cmd, path, strerror(errno)); return -1; }
        len = fread(g_text, 1, MAX_TEXT, f);
        int more = fgetc(f) != EOF, bad = ferror(f);
        fclose(f);
        if (bad) { fprintf(stderr, "qkspec %s: error reading %s\n", cmd, path); return -1; }
        if (more) { fprintf(stderr, "qkspec %s: %s is larger than %u bytes\n", cmd, path, MAX_TEXT); return -1; }
    }
    if (len < (size_t)n) {
        fprintf(stderr, "qkspec %s: the text has %zu bytes, fewer than one sequence of --n %d\n", cmd, len, n);
        return -1;
    }
    return (long)len;
}

/* The paper's means at layers 0, 1, 2, 4, 8, 12 (SPEC §1.4), BERT at initialisation. */
static const int paper_layers[6] = {0, 1, 2, 4, 8, 12};
static const double paper_r[4][6] = {{.61, .018, 0, 0, 0, 0},
                                     {.60, .017, 0, 0, 0, 0},
                                     {.61, .57, .56, .56, .50, .45},
                                     {.60, .56, .54, .54, .46, .35}};

typedef struct {
    double r_mean[QK_COL_MAX_L + 1], r_sd[QK_COL_MAX_L + 1];
    double res_mean[QK_COL_MAX_L + 1], res_sd[QK_COL_MAX_L + 1], lres_mean[QK_COL_MAX_L + 1];
    double sr_mean[QK_COL_MAX_L + 1], nr_mean[QK_COL_MAX_L + 1], r1_mean[QK_COL_MAX_L + 1];
    double ex_mean[QK_COL_MAX_L + 1], ex_sd[QK_COL_MAX_L + 1], dx_mean[QK_COL_MAX_L + 1];
    int ex_n[QK_COL_MAX_L + 1], dx_n[QK_COL_MAX_L + 1];
    double slope[QK_COL_MAX_L + 1];
    double gamma_needed[QK_COL_MAX_L + 1];
    double seconds;
} var_result;

static var_result g_vr[QK_COL_NVARIANT];

int qk_cmd_collapse(int argc, char **argv)
{
    const char *cmd = "collapse";
    col_opts o;
    if (collapse_parse(argc, argv, &o)) return 2;
    qk_collapse_config *c = &o.cfg;
    qk_collapse_sizes_t sz;
    qk_status st = qk_collapse_sizes(c, &sz);
    if (st != QK_OK) {
        fprintf(stderr, "qkspec collapse: invalid configuration: %s (capacities: n <= %d, d <= %d, layers <= %d)\n",
                qk_status_str(st), QK_COL_MAX_N, QK_COL_MAX_D, QK_COL_MAX_L);
        return 2;
    }
    int n = c->n, d = c->d, L = c->L, H = c->H;
    size_t headscr = qk_collapse_head_norms_scratch(d), xin = (size_t)n * d;
    size_t need = sz.params + sz.acts + sz.scratch + (headscr > xin ? headscr : xin);
    if (need > QK_COLLAPSE_CLI_FLOATS) {
        fprintf(stderr, "qkspec collapse: the stack needs %zu MiB, more than this build's %zu MiB "
                        "(reduce d, layers or dff, or rebuild with a larger QK_CLI_MODEL_FLOATS)\n",
                need * 4 >> 20, (size_t)QK_COLLAPSE_CLI_FLOATS * 4 >> 20);
        return 2;
    }
    size_t svd_need = qk_collapse_spectrum_work_len(n, d);
    if (o.svd > 0 && svd_need > SVD_DOUBLES) {
        fprintf(stderr, "qkspec collapse: the singular-value view of a %d x %d matrix needs more than this build's "
                        "workspace; use --svd 0\n", n, d);
        return 2;
    }
    long textlen = 0;
    if (o.text_input && (textlen = load_text(cmd, o.text, n)) < 0) return 2;
    float *params = cli_model_memory(), *acts = params + sz.params, *scr = acts + sz.acts, *x0 = scr + sz.scratch;
    int *tok = g_tok;
    qk_collapse s;
    qk_collapse_bind(&s, c, params, acts, scr);
    double t0 = now_s();
    qk_collapse_init(&s, o.seed);
    double t_init = now_s() - t0;
    int svd_seqs = o.svd < o.seqs ? o.svd : o.seqs;
    printf("qkspec collapse: n %d, d %d, H %d, L %d, dff %d, %d sequence(s) of %s, seed %llu, isa %s\n", n, d, H, L,
           c->dff, o.seqs, o.text_input ? (o.text ? o.text : "the built-in text") : "N(0,1) tokens", o.seed,
           qk_isa_name(qk_isa_current()));
    printf("BERT initialisation (weights N(0, %g^2), biases 0, LN gamma 1, beta 0, eps 1e-12) in %.2f s\n",
           c->init_std, t_init);

    /* the bound from the actual weights */
    qk_col_bound bnd;
    static double beta_layer[QK_COL_MAX_L];
    t0 = now_s();
    st = qk_collapse_bound(&s.m, o.gamma, x0, &bnd, beta_layer);
    if (st != QK_OK) { fprintf(stderr, "qkspec collapse: bound: %s\n", qk_status_str(st)); return 1; }
    printf("bound (SPEC 1.4): beta = max_l,h ||W_QK,h||_1 ||W_VO,h||_1inf = %.4g (layers %.4g .. ), "
           "c = 4 gamma beta H / sqrt(d_h) = %.4g (gamma %g), %.2f s\n",
           bnd.beta, beta_layer[0], bnd.c, bnd.gamma, now_s() - t0);

    for (int vi = 0; vi < o.nvar; vi++) {
        qk_col_variant v = (qk_col_variant)o.variants[vi];
        var_result *R = &g_vr[v];
        memset(R, 0, sizeof *R);
        qk_rng data;
        qk_rng_seed(&data, o.seed ^ 0xda7a5eedda7a5eedull);
        t0 = now_s();
        for (int q = 0; q < o.seqs; q++) {
            if (o.text_input) {
                long span = textlen - n + 1, start = (long)(((unsigned long long)q * (unsigned long long)n) % (unsigned long long)span);
                for (int i = 0; i < n; i++) tok[i] = g_text[start + i];
                qk_collapse_embed(&s, tok, x0);
            } else {
                qk_collapse_gauss_input(&data, x0, n, d);
            }
            if (o.scale != 1.0f)
                for (size_t i = 0; i < xin; i++) x0[i] = x0[i] * o.scale;
            st = qk_collapse_forward(&s, v, x0, g_res[q], g_nrm[q]);
            if (st != QK_OK && st != QK_ERR_NONFINITE) {
                fprintf(stderr, "qkspec collapse: forward %s: %s\n", qk_col_variant_name(v), qk_status_str(st));
                return 1;
            }
            for (int l = 0; l <= L; l++) {
                g_srank[q][l] = g_nrank[q][l] = g_r1[q][l] = NAN;
                if (q < svd_seqs) {
                    qk_col_spectrum sp;
                    if (qk_collapse_spectrum(s.x + (size_t)l * n * d, n, d, 0, g_svd, SVD_DOUBLES, &sp) == QK_OK) {
                        g_srank[q][l] = sp.stable_rank;
                        g_nrank[q][l] = sp.numerical_rank;
                        g_r1[q][l] = sp.rank1_dist;
                    }
                }
            }
        }
        R->seconds = now_s() - t0;
        static double tmp[MAX_SEQS], tmp2[MAX_SEQS];
        for (int l = 0; l <= L; l++) {
            for (int q = 0; q < o.seqs; q++) {
                tmp[q] = g_res[q][l] / g_nrm[q][l];
                tmp2[q] = g_res[q][l] > 0.0 ? ln_(g_res[q][l]) / ln_(10.0) : NAN;
            }
            double sd;
            cli_mean_std(tmp, o.seqs, 1, &R->r_mean[l], &R->r_sd[l], NULL);
            cli_mean_std(&g_res[0][l], o.seqs, QK_COL_MAX_L + 1, &R->res_mean[l], &R->res_sd[l], NULL);
            cli_mean_std(tmp2, o.seqs, 1, &R->lres_mean[l], &sd, NULL);
            cli_mean_std(&g_srank[0][l], svd_seqs, QK_COL_MAX_L + 1, &R->sr_mean[l], &sd, NULL);
            cli_mean_std(&g_nrank[0][l], svd_seqs, QK_COL_MAX_L + 1, &R->nr_mean[l], &sd, NULL);
            cli_mean_std(&g_r1[0][l], svd_seqs, QK_COL_MAX_L + 1, &R->r1_mean[l], &sd, NULL);
            /* exponent log(res_{l+1})/log(res_l) (index l+1), the constant-free ratio of
             * successive log differences, and the gamma the one-layer bound would need */
            R->ex_mean[l] = R->ex_sd[l] = R->dx_mean[l] = R->gamma_needed[l] = R->slope[l] = NAN;
            if (l >= 1) {
                for (int q = 0; q < o.seqs; q++) {
                    /* only residuals above the float32 floor (r >= RESOLVABLE) count */
                    double a = g_res[q][l - 1], b = g_res[q][l];
                    int ok = g_res[q][l] >= RESOLVABLE * g_nrm[q][l] && g_res[q][l - 1] >= RESOLVABLE * g_nrm[q][l - 1];
                    tmp[q] = ok && a != 1.0 ? ln_(b) / ln_(a) : NAN;
                    tmp2[q] = NAN;
                    if (l >= 2 && ok && g_res[q][l - 2] >= RESOLVABLE * g_nrm[q][l - 2]) {
                        double z = g_res[q][l - 2];
                        if (z != a) tmp2[q] = (ln_(b) - ln_(a)) / (ln_(a) - ln_(z));
                    }
                }
                cli_mean_std(tmp, o.seqs, 1, &R->ex_mean[l], &R->ex_sd[l], &R->ex_n[l]);
                { /* least-squares slope of log res_l on log res_{l-1} across sequences */
                    double sx = 0, sy = 0, sxx = 0, sxy = 0;
                    int m = 0;
                    for (int q = 0; q < o.seqs; q++) {
                        if (!(g_res[q][l] >= RESOLVABLE * g_nrm[q][l] && g_res[q][l - 1] >= RESOLVABLE * g_nrm[q][l - 1]))
                            continue;
                        double a = ln_(g_res[q][l - 1]), b = ln_(g_res[q][l]);
                        sx += a; sy += b; sxx += a * a; sxy += a * b;
                        m++;
                    }
                    double var = sxx - sx * sx / (m ? m : 1);
                    R->slope[l] = m >= 3 && var > 0 ? (sxy - sx * sy / m) / var : NAN;
                }
                cli_mean_std(tmp2, o.seqs, 1, &R->dx_mean[l], &sd, &R->dx_n[l]);
                double gmax = 0.0;
                for (int q = 0; q < o.seqs; q++) {
                    double a = g_res[q][l - 1], b = g_res[q][l];
                    if (!(b >= RESOLVABLE * g_nrm[q][l] && a >= RESOLVABLE * g_nrm[q][l - 1])) continue;
                    double one = 4.0 * beta_layer[l - 1] * H / sqrt((double)(d / H)) * a * a * a;
                    if (one > 0.0 && b / one > gmax) gmax = b / one;
                }
                R->gamma_needed[l] = gmax;
            }
        }
        printf("\nvariant %s: %d sequence(s) in %.2f s (%.3f s per forward%s)\n", qk_col_variant_name(v), o.seqs,
               R->seconds, R->seconds / o.seqs, svd_seqs ? ", incl. the SVDs" : "");
        printf(" layer  r mean    r std     |res| mean  log10|res|%s%s\n",
               svd_seqs ? "  stable rank  num. rank  rank-1 dist" : "",
               (v == QK_COL_PURE) ? "  exponent (n)        dlog ratio  slope     gamma needed  log10 bound" : "");
        for (int l = 0; l <= L; l++) {
            printf(" %5d  %-8.4g  %-8.3g  %-10.4g  %-10.4g", l, R->r_mean[l], R->r_sd[l], R->res_mean[l], R->lres_mean[l]);
            if (svd_seqs) printf("  %-11.4g  %-9.4g  %-11.3g", R->sr_mean[l], R->nr_mean[l], R->r1_mean[l]);
            if (v == QK_COL_PURE) {
                char ex[48] = "-";
                if (l >= 1 && R->ex_n[l]) snprintf(ex, sizeof ex, "%.4g +- %.2g (%d)", R->ex_mean[l], R->ex_sd[l], R->ex_n[l]);
                printf("  %-18s  %-10.4g  %-8.4g  %-12.4g  %.5g", ex, R->dx_mean[l], R->slope[l], R->gamma_needed[l],
                       qk_collapse_bound_log10(&bnd, l, R->lres_mean[0]));
            }
            printf("\n");
        }
        fflush(stdout);
    }

    /* summary against the paper: its rows only at its shape (BERT-base, SPEC §1.4) */
    int paper_shape = n == 128 && d == 768 && H == 12 && L == 12 && c->dff == 4 * d;
    if (paper_shape)
        printf("\nmean r_l at the paper's layers; (paper): BERT-base at initialisation, the same shape "
               "(n 128, d 768, H 12, L 12, dff 3072; SPEC 1.4)\n");
    else
        printf("\nmean r_l at the paper's layers (this shape: n %d, d %d, H %d, L %d, dff %d; the paper's numbers are "
               "for BERT-base, n 128, d 768, H 12, L 12, and are shown only at that shape: --preset paper)\n",
               n, d, H, L, c->dff);
    printf(" %-12s", "variant");
    for (int k = 0; k < 6; k++)
        if (paper_layers[k] <= L) printf("  l=%-6d", paper_layers[k]);
    printf("\n");
    for (int vi = 0; vi < o.nvar; vi++) {
        qk_col_variant v = (qk_col_variant)o.variants[vi];
        printf(" %-12s", qk_col_variant_name(v));
        for (int k = 0; k < 6; k++)
            if (paper_layers[k] <= L) printf("  %-8.3g", g_vr[v].r_mean[paper_layers[k]]);
        printf("\n");
        if (paper_shape && v <= QK_COL_TRANSFORMER) {
            printf(" %-12s", "  (paper)");
            for (int k = 0; k < 6; k++)
                if (paper_layers[k] <= L) printf("  %-8.3g", paper_r[v][k]);
            printf("\n");
        }
    }

    if (o.csv) {
        FILE *f = open_out(cmd, o.csv);
        if (!f) return 1;
        fprintf(f, "variant,layer,r_mean,r_std,res_mean,res_std,log10_res_mean,stable_rank_mean,numerical_rank_mean,"
                   "rank1_dist_mean,exponent_mean,exponent_std,exponent_count,dlog_ratio_mean,slope,gamma_needed,"
                   "log10_bound,n,d,H,L,dff,seqs,input,seed\n");
        for (int vi = 0; vi < o.nvar; vi++) {
            qk_col_variant v = (qk_col_variant)o.variants[vi];
            const var_result *R = &g_vr[v];
            for (int l = 0; l <= L; l++)
                fprintf(f, "%s,%d,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%d,%.9g,%.9g,%.9g,%.9g,%d,%d,%d,%d,%d,%d,%s,%llu\n",
                        qk_col_variant_name(v), l, R->r_mean[l], R->r_sd[l], R->res_mean[l], R->res_sd[l],
                        R->lres_mean[l], R->sr_mean[l], R->nr_mean[l], R->r1_mean[l], R->ex_mean[l], R->ex_sd[l],
                        R->ex_n[l], R->dx_mean[l], R->slope[l], v == QK_COL_PURE ? R->gamma_needed[l] : NAN,
                        v == QK_COL_PURE ? qk_collapse_bound_log10(&bnd, l, R->lres_mean[0]) : NAN, n, d, H, L,
                        c->dff, o.seqs, o.text_input ? "text" : "gauss", o.seed);
        }
        if (close_out(cmd, o.csv, f, 0)) return 1;
        printf("wrote %s\n", o.csv);
    }
    if (o.svg) {
        static double xs[QK_COL_MAX_L + 1], lo[QK_COL_NVARIANT][QK_COL_MAX_L + 1], hi[QK_COL_NVARIANT][QK_COL_MAX_L + 1];
        qk_svg_series ser[QK_COL_NVARIANT];
        for (int l = 0; l <= L; l++) xs[l] = l;
        for (int vi = 0; vi < o.nvar; vi++) {
            qk_col_variant v = (qk_col_variant)o.variants[vi];
            const var_result *R = &g_vr[v];
            for (int l = 0; l <= L; l++) {
                lo[vi][l] = R->r_mean[l] - R->r_sd[l];
                hi[vi][l] = R->r_mean[l] + R->r_sd[l];
            }
            memset(&ser[vi], 0, sizeof ser[vi]);
            ser[vi].label = qk_col_variant_name(v);
            ser[vi].n = L + 1;
            ser[vi].x = xs;
            ser[vi].y = R->r_mean;
            ser[vi].lo = lo[vi];
            ser[vi].hi = hi[vi];
            ser[vi].markers = 1;
            ser[vi].dashed = v == QK_COL_PURE || v == QK_COL_PURE_SKIP;
        }
        char title[160];
        snprintf(title, sizeof title, "Relative residual along depth (n %d, d %d, H %d, %d %s sequences)", n, d, H,
                 o.seqs, o.text_input ? "text" : "Gaussian");
        qk_svg_plot p;
        qk_svg_plot_defaults(&p);
        p.title = title;
        p.xlabel = "layer l";
        p.ylabel = "r_l = ||res(X_l)|| / ||X_l||  (composite norm)";
        p.logy = o.logy;
        if (!o.logy) { p.ymin = 0.0; p.ymax = 1.0; }
        else { p.ymin = 1e-8; p.ymax = 1.0; }
        p.legend = 0;
        FILE *f = open_out(cmd, o.svg);
        if (!f) return 1;
        int bad = qk_svg_lines(f, &p, ser, o.nvar);
        if (close_out(cmd, o.svg, f, bad)) return 1;
        printf("wrote %s\n", o.svg);
    }
    return 0;
}

/* ================================================================== paths */

static const struct { const char *name; int L, H; } archs[] = {
    {"BERT-base", 12, 12},   {"BERT-large", 24, 16},  {"GPT-3 Small", 12, 12}, {"GPT-3 Medium", 24, 16},
    {"GPT-3 Large", 24, 16}, {"GPT-3 XL", 24, 24},    {"GPT-3 2.7B", 32, 32},  {"GPT-3 6.7B", 32, 32},
    {"GPT-3 13B", 40, 40},   {"GPT-3 175B", 96, 96},
};
#define NARCH ((int)(sizeof archs / sizeof archs[0]))

static void paths_usage(FILE *f)
{
    fprintf(f,
            "usage: qkspec paths [--check-only | --table-only] [options]\n"
            "  (a) the path decomposition: for pure (H^L paths) and pure+skip ((1+H)^L paths) stacks, the\n"
            "      layered forward against the sum over all paths with the forward's attention matrices\n"
            "      --heads H (default 3)  --layers L (default 4)  --n N (default 16)  --d D (default 8H)\n"
            "      --std S (weights N(0, S^2), default 0.2, so that every path term matters; biases and LN\n"
            "      perturbed with std 0.1)  --seed N (default 1)\n"
            "  (b) the share C(L,k) H^k / (1+H)^L of paths of length k for BERT and GPT-3 sizes\n"
            "      --csv FILE (architecture, L, H, k, share)  --svg FILE (share against k/L)  --logy\n");
}

static int paths_check(int H, int L, int n, int d, float std, unsigned long long seed)
{
    qk_collapse_config c = qk_collapse_default_config(n, d, H, L);
    c.dff = 0;
    c.V = 0;
    c.init_std = std;
    qk_collapse_sizes_t sz;
    qk_status st = qk_collapse_sizes(&c, &sz);
    if (st != QK_OK) {
        fprintf(stderr, "qkspec paths: invalid configuration: %s\n", qk_status_str(st));
        return 2;
    }
    size_t pscr = qk_collapse_paths_scratch(&c), nd = (size_t)n * d;
    size_t need = sz.params + sz.acts + sz.scratch + pscr + nd;
    if (need > QK_COLLAPSE_CLI_FLOATS || nd > SVD_DOUBLES) {
        fprintf(stderr, "qkspec paths: the check needs %zu MiB, more than this build's %zu MiB\n", need * 4 >> 20,
                (size_t)QK_COLLAPSE_CLI_FLOATS * 4 >> 20);
        return 2;
    }
    float *params = cli_model_memory(), *acts = params + sz.params, *scr = acts + sz.acts, *ps = scr + sz.scratch, *x0 = ps + pscr;
    double *sum = g_svd; /* (n, d) doubles */
    qk_collapse s;
    qk_collapse_bind(&s, &c, params, acts, scr);
    qk_collapse_init(&s, seed);
    qk_collapse_perturb_biases(&s, seed + 1, 0.1f);
    qk_rng r;
    qk_rng_seed(&r, seed ^ 0xda7a5eedda7a5eedull);
    qk_collapse_gauss_input(&r, x0, n, d);
    int worst_bad = 0;
    for (int skip = 0; skip < 2; skip++) {
        qk_col_variant v = skip ? QK_COL_PURE_SKIP : QK_COL_PURE;
        double t0 = now_s();
        st = qk_collapse_forward(&s, v, x0, NULL, NULL);
        if (st != QK_OK) { fprintf(stderr, "qkspec paths: forward: %s\n", qk_status_str(st)); return 1; }
        long np = 0;
        st = qk_collapse_paths(&s, ps, sum, &np);
        if (st != QK_OK) {
            fprintf(stderr, "qkspec paths: %s: %s (at most 2^20 paths: reduce --heads or --layers)\n",
                    qk_col_variant_name(v), qk_status_str(st));
            return 2;
        }
        const float *xl = s.x + (size_t)L * nd;
        double dmax = 0.0, xmax = 0.0;
        for (size_t i = 0; i < nd; i++) {
            double e = fabs((double)xl[i] - sum[i]);
            if (!(e <= dmax)) dmax = e;
            if (fabs(sum[i]) > xmax) xmax = fabs(sum[i]);
        }
        double rel = xmax > 0.0 ? dmax / xmax : dmax;
        int ok = rel <= 1e-4;
        worst_bad |= !ok;
        printf("  %-9s  H %d, L %d, n %d, d %d: %6ld paths; max |forward - sum over paths| = %.3g "
               "(max |X_L| %.3g, relative %.2g) %s  [%.3f s]\n",
               qk_col_variant_name(v), H, L, n, d, np, dmax, xmax, rel, ok ? "ok" : "MISMATCH", now_s() - t0);
    }
    return worst_bad ? 1 : 0;
}

int qk_cmd_paths(int argc, char **argv)
{
    const char *cmd = "paths";
    int do_check = 1, do_table = 1, logy = 0;
    long H = 3, L = 4, n = 16, d = -1, seed = 1;
    float std = 0.2f;
    const char *csv = NULL, *svg = NULL;
    for (int i = 0; i < argc;) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { paths_usage(stdout); return 0; }
        if (!strcmp(a, "--check-only")) { do_table = 0; i++; continue; }
        if (!strcmp(a, "--table-only")) { do_check = 0; i++; continue; }
        if (!strcmp(a, "--logy")) { logy = 1; i++; continue; }
        if (!strcmp(a, "--heads")) { if (cli_parse_long(cmd, a, v, 1, 64, &H)) return 2; }
        else if (!strcmp(a, "--layers")) { if (cli_parse_long(cmd, a, v, 1, 20, &L)) return 2; }
        else if (!strcmp(a, "--n")) { if (cli_parse_long(cmd, a, v, 1, 256, &n)) return 2; }
        else if (!strcmp(a, "--d")) { if (cli_parse_long(cmd, a, v, 1, 512, &d)) return 2; }
        else if (!strcmp(a, "--seed")) { if (cli_parse_long(cmd, a, v, 0, 2147483647L, &seed)) return 2; }
        else if (!strcmp(a, "--std")) { if (cli_parse_float(cmd, a, v, 1e-6, 10, &std)) return 2; }
        else if (!strcmp(a, "--csv")) { if (!v) { fprintf(stderr, "qkspec paths: --csv: missing file name\n"); return 2; } csv = v; }
        else if (!strcmp(a, "--svg")) { if (!v) { fprintf(stderr, "qkspec paths: --svg: missing file name\n"); return 2; } svg = v; }
        else {
            fprintf(stderr, "qkspec paths: unknown option '%s'\n", a);
            paths_usage(stderr);
            return 2;
        }
        i += 2;
    }
    if (!do_check && !do_table) {
        fprintf(stderr, "qkspec paths: --check-only and --table-only exclude each other\n");
        return 2;
    }
    if (d < 0) d = 8 * H;
    if (d % H) {
        fprintf(stderr, "qkspec paths: --d %ld is not divisible by --heads %ld\n", d, H);
        return 2;
    }
    int rc = 0;
    if (do_check) {
        double paths = 1.0;
        for (int l = 0; l < L; l++) paths *= (double)(H + 1);
        if (paths > (double)(1L << 20)) {
            fprintf(stderr, "qkspec paths: (1+H)^L = %.3g paths, more than 2^20 (reduce --heads or --layers)\n", paths);
            return 2;
        }
        printf("(a) path decomposition, attention matrices of the forward pass held fixed:\n");
        rc = paths_check((int)H, (int)L, (int)n, (int)d, std, (unsigned long long)seed);
        if (rc == 2) return 2;
    }
    if (!do_table) return rc;
    static double shares[NARCH][97];
    printf("%s(b) share of paths of length k among the (1+H)^L paths with skips: C(L,k) H^k / (1+H)^L\n",
           do_check ? "\n" : "");
    printf(" %-13s %3s %3s  %-11s  %-11s  %-9s  %-16s  %-10s  %-10s  %-10s\n", "architecture", "L", "H",
           "log10 paths", "mean length", "std", "90% of paths", "k <= L/2", "k = L", "k <= 2");
    for (int a = 0; a < NARCH; a++) {
        double mean;
        qk_path_length_shares(archs[a].L, archs[a].H, shares[a], &mean);
        int La = archs[a].L, k5 = -1, k95 = -1;
        double cum = 0.0, half = 0.0, upto2 = 0.0, p = (double)archs[a].H / (1.0 + archs[a].H);
        for (int k = 0; k <= La; k++) {
            cum += shares[a][k];
            if (k5 < 0 && cum >= 0.05) k5 = k;
            if (k95 < 0 && cum >= 0.95) k95 = k;
            if (2 * k <= La) half += shares[a][k];
            if (k <= 2) upto2 += shares[a][k];
        }
        char range[32];
        snprintf(range, sizeof range, "%d..%d", k5, k95);
        printf(" %-13s %3d %3d  %-11.2f  %-11.2f  %-9.3g  %-16s  %-10.3g  %-10.3g  %-10.3g\n", archs[a].name, La,
               archs[a].H, La * qk_log(1.0 + archs[a].H) / qk_log(10.0), mean, sqrt(La * p * (1.0 - p)), range, half,
               shares[a][La], upto2);
    }
    printf(" (90%% of paths: the lengths from the 5%% to the 95%% point of the distribution)\n");
    for (int a = 0; a < 2; a++) { /* the full distributions of BERT-base and BERT-large */
        printf(" %s, share of length k:", archs[a].name);
        for (int k = 0; k <= archs[a].L; k++) printf("%s k=%d %.3g", k % 8 ? "" : "\n  ", k, shares[a][k]);
        printf("\n");
    }
    if (csv) {
        FILE *f = open_out(cmd, csv);
        if (!f) return 1;
        fprintf(f, "architecture,L,H,k,share\n");
        for (int a = 0; a < NARCH; a++)
            for (int k = 0; k <= archs[a].L; k++)
                fprintf(f, "%s,%d,%d,%d,%.17g\n", archs[a].name, archs[a].L, archs[a].H, k, shares[a][k]);
        if (close_out(cmd, csv, f, 0)) return 1;
        printf("wrote %s\n", csv);
    }
    if (svg) {
        static const int pick[] = {0, 1, 5, 6, 8, 9}; /* distinct (L, H) */
        static double xs[6][97];
        qk_svg_series ser[6];
        for (int k = 0; k < 6; k++) {
            int a = pick[k];
            for (int j = 0; j <= archs[a].L; j++) xs[k][j] = (double)j / archs[a].L;
            memset(&ser[k], 0, sizeof ser[k]);
            ser[k].label = archs[a].name;
            ser[k].n = archs[a].L + 1;
            ser[k].x = xs[k];
            ser[k].y = shares[a];
            ser[k].markers = archs[a].L <= 24;
        }
        qk_svg_plot p;
        qk_svg_plot_defaults(&p);
        p.title = "Path-length distribution with skip connections: C(L,k) H^k / (1+H)^L";
        p.xlabel = "relative path length k / L";
        p.ylabel = "share of paths";
        p.legend = 1;
        if (logy) {
            p.logy = 1;
            p.ymin = 1e-12;
            p.ymax = 1.0;
        }
        FILE *f = open_out(cmd, svg);
        if (!f) return 1;
        int bad = qk_svg_lines(f, &p, ser, 6);
        if (close_out(cmd, svg, f, bad)) return 1;
        printf("wrote %s\n", svg);
    }
    return rc;
}
