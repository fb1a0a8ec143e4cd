/* qk_npy.h — minimal NumPy .npy writer (format 1.0, little-endian, C order). */
#ifndef QK_NPY_H
#define QK_NPY_H
#include <stddef.h>
#include <stdio.h>

/* dtype "<f4" or "<i4"; shape of ndim (1 to 8) dims, onto an open stream. Returns 0,
 * or -1 when a write failed (the stream's error flag; errno set) or the shape is
 * invalid. The caller still flushes and closes f and checks that. */
int qk_npy_fwrite(FILE *f, const char *dtype, const void *data, int ndim, const int *dims);
/* The same into a new file at path (not atomic: the command-line tool writes through
 * qk_npy_fwrite and its own atomic files). Returns 0 or -1 (errno set). */
int qk_npy_write(const char *path, const char *dtype, const void *data, int ndim, const int *dims);
#endif
