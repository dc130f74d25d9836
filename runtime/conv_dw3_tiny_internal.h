/* conv_dw3_tiny_internal.h — 3x3 depthwise forwards and weight gradients with 4x4 output planes
 * in registers (runtime only; conv_dw3.c dispatches to them). */
#ifndef DLNRT_CONV_DW3_TINY_INTERNAL_H
#define DLNRT_CONV_DW3_TINY_INTERNAL_H
#include <stdint.h>

#include "dlnrt.h"
#include "gemm_internal.h"

/* True for a conv_dw3.c layer (dl_dw3_applies) whose planes are 4x4 -> 4x4
 * at stride 1 or 8x8 -> 4x4 at stride 2. */
int dl_dw3_tiny_applies(const dl_conv2d_geom *g);

/* Planes [p0, p1) of y (n * c planes of 16 floats): the forward of x with
 * the 3x3 taps of w, or, with `rotate`, with them turned by 180 degrees (the
 * stride-1 data gradient). Returns -1, doing nothing, if this CPU cannot
 * run the variant asked for. */
int dl_dw3_tiny_range_isa(dl_gemv_isa isa, const dl_conv2d_geom *g, const float *x, const float *w, float *y,
                          int rotate, int64_t p0, int64_t p1);

/* gw's rows [c0, c1) of the weight gradient of such a layer (sums over all
 * n images), acc scratch of 16 * 9 * (c1 - c0) floats. Returns -1, doing
 * nothing, if this CPU cannot run the variant asked for. */
int dl_dw3_tiny_wgrad_isa(dl_gemv_isa isa, const dl_conv2d_geom *g, const float *x, const float *gy, float *gw,
                          int64_t c0, int64_t c1, float *acc);

/* gw[c * 9 + k] for c in [c0, c1) = the 16 lanes of acc's sum k of channel
 * c (9 x 16 floats per channel from c0), added in lane order: the last step
 * of this file's and conv_dw3_rows.c's weight gradients. */
void dl_dw3_wgrad_lanes(const float *acc, float *gw, int64_t c0, int64_t c1);

#endif
