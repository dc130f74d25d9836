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

/* y = conv(x, w) for a geometry that fits, calling ep (may be NULL) once per
 * image after that image's y is complete, as dl_conv2d_ep. -1 (dl_set_error)
 * when scratch memory runs out. */
int dl_conv_winograd(const dl_conv2d_geom *g, const float *x, const float *w, float *y, dl_conv_epilogue ep,
                     void *ctx);

/* dl_conv_winograd with the weights already transformed: U NULL transforms
 * w into scratch (as dl_conv_winograd), else U is dl_conv_winograd_weights'
 * output for w and g's channels (w is then unread). */
int dl_conv_winograd_u(const dl_conv2d_geom *g, const float *x, const float *w, const float *U, float *y,
                       dl_conv_epilogue ep, void *ctx);

/* The floats of U for g's channels, and U = the transformed weights w
 * (G w G^T per filter, in the layout dl_conv_winograd_u reads). */
int64_t dl_conv_winograd_u_floats(const dl_conv2d_geom *g);
void dl_conv_winograd_weights(const dl_conv2d_geom *g, const float *w, float *U);

/* dl_conv_winograd with U kept per weights version (conv_winograd_weights.c):
 * version 0 transforms on every call. */
int dl_conv_winograd_w(uint64_t version, const dl_conv2d_geom *g, const float *x, const float *w, float *y,
                       dl_conv_epilogue ep, void *ctx);

/* Drops the kept U of weights in [base, base + n) (dl_weights_release). */
void dl_conv_winograd_release(const float *base, int64_t n);

/* gw = the weight gradient summed over all images (overwritten; zeros for
 * an empty batch), the same bits at any thread count. dl_conv_winograd_pays
 * is its rule too. -1 (dl_set_error) when scratch memory runs out. */
int dl_conv_winograd_bwd_weight(const dl_conv2d_geom *g, const float *x, const float *gy, float *gw);

#endif
