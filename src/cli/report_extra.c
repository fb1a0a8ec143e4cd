/* report_extra.c — the rank-collapse section of the `reproduce` report (SPEC §1.4):
 * runs `qkspec collapse` at the paper's shape (n 128, d 768, H 12, L 12), then
 * tabulates its CSV beside the paper's numbers and draws r_l against depth from it. */
#include "qk_fp.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "qk_collapse.h"
#include "qk_svg.h"
#include "report.h"

int qk_cmd_collapse(int argc, char **argv);       /* cmd_collapse.c */
int qk_cmd_collapse_sweep(int argc, char **argv); /* cmd_collapse_sweep.c */
int qk_cmd_collapse_train(int argc, char **argv); /* cmd_collapse_train.c */

static char *g_csv, *g_svg; /* DIR/collapse.csv, DIR/collapse.svg (any length) */
static char *g_sweep;       /* DIR/collapse_sweep.csv */
static char *g_trained, *g_trained_dir; /* DIR/collapse_train.csv, DIR/collapse_train/ */
static const char *g_trained_text;      /* its corpus (NULL: the built-in one) */
static const char *g_sweep_widths;
static int g_seqs;

#define NV 5
static const char *const variants[NV] = {"san", "san+mlp", "san+skip", "transformer", "pure"};
static const int layers[6] = {0, 1, 2, 4, 8, 12};
static const double paper[NV][6] = {{.61, .018, 0, 0, 0, 0},
                                    {.60, .017, 0, 0, 0, 0},
                                    {.61, .57, .56, .56, .50, .45},
                                    {.60, .56, .54, .54, .46, .35},
                                    {-1, -1, -1, -1, -1, -1}};

/* r_l of the collapse CSV: mean and std per variant and layer (NaN if absent). */
typedef struct {
    double mean[NV][QK_COL_MAX_L + 1], sd[NV][QK_COL_MAX_L + 1];
    int L; /* deepest layer present */
} collapse_r;

static int variant_index(const char *name)
{
    for (int v = 0; v < NV; v++)
        if (!strcmp(name, variants[v])) return v;
    return -1;
}

static void read_csv(collapse_r *r)
{
    for (int v = 0; v < NV; v++)
        for (int l = 0; l <= QK_COL_MAX_L; l++) r->mean[v][l] = r->sd[v][l] = 0.0 / 0.0;
    r->L = -1;
    FILE *f = fopen(g_csv, "r");
    if (!f) return;
    char line[2048];
    while (fgets(line, sizeof line, f)) {
        /* variant,layer,r_mean,r_std,...: the first four fields are all we need */
        char *comma = strchr(line, ',');
        if (!comma) continue;
        *comma = 0;
        char *end;
        long layer = strtol(comma + 1, &end, 10);
        int v = variant_index(line);
        if (v < 0 || end == comma + 1 || *end != ',' || layer < 0 || layer > QK_COL_MAX_L) continue;
        char *sd;
        double rm = strtod(end + 1, &sd);
        r->mean[v][layer] = rm;
        r->sd[v][layer] = *sd == ',' ? strtod(sd + 1, NULL) : 0.0 / 0.0;
        if (layer > r->L) r->L = (int)layer;
    }
    fclose(f);
}

/* r_l against depth on a log axis: without skips r falls from ~0.6 to the float32
 * floor (~1e-7) in two layers, which a linear axis would show as one vertical line. */
