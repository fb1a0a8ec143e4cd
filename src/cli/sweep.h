/* sweep.h — private to the command-line tool: the LocAteR / σReparam sweep. */
#ifndef QK_SWEEP_H
#define QK_SWEEP_H

#include <stdio.h>
#include "cli.h"
#include "train.h"

#define SWEEP_MAX_SEEDS 5
#define SWEEP_NKAPPA2 5
/* baseline, LocAteR κ2 × 2 weightings, σReparam; per seed */
#define SWEEP_MAX_RUNS ((2 + 2 * SWEEP_NKAPPA2) * SWEEP_MAX_SEEDS)

typedef struct {
    char name[32];
    train_opts opts;
    train_result result;
} sweep_run;

/* baseline (no regulariser), LocAteR κ1 = kappa1 with κ2 in {0, 1e-3, 1e-2, 1e-1, 1},
 * σReparam on W_Q and W_K; all with base's seed, data, budget and LocAteR weighting. */
void sweep_plan(const train_opts *base, float kappa1, sweep_run *runs, int *n);

/* The same plan for several LocAteR weightings and seeds (SPEC §1.1): norms is a set of
 * 1 << QK_NORM_TOKEN, 1 << QK_NORM_SUM; per seed, in this order: baseline, LocAteR
 * (each norm, κ2 ascending), σReparam. Names: "baseline", "locater_k2_1e-3",
 * "sigma_reparam" as sweep_plan with one norm and one seed; with both norms
 * "locater_token_k2_1e-3" and "locater_sum_k2_1e-3"; with several seeds a suffix
 * "_sN" on every run. */
typedef struct {
    float kappa1;
    int norms;
    int nseeds;
    unsigned long long seeds[SWEEP_MAX_SEEDS];
    int k2mask; /* which of the five κ2 values (bit i: the i-th ascending); 0: all */
} sweep_spec;
void sweep_plan_spec(const train_opts *base, const sweep_spec *spec, sweep_run *runs, int *n);
/* Parses --norms token|sum|token,sum, --seeds N[,N...] and --kappa2-values X[,X...]
 * (a subset of 0,1e-3,1e-2,1e-1,1, spelled so) at argv[*i]: 1 consumed, 0 not one of
 * them, -1 error (printed). */
int sweep_spec_option(const char *cmd, int argc, char **argv, int *i, sweep_spec *spec);
/* sweep's options (its own, the plan's and train's): base, spec (norms and seeds set,
 * with their defaults) and jobs; 0, or 2 after printing the error. Parsing only. */
int sweep_parse(int argc, char **argv, train_opts *base, sweep_spec *spec, long *jobs);
/* Per configuration (runs that differ only in the seed): the mean and the range over
 * seeds of the final numbers. */
void sweep_summary(const sweep_run *runs, int n, FILE *f);
/* The paper's claims (SPEC §1.1) tested on the runs, per LocAteR weighting, each against
 * the seed spread (mean and [min, max] over seeds; a difference counts when it exceeds
 * the larger range): final perplexity, eigen scale and eq. (8) variance fall with κ2;
 * the attention entropy averaged over the evaluations after step 0 rises with κ2; ρ
 * localizes with LocAteR and stays near uniform without, by the ρ concentration
 * cli_rho_top_share_f averaged over the evaluations after step 0 (localized: >= 0.5; near
 * uniform: <= twice the uniform 1/8). Text, or HTML table rows (html). */
void sweep_claims(const sweep_run *runs, int n, FILE *f, int html);
/* One run's number for a claim: Q_PPL, Q_SCALE, Q_VAR the final validation perplexity
 * (WALK: loss), eigen scale and eq. (8) variance; Q_ENT, Q_TOPK, Q_GINI the mean over the
 * evaluations after step 0 of the entropy, cli_rho_top_share_f and sweep_rho_gini
 * (evaluations with ρ = 0 everywhere skipped); Q_ZERO the fraction of those. */
enum { Q_PPL, Q_SCALE, Q_VAR, Q_ENT, Q_TOPK, Q_GINI, Q_ZERO, Q_COUNT };
double sweep_run_quantity(const sweep_run *run, int q);
/* The share of Σρ on the k = max(1, T/8) largest ρ_i (uniform ρ: k/T); NaN if ρ = 0. */
/* Gini coefficient of ρ (0 uniform, → 1 on one position); NaN if ρ = 0. */
double sweep_rho_gini(const float *rho, int T);
/* Runs them, jobs at a time, each in its own process; CSVs in dir. 0 on success. */
int sweep_execute(sweep_run *runs, int n, int jobs, const char *dir, FILE *log);
void sweep_table(const sweep_run *runs, int n, FILE *f);

#endif
