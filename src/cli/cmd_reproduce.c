/* cmd_reproduce.c — `qkspec reproduce [--quick] [--out DIR]`: the simulation of
 * SPEC §1.3, the LocAteR / σReparam sweep of §1.1 on a text corpus, and a
 * self-contained HTML report with SVG figures and CSV files. */
/* 64-bit file offsets and inode numbers on 32-bit hosts too (readdir fails on them
 * otherwise), whatever flags the build passes. */
#ifndef _FILE_OFFSET_BITS
#define _FILE_OFFSET_BITS 64
#endif
#include "qk_fp.h"
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
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
    qk_svg_plot_defaults(&p);
    p.inline_html = 1;
    p.title = title;
    p.xlabel = "θ = i/T";
    p.ylabel = "ρ(θ)";
    p.width = 460;
    p.height = 320;
    p.ymin = 0;
    p.ymax = 1.05;
    qk_svg_lines(f, &p, ser, 4);
}

/* one series per run of a per-evaluation quantity */
static void fig_runs(FILE *f, const sweep_run *runs, int n, const char *title, const char *ylabel, int which, int logy)
{
    static double x[SWEEP_MAX_RUNS][QK_TRAIN_MAX_EVALS], y[SWEEP_MAX_RUNS][QK_TRAIN_MAX_EVALS];
    qk_svg_series ser[SWEEP_MAX_RUNS];
    for (int k = 0; k < n; k++) {
        const train_result *r = &runs[k].result;
        for (int e = 0; e < r->n; e++) {
            x[k][e] = (double)r->step[e];
            y[k][e] = which == 0 ? r->eig_scale[e] : which == 1 ? r->entropy[e] : which == 2 ? exp(r->val_loss[e])
                                                                                          : r->spec2[e];
        }
        qk_svg_series s = {runs[k].name, r->n, x[k], y[k], NULL, NULL, NULL, k == n - 1, 0};
        ser[k] = s;
    }
    qk_svg_plot p;
    qk_svg_plot_defaults(&p);
    p.inline_html = 1;
    p.title = title;
    p.xlabel = "training step";
    p.ylabel = ylabel;
    p.logy = logy;
    p.width = 560;
    p.height = 380;
    qk_svg_lines(f, &p, ser, n);
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
    qk_svg_plot_defaults(&p);
    p.inline_html = 1;
    p.title = title;
    p.xlabel = "key position i (last query)";
    p.ylabel = "evaluation (top: step 0)";
    p.width = 460;
    p.height = 340;
    qk_svg_heatmap(f, &p, v, r->n, r->T, 0.0, 1.0, "ρ");
}

static void fig_eig_hist(FILE *f, const double *w, int d, const char *title, int color)
{
    qk_svg_plot p;
    qk_svg_plot_defaults(&p);
    p.inline_html = 1;
    p.title = title;
    p.xlabel = "eigenvalue of (W_QK + W_QKᵀ)/2";
    p.ylabel = "count";
    p.width = 380;
    p.height = 280;
    qk_svg_histogram(f, &p, w, d, 24, 1.0, 0.0, 0, qk_svg_color(color));
}

/* ------------------------------------------------------------------ claims */

static const sweep_run *find_run(const sweep_run *runs, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(runs[i].name, name)) return &runs[i];
    return NULL;
}

static double last(const double *v, const train_result *r) { return v[r->n - 1]; }

/* mean over the evaluations after the first: "during training" */
static double during(const double *v, const train_result *r)
{
    double s = 0;
    for (int e = 1; e < r->n; e++) s += v[e];
    return r->n > 1 ? s / (r->n - 1) : v[0];
}

