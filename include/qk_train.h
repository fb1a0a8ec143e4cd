/* qk_train.h — training and evaluation of the model of qk_model.h (SPEC §1.2, §1.1):
 * training batches from a token array (language model) or fresh random walks (theory
 * model), the optimizer step with its stop on a non-finite loss or gradient, and the
 * evaluation numbers of the experiments (validation loss and perplexity, attention
 * entropy, ρ, W_QK eigen statistics and spectral norm).
 *
 * Like the model: no allocation, no I/O; every buffer belongs to the caller, with sizes
 * from qk_train_sizes(). Reading corpora, tokenising, progress lines and CSV files are
 * the caller's (the command-line tool's `train`). The same seed, configuration and
 * token array give the same bits on every target (SPEC §2).
 *
 * Data order. Training batch s draws, from a generator seeded with seed·7919 + 17:
 *   LM:   B windows of T+1 tokens, window b starting at u64() mod (n_train - T) (in
 *         batch order), from the training split [0, n_train);
 *   WALK: B random walks of T+1 steps (qk_walk_sample, Σ = I).
 * Evaluation (the model at its current parameters, nothing learned):
 *   LM:   K batches of evenly spaced windows of the validation split [n_train, n):
 *         window j = k·B + b of the K·B starts at n_train + floor(span·j/(K·B - 1)),
 *         span = n - n_train - T - 1;
 *   WALK: K batches of walks drawn once at qk_train_init from a generator seeded
 *         with 987654321.
 * The validation split is the last floor(n·val_frac) tokens (the product in double).
 *
 * A board's main: train `tiny` (byte tokens, V = 256) for 20 steps on 4 KiB of the
 * built-in synthetic corpus and print the parameter hash (no evaluation: K = 0).
 *
 *   #include <stdio.h>
 *   #include "qk_train.h"
 *   static float mem[26138];                    // 104552 B: the model (sizes.model)
 *   static int tok[12], ids[4096];              // 48 B (sizes.tokens), 16384 B
 *   static unsigned char text[4096];            // 4096 B
 *   int main(void) {
 *       qk_model_config c; qk_model m; qk_trainer t;
 *       qk_train_config tc = {1, 0, 0.1f, ids, 0};      // seed, K, val_frac, ids, n
 *       qk_model_preset("tiny", &c); c.V = 256;
 *       tc.n_ids = (long)qk_synthetic_corpus(text, sizeof text);   // 3936 bytes
 *       for (long i = 0; i < tc.n_ids; i++) ids[i] = text[i];
 *       if (qk_train_bind_model(&m, &c, mem, 26138) != QK_OK ||
 *           qk_train_init(&t, &m, &tc, tok, NULL, NULL) != QK_OK) return 1;
 *       for (int s = 0; s < 20; s++) if (qk_train_step(&t) != QK_OK) return 2;
 *       printf("%016llx\n", (unsigned long long)qk_model_param_hash(&m));
 *       return 0;
 *   }
 *
 * It prints ab6d5cd543fb8ee5, the same on every target and ISA path: the unit test
 * model_train_tiny_board_hash runs this code and checks the value on each target of the
 * suite (`build/qktest model_train_tiny_board_hash` prints it); measured also on
 * Cortex-M4 (MPS2 AN386) and Cortex-M3 (MPS2 AN385, no FPU) under qemu-system-arm,
 * linked with src/port/mps2_start.c.
 * Memory, from qk_train_sizes (tiny, V = 256, K = 0): the model 26138 floats = 104552
 * bytes (4 × 4576 for parameters, gradients and Adam moments; 4120 activations; 3714
 * scratch), the batch 12 ints = 48 bytes; with the corpus and its ids, 125080 bytes of
 * static storage. Stack: the matrix product's packing scratch, qk_gemm_stack_bytes(),
 * is 360448 bytes at the default blocks; a board compiles with -DQK_GEMM_MC=8
 * -DQK_GEMM_KC=32 -DQK_GEMM_NC=16 (3072 bytes; the blocks never change a bit), and the
 * whole program then peaks at 5.6 KB of stack (measured on the Cortex-M runs above).
 * Evaluation (K >= 1) adds sizes.work doubles (313 for tiny with K = 2) and
 * qk_eig_stack_bytes() of stack; the walk model, QK_MAX_D·8 bytes in qk_walk_sample. */
#ifndef QK_TRAIN_H
#define QK_TRAIN_H

#include "qk_model.h"

