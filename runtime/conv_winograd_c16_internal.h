/* conv_winograd_c16_internal.h — F(2x2, 3x3) with channels in the lanes for
 * 16 -> 16 channel 3x3 stride-1 pad-1 layers at batch >= 2 (runtime only;
 * conv_winograd_c16.c), conv.c's forward and flipped data gradient. */
#ifndef DLNRT_CONV_WINOGRAD_C16_INTERNAL_H
#define DLNRT_CONV_WINOGRAD_C16_INTERNAL_H
#include <stdint.h>

#include "dlnrt.h"

/* Whether it takes g: 3x3 stride 1 dilation 1 groups 1, padding 1 on every
 * side, c = oc = 16, even h and w, g->n >= the minimum batch (default 2),
 * AVX-512, and not turned off by dl_wg_c16_enable(0) (the tests; returns the
 * previous setting). dl_wg_c16_min_batch sets the minimum batch (at least 2)
 * and returns the old one. */
int dl_wg_c16_applies(const dl_conv2d_geom *g);
int dl_wg_c16_enable(int on);
int64_t dl_wg_c16_min_batch(int64_t n);

/* y = conv(x, w) for a g it applies to, ep(ctx, i, y_i) after each image i
 * (may be NULL), the images split over threads (same bits at any count).
 * -1 (dl_set_error) when scratch runs out. */
int dl_wg_c16_forward(const dl_conv2d_geom *g, const float *x, const float *w, float *y, dl_conv_epilogue ep,
                      void *ctx);

#endif
