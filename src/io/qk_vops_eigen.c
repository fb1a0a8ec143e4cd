/* qk_vops_eigen.c — vector-file operations of the eigensolver (placeholder). */
#include <stddef.h>
#include "qk_io.h"
qk_vop_fn qk_vop_find_eigen(const char *op)
{
    (void)op;
    return NULL;
}
