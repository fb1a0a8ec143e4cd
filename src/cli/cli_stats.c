/* cli_stats.c — small statistics the commands share (cli.h): mean and spread over
 * seeds, and the concentration of an attention row ρ (SPEC §1.1). */
#include "qk_fp.h"
#include <math.h>
#include "cli.h"

void cli_mean_std(const double *v, int n, size_t stride, double *mean, double *sd, int *cnt)
{
    double s = 0.0, q = 0.0;
    int c = 0;
    for (int i = 0; i < n; i++) {
        double x = v[(size_t)i * stride];
        if (x - x != 0.0) continue;
        s += x;
        c++;
    }
    double m = c ? s / c : NAN;
    for (int i = 0; i < n; i++) {
        double x = v[(size_t)i * stride];
        if (x - x != 0.0) continue;
        q += (x - m) * (x - m);
    }
    *mean = m;
    *sd = c > 1 ? sqrt(q / (c - 1)) : (c == 1 ? 0.0 : NAN);
    if (cnt) *cnt = c;
}

/* The max(1, T/8) largest entries by selection (T is small), summed largest first; the
 * total in index order. A float ρ converted to double gives the same sums as summing
 * the floats into a double, so one definition serves both. */
double cli_rho_top_share(const double *rho, int T)
{
    static double v[QK_MAX_T];
    int k = T / 8 > 0 ? T / 8 : 1;
    double total = 0, top = 0;
    for (int i = 0; i < T; i++) v[i] = rho[i], total += rho[i];
    if (!(total > 0)) return NAN;
    for (int j = 0; j < k; j++) {
        int best = j;
        for (int i = j + 1; i < T; i++)
            if (v[i] > v[best]) best = i;
        double t = v[j];
        v[j] = v[best];
        v[best] = t;
        top += v[j];
    }
    return top / total;
}

double cli_rho_top_share_f(const float *rho, int T)
{
    static double v[QK_MAX_T];
    for (int i = 0; i < T; i++) v[i] = rho[i];
    return cli_rho_top_share(v, T);
}
