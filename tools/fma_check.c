/* fma_check.c — the project's integer-only fused multiply-add (qk__fma_soft,
 * qk__fmaf_soft in src/numerics/qk_softfp.c, SPEC §2.2) against the processor's FMA
 * instruction, and its double addition (qk__dadd_soft) against the processor's add,
 * bit for bit, over random inputs. The fma families:
 *
 *   bits       uniformly random bit patterns (NaN, inf, subnormals included)
 *   gap        random significands, exponent gap 0..60 between a*b and c, either side
 *   farexp     gaps 61..2200 (c far above or far below the product, to total absorption)
 *   cancel     c = -(a*b rounded) nudged by 0..3 ulps, both signs (massive cancellation)
 *   halfway    short significands so a*b + c lands on or next to a rounding tie
 *   sticky     a tie decided only by bits far below it: a*b an exact tie plus a tiny c,
 *              or c = ±2^k minus a product 1.000…01 × 2^(k-54) whose low bits are lost
 *              in the alignment
 *   subnormal  subnormal operands, products and results, and the normal/subnormal edge
 *   special    operands drawn from ±0, ±inf, NaN, ±min subnormal, ±max, ±1, random
 *   overflow   products and sums at the top of the range (rounding to ±inf or not)
 *
 * The addition families: bits, gap (0..60), gap33 (exponent difference 30..36 with the
 * larger operand within 2^-32 of a power of two and opposite signs: the case libgcc's
 * soft-float __adddf3 misrounds at exactly 33), farexp, cancel, halfway, subnormal,
 * special, overflow.
 *
 *   build/fma_check [N]       N cases per function (default 10000000), N/9 per family
 *
 * Prints, per precision and family, the number of cases and of mismatches (a NaN
 * result matches any NaN: payloads are outside the contract, SPEC §2), the first few
 * mismatches in hex, and the time. Exit status 1 if any mismatch. The reference is the
 * FMA instruction (x86-64: vfmadd through __builtin_fma in a function compiled for
 * target "fma", used only if CPUID reports FMA; elsewhere the C library's fma/fmaf,
 * which glibc rounds correctly). */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "qk_fp.h"

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("fma"), noinline)) static double ref_fma(double a, double b, double c)
{
    return __builtin_fma(a, b, c);
}
__attribute__((target("fma"), noinline)) static float ref_fmaf(float a, float b, float c)
{
    return __builtin_fmaf(a, b, c);
}
static int have_hw_fma(void) { __builtin_cpu_init(); return __builtin_cpu_supports("fma"); }
#else
static double ref_fma(double a, double b, double c) { return fma(a, b, c); }
static float ref_fmaf(float a, float b, float c) { return fmaf(a, b, c); }
static int have_hw_fma(void) { return 0; }
#endif

