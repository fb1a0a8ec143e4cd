/* cmd_sweep.c — `qkspec sweep`: the paper's LocAteR sweep (κ1 = 100, κ2 in {0, 1e-3,
 * 1e-2, 1e-1, 1}), a run without any regulariser and a σReparam run, all from the same
 * seed, data order and budget (SPEC §1.1). Runs are independent processes (--jobs),
 * so parallelism cannot change a bit of any run. Each run keeps a checkpoint and, when
 * finished, a result file in the output directory (.NAME.ckpt, .NAME.result): the same
 * command after an interruption skips the finished runs and continues the others. */
#include "qk_fp.h"
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "sweep.h"

static const float g_k2[SWEEP_NKAPPA2] = {0.0f, 1e-3f, 1e-2f, 1e-1f, 1.0f};
static const char *const g_k2_names[SWEEP_NKAPPA2] = {"0", "1e-3", "1e-2", "1e-1", "1"};

void sweep_plan_spec(const train_opts *base, const sweep_spec *spec, sweep_run *runs, int *n)
{
    int both = spec->norms == ((1 << QK_NORM_TOKEN) | (1 << QK_NORM_SUM)), k = 0;
    for (int si = 0; si < spec->nseeds; si++) {
        char sfx[32] = "";
        if (spec->nseeds > 1) snprintf(sfx, sizeof sfx, "_s%llu", spec->seeds[si]);
        int first = k;
        runs[k].opts = *base;
        runs[k].opts.cfg.kappa1 = runs[k].opts.cfg.kappa2 = 0.0f;
        runs[k].opts.cfg.sigma_reparam = QK_SR_OFF;
        snprintf(runs[k].name, sizeof runs[k].name, "baseline%s", sfx);
        k++;
        for (int norm = QK_NORM_TOKEN; norm <= QK_NORM_SUM; norm++) {
            if (!(spec->norms & (1 << norm))) continue;
            for (int i = 0; i < SWEEP_NKAPPA2; i++) {
                if (spec->k2mask && !(spec->k2mask & (1 << i))) continue;
                runs[k].opts = *base;
                runs[k].opts.cfg.kappa1 = spec->kappa1;
                runs[k].opts.cfg.kappa2 = g_k2[i];
                runs[k].opts.cfg.locater_norm = (qk_locater_norm)norm;
                runs[k].opts.cfg.sigma_reparam = QK_SR_OFF;
                snprintf(runs[k].name, sizeof runs[k].name, "locater_%sk2_%s%s",
                         both ? (norm == QK_NORM_SUM ? "sum_" : "token_") : "", g_k2_names[i], sfx);
                k++;
            }
        }
        runs[k].opts = *base;
        runs[k].opts.cfg.kappa1 = runs[k].opts.cfg.kappa2 = 0.0f;
        runs[k].opts.cfg.sigma_reparam = QK_SR_QK;
        snprintf(runs[k].name, sizeof runs[k].name, "sigma_reparam%s", sfx);
        k++;
        for (int i = first; i < k; i++) runs[i].opts.seed = spec->seeds[si];
    }
    for (int i = 0; i < k; i++) {
        runs[i].opts.label = runs[i].name;
        runs[i].opts.progress = 0;
    }
    *n = k;
}

void sweep_plan(const train_opts *base, float kappa1, sweep_run *runs, int *n)
{
    sweep_spec spec = {kappa1, 1 << base->cfg.locater_norm, 1, {base->seed}, 0};
    sweep_plan_spec(base, &spec, runs, n);
}

