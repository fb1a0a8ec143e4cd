/* qk_localize.h — the attention-localization experiments (SPEC §1.1, §1.3):
 * the closed form of the signal-propagation probability ρ(θ) with both variance
 * formulas, and the eigenspectrum simulation on random walks. No I/O, no allocation. */
#ifndef QK_LOCALIZE_H
#define QK_LOCALIZE_H

#include "qk.h"

/* The two variance formulas of SPEC §1.1, as factors of tr(W²)/λ²:
 * paper: 2θ² + 7/12 (as printed); corrected: 2(θ-½)² + 1/12. */
typedef enum { QK_VAR_PAPER = 0, QK_VAR_CORRECTED = 1 } qk_var_form;
double qk_rho_var_factor(double theta, qk_var_form form);

/* ρ(θ) = Φ((θ-½)ξ; θ) - Φ((θ-½)ξ - 1/η; θ), Φ(z; θ) = ½ erf(z / sqrt(2 v̄(θ))),
 * ξ = tr W / sqrt(tr W²), η = sqrt(tr W²)/λ, W = W_QK Σ. */
double qk_rho_closed(double theta, double trW, double trW2, double lambda, qk_var_form form);

/* The same with the finite-T terms the closed form drops: the mean of G_i is
 * (θ - ½ - 1/(2T))·tr W/λ (keys are numbered 1..T, their mean is (T+1)/2), and
 * z_i = G_i + 1/T lies in [0, 1] iff G_i lies in [-1/T, 1 - 1/T]. T -> ∞ gives
 * qk_rho_closed. (The project's refinement, reported beside the SPEC's two forms.) */
double qk_rho_closed_finite(double theta, double trW, double trW2, double lambda, qk_var_form form, int T);

typedef struct {
    int d, T;      /* width and tokens per walk (paper: 128, 40) */
    int walks;     /* walks per draw (paper: 300)                */
    int draws;     /* W_QK draws per (mean, scale) (paper: 10)   */
    int aniso;     /* 0: Σ = I; 1: Σ = RᵀR/d, R_ij ~ U(-2.5, 2.5) */
} qk_sim_config;

/* Results of one (mean, scale) cell, averaged over the draws. Arrays of T, index
 * i-1 for token i = 1..T (θ = i/T). g_* are the standardised statistics of
 * G_i = (ω_i - mean_j ω_j)/T: mean G/η against (θ-½)ξ, and var G/η² against v̄(θ). */
typedef struct {
    double *rho_emp, *rho_paper, *rho_corr; /* (T) */
    double *rho_fin;                        /* (T) corrected, finite-T terms */
    double *g_mean, *g_mean_theory;         /* (T) */
    double *g_var;                          /* (T) */
    double entropy;                         /* attention entropy, no mask */
    double trW_over_lambda, trW2;           /* mean over draws            */
} qk_sim_cell;

/* Work sizes (floats and doubles) for qk_sim_run_cell. */
size_t qk_sim_float_len(const qk_sim_config *c);
size_t qk_sim_double_len(const qk_sim_config *c);

/* Draws the walks once (they are shared by every cell: common random numbers) into
 * the float work. R: (d, d) when aniso, drawn here from rng. */
qk_status qk_sim_prepare(const qk_sim_config *c, qk_rng *rng, float *fwork, double *dwork);

/* One cell: draws W_QK = B diag(w) Bᵀ (B Haar, w_i ~ N(mean, scale²)) c->draws times,
 * computes the logits X W_QK Xᵀ/λ of every walk (λ = sqrt(d)), the empirical ρ of the
 * last query, the entropy of the unmasked softmax, and the closed forms. */
qk_status qk_sim_run_cell(const qk_sim_config *c, double mean, double scale, qk_rng *rng, float *fwork,
                          double *dwork, qk_sim_cell *out);

#endif
