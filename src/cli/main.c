/* qkspec — command-line tool. Commands: info, verify. */
/* 64-bit file offsets and inode numbers on 32-bit hosts too (readdir fails on them
 * otherwise), whatever flags the build passes. */
#ifndef _FILE_OFFSET_BITS
#define _FILE_OFFSET_BITS 64
#endif
#include "qk_fp.h"
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "qk.h"
#include "qk_io.h"
#include "qk_eigen.h"
#include "cli.h"

#ifndef QK_CLI_ARENA_BYTES
#if UINTPTR_MAX > 0xffffffffu
#define QK_CLI_ARENA_BYTES (64u << 20)
#else
#define QK_CLI_ARENA_BYTES (32u << 20) /* a 32-bit address space holds less */
#endif
#endif
int qk_cmd_eig(int argc, char **argv, int svd); /* cmd_eig.c */
int qk_cmd_dump(int argc, char **argv);          /* cmd_dump.c */
int qk_cmd_simulate(int argc, char **argv);      /* cmd_simulate.c */
int qk_cmd_train(int argc, char **argv);         /* cmd_train.c */
int qk_cmd_sweep(int argc, char **argv);         /* cmd_sweep.c */
int qk_cmd_reproduce(int argc, char **argv);     /* cmd_reproduce.c */
int qk_cmd_collapse(int argc, char **argv);      /* cmd_collapse.c */
int qk_cmd_paths(int argc, char **argv);         /* cmd_collapse.c */
int qk_cmd_collapse_sweep(int argc, char **argv); /* cmd_collapse_sweep.c */
int qk_cmd_collapse_train(int argc, char **argv); /* cmd_collapse_train.c */

static unsigned char g_arena[QK_CLI_ARENA_BYTES];

static void usage(FILE *f)
{
    fprintf(f,
            "usage: qkspec [--isa scalar|avx2|avx512|neon] [--threads N] COMMAND [ARGS]\n"
            "commands:\n"
            "  reproduce [--quick] [--out DIR]   the experiments and an HTML report (the main job)\n"
            "  info                 version, ISA paths, capacities and memory footprint\n"
            "  verify [DIR|FILE..]  check golden vectors bit for bit (default DIR: vectors)\n"
            "  eig [FILE|-] [--vectors] [--symmetrize]   eigenvalues of a symmetric matrix\n"
            "  svd [FILE|-]         singular values, descending\n"
            "  simulate [options]   eigenspectrum simulation: rho vs both closed forms (SPEC 1.3)\n"
            "  train [options]      train the language model (or --preset walk) with evaluations\n"
            "  sweep [options]      LocAteR kappa2 sweep (kappa1 = 100), baseline and sigmaReparam runs\n"
            "  collapse [options]   rank collapse along depth: r_l per variant, bound, pure exponent (SPEC 1.4)\n"
            "  collapse-sweep [options]  r_l over depth and width at initialisation, the bound's constant per\n"
            "                       layer, the cubic exponent over seeds and widths (SPEC 1.4)\n"
            "  collapse-train [options]  r_l of trained language models of every variant, at\n"
            "                       initialisation and along training (SPEC 1.4)\n"
            "  paths [options]      path decomposition check and path-length shares (SPEC 1.4)\n"
            "  dump [model options] --out DIR   one forward+backward step as .npy files\n"
            "  help                 this text\n"
            "The environment variable QKSPEC_ISA also selects the ISA path. --threads N: worker\n"
            "threads (default: the number of CPUs; 1: none); any N gives the same bits (SPEC 2.8);\n"
            "the runs that sweep and reproduce start with --jobs use one thread each.\n");
}

static const char *arch_name(void)
{
#if defined(__x86_64__)
    return "x86-64";
#elif defined(__aarch64__)
    return "aarch64";
#elif defined(__arm__)
    return "arm (32-bit)";
#elif defined(__riscv) && __riscv_xlen == 64
    return "riscv64";
#else
    return "unknown";
#endif
}

/* Runs qk_selftest() and prints its verdict; returns its status (0: all hold). */
static unsigned report_selftest(FILE *f)
{
    unsigned st = qk_selftest();
    if (!st) { fprintf(f, "self-test:    ok (no contraction, reassociation or flush-to-zero; fma and known answers exact)\n"); return 0; }
    fprintf(f, "self-test:    FAILED: this build does not compute the specified bits (SPEC 2.2):\n");
    for (int b = 0; b < QK_SELFTEST_BITS; b++)
        if (st & (1u << b)) fprintf(f, "  - %s\n", qk_selftest_str(1u << b));
    return st;
}