int sweep_spec_option(const char *cmd, int argc, char **argv, int *i, sweep_spec *spec)
{
    const char *a = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    if (!strcmp(a, "--norms")) {
        if (v && !strcmp(v, "token")) spec->norms = 1 << QK_NORM_TOKEN;
        else if (v && !strcmp(v, "sum")) spec->norms = 1 << QK_NORM_SUM;
        else if (v && (!strcmp(v, "token,sum") || !strcmp(v, "sum,token") || !strcmp(v, "both")))
            spec->norms = (1 << QK_NORM_TOKEN) | (1 << QK_NORM_SUM);
        else {
            fprintf(stderr, "qkspec %s: --norms: expected token, sum or token,sum\n", cmd);
            return -1;
        }
    } else if (!strcmp(a, "--kappa2-values")) {
        int mask = 0;
        const char *p = v;
        while (p && *p) {
            size_t len = strcspn(p, ",");
            int found = -1;
            for (int i = 0; i < SWEEP_NKAPPA2; i++)
                if (strlen(g_k2_names[i]) == len && !strncmp(p, g_k2_names[i], len)) found = i;
            if (found < 0) {
                fprintf(stderr, "qkspec %s: --kappa2-values: expected some of 0,1e-3,1e-2,1e-1,1 separated by commas\n",
                        cmd);
                return -1;
            }
            mask |= 1 << found;
            p += len + (p[len] == ',');
        }
        if (!mask) {
            fprintf(stderr, "qkspec %s: --kappa2-values needs a value\n", cmd);
            return -1;
        }
        spec->k2mask = mask;
    } else if (!strcmp(a, "--seeds")) {
        int ns = 0;
        const char *p = v;
        while (p && *p) {
            char buf[24];
            size_t len = strcspn(p, ",");
            long s;
            if (len == 0 || len >= sizeof buf || ns == SWEEP_MAX_SEEDS) {
                fprintf(stderr, "qkspec %s: --seeds: expected 1 to %d seeds separated by commas\n", cmd, SWEEP_MAX_SEEDS);
                return -1;
            }
            memcpy(buf, p, len);
            buf[len] = 0;
            if (cli_parse_long(cmd, a, buf, 0, 2147483647L, &s)) return -1;
            for (int j = 0; j < ns; j++)
                if (spec->seeds[j] == (unsigned long long)s) {
                    fprintf(stderr, "qkspec %s: --seeds: seed %ld given twice\n", cmd, s);
                    return -1;
                }
            spec->seeds[ns++] = (unsigned long long)s;
            p += len + (p[len] == ',');
        }
        if (!ns) {
            fprintf(stderr, "qkspec %s: --seeds needs a value\n", cmd);
            return -1;
        }
        spec->nseeds = ns;
    } else {
        return 0;
    }
    *i += 2;
    return 1;
}

/* configurations are runs with equal options but the seed; name without "_sN" */
static int same_config(const sweep_run *a, const sweep_run *b)
{
    const qk_model_config *x = &a->opts.cfg, *y = &b->opts.cfg;
    return x->kappa1 == y->kappa1 && x->kappa2 == y->kappa2 && x->sigma_reparam == y->sigma_reparam &&
           (x->kappa1 == 0.0f || x->locater_norm == y->locater_norm);
}

void sweep_summary(const sweep_run *runs, int n, FILE *f)
{
    fprintf(f, "%-22s %5s  %-30s %-30s %-30s %-30s\n", "configuration", "seeds", "val ppl mean [min, max]",
            "eig scale", "eig var", "entropy (final)");
    static int done[SWEEP_MAX_RUNS];
    memset(done, 0, sizeof done);
    for (int i = 0; i < n; i++) {
        if (done[i]) continue;
        double v[4][3]; /* mean, min, max of ppl, scale, var, entropy */
        int cnt = 0;
        for (int j = i; j < n; j++) {
            if (done[j] || !same_config(&runs[i], &runs[j])) continue;
            done[j] = 1;
            const train_result *r = &runs[j].result;
            int e = r->n - 1;
            double x[4] = {runs[j].opts.cfg.kind == QK_MODEL_LM ? exp(r->val_loss[e]) : r->val_loss[e], r->eig_scale[e],
                           r->eig_var[e], r->entropy[e]};
            for (int q = 0; q < 4; q++) {
                if (!cnt) v[q][0] = 0, v[q][1] = v[q][2] = x[q];
                v[q][0] += x[q];
                v[q][1] = fmin(v[q][1], x[q]);
                v[q][2] = fmax(v[q][2], x[q]);
            }
            cnt++;
        }
        char name[40];
        snprintf(name, sizeof name, "%s", runs[i].name);
        char *s = strstr(name, "_s");
        while (s && strstr(s + 1, "_s")) s = strstr(s + 1, "_s");
        if (s && cnt > 0 && s[2] >= '0' && s[2] <= '9') *s = 0;
        fprintf(f, "%-22s %5d ", name, cnt);
        for (int q = 0; q < 4; q++) {
            char cell[48];
            snprintf(cell, sizeof cell, "%.4g [%.4g, %.4g]", v[q][0] / cnt, v[q][1], v[q][2]);
            fprintf(f, " %-30s", cell);
        }
        fputc('\n', f);
    }
}

