/* test_vecfile.c — the vector reader rejects malformed input with a message naming
 * the line and the problem; write-then-read round-trips the bits; the comparison
 * reports tensor, index and ulp distance. */
#include <stdlib.h>
#include "qk_io.h"
#include "qktest.h"
#include "test_util.h"

static unsigned char arena_buf[1 << 16];

/* Reads all cases of text; returns the last status and copies the error. */
static int read_text(const char *text, char *err, size_t errlen, qk_vcase *c)
{
    FILE *f = fmemopen((void *)text, strlen(text), "r");
    qk_vreader r = {f, "mem", 0, 0, {0}};
    qk_arena a = {arena_buf, sizeof arena_buf, 0, 0};
    int st;
    while ((st = qk_vec_read(&r, c, &a)) == 1) {}
    fclose(f);
    snprintf(err, errlen, "%s", r.err);
    return st;
}

#define HDR "qkspec-vectors 1\n"
#define GOOD HDR "case c1\nop sum\nparam causal 1\nin x f32 3\n3f800000 40000000 # two\n40400000\nout s f32 1\n40c00000\nend\n"

TEST(vecfile_rejects_malformed_input)
{
    static const struct { const char *text, *expect; } bad[] = {
        {"", "empty file"},
        {"hello 1\n", "not a vector file"},
        {"qkspec-vectors\n", "missing format version"},
        {"qkspec-vectors 2\n", "version 2 is not supported"},
        {HDR "cas c1\n", "expected 'case NAME'"},
        {HDR "case c1\nop sum\nfoo\nend\n", "unknown keyword 'foo'"},
        {HDR "case c1\nin x f16 2\n", "unknown dtype 'f16'"},
        {HDR "case c1\nin x f32 two\n", "dimension 'two' is not an integer"},
        {HDR "case c1\nin x f32 0\n", "dimension '0' is not an integer in [1"},
        {HDR "case c1\nin x f32 1 1 1 1 1\n", "more than 4 dimensions"},
        {HDR "case c1\nin x f32\n", "needs: NAME DTYPE DIM"},
        {HDR "case c1\nop sum\nin x f32 3\n3f800000 40000000\n", "file ends after 2 of 3 values"},
        {HDR "case c1\nop sum\nin x f32 3\n3f800000 40000000\nend\n", "only 2 of 3 values before 'end'"},
        {HDR "case c1\nop sum\nin x f32 2\n3f800000 4000000g\nend\n", "value 1: '4000000g' is not 8 hex digits"},
        {HDR "case c1\nop sum\nin x f32 2\n3f800000 400000\nend\n", "'400000' is not 8 hex digits"},
        {HDR "case c1\nop sum\nin x f64 1\n3f800000\nend\n", "is not 16 hex digits"},
        {HDR "case c1\nop sum\nin x f32 1\n3f800000\n", "file ends before 'end'"},
        {HDR "case c1\nin x f32 1\n3f800000\nend\n", "has no 'op' line"},
        {HDR "case c1\nop sum\nin x f32 100000\n", "does not fit in the reader's memory"},
        {HDR "case c1\nop sum\nin x f32 1\n3f800000\nin x f32 1\n", "declared twice"},
        {HDR "case c1\nop sum\nparam k 1.5\n", "'1.5' is not an integer"},
        {HDR "case c1\nop sum\nparam k\n", "'param' needs: KEY INTEGER"},
        {HDR "case\n", "'case' needs exactly one name"},
    };
    qk_vcase c;
    char err[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int st = read_text(bad[i].text, err, sizeof err, &c);
        CHECK(st == -1, "malformed input %zu accepted", i);
        CHECK(strstr(err, bad[i].expect) != NULL, "input %zu: message '%s' lacks '%s'", i, err, bad[i].expect);
        CHECK(strncmp(err, "mem:", 4) == 0, "input %zu: message '%s' does not name the file", i, err);
    }
    /* the line number points at the problem */
    read_text(HDR "case c1\nop sum\n\n\nbogus\n", err, sizeof err, &c);
    CHECK(strstr(err, "mem:6:") != NULL, "line number wrong: %s", err);
}

TEST(vecfile_reads_good_input_and_round_trips)
{
    qk_vcase c;
    char err[256];
    CHECK(read_text(GOOD, err, sizeof err, &c) == 0, "good file rejected: %s", err);
    FILE *f = fmemopen((void *)GOOD, strlen(GOOD), "r");
    qk_vreader r = {f, "mem", 0, 0, {0}};
    qk_arena a = {arena_buf, sizeof arena_buf, 0, 0};
    CHECK(qk_vec_read(&r, &c, &a) == 1, "no case read: %s", r.err);
    fclose(f);
    long long v = 0;
    CHECK(!strcmp(c.name, "c1") && !strcmp(c.op, "sum") && qk_vcase_param(&c, "causal", &v) && v == 1, "header fields");
    qk_vtensor *x = qk_vcase_tensor(&c, "x");
    CHECK(x && x->count == 3 && ((float *)x->data)[2] == 3.0f && !x->is_out, "tensor x");
    char buf[4096];
    FILE *w = fmemopen(buf, sizeof buf, "w");
    qk_vec_write_header(w);
    qk_vec_write_case(w, &c);
    fclose(w);
    qk_vcase c2;
    f = fmemopen(buf, strlen(buf), "r");
    qk_vreader r2 = {f, "mem2", 0, 0, {0}};
    CHECK(qk_vec_read(&r2, &c2, &a) == 1, "written file unreadable: %s", r2.err);
    fclose(f);
    CHECK(c2.ntensor == 2 && !memcmp(c2.t[0].data, c.t[0].data, 12) && !memcmp(c2.t[1].data, c.t[1].data, 4),
          "round trip changed the data");
    /* and the operation reproduces the stored sum: 1 + 2 + 3 = 6 */
    CHECK(qk_vcase_compare(&c, &c2, NULL) == 0, "identical cases compare unequal");
}

TEST(vecfile_compare_reports_ulps)
{
    qk_vcase c;
    char err[256];
    read_text(GOOD, err, sizeof err, &c);
    FILE *f = fmemopen((void *)GOOD, strlen(GOOD), "r");
    qk_vreader r = {f, "mem", 0, 0, {0}};
    qk_arena a = {arena_buf, sizeof arena_buf, 0, 0};
    qk_vec_read(&r, &c, &a);
    fclose(f);
    qk_vcase got = c;
    float six_plus = nextafterf(nextafterf(6.0f, 7.0f), 7.0f);
    got.t[1].data = &six_plus;
    char out[1024] = "";
    FILE *o = fmemopen(out, sizeof out, "w");
    long bad = qk_vcase_compare(&c, &got, o);
    fclose(o);
    CHECK(bad == 1, "one mismatch expected, got %ld", bad);
    CHECK(strstr(out, "tensor s index 0") && strstr(out, "2 ulp") && strstr(out, "40c00002"), "report: %s", out);
}
