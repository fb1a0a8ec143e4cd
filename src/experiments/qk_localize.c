/* qk_localize.c — closed form of ρ(θ) and the eigenspectrum simulation (SPEC §1.3). */
#include "qk_fp.h"
#include <math.h> /* sqrt: IEEE-exact */
#include <string.h>
#include "qk_eigen.h"
#include "qk_localize.h"
#include "qk_model.h" /* qk_walk_sample */

double qk_rho_var_factor(double theta, qk_var_form form)
{
    if (form == QK_VAR_PAPER) return 2.0 * theta * theta + 7.0 / 12.0;
    double h = theta - 0.5;
    return 2.0 * h * h + 1.0 / 12.0;
}

double qk_rho_closed(double theta, double trW, double trW2, double lambda, qk_var_form form)
{
    if (!(trW2 > 0.0)) return 0.0;
    double xi = trW / sqrt(trW2), eta = sqrt(trW2) / lambda;
    double s = sqrt(2.0 * qk_rho_var_factor(theta, form));
    double z = (theta - 0.5) * xi;
    return 0.5 * qk_erf(z / s) - 0.5 * qk_erf((z - 1.0 / eta) / s);
}

double qk_rho_closed_finite(double theta, double trW, double trW2, double lambda, qk_var_form form, int T)
{
    if (!(trW2 > 0.0) || T < 1) return 0.0;
    double xi = trW / sqrt(trW2), eta = sqrt(trW2) / lambda;
    double s = sqrt(2.0 * qk_rho_var_factor(theta, form));
    double z = (theta - 0.5 - 0.5 / T) * xi;
    double lo = -1.0 / (T * eta), hi = (1.0 - 1.0 / T) / eta;
    return 0.5 * qk_erf((hi - z) / s) - 0.5 * qk_erf((lo - z) / s);
}

/* ---------------------------------------------------------------- layout of the work */
typedef struct {
    float *X;      /* (walks·T, d) all walks, row-major, walk after walk */
    float *W;      /* (d, d) W_QK in float                                 */
    float *Y;      /* (walks·T, d) X W                                     */
    float *S;      /* (T, T) logits of one walk                            */
    float *R;      /* (d, d) anisotropy factor (Σ = RᵀR/d)                 */
} fwork_t;

typedef struct {
    double *Sig;   /* (d, d) Σ                                             */
    double *B;     /* (d, d) Haar orthogonal                               */
    double *Wqk;   /* (d, d)                                               */
    double *WS;    /* (d, d) W = W_QK Σ                                    */
    double *w;     /* (d) eigenvalues                                      */
    double *acc;   /* (6, T) accumulators                                  */
    double *haar;  /* qk_haar_work_len(d)                                  */
} dwork_t;

static void layout(const qk_sim_config *c, float *f, double *g, fwork_t *fw, dwork_t *dw)
{
    size_t N = (size_t)c->walks * c->T, d = (size_t)c->d, T = (size_t)c->T;
    fw->X = f;
    fw->W = fw->X + N * d;
    fw->Y = fw->W + d * d;
    fw->S = fw->Y + N * d;
    fw->R = fw->S + T * T;
    dw->Sig = g;
    dw->B = dw->Sig + d * d;
    dw->Wqk = dw->B + d * d;
    dw->WS = dw->Wqk + d * d;
    dw->w = dw->WS + d * d;
    dw->acc = dw->w + d;
    dw->haar = dw->acc + 6 * T;
}

size_t qk_sim_float_len(const qk_sim_config *c)
{
    size_t N = (size_t)c->walks * c->T, d = (size_t)c->d;
    return 2 * N * d + 2 * d * d + (size_t)c->T * c->T;
}

size_t qk_sim_double_len(const qk_sim_config *c)
{
    size_t d = (size_t)c->d;
    return 4 * d * d + d + 6 * (size_t)c->T + qk_haar_work_len(c->d);
}

static int config_ok(const qk_sim_config *c)
{
    return c && c->d >= 2 && c->d <= 4096 && c->T >= 2 && c->walks >= 1 && c->draws >= 1;
}

qk_status qk_sim_prepare(const qk_sim_config *c, qk_rng *rng, float *fwork, double *dwork)
{
    if (!config_ok(c) || !rng || !fwork || !dwork) return QK_ERR_ARG;
    fwork_t fw;
    dwork_t dw;
    layout(c, fwork, dwork, &fw, &dw);
    int d = c->d;
    /* Σ = I, or Σ = RᵀR/d with R_ij ~ U(-2.5, 2.5) (SPEC §1.3) */
    for (size_t i = 0; i < (size_t)d * d; i++) fw.R[i] = c->aniso ? (float)(5.0 * qk_rng_uniform(rng) - 2.5) : 0.0f;
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) {
            double s = 0.0;
            for (int k = 0; k < d; k++) s = qk__fma((double)fw.R[(size_t)k * d + i], (double)fw.R[(size_t)k * d + j], s);
            dw.Sig[(size_t)i * d + j] = c->aniso ? s / d : (double)(i == j);
        }
    for (int w = 0; w < c->walks; w++)
        qk_walk_sample(rng, fw.X + (size_t)w * c->T * d, c->T, d, c->aniso ? fw.R : NULL);
    return QK_OK;
}

