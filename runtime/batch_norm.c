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
 * The backward kernels take an optional mask: with one, gy stands for the
 * gradient through the activation whose output is mask — gy * (mask > 0 ?
 * 1 : 0) after a ReLU (hi = 0), gy * ((mask > 0 ? 1 : 0) * (hi - mask > 0 ?
 * 1 : 0)) after a ReLU6 (hi = 6) — the same float products the generated
 * backward kernels compute (mask_of below is the one definition), so that
 * product is not a pass of its own writing a tensor both kernels read.
 *
 * Sums are safe and thread-count independent: a plane is summed in float
 * over LANES partial accumulators (2 x LANES for the gradient's sums, so
 * the loop is not held by one chain of dependent adds) added in a fixed
 * order (short: at most a few thousand elements), and the planes' sums are added in double, one
 * channel on one thread, in order. At 2 threads or more the two sums are taken by images
 * instead (image_sums): each thread sums its images' planes, as the
 * convolutions and the elementwise kernels around them share the images, so
 * a thread reads back what it wrote into its own L2; the planes' float sums
 * are the same numbers, added in double in the same order afterwards. The statistics take one pass: the sums
 * are of x - k, k the mean of the channel's first plane, so the variance
 * E[(x-k)^2] - E[x-k]^2 does not cancel as E[x^2] - E[x]^2 would when the
 * mean is large against the spread. The elementwise kernels
 * share planes among threads; each element's value does not depend on who
 * computes it. */
#pragma GCC optimize("O3", "no-trapping-math")
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "dlnrt.h"
#include "lanes_internal.h"

/* Below this many elements a call stays on one thread. */
#define BN_PARALLEL_WORK 32768
/* Channels whose sums one call of stats_block / grad_sums_block keeps. */
#define BN_BLOCK 64
/* Cloned for AVX-512, AVX2 and baseline x86-64 (lanes_internal.h). */
#define BN_CLONES DL_LANE_CLONES

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

/* stats of channels [c0, c1) from their shift k and sums s, q over m elements (arrays from c0). */
static void stats_finish(const float *k, const double *s, const double *q, int64_t m, int64_t c, int64_t c0,
                         int64_t c1, float *stats) {
    for (int64_t ch = c0; ch < c1; ch++) {
        const double e = s[ch - c0] / (double)m;
        stats[ch] = (float)(k[ch - c0] + e);
        const double v = q[ch - c0] / (double)m - e * e;
        stats[c + ch] = (float)(v < 0 ? 0 : v); /* rounding may dip below 0; a NaN stays NaN */
    }
}

/* The statistics of channels [c0, c1), c1 - c0 <= BN_BLOCK, walking x in
 * memory order (image by image, the block's planes in turn) rather than
 * channel by channel, whose jumps of c * p floats defeat the prefetcher when
 * planes are short. Each channel's sums still run over the images in order,
 * so the bits do not depend on how channels are blocked. The sums are
 * shifted by k, the mean of the channel's first plane (close to the
 * channel's mean, so E[d^2] - E[d]^2 in double does not cancel); mean = k +
 * E[d]. */
BN_CLONES static void stats_block(const float *x, int64_t n, int64_t c, int64_t p, int64_t c0, int64_t c1,
                                  float *stats) {
    float k[BN_BLOCK], ps, pq;
    double s[BN_BLOCK] = {0}, q[BN_BLOCK] = {0};
    for (int64_t ch = c0; ch < c1; ch++) /* an empty batch has no first plane: NaN statistics, as torch.mean */
        k[ch - c0] = n > 0 && p > 0 ? (plane_sums(x + ch * p, p, 0.0f, &ps, NULL), ps / (float)p) : 0.0f;
    for (int64_t i = 0; i < n; i++)
        for (int64_t ch = c0; ch < c1; ch++) {
            plane_sums(x + (i * c + ch) * p, p, k[ch - c0], &ps, &pq);
            s[ch - c0] += ps, q[ch - c0] += pq;
        }
    stats_finish(k, s, q, n * p, c, c0, c1, stats);
}

