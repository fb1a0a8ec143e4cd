/* qk_collapse.h — rank collapse in deep attention (SPEC §1.4; Dong, Cordonnier,
 * Loukas 2021): a stack of L post-LN self-attention layers in the paper's variants,
 * BERT initialisation, the residual ratio r_l with the composite norm, the
 * singular-value view, the bound of the paper's theorem evaluated from the weights,
 * and the path decomposition.
 *
 * Experiments layer: the stack IS the model of qk_model.h (its layer, SPEC §1.2,
 * §1.4), run as a continuous, non-causal stack (kind WALK, one sequence of n tokens),
 * post-LN, GELU FFN, BERT initialisation, the variant an option of each forward. This
 * file adds the experiment's input embedding, metrics, bound and paths; no allocation,
 * no I/O. Memory (llm.c style): parameters, activations and scratch are each ONE
 * caller-owned float buffer, carved by qk_collapse_bind; qk_collapse_sizes gives their
 * lengths and checks the capacities (the model's).
 *
 * Weights are stored the PyTorch way, (out, in): a linear layer is y = x Wᵀ + b.
 * Shapes are written (rows, cols); X is (n, d), one token per row.
 *
 * Contract (SPEC §2): every output is identical bit for bit on every target and ISA
 * path at any optimisation level. */
#ifndef QK_COLLAPSE_H
#define QK_COLLAPSE_H

#include "qk.h"
#include "qk_model.h"

/* Capacities: the model's. The paper's setting (n = 128, d = 768, H = 12, L = 12) fits. */
#define QK_COL_MAX_L QK_MAX_LAYERS
#define QK_COL_MAX_D QK_MAX_D
#define QK_COL_MAX_N QK_MAX_T
#ifndef QK_COL_MAX_V
#define QK_COL_MAX_V 65536
#endif

/* The variants in the order of the paper's figure (the model's qk_variant, SPEC §1.4):
 *   SAN          X <- LN(SA(X))
 *   SAN_MLP      X <- LN(SA(X));  X <- LN(X + FFN(X))
 *   SAN_SKIP     X <- LN(X + SA(X))
 *   TRANSFORMER  X <- LN(X + SA(X));  X <- LN(X + FFN(X))
 *   PURE         X <- SA(X)                 (no LayerNorm: the theorem's SAN)
 *   PURE_SKIP    X <- X + SA(X)             (no LayerNorm; the (1+H)^L paths)
 * SA(X) = concat_h(P_h V_h) W_Oᵀ + b_O with Q = X W_Qᵀ + b_Q (likewise K, V),
 * P_h = softmax(Q_h K_hᵀ · (1/sqrt(d_h))) over all n keys (no mask), d_h = d/H.
 * FFN(X) = gelu(X W_1ᵀ + b_1) W_2ᵀ + b_2, gelu = qk_gelu_erff. */
typedef enum {
    QK_COL_SAN = 0,
    QK_COL_SAN_MLP,
    QK_COL_SAN_SKIP,
    QK_COL_TRANSFORMER,
    QK_COL_PURE,
    QK_COL_PURE_SKIP,
    QK_COL_NVARIANT
} qk_col_variant;

/* The model's variant of v (QK_NVARIANT if out of range). */
qk_variant qk_col_variant_model(qk_col_variant v);
/* The model's names ("san", "san+mlp", ...); NULL if out of range. */
const char *qk_col_variant_name(qk_col_variant v);
/* Parses a name above; QK_ERR_ARG if unknown. */
qk_status qk_col_variant_parse(const char *name, qk_col_variant *v);
int qk_col_variant_has_ffn(qk_col_variant v);
int qk_col_variant_has_skip(qk_col_variant v);
int qk_col_variant_has_ln(qk_col_variant v);

typedef struct {
    int n;         /* tokens per sequence                                          */
    int d, H, L;   /* width, heads (d % H == 0), layers                            */
    int dff;       /* FFN width (BERT: 4d); 0: no FFN weights (SAN variants only)  */
    int V;         /* vocabulary of the text embedding; 0: no embedding tables     */
    float ln_eps;    /* LayerNorm epsilon (BERT: 1e-12)                             */
    double init_std; /* weights N(0, init_std²) (BERT: 0.02)                        */
} qk_collapse_config;

/* BERT's choices for width d: dff = 4d, ln_eps = 1e-12, init_std = 0.02, V = 256. */
qk_collapse_config qk_collapse_default_config(int n, int d, int H, int L);

/* The model configuration that runs the stack: kind WALK, T = n, B = 1, post-LN, GELU,
 * BERT initialisation, the variant v. */
qk_model_config qk_collapse_model_config(const qk_collapse_config *c, qk_col_variant v);

/* The text embedding's tensors (SPEC §1.4's input: BERT's embedding), after the
 * model's parameters in the parameter buffer. */
