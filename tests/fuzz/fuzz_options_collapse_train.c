/* fuzz_options_collapse_train.c — collapse-train's option parser (ct_parse) for
 * fuzz_options.c, and its run-file reader (read_rank_stream) for fuzz_runfile.c; both
 * static in cmd_collapse_train.c. An accepted input must satisfy what the command then
 * relies on; a violation traps. --help prints the usage and exits: not an input. */
#define _POSIX_C_SOURCE 200809L /* fmemopen */
#include "../../src/cli/cmd_collapse_train.c"

int fuzz_collapse_train_parse(int argc, char **argv);
int fuzz_rank_file(const unsigned char *data, size_t size);

int fuzz_collapse_train_parse(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return 0;
    static ct_opts o;
    if (ct_parse(argc, argv, &o)) return -1;
    if (o.ndepths < 1 || o.ndepths > CT_MAX_DEPTHS || o.nvariants < 1 || o.nvariants > NV || o.seeds < 1 ||
        o.seeds > CT_MAX_SEEDS || o.H < 1 || o.d % o.H || !o.dir == !o.from || o.eval_every < 1 || o.steps < 1 ||
        (o.steps + o.eval_every - 1) / o.eval_every + 1 > CT_MAX_EVALS)
        __builtin_trap();
    for (int i = 0; i < o.ndepths; i++)
        if (o.depths[i] < 1 || o.depths[i] > QK_MAX_LAYERS) __builtin_trap();
    for (int k = 0; k < o.nvariants; k++) {
        if (o.variants[k] < 0 || o.variants[k] >= NV) __builtin_trap();
        for (int j = 0; j < k; j++)
            if (o.variants[j] == o.variants[k]) __builtin_trap(); /* two summaries of one variant */
    }
    return 0;
}

int fuzz_rank_file(const unsigned char *data, size_t size)
{
    static ct_run r;
    memset(&r, 0, sizeof r);
    FILE *f = size ? fmemopen((void *)data, size, "r") : NULL;
    if (!f || read_rank_stream(f, "fuzz.csv", &r)) return -1;
    if (r.n < 1 || r.n > CT_MAX_EVALS || !r.found) __builtin_trap();
    for (int e = 0; e < r.n; e++) {
        if (r.step[e] < 0 || (e && r.step[e] <= r.step[e - 1])) __builtin_trap();
        for (int l = 0; l <= QK_MAX_LAYERS; l++)
            if (r.r[e][l] < 0 || r.r[e][l] == INFINITY) __builtin_trap();
    }
    return 0;
}
