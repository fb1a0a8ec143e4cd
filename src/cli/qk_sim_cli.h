/* qk_sim_cli.h — private to the command-line tool: the simulation driver shared by
 * `simulate` and `reproduce`. */
#ifndef QK_SIM_CLI_H
#define QK_SIM_CLI_H

#include <stdio.h>
#include "qk_localize.h"

#define QK_SIM_MAX_T 512
#define QK_SIM_MAX_CELLS 64

typedef struct {
    qk_sim_config cfg;
    double means[16], scales[16];
    int nmeans, nscales;
    int sigma; /* 0 identity, 1 anisotropic, 2 both */
    unsigned long long seed;
} qk_sim_opts;

typedef struct {
    int aniso, T;
    double mean, scale, entropy, trW_over_lambda, err_paper, err_corrected, err_finite;
    double rho_emp[QK_SIM_MAX_T], rho_paper[QK_SIM_MAX_T], rho_corr[QK_SIM_MAX_T], rho_fin[QK_SIM_MAX_T];
} qk_sim_cell_summary;

typedef struct {
    double max_err_paper, max_err_corrected, max_err_finite, var_dev_paper, var_dev_corrected;
    int ncells;
    qk_sim_cell_summary cells[QK_SIM_MAX_CELLS];
} qk_sim_summary;

void qk_sim_defaults(qk_sim_opts *o, int quick);
int qk_sim_run(const qk_sim_opts *o, const char *outdir, qk_sim_summary *sum, FILE *log);
void qk_sim_print_verdict(const qk_sim_summary *s, FILE *f);

#endif