static int cmd_info(void)
{
    printf("qkspec %s\n", QK_VERSION);
    printf("target:       %s, %s\n", arch_name(),
#if defined(__clang__)
           "clang " __clang_version__
#elif defined(__GNUC__)
           "gcc " __VERSION__
#else
           "unknown compiler"
#endif
    );
    printf("isa paths:   ");
    for (int i = 0; i < QK_ISA_COUNT; i++)
        if (qk_isa_compiled((qk_isa)i))
            printf(" %s(%s)", qk_isa_name((qk_isa)i), qk_isa_available((qk_isa)i) ? "available" : "not on this CPU");
    printf("\nselected:     %s\n", qk_isa_name(qk_isa_current()));
    unsigned st = report_selftest(stdout);
    printf("capacities:   QK_GEMM_MC=%d QK_GEMM_KC=%d QK_GEMM_NC=%d\n", QK_GEMM_MC, QK_GEMM_KC, QK_GEMM_NC);
    printf("memory:       matrix-product packing scratch %zu bytes (stack, per call)\n", qk_gemm_stack_bytes());
    printf("              vector-reader arena %u bytes (static, command-line tool only)\n", (unsigned)QK_CLI_ARENA_BYTES);
    printf("eigensolver:  QK_EIG_MAX_N=%d, stack %zu bytes\n", QK_EIG_MAX_N, qk_eig_stack_bytes());
    printf("model:        QK_MAX_LAYERS=%d QK_MAX_D=%d QK_MAX_T=%d QK_MAX_V=%d; command-line model memory %zu MiB "
           "(static)\n", QK_MAX_LAYERS, QK_MAX_D, QK_MAX_T, QK_MAX_V, cli_model_capacity_floats() * 4 >> 20);
    printf("  preset      parameters   footprint (params+grads+Adam, activations, scratch)\n");
    static const char *presets[] = {"tiny", "small", "paper", "paper-d32", "walk"};
    for (int i = 0; i < 5; i++) {
        qk_model_config c;
        qk_model_sizes_t sz;
        qk_model_preset(presets[i], &c);
        if (qk_model_sizes(&c, &sz) != QK_OK) continue;
        size_t total = 4 * sz.params + sz.acts + sz.scratch + sz.state;
        printf("  %-10s %11zu   %8.2f MiB (%.2f + %.2f + %.2f)\n", presets[i], sz.params, total * 4.0 / 1048576,
               sz.params * 16.0 / 1048576, sz.acts * 4.0 / 1048576, sz.scratch * 4.0 / 1048576);
    }
    return st ? 1 : 0;
}

static int has_suffix(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The files to verify: allocated names in a growing array, so neither their number
 * nor their length has a limit that could drop a file without a word. */
typedef struct {
    char **v;
    int n, cap;
} path_list;

/* Appends s (allocated; owned by the list from here on); -1 when out of memory. */
static int path_add(path_list *l, char *s)
{
    if (!s) return -1;
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        char **v = l->n < (1 << 28) ? realloc(l->v, sizeof *v * (size_t)cap) : NULL;
        if (!v) { free(s); return -1; }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = s;
    return 0;
}

static void path_free(path_list *l)
{
    for (int i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
}

/* Appends the .qkv files of DIR, sorted; their number, or -1 (message printed). */
static int list_dir(const char *dir, path_list *l)
{
    DIR *d = opendir(dir);
    if (!d) { fprintf(stderr, "qkspec verify: %s: cannot read directory: %s\n", dir, strerror(errno)); return -1; }
    int n0 = l->n, err = 0;
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (!e) { err = errno; break; }
        if (has_suffix(e->d_name, ".qkv") && path_add(l, cli_path_join(dir, e->d_name))) { err = ENOMEM; break; }
    }
    closedir(d);
    if (err) { fprintf(stderr, "qkspec verify: %s: %s\n", dir, strerror(err)); return -1; }
    qsort(l->v + n0, (size_t)(l->n - n0), sizeof l->v[0], cmp_str);
    return l->n - n0;
}

/* Every case of every file, bit for bit. A file that holds no case (the header alone)
 * fails: it proves nothing, and an empty or cut-short vector file must not pass. */
static int verify_paths(const path_list *l)
{
    /* a build that fails the self-test cannot be trusted to judge the vectors either; it
     * still runs them, to show the damage, but the verdict is a failure */
    unsigned st = report_selftest(stderr);
    qk_arena a = {g_arena, sizeof g_arena, 0, 0};
    long cases = 0, bad = 0, files_bad = 0;
    for (int i = 0; i < l->n; i++) {
        long c0 = cases, b0 = bad;
        if (qk_verify_file(l->v[i], &a, stderr, &cases, &bad) < 0) files_bad++;
        else if (cases == c0) {
            fprintf(stderr, "qkspec verify: %s: no cases (only the header); a vector file holds at least one\n", l->v[i]);
            files_bad++;
        } else printf("%-40s %4ld cases  %s\n", l->v[i], cases - c0, bad == b0 ? "bit-identical" : "MISMATCH");
    }
    printf("verify [%s]: %ld cases in %d files, %ld mismatching, %ld unreadable or without cases\n",
           qk_isa_name(qk_isa_current()), cases, l->n, bad, files_bad);
    if (getenv("QKSPEC_ARENA_PEAK")) printf("reader arena peak: %lu bytes\n", (unsigned long)a.peak);
    if (st) fprintf(stderr, "qkspec verify: the self-test failed (above); this build gives other bits than the project specifies\n");
    return bad || files_bad || st ? 1 : 0;
}

static int cmd_verify(int argc, char **argv)
{
    path_list l = {NULL, 0, 0};
    const char *def = "vectors";
    if (argc == 0) { argv = (char **)&def; argc = 1; }
    int rc = 0;
    for (int i = 0; i < argc && !rc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "qkspec verify: %s: no such file or directory\n", argv[i]);
            rc = 2;
        } else if (S_ISDIR(st.st_mode)) {
            int k = list_dir(argv[i], &l);
            if (k < 0) rc = 2;
            else if (k == 0) { fprintf(stderr, "qkspec verify: %s: no .qkv files\n", argv[i]); rc = 2; }
        } else if (path_add(&l, cli_strcat3(argv[i], "", ""))) {
            fprintf(stderr, "qkspec verify: out of memory\n");
            rc = 2;
        }
    }
    if (!rc) rc = verify_paths(&l);
    path_free(&l);
    return rc;
}