/* ------------------------------------------------------------------ the paper's claims (SPEC §1.1) */

double sweep_rho_gini(const float *rho, int T)
{
    double total = 0, s = 0;
    for (int i = 0; i < T; i++) total += rho[i];
    if (!(total > 0) || T < 2) return NAN;
    for (int i = 0; i < T; i++)
        for (int j = 0; j < T; j++) s += fabs((double)rho[i] - (double)rho[j]);
    return s / (2.0 * T * total);
}


/* One run's number for a claim: final perplexity, eigen scale and variance; the mean
 * over the evaluations after step 0 ("during training") of the entropy, the ρ top-k
 * share and Gini (evaluations where ρ is 0 everywhere skipped), and the fraction of
 * those evaluations. */
double sweep_run_quantity(const sweep_run *run, int q)
{
    const train_result *r = &run->result;
    int e = r->n - 1;
    if (e < 0) return NAN;
    if (q == Q_PPL) return run->opts.cfg.kind == QK_MODEL_LM ? exp(r->val_loss[e]) : r->val_loss[e];
    if (q == Q_SCALE) return r->eig_scale[e];
    if (q == Q_VAR) return r->eig_var[e];
    double s = 0;
    int cnt = 0, zero = 0;
    for (int k = r->n > 1 ? 1 : 0; k < r->n; k++) {
        double x = q == Q_ENT ? r->entropy[k] : q == Q_GINI ? sweep_rho_gini(r->rho[k], r->T) : cli_rho_top_share_f(r->rho[k], r->T);
        if (x != x) { zero++; continue; }
        s += x;
        cnt++;
    }
    if (q == Q_ZERO) return (double)zero / (zero + cnt);
    return cnt ? s / cnt : NAN;
}

typedef struct { double mean, lo, hi; int n; } qstat;

/* kind: 0 baseline, 1 LocAteR (norm, κ2), 2 σReparam */
static int run_matches(const sweep_run *run, int kind, int norm, float k2)
{
    const qk_model_config *c = &run->opts.cfg;
    if (kind == 0) return c->kappa1 == 0.0f && c->kappa2 == 0.0f && c->sigma_reparam == QK_SR_OFF;
    if (kind == 2) return c->kappa1 == 0.0f && c->sigma_reparam != QK_SR_OFF;
    return c->kappa1 > 0.0f && c->sigma_reparam == QK_SR_OFF && (int)c->locater_norm == norm && c->kappa2 == k2;
}

static qstat collect(const sweep_run *runs, int n, int kind, int norm, float k2, int q)
{
    qstat s = {NAN, NAN, NAN, 0};
    double sum = 0;
    for (int i = 0; i < n; i++) {
        if (!run_matches(&runs[i], kind, norm, k2)) continue;
        double x = sweep_run_quantity(&runs[i], q);
        if (x != x) continue;
        if (!s.n) s.lo = s.hi = x;
        s.lo = fmin(s.lo, x);
        s.hi = fmax(s.hi, x);
        sum += x;
        s.n++;
    }
    if (s.n) s.mean = sum / s.n;
    return s;
}

/* a difference b - a is beyond the seed spread when it exceeds the larger of the two
 * ranges (max - min over seeds) */
static int beyond(const qstat *a, const qstat *b)
{
    double d = fabs(b->mean - a->mean), noise = fmax(a->hi - a->lo, b->hi - b->lo);
    return d > noise;
}

static void put_stat(FILE *f, const qstat *s)
{
    if (!s->n) fprintf(f, "-");
    else if (s->n == 1) fprintf(f, "%.4g", s->mean);
    else fprintf(f, "%.4g [%.4g, %.4g]", s->mean, s->lo, s->hi);
}