/* The mask's factor, 1 or 0, as the generated backward kernels compute it:
 * step(m) after a ReLU (hi = 0), step(m) * step(hi - m) after a ReLU6 (hi =
 * 6: 1 strictly inside (0, 6), as nn.ReLU6). A scalar and a LANES-wide form,
 * the same comparisons and products. */
INLINE float mask_of(float m, float hi) {
    const float a = m > 0.0f ? 1.0f : 0.0f;
    return hi > 0.0f ? a * (hi - m > 0.0f ? 1.0f : 0.0f) : a;
}
INLINE vf mask_vec(vf m, float hi) {
    const vf zero = {0}, a = __builtin_convertvector(-(m > zero), vf); /* -(true) = 1 */
    return hi > 0.0f ? a * __builtin_convertvector(-(hi - m > zero), vf) : a;
}

/* gy times the mask's factor (mr NULL: gy), LANES at a time. */
INLINE vf masked(const float *gr, const float *mr, float hi, int64_t j) {
    const vf g = load(gr + j);
    return mr ? g * mask_vec(load(mr + j), hi) : g;
}

/* [sum g; sum g * (x - mean)] over one plane, g = gy (mr NULL) or gy masked by mr (hi: mask_of). */
INLINE void plane_grad_sums(const float *xr, const float *gr, const float *mr, float hi, int64_t p, float mean,
                            float *ps, float *pt) {
    vf a = {0}, b = {0}, a1 = {0}, b1 = {0}; /* two independent chains of adds per sum */
    int64_t j = 0;
    for (; j + 2 * LANES <= p; j += 2 * LANES) {
        const vf g = masked(gr, mr, hi, j), g1 = masked(gr, mr, hi, j + LANES);
        a += g, a1 += g1;
        b += g * (load(xr + j) - mean), b1 += g1 * (load(xr + j + LANES) - mean);
    }
    for (; j + LANES <= p; j += LANES) {
        const vf g = masked(gr, mr, hi, j);
        a += g;
        b += g * (load(xr + j) - mean);
    }
    float s = hsum(a + a1), t = hsum(b + b1);
    for (; j < p; j++) {
        const float g = mr ? gr[j] * mask_of(mr[j], hi) : gr[j];
        s += g, t += g * (xr[j] - mean);
    }
    *ps = s, *pt = t;
}

/* plane_grad_sums of a plane at offset o, with the mask kind chosen here: each
 * call is inlined with its own constants, so the loops test no mask kind. */
INLINE void plane_grad_sums_at(const float *x, const float *gy, const float *mask, float hi, int64_t o, int64_t p,
                               float mean, float *ps, float *pt) {
    if (!mask) plane_grad_sums(x + o, gy + o, NULL, 0.0f, p, mean, ps, pt);
    else if (hi > 0.0f) plane_grad_sums(x + o, gy + o, mask + o, hi, p, mean, ps, pt);
    else plane_grad_sums(x + o, gy + o, mask + o, 0.0f, p, mean, ps, pt);
}

/* [sum gy; sum gy * (x - mean)] of channels [c0, c1), in memory order as stats_block. */
BN_CLONES static void grad_sums_block(const float *x, const float *gy, const float *mask, float hi,
                                      const float *stats, int64_t n, int64_t c, int64_t p, int64_t c0, int64_t c1,
                                      double *sg, double *sgd) {
    for (int64_t ch = c0; ch < c1; ch++) sg[ch - c0] = sgd[ch - c0] = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t ch = c0; ch < c1; ch++) {
            float ps, pt;
            plane_grad_sums_at(x, gy, mask, hi, (i * c + ch) * p, p, stats[ch], &ps, &pt);
            sg[ch - c0] += ps, sgd[ch - c0] += pt;
        }
}

/* Channels per block: all of a thread's share (up to BN_BLOCK), so one thread walks x in order. */
static int64_t block_of(int64_t n, int64_t c, int64_t p) {
    const int64_t nt = n * c * p >= BN_PARALLEL_WORK ? omp_get_max_threads() : 1;
    const int64_t b = (c + nt - 1) / nt;
    return b < BN_BLOCK ? (b > 0 ? b : 1) : BN_BLOCK;
}

