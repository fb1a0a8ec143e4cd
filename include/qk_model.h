/* qk_model.h — the transformer of SPEC §1.2: the 1-layer (up to QK_MAX_LAYERS)
 * language model of the attention-localization paper and its random-walk "theory"
 * model, with hand-written reverse-mode gradients, AdamW, LocAteR and σReparam; the
 * variants of SPEC §1.4 (san, san+mlp, san+skip, pure) are options of its layer, which
 * the rank-collapse experiment (qk_collapse.h) runs as a non-causal stack.
 *
 * Memory (llm.c style): parameters, gradients, Adam moments, activations and the
 * backward scratch are each ONE caller-owned float buffer; the structs below hold
 * pointers into them. Sizes come from qk_model_sizes() for a configuration; the
 * compile-time capacities bound every size.
 *
 * Weights are stored the PyTorch way, (out, in): a linear layer is y = x Wᵀ + b. */
#ifndef QK_MODEL_H
#define QK_MODEL_H

#include "qk.h"

#ifndef QK_MAX_LAYERS
#define QK_MAX_LAYERS 48 /* the rank-collapse depth sweep (SPEC §1.4) goes to 24 */
#endif
#ifndef QK_MAX_D
#define QK_MAX_D 1024
#endif
#ifndef QK_MAX_T
#define QK_MAX_T 512
#endif
#ifndef QK_MAX_V
#define QK_MAX_V 65536
#endif

typedef enum { QK_MODEL_LM = 0, QK_MODEL_WALK = 1 } qk_model_kind;
typedef enum { QK_LN_PRE = 0, QK_LN_POST = 1, QK_LN_NONE = 2 } qk_ln_mode;
typedef enum { QK_SR_OFF = 0, QK_SR_QK = 1, QK_SR_ALL = 2 } qk_sr_mode;
/* The weight of LocAteR's R (SPEC §1.1): TOKEN adds R to the data loss averaged over its
 * N terms (N = B·T for the LM, B·d for the walk model); SUM adds R/N, as fairseq does when
 * R is added inside its summed criterion and the gradient is divided by the token count. */
typedef enum { QK_NORM_TOKEN = 0, QK_NORM_SUM = 1 } qk_locater_norm;
/* Initialisation (SPEC §1.2). LEGACY: the project's first version (q/k/v Xavier-uniform
 * gain 1/sqrt 2, out-projection and FFN Xavier-uniform gain 1, every bias 0); FAIRSEQ:
 * fairseq's transformer_lm exactly (FFN weights and biases and q/k/v biases at PyTorch's
 * nn.Linear default U(±1/sqrt(fan_in))). Embeddings, output projection, q/k/v and
 * out-projection weights and LayerNorm are the same in both. */
typedef enum { QK_INIT_LEGACY = 0, QK_INIT_FAIRSEQ = 1, QK_INIT_BERT = 2 } qk_init_mode;
/* The layer (SPEC §1.2, §1.4). A layer is an attention sub-layer, then (where the
 * variant has one) a feed-forward sub-layer, each with LayerNorm placed by cfg.ln:
 *   pre:  X <- [X +] SA(LN(X));  X <- X + FFN(LN(X))     (LM: a final LayerNorm)
 *   post: X <- LN([X +] SA(X));  X <- LN(X + FFN(X))
 *   none: X <- [X +] SA(X);      X <- X + FFN(X)
 * the attention residual [X +] present where the variant has a skip. Variants (the
 * surgery of Dong et al. on BERT, SPEC §1.4):
 *   TRANSFORMER  skip, FFN      SAN_MLP  no skip, FFN     SAN_SKIP  skip, no FFN
 *   SAN          no skip, no FFN
 *   PURE, PURE_SKIP  as SAN, SAN_SKIP without any LayerNorm (the theorem's network):
 *                the LayerNorm tensors cfg.ln lays out are kept but not used.
 * A variant without FFN does not use the FFN tensors; dff = 0 leaves them out. */