static const char *const g_claim_text[] = {
    "validation perplexity (final) falls with κ2",
    "eigen scale tr(S²) (final) falls with κ2",
    "eigen variance, eq. (8) (final) falls with κ2",
    "attention entropy (mean over training) rises with κ2",
};

/* A claim over the κ2 ladder, direction dir (-1 falls, +1 rises): agrees when κ2 = 1
 * against κ2 = 0 moves in the claimed direction beyond the spread and no step between
 * neighbouring κ2 moves against it beyond the spread; does not agree when the endpoints
 * or a step move against it beyond the spread; within noise otherwise. */
static const char *ladder_verdict(const qstat *s, int dir, int *down, int *against, int *steps)
{
    int idx[SWEEP_NKAPPA2], m = 0; /* the κ2 values that were run */
    for (int i = 0; i < SWEEP_NKAPPA2; i++)
        if (s[i].n) idx[m++] = i;
    *down = *against = 0;
    *steps = m > 1 ? m - 1 : 0;
    if (m < 2) return "not measured";
    for (int j = 0; j + 1 < m; j++) {
        const qstat *a = &s[idx[j]], *b = &s[idx[j + 1]];
        double d = dir * (b->mean - a->mean);
        if (d > 0) (*down)++;
        else if (beyond(a, b)) (*against)++;
    }
    const qstat *lo = &s[idx[0]], *hi = &s[idx[m - 1]];
    double D = dir * (hi->mean - lo->mean);
    int far = beyond(lo, hi);
    if ((D < 0 && far) || *against) return "does not agree";
    if (D > 0 && far) return "agrees";
    return "within noise";
}

