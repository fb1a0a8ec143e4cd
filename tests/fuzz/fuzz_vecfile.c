/* fuzz_vecfile.c — libFuzzer harness for the golden-vector reader (include/qk_io.h):
 * the input is a vector file. Every case the reader accepts is run through its
 * operation and compared bit for bit, as `qkspec verify` does, when its integer
 * parameters (the seed aside) are at most 64: sizes and step counts above that make
 * one input cost seconds, and the reader alone sees those. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "qk_io.h"

static unsigned char g_arena[16u << 20];

/* operations cost milliseconds for small parameters */
static int cheap(const qk_vcase *c)
{
    for (int i = 0; i < c->nparam; i++)
        if (strcmp(c->pkey[i], "seed") && (c->pval[i] < -64 || c->pval[i] > 64)) return 0;
    return 1;
}

static int clone_outputs(const qk_vcase *c, qk_vcase *got, qk_arena *a)
{
    *got = *c;
    for (int i = 0; i < got->ntensor; i++) {
        qk_vtensor *t = &got->t[i];
        if (!t->is_out) continue;
        size_t bytes = t->count * qk_dtype_size(t->dt);
        if (!(t->data = qk_arena_take(a, bytes))) return -1;
        memset(t->data, 0xA5, bytes);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static qk_vcase c, got;
    static FILE *sink;
    if (!sink) sink = fopen("/dev/null", "w");
    if (!size) return 0;
    FILE *f = fmemopen((void *)data, size, "r");
    if (!f) return 0;
    qk_arena a = {g_arena, sizeof g_arena, 0, 0};
    qk_vreader r = {f, "fuzz", 0, 0, {0}};
    for (int n = 0; n < 64; n++) {
        a.used = 0;
        if (qk_vec_read(&r, &c, &a) != 1) break;
        qk_vop_fn fn = qk_vop_find(c.op);
        char err[256];
        if (!fn || !cheap(&c) || clone_outputs(&c, &got, &a) < 0) continue;
        if (fn(&c, &got, &a, err, sizeof err) == 0) qk_vcase_compare(&c, &got, sink);
    }
    fclose(f);
    return 0;
}
