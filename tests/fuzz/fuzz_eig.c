/* fuzz_eig.c — libFuzzer harness for the input of `qkspec eig` and `qkspec svd`
 * (src/cli/cmd_eig.c: n, then n·n numbers): the input is the text. An accepted matrix
 * goes through the symmetric eigensolver (symmetrised, with vectors) and the SVD, as
 * the commands do; messages go to stderr (run with -close_fd_mask=2). */
#include "../../src/cli/cmd_eig.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!size) return 0;
    FILE *f = fmemopen((void *)data, size, "r");
    if (!f) return 0;
    tokin t = {f, "fuzz", 1, 1};
    int n = 0, rc = read_matrix("eig", &t, &n);
    fclose(f);
    if (rc || n > 64) return 0; /* a larger matrix is read, not decomposed: seconds per input */
    static double a[64 * 64];
    memcpy(a, g_a, sizeof(double) * (size_t)n * n);
    qk_eig_info info;
    qk_svd(n, n, g_a, n, g_w, NULL, 0, NULL, 0, g_work, EIGWORK, NULL, &info);
    memcpy(g_a, a, sizeof(double) * (size_t)n * n);
    qk_symmetrize(n, g_a, n);
    qk_eigh(n, g_a, n, g_w, g_v, n, g_work, EIGWORK, NULL, &info);
    return 0;
}
