/* conv_winograd_internal.h — Winograd F(2x2, 3x3) convolution for stride-1
 * 3x3 layers (runtime only; conv_winograd.c).
 *
 * conv.c calls it for the forward, the stride-1 data gradient (the forward
 * of the flipped convolution) and the weight gradient when
 * dl_conv_winograd_pays says so. */
#ifndef DLNRT_CONV_WINOGRAD_INTERNAL_H
#define DLNRT_CONV_WINOGRAD_INTERNAL_H
#include <stdint.h>

#include "dlnrt.h"

/* Whether the kernel can compute g at all: 3x3, stride 1, dilation 1,
 * groups 1, padding >= 0, oh/ow matching the padding. */
int dl_conv_winograd_fits(const dl_conv2d_geom *g);

/* Whether it is also faster than conv.c's other paths for g (a measured
 * rule on the shape; see conv_winograd.c). */
int dl_conv_winograd_pays(const dl_conv2d_geom *g);

/* The forward's rule: dl_conv_winograd_pays and batch-1 inference's
 * 64-channel 8x8 planes (conv_winograd.c). */
int dl_conv_winograd_pays_forward(const dl_conv2d_geom *g);

/* y = conv(x, w) for a geometry that fits, calling ep (may be NULL) once per
 * image after that image's y is complete, as dl_conv2d_ep. -1 (dl_set_error)
 * when scratch memory runs out. */
int dl_conv_winograd(const dl_conv2d_geom *g, const float *x, const float *w, float *y, dl_conv_epilogue ep,
                     void *ctx);

/* dl_conv_winograd with output tiles of side m (2: F(2x2), 4: F(4x4)) and
 * the weights already transformed: U NULL transforms w into scratch (as
 * dl_conv_winograd), else U is dl_conv_winograd_weights' output for w, g's
 * channels and m (w is then unread). a non-NULL: y = a(conv(x, w)) (the
 * bits of dl_affine_rows_isa on the convolution; y may be a's residual),
 * each plane finished as the output transform produces it, and ep is not
 * called. At batch 1 the threads split the image in space (bands of tile
 * rows, conv_winograd.c), the same bits at any thread count. */
int dl_conv_winograd_u(const dl_conv2d_geom *g, int m, const float *x, const float *w, const float *U, float *y,
                       dl_conv_epilogue ep, void *ctx, const dl_conv_affine *a);

/* Threads for one call of the Winograd forward kernels (this file's and
 * conv_winograd_cl.c's) outside a parallel region: omp_get_max_threads() when
 * the call's direct multiply-adds over all its images reach the split
 * threshold (default DL_GEMM_PARALLEL_FLOPS, conv_b1.c's and dl_sgemm's),
 * else 1, with no fork/join at all. ResNet-20's batch-1 layers (2.36M each)
 * stay on the calling thread: split, each cost more in fork, barriers and
 * join than it saved (docs/performance.md, "ResNet-20 batch-1 inference at
 * 2 threads"); conv_winograd.c itself then splits its batch-1 F(4x4) planes
 * of 64 tiles or more (the 16-channel 32x32 stage) in bands of tile rows
 * over the cores other processes leave free (band_threads, branch b1w).
 * Every thread count gives the same bits.
 * dl_conv_winograd_split_macs(t) sets the threshold (t < 0: the default;
 * the tests take 0 to run the split on small shapes) and returns the old. */
int dl_conv_winograd_threads(const dl_conv2d_geom *g);
double dl_conv_winograd_split_macs(double macs);

/* The forward's output tile side for g, 2 or 4 (a measured rule,
 * conv_winograd.c); dl_conv_winograd (the data gradient) always takes 2. */
int dl_conv_winograd_tile(const dl_conv2d_geom *g);

/* The floats of U for g's channels and tile side m, and U = the transformed
 * weights w (G w G^T per filter, in the layout dl_conv_winograd_u reads). */
int64_t dl_conv_winograd_u_floats(const dl_conv2d_geom *g, int m);
void dl_conv_winograd_weights(const dl_conv2d_geom *g, int m, const float *w, float *U);

/* F(4x4, 3x3)'s transforms (conv_winograd4.c), with the signatures of
 * conv_winograd.c's F(2x2) ones: U[e * es + o * c + ci] from w; a padded
 * plane's 6x6 tiles into v[e * es + t]; one output plane from m[e * es + t]. */
