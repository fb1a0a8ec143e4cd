/* cmd_eig.c — `qkspec eig` and `qkspec svd` (placeholder). */
#include <stdio.h>
int qk_cmd_eig(int argc, char **argv, int svd)
{
    (void)argc; (void)argv; (void)svd;
    fprintf(stderr, "qkspec: eig/svd not built yet\n");
    return 2;
}
