/* batch_norm.c — batch normalization in training, forward and backward (the
 * kernels of ops.def's batch_stats, batch_normalize, batch_norm_sums and
 * batch_norm_dx).
 *
 * x is viewed as [n, c, p]: n samples, c channels, p positions per channel
 * plane (H * W, or 1 for f32[N, C]). A channel's M = n * p elements are n
 * planes of p contiguous floats, so every kernel walks planes:
 *
 *     stats  = [mean; var]                       (biased variance)
 *     y      = (x - mean) * (rstd * w) + b       rstd = 1 / sqrt(var + eps)
 *     sums   = [sum gy; sum gy * xhat]           xhat = (x - mean) * rstd
 *     dx     = rstd * w * (gy - sums0 / M - xhat * sums1 / M)
 *
 * Sums are safe and thread-count independent: a plane is summed in float
 * over LANES partial accumulators added in a fixed order (short: at most a
 * few thousand elements), and the planes' sums are added in double, one
 * channel on one thread, in order. The statistics take one pass: the sums
 * are of x - k, k the mean of the channel's first plane, so the variance
 * E[(x-k)^2] - E[x-k]^2 does not cancel as E[x^2] - E[x]^2 would when the
 * mean is large against the spread. The elementwise kernels
 * share planes among threads; each element's value does not depend on who
 * computes it. */
#pragma GCC optimize("O3", "no-trapping-math")
#include <math.h>
#include <string.h>

#include "dlnrt.h"

/* Below this many elements a call stays on one thread. */
#define BN_PARALLEL_WORK 32768
#define LANES 16

/* Cloned for AVX-512, AVX2 and baseline x86-64 as layer_norm.c's row
 * functions (the library is built for baseline x86-64); -std=c11 keeps FMA
 * contraction off, so every clone gives the same bits. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define BN_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define BN_CLONES
#endif
#define INLINE static inline __attribute__((always_inline))

typedef float vf __attribute__((vector_size(LANES * sizeof(float))));
#pragma GCC diagnostic ignored "-Wpsabi"

INLINE vf load(const float *p) {
    vf v;
    memcpy(&v, p, sizeof v);
    return v;
}

INLINE float hsum(vf v) {
    float s = 0.0f;
    for (int l = 0; l < LANES; l++) s += v[l];
    return s;
}

/* Sum over one plane of x - shift (shift = 0: the plain sum), and of its squares when sq is set. */
INLINE void plane_sums(const float *x, int64_t p, float shift, float *sum, float *sq) {
    vf a = {0}, q = {0};
    int64_t j = 0;
    for (; j + LANES <= p; j += LANES) {
        const vf d = load(x + j) - shift;
        a += d;
        q += d * d;
    }
    float s = hsum(a), s2 = hsum(q);
    for (; j < p; j++) s += x[j] - shift, s2 += (x[j] - shift) * (x[j] - shift);
    *sum = s;
    if (sq) *sq = s2;
}

/* One pass over the channel with sums shifted by k, the mean of its first
 * plane (close to the channel's mean, so sum d^2 - (sum d)^2 / M does not
 * cancel): var = E[d^2] - E[d]^2 in double, mean = k + E[d]. */
BN_CLONES static void channel_stats(const float *x, int64_t n, int64_t c, int64_t p, float *mean, float *var) {
    float k, ps, pq;
    plane_sums(x, p, 0.0f, &ps, NULL);
    k = ps / (float)p;
    double s = 0, q = 0;
    for (int64_t i = 0; i < n; i++) plane_sums(x + i * c * p, p, k, &ps, &pq), s += ps, q += pq;
    const double m = (double)(n * p), e = s / m;
    *mean = (float)(k + e);
    *var = (float)fmax(q / m - e * e, 0.0);
}

/* [sum gy; sum gy * (x - mean)] over one channel (the second times rstd by the caller). */
BN_CLONES static void channel_grad_sums(const float *x, const float *gy, int64_t n, int64_t c, int64_t p, float mean,
                                        double *sg, double *sgd) {
    double s = 0, t = 0;
    for (int64_t i = 0; i < n; i++) {
        const float *xr = x + i * c * p, *gr = gy + i * c * p;
        vf a = {0}, b = {0};
        int64_t j = 0;
        for (; j + LANES <= p; j += LANES) {
            const vf g = load(gr + j);
            a += g;
            b += g * (load(xr + j) - mean);
        }
        float ps = hsum(a), pt = hsum(b);
        for (; j < p; j++) ps += gr[j], pt += gr[j] * (xr[j] - mean);
        s += ps, t += pt;
    }
    *sg = s, *sgd = t;
}

BN_CLONES static void plane_normalize(const float *restrict x, float *restrict y, int64_t p, float mean, float k,
                                      float b) {
    for (int64_t j = 0; j < p; j++) y[j] = (x[j] - mean) * k + b;
}

BN_CLONES static void plane_dx(const float *restrict x, const float *restrict gy, float *restrict dx, int64_t p,
                               float mean, float k, float mg, float c2) {
    for (int64_t j = 0; j < p; j++) dx[j] = k * (gy[j] - mg - (x[j] - mean) * c2);
}

void dl_batch_stats(const float *x, float *stats, int64_t n, int64_t c, int64_t p) {
#pragma omp parallel for schedule(static) if (n * c * p >= BN_PARALLEL_WORK && c > 1)
    for (int64_t ch = 0; ch < c; ch++) channel_stats(x + ch * p, n, c, p, &stats[ch], &stats[c + ch]);
}

void dl_batch_norm(const float *x, const float *stats, const float *w, const float *b, float *y, int64_t n, int64_t c,
                   int64_t p, float eps) {
#pragma omp parallel for schedule(static) if (n * c * p >= BN_PARALLEL_WORK && n * c > 1)
    for (int64_t q = 0; q < n * c; q++) {
        const int64_t ch = q % c;
        const float k = w[ch] / sqrtf(stats[c + ch] + eps);
        plane_normalize(x + q * p, y + q * p, p, stats[ch], k, b[ch]);
    }
}

void dl_batch_norm_sums(const float *x, const float *stats, const float *gy, float *sums, int64_t n, int64_t c,
                        int64_t p, float eps) {
#pragma omp parallel for schedule(static) if (n * c * p >= BN_PARALLEL_WORK && c > 1)
    for (int64_t ch = 0; ch < c; ch++) {
        double sg, sgd;
        channel_grad_sums(x + ch * p, gy + ch * p, n, c, p, stats[ch], &sg, &sgd);
        sums[ch] = (float)sg;
        sums[c + ch] = (float)(sgd / sqrt((double)stats[c + ch] + eps));
    }
}

void dl_batch_norm_dx(const float *x, const float *stats, const float *w, const float *gy, const float *sums, float *dx,
                      int64_t n, int64_t c, int64_t p, float eps) {
    const float m = (float)(n * p);
#pragma omp parallel for schedule(static) if (n * c * p >= BN_PARALLEL_WORK && n * c > 1)
    for (int64_t q = 0; q < n * c; q++) {
        const int64_t ch = q % c;
        const float rstd = 1.0f / sqrtf(stats[c + ch] + eps);
        plane_dx(x + q * p, gy + q * p, dx + q * p, p, stats[ch], rstd * w[ch], sums[ch] / m, rstd * (sums[c + ch] / m));
    }
}
