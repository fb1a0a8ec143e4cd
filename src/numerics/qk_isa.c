/* qk_isa.c — the one place that chooses a kernel table (SPEC §4: AVX2 by CPUID on
 * x86-64, NEON on AArch64; 32-bit ARM uses scalar only, SPEC §2.6). */
#include "qk_fp.h"
#include <string.h>
#include "qk_kernels.h"

#if defined(__x86_64__) && defined(QK_HAVE_AVX2)
#include <cpuid.h>
static int cpu_has_avx2_fma(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
    if (!(fma && osxsave && avx)) return 0;
    unsigned xlo, xhi;
    __asm__ volatile("xgetbv" : "=a"(xlo), "=d"(xhi) : "c"(0));
    if ((xlo & 6) != 6) return 0; /* OS saves XMM and YMM state */
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b >> 5) & 1;
}
#endif

static const qk_kernels *table_of(qk_isa isa)
{
    switch (isa) {
    case QK_ISA_SCALAR: return &qk__kernels_scalar;
#if defined(QK_HAVE_AVX2)
    case QK_ISA_AVX2: return &qk__kernels_avx2;
#endif
#if defined(QK_HAVE_NEON)
    case QK_ISA_NEON: return &qk__kernels_neon;
#endif
    default: return 0;
    }
}

static const qk_kernels *g_kern = 0;
static qk_isa g_isa = QK_ISA_SCALAR;

const char *qk_isa_name(qk_isa isa)
{
    static const char *names[QK_ISA_COUNT] = {"scalar", "avx2", "neon"};
    return (unsigned)isa < QK_ISA_COUNT ? names[isa] : "?";
}

int qk_isa_compiled(qk_isa isa) { return table_of(isa) != 0; }

int qk_isa_available(qk_isa isa)
{
    if (!qk_isa_compiled(isa)) return 0;
#if defined(__x86_64__) && defined(QK_HAVE_AVX2)
    if (isa == QK_ISA_AVX2) return cpu_has_avx2_fma();
#endif
    return 1;
}

static void select_default(void)
{
    qk_isa best = QK_ISA_SCALAR;
    for (int i = QK_ISA_COUNT - 1; i > 0; i--)
        if (qk_isa_available((qk_isa)i)) { best = (qk_isa)i; break; }
    g_isa = best;
    g_kern = table_of(best);
}

const qk_kernels *qk__kern(void)
{
    if (!g_kern) select_default();
    return g_kern;
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
