/* report.h — private to the command-line tool: the HTML report of `reproduce`. */
#ifndef QK_REPORT_H
#define QK_REPORT_H

#include <stdio.h>
#include "qk_sim_cli.h"
#include "sweep.h"

/* One sweep of language-model runs and its section of the page. */
typedef struct {
    const sweep_run *runs;
    int n;
    const char *title;  /* the section's heading */
    const char *subdir; /* its CSVs are in this subdirectory of the report; NULL: beside index.html */
    const char *from;   /* --runs: read from this directory, not trained by the command; NULL: trained */
} report_sweep;

#define REPORT_MAX_SWEEPS 4
#define REPORT_TRAINED_SUBDIR "collapse_train" /* collapse-train's run files (report_extra.c) */ /* the main sweep (d = 32) and the appendix: d = 128, 3 and 6 layers */

typedef struct {
    int quick;
    const char *out; /* the report directory, as the user gave it */
    double seconds;
    const qk_sim_summary *sim;
    qk_sim_config sim_cfg;
    report_sweep lm[REPORT_MAX_SWEEPS]; /* lm[0]: section 2; the others: the appendix */
    int nlm;
    int appendix_left_out; /* full mode with --no-appendix, or --runs naming fewer sweeps */
    const char *no_corpus; /* where a corpus was looked for and not found; NULL: found */
    const char *text;      /* the corpus the language models train on; NULL: the built-in one */
    /* further sections (report_extra.c): called before </body> */
    void (*extra_html)(FILE *f, void *ctx);
    void *extra_ctx;
} report_inputs;

int report_write(const char *dir, const report_inputs *in);

/* Runs the other experiments of `reproduce` and registers their HTML section in in
 * (report_extra.c). Returns 0 or an exit status. */
int report_extra_sections(report_inputs *in, const char *dir, int quick);

#endif