static void claims(FILE *f, const sweep_run *runs, int n, const qk_sim_summary *sim)
{
    const sweep_run *base = find_run(runs, n, "baseline");
    int nk = 0;
    const sweep_run *k[5];
    static const char *names[5] = {"locater_k2_0", "locater_k2_1e-3", "locater_k2_1e-2", "locater_k2_1e-1",
                                   "locater_k2_1"};
    for (int i = 0; i < 5; i++)
        if ((k[nk] = find_run(runs, n, names[i]))) nk++;
    if (!base || nk < 2) return;
    int mono_scale = 1, mono_ppl = 1;
    for (int i = 1; i < nk; i++) {
        if (last(k[i]->result.eig_scale, &k[i]->result) > last(k[i - 1]->result.eig_scale, &k[i - 1]->result)) mono_scale = 0;
        if (last(k[i]->result.val_loss, &k[i]->result) > last(k[i - 1]->result.val_loss, &k[i - 1]->result)) mono_ppl = 0;
    }
    const train_result *b = &base->result, *strong = &k[nk - 1]->result;
    double ent_b = during(b->entropy, b), ent_l = during(strong->entropy, strong);
    double ppl_b = exp(last(b->val_loss, b)), best_l = 1e300;
    for (int i = 0; i < nk; i++) best_l = fmin(best_l, exp(last(k[i]->result.val_loss, &k[i]->result)));
    fprintf(f, "<table><tr><th>the paper's claim (SPEC §1.1)</th><th>measured here</th><th>agrees?</th></tr>\n");
    fprintf(f, "<tr><td>increasing κ2 (κ1 = 100) makes the eigen scale smaller</td><td>final scale %s in κ2 (",
            mono_scale ? "decreases monotonically" : "does not decrease monotonically");
    for (int i = 0; i < nk; i++)
        fprintf(f, "%s%.4g", i ? ", " : "", last(k[i]->result.eig_scale, &k[i]->result));
    fprintf(f, ")</td><td>%s</td></tr>\n", mono_scale ? "yes" : "no");
    fprintf(f, "<tr><td>LocAteR keeps the attention entropy higher during training</td><td>mean entropy %.4f (κ2 = %g) "
               "vs %.4f (no regulariser)</td><td>%s</td></tr>\n",
            ent_l, (double)k[nk - 1]->opts.cfg.kappa2, ent_b, ent_l > ent_b ? "yes" : "no");
    fprintf(f, "<tr><td>increasing κ2 lowers the validation perplexity</td><td>final perplexity %s in κ2</td>"
               "<td>%s</td></tr>\n", mono_ppl ? "decreases monotonically" : "does not decrease monotonically",
            mono_ppl ? "yes" : "no");
    fprintf(f, "<tr><td>LocAteR improves on the unregularised model</td><td>best LocAteR perplexity %.4f vs %.4f</td>"
               "<td>%s</td></tr>\n", best_l, ppl_b, best_l < ppl_b ? "yes" : "no");
    if (sim)
        fprintf(f, "<tr><td>printed variance (2θ² + 7/12) vs corrected (2(θ−½)² + 1/12), SPEC §1.1</td><td>max "
                   "|ρ<sub>sim</sub> − ρ<sub>closed</sub>|: paper %.3f, corrected %.3f, corrected with finite-T terms "
                   "%.3f; mean |var<sub>sim</sub>/v − 1|: paper %.3f, corrected %.3f</td><td>the corrected form</td></tr>\n",
                sim->max_err_paper, sim->max_err_corrected, sim->max_err_finite, sim->var_dev_paper,
                sim->var_dev_corrected);
    fprintf(f, "</table>\n");
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
        fprintf(f, "<tr><td>%s</td><td>%g</td><td>%g</td><td>%s</td><td>%.4f</td><td>%.3f</td><td>%.4g</td><td>%.4g</td>"
                   "<td>%.4g</td><td>%.4g</td><td>%.4f</td><td>%.2f</td></tr>\n",
                runs[i].name, (double)runs[i].opts.cfg.kappa1, (double)runs[i].opts.cfg.kappa2,
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

int report_write(const char *dir, const report_inputs *in)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/index.html", dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "qkspec reproduce: cannot write %s: %s\n", path, strerror(errno));
        return 1;
    }
    fprintf(f, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>qkspec report</title>\n<style>\n"
               "body{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}"
               "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;"
               "text-align:right}th{background:#f3f3f3}td:first-child{text-align:left}.figs{display:flex;"
               "flex-wrap:wrap;gap:8px}code{background:#f5f5f5;padding:1px 3px}\n</style></head><body>\n");
    fprintf(f, "<h1>qkspec: attention localization and rank collapse</h1>\n<p>qkspec %s, %s. Command: <code>%s</code>. "
               "Total time %.0f s. Every number on this page is also in the CSV files beside it.</p>\n",
            QK_VERSION, in->quick ? "quick mode (short budget, learning rate 10× the paper's)" : "full mode",
            in->command, in->seconds);
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
    if (in->runs && in->nruns) {
        const sweep_run *runs = in->runs;
        int n = in->nruns;
        const train_opts *o = &runs[0].opts;
        fprintf(f, "<h2>2. LocAteR and σReparam on a 1-layer language model (SPEC §1.1, §1.2)</h2>\n"
                   "<p>Corpus: %s. Model: d = %d, %d head(s), d_ff = %d, T = %d, batch %d, LayerNorm %s, byte-level "
                   "vocabulary %d; AdamW lr %g, %ld steps, evaluation every %d steps on %d held-out batches; seed %llu "
                   "for every run. CSV: <code>RUN_evals.csv</code>, <code>RUN_rho.csv</code>.</p>\n",
                runs[0].result.corpus, o->cfg.d, o->cfg.H, o->cfg.dff, o->cfg.T, o->cfg.B,
                o->cfg.ln == QK_LN_PRE ? "pre" : o->cfg.ln == QK_LN_POST ? "post" : "none", 256, (double)o->cfg.lr,
                o->steps, o->eval_every, o->eval_batches, o->seed);
        if (in->corpus_note) fprintf(f, "<p><b>Note:</b> %s</p>\n", in->corpus_note);
        fprintf(f, "<h3>Final numbers</h3>\n");
        final_table(f, runs, n);
        fprintf(f, "<h3>Against the paper's qualitative claims</h3>\n");
        claims(f, runs, n, in->sim);
        fprintf(f, "<div class=\"figs\">\n");
        fig_runs(f, runs, n, "eigen scale tr(S²) of W_QK", "tr(S²)", 0, 1);
        fig_runs(f, runs, n, "attention entropy", "entropy (nats)", 1, 0);
        fig_runs(f, runs, n, "validation perplexity", "perplexity", 2, 0);
        fig_runs(f, runs, n, "spectral norm of W_QK", "‖W_QK‖₂", 3, 1);
        fprintf(f, "</div>\n<h3>ρ over training (the paper's heat map)</h3>\n<div class=\"figs\">\n");
        const sweep_run *b = find_run(runs, n, "baseline"), *l = find_run(runs, n, "locater_k2_1");
        if (b) fig_rho_heatmap(f, b);
        if (l) fig_rho_heatmap(f, l);
        fprintf(f, "</div>\n<h3>Eigenvalues of the symmetric part of W_QK (layer 0, head 0)</h3>\n<div class=\"figs\">\n");
        if (b) fig_eig_hist(f, b->result.eig_init, b->result.d, "at initialisation", 0);
        for (int i = 0; i < n; i++) {
            if (strcmp(runs[i].name, "baseline") && strcmp(runs[i].name, "locater_k2_1") &&
                strcmp(runs[i].name, "sigma_reparam"))
                continue;
            char t[80];
            snprintf(t, sizeof t, "after training: %s", runs[i].name);
            fig_eig_hist(f, runs[i].result.eig_final, runs[i].result.d, t, i + 1);
        }
        fprintf(f, "</div>\n");
    }
    if (in->extra_html) in->extra_html(f, in->extra_ctx);
    fprintf(f, "</body></html>\n");
    return fclose(f) ? 1 : 0;
}