enum { QK_CE_WTE, QK_CE_WPE, QK_CE_WTT, QK_CE_LNE_G, QK_CE_LNE_B, QK_CE_COUNT }; /* (V,d) (n,d) (d) (d) (d) */

/* Lengths in floats of the three buffers the caller provides. */
typedef struct {
    size_t params, acts, scratch;
    qk_model_sizes_t model;          /* the model's part (scratch: its forward part) */
    qk_tensor_info emb[QK_CE_COUNT]; /* the embedding's tensors                      */
} qk_collapse_sizes_t;

/* Checks cfg (QK_ERR_ARG: nonsensical, QK_ERR_CAPACITY: above a capacity) and fills sz. */
qk_status qk_collapse_sizes(const qk_collapse_config *cfg, qk_collapse_sizes_t *sz);

typedef struct {
    qk_collapse_config cfg;
    qk_model m;             /* the stack (forward only)                              */
    float *emb[QK_CE_COUNT]; /* views of the embedding's tensors                     */
    float *x;               /* (L+1, n, d) X_0 .. X_L of the last forward (the model's) */
    float *att;             /* (L, H, n, n) attention matrices of the last forward      */
    float *scratch;         /* the experiment's own                                     */
    qk_col_variant last;    /* variant of the last forward                              */
} qk_collapse;

/* Points s into caller buffers of the sizes above. Does not initialise. */
qk_status qk_collapse_bind(qk_collapse *s, const qk_collapse_config *cfg, float *params, float *acts,
                           float *scratch);

/* BERT initialisation: the model's (qk_model_init with QK_INIT_BERT: every weight
 * matrix N(0, init_std²), one stream per (tensor, layer) slot, biases 0, LayerNorm
 * γ = 1, β = 0) and the embedding tables N(0, init_std²) from slots
 * QK_BERT_SLOT_EMBED + {0 wte, 1 wpe, 2 wtt}. So the same seed gives the same
 * attention weights to every variant and every dff or V. */
qk_status qk_collapse_init(qk_collapse *s, uint64_t seed);

/* Sets every bias and LayerNorm β to N(0, std²) and every LayerNorm γ to
 * 1 + N(0, std²), from one generator seeded with `seed`, in the order bq bk bv bo
 * ln1_g ln1_b b1 b2 ln2_g ln2_b lne_g lne_b (tests of the bias terms; BERT's
 * initialisation has them at 0 and 1). */
qk_status qk_collapse_perturb_biases(qk_collapse *s, uint64_t seed, float std);

/* Forward pass of a variant from x0 (n, d): the model's forward. Keeps X_0..X_L in
 * s->x and the attention matrices in s->att. res, nrm (L+1 doubles each, either may be
 * NULL) receive ‖res(X_l)‖_{1,∞} and ‖X_l‖_{1,∞} (qk_collapse_norms). QK_ERR_ARG for a
 * variant that needs FFN weights the configuration lacks; QK_ERR_NONFINITE if X_L is
 * not finite (the outputs are still written). */
qk_status qk_collapse_forward(qk_collapse *s, qk_col_variant v, const float *x0, double *res, double *nrm);

/* ------------------------------------------------------------------ inputs */
/* Gaussian tokens: x (n, d) i.i.d. N(0, 1) by qk_rng_normal, row-major. */
void qk_collapse_gauss_input(qk_rng *r, float *x, int n, int d);
/* BERT-style embedding of n token ids (each in [0, V)): row i is
 * LN(wte[tok_i] + wpe[i] + wtt) with the embedding LayerNorm (γ, β), eps as the
 * stack. x: (n, d). Needs V > 0 in the configuration. */
qk_status qk_collapse_embed(const qk_collapse *s, const int *tok, float *x);

/* ------------------------------------------------------------------ metrics */
/* Composite norms of x (n, d): ‖A‖_{1,∞} = sqrt(‖A‖_1 ‖A‖_∞), ‖A‖_1 the largest column
 * sum of |A|, ‖A‖_∞ the largest row sum, for A = x (into *nrm) and A = res(x) =
 * x − 1 x̄ᵀ, x̄ the column mean (into *res). Fixed orders: x̄_j = (float)((Σ_i x_ij)/n)
 * with the sum and the division in double, i increasing (so equal rows give a residual
 * of exactly 0); x_ij − x̄_j, |·| and the column sums in float, i increasing; row sums
 * by qk_sum; the final product and square root in double. A NaN anywhere gives NaN.
 * scratch: 3·d floats. Either output may be NULL. */
void qk_collapse_norms(const float *x, int n, int d, float *scratch, double *res, double *nrm);

