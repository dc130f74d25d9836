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
 * depends only on f, not on the thread count or the instruction set. */
#pragma GCC optimize("O3", "no-trapping-math")
#include <math.h>
#include <omp.h>
#include <string.h>

#include "dlnrt.h"
#include "lanes_internal.h"

/* Below this many elements a call stays on one thread. */
#define LN_PARALLEL_WORK 32768

/* The row functions are cloned (lanes_internal.h): at baseline x86-64 alone
 * the layer norms of the gpt bench cost more than the composed kernels. */
#define LN_CLONES DL_LANE_CLONES

/* The row's mean and 1 / sqrt(var + eps): the mean first, then the squared deviations. */
INLINE void row_stats(const float *x, int64_t f, float eps, float *mean, float *rstd) {
    vf acc = {0};
    int64_t j = 0;
    for (; j + LANES <= f; j += LANES) acc += load(x + j);
    float s = hsum(acc);
    for (; j < f; j++) s += x[j];
    const float m = s / (float)f;
    vf sq = {0};
    for (j = 0; j + LANES <= f; j += LANES) {
        const vf d = load(x + j) - m;
        sq += d * d;
    }
    float q = hsum(sq);
    for (; j < f; j++) q += (x[j] - m) * (x[j] - m);
    *mean = m;
    *rstd = 1.0f / sqrtf(q / (float)f + eps);
}

LN_CLONES static void row_forward(const float *restrict x, const float *restrict w, const float *restrict b,
                                  float *restrict y, int64_t f, float eps) {
    float mean, rstd;
    row_stats(x, f, eps, &mean, &rstd);
    for (int64_t j = 0; j < f; j++) y[j] = (x[j] - mean) * rstd * w[j] + b[j];
}

LN_CLONES static void row_dx(const float *restrict x, const float *restrict w, const float *restrict gy,
                             float *restrict dx, int64_t f, float eps) {
    float mean, rstd;
    row_stats(x, f, eps, &mean, &rstd);
    vf ag = {0}, agx = {0};
    int64_t j = 0;
    for (; j + LANES <= f; j += LANES) {
        const vf g = load(gy + j) * load(w + j);
        ag += g;
        agx += g * ((load(x + j) - mean) * rstd);
    }
    float sg = hsum(ag), sgx = hsum(agx);
    for (; j < f; j++) {
        const float g = gy[j] * w[j];
        sg += g;
        sgx += g * ((x[j] - mean) * rstd);
    }
    const float mg = sg / (float)f, mgx = sgx / (float)f;
    for (j = 0; j < f; j++) dx[j] = rstd * (gy[j] * w[j] - mg - (x[j] - mean) * rstd * mgx);
}

/* acc += gy * xhat for the rows [r0, r1). */
LN_CLONES static void rows_dw(const float *restrict x, const float *restrict gy, float *restrict acc, int64_t r0,
                              int64_t r1, int64_t f, float eps) {
    for (int64_t r = r0; r < r1; r++) {
        const float *restrict xr = x + r * f, *restrict gr = gy + r * f;
        float mean, rstd;
        row_stats(xr, f, eps, &mean, &rstd);
        for (int64_t j = 0; j < f; j++) acc[j] += gr[j] * ((xr[j] - mean) * rstd);
    }
}

/* Whether rows x f is worth a team. The loops below enter an OpenMP region
 * only then: an `if (0)` region still builds and ends a team of one (~570 ns,
 * conv_affine.c), and GPT's batch-1 forward calls dl_layer_norm 45 times.
 * Either way each row is computed by the same code: the same bits. */
static int ln_par(int64_t rows, int64_t f) { return rows * f >= LN_PARALLEL_WORK && !omp_in_parallel(); }

void dl_layer_norm(const float *x, const float *w, const float *b, float *y, int64_t rows, int64_t f, float eps) {
    if (rows > 1 && ln_par(rows, f)) {
#pragma omp parallel for schedule(static)
        for (int64_t r = 0; r < rows; r++) row_forward(x + r * f, w, b, y + r * f, f, eps);
    } else
        for (int64_t r = 0; r < rows; r++) row_forward(x + r * f, w, b, y + r * f, f, eps);
}

void dl_layer_norm_dx(const float *x, const float *w, const float *gy, float *dx, int64_t rows, int64_t f, float eps) {
    if (rows > 1 && ln_par(rows, f)) {
#pragma omp parallel for schedule(static)
        for (int64_t r = 0; r < rows; r++) row_dx(x + r * f, w, gy + r * f, dx + r * f, f, eps);
    } else
        for (int64_t r = 0; r < rows; r++) row_dx(x + r * f, w, gy + r * f, dx + r * f, f, eps);
}

void dl_layer_norm_dw(const float *x, const float *gy, float *parts, int64_t rows, int64_t f, float eps) {
#pragma omp parallel for schedule(static) if (ln_par(rows, f))
    for (int p = 0; p < DL_LAYER_NORM_PARTS; p++) {
        memset(parts + p * f, 0, sizeof(float) * (size_t)f);
        rows_dw(x, gy, parts + p * f, rows * p / DL_LAYER_NORM_PARTS, rows * (p + 1) / DL_LAYER_NORM_PARTS, f, eps);
    }
}