/* A command's text on standard output is output too: a failed write (a full disk under
 * a redirection) fails the command with a message, never an exit 0 with a cut text. */
static int stdout_checked(int rc)
{
    int e = fflush(stdout) != 0 ? errno : 0;
    if (e || ferror(stdout)) {
        fprintf(stderr, "qkspec: error writing the standard output%s%s\n", e ? ": " : "", e ? strerror(e) : "");
        return rc ? rc : 1;
    }
    return rc;
}

static int run_command(const char *cmd, int argc, char **argv)
{
    if (!strcmp(cmd, "info")) return cmd_info();
    if (!strcmp(cmd, "verify")) return cmd_verify(argc, argv);
    if (!strcmp(cmd, "reproduce")) return qk_cmd_reproduce(argc, argv);
    if (!strcmp(cmd, "sweep")) return qk_cmd_sweep(argc, argv);
    if (!strcmp(cmd, "collapse")) return qk_cmd_collapse(argc, argv);
    if (!strcmp(cmd, "collapse-sweep")) return qk_cmd_collapse_sweep(argc, argv);
    if (!strcmp(cmd, "collapse-train")) return qk_cmd_collapse_train(argc, argv);
    if (!strcmp(cmd, "paths")) return qk_cmd_paths(argc, argv);
    if (!strcmp(cmd, "train")) return qk_cmd_train(argc, argv);
    if (!strcmp(cmd, "simulate")) return qk_cmd_simulate(argc, argv);
    if (!strcmp(cmd, "dump")) return qk_cmd_dump(argc, argv);
    if (!strcmp(cmd, "eig")) return qk_cmd_eig(argc, argv, 0);
    if (!strcmp(cmd, "svd")) return qk_cmd_eig(argc, argv, 1);
    if (!strcmp(cmd, "help")) { usage(stdout); return 0; }
    fprintf(stderr, "qkspec: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}

int main(int argc, char **argv)
{
    const char *isa = getenv("QKSPEC_ISA");
    long threads = 0; /* 0: one per CPU */
    int k = 1;
    while (k < argc && argv[k][0] == '-' && argv[k][1] == '-') {
        if (!strcmp(argv[k], "--isa") && k + 1 < argc) { isa = argv[k + 1]; k += 2; }
        else if (!strncmp(argv[k], "--isa=", 6)) { isa = argv[k] + 6; k++; }
        else if (!strcmp(argv[k], "--threads")) {
            const char *v = k + 1 < argc ? argv[k + 1] : "";
            char *end;
            threads = strtol(v, &end, 10);
            if (end == v || *end || threads < 1 || threads > 256) {
                fprintf(stderr, "qkspec: --threads: '%s' is not an integer in [1, 256]\n", v);
                return 2;
            }
            k += 2;
        }
        else if (!strcmp(argv[k], "--help")) { usage(stdout); return stdout_checked(0); }
        else { fprintf(stderr, "qkspec: unknown option '%s'\n", argv[k]); usage(stderr); return 2; }
    }
    if (isa && *isa) {
        qk_status s = qk_isa_select_name(isa);
        if (s != QK_OK) {
            fprintf(stderr, "qkspec: ISA path '%s': %s\n", isa,
                    s == QK_ERR_ARG ? "unknown (expected scalar, avx2, avx512 or neon)" : qk_status_str(s));
            return 2;
        }
    }
    cli_threads_start((int)threads);
    if (k >= argc) { usage(stderr); return 2; }
    return stdout_checked(run_command(argv[k], argc - k - 1, argv + k + 1));
}