void sweep_claims(const sweep_run *runs, int n, FILE *f, int html)
{
    int norms = 0, seeds = 0;
    float kappa1 = 0;
    for (int i = 0; i < n; i++)
        if (runs[i].opts.cfg.kappa1 > 0) norms |= 1 << runs[i].opts.cfg.locater_norm, kappa1 = runs[i].opts.cfg.kappa1;
    for (int i = 0; i < n; i++) seeds += run_matches(&runs[i], 0, 0, 0);
    if (!norms) return;
    int T = runs[0].result.T, k = T / 8 > 0 ? T / 8 : 1;
    if (html)
        fprintf(f, "<p>κ1 = %g; %d seed%s per configuration: mean [min, max] over seeds%s. A difference is beyond the "
                   "seed spread when it exceeds the larger range. ρ concentration: the share of Σρ on the %d largest "
                   "of the %d positions (uniform: %.3f), averaged over the evaluations after step 0.</p>\n"
                   "<table><tr><th>the paper's claim (SPEC §1.1)</th><th>LocAteR weighting</th><th>κ2 = 0, 1e-3, 1e-2, "
                   "1e-1, 1</th><th>verdict</th></tr>\n",
                (double)kappa1, seeds, seeds == 1 ? "" : "s", seeds == 1 ? " (one seed: no spread estimate)" : "", k, T,
                (double)k / T);
    else
        fprintf(f, "\nThe paper's claims (SPEC §1.1), kappa1 = %g, %d seed%s: mean [min, max] over seeds; rho "
                   "concentration = share of sum(rho) on the %d largest of %d positions (uniform %.3f)\n",
                (double)kappa1, seeds, seeds == 1 ? "" : "s", k, T, (double)k / T);
    static const float k2v[SWEEP_NKAPPA2] = {0.0f, 1e-3f, 1e-2f, 1e-1f, 1.0f};
    static const int qs[4] = {Q_PPL, Q_SCALE, Q_VAR, Q_ENT}, dirs[4] = {-1, -1, -1, +1};
    for (int norm = QK_NORM_TOKEN; norm <= QK_NORM_SUM; norm++) {
        if (!(norms & (1 << norm))) continue;
        const char *nn = norm == QK_NORM_SUM ? "sum (R/(B·T))" : "token (R)";
        for (int c = 0; c < 5; c++) {
            qstat s[SWEEP_NKAPPA2];
            const char *verdict;
            char detail[320] = "";
            if (c < 4) {
                for (int i = 0; i < SWEEP_NKAPPA2; i++) s[i] = collect(runs, n, 1, norm, k2v[i], qs[c]);
                int down, against, nsteps;
                verdict = ladder_verdict(s, dirs[c], &down, &against, &nsteps);
                int len = snprintf(detail, sizeof detail, "%d of %d steps %s, %d against it beyond the spread; "
                                   "κ2 = 1 minus κ2 = 0 per seed:", down, nsteps, dirs[c] < 0 ? "down" : "up", against);
                for (int i = 0; i < n && len > 0 && (size_t)len < sizeof detail; i++) { /* paired by seed */
                    if (!run_matches(&runs[i], 1, norm, k2v[0])) continue;
                    for (int j = 0; j < n; j++)
                        if (run_matches(&runs[j], 1, norm, k2v[SWEEP_NKAPPA2 - 1]) && runs[j].opts.seed == runs[i].opts.seed)
                            len += snprintf(detail + len, sizeof detail - (size_t)len, " %+.3g",
                                            sweep_run_quantity(&runs[j], qs[c]) - sweep_run_quantity(&runs[i], qs[c]));
                }
            } else {
                for (int i = 0; i < SWEEP_NKAPPA2; i++) s[i] = collect(runs, n, 1, norm, k2v[i], Q_TOPK);
                qstat b = collect(runs, n, 0, 0, 0, Q_TOPK), bz = collect(runs, n, 0, 0, 0, Q_ZERO);
                int loc = 0, more = 0, less = 0, present = 0;
                for (int i = 0; i < SWEEP_NKAPPA2; i++) {
                    present += s[i].n > 0;
                    loc += s[i].n && s[i].mean >= 0.5;
                    if (s[i].n && b.n && s[i].mean > b.mean && beyond(&b, &s[i])) more++;
                    if (s[i].n && b.n && s[i].mean < b.mean && beyond(&b, &s[i])) less++;
                }
                int uniform = b.n && b.mean <= 2.0 * k / T;
                verdict = !present ? "not measured"
                          : uniform && loc == present && more == present ? "agrees"
                          : (!uniform && b.n && b.mean >= 0.5) || less > 0 || (!loc && !more) ? "does not agree"
                                                                                              : "partly";
                char bs[64];
                if (b.n > 1) snprintf(bs, sizeof bs, "%.3g [%.3g, %.3g]", b.mean, b.lo, b.hi);
                else snprintf(bs, sizeof bs, "%.3g", b.mean);
                snprintf(detail, sizeof detail, "no regulariser %s (%s); localized (≥ 0.5) at %d of %d κ2, above "
                         "it beyond the spread at %d%s", bs, uniform ? "near uniform, ≤ 2× uniform" : "not near uniform", loc,
                         present, more, bz.n && bz.mean > 0 ? ", rho = 0 in some evaluations" : "");
            }
            const char *claim = c < 4 ? g_claim_text[c]
                                      : "ρ over training localizes on a few positions with LocAteR (share ≥ 0.5) and "
                                        "stays near uniform without (share ≤ 2× uniform)";
            if (html) {
                fprintf(f, "<tr><td>%s</td><td>%s</td><td>", claim, nn);
                for (int i = 0; i < SWEEP_NKAPPA2; i++) {
                    if (i) fprintf(f, "; ");
                    put_stat(f, &s[i]);
                }
                fprintf(f, "</td><td>%s%s (%s)</td></tr>\n", verdict, seeds == 1 ? ", one seed" : "", detail);
            } else {
                fprintf(f, "  [%s] %s:\n    ", nn, claim);
                for (int i = 0; i < SWEEP_NKAPPA2; i++) {
                    if (i) fprintf(f, "; ");
                    put_stat(f, &s[i]);
                }
                fprintf(f, "\n    -> %s%s (%s)\n", verdict, seeds == 1 ? ", one seed" : "", detail);
            }
        }
    }
    /* the references the claims are read against */
    qstat ref[2][6];
    for (int kind = 0; kind < 2; kind++)
        for (int q = 0; q < 6; q++) ref[kind][q] = collect(runs, n, kind ? 2 : 0, 0, 0, q);
    static const char *qn[6] = {"val ppl", "eig scale", "eig var", "entropy", "rho top-k share", "rho Gini"};
    for (int kind = 0; kind < 2; kind++) {
        if (!ref[kind][0].n) continue;
        if (html) fprintf(f, "<tr><td>reference: %s</td><td>-</td><td>", kind ? "σReparam (W_Q, W_K)" : "no regulariser");
        else fprintf(f, "  reference, %s:", kind ? "sigmaReparam (W_Q, W_K)" : "no regulariser");
        for (int q = 0; q < 6; q++) {
            fprintf(f, "%s%s ", q ? "; " : " ", qn[q]);
            put_stat(f, &ref[kind][q]);
        }
        if (html) fprintf(f, "</td><td>-</td></tr>\n");
        else fputc('\n', f);
    }
    if (html) fprintf(f, "</table>\n");
}

