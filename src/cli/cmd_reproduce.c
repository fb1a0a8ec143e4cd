/* cmd_reproduce.c — `qkspec reproduce [--quick] [--out DIR]`: the simulation of
 * SPEC §1.3, the LocAteR / σReparam sweep of §1.1 on a text corpus, and a
 * self-contained HTML report with SVG figures and CSV files. */
/* 64-bit file offsets and inode numbers on 32-bit hosts too (readdir fails on them
 * otherwise), whatever flags the build passes. */
#ifndef _FILE_OFFSET_BITS
#define _FILE_OFFSET_BITS 64
#endif
#include "qk_fp.h"
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "qk_localize.h"
#include "qk_sim_cli.h"
#include "qk_svg.h"
#include "report.h"
#include "sweep.h"

static double seconds_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + 1e-9 * (double)(t.tv_nsec - t0->tv_nsec);
}

static int file_exists(const char *p)
{
    struct stat st;
    return p && stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* ------------------------------------------------------------------ figures */

static void fig_sim_rho(FILE *f, const qk_sim_summary *s, int cell)
{
    const qk_sim_cell_summary *c = &s->cells[cell];
    static double x[QK_SIM_MAX_T];
    for (int i = 0; i < c->T; i++) x[i] = (double)(i + 1) / c->T;
    qk_svg_series ser[4] = {
        {"simulation", c->T, x, c->rho_emp, NULL, NULL, NULL, 0, 1},
        {"closed form, paper variance", c->T, x, c->rho_paper, NULL, NULL, NULL, 1, 0},
        {"closed form, corrected variance", c->T, x, c->rho_corr, NULL, NULL, NULL, 0, 0},
        {"corrected + finite-T terms", c->T, x, c->rho_fin, NULL, NULL, NULL, 1, 0},
    };
    char title[128];
    snprintf(title, sizeof title, "Σ = %s, eigenvalue mean %g, scale %g", c->aniso ? "RᵀR/d" : "I", c->mean, c->scale);
    qk_svg_plot p;
    qk_svg_plot_inline(&p, title, "θ = i/T", "ρ(θ)", 460, 320);
    p.ymin = 0;
    p.ymax = 1.05;
    p.legend = QK_SVG_LEGEND_AUTO;
    qk_svg_lines(f, &p, ser, 4);
}

static int run_group(const sweep_run *r);

/* One series per run (of the first seed) of a per-evaluation quantity. logy: 1 for quantities that fall
 * through decades during training (perplexity from ~V to a few, eigen scale and
 * ‖W_QK‖₂ under LocAteR), where a linear axis shows only the first evaluations. */
static void fig_runs(FILE *f, const sweep_run *runs, int n, const char *title, const char *ylabel, int which, int logy)
{
    static double x[SWEEP_MAX_RUNS][QK_TRAIN_MAX_EVALS], y[SWEEP_MAX_RUNS][QK_TRAIN_MAX_EVALS];
    qk_svg_series ser[SWEEP_MAX_RUNS];
    int ns = 0;
    for (int k0 = 0; k0 < n; k0++) {
        if (runs[k0].opts.seed != runs[0].opts.seed) continue; /* the first seed's runs */
        int k = ns++;
        const train_result *r = &runs[k0].result;
        for (int e = 0; e < r->n; e++) {
            x[k][e] = (double)r->step[e];
            y[k][e] = which == 0 ? r->eig_scale[e] : which == 1 ? r->entropy[e] : which == 2 ? exp(r->val_loss[e])
                                                                                          : r->spec2[e];
        }
        qk_svg_series s = {runs[k0].name, r->n, x[k], y[k], NULL, NULL, NULL, run_group(&runs[k0]) == 3, 0};
        ser[k] = s;
    }
    qk_svg_plot p;
    qk_svg_plot_inline(&p, title, "training step", ylabel, 560, 380);
    p.logy = logy;
    p.legend = QK_SVG_LEGEND_AUTO;
    qk_svg_lines(f, &p, ser, ns);
}

static void fig_rho_heatmap(FILE *f, const sweep_run *run)
{
    const train_result *r = &run->result;
    static double v[QK_TRAIN_MAX_EVALS * QK_MAX_T];
    for (int e = 0; e < r->n; e++)
        for (int i = 0; i < r->T; i++) v[(size_t)e * r->T + i] = r->rho[e][i];
    char title[96];
    snprintf(title, sizeof title, "ρ per position over training: %s", run->name);
    qk_svg_plot p;
    qk_svg_plot_inline(&p, title, "key position i (last query)", "evaluation (top: step 0)", 460, 340);
    qk_svg_heatmap(f, &p, v, r->n, r->T, 0.0, 1.0, "ρ");
}

static void fig_eig_hist(FILE *f, const double *w, int d, const char *title, int color)
{
    qk_svg_plot p;
    qk_svg_plot_inline(&p, title, "eigenvalue of (W_QK + W_QKᵀ)/2", "count", 380, 280);
    qk_svg_histogram(f, &p, w, d, 24, 1.0, 0.0, 0, qk_svg_color(color));
}

/* ------------------------------------------------------------------ claims */

/* The paper's claims as it states them (SPEC §1.1), across κ2 at κ1 = 100, for each
 * LocAteR weighting the runs have, against the seed spread (sweep_claims); then the
 * closed form's variance from the simulation. */
static void claims(FILE *f, const sweep_run *runs, int n, const qk_sim_summary *sim)
{
    sweep_claims(runs, n, f, 1);
    if (sim)
        fprintf(f, "<table><tr><th>the closed form (SPEC §1.1)</th><th>measured here</th><th>verdict</th></tr>\n"
                   "<tr><td>printed variance (2θ² + 7/12) vs corrected (2(θ−½)² + 1/12)</td><td>max "
                   "|ρ<sub>sim</sub> − ρ<sub>closed</sub>|: paper %.3f, corrected %.3f, corrected with finite-T terms "
                   "%.3f; mean |var<sub>sim</sub>/v − 1|: paper %.3f, corrected %.3f</td><td>the corrected form</td></tr>\n"
                   "</table>\n",
                sim->max_err_paper, sim->max_err_corrected, sim->max_err_finite, sim->var_dev_paper,
                sim->var_dev_corrected);
}


/* ------------------------------------------------------------------ across κ2, the scatter, the closed form */

static const float g_rk2[SWEEP_NKAPPA2] = {0.0f, 1e-3f, 1e-2f, 1e-1f, 1.0f};

/* 0 no regulariser, 1 LocAteR token, 2 LocAteR sum, 3 σReparam */
static int run_group(const sweep_run *r)
{
    const qk_model_config *c = &r->opts.cfg;
    if (c->kappa1 > 0) return c->locater_norm == QK_NORM_SUM ? 2 : 1;
    return c->sigma_reparam ? 3 : 0;
}

static const char *const g_group_name[4] = {"no regularizer", "LocAteR token (R)", "LocAteR sum (R/(B·T))",
                                            "σReparam (W_Q, W_K)"};

/* the first seed's run of a group (and κ2 for LocAteR); NULL if none */
static const sweep_run *first_run(const sweep_run *runs, int n, int group, float k2)
{
    for (int i = 0; i < n; i++)
        if (run_group(&runs[i]) == group && (group == 0 || group == 3 || runs[i].opts.cfg.kappa2 == k2)) return &runs[i];
    return NULL;
}

/* mean, min, max over seeds of sweep_run_quantity q for a group (and κ2) */
static int group_stat(const sweep_run *runs, int n, int group, float k2, int q, double *m, double *lo, double *hi)
{
    int cnt = 0;
    double s = 0;
    for (int i = 0; i < n; i++) {
        if (run_group(&runs[i]) != group || ((group == 1 || group == 2) && runs[i].opts.cfg.kappa2 != k2)) continue;
        double x = sweep_run_quantity(&runs[i], q);
        if (x != x) continue;
        if (!cnt) *lo = *hi = x;
        *lo = fmin(*lo, x);
        *hi = fmax(*hi, x);
        s += x;
        cnt++;
    }
    *m = cnt ? s / cnt : NAN;
    if (!cnt) *lo = *hi = NAN;
    return cnt;
}

/* A claim's quantity against κ2 (x = log10 κ2, κ2 = 0 drawn at -4), mean over seeds with
 * the [min, max] band, per LocAteR weighting; the references as flat dashed lines. */
static void fig_kappa2(FILE *f, const sweep_run *runs, int n, int q, const char *title, const char *ylabel, int logy)
{
    static double x[4][SWEEP_NKAPPA2], y[4][SWEEP_NKAPPA2], lo[4][SWEEP_NKAPPA2], hi[4][SWEEP_NKAPPA2];
    qk_svg_series ser[4];
    int ns = 0;
    for (int g = 1; g <= 2; g++) {
        int m = 0;
        for (int i = 0; i < SWEEP_NKAPPA2; i++) {
            double a, b, c;
            if (!group_stat(runs, n, g, g_rk2[i], q, &a, &b, &c)) continue;
            x[ns][m] = i == 0 ? -4.0 : log10((double)g_rk2[i]);
            y[ns][m] = a, lo[ns][m] = b, hi[ns][m] = c;
            m++;
        }
        if (!m) continue;
        qk_svg_series s = {g_group_name[g], m, x[ns], y[ns], lo[ns], hi[ns], qk_svg_color(g), 0, 1};
        ser[ns++] = s;
    }
    for (int g = 0; g <= 3; g += 3) {
        double a, b, c;
        if (!group_stat(runs, n, g, 0, q, &a, &b, &c)) continue;
        x[ns][0] = -4.0, x[ns][1] = 0.0;
        y[ns][0] = y[ns][1] = a, lo[ns][0] = lo[ns][1] = b, hi[ns][0] = hi[ns][1] = c;
        qk_svg_series s = {g_group_name[g], 2, x[ns], y[ns], lo[ns], hi[ns], qk_svg_color(g), 1, 0};
        ser[ns++] = s;
    }
    qk_svg_plot p;
    qk_svg_plot_inline(&p, title, "log10 κ2 (κ2 = 0 drawn at −4)", ylabel, 460, 340);
    p.logy = logy;
    p.legend = QK_SVG_LEGEND_AUTO;
    qk_svg_lines(f, &p, ser, ns);
}

/* The value of one evaluation e of a run: 0 eigen mean, 1 log10 eq. (8) variance,
 * 2 attention entropy, 3 ρ concentration */
static double eval_value(const sweep_run *r, int e, int which)
{
    const train_result *t = &r->result;
    if (which == 0) return t->eig_mean[e];
    if (which == 1) return t->eig_var[e] > 0 ? log10(t->eig_var[e]) : NAN;
    if (which == 2) return t->entropy[e];
    return cli_rho_top_share_f(t->rho[e], t->T);
}

static const char *const g_eval_name[4] = {"eigen mean tr(S)/d", "log10 eq. (8) variance", "attention entropy",
                                           "ρ concentration"};

/* Every evaluation after step 0 of every run, one point each, coloured by group. */
static void fig_scatter(FILE *f, const sweep_run *runs, int n, int xw, int yw)
{
    size_t cap = (size_t)n * QK_TRAIN_MAX_EVALS;
    double *x = malloc(sizeof(double) * 4 * cap), *y = malloc(sizeof(double) * 4 * cap);
    if (!x || !y) {
        free(x);
        free(y);
        return;
    }
    qk_svg_series ser[4];
    int ns = 0;
    for (int g = 0; g < 4; g++) {
        int m = 0;
        double *xg = x + (size_t)g * cap, *yg = y + (size_t)g * cap;
        for (int i = 0; i < n; i++) {
            if (run_group(&runs[i]) != g) continue;
            for (int e = 1; e < runs[i].result.n; e++) {
                double a = eval_value(&runs[i], e, xw), b = eval_value(&runs[i], e, yw);
                if (isfinite(a) && isfinite(b)) xg[m] = a, yg[m] = b, m++;
            }
        }
        if (!m) continue;
        qk_svg_series s = {g_group_name[g], m, xg, yg, NULL, NULL, qk_svg_color(g), 0, QK_SVG_MARKERS_ONLY};
        ser[ns++] = s;
    }
    char title[96];
    snprintf(title, sizeof title, "%s against %s", g_eval_name[yw], g_eval_name[xw]);
    qk_svg_plot p;
    qk_svg_plot_inline(&p, title, g_eval_name[xw], g_eval_name[yw], 460, 340);
    p.legend = QK_SVG_LEGEND_AUTO;
    qk_svg_lines(f, &p, ser, ns);
    free(x);
    free(y);
}

static const double *g_rank_key;
static int by_key(const void *a, const void *b)
{
    double x = g_rank_key[*(const int *)a], y = g_rank_key[*(const int *)b];
    return x < y ? -1 : x > y;
}

/* ranks (ties: their mean rank) of v[0..n) into r; idx: n ints of scratch */
static void ranks(const double *v, int n, double *r, int *idx)
{
    for (int i = 0; i < n; i++) idx[i] = i;
    g_rank_key = v;
    qsort(idx, (size_t)n, sizeof(int), by_key);
    for (int i = 0; i < n;) {
        int j = i;
        while (j + 1 < n && v[idx[j + 1]] == v[idx[i]]) j++;
        for (int k = i; k <= j; k++) r[idx[k]] = 0.5 * (i + j);
        i = j + 1;
    }
}

/* Spearman's rank correlation of finite pairs; NaN with fewer than 3 */
static double spearman(const double *a, const double *b, int n)
{
    double *ra = malloc(sizeof(double) * (size_t)(n + 1)), *rb = malloc(sizeof(double) * (size_t)(n + 1));
    int *idx = malloc(sizeof(int) * (size_t)(n + 1));
    double r = NAN;
    if (ra && rb && idx && n >= 3) {
        ranks(a, n, ra, idx);
        ranks(b, n, rb, idx);
        double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
        for (int i = 0; i < n; i++) ma += ra[i] / n, mb += rb[i] / n;
        for (int i = 0; i < n; i++) {
            sab += (ra[i] - ma) * (rb[i] - mb);
            saa += (ra[i] - ma) * (ra[i] - ma);
            sbb += (rb[i] - mb) * (rb[i] - mb);
        }
        if (saa > 0 && sbb > 0) r = sab / sqrt(saa * sbb);
    }
    free(ra);
    free(rb);
    free(idx);
    return r;
}

/* The closed form ρ(θ) of SPEC §1.1 (corrected variance with the finite-T terms, the
 * form the simulation supports) from the W_QK of evaluation e: tr W = tr W_QK, tr W² =
 * tr(S²), Σ = I, λ = √d_head. */
static void closed_rho(const sweep_run *r, int e, double *out)
{
    const train_result *t = &r->result;
    double lambda = sqrt((double)r->opts.cfg.d / r->opts.cfg.H);
    for (int i = 0; i < t->T; i++)
        out[i] = t->eig_scale[e] > 0
                     ? qk_rho_closed_finite((double)(i + 1) / t->T, t->trace[e], t->eig_scale[e], lambda, QK_VAR_CORRECTED, t->T)
                     : NAN;
}

static void fig_closed_rho(FILE *f, const sweep_run *r)
{
    const train_result *t = &r->result;
    int e = t->n - 1;
    static double x[QK_MAX_T], meas[QK_MAX_T], cl[QK_MAX_T];
    for (int i = 0; i < t->T; i++) x[i] = (double)(i + 1) / t->T, meas[i] = t->rho[e][i];
    closed_rho(r, e, cl);
    qk_svg_series ser[2] = {{"measured ρ (last evaluation)", t->T, x, meas, NULL, NULL, NULL, 0, 1},
                            {"closed form from the trained W_QK", t->T, x, cl, NULL, NULL, NULL, 1, 0}};
    char title[96];
    snprintf(title, sizeof title, "ρ at step %ld: %s", t->step[e], r->name);
    qk_svg_plot p;
    qk_svg_plot_inline(&p, title, "θ = i/T", "ρ", 460, 320);
    p.ymin = 0;
    p.ymax = 1.05;
    p.legend = QK_SVG_LEGEND_AUTO;
    qk_svg_lines(f, &p, ser, 2);
}

/* The section: curves across κ2, the scatter with rank correlations, the closed form. */
static void theory_section(FILE *f, const sweep_run *runs, int n)
{
    fprintf(f, "<h4>Across κ2 (mean over seeds, band: [min, max])</h4>\n<div class=\"figs\">\n");
    fig_kappa2(f, runs, n, Q_PPL, "validation perplexity (final)", "perplexity", 0);
    fig_kappa2(f, runs, n, Q_SCALE, "eigen scale tr(S²) (final)", "tr(S²)", QK_SVG_LOGY_AUTO);
    fig_kappa2(f, runs, n, Q_VAR, "eq. (8) variance (final)", "variance", QK_SVG_LOGY_AUTO);
    fig_kappa2(f, runs, n, Q_ENT, "attention entropy (mean over training)", "entropy (nats)", 0);
    fig_kappa2(f, runs, n, Q_TOPK, "ρ concentration (mean over training)", "share of Σρ on T/8 positions", 0);
    fprintf(f, "</div>\n<h4>Attention entropy and ρ concentration against the eigen statistics</h4>\n"
               "<p>Every evaluation after step 0 of every run is a point. Spearman rank correlations over all of "
               "them:</p>\n<table><tr><th></th><th>eigen mean</th><th>eq. (8) variance</th></tr>\n");
    size_t cap = (size_t)n * QK_TRAIN_MAX_EVALS;
    double *v = malloc(sizeof(double) * 4 * (cap + 1));
    int m = 0;
    if (v) {
        for (int i = 0; i < n; i++)
            for (int e = 1; e < runs[i].result.n; e++) {
                double a[4];
                int ok = 1;
                for (int w = 0; w < 4; w++) ok &= isfinite(a[w] = eval_value(&runs[i], e, w));
                if (!ok) continue;
                for (int w = 0; w < 4; w++) v[(size_t)w * cap + m] = a[w];
                m++;
            }
        for (int yw = 2; yw <= 3; yw++)
            fprintf(f, "<tr><td>%s</td><td>%+.3f</td><td>%+.3f</td></tr>\n", g_eval_name[yw],
                    spearman(v, v + (size_t)yw * cap, m), spearman(v + cap, v + (size_t)yw * cap, m));
    }
    fprintf(f, "</table>\n<p>%d points.</p>\n<div class=\"figs\">\n", m);
    fig_scatter(f, runs, n, 0, 2);
    fig_scatter(f, runs, n, 1, 2);
    fig_scatter(f, runs, n, 0, 3);
    fig_scatter(f, runs, n, 1, 3);
    fprintf(f, "</div>\n<h4>The closed form from the trained W_QK beside the measured ρ</h4>\n<p>ρ(θ) of SPEC §1.1 "
               "with the corrected variance and the finite-T terms (the form the simulation supports), evaluated with "
               "tr W = tr W_QK and tr W² = tr(S²) of the trained model, Σ = I, λ = √d_head, at the last evaluation; "
               "mean [min, max] over seeds.</p>\n<table><tr><th>run</th><th>κ2</th><th>ρ concentration, measured</th>"
               "<th>closed form</th><th>mean |ρ<sub>meas</sub> − ρ<sub>closed</sub>|</th></tr>\n");
    double *am = malloc(sizeof(double) * (cap + 1)), *ac = malloc(sizeof(double) * (cap + 1));
    int na = 0;
    static double cl[QK_MAX_T];
    for (int g = 0; g < 4; g++)
        for (int k = 0; k < ((g == 1 || g == 2) ? SWEEP_NKAPPA2 : 1); k++) {
            double s[3][3];
            int cnt = 0;
            for (int i = 0; i < n; i++) {
                if (run_group(&runs[i]) != g || ((g == 1 || g == 2) && runs[i].opts.cfg.kappa2 != g_rk2[k])) continue;
                const train_result *t = &runs[i].result;
                int e = t->n - 1;
                if (e < 0) continue;
                closed_rho(&runs[i], e, cl);
                double dm = 0;
                for (int j = 0; j < t->T; j++) dm += fabs(t->rho[e][j] - cl[j]) / t->T;
                double q[3] = {cli_rho_top_share_f(t->rho[e], t->T), cli_rho_top_share(cl, t->T), dm};
                for (int j = 0; j < 3; j++) {
                    if (!cnt) s[j][0] = 0, s[j][1] = s[j][2] = q[j];
                    s[j][0] += q[j];
                    s[j][1] = fmin(s[j][1], q[j]);
                    s[j][2] = fmax(s[j][2], q[j]);
                }
                cnt++;
                for (int e2 = 1; am && ac && e2 < t->n; e2++) {
                    closed_rho(&runs[i], e2, cl);
                    double a = cli_rho_top_share_f(t->rho[e2], t->T), b = cli_rho_top_share(cl, t->T);
                    if (isfinite(a) && isfinite(b)) am[na] = a, ac[na] = b, na++;
                }
            }
            if (!cnt) continue;
            fprintf(f, "<tr><td>%s</td><td>", g_group_name[g]);
            if (g == 1 || g == 2) fprintf(f, "%g", (double)g_rk2[k]);
            else fprintf(f, "–");
            fprintf(f, "</td>");
            for (int j = 0; j < 3; j++)
                if (cnt > 1) fprintf(f, "<td>%.3g [%.3g, %.3g]</td>", s[j][0] / cnt, s[j][1], s[j][2]);
                else fprintf(f, "<td>%.3g</td>", s[j][0]);
            fprintf(f, "</tr>\n");
        }
    fprintf(f, "</table>\n<p>Rank correlation of the measured and the closed-form ρ concentration over all runs and "
               "evaluations after step 0: %+.3f (%d points).</p>\n<div class=\"figs\">\n",
            am && ac ? spearman(am, ac, na) : NAN, na);
    free(am);
    free(ac);
    free(v);
    const sweep_run *b = first_run(runs, n, 0, 0), *ls = first_run(runs, n, 2, 1.0f), *lt = first_run(runs, n, 1, 1.0f);
    if (b) fig_closed_rho(f, b);
    if (lt) fig_closed_rho(f, lt);
    if (ls) fig_closed_rho(f, ls);
    fprintf(f, "</div>\n");
}

/* ------------------------------------------------------------------ the page */

static void final_table(FILE *f, const sweep_run *runs, int n)
{
    fprintf(f, "<table><tr><th>run</th><th>κ1</th><th>κ2</th><th>σReparam</th><th>val loss</th><th>val ppl</th>"
               "<th>eig mean</th><th>eig scale tr(S²)</th><th>eig var</th><th>‖W_QK‖<sub>2</sub></th><th>entropy</th>"
               "<th>ms/step</th></tr>\n");
    for (int i = 0; i < n; i++) {
        const train_result *r = &runs[i].result;
        int e = r->n - 1;
        fputs("<tr><td>", f);
        qk_svg_escape(f, runs[i].name);
        fprintf(f, "</td><td>%g</td><td>%g</td><td>%s</td><td>%.4f</td><td>%.3f</td><td>%.4g</td><td>%.4g</td>"
                   "<td>%.4g</td><td>%.4g</td><td>%.4f</td><td>%.2f</td></tr>\n",
                (double)runs[i].opts.cfg.kappa1, (double)runs[i].opts.cfg.kappa2,
                runs[i].opts.cfg.sigma_reparam ? "W_Q, W_K" : "-", r->val_loss[e], exp(r->val_loss[e]), r->eig_mean[e],
                r->eig_scale[e], r->eig_var[e], r->spec2[e], r->entropy[e], r->ms_per_step);
    }
    fprintf(f, "</table>\n");
}

static int sim_cell_index(const qk_sim_summary *s, int aniso, double mean, double scale)
{
    for (int i = 0; i < s->ncells; i++)
        if (s->cells[i].aniso == aniso && s->cells[i].mean == mean && s->cells[i].scale == scale) return i;
    return -1;
}

/* Section 2 (k = 0) or an appendix section (k > 0): one sweep's runs, what they are,
 * their final numbers, the paper's claims on them, their curves and the theory's test. */
static void lm_section(FILE *f, const report_inputs *in, const report_sweep *s, int k)
{
    const sweep_run *runs = s->runs;
    int n = s->n;
    const train_opts *o = &runs[0].opts;
    if (k == 0) fprintf(f, "<h2>2. LocAteR and σReparam on a language model (SPEC §1.1, §1.2)</h2>\n");
    fprintf(f, "<h3>2.%d. %s", k + 1, k ? "Appendix: " : "");
    qk_svg_escape(f, s->title);
    fprintf(f, "</h3>\n<p>Corpus: ");
    qk_svg_escape(f, runs[0].result.corpus);
    int norms = 0, nseed = 0;
    for (int i = 0; i < n; i++) {
        if (runs[i].opts.cfg.kappa1 > 0) norms |= 1 << runs[i].opts.cfg.locater_norm;
        nseed += run_group(&runs[i]) == 0;
    }
    fprintf(f, ". Model: d = %d, %d head(s), %d layer(s), d_ff = %d, T = %d, batch %d, LayerNorm %s, byte-level "
               "vocabulary %d; initialisation <strong>%s</strong>, dropout <strong>%g</strong>; LocAteR (κ1 = 100) weighting <strong>%s</strong>; "
               "AdamW lr %g, %ld steps, evaluation every %d steps on %d held-out batches; %d seed%s (",
            o->cfg.d, o->cfg.H, o->cfg.L, o->cfg.dff, o->cfg.T, o->cfg.B,
            o->cfg.ln == QK_LN_PRE ? "pre" : o->cfg.ln == QK_LN_POST ? "post" : "none", 256,
            o->cfg.init == QK_INIT_FAIRSEQ ? "fairseq" : "legacy", (double)o->cfg.dropout,
            norms == 3 ? "token (R on the per-token mean loss) and sum (R/(B·T), as in fairseq's summed criterion)"
            : norms == 2 ? "sum (R/(B·T), as in fairseq's summed criterion)" : "token (R on the per-token mean loss)",
            (double)o->cfg.lr, o->steps, o->eval_every, o->eval_batches, nseed, nseed == 1 ? "" : "s");
    for (int i = 0, first = 1; i < n; i++)
        if (run_group(&runs[i]) == 0) fprintf(f, "%s%llu", first ? "" : ", ", runs[i].opts.seed), first = 0;
    fprintf(f, "). CSV: <code>");
    if (s->subdir) {
        qk_svg_escape(f, s->subdir);
        fputc('/', f);
    }
    fprintf(f, "RUN_evals.csv</code>, <code>RUN_rho.csv</code>%s.</p>\n",
            o->cfg.L * o->cfg.H > 1 ? ", <code>RUN_layers.csv</code> (every layer and head; the numbers here are "
                                      "layer 0's, with several heads their mean)" : "");
    if (in->no_corpus && k == 0) {
        fprintf(f, "<p><b>Note:</b> no English corpus was found at ");
        qk_svg_escape(f, in->no_corpus);
        fprintf(f, ", so the language model trained on the built-in synthetic corpus. Run <code>sh "
                   "tools/get_corpus.sh</code> (it fetches Ambrose Bierce's <i>The Devil's Dictionary</i>, public "
                   "domain, from the Debian package dict-devil) and run this command again.</p>\n");
    }
    fprintf(f, "<h4>Final numbers</h4>\n");
    final_table(f, runs, n);
    fprintf(f, "<h4>Against the paper's qualitative claims</h4>\n");
    claims(f, runs, n, k == 0 ? in->sim : NULL); /* the simulation's verdict once */
    fprintf(f, "<div class=\"figs\">\n");
    fig_runs(f, runs, n, "eigen scale tr(S²) of W_QK", "tr(S²)", 0, 1);
    fig_runs(f, runs, n, "attention entropy", "entropy (nats)", 1, 0);
    fig_runs(f, runs, n, "validation perplexity", "perplexity", 2, 1);
    fig_runs(f, runs, n, "spectral norm of W_QK", "‖W_QK‖₂", 3, 1);
    fprintf(f, "</div>\n<h4>ρ over training (the paper's heat map)</h4>\n<div class=\"figs\">\n");
    const sweep_run *pick[4] = {first_run(runs, n, 0, 0), first_run(runs, n, 1, 1.0f), first_run(runs, n, 2, 1.0f),
                                first_run(runs, n, 3, 0)};
    for (int g = 0; g < 3; g++)
        if (pick[g]) fig_rho_heatmap(f, pick[g]);
    fprintf(f, "</div>\n<h4>Eigenvalues of the symmetric part of W_QK (layer 0, head 0)</h4>\n<div class=\"figs\">\n");
    if (pick[0]) fig_eig_hist(f, pick[0]->result.eig_init, pick[0]->result.d, "at initialisation", 0);
    for (int g = 0; g < 4; g++) {
        if (!pick[g]) continue;
        char t[80];
        snprintf(t, sizeof t, "after training: %s", pick[g]->name);
        fig_eig_hist(f, pick[g]->result.eig_final, pick[g]->result.d, t, g + 1);
    }
    fprintf(f, "</div>\n");
    theory_section(f, runs, n);
}

int report_write(const char *dir, const report_inputs *in)
{
    char *path = cli_path_join(dir, "index.html");
    static cli_out page; /* written atomically and checked (cli_file.c) */
    FILE *f = path ? cli_out_open(&page, "reproduce", path) : NULL;
    free(path);
    if (!f) return 1;
    fprintf(f, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>qkspec report</title>\n<style>\n"
               "body{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}"
               "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;"
               "text-align:right}th{background:#f3f3f3}td:first-child{text-align:left}.figs{display:flex;"
               "flex-wrap:wrap;gap:8px}code{background:#f5f5f5;padding:1px 3px}\n</style></head><body>\n");
    fprintf(f, "<h1>qkspec: attention localization and rank collapse</h1>\n<p>qkspec %s, %s. Command: <code>qkspec "
               "reproduce%s --out ", QK_VERSION,
            in->quick ? "quick mode (short budget, learning rate 10× the paper's)" : "full mode", in->quick ? " --quick" : "");
    qk_svg_escape(f, in->out); /* user-supplied: escaped, like every name below */
    int from = 0;
    for (int k = 0; k < in->nlm; k++) from |= in->lm[k].from != NULL;
    if (from) {
        fprintf(f, " --runs ");
        for (int k = 0; k < in->nlm; k++) {
            if (k) fputc(',', f);
            qk_svg_escape(f, in->lm[k].from);
        }
        fprintf(f, "</code> (the language-model runs of section 2 were read from those directories, the output of "
                   "<code>qkspec sweep</code> with the same options, not trained by this command; the time below "
                   "does not include them)<code>");
    }
    if (!in->quick && !in->appendix_left_out) fprintf(f, " (with the appendix)");
    fprintf(f, "</code>. Total time %.0f s. Every number on this page is also in the CSV files beside it.</p>\n",
            in->seconds);
    if (in->sim) {
        const qk_sim_summary *s = in->sim;
        fprintf(f, "<h2>1. Eigenspectrum simulation (SPEC §1.3)</h2>\n<p>d = %d, %d random walks of %d tokens, %d draws "
                   "of W_QK = B diag(w) Bᵀ per (mean, scale), λ = √d. ρ<sub>i</sub> is the fraction of walks whose "
                   "last query gives z<sub>i</sub> ∈ [0, 1]. The closed form is drawn with the paper's printed variance, "
                   "the corrected one, and the corrected one with the finite-T terms the closed form drops (keys "
                   "1..T have mean (T+1)/2, and z = G + 1/T). CSV: <code>sim_cells.csv</code>, "
                   "<code>sim_rho.csv</code>.</p>\n<div class=\"figs\">\n",
                in->sim_cfg.d, in->sim_cfg.walks, in->sim_cfg.T, in->sim_cfg.draws);
        static const double pick[][3] = {{0, 0.0, 0.5}, {0, 1.0, 0.1}, {0, 2.0, 2.0}, {1, 0.5, 0.5}};
        for (int i = 0; i < 4; i++) {
            int c = sim_cell_index(s, (int)pick[i][0], pick[i][1], pick[i][2]);
            if (c >= 0) fig_sim_rho(f, s, c);
        }
        fprintf(f, "</div>\n<table><tr><th>Σ</th><th>mean</th><th>scale</th><th>tr W/λ</th><th>entropy</th>"
                   "<th>max err, paper</th><th>max err, corrected</th><th>max err, finite-T</th></tr>\n");
        for (int i = 0; i < s->ncells; i++) {
            const qk_sim_cell_summary *c = &s->cells[i];
            fprintf(f, "<tr><td>%s</td><td>%g</td><td>%g</td><td>%.3g</td><td>%.4f</td><td>%.4f</td><td>%.4f</td>"
                       "<td>%.4f</td></tr>\n", c->aniso ? "RᵀR/d" : "I", c->mean, c->scale, c->trW_over_lambda,
                    c->entropy, c->err_paper, c->err_corrected, c->err_finite);
        }
        fprintf(f, "</table>\n<p>Entropy falls as the eigenvalue scale grows at a fixed mean, and ρ concentrates on "
                   "fewer positions as the mean grows relative to the scale (the paper's Lemma 2 regimes).</p>\n");
    }
    for (int k = 0; k < in->nlm; k++)
        if (in->lm[k].n) lm_section(f, in, &in->lm[k], k);
    if (in->appendix_left_out)
        fprintf(f, "<p>The appendix sections (d = 128; 3 and 6 layers) are not in this report: %s.</p>\n",
                in->lm[0].from ? "<code>--runs</code> named no sweep directories for them" : "<code>--no-appendix</code>");
    if (in->extra_html) in->extra_html(f, in->extra_ctx);
    fprintf(f, "</body></html>\n");
    return cli_out_commit(&page) ? 1 : 0;
}

/* ------------------------------------------------------------------ the report directory */

/* The report is built in the sibling directory OUT.partial and renamed to OUT only when
 * every file in it is complete, so OUT holds the previous report or the new one, never
 * a mixture. An interrupted or failed run leaves OUT untouched and its progress in
 * OUT.partial (finished training runs, checkpoints of the others): the same command
 * continues from there. An existing OUT is replaced only if it is a report (it has
 * REPORT_MARK or index.html and no subdirectory), so that --out cannot wipe a
 * directory of other files. */
#define REPORT_MARK ".qkspec-report"
#define PARTIAL_MARK ".qkspec-partial"

/* OUT without trailing slashes; NULL (printed) for a path that names no new directory */
static char *report_out_path(const char *out)
{
    size_t n = strlen(out);
    while (n > 1 && out[n - 1] == '/') n--;
    const char *base = out + n;
    while (base > out && base[-1] != '/') base--;
    size_t bl = (size_t)(out + n - base);
    if (!n || (bl == 1 && *base == '.') || (bl == 2 && !strncmp(base, "..", 2)) || !bl) {
        fprintf(stderr, "qkspec reproduce: --out '%s': expected the name of the report directory to write\n", out);
        return NULL;
    }
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, out, n);
        p[n] = 0;
    }
    return p;
}

