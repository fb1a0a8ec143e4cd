/* test_main.c — runs the registered tests, optionally filtered by a name prefix, and
 * ends with the line "N passed, N failed". Exit status 1 if any failed. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "qk.h"
#include "qktest.h"

#define MAX_TESTS 256
static struct { const char *name; qkt_fn fn; } tests[MAX_TESTS];
static int ntests;
int qkt_current_failed;
static int messages;

int qkt_scale(void)
{
    const char *e = getenv("QKTEST_SCALE");
    int s = e ? atoi(e) : 1;
    return s >= 1 && s <= 1024 ? s : 1;
}

void qkt_register(const char *name, qkt_fn fn)
{
    if (ntests < MAX_TESTS) { tests[ntests].name = name; tests[ntests].fn = fn; ntests++; }
}

void qkt_fail(const char *file, int line, const char *fmt, ...)
{
    qkt_current_failed = 1;
    if (++messages > 40) return;
    va_list ap;
    fprintf(stdout, "    %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int main(int argc, char **argv)
{
    const char *filter = argc > 1 ? argv[1] : "";
    qsort(tests, (size_t)ntests, sizeof tests[0], cmp_name);
    int passed = 0, failed = 0;
    qk_isa initial = qk_isa_current();
    printf("qktest: isa default %s, work scale 1/%d\n", qk_isa_name(qk_isa_current()), qkt_scale());
    for (int i = 0; i < ntests; i++) {
        if (strncmp(tests[i].name, filter, strlen(filter))) continue;
        qkt_current_failed = 0;
        clock_t t0 = clock();
        tests[i].fn();
        double ms = 1000.0 * (double)(clock() - t0) / CLOCKS_PER_SEC;
        qk_isa_select(initial); /* tests may switch paths */
        printf("%s %s (%.0f ms)\n", qkt_current_failed ? "FAIL" : "ok  ", tests[i].name, ms);
        if (qkt_current_failed) failed++; else passed++;
        fflush(stdout);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
