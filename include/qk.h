/* qk.h — qkspec numerics core: the public API.
 *
 * Read top to bottom: status codes, capacities, matrix views, products, vector
 * reductions, softmax and LayerNorm, the project's own transcendentals, the random
 * generator, and ISA-path selection.
 *
 * Contract (SPEC §2): every function here gives identical bits on every supported
 * target and ISA path, for any optimisation level, except that the payload bits of a
 * NaN result are not specified (IEEE 754 leaves them open); a NaN stays a NaN.
 *
 * The core never allocates and does no I/O. All memory is owned by the caller; the
 * only automatic storage is the matrix-product packing scratch, bounded at compile
 * time by QK_GEMM_MC/KC/NC (see qk_gemm_stack_bytes()).
 */
#ifndef QK_H
#define QK_H

#include <stddef.h>
#include <stdint.h>

#define QK_VERSION "0.1.0"

/* ---------------------------------------------------------------- status codes */
typedef enum {
    QK_OK = 0,
    QK_ERR_ARG,        /* a null pointer or a nonsensical argument              */
    QK_ERR_SHAPE,      /* tensor shapes do not agree                            */
    QK_ERR_CAPACITY,   /* a size exceeds a compile-time capacity                */
    QK_ERR_NONFINITE,  /* NaN or Inf where a finite value is required           */
    QK_ERR_NOCONVERGE, /* an iteration hit its limit                            */
    QK_ERR_UNSUPPORTED /* e.g. an ISA path that this build or CPU does not have */
} qk_status;

const char *qk_status_str(qk_status s);

/* ---------------------------------------------------------------- capacities */
/* Packing blocks of the matrix product (floats). Cross targets with small stacks
 * (Cortex-M) override them with -D. Changing them never changes a result bit. */
#ifndef QK_GEMM_MC
#define QK_GEMM_MC 96
#endif
#ifndef QK_GEMM_KC
#define QK_GEMM_KC 256
#endif
#ifndef QK_GEMM_NC
#define QK_GEMM_NC 256
#endif
size_t qk_gemm_stack_bytes(void);

/* ---------------------------------------------------------------- matrix views */
/* A row-major view: element (i, j) is data[i*stride + j], stride >= cols. */
typedef struct {
    int rows, cols, stride;
    float *data;
} qk_mat;

qk_mat qk_mat_view(float *data, int rows, int cols, int stride);

/* Matrix product C = op(A)·op(B) (+ C when QK_ACCUMULATE), op = transpose when the
 * flag says so. SPEC §2.3: every C[i][j] is one FMA chain over k = 0..K-1 in
 * increasing order, starting from 0 (overwrite) or from the old C[i][j] (accumulate).
 * C must not overlap A or B. */
enum { QK_TRANS_A = 1, QK_TRANS_B = 2, QK_ACCUMULATE = 4 };
qk_status qk_matmul(qk_mat *C, const qk_mat *A, const qk_mat *B, int flags);

/* ---------------------------------------------------------------- reductions */
/* SPEC §2.4: eight virtual lanes, element i in lane i mod 8, lanes start at +0,
 * combined as s_k = l_k + l_{k+4}; t0 = s0 + s2; t1 = s1 + s3; result = t0 + t1.
 * qk_dot accumulates each lane with fmaf(x_i, y_i, lane). */
float qk_sum(const float *x, int n);                 /* x: (n) */
float qk_dot(const float *x, const float *y, int n); /* x, y: (n) */

/* ---------------------------------------------------------------- softmax */
/* Row softmax of a (rows, cols) matrix. With causal != 0, row i sees only columns
 * j <= i and the rest of the row is set to 0. y_j = e_j / sum, e_j = qk_expf(x_j - max),
 * sum by qk_sum. x and y may be the same matrix. */
qk_status qk_softmax_forward(qk_mat *y, const qk_mat *x, int causal);
/* dx_j += y_j (dy_j - <y, dy>) over the visible columns; <y, dy> by qk_dot. */
qk_status qk_softmax_backward(qk_mat *dx, const qk_mat *y, const qk_mat *dy, int causal);

/* ---------------------------------------------------------------- LayerNorm */
/* Per row of x (T, C): mean = sum/C, var = dot(x-mean, x-mean)/C (biased),
 * rstd = 1/sqrtf(var + eps), y = ((x - mean)·rstd)·gamma + beta.
 * mean and rstd (T) are written for the backward pass. y must not alias x. */
qk_status qk_layernorm_forward(qk_mat *y, float *mean, float *rstd, const qk_mat *x,
                               const float *gamma, const float *beta, float eps);
/* Accumulates into dx (T, C), dgamma (C), dbeta (C). scratch: 2*C floats. */
qk_status qk_layernorm_backward(qk_mat *dx, float *dgamma, float *dbeta, const qk_mat *dy,
                                const qk_mat *x, const float *mean, const float *rstd,
                                const float *gamma, float *scratch);

/* ---------------------------------------------------------------- transcendentals */
/* SPEC §2.5: built from IEEE operations, fma and bit manipulation; no libm. The float
 * functions evaluate in double and round once (see README for measured accuracy). */
