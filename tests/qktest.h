/* qktest.h — a minimal test framework: TEST(name) registers a function; CHECK
 * records a failure with file and line and goes on. */
#ifndef QKTEST_H
#define QKTEST_H

#include <stdio.h>

typedef void (*qkt_fn)(void);
void qkt_register(const char *name, qkt_fn fn);
void qkt_fail(const char *file, int line, const char *fmt, ...);
extern int qkt_current_failed;
/* Work divisor for sampled and statistical tests (environment QKTEST_SCALE, default 1;
 * the runner sets 16 under emulation). Tolerances follow the reduced sample sizes. */
int qkt_scale(void);

#define TEST(name)                                                                  \
    static void test_##name(void);                                                  \
    __attribute__((constructor)) static void reg_##name(void) { qkt_register(#name, test_##name); } \
    static void test_##name(void)

#define CHECK(cond, ...)                                                            \
    do {                                                                            \
        if (!(cond)) qkt_fail(__FILE__, __LINE__, __VA_ARGS__);                     \
    } while (0)

#define CHECK_OK(expr) CHECK((expr) == QK_OK, "%s returned non-ok", #expr)

#endif