/* Singular-value view of x (n, d) through qk_svd (values only, double):
 * stable rank ‖x‖_F²/‖x‖_2², numerical rank #{σ_i > rtol·σ_0} with
 * rtol = max(n, d)·2^-24 (NumPy's matrix_rank rule for float32 data), and the
 * relative distance to the best rank-1 approximation sqrt(Σ_{i≥1} σ_i²)/‖x‖_F.
 * With centered != 0 the same for res(x) (x̄ computed in double). */
typedef struct {
    double sigma_max, stable_rank, rank1_dist;
    int numerical_rank;
} qk_col_spectrum;
size_t qk_collapse_spectrum_work_len(int n, int d); /* doubles */
qk_status qk_collapse_spectrum(const float *x, int n, int d, int centered, double *work, size_t work_len,
                               qk_col_spectrum *out);

/* ------------------------------------------------------------------ the bound */
/* Per head h of layer l of the model m: ‖W_QK,h‖_1 and ‖W_VO,h‖_{1,∞} (composite), where
 * W_QK,h = W_Q,hᵀ W_K,h (d, d) in the (out, in) storage (so the logits are
 * X W_QK,h Xᵀ / sqrt(d_h)) and W_VO,h = W_V,hᵀ W_O[:, h]ᵀ (d, d) the value-output
 * map of the head (SA(X) = Σ_h P_h X W_VO,h + 1 bᵀ). Products by qk_matmul in float,
 * norms as qk_collapse_norms. scratch: d·d + 3·d floats. */
qk_status qk_collapse_head_norms(const qk_model *m, int layer, int head, float *scratch, double *wqk_1,
                                 double *wvo_1inf);
size_t qk_collapse_head_norms_scratch(int d);

/* The bound of SPEC §1.4 from the weights: β = max over layers and heads of
 * ‖W_QK,h‖_1·‖W_VO,h‖_{1,∞}, the per-layer constant c = 4γβH/sqrt(d_h), and
 *   log10 ‖res(SAN(X))‖ <= ((3^l − 1)/2)·log10 c + 3^l·log10 ‖res(X)‖     (l layers).
 * It concerns the theorem's network, variant PURE (biases 0, as initialised). γ
 * depends on the attention entries and SPEC §1.4 does not define it: the caller
 * passes it (the command-line tool uses 1 and reports the γ the measured one-layer
 * contractions would need). The bound decreases only where ‖res‖ < c^(-1/2).
 * beta_layer (L doubles, may be NULL) receives the per-layer max over heads. */
typedef struct {
    double beta, c, gamma;
} qk_col_bound;
qk_status qk_collapse_bound(const qk_model *m, double gamma, float *scratch, qk_col_bound *b,
                            double *beta_layer);
/* log10 of the l-layer bound for log10 ‖res(X_0)‖ = log10_res0 (may be ±inf). */
double qk_collapse_bound_log10(const qk_col_bound *b, int l, double log10_res0);

/* ------------------------------------------------------------------ paths */
/* The path decomposition of the last forward (variant PURE or PURE_SKIP), with the
 * attention matrices P_h^l of that forward held fixed: each layer is then linear,
 *   X_{l+1} = [X_l +] Σ_h P_h^l X_l W_VO,h^l + 1 b_lᵀ,
 *   b_lᵀ = b_Oᵀ + Σ_h b_V,hᵀ W_O[:, h]ᵀ   (P 1 = 1 moves the value bias out), so
 *   X_L = Σ_paths P_path X_0 W_path + 1 β_Lᵀ,
 * a path choosing one head (or, with skips, the identity) in every layer, P_path the
 * product of the chosen attention matrices (latest layer on the left), W_path the
 * product of the chosen W_VO (earliest on the left), and β the biases carried
 * through: β_0 = 0, β_{l+1}ᵀ = β_lᵀ([I +] Σ_h W_VO,h) + b_lᵀ.
 * The path terms are computed in float by qk_matmul, depth first (a prefix shared
 * by several paths is computed once), and summed in double into out (n, d) in
 * lexicographic order of (c_0, .., c_{L-1}), c_l = 0 the skip (if any), then the
 * heads in order. npaths receives the number of paths.
 * scratch: qk_collapse_paths_scratch(cfg) floats. QK_ERR_CAPACITY when the number of
 * paths exceeds 2^20. */
size_t qk_collapse_paths_scratch(const qk_collapse_config *cfg);
qk_status qk_collapse_paths(const qk_collapse *s, float *scratch, double *out, long *npaths);

/* Share of paths of length k among the (1+H)^L of an L-layer, H-head network with
 * skips: C(L, k) H^k / (1+H)^L, in double through qk_log/qk_exp (shares, L+1
 * doubles). Also the mean length L·H/(1+H). QK_ERR_ARG for L < 1, H < 1, L > 100000. */
qk_status qk_path_length_shares(int L, int H, double *shares, double *mean_length);

#endif /* QK_COLLAPSE_H */