/* A run's files in dir: its completion marker (the result, written by train_run at
 * the end) and its checkpoint. Hidden, so that they are not mistaken for outputs. */
static char *run_file(const char *dir, const char *name, const char *suffix)
{
    char *base = cli_strcat3(".", name, suffix), *p = base ? cli_path_join(dir, base) : NULL;
    free(base);
    return p;
}

/* Child: the run, resumed from its checkpoint if a previous sweep was interrupted,
 * or skipped if its result and CSVs are there already. Its exit status tells the
 * parent; the result is in the marker file. */
static int run_child(sweep_run *run, const char *dir, long parent)
{
    static train_result r;
    char *ckpt = run_file(dir, run->name, ".ckpt"), *res = run_file(dir, run->name, ".result");
    if (!ckpt || !res) return 1;
    train_opts o = run->opts;
    o.out = dir;
    o.checkpoint = ckpt;
    o.resume = ckpt;
    o.resume_optional = 1;
    o.result_file = res;
    o.parent_pid = parent;
    return train_run(&o, &r);
}

/* SIGINT/SIGTERM: the parent passes the signal on to every running run (which
 * writes its checkpoint and exits), waits for them, and exits non-zero. */
static volatile sig_atomic_t g_sweep_signal;

static void sweep_on_signal(int s) { g_sweep_signal = s; }

static void sweep_signals(struct sigaction *old_int, struct sigaction *old_term)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = sweep_on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    g_sweep_signal = 0;
    sigaction(SIGINT, &sa, old_int);
    sigaction(SIGTERM, &sa, old_term);
}

static void forward_signal(const pid_t *pid, const int *live, int n, int sig)
{
    for (int i = 0; i < n; i++)
        if (live[i]) kill(pid[i], sig);
}

/* A finished child: its verdict in the log. */
static void reap(sweep_run *runs, const pid_t *pid, int *live, int n, pid_t done, int status, int *failed, FILE *log)
{
    for (int i = 0; i < n; i++) {
        if (!live[i] || pid[i] != done) continue;
        live[i] = 0;
        int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (!ok && !g_sweep_signal) fprintf(stderr, "qkspec sweep: run %s failed\n", runs[i].name);
        if (!ok) (*failed)++;
        if (log) fprintf(log, "  finished %-17s%s\n", runs[i].name, ok ? "" : g_sweep_signal ? " (interrupted)" : " (FAILED)");
    }
}

static void log_start(FILE *log, const sweep_run *run)
{
    if (log)
        fprintf(log, "  started %-18s (kappa1 %g, kappa2 %g, sigmaReparam %s)\n", run->name, (double)run->opts.cfg.kappa1,
                (double)run->opts.cfg.kappa2, run->opts.cfg.sigma_reparam ? "on" : "off");
}

/* Forks the runs, jobs at a time; polls for finished ones (a blocking wait could
 * miss a signal that arrives just before it). Returns 0, 1 (a run failed) or
 * 128 + the signal. */
