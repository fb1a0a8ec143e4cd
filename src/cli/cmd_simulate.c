/* cmd_simulate.c — `qkspec simulate`: the eigenspectrum simulation of SPEC §1.3 over a
 * grid of eigenvalue (mean, scale) pairs, empirical ρ against both closed forms. */
#include "qk_fp.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cli.h"
#include "qk_localize.h"
#include "qk_sim_cli.h"

#ifndef QK_CLI_SIM_FLOATS
#define QK_CLI_SIM_FLOATS (16u << 20)
#endif
#ifndef QK_CLI_SIM_DOUBLES
#define QK_CLI_SIM_DOUBLES (2u << 20)
#endif
static float g_sim_f[QK_CLI_SIM_FLOATS];
static double g_sim_d[QK_CLI_SIM_DOUBLES];

#define MAX_GRID 16

/* "a,b,c" -> values; returns count or -1. Every element must be a number: an empty
 * one ("1,,2" or a trailing comma) is an error, not skipped. */
static int parse_list(const char *opt, const char *s, double *v, int cap)
{
    int n = 0;
    char buf[64];
    if (!s || !*s) { fprintf(stderr, "qkspec simulate: %s needs a comma-separated list of numbers\n", opt); return -1; }
    for (const char *p = s;; p++) {
        size_t len = strcspn(p, ",");
        if (len == 0) {
            fprintf(stderr, "qkspec simulate: %s: empty element %d in '%s'\n", opt, n + 1, s);
            return -1;
        }
        if (n >= cap) { fprintf(stderr, "qkspec simulate: %s: at most %d values\n", opt, cap); return -1; }
        if (len >= sizeof buf) {
            fprintf(stderr, "qkspec simulate: %s: element %d is not a number (%lu characters)\n", opt, n + 1,
                    (unsigned long)len);
            return -1;
        }
        memcpy(buf, p, len);
        buf[len] = 0;
        float f;
        if (cli_parse_float("simulate", opt, buf, -1e3, 1e3, &f)) return -1;
        v[n++] = f;
        p += len;
        if (!*p) return n;
    }
}

void qk_sim_defaults(qk_sim_opts *o, int quick)
{
    memset(o, 0, sizeof *o);
    o->cfg.d = 128;
    o->cfg.T = 40;
    o->cfg.walks = quick ? 100 : 300;
    o->cfg.draws = quick ? 3 : 10;
    static const double means[] = {0.0, 0.5, 1.0, 2.0}, scales[] = {0.1, 0.5, 1.0, 2.0};
    o->nmeans = o->nscales = 4;
    memcpy(o->means, means, sizeof means);
    memcpy(o->scales, scales, sizeof scales);
    o->sigma = 2; /* both */
    o->seed = 1;
}

static double max_abs_diff(const double *a, const double *b, int n)
{
    double m = 0.0;
    for (int i = 0; i < n; i++) {
        double e = a[i] > b[i] ? a[i] - b[i] : b[i] - a[i];
        if (e > m) m = e;
    }
    return m;
}

static int write_csv_header(FILE *f, FILE *g)
{
    fprintf(f, "sigma,mean,scale,trW_over_lambda,trW2,entropy,max_err_paper,max_err_corrected,max_err_finite\n");
    fprintf(g, "sigma,mean,scale,i,theta,rho_emp,rho_paper,rho_corrected,rho_finite,g_mean,g_mean_theory,g_var,v_paper,"
               "v_corrected\n");
    return 0;
}

/* DIR/sim_cells.csv and DIR/sim_rho.csv under temporary names; 0, or 1 (printed). */
static int sim_open_csvs(const char *dir, cli_out *oc, cli_out *orho)
{
    if (cli_mkdir("simulate", dir)) return 1;
    char *pc = cli_path_join(dir, "sim_cells.csv"), *pr = cli_path_join(dir, "sim_rho.csv");
    int rc = 1;
    if (!pc || !pr) fprintf(stderr, "qkspec simulate: out of memory\n");
    else if (cli_out_open(oc, "simulate", pc)) {
        if (cli_out_open(orho, "simulate", pr)) rc = 0;
        else cli_out_abort(oc);
    }
    free(pc);
    free(pr);
    return rc;
}

static void sim_abort_csvs(FILE *fc, cli_out *oc, cli_out *orho)
{
    if (!fc) return;
    cli_out_abort(oc);
    cli_out_abort(orho);
}

