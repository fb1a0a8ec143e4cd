/* fuzz_options_collapse.c — collapse_parse (static in cmd_collapse.c) for
 * fuzz_options.c. --help prints the usage and exits: not an input to parse. */
#include "../../src/cli/cmd_collapse.c"

int fuzz_collapse_parse(int argc, char **argv);

int fuzz_collapse_parse(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return 0;
    static col_opts o;
    memset(&o, 0, sizeof o);
    return collapse_parse(argc, argv, &o);
}
