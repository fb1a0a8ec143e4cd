/* qk_io.h — golden-vector files (SPEC §3). Above the numerics core: uses stdio.
 *
 * Format (text, one or more cases per file):
 *
 *   qkspec-vectors 1                  magic word and format version (first line)
 *   case NAME                         starts a case
 *   op OPNAME                         the operation (qk_vop_find)
 *   param KEY INTEGER                 zero or more integer parameters
 *   in|out NAME DTYPE D1 [D2 ..]      a tensor: dtype f32 | f64 | u64, 1 to 4 dims,
 *   HEX HEX ...                       then D1·D2·.. bit patterns, 8 (f32) or 16 hex
 *                                     digits each, in row-major order
 *   end                               ends the case
 *
 * '#' starts a comment to the end of a line (the writer puts decimal values there). */
#ifndef QK_IO_H
#define QK_IO_H

#include <stdio.h>
#include "qk.h"

#define QK_VEC_VERSION 1
#define QK_VEC_MAX_TENSORS 96
#define QK_VEC_MAX_PARAMS 16
#define QK_VEC_MAX_DIMS 4
#define QK_VEC_NAME 48

typedef enum { QK_DT_F32, QK_DT_F64, QK_DT_U64 } qk_dtype;

typedef struct {
    char name[QK_VEC_NAME];
    int is_out;
    qk_dtype dt;
    int ndim, dims[QK_VEC_MAX_DIMS];
    size_t count;
    void *data; /* count elements of dt, in the arena */
    /* where the reader found it, so that an operation can name the line of a bad value
     * (qk_vtensor_line); 0 for a tensor not read from a file */
    int line, value_line, per_line; /* declaration; value 0; values per line (0: uneven) */
} qk_vtensor;

typedef struct {
    char name[QK_VEC_NAME], op[QK_VEC_NAME];
    int nparam;
    char pkey[QK_VEC_MAX_PARAMS][QK_VEC_NAME];
    long long pval[QK_VEC_MAX_PARAMS];
    int ntensor;
    qk_vtensor t[QK_VEC_MAX_TENSORS];
} qk_vcase;

/* Bump allocator over caller-owned memory. */
typedef struct {
    unsigned char *buf;
    size_t cap, used;
    size_t peak; /* largest `used` so far: the memory a board must give the reader */
} qk_arena;
void *qk_arena_take(qk_arena *a, size_t bytes); /* NULL when full */

/* Reader state for one file. */
typedef struct {
    FILE *f;
    const char *path;
    int line;
    int header_seen;
    char err[256];
} qk_vreader;

/* 1: a case was read; 0: end of file; -1: error, message in r->err ("path:line: ..."). */
int qk_vec_read(qk_vreader *r, qk_vcase *c, qk_arena *a);

void qk_vec_write_header(FILE *f);
void qk_vec_write_case(FILE *f, const qk_vcase *c);

size_t qk_dtype_size(qk_dtype dt);
const char *qk_dtype_name(qk_dtype dt);

/* Case helpers. */
qk_vtensor *qk_vcase_tensor(qk_vcase *c, const char *name); /* NULL if absent */
int qk_vcase_param(const qk_vcase *c, const char *key, long long *v); /* 1 if present */
/* The file line of value i of t: exact when every line of its values holds the same
 * number (as the writer makes them), else the declaration's line; 0 if unknown. */
int qk_vtensor_line(const qk_vtensor *t, size_t i);
qk_vtensor *qk_vcase_add(qk_vcase *c, qk_arena *a, const char *name, int is_out, qk_dtype dt,
                         int ndim, const int *dims); /* NULL when full */

/* Operations a case may name: compute every `out` tensor of c (shapes as declared)
 * from its `in` tensors, writing into `got` (a copy of c whose out tensors have
 * their own buffers). Returns 0 or -1 with a message in err. */
typedef int (*qk_vop_fn)(const qk_vcase *c, qk_vcase *got, qk_arena *a, char *err, size_t errlen);
qk_vop_fn qk_vop_find(const char *op);
/* For operations: formats an error message into err (errlen bytes) and returns -1. */
int qk_vop_error(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

const char *qk_vop_name(int i); /* NULL past the last */

/* Bit comparison of one case: returns the number of mismatching elements and prints
 * the first few to out (tensor, index, both values, distance in ulps). NaN equals NaN. */
long qk_vcase_compare(const qk_vcase *want, const qk_vcase *got, FILE *out);

/* Runs every case of one vector file through the selected ISA path and compares bit
 * for bit. Prints mismatches and errors to out. Counts are added to *cases and *bad;
 * returns 0, or -1 when the file could not be read (message printed). */
int qk_verify_file(const char *path, qk_arena *a, FILE *out, long *cases, long *bad);

#endif
