/* conv_dw3_rows_internal.h — 3x3 depthwise forwards whose output rows fill
 * 16-lane vectors, computed in registers (runtime only; conv_dw3.c
 * dispatches to them). */
#ifndef DLNRT_CONV_DW3_ROWS_INTERNAL_H
#define DLNRT_CONV_DW3_ROWS_INTERNAL_H
#include <stdint.h>

#include "dlnrt.h"
#include "gemm_internal.h"

/* True for a conv_dw3.c layer (dl_dw3_applies) with planes of any height
 * and width 8, 16 or 32 at stride 1, or width 16 or 32 at stride 2 (output
 * rows 8 or 16 wide). */
int dl_dw3_rows_applies(const dl_conv2d_geom *g);

/* Whether conv_dw3.c should run g here: it applies and this CPU has the
 * AVX-512 variant (the only one measured faster than the tap views). */
int dl_dw3_rows_pays(const dl_conv2d_geom *g);

/* Planes [p0, p1) of y (n * c planes of oh * ow floats): the forward of x
 * with the 3x3 taps of w, or, with `rotate`, with them turned by 180
 * degrees (the stride-1 data gradient). Returns -1, doing nothing, if this
 * CPU cannot run the variant asked for. */
int dl_dw3_rows_range_isa(dl_gemv_isa isa, const dl_conv2d_geom *g, const float *x, const float *w, float *y,
                          int rotate, int64_t p0, int64_t p1);

/* The forward of planes [p0, p1) finished with a's epilogue in registers
 * (scale and shift by the plane's channel, the residual like y: the whole
 * tensor). AVX-512 only: -1, doing nothing, on other CPUs. */
int dl_dw3_rows_range_affine(const dl_conv2d_geom *g, const float *x, const float *w, float *y, int64_t p0, int64_t p1,
                             const dl_conv_affine *a);

/* gw's rows [c0, c1) of the weight gradient of a dl_dw3_rows_applies layer
 * (sums over all n images; gw[c * 9 + k], k = a * 3 + b), acc scratch of
 * 16 * 9 * (c1 - c0) floats, as dl_dw3_tiny_wgrad_isa. The same bits for
 * any split of the channels. Returns -1, doing nothing, if this CPU cannot
 * run the variant asked for. */
int dl_dw3_rows_wgrad_isa(dl_gemv_isa isa, const dl_conv2d_geom *g, const float *x, const float *gy, float *gw,
                          int64_t c0, int64_t c1, float *acc);

#endif
