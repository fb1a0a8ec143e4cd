/* cli.h — private to the command-line tool: option parsing and model memory. */
#ifndef QK_CLI_H
#define QK_CLI_H

#include <stdio.h>
#include "qk_model.h"

/* Strict number parsing: the whole string, finite, within [lo, hi]. On failure prints
 * "qkspec CMD: OPTION: ..." and returns -1. */
int cli_parse_long(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out);
int cli_parse_float(const char *cmd, const char *opt, const char *s, double lo, double hi, float *out);

/* Model options shared by dump, train and sweep. Consumes the options it knows at
 * argv[*i] (advancing *i) and returns 1; returns 0 if argv[*i] is not a model option;
 * -1 on error (message printed). --preset must come before the options it modifies. */
int cli_model_option(const char *cmd, int argc, char **argv, int *i, qk_model_config *cfg, unsigned long long *seed);
void cli_model_usage(FILE *f);

/* Binds m to the tool's static model memory; prints a clear error if the
 * configuration does not fit (returns -1). */
int cli_model_open(const char *cmd, const qk_model_config *cfg, qk_model *m, qk_model_sizes_t *sz);
size_t cli_model_capacity_floats(void);

/* Writes the configuration as a JSON object naming every option. */
void cli_config_json(FILE *f, const qk_model_config *c, unsigned long long seed);

#endif
