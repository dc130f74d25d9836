/* conv_dw3_internal.h — the 3x3 depthwise kernels of MobileNet-style layers
 * (runtime only; conv_depthwise.c dispatches to them). */
#ifndef DLNRT_CONV_DW3_INTERNAL_H
#define DLNRT_CONV_DW3_INTERNAL_H
#include "dlnrt.h"

/* True for a depthwise layer conv_dw3.c handles: 3x3 taps, padding 1 on
 * every side, no dilation, one output channel per input channel, stride 1
 * or 2 in both directions. Everything else keeps conv_depthwise.c's
 * general kernels. */
int dl_dw3_applies(const dl_conv2d_geom *g);

/* Same contracts as dl_conv2d_depthwise*: y, gx and gw are overwritten;
 * 0, or -1 with dl_set_error when scratch memory runs out. */
int dl_dw3_forward(const dl_conv2d_geom *g, const float *x, const float *w, float *y);
int dl_dw3_bwd_data(const dl_conv2d_geom *g, const float *gy, const float *w, float *gx);
int dl_dw3_bwd_weight(const dl_conv2d_geom *g, const float *x, const float *gy, float *gw);

#endif
