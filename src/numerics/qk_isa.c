/* qk_isa.c — the one place that chooses a kernel table (SPEC §4: AVX-512, else AVX2,
 * by CPUID on x86-64; NEON on AArch64; 32-bit ARM uses scalar only, SPEC §2.6), and
 * the parallel-for the caller lends the core (SPEC §2.8). */
#include "qk_fp.h"
#include <string.h>
#include "qk_kernels.h"

#if defined(__x86_64__) && (defined(QK_HAVE_AVX2) || defined(QK_HAVE_AVX512))
#include <cpuid.h>
/* XCR0: the state components the OS saves on a context switch */
static unsigned xcr0(void)
{
    unsigned xlo, xhi;
    __asm__ volatile("xgetbv" : "=a"(xlo), "=d"(xhi) : "c"(0));
    return xlo;
}

/* AVX2 + FMA with OS support for the YMM state */
static int cpu_has_avx2_fma(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
    if (!(fma && osxsave && avx)) return 0;
    if ((xcr0() & 6) != 6) return 0; /* OS saves XMM and YMM state */
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b >> 5) & 1;
}

/* kern_avx512.c's subsets (F, VL, DQ; it also uses AVX2 and FMA) with OS support for
 * the opmask and ZMM state: XCR0 bits 5 (opmask), 6 (ZMM0-15 upper halves), 7
 * (ZMM16-31), besides XMM and YMM. */
static int cpu_has_avx512(void)
{
    unsigned a, b, c, d;
    if (!cpu_has_avx2_fma()) return 0;
    if ((xcr0() & 0xe6) != 0xe6) return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    int f = (b >> 16) & 1, dq = (b >> 17) & 1, vl = (b >> 31) & 1;
    return f && dq && vl;
}
#endif

static const qk_kernels *table_of(qk_isa isa)
{
    switch (isa) {
    case QK_ISA_SCALAR: return &qk__kernels_scalar;
#if defined(QK_HAVE_AVX2)
    case QK_ISA_AVX2: return &qk__kernels_avx2;
#endif
#if defined(QK_HAVE_AVX512)
    case QK_ISA_AVX512: return &qk__kernels_avx512;
#endif
#if defined(QK_HAVE_NEON)
    case QK_ISA_NEON: return &qk__kernels_neon;
#endif
    default: return 0;
    }
}

static const qk_kernels_ext g_no_ext = {0, 0, 0, 0, 0, 0, 0, 0};

static const qk_kernels_ext *ext_of(qk_isa isa)
{
#if defined(QK_HAVE_AVX512)
    if (isa == QK_ISA_AVX512) return &qk__kernels_avx512_ext;
#endif
#if defined(QK_HAVE_AVX2)
    if (isa == QK_ISA_AVX2) return &qk__kernels_avx2_ext;
#endif
    (void)isa;
    return &g_no_ext;
}

static const qk_kernels *g_kern = 0;
static const qk_kernels_ext *g_ext = &g_no_ext;
static qk_isa g_isa = QK_ISA_SCALAR;

const char *qk_isa_name(qk_isa isa)
{
    static const char *names[QK_ISA_COUNT] = {"scalar", "avx2", "neon", "avx512"};
    return (unsigned)isa < QK_ISA_COUNT ? names[isa] : "?";
}

int qk_isa_compiled(qk_isa isa) { return table_of(isa) != 0; }

int qk_isa_available(qk_isa isa)
{
    if (!qk_isa_compiled(isa)) return 0;
    /* CPUID is slow under a hypervisor (a trap per call): ask once per path. The
     * answer is the same every time, so a race between threads only repeats it. */
    static signed char known[QK_ISA_COUNT] = {0};
    if (known[isa]) return known[isa] > 0;
    int yes = 1;
#if defined(__x86_64__) && defined(QK_HAVE_AVX2)
    if (isa == QK_ISA_AVX2) yes = cpu_has_avx2_fma();
#endif
#if defined(__x86_64__) && defined(QK_HAVE_AVX512)
    if (isa == QK_ISA_AVX512) yes = cpu_has_avx512();
#endif
    known[isa] = yes ? 1 : -1;
    return yes;
}

static void select_default(void)
{
    qk_isa best = QK_ISA_SCALAR;
    for (int i = QK_ISA_COUNT - 1; i > 0; i--)
        if (qk_isa_available((qk_isa)i)) { best = (qk_isa)i; break; }
    g_isa = best;
    g_ext = ext_of(best);
    g_kern = table_of(best);
}

const qk_kernels *qk__kern(void)
{
    if (!g_kern) select_default();
    return g_kern;
}

const qk_kernels_ext *qk__kern_ext(void)
{
    if (!g_kern) select_default();
    return g_ext;
}

qk_isa qk_isa_current(void)
{
    qk__kern();
    return g_isa;
}

qk_status qk_isa_select(qk_isa isa)
{
    if (!qk_isa_available(isa)) return QK_ERR_UNSUPPORTED;
    g_isa = isa;
    g_ext = ext_of(isa);
    g_kern = table_of(isa);
    return QK_OK;
}

qk_status qk_isa_select_name(const char *name)
{
    if (!name) return QK_ERR_ARG;
    for (int i = 0; i < QK_ISA_COUNT; i++)
        if (strcmp(name, qk_isa_name((qk_isa)i)) == 0) return qk_isa_select((qk_isa)i);
    return QK_ERR_ARG;
}

/* ---------------------------------------------------------------- parallel-for */
static qk_parallel_for g_par = {0, 0, 1, 0};
static int g_in_region = 0; /* set by the calling thread around run(): tasks see it set */

void qk_set_parallel(const qk_parallel_for *pf)
{
    qk_parallel_for none = {0, 0, 1, 0};
    g_par = pf && pf->run && pf->workers > 1 ? *pf : none;
}

int qk_parallel_workers(void) { return g_par.run && !g_in_region ? g_par.workers : 1; }

int qk__split_all(void) { return g_par.split_all != 0; }

void qk_parallel_run(int n, qk_task_fn task, void *arg)
{
    if (n <= 0 || !task) return;
    if (n == 1 || !g_par.run || g_in_region) {
        for (int i = 0; i < n; i++) task(arg, i);
        return;
    }
    qk__kern(); /* the table is chosen before any task can ask for it */
    g_in_region = 1;
    g_par.run(g_par.ctx, n, task, arg);
    g_in_region = 0;
}

const char *qk_status_str(qk_status s)
{
    switch (s) {
    case QK_OK: return "ok";
    case QK_ERR_ARG: return "invalid argument";
    case QK_ERR_SHAPE: return "shape mismatch";
    case QK_ERR_CAPACITY: return "size exceeds compile-time capacity";
    case QK_ERR_NONFINITE: return "non-finite value";
    case QK_ERR_NOCONVERGE: return "iteration limit reached";
    case QK_ERR_UNSUPPORTED: return "not supported by this build or CPU";
    }
    return "unknown status";
}