static int run_children(sweep_run *runs, int n, int jobs, const char *dir, FILE *log)
{
    pid_t pid[SWEEP_MAX_RUNS];
    int live[SWEEP_MAX_RUNS] = {0}, next = 0, running = 0, failed = 0, polls = 0;
    long me = (long)getpid();
    while (running > 0 || (next < n && !g_sweep_signal)) {
        while (!g_sweep_signal && running < jobs && next < n) {
            fflush(NULL); /* or the child would write the parent's buffered lines again */
            pid[next] = fork();
            if (pid[next] < 0) {
                fprintf(stderr, "qkspec sweep: fork: %s\n", strerror(errno));
                g_sweep_signal = SIGTERM; /* stop the others, as if interrupted */
                failed++;
                break;
            }
            if (pid[next] == 0) {
                int rc = run_child(&runs[next], dir, me);
                fflush(NULL);
                _exit(rc);
            }
            log_start(log, &runs[next]);
            live[next++] = 1;
            running++;
        }
        /* pass a signal on at once, and again every second while runs remain */
        if (g_sweep_signal && polls++ % 50 == 0) forward_signal(pid, live, next, g_sweep_signal);
        int status;
        pid_t done = waitpid(-1, &status, WNOHANG);
        if (done > 0) {
            reap(runs, pid, live, next, done, status, &failed, log);
            running--;
        } else if (done == 0) {
            struct timespec ts = {0, 20000000};
            nanosleep(&ts, NULL);
        } else if (errno != EINTR) {
            break;
        }
    }
    if (g_sweep_signal) return 128 + g_sweep_signal;
    return failed ? 1 : 0;
}

int sweep_execute(sweep_run *runs, int n, int jobs, const char *dir, FILE *log)
{
    if (cli_mkdir("sweep", dir)) return 1;
    struct sigaction old_int, old_term;
    sweep_signals(&old_int, &old_term);
    int rc = run_children(runs, n, jobs, dir, log);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (rc > 128) {
        int done = 0;
        for (int i = 0; i < n; i++) {
            char *res = run_file(dir, runs[i].name, ".result");
            done += res && train_read_result(res, &runs[i].result) == 0;
            free(res);
        }
        fprintf(stderr, "qkspec sweep: interrupted by %s: %d of %d runs finished, the others keep their checkpoints "
                        "in %s; the same command continues them\n", rc == 128 + SIGINT ? "SIGINT" : "SIGTERM", done, n, dir);
        return rc;
    }
    for (int i = 0; i < n && !rc; i++) {
        char *res = run_file(dir, runs[i].name, ".result");
        if (!res || train_read_result(res, &runs[i].result) != 0) {
            fprintf(stderr, "qkspec sweep: missing result of %s\n", runs[i].name);
            rc = 1;
        }
        free(res);
    }
    return rc;
}

void sweep_table(const sweep_run *runs, int n, FILE *f)
{
    fprintf(f, "%-25s %8s %8s %10s %10s %10s %9s %9s\n", "run", "kappa2", "val ppl", "eig mean", "eig scale", "||W_QK||2",
            "entropy", "ms/step");
    for (int i = 0; i < n; i++) {
        const train_result *r = &runs[i].result;
        int e = r->n - 1;
        char k2[16];
        if (runs[i].opts.cfg.kappa1 > 0) snprintf(k2, sizeof k2, "%g", (double)runs[i].opts.cfg.kappa2);
        else snprintf(k2, sizeof k2, "-");
        fprintf(f, "%-25s %8s %8.3f %10.4g %10.4g %10.4g %9.4f %9.2f\n", runs[i].name, k2,
                runs[i].opts.cfg.kind == QK_MODEL_LM ? exp(r->val_loss[e]) : r->val_loss[e], r->eig_mean[e],
                r->eig_scale[e], r->spec2[e], r->entropy[e], r->ms_per_step);
    }
}

/* Options the sweep plan sets for every run itself: accepting them would be a silent
 * no-op. 1 (message printed) if a is one. */
static int plan_option(const char *a)
{
    static const char *const own[][2] = {
        {"--kappa1", "the plan sets κ1 per run (0, or --locater-kappa1 X for the LocAteR runs)"},
        {"--kappa2", "the plan sweeps κ2 over 0, 1e-3, 1e-2, 1e-1 and 1 (--kappa2-values X,Y for some of them)"},
        {"--sigma-reparam", "the plan has one σReparam run (W_Q, W_K) and the others without"},
        {"--label", "the plan names each run (baseline, locater_k2_..., sigma_reparam)"},
    };
    for (size_t k = 0; k < sizeof own / sizeof own[0]; k++)
        if (!strcmp(a, own[k][0])) {
            fprintf(stderr, "qkspec sweep: %s cannot be given: %s; use `qkspec train` for a single run\n", a, own[k][1]);
            return 1;
        }
    return 0;
}