typedef struct {
    uint64_t seed;      /* model initialisation (qk_model_init) and the training data order */
    int eval_batches;   /* K: validation batches per qk_train_eval; 0: no evaluation        */
    float val_frac;     /* LM: fraction of the tokens held out for validation, in [0, 1)    */
    const int *ids;     /* LM: the token array (n_ids), ids in [0, V); WALK: NULL           */
    long n_ids;
} qk_train_config;

/* Sizes of the trainer's buffers; the model buffers come first, in one float array. */
typedef struct {
    qk_model_sizes_t m;   /* the model's own sizes                                        */
    size_t model;         /* floats: 4·params + acts + scratch + state (qk_train_bind_model) */
    size_t tokens;        /* ints: one batch (B, T+1) (LM; 0 for WALK)                    */
    size_t walks;         /* floats: WALK: the training batch and the K validation batches
                             ((1 + K)·B, T+1, d); LM: 0                                   */
    size_t work;          /* doubles: evaluation workspace (0 when K = 0)                 */
    size_t bytes;         /* all of the above in bytes (not the token array, not the stack) */
} qk_train_sizes_t;

typedef enum {
    QK_TRAIN_RUNNING = 0,
    QK_TRAIN_NONFINITE_LOSS, /* the loss (data term + LocAteR) of a training batch */
    QK_TRAIN_NONFINITE_GRAD  /* a gradient; the parameters were not updated         */
} qk_train_stop;

typedef struct {
    qk_model *m;
    qk_train_config cfg;
    long n_train;         /* LM: size of the training split; validation is [n_train, n_ids) */
    int *tok;             /* (B, T+1) current batch (LM)                                  */
    float *walk;          /* (B, T+1, d) current batch (WALK)                             */
    float *eval_walk;     /* (K, B, T+1, d) validation walks (WALK)                       */
    double *work;         /* evaluation workspace, sizes.work doubles (NULL: none)        */
    qk_rng rng;           /* training data order                                          */
    long step;            /* optimizer steps taken                                        */
    float loss;           /* data loss of the last training batch (NaN before step 1)     */
    qk_train_stop stop;   /* why training stopped (sticky)                                */
    long stop_step;       /* the 1-based step that stopped it, 0 while running            */
} qk_trainer;

/* Evaluation numbers (layer 0; per-head statistics averaged over the heads). */
typedef struct {
    long step;            /* trainer's step count                                          */
    double train_loss;    /* data loss of the last training batch (NaN before step 1)      */
    double val_loss;      /* mean data loss over the K validation batches                  */
    double val_ppl;       /* LM: qk_exp(val_loss); WALK: NaN                               */
    double reg;           /* LocAteR penalty (a function of the parameters only)           */
    double entropy;       /* attention entropy, mean over the K batches                    */
    double eig_mean, eig_scale, eig_var, frob2, trace; /* qk_qk_stats, mean over heads     */
    double spectral_norm; /* ‖W_QK,h‖₂ (qk_spectral_norm), mean over heads                 */
} qk_train_metrics;

/* Fills sz for model configuration mc and trainer configuration tc (tc->ids and n_ids
 * are not read). QK_ERR_ARG / QK_ERR_CAPACITY as qk_model_sizes, or K < 0. */
qk_status qk_train_sizes(const qk_model_config *mc, const qk_train_config *tc, qk_train_sizes_t *sz);

/* Binds m into one float buffer mem of n >= sizes.model floats, in the order
 * parameters, gradients, Adam m, Adam v, activations, scratch, state. Does not
 * initialise (qk_train_init does). QK_ERR_CAPACITY if n is too small. */
qk_status qk_train_bind_model(qk_model *m, const qk_model_config *mc, float *mem, size_t n);

/* Training split of n tokens: n_train = n - floor(n·val_frac). QK_ERR_ARG if either
 * split is shorter than T + 2 tokens (or val_frac is outside [0, 1)). */
qk_status qk_train_split(long n, float val_frac, int T, long *n_train);

/* Starts training a bound model: initialises it from tc->seed (qk_model_init), seeds
 * the data order, checks the token array (LM: the split as qk_train_split; ids are
 * range-checked by the forward pass, as QK_ERR_ARG), and for WALK with K >= 1 draws
 * the validation walks. Buffers of the sizes above: tokens (LM), walks (WALK), work
 * (K >= 1; NULL otherwise). tc is copied; the token array is not. */
qk_status qk_train_init(qk_trainer *t, qk_model *m, const qk_train_config *tc, int *tokens, float *walks,
                        double *work);

