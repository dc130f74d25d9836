/* conv_s2_wgrad_internal.h — the weight gradient of stride-2 convolutions
 * with kernels up to 3x3 (runtime only; conv_s2_wgrad.c): ResNet's
 * downsampling 3x3 layers, as outer products with output channels in the
 * vector lanes, without im2col columns and without phase planes.
 *
 * conv.c calls it per range of images instead of im2col + GEMM (or
 * conv_s2.c's lane-partial kernel) when dl_conv_s2w_pays. It takes a
 * per-thread buffer of dl_conv_s2w_floats floats, 64-byte aligned. */
#ifndef DLNRT_CONV_S2_WGRAD_INTERNAL_H
#define DLNRT_CONV_S2_WGRAD_INTERNAL_H
#include <stdint.h>

#include "dlnrt.h"

/* One group, stride 2, no dilation, a kernel of at most 3x3, oh/ow matching the padding. */
int dl_conv_s2w_fits(const dl_conv2d_geom *g);
/* Whether conv.c should take it: fits, and at least one whole vector of output channels. */
int dl_conv_s2w_pays(const dl_conv2d_geom *g);
int64_t dl_conv_s2w_floats(const dl_conv2d_geom *g);
/* gw = the weight gradient summed over images [lo, hi) (overwritten; zeros if none). */
void dl_conv_s2w_bwd_weight(const dl_conv2d_geom *g, const float *x, const float *gy, float *gw, float *buf,
                            int64_t lo, int64_t hi);

#endif
