/* init_trunc_normal.c — trunc_normal(mean, std, a, b), torch.nn.init.trunc_normal_.
 *
 * Like PyTorch, by the inverse CDF: p uniform in [Φ(α), Φ(β)] with
 * α = (a − mean)/std, β = (b − mean)/std, then x = mean + std·Φ⁻¹(p). Every
 * draw is used (no rejection loop that could spin on a narrow window far in a
 * tail). Why not torch's float erfinv: in double, and on the side of zero
 * where Φ is small (a window above the mean is drawn mirrored, from
 * [−β, −α], and negated), so a window like [2, 3] in units of std keeps its
 * precision instead of computing 1 − (1 − ε). The result is clamped to
 * [a, b] after the rounding to float, so the bounds hold exactly. */
#include <math.h>

#include "init_internal.h"

/* Φ, the standard normal CDF, accurate in the lower tail. */
static double norm_cdf(double x) { return 0.5 * erfc(-x / sqrt(2.0)); }

/* Φ⁻¹(p) for 0 < p < 1: Acklam's rational approximation (relative error
 * 1.15e-9) and one Halley step against erfc, which brings it to double
 * precision. */
static double norm_quantile(double p)
{
    static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                               1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                               6.680131188771972e+01,  -1.328068155288572e+01};
    static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                               -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
    static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                               3.754408661907416e+00};
    double x, q, r;
    if (p < 0.02425) {
        q = sqrt(-2.0 * log(p));
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
    } else if (p <= 1.0 - 0.02425) {
        q = p - 0.5;
        r = q * q;
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
            (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
    } else {
        q = sqrt(-2.0 * log1p(-p));
        x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
    }
    double e = norm_cdf(x) - p;
    double u = e * 2.5066282746310002 * exp(0.5 * x * x); /* e · √(2π) · e^(x²/2) */
    return x - u / (1.0 + 0.5 * x * u);
}

void dl_fill_trunc_normal(float *w, int64_t n, double mean, double std, float lo, float hi, dl_rng *rng)
{
    double alpha = ((double)lo - mean) / std, beta = ((double)hi - mean) / std;
    double sign = 1.0;
    if (alpha > 0) { /* the window lies above the mean: draw it mirrored, where Φ is small */
        double t = alpha;
        alpha = -beta, beta = -t, sign = -1.0;
    }
    double pa = norm_cdf(alpha), pb = norm_cdf(beta);
    for (int64_t i = 0; i < n; i++) {
        double u = (double)(dl_rng_next(rng) >> 11) * (1.0 / 9007199254740992.0); /* [0, 1), 53 bits */
        double p = pa + u * (pb - pa);
        /* p at 0 or 1 only when Φ under- or overflows (a window beyond ±37 stds): its near end */
        double z = p <= 0.0 ? alpha : p >= 1.0 ? beta : norm_quantile(p);
        float x = (float)(mean + std * sign * z);
        w[i] = x < lo ? lo : x > hi ? hi : x;
    }
}
