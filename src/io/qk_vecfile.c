/* qk_vecfile.c — reader and writer of golden-vector files (format in qk_io.h). */
#include "qk_fp.h"
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "qk_io.h"

void *qk_arena_take(qk_arena *a, size_t bytes)
{
    size_t at = (a->used + 15u) & ~(size_t)15u;
    if (at > a->cap || bytes > a->cap - at) return NULL;
    a->used = at + bytes;
    if (a->used > a->peak) a->peak = a->used;
    return a->buf + at;
}

size_t qk_dtype_size(qk_dtype dt) { return dt == QK_DT_F32 ? 4 : 8; }
const char *qk_dtype_name(qk_dtype dt) { return dt == QK_DT_F32 ? "f32" : dt == QK_DT_F64 ? "f64" : "u64"; }

static int fail(qk_vreader *r, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(r->err, sizeof r->err, "%s:%d: ", r->path, r->line);
    va_start(ap, fmt);
    vsnprintf(r->err + n, sizeof r->err - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

/* Next whitespace-separated token; '#' comments skipped; *newline set when a line
 * break was crossed before the token. Returns token length, 0 at EOF, -1 if too long. */
static int next_token(qk_vreader *r, char *tok, int cap, int *newline)
{
    int ch, n = 0;
    *newline = 0;
    for (;;) {
        ch = fgetc(r->f);
        if (ch == EOF) return 0;
        if (ch == '\n') { r->line++; *newline = 1; continue; }
        if (ch == '#') {
            while ((ch = fgetc(r->f)) != EOF && ch != '\n') {}
            if (ch == '\n') { r->line++; *newline = 1; }
            if (ch == EOF) return 0;
            continue;
        }
        if (!isspace(ch)) break;
    }
    while (ch != EOF && !isspace(ch) && ch != '#') {
        if (n + 1 >= cap) return -1;
        tok[n++] = (char)ch;
        ch = fgetc(r->f);
    }
    tok[n] = 0;
    if (ch != EOF) ungetc(ch, r->f);
    return n;
}

/* Tokens of the rest of the current line (at most max). */
static int line_tokens(qk_vreader *r, char toks[][QK_VEC_NAME], int max)
{
    int n = 0, ch;
    for (;;) {
        while ((ch = fgetc(r->f)) != EOF && ch != '\n' && isspace(ch)) {}
        if (ch == EOF) return n;
        if (ch == '\n') { ungetc(ch, r->f); return n; }
        if (ch == '#') {
            while ((ch = fgetc(r->f)) != EOF && ch != '\n') {}
            if (ch == '\n') ungetc(ch, r->f);
            return n;
        }
        if (n >= max) return max + 1;
        int len = 0;
        while (ch != EOF && !isspace(ch) && ch != '#') {
            if (len + 1 >= QK_VEC_NAME) return -1;
            toks[n][len++] = (char)ch;
            ch = fgetc(r->f);
        }
        toks[n][len] = 0;
        n++;
        if (ch != EOF) ungetc(ch, r->f);
    }
}

static int parse_int(const char *s, long long lo, long long hi, long long *v)
{
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno || end == s || *end || x < lo || x > hi) return 0;
    *v = x;
    return 1;
}

static int parse_hex(const char *s, int digits, uint64_t *v)
{
    uint64_t x = 0;
    int i;
    for (i = 0; s[i]; i++) {
        int c = s[i], d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else return 0;
        x = (x << 4) | (uint64_t)d;
    }
    if (i != digits) return 0;
    *v = x;
    return 1;
}

/* Records where value i sits (line), keeping per_line only while every line holds
 * the same number of values: then any value's line follows from its index. */
static void track_value_line(qk_vtensor *t, size_t i, int line)
{
    if (i == 0) {
        t->value_line = line;
        t->per_line = 0;
        return;
    }
    if (t->per_line == 0 && line == t->value_line) return; /* still on the first line */
    if (t->per_line == 0 && line == t->value_line + 1 && i <= 0x7fffffff) { t->per_line = (int)i; return; }
    if (t->per_line > 0 && (size_t)(line - t->value_line) == i / (size_t)t->per_line && line >= t->value_line) return;
    t->per_line = -1; /* uneven */
}

int qk_vtensor_line(const qk_vtensor *t, size_t i)
{
    if (t->per_line > 0) return t->value_line + (int)(i / (size_t)t->per_line);
    if (t->per_line == 0 && t->value_line > 0) return t->value_line; /* all on one line (so far) */
    return t->line;
}

static int read_tensor(qk_vreader *r, qk_vcase *c, qk_arena *a, int is_out)
{
    char toks[2 + QK_VEC_MAX_DIMS + 1][QK_VEC_NAME];
    int n = line_tokens(r, toks, 2 + QK_VEC_MAX_DIMS);
    if (n < 0) return fail(r, "token too long in tensor declaration");
    if (n > 2 + QK_VEC_MAX_DIMS) return fail(r, "tensor declaration has more than %d dimensions", QK_VEC_MAX_DIMS);
    if (n < 3) return fail(r, "tensor declaration needs: NAME DTYPE DIM [DIM ...]");
    if (c->ntensor >= QK_VEC_MAX_TENSORS) return fail(r, "more than %d tensors in case '%s'", QK_VEC_MAX_TENSORS, c->name);
    qk_dtype dt;
    if (!strcmp(toks[1], "f32")) dt = QK_DT_F32;
    else if (!strcmp(toks[1], "f64")) dt = QK_DT_F64;
    else if (!strcmp(toks[1], "u64")) dt = QK_DT_U64;
    else return fail(r, "tensor '%s': unknown dtype '%s' (expected f32, f64 or u64)", toks[0], toks[1]);
    int dims[QK_VEC_MAX_DIMS];
    for (int i = 2; i < n; i++) {
        long long d;
        if (!parse_int(toks[i], 1, 1 << 24, &d))
            return fail(r, "tensor '%s': dimension '%s' is not an integer in [1, %d]", toks[0], toks[i], 1 << 24);
        dims[i - 2] = (int)d;
    }
    if (qk_vcase_tensor(c, toks[0])) return fail(r, "tensor '%s' declared twice", toks[0]);
    qk_vtensor *t = qk_vcase_add(c, a, toks[0], is_out, dt, n - 2, dims);
    if (!t) return fail(r, "tensor '%s' does not fit in the reader's memory (%lu bytes)", toks[0], (unsigned long)a->cap);
    int digits = dt == QK_DT_F32 ? 8 : 16;
    t->line = r->line;
    for (size_t i = 0; i < t->count; i++) {
        char tok[64];
        int nl, len = next_token(r, tok, sizeof tok, &nl);
        track_value_line(t, i, r->line);
        if (len == 0) return fail(r, "tensor '%s': file ends after %lu of %lu values", t->name, (unsigned long)i, (unsigned long)t->count);
        uint64_t v;
        if (len < 0 || !parse_hex(tok, digits, &v)) {
            if (len > 0 && (!strcmp(tok, "end") || !strcmp(tok, "in") || !strcmp(tok, "out")))
                return fail(r, "tensor '%s': only %lu of %lu values before '%s'", t->name, (unsigned long)i, (unsigned long)t->count, tok);
            return fail(r, "tensor '%s' value %lu: '%s' is not %d hex digits", t->name, (unsigned long)i, len > 0 ? tok : "(too long)", digits);
        }
        if (dt == QK_DT_F32) { uint32_t u = (uint32_t)v; memcpy((char *)t->data + 4 * i, &u, 4); }
        else memcpy((char *)t->data + 8 * i, &v, 8);
    }
    return 0;
}

int qk_vec_read(qk_vreader *r, qk_vcase *c, qk_arena *a)
{
    char tok[QK_VEC_NAME];
    int nl, len;
    if (!r->header_seen) {
        if (r->line == 0) r->line = 1;
        len = next_token(r, tok, sizeof tok, &nl);
        if (len == 0) return fail(r, "empty file (expected 'qkspec-vectors %d')", QK_VEC_VERSION);
        if (len < 0 || strcmp(tok, "qkspec-vectors")) return fail(r, "not a vector file: expected 'qkspec-vectors %d'", QK_VEC_VERSION);
        char v[1][QK_VEC_NAME];
        long long ver;
        if (line_tokens(r, v, 1) != 1 || !parse_int(v[0], 0, 1000000, &ver)) return fail(r, "missing format version after 'qkspec-vectors'");
        if (ver != QK_VEC_VERSION) return fail(r, "format version %ld is not supported (this reader reads %d)", (long)ver, QK_VEC_VERSION);
        r->header_seen = 1;
    }
    memset(c, 0, sizeof *c);
    len = next_token(r, tok, sizeof tok, &nl);
    if (len == 0) return 0;
    if (len < 0 || strcmp(tok, "case")) return fail(r, "expected 'case NAME', found '%s'", len < 0 ? "(too long)" : tok);
    char v[2][QK_VEC_NAME];
    if (line_tokens(r, v, 1) != 1) return fail(r, "'case' needs exactly one name (at most %d characters)", QK_VEC_NAME - 1);
    strcpy(c->name, v[0]);
    for (;;) {
        len = next_token(r, tok, sizeof tok, &nl);
        if (len == 0) return fail(r, "case '%s': file ends before 'end'", c->name);
        if (len < 0) return fail(r, "case '%s': token too long", c->name);
        if (!strcmp(tok, "end")) break;
        if (!strcmp(tok, "op")) {
            if (line_tokens(r, v, 1) != 1) return fail(r, "'op' needs exactly one name");
            strcpy(c->op, v[0]);
        } else if (!strcmp(tok, "param")) {
            if (line_tokens(r, v, 2) != 2) return fail(r, "'param' needs: KEY INTEGER");
            if (c->nparam >= QK_VEC_MAX_PARAMS) return fail(r, "more than %d params", QK_VEC_MAX_PARAMS);
            if (!parse_int(v[1], -(1LL << 62), 1LL << 62, &c->pval[c->nparam]))
                return fail(r, "param '%s': '%s' is not an integer", v[0], v[1]);
            strcpy(c->pkey[c->nparam++], v[0]);
        } else if (!strcmp(tok, "in") || !strcmp(tok, "out")) {
            if (read_tensor(r, c, a, tok[0] == 'o') < 0) return -1;
        } else {
            return fail(r, "case '%s': unknown keyword '%s'", c->name, tok);
        }
    }
    if (!c->op[0]) return fail(r, "case '%s' has no 'op' line", c->name);
    return 1;
}

qk_vtensor *qk_vcase_tensor(qk_vcase *c, const char *name)
{
    for (int i = 0; i < c->ntensor; i++)
        if (!strcmp(c->t[i].name, name)) return &c->t[i];
    return NULL;
}

int qk_vcase_param(const qk_vcase *c, const char *key, long long *v)
{
    for (int i = 0; i < c->nparam; i++)
        if (!strcmp(c->pkey[i], key)) { *v = c->pval[i]; return 1; }
    return 0;
}

qk_vtensor *qk_vcase_add(qk_vcase *c, qk_arena *a, const char *name, int is_out, qk_dtype dt,
                         int ndim, const int *dims)
{
    if (c->ntensor >= QK_VEC_MAX_TENSORS || ndim < 1 || ndim > QK_VEC_MAX_DIMS || strlen(name) >= QK_VEC_NAME) return NULL;
    qk_vtensor *t = &c->t[c->ntensor];
    memset(t, 0, sizeof *t);
    strcpy(t->name, name);
    t->is_out = is_out;
    t->dt = dt;
    t->ndim = ndim;
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        t->dims[i] = dims[i];
        if (dims[i] < 1 || count > (SIZE_MAX / 8) / (size_t)dims[i]) return NULL; /* no overflow */
        count *= (size_t)dims[i];
    }
    t->count = count;
    t->data = qk_arena_take(a, count * qk_dtype_size(dt));
    if (!t->data) return NULL;
    c->ntensor++;
    return t;
}

