/* qk_npy.h — minimal NumPy .npy writer (format 1.0, little-endian, C order). */
#ifndef QK_NPY_H
#define QK_NPY_H
#include <stddef.h>

/* dtype "<f4" or "<i4"; shape of ndim dims. Returns 0 or -1 (errno set). */
int qk_npy_write(const char *path, const char *dtype, const void *data, int ndim, const int *dims);
#endif
