/* fuzz_options_simulate.c — simulate's list parser (static in cmd_simulate.c) for
 * fuzz_options.c: --means and --scales. */
#include "../../src/cli/cmd_simulate.c"

int fuzz_simulate_list(const char *s);

int fuzz_simulate_list(const char *s)
{
    double v[MAX_GRID];
    int n = parse_list("--means", s, v, MAX_GRID);
    if (n > MAX_GRID) __builtin_trap();
    return n;
}
