/* conv_b1.c — batch-1 forward of the 3x3-class convolutions whose planes
 * fit in cache (ResNet-20's 64-channel 8x8 stage at inference).
 *
 * At batch 1 a 64 -> 64 3x3 layer on 8x8 is y[64 x 64] = W[64 x 576] @
 * cols[576 x 64]: dl_sgemm spends a third of its time packing both sides
 * into panels (the weights again on every call) for a product this small,
 * and Winograd's 16 tiles are too few. Here the columns are built once
 * (im2col) and conv_pointwise.c's unpacked register tiles (6 output
 * channels x 4 pixel vectors on AVX-512, the whole 8x8 plane) read the
 * weights in place, broadcast, and the columns row by row.
 *
 * Threads: with more than one and an image as big as dl_sgemm would split,
 * its output channels are cut into ranges of whole 6-row tiles, one per
 * thread, after one thread built the columns; every output is still one
 * tile's sum in one order, the same bits at any thread count. */
#include <omp.h>

#include "conv_b1_internal.h"
#include "conv_pointwise_internal.h"
#include "im2col_internal.h"

/* Output channels per thread come in multiples of this (the AVX-512 tile's rows). */
#define B1_ROWS 6
/* Split an image over the threads from dl_sgemm's threshold, as the path
 * it replaces did: ResNet-20's layers (2.4M multiply-adds) stay serial, so
 * batch-1 inference at 2 threads forks no more often than before. */
#define B1_PAR_MACS DL_GEMM_PARALLEL_FLOPS

static int64_t depth(const dl_conv2d_geom *g) { return g->c * g->kh * g->kw; }

int dl_conv_b1_applies(const dl_conv2d_geom *g) {
    const int64_t P = g->oh * g->ow;
    return g->n == 1 && g->groups == 1 && g->kh * g->kw > 1 && g->sh == 1 && g->sw == 1 && g->c >= 32 &&
           g->oc >= 32 && P <= 64;
}

int64_t dl_conv_b1_floats(const dl_conv2d_geom *g) { return depth(g) * g->oh * g->ow; }

/* Output channels [lo, hi) of one image from its columns. */
static void rows(dl_gemv_isa isa, const dl_conv2d_geom *g, const float *cols, const float *w, float *y, int64_t lo,
                 int64_t hi) {
    const int64_t K = depth(g), P = g->oh * g->ow;
    if (hi > lo) dl_pw_matmul_isa(isa, hi - lo, K, P, w + lo * K, K, 1, cols, y + lo * P, 0);
}

int dl_conv_b1_forward(dl_gemv_isa isa, const dl_conv2d_geom *g, const float *x, const float *w, float *y,
                       float *buf, dl_conv_epilogue ep, void *ctx) {
    if (dl_isa_level(isa) < 0) return -1;
    const int64_t P = g->oh * g->ow, tiles = (g->oc + B1_ROWS - 1) / B1_ROWS;
    const double macs = (double)g->oc * (double)depth(g) * (double)P;
    const int par = omp_get_max_threads() > 1 && !omp_in_parallel() && macs >= B1_PAR_MACS;
    for (int64_t i = 0; i < g->n; i++) {
        float *yi = y + i * g->oc * P;
        dl_im2col(g, g->c, x + i * g->c * g->h * g->w, buf);
        if (par) {
#pragma omp parallel
            {
                const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
                const int64_t lo = tiles * t / nt * B1_ROWS, hi = tiles * (t + 1) / nt * B1_ROWS;
                rows(isa, g, buf, w, yi, lo, hi < g->oc ? hi : g->oc);
            }
        } else {
            rows(isa, g, buf, w, yi, 0, g->oc);
        }
        if (ep) ep(ctx, i, yi);
    }
    return 0;
}
