/* qk_rng.c — SPEC §2.7: xoshiro256** (Blackman, Vigna) seeded by splitmix64.
 * Integer arithmetic only, so every target draws the same stream. */
#include "qk_fp.h"
#include <math.h> /* sqrt: IEEE-exact */
#include "qk.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void qk_rng_seed(qk_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
    r->spare = 0.0;
    r->has_spare = 0;
}

uint64_t qk_rng_u64(qk_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Top bits, exactly representable: u = m·2^-24 (float) or m·2^-53 (double). */
float qk_rng_uniformf(qk_rng *r) { return (float)(qk_rng_u64(r) >> 40) * 0x1p-24f; }
double qk_rng_uniform(qk_rng *r) { return (double)(qk_rng_u64(r) >> 11) * 0x1p-53; }

/* Marsaglia's polar method: needs only log, sqrt and division (all ours or IEEE). */
double qk_rng_normal(qk_rng *r)
{
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double u, v, s;
    do {
        u = 2.0 * qk_rng_uniform(r) - 1.0;
        v = 2.0 * qk_rng_uniform(r) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    double f = sqrt(-2.0 * qk_log(s) / s);
    r->spare = v * f;
    r->has_spare = 1;
    return u * f;
}

float qk_rng_normalf(qk_rng *r) { return (float)qk_rng_normal(r); }