static void fig_depth(FILE *f, const collapse_r *r)
{
    static double x[QK_COL_MAX_L + 1], lo[NV][QK_COL_MAX_L + 1], hi[NV][QK_COL_MAX_L + 1];
    qk_svg_series ser[NV];
    int n = r->L + 1;
    for (int l = 0; l < n; l++) x[l] = l;
    for (int v = 0; v < NV; v++) {
        for (int l = 0; l < n; l++) {
            lo[v][l] = r->mean[v][l] - r->sd[v][l];
            hi[v][l] = r->mean[v][l] + r->sd[v][l];
        }
        qk_svg_series s = {variants[v], n, x, r->mean[v], lo[v], hi[v], NULL, v == NV - 1, 1};
        ser[v] = s;
    }
    char title[128];
    snprintf(title, sizeof title, "r_l along depth (n 128, d 768, H 12, %d text sequences)", g_seqs);
    qk_svg_plot p;
    qk_svg_plot_inline(&p, title, "layer l", "r_l = ‖res(X_l)‖ / ‖X_l‖ (composite norm)", 620, 400);
    p.logy = 1;
    p.ymax = 1.0;
    p.legend = QK_SVG_LEGEND_AUTO;
    qk_svg_lines(f, &p, ser, NV);
}

/* The depth-and-width sweep (collapse-sweep's CSV): r_l per variant and width at a few
 * depths, and the exponent per width. */
#define SW_W 8
#define SW_NV 6
static const char *const sw_variants[SW_NV] = {"san", "san+mlp", "san+skip", "transformer", "pure", "pure+skip"};
static const int sw_layers[5] = {1, 2, 4, 12, 24};
typedef struct {
    int d[SW_W], nw;
    double r[SW_NV][SW_W][5], rsd[SW_NV][SW_W][5], ex[SW_W], exsd[SW_W];
    int exn[SW_W];
} sweep_r;

static int sw_width(sweep_r *w, int d)
{
    for (int i = 0; i < w->nw; i++)
        if (w->d[i] == d) return i;
    if (w->nw == SW_W) return -1;
    w->d[w->nw] = d;
    return w->nw++;
}

static void sweep_row(sweep_r *w, char **fld)
{
    int i = sw_width(w, atoi(fld[2]));
    if (i < 0) return;
    if (!strcmp(fld[0], "exponent")) {
        w->ex[i] = strtod(fld[5], NULL), w->exsd[i] = strtod(fld[6], NULL), w->exn[i] = atoi(fld[7]);
        return;
    }
    if (strcmp(fld[0], "r")) return;
    for (int v = 0; v < SW_NV; v++)
        for (int k = 0; k < 5; k++)
            if (!strcmp(fld[1], sw_variants[v]) && atoi(fld[4]) == sw_layers[k])
                w->r[v][i][k] = strtod(fld[5], NULL), w->rsd[v][i][k] = strtod(fld[6], NULL);
}

/* Splits a CSV line in place into at most max fields; their count. */
static int split_fields(char *line, char **fld, int max)
{
    int n = 0;
    for (char *p = line; n < max && p;) {
        fld[n++] = p;
        p = strchr(p, ',');
        if (p) *p++ = 0;
    }
    return n;
}

static void read_sweep(sweep_r *w)
{
    memset(w, 0, sizeof *w);
    for (int v = 0; v < SW_NV; v++)
        for (int i = 0; i < SW_W; i++)
            for (int k = 0; k < 5; k++) w->r[v][i][k] = 0.0 / 0.0;
    FILE *f = fopen(g_sweep, "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        char *fld[8];
        if (split_fields(line, fld, 8) == 8) sweep_row(w, fld);
    }
    fclose(f);
}

