/* qk_npy.c — writes NumPy .npy 1.0 files: magic, header length, a Python dict
 * literal padded with spaces to a 64-byte boundary, then the raw data. */
#include "qk_fp.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "qk_npy.h"

int qk_npy_fwrite(FILE *f, const char *dtype, const void *data, int ndim, const int *dims)
{
    const unsigned one = 1;
    if (*(const unsigned char *)&one != 1 || ndim < 1 || ndim > 8) { /* the writer emits little-endian data */
        errno = EINVAL;
        return -1;
    }
    char shape[256] = "";
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        char tmp[32];
        snprintf(tmp, sizeof tmp, "%d%s", dims[i], ndim == 1 ? "," : i + 1 < ndim ? ", " : "");
        strcat(shape, tmp); /* at most 8 dimensions of at most 13 characters */
        count *= (size_t)dims[i];
    }
    char header[512];
    int n = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", dtype, shape);
    if (n < 0 || (size_t)n >= sizeof header) {
        errno = EINVAL;
        return -1;
    }
    int total = 10 + n + 1;
    int pad = (64 - total % 64) % 64;
    unsigned hl = (unsigned)(n + pad + 1);
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hl & 0xff), (unsigned char)(hl >> 8)};
    fwrite(pre, 1, 10, f);
    fwrite(header, 1, (size_t)n, f);
    for (int i = 0; i < pad; i++) fputc(' ', f);
    fputc('\n', f);
    if (count && fwrite(data, 4, count, f) != count) return -1;
    return ferror(f) ? -1 : 0;
}

int qk_npy_write(const char *path, const char *dtype, const void *data, int ndim, const int *dims)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int rc = qk_npy_fwrite(f, dtype, data, ndim, dims);
    if (fclose(f) != 0) rc = -1;
    return rc;
}