int sweep_parse(int argc, char **argv, train_opts *base, sweep_spec *spec, long *jobs)
{
    float kappa1 = 100.0f;
    train_defaults(base);
    *jobs = 2;
    memset(spec, 0, sizeof *spec);
    for (int i = 0; i < argc;) {
        int sk = sweep_spec_option("sweep", argc, argv, &i, spec);
        if (sk < 0) return 2;
        if (sk > 0) continue;
        if (!strcmp(argv[i], "--jobs")) {
            if (cli_parse_long("sweep", "--jobs", i + 1 < argc ? argv[i + 1] : NULL, 1, 64, jobs)) return 2;
            i += 2;
            continue;
        }
        if (!strcmp(argv[i], "--locater-kappa1")) {
            if (cli_parse_float("sweep", "--locater-kappa1", i + 1 < argc ? argv[i + 1] : NULL, 0, 1e6, &kappa1)) return 2;
            i += 2;
            continue;
        }
        if (plan_option(argv[i])) return 2;
        int k = train_option("sweep", argc, argv, &i, base);
        if (k < 0) return 2;
        if (k == 0) {
            fprintf(stderr, "qkspec sweep: unknown option '%s'\n"
                            "usage: qkspec sweep [--jobs N] [--locater-kappa1 X] [--norms token|sum|token,sum]\n"
                            "       [--seeds N[,N...]] [--kappa2-values X[,X...]] [train options]\n", argv[i]);
            train_usage(stderr);
            return 2;
        }
    }
    spec->kappa1 = kappa1;
    if (!spec->norms) spec->norms = 1 << base->cfg.locater_norm;
    if (!spec->nseeds) spec->nseeds = 1, spec->seeds[0] = base->seed;
    return 0;
}

int qk_cmd_sweep(int argc, char **argv)
{
    train_opts base;
    long jobs;
    const char *out = "qkspec-sweep";
    sweep_spec spec;
    if (sweep_parse(argc, argv, &base, &spec, &jobs)) return 2;
    /* checked here, once, rather than by every run's process */
    if (cli_check_vocab("sweep", base.cfg.kind == QK_MODEL_LM, base.word_level, base.cfg.V, base.vocab_max)) return 2;
    if (base.text && base.cfg.kind == QK_MODEL_LM &&
        cli_check_corpus("sweep", base.text, base.word_level ? 0 : base.cfg.T, base.val_frac))
        return 2;
    if (base.out) out = base.out;
    base.out = out;
    static sweep_run runs[SWEEP_MAX_RUNS];
    int n;
    sweep_plan_spec(&base, &spec, runs, &n);
    printf("sweep: %d runs of %ld steps, LocAteR weighting %s, init %s, dropout %g, seed%s", n, base.steps,
           spec.norms == 3 ? "token and sum" : spec.norms == 2 ? "sum" : "token",
           base.cfg.init == QK_INIT_FAIRSEQ ? "fairseq" : "legacy", (double)base.cfg.dropout, spec.nseeds > 1 ? "s" : "");
    for (int i = 0; i < spec.nseeds; i++) printf("%s%llu", i ? "," : " ", spec.seeds[i]);
    if (spec.k2mask) {
        printf(", kappa2");
        for (int i = 0, first = 1; i < SWEEP_NKAPPA2; i++)
            if (spec.k2mask & (1 << i)) printf("%s%s", first ? " " : ",", g_k2_names[i]), first = 0;
    }
    printf(", %ld at a time, CSVs in %s/\n", jobs, out);
    int rc = sweep_execute(runs, n, (int)jobs, out, stdout);
    if (rc) return rc;
    sweep_table(runs, n, stdout);
    if (spec.nseeds > 1) sweep_summary(runs, n, stdout);
    sweep_claims(runs, n, stdout, 0);
    return 0;
}