/* 1 if dir has an entry named name */
static int has_entry(const char *dir, const char *name)
{
    char *p = cli_path_join(dir, name);
    struct stat st;
    int yes = p && lstat(p, &st) == 0;
    free(p);
    return yes;
}

/* For each entry of dir but . and ..: fn(path, is_dir, ctx); stops at fn's first
 * non-zero result and returns it; -1 if dir cannot be read. */
static int each_entry(const char *dir, int (*fn)(const char *path, const char *name, int is_dir, void *ctx), void *ctx)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int rc = 0;
    struct dirent *e;
    while (!rc && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char *p = cli_path_join(dir, e->d_name);
        struct stat st;
        if (!p || lstat(p, &st) != 0) rc = -1;
        else rc = fn(p, e->d_name, S_ISDIR(st.st_mode), ctx);
        free(p);
    }
    closedir(d);
    return rc;
}

/* The appendix of full mode (the README's "Against the paper"): the same ladder as
 * section 2 at d = 128 (preset paper, its lr 2.5e-5) and with 3 and 6 layers (d = 32),
 * 3000 steps each, evaluations every 150 steps; each in its own subdirectory. */
typedef struct {
    const char *subdir, *preset, *title;
    int layers;
} appendix_plan;
#define N_APPENDIX 3
static const appendix_plan g_appendix[N_APPENDIX] = {
    {"d128", "paper", "One layer, d = 128 (preset paper), the paper's lr 2.5e-5", 1},
    {"layers3", "paper-d32", "3 layers, d = 32 (preset paper-d32 --layers 3)", 3},
    {"layers6", "paper-d32", "6 layers, d = 32 (preset paper-d32 --layers 6)", 6},
};