int qk_sim_run(const qk_sim_opts *o, const char *outdir, qk_sim_summary *sum, FILE *log)
{
    qk_sim_config c = o->cfg;
    if (qk_sim_float_len(&c) > QK_CLI_SIM_FLOATS || qk_sim_double_len(&c) > QK_CLI_SIM_DOUBLES || c.T > QK_SIM_MAX_T) {
        fprintf(stderr, "qkspec simulate: walks·seq·d too large for this build (at most %u floats)\n", QK_CLI_SIM_FLOATS);
        return 2;
    }
    /* both CSVs are written under temporary names and renamed into place at the end */
    static cli_out oc, orho;
    FILE *fc = NULL, *fr = NULL;
    if (outdir && sim_open_csvs(outdir, &oc, &orho)) return 1;
    if (outdir) {
        fc = oc.f;
        fr = orho.f;
        write_csv_header(fc, fr);
    }
    static double rho_emp[QK_SIM_MAX_T], rho_p[QK_SIM_MAX_T], rho_c[QK_SIM_MAX_T], rho_f[QK_SIM_MAX_T];
    static double gm[QK_SIM_MAX_T], gmt[QK_SIM_MAX_T], gv[QK_SIM_MAX_T];
    qk_sim_cell cell = {rho_emp, rho_p, rho_c, rho_f, gm, gmt, gv, 0, 0, 0};
    memset(sum, 0, sizeof *sum);
    if (log)
        fprintf(log, "%-6s %6s %6s %9s %8s %10s %10s %10s\n", "Sigma", "mean", "scale", "trW/lam", "entropy", "err_paper",
                "err_corr", "err_finite");
    for (int sg = 0; sg < 2; sg++) {
        if (o->sigma != 2 && o->sigma != sg) continue;
        c.aniso = sg;
        qk_rng rng;
        qk_rng_seed(&rng, o->seed + 1000u * (unsigned)sg);
        qk_status st = qk_sim_prepare(&c, &rng, g_sim_f, g_sim_d);
        if (st != QK_OK) { fprintf(stderr, "qkspec simulate: %s\n", qk_status_str(st)); sim_abort_csvs(fc, &oc, &orho); return 1; }
        for (int a = 0; a < o->nmeans; a++)
            for (int b = 0; b < o->nscales; b++) {
                st = qk_sim_run_cell(&c, o->means[a], o->scales[b], &rng, g_sim_f, g_sim_d, &cell);
                if (st != QK_OK) { fprintf(stderr, "qkspec simulate: %s\n", qk_status_str(st)); sim_abort_csvs(fc, &oc, &orho); return 1; }
                double ep = max_abs_diff(rho_emp, rho_p, c.T), ec = max_abs_diff(rho_emp, rho_c, c.T);
                double ef = max_abs_diff(rho_emp, rho_f, c.T);
                if (ep > sum->max_err_paper) sum->max_err_paper = ep;
                if (ec > sum->max_err_corrected) sum->max_err_corrected = ec;
                if (ef > sum->max_err_finite) sum->max_err_finite = ef;
                /* variance fit: mean |g_var/v̄ - 1| over θ */
                for (int i = 0; i < c.T; i++) {
                    double th = (double)(i + 1) / c.T;
                    double rp = gv[i] / qk_rho_var_factor(th, QK_VAR_PAPER) - 1, rc = gv[i] / qk_rho_var_factor(th, QK_VAR_CORRECTED) - 1;
                    sum->var_dev_paper += (rp < 0 ? -rp : rp) / c.T;
                    sum->var_dev_corrected += (rc < 0 ? -rc : rc) / c.T;
                }
                if (sum->ncells < QK_SIM_MAX_CELLS) {
                    qk_sim_cell_summary *cs = &sum->cells[sum->ncells++];
                    cs->aniso = sg;
                    cs->mean = o->means[a];
                    cs->scale = o->scales[b];
                    cs->entropy = cell.entropy;
                    cs->trW_over_lambda = cell.trW_over_lambda;
                    cs->err_paper = ep;
                    cs->err_corrected = ec;
                    cs->err_finite = ef;
                    cs->T = c.T;
                    for (int i = 0; i < c.T; i++) {
                        cs->rho_emp[i] = rho_emp[i];
                        cs->rho_paper[i] = rho_p[i];
                        cs->rho_corr[i] = rho_c[i];
                        cs->rho_fin[i] = rho_f[i];
                    }
                }
                if (log)
                    fprintf(log, "%-6s %6.3g %6.3g %9.3g %8.4f %10.4f %10.4f %10.4f\n", sg ? "aniso" : "I", o->means[a],
                            o->scales[b], cell.trW_over_lambda, cell.entropy, ep, ec, ef);
                if (fc)
                    fprintf(fc, "%s,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g\n", sg ? "aniso" : "identity", o->means[a],
                            o->scales[b], cell.trW_over_lambda, cell.trW2, cell.entropy, ep, ec, ef);
                if (fr)
                    for (int i = 0; i < c.T; i++) {
                        double th = (double)(i + 1) / c.T;
                        fprintf(fr, "%s,%.9g,%.9g,%d,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g\n",
                                sg ? "aniso" : "identity", o->means[a], o->scales[b], i + 1, th, rho_emp[i], rho_p[i],
                                rho_c[i], rho_f[i], gm[i], gmt[i], gv[i],
                                qk_rho_var_factor(th, QK_VAR_PAPER), qk_rho_var_factor(th, QK_VAR_CORRECTED));
                    }
            }
    }
    int n = sum->ncells ? sum->ncells : 1;
    sum->var_dev_paper /= n;
    sum->var_dev_corrected /= n;
    if (fc && cli_out_commit(&oc) != 0) {
        cli_out_abort(&orho);
        return 1;
    }
    if (fr && cli_out_commit(&orho) != 0) return 1;
    return 0;
}