BN_CLONES static void plane_normalize(const float *restrict x, float *restrict y, int64_t p, float mean, float k,
                                      float b) {
    for (int64_t j = 0; j < p; j++) y[j] = (x[j] - mean) * k + b;
}

BN_CLONES static void plane_dx(const float *restrict x, const float *restrict gy, const float *restrict mask,
                               float hi, float *restrict dx, int64_t p, float mean, float k, float mg, float c2) {
    if (mask && hi > 0.0f)
        for (int64_t j = 0; j < p; j++) dx[j] = k * (gy[j] * mask_of(mask[j], hi) - mg - (x[j] - mean) * c2);
    else if (mask)
        for (int64_t j = 0; j < p; j++) dx[j] = k * (gy[j] * mask_of(mask[j], 0.0f) - mg - (x[j] - mean) * c2);
    else
        for (int64_t j = 0; j < p; j++) dx[j] = k * (gy[j] - mg - (x[j] - mean) * c2);
}

/* sums of channels [c0, c1) from sg, sgd (arrays from c0). */
static void sums_finish(const double *sg, const double *sgd, const float *stats, int64_t c, int64_t c0, int64_t c1,
                        float eps, float *sums) {
    for (int64_t ch = c0; ch < c1; ch++) {
        sums[ch] = (float)sg[ch - c0];
        sums[c + ch] = (float)(sgd[ch - c0] / sqrt((double)stats[c + ch] + eps));
    }
}

/* ---- the sums by images, at 2 threads or more ---------------------------------
 *
 * stats_block and grad_sums_block give each thread a block of channels over
 * all the images, while the convolution before them (conv.c: images by
 * omp for schedule(static)) and dl_batch_norm / dl_batch_norm_dx (planes
 * q = image * c + channel, the same schedule) give thread t the images
 * [n*t/nt, n*(t+1)/nt). So at 2 threads half of what a channel block reads
 * was written by the other core, and comes from its L2 or from memory, on a
 * machine whose memory bandwidth one core already fills (docs/performance.md,
 * "2-thread scaling"). Here each thread takes the same images as the
 * convolution: its planes' float sums (plane_sums / plane_grad_sums, the
 * same calls on the same planes) go to part[(i*c + ch)*2 ..], then each
 * channel adds its n pairs in double in image order, as the blocks do:
 * the same bits at any thread count. */

/* Whether a call takes the sums by images: several threads, a plane at
 * least a vector long (f32[N, C]'s p = 1 stays by channels), images for
 * every thread. */
static int by_images(int64_t n, int64_t c, int64_t p) {
    const int nt = omp_get_max_threads();
    return nt > 1 && n * c * p >= BN_PARALLEL_WORK && p >= LANES && n >= nt && !omp_in_parallel();
}

/* k[ch] = the mean of channel ch's first plane (stats_block's shift), for channels [c0, c1). */
BN_CLONES static void first_means(const float *x, int64_t p, int64_t c0, int64_t c1, float *k) {
    float ps;
    for (int64_t ch = c0; ch < c1; ch++) k[ch] = (plane_sums(x + ch * p, p, 0.0f, &ps, NULL), ps / (float)p);
}

/* The pairs of image i's planes: stats (gy NULL: sum and sum of squares of
 * x - k[ch]) or the gradient's (sum g, sum g * (x - mean)). */
BN_CLONES static void image_pairs(const float *x, const float *gy, const float *mask, float hi, const float *k,
                                  int64_t c, int64_t p, int64_t i, float *part) {
    for (int64_t ch = 0; ch < c; ch++) {
        const int64_t o = (i * c + ch) * p;
        float *pr = part + (i * c + ch) * 2;
        if (!gy) plane_sums(x + o, p, k[ch], &pr[0], &pr[1]);
        else plane_grad_sums_at(x, gy, mask, hi, o, p, k[ch], &pr[0], &pr[1]);
    }
}