static int is_subdir(const char *path, const char *name, int is_dir, void *ctx)
{
    (void)path, (void)name, (void)ctx;
    return is_dir;
}

/* 1 for an entry a report does not make: a subdirectory other than its own (collapse-
 * train's, the appendix sweeps'), or one of its own that holds a subdirectory */
static int foreign_subdir(const char *path, const char *name, int is_dir, void *ctx)
{
    (void)ctx;
    if (!is_dir) return 0;
    int own = !strcmp(name, REPORT_TRAINED_SUBDIR);
    for (int i = 0; i < N_APPENDIX; i++) own |= !strcmp(name, g_appendix[i].subdir);
    return !own || each_entry(path, is_subdir, NULL) != 0; /* its own hold files only */
}

/* A directory the report may replace: a report (its mark or an index.html) without
 * subdirectories but its own, or an empty one. */
static int replaceable(const char *dir)
{
    if (each_entry(dir, foreign_subdir, NULL) != 0) return 0;
    DIR *d = opendir(dir);
    int empty = 1;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) empty = 0;
    if (d) closedir(d);
    return empty || has_entry(dir, REPORT_MARK) || has_entry(dir, "index.html");
}

static int remove_file(const char *path, const char *name, int is_dir, void *ctx)
{
    (void)name, (void)ctx;
    return is_dir || unlink(path) != 0;
}

