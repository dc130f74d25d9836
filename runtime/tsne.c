/* tsne.c — exact t-SNE (van der Maaten and Hinton, 2008) for a few thousand
 * points at most (`dlnc sample --tsne`): O(n^2) memory and time per
 * iteration, no Barnes-Hut. It follows the reference implementation's
 * schedule: each point's Gaussian bandwidth found by bisection on its
 * perplexity, P symmetrized and normalized, exaggerated x12 for the first 250
 * iterations, momentum 0.5 then 0.8, learning rate 200 with per-coordinate
 * gains, the start drawn from N(0, (1e-4)^2) with the seed (as scikit-learn). Everything is in
 * double and the sums are taken row by row in a fixed order, so the result
 * depends on the seed only (not on the thread count). */
#include "dlnrt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Row i of P (conditional p_j|i) for the bandwidth whose perplexity is the target. */
static void tsne_row(const double *d2, int64_t n, int64_t i, double perplexity, double *p) {
    const double target = log(perplexity);
    double beta = 1, lo = -INFINITY, hi = INFINITY;
    for (int it = 0; it < 200; it++) {
        double sum = 0, hsum = 0;
        for (int64_t j = 0; j < n; j++) {
            p[j] = j == i ? 0 : exp(-d2[i * n + j] * beta);
            sum += p[j];
        }
        if (!(sum > 0)) sum = 1e-300;
        for (int64_t j = 0; j < n; j++) hsum += d2[i * n + j] * p[j];
        const double entropy = log(sum) + beta * hsum / sum;
        for (int64_t j = 0; j < n; j++) p[j] /= sum;
        const double diff = entropy - target;
        if (fabs(diff) < 1e-5) break;
        if (diff > 0) lo = beta, beta = isinf(hi) ? beta * 2 : (beta + hi) / 2;
        else hi = beta, beta = isinf(lo) ? beta / 2 : (beta + lo) / 2;
    }
}

int dl_tsne(const float *x, int64_t n, int64_t d, double perplexity, int iters, uint64_t seed, double *y) {
    if (n < 4 || n > DL_TSNE_MAX_POINTS || d < 1 || !(perplexity >= 1) || perplexity > (double)(n - 1) / 3 ||
        iters < 1) {
        dl_set_error("t-SNE needs 4 to %d points and a perplexity from 1 to (points - 1) / 3 (%lld points, "
                     "perplexity %g)", DL_TSNE_MAX_POINTS, (long long)n, perplexity);
        return -1;
    }
    const size_t nn = (size_t)(n * n);
    double *P = malloc(nn * sizeof *P), *d2 = malloc(nn * sizeof *d2), *num = malloc(nn * sizeof *num);
    double *grad = malloc((size_t)n * 2 * sizeof *grad), *vel = calloc((size_t)n * 2, sizeof *vel);
    double *gain = malloc((size_t)n * 2 * sizeof *gain), *rowsum = malloc((size_t)n * sizeof *rowsum);
    if (!P || !d2 || !num || !grad || !vel || !gain || !rowsum) {
        free(P), free(d2), free(num), free(grad), free(vel), free(gain), free(rowsum);
        dl_set_error("out of memory (t-SNE of %lld points)", (long long)n);
        return -1;
    }
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) {
            double s = 0;
            for (int64_t k = 0; k < d; k++) {
                const double t = (double)x[i * d + k] - x[j * d + k];
                s += t * t;
            }
            d2[i * n + j] = s;
        }
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) tsne_row(d2, n, i, perplexity, P + i * n);
    /* symmetric joint probabilities, at least 1e-12 (the reference's floor) */
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = i + 1; j < n; j++) {
            const double v = fmax((P[i * n + j] + P[j * n + i]) / (2.0 * (double)n), 1e-12);
            P[i * n + j] = P[j * n + i] = v;
        }
    for (int64_t i = 0; i < n; i++) P[i * n + i] = 0;
    dl_rng rng;
    dl_rng_seed(&rng, seed);
    for (int64_t i = 0; i < n * 2; i++) y[i] = 1e-4 * dl_rng_normal(&rng), gain[i] = 1;
    for (int it = 0; it < iters; it++) {
        const double exag = it < 250 ? 12 : 1, mom = it < 250 ? 0.5 : 0.8, lr = 200;
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < n; i++) {
            double s = 0;
            for (int64_t j = 0; j < n; j++) {
                const double a = y[i * 2] - y[j * 2], b = y[i * 2 + 1] - y[j * 2 + 1];
                const double q = j == i ? 0 : 1 / (1 + a * a + b * b);
                num[i * n + j] = q;
                s += q;
            }
            rowsum[i] = s;
        }
        double Z = 0;
        for (int64_t i = 0; i < n; i++) Z += rowsum[i];   /* in order: the same sum at any thread count */
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < n; i++) {
            double g0 = 0, g1 = 0;
            for (int64_t j = 0; j < n; j++) {
                const double q = num[i * n + j], m = (exag * P[i * n + j] - q / Z) * q;
                g0 += m * (y[i * 2] - y[j * 2]);
                g1 += m * (y[i * 2 + 1] - y[j * 2 + 1]);
            }
            grad[i * 2] = 4 * g0, grad[i * 2 + 1] = 4 * g1;
        }
        for (int64_t k = 0; k < n * 2; k++) {
            /* delta-bar-delta: a coordinate whose step keeps its direction slows, one that turns speeds up */
            gain[k] = (grad[k] > 0) != (vel[k] > 0) ? gain[k] + 0.2 : fmax(gain[k] * 0.8, 0.01);
            vel[k] = mom * vel[k] - lr * gain[k] * grad[k];
            y[k] += vel[k];
        }
        double m0 = 0, m1 = 0;
        for (int64_t i = 0; i < n; i++) m0 += y[i * 2], m1 += y[i * 2 + 1];
        for (int64_t i = 0; i < n; i++) y[i * 2] -= m0 / n, y[i * 2 + 1] -= m1 / n;
    }
    free(P), free(d2), free(num), free(grad), free(vel), free(gain), free(rowsum);
    for (int64_t i = 0; i < n * 2; i++)
        if (!isfinite(y[i])) {
            dl_set_error("t-SNE diverged (a non-finite coordinate)");
            return -1;
        }
    return 0;
}