/* ------------------------------------------------------------------ the command */

int qk_cmd_reproduce(int argc, char **argv)
{
    int quick = 0;
    long jobs = 2, steps = 0;
    const char *out = "qkspec-report", *text = NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--quick")) quick = 1;
        else if (!strcmp(a, "--out") && v) { out = v; i++; }
        else if (!strcmp(a, "--text") && v) { text = v; i++; }
        else if (!strcmp(a, "--jobs")) { if (cli_parse_long("reproduce", a, v, 1, 64, &jobs)) return 2; i++; }
        else if (!strcmp(a, "--steps")) { if (cli_parse_long("reproduce", a, v, 1, 10000000, &steps)) return 2; i++; }
        else {
            fprintf(stderr, "qkspec reproduce: unknown option '%s'\n"
                            "usage: qkspec reproduce [--quick] [--out DIR] [--text FILE] [--jobs N] [--steps N]\n", a);
            return 2;
        }
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (mkdir(out, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "qkspec reproduce: cannot create %s: %s\n", out, strerror(errno));
        return 1;
    }
    static report_inputs in;
    memset(&in, 0, sizeof in);
    in.quick = quick;
    snprintf(in.command, sizeof in.command, "qkspec reproduce%s --out %s", quick ? " --quick" : "", out);

    /* 1. simulation */
    static qk_sim_opts so;
    static qk_sim_summary sim;
    qk_sim_defaults(&so, quick);
    printf("[1/3] eigenspectrum simulation: d=%d, %d walks of %d tokens, %d draws per cell\n", so.cfg.d, so.cfg.walks,
           so.cfg.T, so.cfg.draws);
    if (qk_sim_run(&so, out, &sim, NULL)) return 1;
    qk_sim_print_verdict(&sim, stdout);
    in.sim = &sim;
    in.sim_cfg = so.cfg;

    /* 2. the sweep on a corpus */
    static train_opts base;
    train_defaults(&base);
    const char *cached = train_cached_corpus();
    if (text) base.text = text;
    else if (file_exists(cached)) base.text = cached;
    else {
        base.text = NULL;
        snprintf(in.corpus_note_buf, sizeof in.corpus_note_buf,
                 "no English corpus was found at %s, so the language model trained on the built-in synthetic corpus. "
                 "Run <code>sh tools/get_corpus.sh</code> (it fetches Ambrose Bierce's <i>The Devil's Dictionary</i>, "
                 "public domain, from the Debian package dict-devil) and run this command again.",
                 cached);
        in.corpus_note = in.corpus_note_buf;
        printf("note: no corpus at %s; using the built-in synthetic corpus (get a real one: sh tools/get_corpus.sh)\n",
               cached);
    }
    base.steps = steps ? steps : quick ? 800 : 5000;
    base.eval_every = (int)(base.steps / 20 > 0 ? base.steps / 20 : 1);
    base.eval_batches = 2;
    if (quick) base.cfg.lr = 1e-3f; /* 10x the paper's, so that a short budget shows the effects */
    base.out = out;
    static sweep_run runs[SWEEP_MAX_RUNS];
    int n;
    sweep_plan(&base, 100.0f, runs, &n);
    printf("[2/3] LocAteR / sigmaReparam sweep: %d runs of %ld steps (d=%d, T=%d, batch %d, lr %g), %ld at a time\n", n,
           base.steps, base.cfg.d, base.cfg.T, base.cfg.B, (double)base.cfg.lr, jobs);
    if (sweep_execute(runs, n, (int)jobs, out, NULL)) return 1;
    sweep_table(runs, n, stdout);
    in.runs = runs;
    in.nruns = n;

    /* 3. other experiments contribute their section, then the page */
    printf("[3/3] report\n");
    if (report_extra_sections(&in, out, quick)) return 1;
    in.seconds = seconds_since(&t0);
    if (report_write(out, &in)) return 1;
    printf("wrote %s/index.html (%.0f s)\n", out, in.seconds);
    return 0;
}