static void sweep_section(FILE *f)
{
    static sweep_r w;
    read_sweep(&w);
    if (!w.nw) return;
    fprintf(f, "<h3>Depth and width at initialisation</h3>\n<p><code>qkspec collapse-sweep --widths %s</code>: BERT "
               "shape per width d (H = d/64, FFN 4d, N(0, 0.02²), post-LN), 24 layers, mean ± std of r<sub>l</sub> "
               "over seeds × text windows. CSV: <code>collapse_sweep.csv</code> (also the bound's per-layer "
               "constant).</p>\n<table><tr><th>variant</th><th>d</th>", g_sweep_widths);
    for (int k = 0; k < 5; k++) fprintf(f, "<th>l = %d</th>", sw_layers[k]);
    fprintf(f, "</tr>\n");
    for (int v = 0; v < SW_NV; v++)
        for (int i = 0; i < w.nw; i++) {
            fprintf(f, "<tr><td>%s</td><td>%d</td>", sw_variants[v], w.d[i]);
            for (int k = 0; k < 5; k++) fprintf(f, "<td>%.3g ± %.2g</td>", w.r[v][i][k], w.rsd[v][i][k]);
            fprintf(f, "</tr>\n");
        }
    fprintf(f, "</table>\n<p>The cubic exponent in its constant-free form Δlog res<sub>l</sub>/Δlog "
               "res<sub>l−1</sub> (pure attention, N(0, 1) tokens, weights N(0, 0.7/d) so that collapse takes "
               "several layers; the law: 3):</p>\n<table><tr><th>d</th><th>mean ± std</th><th>count</th></tr>\n");
    for (int i = 0; i < w.nw; i++)
        fprintf(f, "<tr><td>%d</td><td>%.3g ± %.2g</td><td>%d</td></tr>\n", w.d[i], w.ex[i], w.exsd[i], w.exn[i]);
    fprintf(f, "</table>\n");
}

/* ------------------------------------------------------------------ trained networks */

/* collapse-train's sizes: quick, full */
static const char *const tr_layers[2] = {"2,4", "2,6,12"};
#define TR_D "32"
#define TR_SEQ "32"
#define TR_BATCH "8"
static const char *const tr_steps[2] = {"200", "500"}, *const tr_every[2] = {"100", "125"};
static int g_full;

#define TR_L 8
#define TR_E 64
typedef struct {
    int L[TR_L], nL, ne[TR_L][QK_NVARIANT];
    long step[TR_E];
    double r[TR_L][QK_NVARIANT][TR_E], lo[TR_L][QK_NVARIANT][TR_E], hi[TR_L][QK_NVARIANT][TR_E];
    double vl[TR_L][QK_NVARIANT][TR_E];
} trained_r;

/* collapse_train.csv: variant,layers,step,layer,r_mean,r_min,r_max,seeds,val_loss; keeps
 * r of the last layer (layer = layers) at every step */
static void trained_row(trained_r *t, char **fld)
{
    qk_variant v;
    int L = atoi(fld[1]), i;
    if (qk_variant_parse(fld[0], &v) != QK_OK || atoi(fld[3]) != L) return;
    for (i = 0; i < t->nL && t->L[i] != L; i++) {}
    if (i == t->nL) {
        if (t->nL == TR_L) return;
        t->L[t->nL++] = L;
    }
    int e = t->ne[i][v];
    if (e == TR_E) return;
    t->step[e] = atol(fld[2]);
    t->r[i][v][e] = strtod(fld[4], NULL), t->lo[i][v][e] = strtod(fld[5], NULL), t->hi[i][v][e] = strtod(fld[6], NULL);
    t->vl[i][v][e] = strtod(fld[8], NULL);
    t->ne[i][v] = e + 1;
}

static void read_trained(trained_r *t)
{
    memset(t, 0, sizeof *t);
    FILE *f = fopen(g_trained, "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        char *fld[9];
        if (split_fields(line, fld, 9) == 9) trained_row(t, fld);
    }
    fclose(f);
}

/* r_L along training at the deepest L, every variant, band: the seeds' range */
static void fig_trained(FILE *f, const trained_r *t, int i)
{
    static double x[QK_NVARIANT][TR_E];
    qk_svg_series ser[QK_NVARIANT];
    int ns = 0;
    for (int v = 0; v < QK_NVARIANT; v++) {
        int n = t->ne[i][v];
        if (!n) continue;
        for (int e = 0; e < n; e++) x[v][e] = (double)t->step[e];
        qk_svg_series s = {qk_variant_name((qk_variant)v), n, x[v], t->r[i][v], t->lo[i][v], t->hi[i][v], NULL, 0, 1};
        ser[ns++] = s;
    }
    char title[96];
    snprintf(title, sizeof title, "r_L of trained %d-layer language models along training", t->L[i]);
    qk_svg_plot p;
    qk_svg_plot_inline(&p, title, "training step", "r_L (last layer's output)", 620, 400);
    p.logy = QK_SVG_LOGY_AUTO;
    p.legend = QK_SVG_LEGEND_AUTO;
    qk_svg_lines(f, &p, ser, ns);
}