/* 64-bit integers and sizes printed with C89 formats only: the printf of newlib (and
 * of newlib-nano) on bare-metal boards has no %zu and no %ll (src/port/board_main.c). */
static const char *hex64(uint64_t v, char buf[17])
{
    sprintf(buf, "%08lx%08lx", (unsigned long)(v >> 32), (unsigned long)(v & 0xffffffffu));
    return buf;
}

static const char *dec64(long long v, char buf[24])
{
    char tmp[24];
    int n = 0, neg = v < 0;
    unsigned long long u = neg ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do tmp[n++] = (char)('0' + u % 10); while (u /= 10);
    int k = 0;
    if (neg) buf[k++] = '-';
    while (n) buf[k++] = tmp[--n];
    buf[k] = 0;
    return buf;
}

static const char *udec64(uint64_t v, char buf[24])
{
    char tmp[24];
    int n = 0, k = 0;
    do tmp[n++] = (char)('0' + v % 10); while (v /= 10);
    while (n) buf[k++] = tmp[--n];
    buf[k] = 0;
    return buf;
}

void qk_vec_write_header(FILE *f) { fprintf(f, "qkspec-vectors %d\n", QK_VEC_VERSION); }

void qk_vec_write_case(FILE *f, const qk_vcase *c)
{
    fprintf(f, "case %s\nop %s\n", c->name, c->op);
    char b1[24], b2[24];
    for (int i = 0; i < c->nparam; i++) fprintf(f, "param %s %s\n", c->pkey[i], dec64(c->pval[i], b1));
    for (int i = 0; i < c->ntensor; i++) {
        const qk_vtensor *t = &c->t[i];
        fprintf(f, "%s %s %s", t->is_out ? "out" : "in", t->name, qk_dtype_name(t->dt));
        for (int d = 0; d < t->ndim; d++) fprintf(f, " %d", t->dims[d]);
        fputc('\n', f);
        const int per_line = t->dt == QK_DT_F32 ? 6 : 4;
        for (size_t j = 0; j < t->count; j += per_line) {
            size_t end = j + per_line < t->count ? j + per_line : t->count;
            for (size_t k = j; k < end; k++) {
                if (t->dt == QK_DT_F32) {
                    uint32_t u;
                    memcpy(&u, (const char *)t->data + 4 * k, 4);
                    fprintf(f, "%s%08x", k > j ? " " : "", (unsigned)u);
                } else {
                    uint64_t u;
                    memcpy(&u, (const char *)t->data + 8 * k, 8);
                    fprintf(f, "%s%s", k > j ? " " : "", hex64(u, b1));
                }
            }
            fputs("  #", f);
            for (size_t k = j; k < end; k++) {
                if (t->dt == QK_DT_F32) fprintf(f, " %.9g", (double)((const float *)t->data)[k]);
                else if (t->dt == QK_DT_F64) fprintf(f, " %.17g", ((const double *)t->data)[k]);
                else fprintf(f, " %s", udec64(((const uint64_t *)t->data)[k], b2));
            }
            fputc('\n', f);
        }
    }
    fputs("end\n", f);
}