/* a file, or one of the report's own subdirectories with its files (replaceable() checked them) */
static int remove_entry(const char *path, const char *name, int is_dir, void *ctx)
{
    (void)name, (void)ctx;
    if (!is_dir) return unlink(path) != 0;
    return each_entry(path, remove_file, NULL) != 0 || rmdir(path) != 0;
}

/* Removes a replaceable directory: its files, then itself. */
static int remove_report(const char *dir)
{
    if (!replaceable(dir)) {
        fprintf(stderr, "qkspec reproduce: %s is in the way and is not a report: remove it\n", dir);
        return -1;
    }
    if (each_entry(dir, remove_entry, NULL) != 0 || rmdir(dir) != 0) {
        fprintf(stderr, "qkspec reproduce: cannot remove %s: %s\n", dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* The working directory OUT.partial: reused when a previous run left it (its mark
 * says it is one), created otherwise. Checks first that OUT may be replaced. */
static char *report_begin(const char *out)
{
    struct stat st;
    if (lstat(out, &st) == 0 && (!S_ISDIR(st.st_mode) || !replaceable(out))) {
        fprintf(stderr, "qkspec reproduce: %s exists and is not a qkspec report (no %s or index.html, or it has "
                        "subdirectories a report does not make); it would be replaced: choose another --out or remove "
                        "it\n", out, REPORT_MARK);
        return NULL;
    }
    char *dir = cli_strcat3(out, ".partial", "");
    if (!dir) return NULL;
    if (lstat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode) || !(has_entry(dir, PARTIAL_MARK) || has_entry(dir, REPORT_MARK))) {
            fprintf(stderr, "qkspec reproduce: %s exists and is not an unfinished report (no %s): remove it\n", dir,
                    PARTIAL_MARK);
            free(dir);
            return NULL;
        }
        printf("continuing the unfinished report in %s (finished runs are kept)\n", dir);
        return dir;
    }
    char *mark = cli_path_join(dir, PARTIAL_MARK);
    FILE *f = NULL;
    if (cli_mkdir("reproduce", dir) || !mark || !(f = fopen(mark, "w")) || fclose(f) != 0) {
        if (mark) fprintf(stderr, "qkspec reproduce: cannot start %s: %s\n", dir, strerror(errno));
        free(dir);
        dir = NULL;
    }
    free(mark);
    return dir;
}

/* Hidden working files: run results and checkpoints, temporaries of writes that a
 * kill interrupted, the partial mark. */
static int remove_hidden(const char *path, const char *name, int is_dir, void *ctx)
{
    (void)ctx;
    if (is_dir) return each_entry(path, remove_hidden, NULL) != 0; /* the report's own subdirectories */
    return name[0] == '.' && unlink(path) != 0;
}

/* A failure after report_begin: OUT is as it was. Returns rc. */
static int report_unfinished(const char *out, const char *dir, int rc)
{
    fprintf(stderr, "qkspec reproduce: the report is not finished; %s is unchanged, the work done so far is in %s "
                    "and the same command continues it\n", out, dir);
    return rc;
}

/* Moves the finished report into place: OUT.partial without its working files becomes
 * OUT; a previous report is moved aside first and removed once the new one is there. */
static int report_publish(const char *out, const char *dir)
{
    char *mark = cli_path_join(dir, REPORT_MARK), *old = cli_strcat3(out, ".old", "");
    FILE *f = NULL;
    int rc = -1;
    struct stat st;
    if (!mark || !old || each_entry(dir, remove_hidden, NULL) != 0 || !(f = fopen(mark, "w")) || fclose(f) != 0)
        fprintf(stderr, "qkspec reproduce: cannot finish %s: %s\n", dir, strerror(errno));
    else if (lstat(old, &st) == 0 && remove_report(old)) {
        /* printed */
    } else if (lstat(out, &st) != 0) {
        rc = rename(dir, out);
    } else if (rename(out, old) == 0) {
        rc = rename(dir, out);
        if (rc) rename(old, out);
        else remove_report(old);
    }
    if (rc && mark && old) fprintf(stderr, "qkspec reproduce: cannot move %s to %s: %s\n", dir, out, strerror(errno));
    free(mark);
    free(old);
    return rc;
}

/* ------------------------------------------------------------------ finished runs from a sweep directory */

static int copy_fill(FILE *f, void *ctx)
{
    FILE *in = ctx;
    char buf[65536];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, k, f) != k) return -1;
    return ferror(in) ? -1 : 0;
}

