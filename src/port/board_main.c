/* board_main.c — the qkspec program for a bare-metal board: the self-test, the golden
 * vectors through the board's file I/O (semihosting under QEMU), and a short training
 * of the tiny preset. No directory listing exists on a board, so `verify DIR` reads the
 * vector files named at build time (vector_files.h, generated from vectors/ by the
 * target's build file). Prints with C89 formats only (newlib-nano has no %zu or %ll).
 *
 *   qkspec verify [DIR|FILE.qkv ...]   summary line as the host's `qkspec verify`
 *   qkspec info                        self-test, capacities, stack
 *   qkspec train                       20 AdamW steps of the tiny preset, parameter hash */
#include "qk_fp.h"
#include <stdio.h>
#include <string.h>
#include "port.h"
#include "qk.h"
#include "qk_eigen.h"
#include "qk_io.h"
#include "qk_train.h"
#include "vector_files.h" /* static const char *const qk__vector_files[] = {"a.qkv", ...}; */

#ifndef QK_BOARD_ARENA_BYTES
#define QK_BOARD_ARENA_BYTES (1u << 20)
#endif
/* The reader's memory: the largest case (a model trajectory) needs 625,024 bytes. */
static unsigned char g_arena[QK_BOARD_ARENA_BYTES] __attribute__((section(".bigram"), aligned(16)));

static unsigned selftest(void)
{
    unsigned st = qk_selftest();
    if (!st) { printf("self-test: ok\n"); return 0; }
    printf("self-test: FAILED: this build does not compute the specified bits (SPEC 2.2):\n");
    for (int b = 0; b < QK_SELFTEST_BITS; b++)
        if (st & (1u << b)) printf("  - %s\n", qk_selftest_str(1u << b));
    return st;
}

static int has_suffix(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

static int verify_one(const char *path, qk_arena *a, long *cases, long *bad, long *unreadable)
{
    long c0 = *cases, b0 = *bad;
    if (qk_verify_file(path, a, stdout, cases, bad) < 0) { (*unreadable)++; return 1; }
    printf("%-40s %4ld cases  %s\n", path, *cases - c0, *bad == b0 ? "bit-identical" : "MISMATCH");
    return 0;
}

static int cmd_verify(int argc, char **argv)
{
    static const char *def[] = {"vectors"};
    if (argc == 0) { argc = 1; argv = (char **)def; }
    unsigned st = selftest();
    qk_arena a = {g_arena, sizeof g_arena, 0, 0};
    long cases = 0, bad = 0, unreadable = 0, files = 0;
    char path[256];
    for (int i = 0; i < argc; i++) {
        if (has_suffix(argv[i], ".qkv")) { files++; verify_one(argv[i], &a, &cases, &bad, &unreadable); continue; }
        for (size_t k = 0; k < sizeof qk__vector_files / sizeof qk__vector_files[0]; k++) {
            snprintf(path, sizeof path, "%s/%s", argv[i], qk__vector_files[k]);
            files++;
            verify_one(path, &a, &cases, &bad, &unreadable);
        }
    }
    printf("verify [%s]: %ld cases in %ld files, %ld mismatching, %ld unreadable\n", qk_isa_name(qk_isa_current()),
           cases, files, bad, unreadable);
    printf("reader memory peak %lu bytes, stack high-water %lu of %lu bytes\n", (unsigned long)a.peak,
           (unsigned long)qk_port_stack_peak(), (unsigned long)qk_port_stack_size());
    return bad || unreadable || st || cases == 0 ? 1 : 0;
}

static int cmd_info(void)
{
    printf("qkspec %s on bare metal (%s)\n", QK_VERSION,
#if defined(__ARM_ARCH_7EM__) && defined(__ARM_FP) && (__ARM_FP & 8)
           "Armv7E-M, single- and double-precision FPU"
#elif defined(__ARM_ARCH_7EM__) && defined(__ARM_FP)
           "Armv7E-M, single-precision FPU, double in software"
#elif defined(__ARM_ARCH_7M__) || defined(__ARM_ARCH_7EM__)
           "Armv7-M, no FPU, all floating point in software"
#else
           "unknown"
#endif
    );
    unsigned st = selftest();
    printf("capacities: QK_GEMM_MC=%d QK_GEMM_KC=%d QK_GEMM_NC=%d (packing scratch %lu bytes of stack), "
           "QK_EIG_MAX_N=%d (%lu bytes of stack)\n", QK_GEMM_MC, QK_GEMM_KC, QK_GEMM_NC,
           (unsigned long)qk_gemm_stack_bytes(), QK_EIG_MAX_N, (unsigned long)qk_eig_stack_bytes());
    printf("stack high-water %lu of %lu bytes\n", (unsigned long)qk_port_stack_peak(),
           (unsigned long)qk_port_stack_size());
    return st ? 1 : 0;
}

/* The tiny preset trained for 20 steps on the library's synthetic corpus (qk_train.h's
 * board example): the parameter hash must equal the host's (tests/run.sh compares). */
static int cmd_train(void)
{
    static qk_train_example_mem mem;
    uint64_t h = 0;
    float first = 0, last = 0;
    qk_port_stack_repaint();
    qk_status s = qk_train_example(&mem, 20, &h, &first, &last);
    if (s != QK_OK) { printf("train: %s\n", qk_status_str(s)); return 1; }
    printf("train tiny: 20 steps, loss %.6f -> %.6f, parameter hash %08lx%08lx\n", (double)first, (double)last,
           (unsigned long)(h >> 32), (unsigned long)(h & 0xffffffffu));
    printf("training stack high-water %lu bytes, static model memory %lu bytes\n",
           (unsigned long)qk_port_stack_peak(), (unsigned long)sizeof mem);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "verify")) return cmd_verify(argc - 2, argv + 2);
    if (argc >= 2 && !strcmp(argv[1], "info")) return cmd_info();
    if (argc >= 2 && !strcmp(argv[1], "train")) return cmd_train();
    printf("usage: qkspec verify [DIR|FILE.qkv ...] | info | train\n");
    return 2;
}