void qk_sim_print_verdict(const qk_sim_summary *s, FILE *f)
{
    fprintf(f, "closed form vs simulation, max |rho_emp - rho_closed| over all cells and positions:\n");
    fprintf(f, "  paper variance     (2θ² + 7/12):       %.4f   (mean |var_emp/v - 1| = %.3f)\n", s->max_err_paper,
            s->var_dev_paper);
    fprintf(f, "  corrected variance (2(θ-½)² + 1/12):   %.4f   (mean |var_emp/v - 1| = %.3f)\n", s->max_err_corrected,
            s->var_dev_corrected);
    fprintf(f, "  corrected, with the finite-T terms:    %.4f\n", s->max_err_finite);
    fprintf(f, "  the simulation supports the %s variance formula\n",
            s->max_err_corrected <= s->max_err_paper && s->var_dev_corrected <= s->var_dev_paper ? "corrected" : "paper's printed");
}

int qk_cmd_simulate(int argc, char **argv)
{
    qk_sim_opts o;
    int quick = 0;
    for (int i = 0; i < argc; i++) quick |= !strcmp(argv[i], "--quick");
    qk_sim_defaults(&o, quick);
    const char *out = NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long n;
        if (!strcmp(a, "--quick")) continue;
        if ((!strcmp(a, "--out") || !strcmp(a, "--sigma")) && !v) {
            fprintf(stderr, "qkspec simulate: %s needs a value\n", a);
            return 2;
        }
        if (!strcmp(a, "--out")) { out = v; i++; }
        else if (!strcmp(a, "--d")) { if (cli_parse_long("simulate", a, v, 2, 1024, &n)) return 2; o.cfg.d = (int)n; i++; }
        else if (!strcmp(a, "--seq")) { if (cli_parse_long("simulate", a, v, 2, QK_SIM_MAX_T, &n)) return 2; o.cfg.T = (int)n; i++; }
        else if (!strcmp(a, "--walks")) { if (cli_parse_long("simulate", a, v, 1, 100000, &n)) return 2; o.cfg.walks = (int)n; i++; }
        else if (!strcmp(a, "--draws")) { if (cli_parse_long("simulate", a, v, 1, 10000, &n)) return 2; o.cfg.draws = (int)n; i++; }
        else if (!strcmp(a, "--seed")) { if (cli_parse_long("simulate", a, v, 0, 2147483647L, &n)) return 2; o.seed = (unsigned long long)n; i++; }
        else if (!strcmp(a, "--means")) { if ((o.nmeans = parse_list(a, v, o.means, MAX_GRID)) < 0) return 2; i++; }
        else if (!strcmp(a, "--scales")) { if ((o.nscales = parse_list(a, v, o.scales, MAX_GRID)) < 0) return 2; i++; }
        else if (!strcmp(a, "--sigma")) {
            if (!strcmp(v, "identity")) o.sigma = 0;
            else if (!strcmp(v, "aniso")) o.sigma = 1;
            else if (!strcmp(v, "both")) o.sigma = 2;
            else { fprintf(stderr, "qkspec simulate: --sigma: expected identity, aniso or both\n"); return 2; }
            i++;
        } else {
            fprintf(stderr, "qkspec simulate: unknown option '%s'\n"
                            "usage: qkspec simulate [--quick] [--d D] [--seq T] [--walks N] [--draws N] [--means a,b,..]\n"
                            "       [--scales a,b,..] [--sigma identity|aniso|both] [--seed N] [--out DIR]\n", a);
            return 2;
        }
    }
    for (int k = 0; k < o.nscales; k++)
        if (o.scales[k] < 0) { fprintf(stderr, "qkspec simulate: --scales: a scale must be >= 0\n"); return 2; }
    static qk_sim_summary s;
    printf("simulate: d=%d, %d walks of %d tokens, %d draws per (mean, scale), lambda=sqrt(d)\n", o.cfg.d, o.cfg.walks,
           o.cfg.T, o.cfg.draws);
    int rc = qk_sim_run(&o, out, &s, stdout);
    if (rc) return rc;
    qk_sim_print_verdict(&s, stdout);
    if (out) printf("wrote %s/sim_cells.csv and %s/sim_rho.csv\n", out, out);
    return 0;
}
