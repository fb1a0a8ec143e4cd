/* test_localize.c — the closed form of ρ(θ) (SPEC §1.1) and the simulation (§1.3). */
#include <stdlib.h>
#include "qk_eigen.h"
#include "qk_localize.h"
#include "qktest.h"
#include "test_util.h"

TEST(localize_closed_form_limits)
{
    /* the finite-T form tends to the SPEC's form; both are probabilities */
    double worst = 0;
    for (int i = 1; i <= 50; i++) {
        double th = i / 50.0;
        for (int f = 0; f < 2; f++) {
            double a = qk_rho_closed(th, 30.0, 100.0, 8.0, (qk_var_form)f);
            double b = qk_rho_closed_finite(th, 30.0, 100.0, 8.0, (qk_var_form)f, 1000000);
            worst = fmax(worst, fabs(a - b));
            CHECK(a >= 0 && a <= 1, "rho out of [0,1]: %g", a);
        }
    }
    CHECK(worst < 1e-5, "finite-T form differs from the limit by %g at T = 1e6", worst);
    /* tr W = 0: symmetric in θ about ½ for the corrected variance */
    CHECK(fabs(qk_rho_closed(0.2, 0.0, 4.0, 2.0, QK_VAR_CORRECTED) - qk_rho_closed(0.8, 0.0, 4.0, 2.0, QK_VAR_CORRECTED)) < 1e-15,
          "corrected form not symmetric at tr W = 0");
    /* Lemma 2 regimes: concentrated eigenvalues localize; large tr W² vanishes */
    double peak = 0, tail = 0;
    for (int i = 1; i <= 40; i++) {
        double r = qk_rho_closed(i / 40.0, 128.0, 130.0, sqrt(128.0), QK_VAR_CORRECTED);
        if (i == 21) peak = r;
        if (i == 5) tail = r;
    }
    CHECK(peak > 0.3 && tail < 1e-3, "no localization: peak %g tail %g", peak, tail);
    CHECK(qk_rho_closed(0.5, 0.0, 1e6, 1.0, QK_VAR_CORRECTED) < 1e-2, "large tr W^2 does not vanish");
}

/* Simulation against the closed forms at d = 64 (the Gaussian approximation behind
 * the closed form degrades at small d: 0.10 at d = 16, 0.054 at d = 64). Tolerance: ρ_emp is a mean of
 * walks·draws Bernoulli events, std <= 0.5/sqrt(walks·draws) = 0.0125; over T·cells =
 * 160 positions a 5σ bound is 0.0625, plus 0.0125 for the Gaussian approximation at
 * d = 64 — for the finite-T corrected form. The corrected
 * variance must fit the measured variance of G better than the printed one. */
TEST(localize_simulation_matches_adopted_closed_form)
{
    qk_sim_config c = {64, 20, 400, 4, 0};
    if (qkt_scale() > 1) { c.walks = 100; c.draws = 1; } /* under emulation: 1/16 of the work */
    const double tol = 5.0 * 0.5 / sqrt((double)c.walks * c.draws) + 0.0125; /* 5σ + the d = 64 model error margin */
    float *f = malloc(sizeof(float) * qk_sim_float_len(&c));
    double *d = malloc(sizeof(double) * qk_sim_double_len(&c));
    double re[20], rp[20], rc[20], rf[20], gm[20], gt[20], gv[20];
    qk_sim_cell cell = {re, rp, rc, rf, gm, gt, gv, 0, 0, 0};
    qk_rng r;
    qk_rng_seed(&r, 5);
    CHECK_OK(qk_sim_prepare(&c, &r, f, d));
    static const double cells[][2] = {{0.0, 0.5}, {0.5, 0.2}, {1.0, 0.1}, {1.0, 1.0}, {2.0, 0.5}, {0.0, 2.0},
                                      {0.25, 0.25}, {4.0, 1.0}};
    double worst_fin = 0, dev_p = 0, dev_c = 0;
    for (int k = 0; k < 8; k++) {
        CHECK_OK(qk_sim_run_cell(&c, cells[k][0], cells[k][1], &r, f, d, &cell));
        for (int i = 0; i < c.T; i++) {
            double th = (i + 1.0) / c.T;
            worst_fin = fmax(worst_fin, fabs(re[i] - rf[i]));
            dev_p += fabs(gv[i] / qk_rho_var_factor(th, QK_VAR_PAPER) - 1);
            dev_c += fabs(gv[i] / qk_rho_var_factor(th, QK_VAR_CORRECTED) - 1);
        }
        CHECK(cell.entropy > 0 && cell.entropy <= log(c.T) + 1e-9, "entropy %g outside (0, log T]", cell.entropy);
    }
    CHECK(worst_fin < tol, "finite-T corrected closed form off by %.4f (tolerance %.4f)", worst_fin, tol);
    CHECK(dev_c < 0.5 * dev_p, "variance fit: corrected %.3f vs paper %.3f", dev_c / 160, dev_p / 160);
    /* entropy is higher at fixed mean with a smaller scale (SPEC §1.3's expectation) */
    double e_small, e_large;
    CHECK_OK(qk_sim_run_cell(&c, 0.5, 0.1, &r, f, d, &cell));
    e_small = cell.entropy;
    CHECK_OK(qk_sim_run_cell(&c, 0.5, 2.0, &r, f, d, &cell));
    e_large = cell.entropy;
    CHECK(e_small > e_large, "entropy %.4f (scale 0.1) not above %.4f (scale 2)", e_small, e_large);
    free(f);
    free(d);
}