/* --runs DIR: the plan's runs are read from DIR (the output directory of a `qkspec
 * sweep` with the same options: .NAME.result and the two CSVs of each run) instead of
 * trained; the CSVs are copied into the report. A result is taken if its last
 * evaluation is at the planned step and its T and d are the plan's; the rest of its
 * configuration is not checked here (the sweep that made it checked it). */
/* whether from has every planned run finished (its result read into runs[i].result);
 * 0, or 1 after naming the first that is missing */
static int runs_check(sweep_run *runs, int n, const char *from, long steps)
{
    for (int i = 0; i < n; i++) {
        char *res = cli_strcat3(".", runs[i].name, ".result"), *rp = res ? cli_path_join(from, res) : NULL;
        int ok = rp && train_read_result(rp, &runs[i].result) == 0;
        const train_result *r = &runs[i].result;
        qk_model_config c = runs[i].opts.cfg; /* its parameter count tells the layers too */
        qk_model_sizes_t sz;
        if (!c.V) c.V = 256; /* byte-level */
        if (ok && (r->n < 1 || r->step[r->n - 1] != steps || r->T != c.T || r->d != c.d ||
                   qk_model_sizes(&c, &sz) != QK_OK || r->params != (long long)sz.params))
            ok = 0;
        if (!ok)
            fprintf(stderr, "qkspec reproduce: --runs %s: no finished run %s of %ld steps there (d = %d, %d layer%s)\n",
                    from, runs[i].name, steps, c.d, c.L, c.L > 1 ? "s" : "");
        free(res);
        free(rp);
        if (!ok) return 1;
    }
    return 0;
}

