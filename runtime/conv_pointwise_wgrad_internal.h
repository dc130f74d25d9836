/* conv_pointwise_wgrad_internal.h — the unpacked weight gradient of 1x1
 * convolutions (runtime only; conv.c dispatches to it). */
#ifndef DLNRT_CONV_POINTWISE_WGRAD_INTERNAL_H
#define DLNRT_CONV_POINTWISE_WGRAD_INTERNAL_H
#include <stdint.h>

#include "dlnrt.h"
#include "gemm_internal.h"

/* True when conv.c should run g's weight gradient here instead of one
 * dl_sgemm per image (see conv_pointwise_wgrad.c for the measured rule). */
int dl_pww_pays(const dl_conv2d_geom *g);

/* gw[oc x c] = the weight gradient of the 1x1, stride-1, unpadded,
 * ungrouped convolution g summed over images [lo, hi) (zeros when there are
 * none), in an order that depends on g, lo and hi only. Serial. Returns -1,
 * doing nothing, if this CPU cannot run the variant asked for. */
int dl_pww_bwd_weight_isa(dl_gemv_isa isa, const dl_conv2d_geom *g, const float *x, const float *gy, float *gw,
                          int64_t lo, int64_t hi);

#endif
