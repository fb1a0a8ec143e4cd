/* sweep.h — private to the command-line tool: the LocAteR / σReparam sweep. */
#ifndef QK_SWEEP_H
#define QK_SWEEP_H

#include <stdio.h>
#include "cli.h"
#include "train.h"

#define SWEEP_MAX_RUNS 8

typedef struct {
    char name[32];
    train_opts opts;
    train_result result;
} sweep_run;

/* baseline (no regulariser), LocAteR κ1 = kappa1 with κ2 in {0, 1e-3, 1e-2, 1e-1, 1},
 * σReparam on W_Q and W_K; all with base's seed, data and budget. */
void sweep_plan(const train_opts *base, float kappa1, sweep_run *runs, int *n);
/* Runs them, jobs at a time, each in its own process; CSVs in dir. 0 on success. */
int sweep_execute(sweep_run *runs, int n, int jobs, const char *dir, FILE *log);
void sweep_table(const sweep_run *runs, int n, FILE *f);

#endif
