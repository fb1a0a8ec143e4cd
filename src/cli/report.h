/* report.h — private to the command-line tool: the HTML report of `reproduce`. */
#ifndef QK_REPORT_H
#define QK_REPORT_H

#include <stdio.h>
#include "qk_sim_cli.h"
#include "sweep.h"

typedef struct {
    int quick;
    const char *out; /* the report directory, as the user gave it */
    double seconds;
    const qk_sim_summary *sim;
    qk_sim_config sim_cfg;
    const sweep_run *runs;
    int nruns;
    const char *no_corpus; /* where a corpus was looked for and not found; NULL: found */
    const char *runs_from; /* --runs DIR: the training runs were read from DIR, not made */
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