typedef enum {
    QK_VAR_TRANSFORMER = 0,
    QK_VAR_SAN,
    QK_VAR_SAN_MLP,
    QK_VAR_SAN_SKIP,
    QK_VAR_PURE,
    QK_VAR_PURE_SKIP,
    QK_NVARIANT
} qk_variant;
/* "transformer", "san", "san+mlp", "san+skip", "pure", "pure+skip"; NULL if out of range. */
const char *qk_variant_name(qk_variant v);
qk_status qk_variant_parse(const char *name, qk_variant *v); /* QK_ERR_ARG if unknown */
int qk_variant_has_ffn(qk_variant v);
int qk_variant_has_skip(qk_variant v); /* the attention sub-layer's residual */
int qk_variant_has_ln(qk_variant v);
/* The FFN's activation: ReLU (fairseq, SPEC §1.2) or GELU in erf form (BERT, §1.4). */
typedef enum { QK_ACT_RELU = 0, QK_ACT_GELU = 1 } qk_act;

typedef struct {
    qk_model_kind kind; /* LM: tokens -> next token; WALK: continuous walk -> next step */
    int V;              /* vocabulary (LM only)                                        */
    int d, H, dff, L;   /* width, heads (d % H == 0), FFN width, layers                */
    int T, B;           /* sequence length and batch                                   */
    qk_ln_mode ln;
    float ln_eps;       /* 1e-5                                                        */
    float kappa1, kappa2; /* LocAteR (SPEC §1.1); off when both are 0                  */
    qk_sr_mode sigma_reparam;
    /* AdamW, SPEC §1.2 */
    float lr, beta1, beta2, adam_eps, weight_decay;
    qk_locater_norm locater_norm; /* default TOKEN                                      */
    qk_init_mode init;            /* default LEGACY (the presets' golden vectors)        */
    float dropout;      /* P in [0, 1) on the embedding sum (LM), the attention block's
                           output and the FFN's output, in training mode only; 0: off  */
    qk_variant variant; /* default TRANSFORMER                                          */
    qk_act act;         /* default RELU                                                 */
    double init_std;    /* QK_INIT_BERT's weight std (BERT: 0.02); unused otherwise    */
} qk_model_config;

/* Parameter tensors, in storage (and initialisation) order. A tensor a configuration
 * does not use has size 0. */
enum {
    QK_P_WTE, QK_P_WOUT, QK_P_LNF_G, QK_P_LNF_B,
    QK_P_LN1_G, QK_P_LN1_B, QK_P_WQ, QK_P_BQ, QK_P_WK, QK_P_BK, QK_P_WV, QK_P_BV,
    QK_P_WO, QK_P_BO, QK_P_LN2_G, QK_P_LN2_B, QK_P_W1, QK_P_B1, QK_P_W2, QK_P_B2,
    QK_P_SR_GAMMA,
    QK_NPARAM
};
/* The linear layers σReparam can wrap, in QK_P_SR_GAMMA's order (L, 6). */
enum { QK_LIN_Q, QK_LIN_K, QK_LIN_V, QK_LIN_O, QK_LIN_1, QK_LIN_2, QK_NLIN };

typedef struct {
    float *p[QK_NPARAM];
} qk_params;

typedef struct {
    const char *name; /* e.g. "wq" (per-layer tensors have a leading L dimension) */
    int ndim, dims[3];
    size_t size;
} qk_tensor_info;

/* Sizes in floats of each buffer the caller provides. */
typedef struct {
    size_t params, acts, scratch, state;
    size_t scratch_forward; /* the part of scratch a forward-only model needs       */
    qk_tensor_info t[QK_NPARAM];
} qk_model_sizes_t;

typedef struct {
    qk_model_config cfg;
    qk_params w, g, m, v; /* parameters, gradients, Adam first and second moments  */
    float *acts;          /* activations of the last forward (for backward/metrics)*/
    float *scratch;       /* backward temporaries                                  */
    float *state;         /* σReparam power-iteration vectors (persistent, not learned) */
    long step;            /* AdamW steps taken                                     */
    float loss;           /* loss of the last forward (data term only)             */
    float reg;            /* LocAteR term of the last forward as added to the loss:
                             R (TOKEN) or R/N (SUM)                                */
    uint64_t seed;        /* qk_model_init's seed: keys the dropout masks          */
    int training;         /* 1 (set by qk_model_init): dropout active when
                             cfg.dropout > 0; 0: evaluation. A backward pass must
                             follow its forward in the same mode.                  */
} qk_model;

