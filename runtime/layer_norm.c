/* layer_norm.c — layer normalization over the last axis, forward and
 * backward (the kernels of ops.def's layer_norm and layer_norm_grad).
 *
 * A row of f features is normalized with its own statistics:
 *
 *     xhat = (x - mean) * rstd,   rstd = 1 / sqrt(var + eps),   y = xhat * w + b
 *
 * with the biased variance, as nn.LayerNorm. The statistics are not kept
 * between forward and backward: each kernel recomputes them from x in two
 * passes over the row (the mean, then the squared deviations — no
 * cancellation as with E[x^2] - E[x]^2), while the row is in L1. That costs
 * two additions per element and saves the graph a [rows, 2] value.
 *
 * The backward of one row, with g = gy * w:
 *
 *     dx = rstd * (g - mean(g) - xhat * mean(g * xhat))
 *
 * and the weight's gradient is the column sum of gy * xhat, which
 * dl_layer_norm_dw splits into DL_LAYER_NORM_PARTS fixed blocks of rows so
 * that the blocks can run on different threads and still be added in the
 * same order (by the graph's reduce_sum) at any thread count. The bias's
 * gradient, the column sum of gy, is an ordinary reduce_sum.
 *
 * Sums over a row go through LANES partial accumulators, added in a fixed
 * order: the compiler vectorizes them without -ffast-math, and the result
 * depends only on f, not on the thread count. */
#pragma GCC optimize("O3", "no-trapping-math")
#include <math.h>
#include <string.h>

#include "dlnrt.h"

/* Below this many elements a call stays on one thread. */
#define LN_PARALLEL_WORK 32768
#define LANES 8

static float row_sum(const float *v, int64_t f) {
    float acc[LANES] = {0};
    int64_t j = 0;
    for (; j + LANES <= f; j += LANES)
        for (int l = 0; l < LANES; l++) acc[l] += v[j + l];
    float s = 0.0f;
    for (int l = 0; l < LANES; l++) s += acc[l];
    for (; j < f; j++) s += v[j];
    return s;
}

static float row_sq_dev(const float *v, int64_t f, float mean) {
    float acc[LANES] = {0};
    int64_t j = 0;
    for (; j + LANES <= f; j += LANES)
        for (int l = 0; l < LANES; l++) {
            const float d = v[j + l] - mean;
            acc[l] += d * d;
        }
    float s = 0.0f;
    for (int l = 0; l < LANES; l++) s += acc[l];
    for (; j < f; j++) s += (v[j] - mean) * (v[j] - mean);
    return s;
}

/* The row's mean and 1 / sqrt(var + eps). */
static void row_stats(const float *x, int64_t f, float eps, float *mean, float *rstd) {
    const float m = row_sum(x, f) / (float)f;
    *mean = m;
    *rstd = 1.0f / sqrtf(row_sq_dev(x, f, m) / (float)f + eps);
}

void dl_layer_norm(const float *x, const float *w, const float *b, float *y, int64_t rows, int64_t f, float eps) {
#pragma omp parallel for schedule(static) if (rows * f >= LN_PARALLEL_WORK && rows > 1)
    for (int64_t r = 0; r < rows; r++) {
        const float *restrict xr = x + r * f;
        float *restrict yr = y + r * f;
        float mean, rstd;
        row_stats(xr, f, eps, &mean, &rstd);
        for (int64_t j = 0; j < f; j++) yr[j] = (xr[j] - mean) * rstd * w[j] + b[j];
    }
}

void dl_layer_norm_dx(const float *x, const float *w, const float *gy, float *dx, int64_t rows, int64_t f, float eps) {
#pragma omp parallel for schedule(static) if (rows * f >= LN_PARALLEL_WORK && rows > 1)
    for (int64_t r = 0; r < rows; r++) {
        const float *restrict xr = x + r * f, *restrict gr = gy + r * f;
        float *restrict dr = dx + r * f;
        float mean, rstd;
        row_stats(xr, f, eps, &mean, &rstd);
        float ag[LANES] = {0}, agx[LANES] = {0};
        int64_t j = 0;
        for (; j + LANES <= f; j += LANES)
            for (int l = 0; l < LANES; l++) {
                const float g = gr[j + l] * w[j + l];
                ag[l] += g;
                agx[l] += g * (xr[j + l] - mean) * rstd;
            }
        float sg = 0.0f, sgx = 0.0f;
        for (int l = 0; l < LANES; l++) sg += ag[l], sgx += agx[l];
        for (; j < f; j++) {
            const float g = gr[j] * w[j];
            sg += g;
            sgx += g * (xr[j] - mean) * rstd;
        }
        const float mg = sg / (float)f, mgx = sgx / (float)f;
        for (j = 0; j < f; j++) dr[j] = rstd * (gr[j] * w[j] - mg - (xr[j] - mean) * rstd * mgx);
    }
}

void dl_layer_norm_dw(const float *x, const float *gy, float *parts, int64_t rows, int64_t f, float eps) {
#pragma omp parallel for schedule(static) if (rows * f >= LN_PARALLEL_WORK)
    for (int p = 0; p < DL_LAYER_NORM_PARTS; p++) {
        float *restrict acc = parts + p * f;
        memset(acc, 0, sizeof(float) * (size_t)f);
        for (int64_t r = rows * p / DL_LAYER_NORM_PARTS; r < rows * (p + 1) / DL_LAYER_NORM_PARTS; r++) {
            const float *restrict xr = x + r * f, *restrict gr = gy + r * f;
            float mean, rstd;
            row_stats(xr, f, eps, &mean, &rstd);
            for (int64_t j = 0; j < f; j++) acc[j] += gr[j] * (xr[j] - mean) * rstd;
        }
    }
}