/* One optimizer step: next batch, σReparam power step, forward (training mode: the
 * dropout masks of step m->step, qk_model.h), backward, AdamW.
 * A non-finite loss or gradient stops training: t->stop says which, t->stop_step is
 * the step's number (t->step + 1; the parameters are those after t->step steps), and
 * this and every later call return QK_ERR_NONFINITE. Other errors (an id out of
 * range: QK_ERR_ARG) are returned without stopping. */
qk_status qk_train_step(qk_trainer *t);

/* Evaluates the current parameters on the K validation batches (needs K >= 1 and
 * work), with dropout off (m->training is 0 during its forward passes and 1 after).
 * rho: (T) ρ_i of layer 0 averaged over the batches, or NULL. Overwrites the
 * model's activations and m->loss/m->reg (a following step recomputes them).
 * QK_ERR_NONFINITE if a validation loss is non-finite, QK_ERR_ARG for an id out of
 * range (e is then not filled). */
qk_status qk_train_eval(qk_trainer *t, qk_train_metrics *e, float *rho);

/* qk_train_eval (e and rho exactly as it fills them), and per layer l < L (any may be
 * NULL): entropy_l[l], the attention entropy of layer l (mean over its heads and the K
 * batches), and rho_l[l·T + i], the ρ_i of layer l averaged over the batches (float
 * sums of ρ/K in batch order; rho_l holds (L + 1)·T floats, the last row is scratch).
 * Layer 0's entropy is e->entropy. */
qk_status qk_train_eval_layers(qk_trainer *t, qk_train_metrics *e, float *rho, double *entropy_l, float *rho_l);

/* Eigenvalues (d, ascending) of the symmetric part of W_QK of layer 0, head 0, into w;
 * NaN where the eigensolver fails. Needs work (K >= 1). */
qk_status qk_train_qk_eigenvalues(qk_trainer *t, double *w);

/* The trainer's state as bytes, for checkpoints: everything a run needs to continue
 * bit for bit (parameters, AdamW moments and step, σReparam vectors, the data-order
 * generator with its spare normal, the step count and the last training loss), in a
 * fixed little-endian layout that is the same on every target:
 *   "QKTS", u32 version 1, u32 model kind, u32 reserved 0, u64 floats per parameter
 *   buffer (P), u64 σReparam floats (S), u64 trainer step, u64 AdamW step, 4 × u64
 *   generator words, u64 bits of the spare normal, u32 has-spare, u32 bits of the last
 *   loss, then P parameters, P first and P second moments, S σReparam floats (u32 bits).
 * Gradients, activations and batches are not state: the next step recomputes them.
 * The data themselves (tokens, the corpus) are the caller's to check. */
size_t qk_train_state_size(const qk_trainer *t);
/* Writes the state into buf (n >= qk_train_state_size bytes); QK_ERR_CAPACITY otherwise. */
qk_status qk_train_save_state(const qk_trainer *t, void *buf, size_t n);
/* Restores a state saved from a trainer of the same model configuration into t, which
 * qk_train_init has set up (tokens, walks, work bound). QK_ERR_ARG, and t unchanged,
 * if n is not the size for this trainer, the header is not version 1 for this model
 * kind and sizes, or a count is out of range. Clears a non-finite stop. */
qk_status qk_train_load_state(qk_trainer *t, const void *buf, size_t n);

/* The built-in synthetic corpus: English-like sentences from a small fixed grammar
 * (always the same text, on every target and compiler) into buf; returns its length,
 * less than min(cap, QK_SYNTHETIC_CORPUS_MAX) (2096984 bytes when cap allows). A
 * smaller cap gives a prefix of the same text. */
#define QK_SYNTHETIC_CORPUS_MAX ((size_t)2 << 20)
size_t qk_synthetic_corpus(unsigned char *buf, size_t cap);

/* The board example above as one call, for the boards' program and the tests: tiny
 * (V = 256), seed 1, `steps` training steps on the first 4 KiB of the synthetic corpus,
 * no evaluation, in caller memory (125080 bytes, static on a board). Fills the
 * parameter hash and the losses of the first and the last step. QK_ERR_CAPACITY if the
 * sizes of the preset no longer match the struct (then update it and the text above). */
typedef struct {
    float model[26138]; /* qk_train_sizes(...).model for tiny, V = 256 */
    int tok[12], ids[4096];
    unsigned char text[4096];
} qk_train_example_mem;
qk_status qk_train_example(qk_train_example_mem *mem, int steps, uint64_t *hash, float *first_loss,
                           float *last_loss);

#endif
