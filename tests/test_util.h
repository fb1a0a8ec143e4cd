/* test_util.h — helpers shared by the unit tests (not part of the library). */
#ifndef TEST_UTIL_H
#define TEST_UTIL_H

#include <math.h>
#include <stdint.h>
#include <string.h>
#include "qk.h"

static inline uint32_t tu_bits(float x) { uint32_t u; memcpy(&u, &x, 4); return u; }
static inline float tu_float(uint32_t u) { float x; memcpy(&x, &u, 4); return x; }

/* Error of float f against a higher-precision reference, in units of the float ulp
 * at the reference (the usual definition; subnormal ulp is 2^-149). */
static inline double tu_ulp_err(float f, double ref)
{
    if (isnan(ref)) return isnan(f) ? 0.0 : 1e9;
    /* at or beyond FLT_MAX + half an ulp the correctly rounded result is ±Inf */
    if (fabs(ref) >= 0x1.ffffffp127) return (isinf(f) && (f > 0) == (ref > 0)) ? 0.0 : 1e9;
    double fd = f;
    if (isinf(f)) fd = copysign(0x1p128, f); /* overflow: the value after FLT_MAX */
    double a = fabs(ref);
    int e;
    frexp(a, &e); /* a = m 2^e, m in [0.5, 1) */
    double ulp = ldexp(1.0, e - 24);
    if (ulp < 0x1p-149) ulp = 0x1p-149;
    return fabs(fd - ref) / ulp;
}

static inline void tu_fill(float *x, int n, qk_rng *r, float scale)
{
    for (int i = 0; i < n; i++) x[i] = scale * (2.0f * qk_rng_uniformf(r) - 1.0f);
}

#endif