/* Checks cfg against the capacities and fills the sizes. */
qk_status qk_model_sizes(const qk_model_config *cfg, qk_model_sizes_t *sz);

/* Points the model into caller buffers of the sizes above (params/grads/m/v each of
 * sizes.params floats). Does not initialise. A forward-only model passes grads,
 * adam_m and adam_v NULL and needs only sizes.scratch_forward floats of scratch;
 * backward and AdamW then return QK_ERR_ARG. */
qk_status qk_model_bind(qk_model *m, const qk_model_config *cfg, float *params, float *grads,
                        float *adam_m, float *adam_v, float *acts, float *scratch, float *state);

/* Initialisation from a seed (SPEC §1.2; cfg.init chooses LEGACY or FAIRSEQ); zeroes
 * grads and moments, sets training mode. Draw order, from one generator seeded with
 * seed: wte, wout; per layer wq, wk, wv, wo, w1, w2 (each U(-a, a) as a·(2u - 1), u =
 * qk_rng_uniformf); FAIRSEQ then per layer bq, bk, bv, b1, b2 after that layer's
 * weights; with σReparam then one random unit u per linear layer, in (layer, q k v o fc1
 * fc2) order, each wrapped one power-iterated to convergence and γ = σ(W0) (SPEC §1.1).
 *
 * σReparam at initialisation: power steps (qk_model_sr_step's) are repeated until σ =
 * vᵀ W u has not changed in QK_SR_INIT_STABLE consecutive steps (bitwise), at most
 * QK_SR_INIT_MAX_STEPS; then γ = σ, so that Ŵ = (γ/σ)·W = W to float rounding at step 0
 * (the training step's own power step then moves σ by at most a few ulps).
 *
 * BERT (SPEC §1.4): every weight matrix N(0, init_std²) via qk_rng_normal (rounded to
 * float once), biases 0, LayerNorm γ = 1, β = 0. Stream layout (a tensor never depends
 * on which others the configuration has): a master generator seeded with `seed` yields
 * one 64-bit sub-seed per slot, slot = 8·l + {0 wq, 1 wk, 2 wv, 3 wo, 4 w1, 5 w2} for
 * layer l, QK_BERT_SLOT_EMBED + {0 wte, 3 wout}; each tensor is filled in row-major
 * order from its own generator seeded with its sub-seed. σReparam's vectors then come
 * from a generator seeded with `seed`, as above. */
#define QK_BERT_SLOT_EMBED 65536
qk_status qk_bert_fill(float *p, size_t n, double std, uint64_t seed, int slot);
#define QK_SR_INIT_STABLE 20
#define QK_SR_INIT_MAX_STEPS 5000
qk_status qk_model_init(qk_model *m, uint64_t seed);

/* Dropout masks (SPEC §1.2, §2.7): site 0 is the embedding sum (LM; the walk model's
 * input is not dropped and its site 0 holds 1), site 1 + 2l the
 * attention block's output of layer l (after the out-projection's bias, before the
 * residual), site 2 + 2l the FFN's output (after fc2's bias; all 1 without FFN). Element i (row-major in
 * the site's (B·T, d) tensor) at training step t (m->step, the AdamW steps taken) is
 * dropped iff (h >> 40) < floor(P·2^24), with
 *   sm(x)  = splitmix64's output from state x: z = x + 0x9e3779b97f4a7c15;
 *            z = (z ^ z>>30)·0xbf58476d1ce4e5b9; z = (z ^ z>>27)·0x94d049bb133111eb; z ^ z>>31
 *   key    = sm(sm(sm(seed ^ 0x64726f706f7574) ^ t) ^ site),  h = sm(key + i·0x9e3779b97f4a7c15)
 * (all mod 2^64). Kept elements are multiplied by 1/(1 - P) (float). Counter-based: a
 * mask depends on (seed, t, site, i) only, never on the order of evaluation, so it is
 * the same on every target, with any number of threads, and after a checkpoint restore.
 * qk_dropout_keep returns the multiplier of one element (0 or 1/(1 - P)). */