static int runs_take(sweep_run *runs, int n, const char *from, const char *dir, long steps)
{
    if (runs_check(runs, n, from, steps)) return 1;
    for (int i = 0; i < n; i++) {
        int ok = 1;
        static const char *const csv[3] = {"_evals.csv", "_rho.csv", "_layers.csv"}; /* the last: L·H > 1 only */
        int ncsv = runs[i].opts.cfg.L * runs[i].opts.cfg.H > 1 ? 3 : 2;
        for (int k = 0; ok && k < ncsv; k++) {
            char *name = cli_strcat3(runs[i].name, csv[k], "");
            char *src = name ? cli_path_join(from, name) : NULL, *dst = name ? cli_path_join(dir, name) : NULL;
            FILE *in = src ? fopen(src, "rb") : NULL;
            if (!in || cli_write_file("reproduce", dst, copy_fill, in)) {
                if (!in) fprintf(stderr, "qkspec reproduce: --runs: cannot read %s\n", src ? src : name);
                ok = 0;
            }
            if (in) fclose(in);
            free(name);
            free(src);
            free(dst);
        }
        if (!ok) return 1;
    }
    printf("      the %d runs read from %s (not trained again)\n", n, from);
    return 0;
}

/* ------------------------------------------------------------------ the command */

/* The corpus the sweep will read: --text, else the cached one, else NULL (the
 * built-in synthetic corpus; *missing says where the cached one was looked for). */