/* W_QK = B diag(w) Bᵀ in double, then to float; W = W_QK Σ; returns tr W, tr W². */
static qk_status draw_wqk(const qk_sim_config *c, double mean, double scale, qk_rng *rng, fwork_t *fw, dwork_t *dw,
                          double *trW, double *trW2)
{
    int d = c->d;
    qk_status s = qk_haar_orthogonal(d, rng, dw->B, d, dw->haar, qk_haar_work_len(d));
    if (s != QK_OK) return s;
    for (int i = 0; i < d; i++) dw->w[i] = mean + scale * qk_rng_normal(rng);
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) {
            double a = 0.0;
            for (int k = 0; k < d; k++) a = qk__fma(dw->B[(size_t)i * d + k] * dw->w[k], dw->B[(size_t)j * d + k], a);
            dw->Wqk[(size_t)i * d + j] = a;
            fw->W[(size_t)i * d + j] = (float)a;
        }
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) {
            double a = 0.0;
            for (int k = 0; k < d; k++) a = qk__fma(dw->Wqk[(size_t)i * d + k], dw->Sig[(size_t)k * d + j], a);
            dw->WS[(size_t)i * d + j] = a;
        }
    double t1 = 0.0, t2 = 0.0;
    for (int i = 0; i < d; i++) {
        t1 += dw->WS[(size_t)i * d + i];
        for (int k = 0; k < d; k++) t2 = qk__fma(dw->WS[(size_t)i * d + k], dw->WS[(size_t)k * d + i], t2);
    }
    *trW = t1;
    *trW2 = t2;
    return QK_OK;
}

qk_status qk_sim_run_cell(const qk_sim_config *c, double mean, double scale, qk_rng *rng, float *fwork,
                          double *dwork, qk_sim_cell *out)
{
    if (!config_ok(c) || !rng || !fwork || !dwork || !out) return QK_ERR_ARG;
    fwork_t fw;
    dwork_t dw;
    layout(c, fwork, dwork, &fw, &dw);
    int d = c->d, T = c->T, N = c->walks * T;
    double lambda = sqrt((double)d);
    float inv_lambda = (float)(1.0 / lambda);
    double *emp = dw.acc, *gsum = emp + T, *gsq = gsum + T;
    for (int i = 0; i < T; i++) {
        out->rho_emp[i] = out->rho_paper[i] = out->rho_corr[i] = out->rho_fin[i] = 0.0;
        out->g_mean[i] = out->g_mean_theory[i] = out->g_var[i] = 0.0;
    }
    out->entropy = out->trW_over_lambda = out->trW2 = 0.0;
    for (int draw = 0; draw < c->draws; draw++) {
        double trW, trW2;
        qk_status s = draw_wqk(c, mean, scale, rng, &fw, &dw, &trW, &trW2);
        if (s != QK_OK) return s;
        double eta = sqrt(trW2) / lambda, xi = trW2 > 0 ? trW / sqrt(trW2) : 0.0;
        /* Y = X W_QK for all walks at once, then S = Y_w X_wᵀ / λ per walk */
        qk_mat X = qk_mat_view(fw.X, N, d, d), W = qk_mat_view(fw.W, d, d, d), Y = qk_mat_view(fw.Y, N, d, d);
        qk_matmul(&Y, &X, &W, 0);
        for (int i = 0; i < T; i++) emp[i] = gsum[i] = gsq[i] = 0.0;
        double ent = 0.0;
        for (int w = 0; w < c->walks; w++) {
            qk_mat Yw = qk_mat_view(fw.Y + (size_t)w * T * d, T, d, d), Xw = qk_mat_view(fw.X + (size_t)w * T * d, T, d, d);
            qk_mat S = qk_mat_view(fw.S, T, T, T);
            qk_matmul(&S, &Yw, &Xw, QK_TRANS_B);
            for (int i = 0; i < T * T; i++) fw.S[i] = fw.S[i] * inv_lambda;
            /* ρ from the last query's logits ω (SPEC §1.1) */
            const float *om = fw.S + (size_t)(T - 1) * T;
            double sum = 0.0;
            for (int j = 0; j < T; j++) sum += om[j];
            for (int j = 0; j < T; j++) {
                double z = (double)om[j] / T - sum / ((double)T * T) + 1.0 / T;
                emp[j] += (z >= 0.0 && z <= 1.0);
                double g = ((double)om[j] - sum / T) / T / (eta > 0 ? eta : 1.0);
                gsum[j] += g;
                gsq[j] += g * g;
            }
            /* entropy of the unmasked softmax, mean over rows */
            qk_softmax_forward(&S, &S, 0);
            for (int i = 0; i < T * T; i++)
                if (fw.S[i] > 0.0f) ent -= (double)fw.S[i] * qk_log((double)fw.S[i]);
        }
        for (int j = 0; j < T; j++) {
            double theta = (double)(j + 1) / T, n = c->walks;
            out->rho_emp[j] += emp[j] / n;
            out->rho_paper[j] += qk_rho_closed(theta, trW, trW2, lambda, QK_VAR_PAPER);
            out->rho_corr[j] += qk_rho_closed(theta, trW, trW2, lambda, QK_VAR_CORRECTED);
            out->rho_fin[j] += qk_rho_closed_finite(theta, trW, trW2, lambda, QK_VAR_CORRECTED, T);
            double gm = gsum[j] / n;
            out->g_mean[j] += gm;
            out->g_var[j] += gsq[j] / n - gm * gm;
            out->g_mean_theory[j] += (theta - 0.5) * xi;
        }
        out->entropy += ent / ((double)c->walks * T);
        out->trW_over_lambda += trW / lambda;
        out->trW2 += trW2;
    }
    double inv = 1.0 / c->draws;
    for (int j = 0; j < T; j++) {
        out->rho_emp[j] *= inv;
        out->rho_paper[j] *= inv;
        out->rho_corr[j] *= inv;
        out->rho_fin[j] *= inv;
        out->g_mean[j] *= inv;
        out->g_var[j] *= inv;
        out->g_mean_theory[j] *= inv;
    }
    out->entropy *= inv;
    out->trW_over_lambda *= inv;
    out->trW2 *= inv;
    return QK_OK;
}