/* Distance in ulps between two floats of the same sign class (ordered integers). */
static long long ulps32(float a, float b)
{
    int32_t ia, ib;
    memcpy(&ia, &a, 4);
    memcpy(&ib, &b, 4);
    if (ia < 0) ia = (int32_t)(0x80000000u - (uint32_t)ia);
    if (ib < 0) ib = (int32_t)(0x80000000u - (uint32_t)ib);
    long long d = (long long)ia - ib;
    return d < 0 ? -d : d;
}

static long long ulps64(double a, double b)
{
    int64_t ia, ib;
    memcpy(&ia, &a, 8);
    memcpy(&ib, &b, 8);
    if (ia < 0) ia = (int64_t)(0x8000000000000000ull - (uint64_t)ia);
    if (ib < 0) ib = (int64_t)(0x8000000000000000ull - (uint64_t)ib);
    /* saturating difference */
    if ((ia > 0 && ib < 0 && ia > INT64_MAX + ib) || (ia < 0 && ib > 0 && ib > INT64_MAX + ia)) return INT64_MAX;
    long long d = (long long)(ia - ib);
    return d < 0 ? -d : d;
}

long qk_vcase_compare(const qk_vcase *want, const qk_vcase *got, FILE *out)
{
    long bad = 0;
    char h1[24], h2[24], h3[24];
    for (int i = 0; i < want->ntensor; i++) {
        const qk_vtensor *w = &want->t[i], *g = &got->t[i];
        if (!w->is_out) continue;
        for (size_t k = 0; k < w->count; k++) {
            int same;
            if (w->dt == QK_DT_F32) {
                float a = ((const float *)w->data)[k], b = ((const float *)g->data)[k];
                same = !memcmp((const char *)w->data + 4 * k, (const char *)g->data + 4 * k, 4) || (a != a && b != b);
                if (!same && bad < 5 && out) {
                    uint32_t ua, ub;
                    memcpy(&ua, &a, 4);
                    memcpy(&ub, &b, 4);
                    fprintf(out, "  case %s tensor %s index %lu: got %08lx (%.9g) expected %08lx (%.9g), %s ulp\n",
                            want->name, w->name, (unsigned long)k, (unsigned long)ub, (double)b, (unsigned long)ua,
                            (double)a, dec64(ulps32(a, b), h1));
                }
            } else {
                uint64_t ua, ub;
                memcpy(&ua, (const char *)w->data + 8 * k, 8);
                memcpy(&ub, (const char *)g->data + 8 * k, 8);
                double a, b;
                memcpy(&a, &ua, 8);
                memcpy(&b, &ub, 8);
                same = ua == ub || (w->dt == QK_DT_F64 && a != a && b != b);
                if (!same && bad < 5 && out) {
                    if (w->dt == QK_DT_F64)
                        fprintf(out, "  case %s tensor %s index %lu: got %s (%.17g) expected %s (%.17g), %s ulp\n",
                                want->name, w->name, (unsigned long)k, hex64(ub, h1), b, hex64(ua, h2), a,
                                dec64(ulps64(a, b), h3));
                    else
                        fprintf(out, "  case %s tensor %s index %lu: got %s expected %s\n", want->name, w->name,
                                (unsigned long)k, udec64(ub, h1), udec64(ua, h2));
                }
            }
            if (!same) bad++;
        }
    }
    return bad;
}