static void trained_section(FILE *f)
{
    static trained_r t;
    read_trained(&t);
    if (!t.nL) return;
    fprintf(f, "<h3>Trained networks</h3>\n<p><code>qkspec collapse-train --layers %s --d " TR_D " --seq " TR_SEQ
               " --batch " TR_BATCH " --steps %s --eval-every %s</code>: byte-level language models of every variant "
               "(post-LN, GELU FFN 4d, BERT initialisation, d/16 heads), trained on ",
            tr_layers[g_full], tr_steps[g_full], tr_every[g_full]);
    const char *slash = g_trained_text ? strrchr(g_trained_text, '/') : NULL;
    if (g_trained_text) qk_svg_escape(f, slash ? slash + 1 : g_trained_text);
    else fputs("the built-in synthetic corpus", f);
    fprintf(f, " with the project's trainer. r<sub>L</sub> of the last layer's output, mean over the last "
               "validation batch's sequences, at initialisation and after training; mean over the seeds "
               "[their range]. These models are causal, unlike BERT. CSV: <code>collapse_train.csv</code>; "
               "every run's files: <code>collapse_train/</code>.</p>\n<table><tr><th>variant</th>");
    for (int i = 0; i < t.nL; i++)
        fprintf(f, "<th>L = %d init</th><th>trained</th><th>val loss</th>", t.L[i]);
    fprintf(f, "</tr>\n");
    for (int v = 0; v < QK_NVARIANT; v++) {
        fprintf(f, "<tr><td>%s</td>", qk_variant_name((qk_variant)v));
        for (int i = 0; i < t.nL; i++) {
            int e = t.ne[i][v] - 1;
            if (e < 0) { fprintf(f, "<td></td><td></td><td></td>"); continue; }
            fprintf(f, "<td>%.3g</td><td>%.3g [%.3g, %.3g]</td><td>%.3f</td>", t.r[i][v][0], t.r[i][v][e],
                    t.lo[i][v][e], t.hi[i][v][e], t.vl[i][v][e]);
        }
        fprintf(f, "</tr>\n");
    }
    fprintf(f, "</table>\n");
    /* the paper's trained half: skips keep the rank, pure attention loses it */
    int i = t.nL - 1;
    double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
    for (int v = 0; v < QK_NVARIANT; v++) {
        int e = t.ne[i][v] - 1, k = qk_variant_has_skip((qk_variant)v);
        if (e < 0) continue;
        if (t.r[i][v][e] < lo[k]) lo[k] = t.r[i][v][e];
        if (t.r[i][v][e] > hi[k]) hi[k] = t.r[i][v][e];
    }
    fprintf(f, "<p>After training at L = %d: r<sub>L</sub> %.3g to %.3g with a skip connection (transformer, "
               "san+skip, pure+skip), %.3g to %.3g without (san, san+mlp, pure). The paper's trained networks: "
               "skips keep the rank, attention alone loses it.</p>\n", t.L[i], lo[1], hi[1], lo[0], hi[0]);
    fig_trained(f, &t, i);
}

