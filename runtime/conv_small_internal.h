/* conv_small_internal.h — direct kernels for stride-1 convolutions with few
 * output channels per group (runtime only; conv_direct_small.c).
 *
 * conv.c calls these instead of im2col + GEMM when dl_conv_small_fits: the
 * forward per image (also used for the stride-1 data gradient, which is the
 * forward of the flipped convolution), the weight gradient per range of
 * images. Each takes a per-thread buffer of the given number of floats. */
#ifndef DLNRT_CONV_SMALL_INTERNAL_H
#define DLNRT_CONV_SMALL_INTERNAL_H
#include <stdint.h>

#include "dlnrt.h"

/* Whether the direct kernels handle g: stride 1, no negative padding, a
 * geometry whose oh/ow match its padding, og <= 16 per group, few taps. */
int dl_conv_small_fits(const dl_conv2d_geom *g);

/* Floats of per-thread buffer the forward needs (64-byte aligned). */
int64_t dl_conv_small_fwd_floats(const dl_conv2d_geom *g);
/* y = conv(x) for ONE image (all groups); x is [c, h, w], y [oc, oh, ow];
 * next: the input the following call will read (the next image), or NULL,
 * a hint the row kernels prefetch. */
void dl_conv_small_image(const dl_conv2d_geom *g, const float *x, const float *w, float *y, float *buf,
                         const float *next);

/* Floats of per-thread buffer the weight gradient needs (64-byte aligned). */
int64_t dl_conv_small_wgrad_floats(const dl_conv2d_geom *g);
/* gw = the weight gradient summed over images [lo, hi) (overwritten; zeros if none). */
void dl_conv_small_bwd_weight(const dl_conv2d_geom *g, const float *x, const float *gy, float *gw, float *buf,
                              int64_t lo, int64_t hi);

/* conv_direct_rows.c: the same convolutions by output rows on unpadded
 * planes, for layers whose output rows are whole 16-float vectors, on
 * AVX-512 CPUs. dl_conv_small_image and dl_conv_small_bwd_weight call them
 * when dl_conv_rows_fits; their buffers are big enough for these. */
int dl_conv_rows_fits(const dl_conv2d_geom *g);
/* buf: w floats (dl_conv_small_fwd_floats is more); next as dl_conv_small_image's */
void dl_conv_rows_image(const dl_conv2d_geom *g, const float *x, const float *w, float *y, float *buf,
                        const float *next);
int64_t dl_conv_rows_wgrad_floats(const dl_conv2d_geom *g);
void dl_conv_rows_bwd_weight(const dl_conv2d_geom *g, const float *x, const float *gy, float *gw, float *buf,
                             int64_t lo, int64_t hi);
/* Tests only: 0 sends every layer to the flat kernels (the other CPUs' path). */
void dl_conv_rows_enable(int on);
void dl_conv_rows_fwd3_loads(int mode); /* -1 by CPU (default), 0 lane shifts, 1 loads */

#endif
