/* conv_winograd_cl_internal.h — batch-1 F(2x2, 3x3) with channels in the
 * vector lanes (runtime only; conv_winograd_cl.c), for conv_winograd_weights.c's
 * forward. */
#ifndef DLNRT_CONV_WINOGRAD_CL_INTERNAL_H
#define DLNRT_CONV_WINOGRAD_CL_INTERNAL_H
#include <stdint.h>

#include "dlnrt.h"

/* The key of its kept weights for tile side m in conv_winograd_weights.c's
 * table (beside tile sides 2 and 4): U^T is another layout of the same
 * weights. */
#define DL_WG_CL_KEY(m) (100 + (m))

/* The tile side m it takes g's forward with, 0 if none: batch 1,
 * dl_conv_winograd_tile's side (F(4x4) only with 32 or more channels on
 * both sides), channels and output channels multiples of 16, an output
 * plane of whole tiles, and AVX-512. dl_wg_cl_enable(0) turns it off (the
 * tests; returns the previous setting). */
int dl_wg_cl_applies(const dl_conv2d_geom *g);
int dl_wg_cl_enable(int on);

/* The floats of its transformed weights, and UT = them for w (G w G^T per
 * filter, [position][c][oc]; the buffer's tail is the transform's scratch). */
int64_t dl_wg_cl_u_floats(const dl_conv2d_geom *g, int m);
void dl_wg_cl_weights(const dl_conv2d_geom *g, int m, const float *w, float *UT);

/* y = conv(x, w) for a g it applies to, then ep(ctx, 0, y) if ep; with a
 * (not NULL) y = a(conv(x, w)) instead, the affine applied as each output
 * block is stored with dl_affine_rows_isa's formula (same bits), ep not
 * called. UT NULL transforms w into scratch. -1 (dl_set_error) when
 * scratch runs out. dl_wg_cl_threads(g, m) threads run it, each on its own
 * contiguous tile rows (the same bits at any count). */
int dl_wg_cl_forward(const dl_conv2d_geom *g, int m, const float *x, const float *w, const float *UT, float *y,
                     const dl_conv_affine *a, dl_conv_epilogue ep, void *ctx);

/* Its thread count: 1 inside a parallel region, else the threads that get
 * at least dl_wg_cl_split_rows tile rows each (default 4), at most
 * omp_get_max_threads(). dl_wg_cl_split_rows sets that minimum (< 1: the
 * default; the tests split small planes) and returns the previous one. */
int dl_wg_cl_threads(const dl_conv2d_geom *g, int m);
int dl_wg_cl_split_rows(int rows);

/* One thread's share of its forward that conv_winograd_wgrad.c's weight
 * gradient also runs (AVX-512 only: call after dl_wg_wgrad16_fits):
 * P[(y + pt) * pw + x + pl][c] = x[c][y][x] for g's h x w plane and c
 * channels (a multiple of 16; P's other pixels untouched), and F(2x2)'s
 * V[e * (T * c + 16) + t * c + ci] for the T tiles (rows of tw) of P. */
void dl_wg_cl_planes(const dl_conv2d_geom *g, const float *x, float *P, int64_t pw);
void dl_wg_cl_input2(const dl_conv2d_geom *g, const float *P, int64_t pw, int64_t tw, int64_t T, float *V);

#endif
