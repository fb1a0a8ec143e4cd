/* fuzz_options.c — libFuzzer harness for the command-line option parsers that are
 * functions of their own: train's (train_option with the model options, and the
 * checkpoint options, as `qkspec train` and `sweep` call them), sweep's (sweep_parse:
 * its own options, the plan's, then train's; an accepted vector is planned, and every
 * run must get a non-empty, terminated, unique name), collapse's (collapse_parse),
 * collapse-train's (ct_parse),
 * simulate's lists (parse_list) and the number parsers. The input is the argument
 * vector, arguments separated by NUL bytes. Parsing only: nothing runs. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../../src/cli/cli.h"
#include "../../src/cli/train.h"
#include "../../src/cli/sweep.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int fuzz_collapse_parse(int argc, char **argv);   /* fuzz_options_collapse.c */
int fuzz_simulate_list(const char *s);            /* fuzz_options_simulate.c */
int fuzz_collapse_train_parse(int argc, char **argv); /* fuzz_options_collapse_train.c */

#define MAX_ARGS 64

static void parse_train(int argc, char **argv)
{
    static train_opts o;
    train_defaults(&o);
    for (int i = 0; i < argc;) {
        int k = train_ckpt_option("train", argc, argv, &i, &o);
        if (k == 0) k = train_option("train", argc, argv, &i, &o);
        if (k <= 0) break;
        if (i > argc) __builtin_trap(); /* an option consumed a value it did not have */
    }
}

static void parse_sweep(int argc, char **argv)
{
    static train_opts base;
    static sweep_spec spec;
    static sweep_run runs[SWEEP_MAX_RUNS];
    long jobs;
    int n = -1;
    if (sweep_parse(argc, argv, &base, &spec, &jobs)) return;
    if (spec.nseeds < 1 || spec.nseeds > SWEEP_MAX_SEEDS || !spec.norms || jobs < 1 || jobs > 64) __builtin_trap();
    sweep_plan_spec(&base, &spec, runs, &n);
    if (n < 1 || n > SWEEP_MAX_RUNS) __builtin_trap();
    for (int k = 0; k < n; k++) {
        if (!memchr(runs[k].name, 0, sizeof runs[k].name) || !runs[k].name[0]) __builtin_trap();
        for (int j = 0; j < k; j++)
            if (!strcmp(runs[j].name, runs[k].name)) __builtin_trap(); /* two runs, one set of files */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char buf[1 << 16];
    if (size >= sizeof buf) return 0;
    memcpy(buf, data, size);
    buf[size] = 0;
    char *argv[MAX_ARGS + 1];
    int argc = 0;
    for (size_t i = 0; i <= size && argc < MAX_ARGS; i += strlen(buf + i) + 1) argv[argc++] = buf + i;
    argv[argc] = NULL;
    parse_train(argc, argv);
    parse_sweep(argc, argv);
    fuzz_collapse_parse(argc, argv);
    fuzz_collapse_train_parse(argc, argv);
    for (int i = 0; i < argc; i++) {
        long l;
        float f;
        cli_parse_long("fuzz", "--n", argv[i], -1000, 1000, &l);
        cli_parse_float("fuzz", "--x", argv[i], -1e3, 1e3, &f);
        fuzz_simulate_list(argv[i]);
    }
    return 0;
}