float qk_dropout_keep(uint64_t seed, uint64_t step, int site, uint64_t i, float p);
/* The masks of the last forward, (1 + 2L, B·T, d), or NULL when it used no dropout. */
const float *qk_model_dropout_masks(const qk_model *m);

/* σReparam: one power-iteration step on every wrapped weight (u, v in m->state):
 * v <- normalize(W u), u <- normalize(Wᵀ v). Call once per training step, before
 * the forward; the forward then uses σ = vᵀ W u. No-op when σReparam is off. */
void qk_model_sr_step(qk_model *m);

/* Forward pass. LM: tokens (B, T+1) ints in [0, V): predicts tokens[:,1:] from
 * tokens[:,:T]. WALK: x (B, T+1, d): predicts x[:,T] from x[:,:T]. Sets m->loss
 * (data term) and m->reg (LocAteR). Non-finite loss: QK_ERR_NONFINITE. */
qk_status qk_model_forward(qk_model *m, const int *tokens, const float *walk);

/* Zeroes the gradients, then accumulates d(loss + reg)/dθ of the last forward. */
qk_status qk_model_backward(qk_model *m);

/* One AdamW step (PyTorch's order of operations). QK_ERR_NONFINITE (and no update)
 * if any gradient is NaN or Inf. */
qk_status qk_model_adamw(qk_model *m);

/* Logits (B·T, V) of the last forward (LM), or the predictions (B, d) (WALK). */
const float *qk_model_output(const qk_model *m);

/* Views of the last forward: the hidden state entering layer l (l = 0..L; L: the last
 * layer's output, before any final LayerNorm), (B·T, d), layers consecutive; and the
 * attention matrices of layer l, (B, H, T, T), layers consecutive. */
const float *qk_model_hidden(const qk_model *m, int layer);
const float *qk_model_attention(const qk_model *m, int layer);

/* 64-bit FNV-1a hash of the parameter bytes. */
uint64_t qk_model_param_hash(const qk_model *m);

/* --------------------------------------------------------------- metrics */
/* Attention entropy of layer l in the last forward: the mean over sequences, heads
 * and query rows of -Σ_j A_ij log A_ij over the visible keys j (SPEC §1.1). */
float qk_model_attn_entropy(const qk_model *m, int layer);
/* Empirical ρ_i of layer l (SPEC §1.1): fraction of (sequence, head) pairs whose last
 * query has z_i in [0, 1]. rho: (T). */
void qk_model_rho(const qk_model *m, int layer, float *rho);

/* Per-head statistics of W_QK = W_Q,hᵀ W_K,h (d×d) of layer l, from traces:
 * mean = tr/d, scale = tr(S²) (S the symmetric part), var = (d tr(S²) - tr(S)²)/d²,
 * frob2 = ‖W_QK‖_F², trace = tr(W_QK). Uses the effective (σReparam) weights. */
typedef struct {
    double mean, scale, var, frob2, trace;
} qk_qk_stats;
void qk_model_qk_stats(const qk_model *m, int layer, int head, qk_qk_stats *st);
/* W_QK of head h in layer l into out (d, d), double. */
void qk_model_wqk(const qk_model *m, int layer, int head, double *out);

/* --------------------------------------------------------------- data */
/* One random walk of SPEC §1.3 into x (n, d): x_1 ~ N(0, Σ), x_{t+1} = x_t + N(0, Σ),
 * Σ = I when R is NULL, else Σ = RᵀR/d sampled as Rᵀz/sqrt(d). R: (d, d). */
void qk_walk_sample(qk_rng *r, float *x, int n, int d, const float *R);

/* --------------------------------------------------------------- presets */
/* "tiny", "small", "paper", "paper-d32", "walk": fills cfg; QK_ERR_ARG if unknown. */
qk_status qk_model_preset(const char *name, qk_model_config *cfg);

#endif