static const char *choose_corpus(const char *text, int quick, const char **missing)
{
    *missing = NULL;
    if (text) return text;
    /* full mode: GCIDE (7.3 MB; sh tools/get_corpus.sh gcide), else the Devil's Dictionary */
    const char *gcide = quick ? NULL : train_cached_corpus_named("gcide.txt");
    if (gcide && file_exists(gcide)) return gcide;
    const char *cached = train_cached_corpus();
    if (cached && file_exists(cached)) return cached;
    *missing = cached ? cached : "(the cache path is too long)";
    return NULL;
}

/* --runs D1[,D2...]: at most REPORT_MAX_SWEEPS directories; the count, or -1 (printed) */
static int split_dirs(const char *list, char **out)
{
    int n = 0;
    for (const char *p = list;; n++) {
        size_t l = strcspn(p, ",");
        if (n == REPORT_MAX_SWEEPS || l == 0) {
            fprintf(stderr, "qkspec reproduce: --runs: expected 1 to %d sweep directories separated by commas, got '%s'\n",
                    REPORT_MAX_SWEEPS, list);
            return -1;
        }
        if (!(out[n] = malloc(l + 1))) return -1;
        memcpy(out[n], p, l);
        out[n][l] = 0;
        p += l;
        if (!*p) return n + 1;
        p++;
    }
}

/* The runs of appendix sweep a, planned from section 2's options, their CSVs in out */
static void appendix_runs(const appendix_plan *a, const train_opts *main_base, const sweep_spec *spec, long steps,
                          const char *out, train_opts *b, sweep_run *runs, int *n)
{
    *b = *main_base;
    qk_model_preset(a->preset, &b->cfg);
    b->cfg.V = 0;
    b->cfg.L = a->layers;
    b->cfg.init = main_base->cfg.init;
    b->cfg.dropout = main_base->cfg.dropout;
    b->steps = steps ? steps : 3000;
    b->eval_every = (int)(b->steps / 20 > 0 ? b->steps / 20 : 1);
    b->out = out;
    sweep_plan_spec(b, spec, runs, n);
}

/* Trains appendix sweep a (or reads it from from) into DIR/subdir, prints its table and
 * claims, and describes it in *rs. */
static int appendix_sweep(const appendix_plan *a, const train_opts *main_base, const sweep_spec *spec, long steps,
                          const char *from, int jobs, const char *dir, sweep_run *runs, report_sweep *rs)
{
    static train_opts b;
    char *sub = cli_path_join(dir, a->subdir);
    if (!sub || cli_mkdir("reproduce", sub)) return 1;
    int n;
    appendix_runs(a, main_base, spec, steps, sub, &b, runs, &n);
    printf("      appendix: %s: %d runs of %ld steps (d=%d, %d layer%s, lr %g) in %s/\n", a->subdir, n, b.steps, b.cfg.d,
           b.cfg.L, b.cfg.L > 1 ? "s" : "", (double)b.cfg.lr, a->subdir);
    fflush(stdout);
    int rc = from ? runs_take(runs, n, from, sub, b.steps) : sweep_execute(runs, n, jobs, sub, NULL);
    if (rc) return rc;
    sweep_table(runs, n, stdout);
    sweep_claims(runs, n, stdout, 0);
    report_sweep r = {runs, n, a->title, a->subdir, from};
    *rs = r;
    return 0;
}

/* --runs: every named directory holds its sweep's finished runs (checked before the
 * first experiment, like the corpus) */
static int runs_precheck(char *const *from, int nfrom, const train_opts *base, const sweep_spec *spec, long steps)
{
    static sweep_run runs[SWEEP_MAX_RUNS];
    static train_opts b;
    int n;
    for (int k = 0; k < nfrom; k++) {
        if (k == 0) sweep_plan_spec(base, spec, runs, &n);
        else appendix_runs(&g_appendix[k - 1], base, spec, steps, NULL, &b, runs, &n);
        if (runs_check(runs, n, from[k], k ? b.steps : base->steps)) return 1;
    }
    return 0;
}