float qk_expf(float x);
float qk_logf(float x);
float qk_tanhf(float x);
float qk_gelu_tanhf(float x); /* 0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x^3))) */
float qk_gelu_erff(float x);  /* 0.5x(1 + erf(x/sqrt(2)))                     */
double qk_exp(double x);
double qk_log(double x);
double qk_erf(double x);
double qk_erfc(double x);
double qk_sin(double x); /* |x| < 2^20 (within 3.4 ulp); NaN outside, sin(±0) = ±0 */
double qk_cos(double x); /* |x| < 2^20 (within 3.4 ulp); NaN outside                 */
void qk_vexpf(float *y, const float *x, int n); /* y_i = qk_expf(x_i); y may be x */
void qk_vgelu_erff(float *y, const float *x, int n); /* y_i = qk_gelu_erff(x_i); y may be x */

/* ---------------------------------------------------------------- random numbers */
/* SPEC §2.7: xoshiro256** seeded through splitmix64 from one 64-bit integer. */
typedef struct {
    uint64_t s[4];
    double spare;   /* second variate of the last polar-method pair */
    int has_spare;
} qk_rng;

void qk_rng_seed(qk_rng *r, uint64_t seed);
uint64_t qk_rng_u64(qk_rng *r);
float qk_rng_uniformf(qk_rng *r);           /* [0, 1), 24 random bits            */
double qk_rng_uniform(qk_rng *r);           /* [0, 1), 53 random bits            */
double qk_rng_normal(qk_rng *r);            /* N(0,1), Marsaglia polar, qk_log   */
float qk_rng_normalf(qk_rng *r);            /* (float)qk_rng_normal              */

/* ---------------------------------------------------------------- ISA paths */
/* One kernel table per path. The default is the best path the CPU supports (x86-64:
 * avx512, else avx2; AArch64: neon); qk_isa_select forces one ("scalar", "avx2",
 * "avx512", "neon"). All give identical bits. */
typedef enum { QK_ISA_SCALAR = 0, QK_ISA_AVX2, QK_ISA_NEON, QK_ISA_AVX512, QK_ISA_COUNT } qk_isa;

const char *qk_isa_name(qk_isa isa);
int qk_isa_compiled(qk_isa isa);   /* built into this binary            */
int qk_isa_available(qk_isa isa);  /* compiled and supported by this CPU */
qk_isa qk_isa_current(void);
qk_status qk_isa_select(qk_isa isa);
qk_status qk_isa_select_name(const char *name);

/* ---------------------------------------------------------------- parallel work */
/* The core has no threads and allocates nothing; a caller that has threads lends them
 * through a parallel-for. run(ctx, n, task, arg) must call task(arg, i) exactly once
 * for every i in [0, n), on any threads and in any order, and return when all calls
 * have returned; workers says how many calls it runs at once (the core cuts work into
 * about that many pieces). SPEC §2.8: work is split only across independent outputs
 * (product tiles, batch rows, heads, the rotation sets of one Jacobi step), never
 * across a reduction, so the bits are the same with any parallel-for, any number of
 * workers, or none. Without one (the default, and on a board) everything runs in the
 * calling thread.
 * The core uses it only from the thread that called into the core, one parallel region
 * at a time; a call made from inside a task runs serially. Install it before using the
 * core from that thread, not while a call is running. */
typedef void (*qk_task_fn)(void *arg, int i);
typedef struct {
    void (*run)(void *ctx, int n, qk_task_fn task, void *arg);
    void *ctx;
    int workers;
    int split_all; /* nonzero: split work of any size, not only where it pays (slower; for
                      checking that the split never changes a bit, e.g. on small inputs) */
} qk_parallel_for;

void qk_set_parallel(const qk_parallel_for *pf); /* copied; NULL or workers <= 1: serial */
int qk_parallel_workers(void);                   /* 1 when serial                        */
/* For the layers above the core (model, experiments): task(arg, i) for i in [0, n)
 * through the installed parallel-for, or in order in the calling thread (serially
 * also when called from inside a task, or when n <= 1). Tasks must write disjoint
 * outputs. */
void qk_parallel_run(int n, qk_task_fn task, void *arg);

/* ---------------------------------------------------------------- self-test */
/* Run-time proof that this build computes the specified bits (SPEC §2.2): canaries for
 * what a compiler's flags or the platform may change silently, and known answers of
 * LayerNorm, the softmax backward pass, the normals, erf/erfc/exp and expf taken from
 * the golden vectors. Returns 0 when all hold, else an OR of the bits below; call it
 * from a board's main before trusting any result. No I/O, no allocation, about 2 KB of
 * stack. `qkspec verify` and `qkspec info` run it. */
enum {
    QK_SELFTEST_CONTRACTION = 1u << 0,   /* a*b + c fused into one fma            */
    QK_SELFTEST_REASSOCIATION = 1u << 1, /* additions regrouped, x/y as x*(1/y)   */
    QK_SELFTEST_FLUSH_TO_ZERO = 1u << 2, /* subnormals flushed or read as zero    */
    QK_SELFTEST_FMA = 1u << 3,           /* the fma in use is not correctly rounded */
    QK_SELFTEST_ARITHMETIC = 1u << 4,    /* sqrt or a double subtraction misrounds */
    QK_SELFTEST_KNOWN_ANSWERS = 1u << 5, /* a routine differs from the golden bits */
    QK_SELFTEST_BITS = 6
};
unsigned qk_selftest(void);
const char *qk_selftest_str(unsigned bit); /* one bit: what it means and what to do */

#endif /* QK_H */
