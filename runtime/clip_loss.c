/* clip_loss.c — CLIP's symmetric cross-entropy and its gradient (the kernels
 * of ops.def's clip_loss and clip_loss_grad).
 *
 * With s_ij = a_i . b_j (the caller has scaled and normalized the rows),
 * r_i = log sum_j exp(s_ij) (row i, the image's logits over the texts) and
 * c_j = log sum_i exp(s_ij) (column j, the text's over the images),
 *
 *     loss = 1/2n sum_i (r_i + c_i - 2 s_ii)
 *
 * and dL/ds_ij = (exp(s_ij - r_i) + exp(s_ij - c_j) - 2 [i = j]) / 2n, so
 *
 *     da_i = sum_j dL/ds_ij b_j,    db_j = sum_i dL/ds_ij a_i:
 *
 * the second is the first with a and b swapped (r and c swap with them). The
 * [n, n] logits are never stored: r and c are kept online (a running maximum
 * and a sum rescaled when it moves), 2n floats of scratch. Each row is one
 * thread's work, summed in a fixed order. */
#pragma GCC optimize("O3", "no-trapping-math")
#include <math.h>
#include <string.h>

#include "dlnrt.h"
#include "scratch_internal.h"

/* Below this many multiply-adds (n^2 d) a call stays on one thread. */
#define CLIP_PARALLEL_WORK 65536.0

static float dot(const float *x, const float *y, int64_t d) {
    float s = 0.0f;
    for (int64_t k = 0; k < d; k++) s += x[k] * y[k];
    return s;
}

/* lse[i] = log sum_j exp(x_i . y_j) for the n rows of x; stride-1 rows of y. */
static void row_lse(const float *x, const float *y, int64_t n, int64_t d, float *lse, int par) {
#pragma omp parallel for schedule(static) if (par)
    for (int64_t i = 0; i < n; i++) {
        float mx = -INFINITY, sum = 0.0f;
        for (int64_t j = 0; j < n; j++) {
            const float v = dot(x + i * d, y + j * d, d);
            if (v > mx) sum = sum * expf(mx - v) + 1.0f, mx = v;
            else sum += expf(v - mx);
        }
        lse[i] = mx + logf(sum);
    }
}

/* The rows' and the columns' log-sum-exps in scratch: r = lse[0, n), c = lse[n, 2n). */
static float *prepare(const float *a, const float *b, int64_t n, int64_t d, int par) {
    float *lse = dl_scratch(DL_SCRATCH_CLIP, 2 * n + 1);
    if (!lse) {
        dl_set_error("clip_loss: out of memory for the log-sum-exps");
        return NULL;
    }
    row_lse(a, b, n, d, lse, par);
    row_lse(b, a, n, d, lse + n, par);
    return lse;
}

static int parallel(int64_t n, int64_t d) { return (double)n * n * d >= CLIP_PARALLEL_WORK && !DL_IN_PARALLEL(); }

int dl_clip_loss(const float *a, const float *b, int64_t n, int64_t d, float *loss) {
    const float *lse = prepare(a, b, n, d, parallel(n, d));
    if (!lse) return -1;
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += (double)lse[i] + lse[n + i] - 2.0 * dot(a + i * d, b + i * d, d);
    *loss = n ? (float)(s / (2.0 * (double)n)) : 0.0f;
    return 0;
}

int dl_clip_loss_grad(const float *a, const float *b, const float *gy, int64_t n, int64_t d, int which, float *g) {
    const int par = parallel(n, d);
    const float *lse = prepare(a, b, n, d, par);
    if (!lse) return -1;
    /* db is da with the roles swapped: x the input differentiated, y the other, lx its lse, ly the other's */
    const float *x = which ? b : a, *y = which ? a : b, *lx = which ? lse + n : lse, *ly = which ? lse : lse + n;
    const float scale = n ? gy[0] / (2.0f * (float)n) : 0.0f;
#pragma omp parallel for schedule(static) if (par)
    for (int64_t i = 0; i < n; i++) {
        float *gi = g + i * d;
        memset(gi, 0, sizeof(float) * (size_t)d);
        for (int64_t j = 0; j < n; j++) {
            const float s = dot(x + i * d, y + j * d, d);
            const float w = scale * (expf(s - lx[i]) + expf(s - ly[j]) - (i == j ? 2.0f : 0.0f));
            for (int64_t k = 0; k < d; k++) gi[k] += w * y[j * d + k];
        }
    }
    return 0;
}