int qk_cmd_reproduce(int argc, char **argv)
{
    int quick = 0, appendix = 1;
    long jobs = 2, steps = 0;
    const char *out = "qkspec-report", *text = NULL, *runs_list = NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--quick")) { quick = 1; continue; }
        if (!strcmp(a, "--no-appendix")) { appendix = 0; continue; }
        if ((!strcmp(a, "--out") || !strcmp(a, "--text")) && !v) {
            fprintf(stderr, "qkspec reproduce: %s needs a value\n", a);
            return 2;
        }
        if (!strcmp(a, "--out")) { out = v; i++; }
        else if (!strcmp(a, "--text")) { text = v; i++; }
        else if (!strcmp(a, "--jobs")) { if (cli_parse_long("reproduce", a, v, 1, 64, &jobs)) return 2; i++; }
        else if (!strcmp(a, "--steps")) { if (cli_parse_long("reproduce", a, v, 1, 10000000, &steps)) return 2; i++; }
        else if (!strcmp(a, "--runs")) {
            if (!v || !*v) { fprintf(stderr, "qkspec reproduce: --runs needs a directory\n"); return 2; }
            runs_list = v;
            i++;
        }
        else {
            fprintf(stderr, "qkspec reproduce: unknown option '%s'\n"
                            "usage: qkspec reproduce [--quick] [--out DIR] [--text FILE] [--jobs N] [--steps N]\n"
                            "       [--no-appendix] [--runs SWEEPDIR[,D128DIR[,LAYERS3DIR[,LAYERS6DIR]]]]\n", a);
            return 2;
        }
    }
    static report_inputs in;
    memset(&in, 0, sizeof in);
    in.quick = quick;
    in.out = out;
    static char *from[REPORT_MAX_SWEEPS];
    int nfrom = 0;
    if (runs_list && (nfrom = split_dirs(runs_list, from)) < 0) return 2;
    if (nfrom > 1 && (quick || !appendix)) {
        fprintf(stderr, "qkspec reproduce: --runs names %d directories, but %s has no appendix sweeps: give one\n", nfrom,
                quick ? "--quick" : "--no-appendix");
        return 2;
    }
    /* every input is checked before the first experiment: a bad corpus found after
     * the simulation would waste it, and each of the sweep's runs would say so again */
    static train_opts base;
    train_defaults(&base);
    base.text = choose_corpus(text, quick, &in.no_corpus);
    in.text = base.text;
    if (base.text && cli_check_corpus("reproduce", base.text, base.cfg.T, base.val_frac)) return 2;
    if (in.no_corpus)
        printf("note: no corpus at %s; using the built-in synthetic corpus (get a real one: sh tools/get_corpus.sh)\n",
               in.no_corpus);
    /* The plan of section 2's sweep, made before any work so that --runs is checked
     * first too. On the corpus chosen above. Quick: one seed, the token weighting,
     * the legacy initialisation, no dropout, 800 steps at 10x the paper's lr. Full: the
     * experiment of the README's "Against the paper": fairseq's initialisation and
     * dropout 0.1, both LocAteR weightings, seeds 1 and 2, 10,000 steps at lr 1e-4
     * (the same runs as `qkspec sweep --preset paper-d32 --init fairseq --dropout 0.1
     * --norms token,sum --seeds 1,2 --steps 10000 --eval-every 250 --eval-batches 4`). */
    sweep_spec spec = {100.0f, 1 << QK_NORM_TOKEN, 1, {1}, 0};
    if (quick) {
        base.steps = steps ? steps : 800;
        base.eval_every = (int)(base.steps / 20 > 0 ? base.steps / 20 : 1);
        base.eval_batches = 2;
        base.cfg.lr = 1e-3f; /* 10x the paper's, so that a short budget shows the effects */
    } else {
        base.steps = steps ? steps : 10000;
        base.eval_every = (int)(base.steps / 40 > 0 ? base.steps / 40 : 1);
        base.eval_batches = 4;
        base.cfg.init = QK_INIT_FAIRSEQ;
        base.cfg.dropout = 0.1f;
        spec.norms = (1 << QK_NORM_TOKEN) | (1 << QK_NORM_SUM);
        spec.nseeds = 2;
        spec.seeds[1] = 2;
    }
    if (nfrom && runs_precheck(from, nfrom, &base, &spec, steps)) return 2;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    /* everything is written into OUT.partial, which becomes OUT when complete */
    static char *outp, *dir;
    if (!(outp = report_out_path(out)) || !(dir = report_begin(outp))) return 1;
    int rc;

    /* 1. simulation */
    static qk_sim_opts so;
    static qk_sim_summary sim;
    qk_sim_defaults(&so, quick);
    printf("[1/3] eigenspectrum simulation: d=%d, %d walks of %d tokens, %d draws per cell\n", so.cfg.d, so.cfg.walks,
           so.cfg.T, so.cfg.draws);
    if ((rc = qk_sim_run(&so, dir, &sim, NULL)) != 0) return report_unfinished(outp, dir, rc);
    qk_sim_print_verdict(&sim, stdout);
    in.sim = &sim;
    in.sim_cfg = so.cfg;

    /* 2. the sweep (its plan above) */
    base.out = dir;
    static sweep_run runs[SWEEP_MAX_RUNS];
    int n;
    sweep_plan_spec(&base, &spec, runs, &n);
    printf("[2/3] LocAteR / sigmaReparam sweep: %d runs of %ld steps (d=%d, T=%d, batch %d, lr %g), %ld at a time;\n"
           "      LocAteR weighting %s, init %s, dropout %g, seed%s\n", n, base.steps, base.cfg.d, base.cfg.T,
           base.cfg.B, (double)base.cfg.lr, jobs, quick ? "token (R on the per-token mean loss)" : "token and sum (R/(B*T))",
           base.cfg.init == QK_INIT_FAIRSEQ ? "fairseq" : "legacy", (double)base.cfg.dropout, quick ? " 1" : "s 1,2");
    if (nfrom) {
        if ((rc = runs_take(runs, n, from[0], dir, base.steps)) != 0) return report_unfinished(outp, dir, rc);
    } else if ((rc = sweep_execute(runs, n, (int)jobs, dir, NULL)) != 0) {
        return report_unfinished(outp, dir, rc);
    }
    sweep_table(runs, n, stdout);
    if (!quick) sweep_claims(runs, n, stdout, 0);
    report_sweep main_sweep = {runs, n, quick ? "One layer, d = 32, the token weighting (quick mode)"
                                              : "One layer, d = 32 (preset paper-d32), the paper's lr 1e-4",
                               NULL, nfrom ? from[0] : NULL};
    in.lm[0] = main_sweep;
    in.nlm = 1;

    /* 2b. the appendix (full mode): d = 128 and 3 and 6 layers, as the README's "Against
     * the paper" (the same runs as its `qkspec sweep` commands) */
    for (int k = 0; !quick && k < N_APPENDIX && (nfrom ? k + 1 < nfrom : appendix); k++) {
        static sweep_run app_runs[N_APPENDIX][SWEEP_MAX_RUNS];
        if ((rc = appendix_sweep(&g_appendix[k], &base, &spec, steps, nfrom ? from[k + 1] : NULL, (int)jobs, dir,
                                 app_runs[k], &in.lm[in.nlm])) != 0)
            return report_unfinished(outp, dir, rc);
        in.nlm++;
    }
    in.appendix_left_out = !quick && in.nlm < 1 + N_APPENDIX;

    /* 3. other experiments contribute their section, then the page */
    printf("[3/3] report\n");
    if ((rc = report_extra_sections(&in, dir, quick)) != 0) return report_unfinished(outp, dir, rc);
    in.seconds = seconds_since(&t0);
    if (report_write(dir, &in)) return report_unfinished(outp, dir, 1);
    if (report_publish(outp, dir)) return report_unfinished(outp, dir, 1);
    printf("wrote %s/index.html (%.0f s)\n", outp, in.seconds);
    return 0;
}