#define WG4_POSITIONS 36
int dl_winograd_input_pairs(int mode); /* input_tiles: -1 by CPU (default), 0 columns one by one, 1 in pairs; returns the old mode */
void dl_wg4_weights(const float *w, int64_t oc, int64_t c, float *U, int64_t es);
void dl_wg4_input_tiles(const float *restrict p, int64_t pw, int64_t th, int64_t tw, float *restrict v, int64_t es);
void dl_wg4_output_tiles(const float *restrict m, int64_t es, int64_t oh, int64_t ow, int64_t tw, float *restrict y);

/* The same two transforms 16 tiles to an AVX-512 vector (conv_winograd4_x16.c)
 * when the plane is whole groups of 16 tiles and the CPU has AVX-512: 1 if
 * done, 0 to leave it to the 8-tile code. dl_wg4_x16_enable(0) turns them
 * off (the tests run both); returns the previous setting. */
int dl_wg4_x16_input(const float *p, int64_t pw, int64_t th, int64_t tw, float *v, int64_t es);
int dl_wg4_x16_output(const float *m, int64_t es, int64_t oh, int64_t ow, int64_t tw, float *y);
int dl_wg4_x16_enable(int on);

/* Mo[M x 16] = U[M x K] @ V[K x 16], rows packed (conv_winograd_product.c):
 * one position's product of a batch-1 plane of exactly 16 tiles. 12-row
 * register tiles on AVX-512, conv_pointwise.c's kernel elsewhere or after
 * dl_wg_product16_enable(0) (the tests run both; returns the previous setting). */
void dl_wg_product16(int64_t M, int64_t K, const float *U, const float *V, float *Mo);
/* The same for 32 tiles (rows of V and Mo 32 apart; 8-row x 2-vector tiles). */
void dl_wg_product32(int64_t M, int64_t K, const float *U, const float *V, float *Mo);
int dl_wg_product16_enable(int on);

/* The forward: dl_conv_winograd_u with dl_conv_winograd_tile(g) and U kept
 * per weights version (conv_winograd_weights.c): version 0 transforms on
 * every call. */
int dl_conv_winograd_w(uint64_t version, const dl_conv2d_geom *g, const float *x, const float *w, float *y,
                       dl_conv_epilogue ep, void *ctx);

/* The same for dl_conv2d_affine_w (conv_affine.c): a kernel that can finish
 * its output with the affine a as it stores it writes y = a(conv(x, w))
 * directly and never calls ep; one that cannot writes yc = conv(x, w) and
 * calls ep (which applies a from yc into y), as dl_conv_winograd_w. */
int dl_conv_winograd_affine_w(uint64_t version, const dl_conv2d_geom *g, const float *x, const float *w, float *yc,
                              float *y, const dl_conv_affine *a, dl_conv_epilogue ep, void *ctx);

/* Drops the kept U of weights in [base, base + n) (dl_weights_release). */
void dl_conv_winograd_release(const float *base, int64_t n);

/* gw = the weight gradient summed over all images (overwritten; zeros for
 * an empty batch), the same bits at any thread count. dl_conv_winograd_pays
 * is its rule too. -1 (dl_set_error) when scratch memory runs out. */
int dl_conv_winograd_bwd_weight(const dl_conv2d_geom *g, const float *x, const float *gy, float *gw);

/* gw[o][c] = G^T W[e][o][c] G (the 3x3 weight gradient from the 16
 * positions' sums, W[e * es + o * c + ci]). */
void dl_wg_inverse_weights(const float *W, int64_t es, int64_t oc, int64_t c, float *gw);

/* The weight gradient with 16 channels to an AVX-512 vector
 * (conv_winograd_wgrad.c), as dl_conv_winograd_bwd_weight: when
 * dl_wg_wgrad16_fits (a geometry that fits, c and oc multiples of 16, the
 * CPU with AVX-512) that calls it. Thread-count independent bits, not the
 * same as the 8-tile path's. dl_wg_wgrad16_enable(0) turns it off (the
 * tests run both); returns the previous setting. */
int dl_wg_wgrad16_fits(const dl_conv2d_geom *g);
int dl_wg_wgrad16(const dl_conv2d_geom *g, const float *x, const float *gy, float *gw);
int dl_wg_wgrad16_enable(int on);

/* Whether conv.c sends a weight gradient the 8-tile rule
 * (dl_conv_winograd_pays) leaves to the direct kernels here: 16 channels on
 * both sides (ResNet-20's 32x32 stage), at least 64 tiles over the batch,
 * and dl_wg_wgrad16_fits. dl_wg_wgrad16_c16_enable(0) turns it off (the
 * tests and the A/B); returns the previous setting. */
int dl_wg_wgrad16_pays(const dl_conv2d_geom *g);
int dl_wg_wgrad16_c16_enable(int on);

#endif