/* ------------------------------------------------------------------ generator */
static uint64_t g_s = 0x9e3779b97f4a7c15u;
static uint64_t rnd(void) /* splitmix64 */
{
    uint64_t z = (g_s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}
static int rint_in(int lo, int hi) { return lo + (int)(rnd() % (uint64_t)(hi - lo + 1)); }
static int coin(void) { return (int)(rnd() & 1); }

static double dbl(uint64_t u) { double x; memcpy(&x, &u, 8); return x; }
static uint64_t dbits(double x) { uint64_t u; memcpy(&u, &x, 8); return u; }
static float flt(uint32_t u) { float x; memcpy(&x, &u, 4); return x; }
static uint32_t fbits(float x) { uint32_t u; memcpy(&u, &x, 4); return u; }

/* ±m * 2^e with m in [1, 2) carrying `bits` random significand bits (1..53). */
static double rd(int e, int bits)
{
    uint64_t f = rnd() >> 11 | (1ull << 52);
    if (bits < 53) f &= ~((1ull << (53 - bits)) - 1);
    double m = dbl((f & 0x000fffffffffffffu) | 0x3ff0000000000000u);
    return ldexp(coin() ? -m : m, e);
}
static float rf(int e, int bits)
{
    uint32_t f = (uint32_t)(rnd() >> 41) | (1u << 23);
    if (bits < 24) f &= ~((1u << (24 - bits)) - 1);
    float m = flt((f & 0x7fffffu) | 0x3f800000u);
    return ldexpf(coin() ? -m : m, e);
}

static const double dspec[] = {0.0, -0.0, INFINITY, -INFINITY, NAN, 0x1p-1074, -0x1p-1074,
                               DBL_MAX, -DBL_MAX, 1.0, -1.0, 0x1p-1022, -0x1p-1022};
static const float fspec[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 0x1p-149f, -0x1p-149f,
                              FLT_MAX, -FLT_MAX, 1.0f, -1.0f, 0x1p-126f, -0x1p-126f};
#define NSPEC ((int)(sizeof dspec / sizeof dspec[0]))

enum { F_BITS, F_GAP, F_FAR, F_CANCEL, F_HALF, F_STICKY, F_SUB, F_SPECIAL, F_OVER, NFAM };
static const char *fam_name[NFAM] = {"bits",   "gap",       "farexp",  "cancel",  "halfway",
                                     "sticky", "subnormal", "special", "overflow"};

/* One double case of family f. The exponent of a*b is about ea + eb. */
static void gen_d(int f, double *a, double *b, double *c)
{
    int ea, eb, g;
    switch (f) {
    case F_BITS:
        *a = dbl(rnd()), *b = dbl(rnd()), *c = dbl(rnd());
        return;
    case F_GAP:
        ea = rint_in(-40, 40), eb = rint_in(-40, 40), g = rint_in(0, 60);
        *a = rd(ea, 53), *b = rd(eb, 53), *c = rd(ea + eb + (coin() ? g : -g), 53);
        return;
    case F_FAR:
        ea = rint_in(-500, 500), eb = rint_in(-500, 500), g = rint_in(61, 2200);
        *a = rd(ea, 53), *b = rd(eb, 53);
        g = coin() ? g : -g;
        if (ea + eb + g > 1023) g = 1023 - ea - eb;
        if (ea + eb + g < -1074) g = -1074 - ea - eb;
        *c = rd(ea + eb + g, 53);
        return;
    case F_CANCEL:
        *a = rd(rint_in(-60, 60), rint_in(1, 53)), *b = rd(rint_in(-60, 60), rint_in(1, 53));
        *c = -(*a * *b);
        *c = dbl(dbits(*c) + (uint64_t)rint_in(-3, 3));
        return;
    case F_HALF: {
        /* a*b exact in at most 54 bits; c a few half-ulps of round(a*b), or a short
         * value aligned so the sum's 54th bit is set (a tie) or not. */
        double p;
        int e;
        *a = rd(rint_in(-30, 30), rint_in(1, 27)), *b = rd(rint_in(-30, 30), rint_in(1, 27));
        p = *a * *b;
        frexp(p, &e);
        if (coin()) *c = ldexp((double)rint_in(-8, 8), e - 54);
        else *c = rd(e + rint_in(-2, 2), rint_in(1, 20)) + ldexp((double)rint_in(-2, 2), e - 55);
        return;
    }
    case F_STICKY: {
        int k = rint_in(-100, 100), e;
        if (coin()) { /* odd 27-bit × odd 27-bit: 54 bits (an exact tie) more often than not */
            *a = ldexp((double)((rnd() >> 38) | 1u << 26 | 1u), k - 26);
            *b = ldexp((double)(coin() ? -1 : 1) * (double)((rnd() >> 38) | 1u << 26 | 1u), rint_in(-60, 60) - 26);
            frexp(*a * *b, &e);
            *c = rd(e - 54 - rint_in(1, 90), rint_in(1, 53));
        } else { /* c = ±2^k; a*b = ∓(1 + 2^-i)(1 + 2^-j) 2^(k-54-t) */
            *c = coin() ? -ldexp(1.0, k) : ldexp(1.0, k);
            *a = ldexp(1.0 + ldexp(1.0, -rint_in(1, 52)), k - 54 - rint_in(0, 2));
            *b = (*c > 0 ? -1.0 : 1.0) * (1.0 + ldexp(1.0, -rint_in(1, 52)));
            if (coin()) *b = -*b;
        }
        return;
    }
    case F_SUB:
        ea = rint_in(-1074, 0), eb = rint_in(-1074 - ea, -1022 - ea + 60) - 1;
        *a = rd(ea, rint_in(1, 53)), *b = rd(eb, rint_in(1, 53));
        if (coin()) { double t = *a; *a = *b; *b = t; }
        switch (rint_in(0, 3)) {
        case 0: *c = rd(rint_in(-1074, -1000), 53); break;
        case 1: *c = coin() ? 0.0 : -0.0; break;
        case 2: *c = -(*a * *b); *c = dbl(dbits(*c) + (uint64_t)rint_in(-2, 2)); break;
        default: *c = rd(rint_in(-1030, -1010), rint_in(1, 53)); break;
        }
        return;
    case F_SPECIAL:
        *a = coin() ? dspec[rint_in(0, NSPEC - 1)] : rd(rint_in(-10, 10), 53);
        *b = coin() ? dspec[rint_in(0, NSPEC - 1)] : rd(rint_in(-10, 10), 53);
        *c = coin() ? dspec[rint_in(0, NSPEC - 1)] : rd(rint_in(-10, 10), 53);
        return;
    default: /* F_OVER */
        ea = rint_in(500, 1023), eb = rint_in(1018 - ea, 1026 - ea);
        *a = rd(ea, rint_in(1, 53)), *b = rd(eb, rint_in(1, 53));
        *c = coin() ? rd(rint_in(960, 1023), rint_in(1, 53)) : (coin() ? -(*a * *b) : DBL_MAX);
        if (coin()) *c = -*c;
        return;
    }
}

static void gen_f(int f, float *a, float *b, float *c)
{
    int ea, eb, g;
    switch (f) {
    case F_BITS:
        *a = flt((uint32_t)rnd()), *b = flt((uint32_t)rnd()), *c = flt((uint32_t)rnd());
        return;
    case F_GAP:
        ea = rint_in(-20, 20), eb = rint_in(-20, 20), g = rint_in(0, 60);
        *a = rf(ea, 24), *b = rf(eb, 24), *c = rf(ea + eb + (coin() ? g : -g), 24);
        return;
    case F_FAR:
        ea = rint_in(-60, 60), eb = rint_in(-60, 60), g = rint_in(61, 280);
        *a = rf(ea, 24), *b = rf(eb, 24);
        g = coin() ? g : -g;
        if (ea + eb + g > 127) g = 127 - ea - eb;
        if (ea + eb + g < -149) g = -149 - ea - eb;
        *c = rf(ea + eb + g, 24);
        return;
    case F_CANCEL:
        *a = rf(rint_in(-30, 30), rint_in(1, 24)), *b = rf(rint_in(-30, 30), rint_in(1, 24));
        *c = -(*a * *b);
        *c = flt(fbits(*c) + (uint32_t)rint_in(-3, 3));
        return;
    case F_HALF: {
        float p;
        int e;
        *a = rf(rint_in(-20, 20), rint_in(1, 13)), *b = rf(rint_in(-20, 20), rint_in(1, 13));
        p = *a * *b;
        frexpf(p, &e);
        if (coin()) *c = ldexpf((float)rint_in(-8, 8), e - 25);
        else *c = rf(e + rint_in(-2, 2), rint_in(1, 10)) + ldexpf((float)rint_in(-2, 2), e - 26);
        return;
    }
    case F_STICKY: {
        int k = rint_in(-40, 40), e;
        if (coin()) { /* odd 13-bit × odd 12-bit: 25 bits (an exact tie) about half the time */
            *a = ldexpf((float)((uint32_t)(rnd() >> 52) | 1u << 12 | 1u), k - 12);
            *b = ldexpf((float)(coin() ? -1 : 1) * (float)((uint32_t)(rnd() >> 53) | 1u << 11 | 1u), rint_in(-30, 30) - 11);
            frexpf(*a * *b, &e);
            *c = rf(e - 25 - rint_in(1, 60), rint_in(1, 24));
        } else {
            *c = coin() ? -ldexpf(1.0f, k) : ldexpf(1.0f, k);
            *a = ldexpf(1.0f + ldexpf(1.0f, -rint_in(1, 23)), k - 25 - rint_in(0, 2));
            *b = (*c > 0 ? -1.0f : 1.0f) * (1.0f + ldexpf(1.0f, -rint_in(1, 23)));
            if (coin()) *b = -*b;
        }
        return;
    }
    case F_SUB:
        ea = rint_in(-149, 0), eb = rint_in(-149 - ea, -126 - ea + 30) - 1;
        *a = rf(ea, rint_in(1, 24)), *b = rf(eb, rint_in(1, 24));
        if (coin()) { float t = *a; *a = *b; *b = t; }
        switch (rint_in(0, 3)) {
        case 0: *c = rf(rint_in(-149, -110), 24); break;
        case 1: *c = coin() ? 0.0f : -0.0f; break;
        case 2: *c = -(*a * *b); *c = flt(fbits(*c) + (uint32_t)rint_in(-2, 2)); break;
        default: *c = rf(rint_in(-135, -115), rint_in(1, 24)); break;
        }
        return;
    case F_SPECIAL:
        *a = coin() ? fspec[rint_in(0, NSPEC - 1)] : rf(rint_in(-10, 10), 24);
        *b = coin() ? fspec[rint_in(0, NSPEC - 1)] : rf(rint_in(-10, 10), 24);
        *c = coin() ? fspec[rint_in(0, NSPEC - 1)] : rf(rint_in(-10, 10), 24);
        return;
    default:
        ea = rint_in(60, 127), eb = rint_in(122 - ea, 130 - ea);
        *a = rf(ea, rint_in(1, 24)), *b = rf(eb, rint_in(1, 24));
        *c = coin() ? rf(rint_in(100, 127), rint_in(1, 24)) : (coin() ? -(*a * *b) : FLT_MAX);
        if (coin()) *c = -*c;
        return;
    }
}

/* One addition case of family f. */
double qk__dadd_soft(double a, double b); /* qk_softfp.c */
static const char *add_name[NFAM] = {"bits",     "gap",       "gap33",   "farexp",  "cancel",
                                     "halfway", "subnormal", "special", "overflow"};
static void gen_add(int f, double *a, double *b)
{
    int e = rint_in(-900, 900), g;
    switch (f) {
    case 0: *a = dbl(rnd()), *b = dbl(rnd()); return;
    case 1: g = rint_in(0, 60), *a = rd(e, 53), *b = rd(e + (coin() ? g : -g), 53); return;
    case 2: /* ±2^e (1 + k 2^-52), k < 2^20, against ∓v 2^(e-g) */
        g = rint_in(30, 36);
        *a = ldexp(1.0 + ldexp((double)(rnd() >> (coin() ? 44 : 63)), -52), e);
        if (coin()) *a = -*a;
        *b = rd(e - g, 53);
        if ((*a > 0) == (*b > 0)) *b = -*b;
        if (coin()) { double t = *a; *a = *b; *b = t; }
        return;
    case 3: g = rint_in(61, 2100), *a = rd(e, 53), *b = ldexp(rd(0, 53), e - g); return;
    case 4: *a = rd(e, rint_in(1, 53)), *b = -dbl(dbits(*a) + (uint64_t)rint_in(-3, 3)); return;
    case 5: /* short significands: sums exactly halfway or next to it */
        g = rint_in(40, 60), *a = rd(e, rint_in(1, 53)), *b = rd(e - g, rint_in(1, 4)); return;
    case 6: *a = ldexp(rd(0, 53), rint_in(-1080, -1015)), *b = ldexp(rd(0, 53), rint_in(-1080, -1015)); return;
    case 7:
        *a = coin() ? dspec[rint_in(0, NSPEC - 1)] : rd(rint_in(-10, 10), 53);
        *b = coin() ? dspec[rint_in(0, NSPEC - 1)] : rd(rint_in(-10, 10), 53);
        return;
    default: *a = rd(1023, rint_in(1, 53)), *b = rd(rint_in(960, 1023), rint_in(1, 53)); return;
    }
}

/* The processor's double addition (SSE2 addsd on x86-64), at run time. */
static volatile double g_va, g_vb;
static double hw_add(double a, double b) { g_va = a, g_vb = b; return g_va + g_vb; }

/* ------------------------------------------------------------------ the runs */
static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static long run_double(long n)
{
    long cnt[NFAM] = {0}, bad[NFAM] = {0}, total = 0;
    int shown = 0;
    double t0 = now_s();
    for (long i = 0; i < n; i++) {
        int f = (int)(i % NFAM);
        double a, b, c, s, h;
        gen_d(f, &a, &b, &c);
        s = qk__fma_soft(a, b, c), h = ref_fma(a, b, c);
        cnt[f]++;
        if (dbits(s) != dbits(h) && !(isnan(s) && isnan(h))) {
            bad[f]++;
            if (shown++ < 10)
                printf("  MISMATCH fma(%016llx, %016llx, %016llx): soft %016llx, hardware %016llx (%a vs %a)\n",
                       (unsigned long long)dbits(a), (unsigned long long)dbits(b), (unsigned long long)dbits(c),
                       (unsigned long long)dbits(s), (unsigned long long)dbits(h), s, h);
        }
    }
    printf("qk__fma_soft  against %s: %.2f s\n", have_hw_fma() ? "the FMA instruction" : "libm fma", now_s() - t0);
    for (int f = 0; f < NFAM; f++) {
        printf("  %-10s %10ld cases  %ld mismatches\n", fam_name[f], cnt[f], bad[f]);
        total += bad[f];
    }
    return total;
}

static long run_float(long n)
{
    long cnt[NFAM] = {0}, bad[NFAM] = {0}, total = 0;
    int shown = 0;
    double t0 = now_s();
    for (long i = 0; i < n; i++) {
        int f = (int)(i % NFAM);
        float a, b, c, s, h;
        gen_f(f, &a, &b, &c);
        s = qk__fmaf_soft(a, b, c), h = ref_fmaf(a, b, c);
        cnt[f]++;
        if (fbits(s) != fbits(h) && !(isnan(s) && isnan(h))) {
            bad[f]++;
            if (shown++ < 10)
                printf("  MISMATCH fmaf(%08x, %08x, %08x): soft %08x, hardware %08x (%a vs %a)\n", (unsigned)fbits(a),
                       (unsigned)fbits(b), (unsigned)fbits(c), (unsigned)fbits(s), (unsigned)fbits(h), (double)s,
                       (double)h);
        }
    }
    printf("qk__fmaf_soft against %s: %.2f s\n", have_hw_fma() ? "the FMA instruction" : "libm fmaf", now_s() - t0);
    for (int f = 0; f < NFAM; f++) {
        printf("  %-10s %10ld cases  %ld mismatches\n", fam_name[f], cnt[f], bad[f]);
        total += bad[f];
    }
    return total;
}

static long run_add(long n)
{
    long cnt[NFAM] = {0}, bad[NFAM] = {0}, total = 0;
    int shown = 0;
    double t0 = now_s();
    for (long i = 0; i < n; i++) {
        int f = (int)(i % NFAM);
        double a, b, s, h;
        gen_add(f, &a, &b);
        s = qk__dadd_soft(a, b), h = hw_add(a, b);
        cnt[f]++;
        if (dbits(s) != dbits(h) && !(isnan(s) && isnan(h))) {
            bad[f]++;
            if (shown++ < 10)
                printf("  MISMATCH add(%016llx, %016llx): soft %016llx, hardware %016llx\n", (unsigned long long)dbits(a),
                       (unsigned long long)dbits(b), (unsigned long long)dbits(s), (unsigned long long)dbits(h));
        }
    }
    printf("qk__dadd_soft against the processor's double add: %.2f s\n", now_s() - t0);
    for (int f = 0; f < NFAM; f++) {
        printf("  %-10s %10ld cases  %ld mismatches\n", add_name[f], cnt[f], bad[f]);
        total += bad[f];
    }
    return total;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 10000000L, bad;
    if (n <= 0) { fprintf(stderr, "usage: fma_check [N]\n"); return 2; }
#if defined(__x86_64__)
    if (!have_hw_fma()) {
        printf("this CPU has no FMA instruction; the reference is __builtin_fma compiled for it, which "
               "would fault. Nothing checked.\n");
        return 0;
    }
#endif
    bad = run_double(n);
    bad += run_float(n);
    bad += run_add(n);
    printf("%ld cases per function, %ld mismatches\n", n, bad);
    return bad != 0;
}
