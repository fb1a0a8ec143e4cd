/* qk_fp.h — private: the floating-point rules every source file compiles under
 * (SPEC §2.1, §2.2). Every .c file of the project includes it before anything else.
 *
 * The project's bits depend on the compiler doing exactly the operations the code
 * writes. Three things break that silently, so this header stops them:
 *   1. contraction (a*b + c fused into one fma) — refused or switched off below;
 *   2. value-changing optimisations (-ffast-math and its parts) — refused below;
 *   3. a platform fma that is not correctly rounded — qk__fma/qk__fmaf below.
 * What a compiler does not announce (clang's -ffp-contract=fast or
 * -funsafe-math-optimizations, a flush-to-zero mode set at run time) is caught by the
 * run-time self-test, qk_selftest() (qk.h). */
#ifndef QK_FP_H
#define QK_FP_H

#include <float.h>
#include <math.h>

/* ISO C's own switch. clang honours it (except under -ffp-contract=fast, which the
 * self-test catches); gcc ignores it (and warns), so gcc gets the check below. */
#if !defined(__GNUC__) || defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#if !defined(FLT_EVAL_METHOD) || FLT_EVAL_METHOD != 0
#error "qkspec needs FLT_EVAL_METHOD == 0: float and double operations rounded to their own type (SPEC §2.1). On 32-bit x86 compile with -msse2 -mfpmath=sse."
#endif

#if defined(__FAST_MATH__) || defined(__ASSOCIATIVE_MATH__) || defined(__RECIPROCAL_MATH__) || \
    defined(__NO_SIGNED_ZEROS__) || (defined(__FINITE_MATH_ONLY__) && __FINITE_MATH_ONLY__)
#error "qkspec: -ffast-math (or one of its parts: -funsafe-math-optimizations, -fassociative-math, -freciprocal-math, -fno-signed-zeros, -ffinite-math-only) changes results; remove it (SPEC §2.2)."
#endif

/* gcc contracts by default in its GNU modes (-std=gnu99, gnu11, …, the default) and
 * defines no macro that says so; in ISO modes (-std=c99, __STRICT_ANSI__) it does not.
 * A GNU-mode build must say that it passes -ffp-contract=off by defining
 * QK_FP_CONTRACT_OFF (the project's build files pass both). */
#if defined(__GNUC__) && !defined(__clang__) && !defined(__STRICT_ANSI__) && !defined(QK_FP_CONTRACT_OFF)
#error "qkspec: gcc in GNU mode fuses a*b+c into one fma and changes results (SPEC §2.2). Add both -ffp-contract=off and -DQK_FP_CONTRACT_OFF to CFLAGS (or compile with -std=c99). README: 'Building with your own flags'."
#endif

/* Correctly rounded fused multiply-add (SPEC §2.2). The hardware instruction where the
 * compiler has one for the type, glibc's fma (correctly rounded in software) otherwise,
 * and the project's own (qk_softfp.c) where neither is known to be right (newlib's fma
 * is a multiply then an add; its fmaf rounds twice). QK_SOFT_FMA=1 forces the project's
 * own, for testing it against hardware. */
#if defined(QK_SOFT_FMA) && QK_SOFT_FMA
#define QK__FMA_SOFT 1
#define QK__FMAF_SOFT 1
#else
#if defined(__FP_FAST_FMA) || defined(__GLIBC__) || defined(__x86_64__) || defined(__aarch64__)
#define QK__FMA_SOFT 0
#else
#define QK__FMA_SOFT 1
#endif
#if defined(__FP_FAST_FMAF) || defined(__GLIBC__) || defined(__x86_64__) || defined(__aarch64__)
#define QK__FMAF_SOFT 0
#else
#define QK__FMAF_SOFT 1
#endif
#endif

double qk__fma_soft(double a, double b, double c);  /* qk_softfp.c */
double qk__dadd_soft(double a, double b);           /* qk_softfp.c: a + b, correctly rounded;
                                                        replaces libgcc's on soft-double ARM
                                                        (qk_softfp_arm.c) */
float qk__fmaf_soft(float a, float b, float c);     /* qk_softfp.c */

#if QK__FMA_SOFT
#define qk__fma(a, b, c) qk__fma_soft((a), (b), (c))
#else
#define qk__fma(a, b, c) fma((a), (b), (c))
#endif
#if QK__FMAF_SOFT
#define qk__fmaf(a, b, c) qk__fmaf_soft((a), (b), (c))
#else
#define qk__fmaf(a, b, c) fmaf((a), (b), (c))
#endif

#endif /* QK_FP_H */