static void section(FILE *f, void *ctx)
{
    (void)ctx;
    static collapse_r r;
    read_csv(&r);
    fprintf(f, "<h2>3. Rank collapse in deep attention (SPEC §1.4)</h2>\n<p>BERT-base shape at initialisation (n = 128 "
               "tokens, d = 768, 12 heads, 12 layers, GELU FFN of width 4d, weights N(0, 0.02²), post-LN), %d "
               "sequences of a built-in English paragraph embedded through a random byte table. r<sub>l</sub> = "
               "‖res(X<sub>l</sub>)‖<sub>1,∞</sub>/‖X<sub>l</sub>‖<sub>1,∞</sub>. CSV: <code>collapse.csv</code>; "
               "command-line detail: <code>qkspec collapse</code>, <code>qkspec paths</code>.</p>\n"
               "<table><tr><th>variant</th>", g_seqs);
    for (int l = 0; l < 6; l++) fprintf(f, "<th>l = %d</th>", layers[l]);
    fprintf(f, "</tr>\n");
    for (int v = 0; v < NV; v++) {
        fprintf(f, "<tr><td>%s</td>", variants[v]);
        for (int l = 0; l < 6; l++) fprintf(f, "<td>%.3g</td>", r.mean[v][layers[l]]);
        fprintf(f, "</tr>\n");
        if (paper[v][0] < 0) continue;
        fprintf(f, "<tr><td>&nbsp;&nbsp;paper</td>");
        for (int l = 0; l < 6; l++) fprintf(f, "<td>%.3g</td>", paper[v][l]);
        fprintf(f, "</tr>\n");
    }
    fprintf(f, "</table>\n<p>Without skips r falls to a few percent in one layer and to the float32 rounding floor "
               "(~1e-7, which the paper plots as 0) by layer 2; with skips it decays slowly, as in the paper. The "
               "figure's y axis is logarithmic; an exact 0 (pure attention from layer 3) cannot be drawn on it and "
               "ends its line. Bands: ± one standard deviation over the sequences.</p>\n");
    if (r.L >= 0) fig_depth(f, &r);
    sweep_section(f);
    trained_section(f);
}

int report_extra_sections(report_inputs *in, const char *dir, int quick)
{
    free(g_csv);
    free(g_svg);
    free(g_sweep);
    free(g_trained);
    free(g_trained_dir);
    g_csv = cli_path_join(dir, "collapse.csv");
    g_svg = cli_path_join(dir, "collapse.svg");
    g_sweep = cli_path_join(dir, "collapse_sweep.csv");
    g_trained = cli_path_join(dir, "collapse_train.csv");
    g_trained_dir = cli_path_join(dir, REPORT_TRAINED_SUBDIR);
    if (!g_csv || !g_svg || !g_sweep || !g_trained || !g_trained_dir) {
        fprintf(stderr, "qkspec reproduce: out of memory\n");
        return 1;
    }
    g_seqs = quick ? 4 : 32;
    char seqs[16];
    snprintf(seqs, sizeof seqs, "%d", g_seqs);
    char *argv[] = {"--seqs", seqs, "--svd", quick ? "0" : "4", "--csv", g_csv, "--svg", g_svg, "--logy"};
    printf("      rank collapse: BERT-base shape, %d sequences, every variant\n", g_seqs);
    fflush(stdout);
    int rc = qk_cmd_collapse((int)(sizeof argv / sizeof argv[0]), argv);
    if (rc) return rc;
    g_sweep_widths = quick ? "64,128" : "64,128,256,768";
    char *sw[] = {"--widths", (char *)g_sweep_widths, "--seqs", quick ? "2" : "4", "--exp-seqs", quick ? "8" : "16",
                  "--csv", g_sweep};
    printf("      rank collapse over depth and width: widths %s, 24 layers\n", g_sweep_widths);
    fflush(stdout);
    if ((rc = qk_cmd_collapse_sweep((int)(sizeof sw / sizeof sw[0]), sw)) != 0) return rc;
    g_full = !quick;
    g_trained_text = in->text;
    char *tr[] = {"--out", g_trained_dir, "--csv", g_trained, "--layers", (char *)tr_layers[g_full],
                  "--d", TR_D, "--seq", TR_SEQ, "--batch", TR_BATCH,
                  "--steps", (char *)tr_steps[g_full], "--eval-every", (char *)tr_every[g_full],
                  "--text", (char *)in->text};
    int ntr = (int)(sizeof tr / sizeof tr[0]) - (in->text ? 0 : 2);
    printf("      rank collapse after training: layers %s, every variant, 2 seeds\n", tr_layers[g_full]);
    fflush(stdout);
    if ((rc = qk_cmd_collapse_train(ntr, tr)) != 0) return rc;
    in->extra_html = section;
    in->extra_ctx = NULL;
    return 0;
}
