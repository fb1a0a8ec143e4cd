/* gen_common.h — helpers shared by the golden-vector generators (tools/gen_vectors*.c).
 * The including file defines GEN_PROG (its name, for messages) and, before including
 * this header, the globals `arena` (qk_arena) and `out` (FILE *). */
#ifndef GEN_COMMON_H
#define GEN_COMMON_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qk_io.h"

/* Starts case c: name from a format, operation op; resets the arena. */
static void begin(qk_vcase *c, const char *op, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void begin(qk_vcase *c, const char *op, const char *fmt, ...)
{
    memset(c, 0, sizeof *c);
    arena.used = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->name, sizeof c->name, fmt, ap);
    va_end(ap);
    snprintf(c->op, sizeof c->op, "%s", op);
}

static void param(qk_vcase *c, const char *k, long long v)
{
    snprintf(c->pkey[c->nparam], QK_VEC_NAME, "%s", k);
    c->pval[c->nparam++] = v;
}

/* Runs the case's operation into its declared outputs and writes the case to out. */
static void finish(qk_vcase *c)
{
    char err[256];
    qk_vop_fn fn = qk_vop_find(c->op);
    if (!fn || fn(c, c, &arena, err, sizeof err) < 0) {
        fprintf(stderr, GEN_PROG ": %s: %s\n", c->name, fn ? err : "unknown op");
        exit(1);
    }
    qk_vec_write_case(out, c);
}

#endif