/* s[ch] and q[ch] (in double) of the pairs of every image, in image order,
 * for channel ch; shift: the stats' k (first_means, computed here) or NULL
 * for the gradient's, whose planes are centred on stats' means. One
 * parallel loop, as the channel blocks': the shift (image 0's planes, 1/n
 * of the pass, in the first thread's images) comes before it and the n * c
 * additions after it on the calling thread. Returns 0, or -1 without
 * scratch (the caller then takes the channel blocks). */
static int image_sums(const float *x, const float *gy, const float *mask, float mask_hi, const float *stats, int64_t n,
                      int64_t c, int64_t p, float *shift, double *s, double *q) {
    float *part = malloc(sizeof(float) * (size_t)(n * c * 2));
    if (!part) return -1;
    if (!gy) first_means(x, p, 0, c, shift);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) image_pairs(x, gy, mask, mask_hi, gy ? stats : shift, c, p, i, part);
    for (int64_t ch = 0; ch < c; ch++) s[ch] = q[ch] = 0;
    for (int64_t i = 0; i < n; i++) /* each channel's pairs in image order */
        for (int64_t ch = 0; ch < c; ch++) s[ch] += part[(i * c + ch) * 2], q[ch] += part[(i * c + ch) * 2 + 1];
    free(part);
    return 0;
}

void dl_batch_stats(const float *x, float *stats, int64_t n, int64_t c, int64_t p) {
    if (by_images(n, c, p)) {
        double *sq = malloc(sizeof(double) * (size_t)(2 * c) + sizeof(float) * (size_t)c);
        float *k = sq ? (float *)(sq + 2 * c) : NULL;
        const int done = sq && image_sums(x, NULL, NULL, 0.0f, NULL, n, c, p, k, sq, sq + c) == 0;
        if (done) stats_finish(k, sq, sq + c, n * p, c, 0, c, stats);
        free(sq);
        if (done) return;
    }
    const int64_t bs = block_of(n, c, p), blocks = (c + bs - 1) / bs;
#pragma omp parallel for schedule(static) if (n * c * p >= BN_PARALLEL_WORK && blocks > 1)
    for (int64_t b = 0; b < blocks; b++) stats_block(x, n, c, p, b * bs, b * bs + bs < c ? b * bs + bs : c, stats);
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

void dl_batch_norm_sums(const float *x, const float *stats, const float *gy, const float *mask, float mask_hi,
                        float *sums, int64_t n, int64_t c, int64_t p, float eps) {
    if (by_images(n, c, p)) {
        double *sq = malloc(sizeof(double) * (size_t)(2 * c));
        const int done = sq && image_sums(x, gy, mask, mask_hi, stats, n, c, p, NULL, sq, sq + c) == 0;
        if (done) sums_finish(sq, sq + c, stats, c, 0, c, eps, sums);
        free(sq);
        if (done) return;
    }
    const int64_t bs = block_of(n, c, p), blocks = (c + bs - 1) / bs;
#pragma omp parallel for schedule(static) if (n * c * p >= BN_PARALLEL_WORK && blocks > 1)
    for (int64_t b = 0; b < blocks; b++) {
        const int64_t c0 = b * bs, c1 = c0 + bs < c ? c0 + bs : c;
        double sg[BN_BLOCK], sgd[BN_BLOCK];
        grad_sums_block(x, gy, mask, mask_hi, stats, n, c, p, c0, c1, sg, sgd);
        sums_finish(sg, sgd, stats, c, c0, c1, eps, sums);
    }
}

void dl_batch_norm_dx(const float *x, const float *stats, const float *w, const float *gy, const float *mask,
                      float mask_hi, const float *sums, float *dx, int64_t n, int64_t c, int64_t p, float eps) {
    const float m = (float)(n * p);
#pragma omp parallel for schedule(static) if (n * c * p >= BN_PARALLEL_WORK && n * c > 1)
    for (int64_t q = 0; q < n * c; q++) {
        const int64_t ch = q % c;
        const float rstd = 1.0f / sqrtf(stats[c + ch] + eps);
        plane_dx(x + q * p, gy + q * p, mask ? mask + q * p : NULL, mask_hi, dx + q * p, p, stats[ch], rstd * w[ch],
                 sums[ch] / m, rstd * (sums[c + ch] / m));
    }
}
