/* qk_verify.c — bit check of golden vectors (SPEC §3). */
#include "qk_fp.h"
#include <string.h>
#include "qk_io.h"

/* got = c with fresh output buffers, filled with a non-NaN sentinel so that an
 * output the operation forgot to write cannot pass. */
static int clone_outputs(const qk_vcase *c, qk_vcase *got, qk_arena *a)
{
    *got = *c;
    for (int i = 0; i < got->ntensor; i++) {
        qk_vtensor *t = &got->t[i];
        if (!t->is_out) continue;
        size_t bytes = t->count * qk_dtype_size(t->dt);
        t->data = qk_arena_take(a, bytes);
        if (!t->data) return -1;
        memset(t->data, 0xA5, bytes);
    }
    return 0;
}

int qk_verify_file(const char *path, qk_arena *a, FILE *out, long *cases, long *bad)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(out, "%s: cannot open\n", path);
        return -1;
    }
    qk_vreader r = {f, path, 0, 0, {0}};
    static qk_vcase c, got; /* large; kept off the stack */
    size_t mark = a->used;
    int rc = 0;
    for (;;) {
        a->used = mark;
        int st = qk_vec_read(&r, &c, a);
        if (st == 0) break;
        if (st < 0) { fprintf(out, "%s\n", r.err); rc = -1; break; }
        qk_vop_fn fn = qk_vop_find(c.op);
        char err[256] = "";
        if (!fn) { fprintf(out, "%s: case %s: unknown op '%s'\n", path, c.name, c.op); rc = -1; break; }
        if (clone_outputs(&c, &got, a) < 0) { fprintf(out, "%s: case %s: out of memory\n", path, c.name); rc = -1; break; }
        if (fn(&c, &got, a, err, sizeof err) < 0) { fprintf(out, "%s: %s\n", path, err); rc = -1; break; }
        (*cases)++;
        long nb = qk_vcase_compare(&c, &got, out);
        if (nb) {
            fprintf(out, "%s: case %s: %ld value(s) differ\n", path, c.name, nb);
            (*bad)++;
        }
    }
    a->used = mark;
    fclose(f);
    return rc;
}
