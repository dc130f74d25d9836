/* conv_s2_internal.h — direct kernels for stride-2 convolutions with kernels
 * up to 3x3 (runtime only; conv_s2.c): ResNet's downsampling 3x3 layers and
 * their 1x1 shortcuts, without im2col columns.
 *
 * conv.c calls these instead of im2col + GEMM (+ col2im) when
 * dl_conv_s2_fits: the forward and the data gradient per image, the weight
 * gradient per range of images. Each takes a per-thread buffer of the given
 * number of floats (64-byte aligned); the data gradient also a weight
 * rearranged once per call by dl_conv_s2_phase_weight, shared by the threads. */
#ifndef DLNRT_CONV_S2_INTERNAL_H
#define DLNRT_CONV_S2_INTERNAL_H
#include <stdint.h>

#include "dlnrt.h"

/* Whether the kernels handle g: one group, stride 2, no dilation, a kernel
 * of at most 3x3, no negative padding, oh/ow matching the padding. */
int dl_conv_s2_fits(const dl_conv2d_geom *g);

int64_t dl_conv_s2_fwd_floats(const dl_conv2d_geom *g);
/* y = conv(x) for ONE image; x is [c, h, w], y [oc, oh, ow]. reuse: buf
 * went through this call for an earlier image of the same geometry and
 * nothing else used it since, so its padding zeros are still there (only
 * the input's positions are written again; 0: the whole buffer is set). */
void dl_conv_s2_image(const dl_conv2d_geom *g, const float *x, const float *w, float *y, float *buf, int reuse);

/* The forward and the data gradient of 8-wide output rows on tap-column
 * planes (conv_s2.c): -1 by CPU (default: Intel with AVX-512), 0 never, 1
 * always. Same bits. */
void dl_conv_s2_tap_cols(int mode);

/* wp (c*oc*kh*kw floats) = w regrouped by phase for the data gradient. */
void dl_conv_s2_phase_weight(const dl_conv2d_geom *g, const float *w, float *wp);
int64_t dl_conv_s2_bwd_data_floats(const dl_conv2d_geom *g);
/* gx = the data gradient of ONE image (every element written); gy is [oc, oh, ow]. reuse: as for
 * dl_conv_s2_image (the tap offsets built with the first image are kept too). */
void dl_conv_s2_bwd_data_image(const dl_conv2d_geom *g, const float *gy, const float *wp, float *gx, float *buf,
                               int reuse);

/* Whether the weight gradient here beats im2col + GEMM: only where the flat
 * grid wastes little (16-wide output rows, not 8-wide ones). */
int dl_conv_s2_wgrad_pays(const dl_conv2d_geom *g);
int64_t dl_conv_s2_wgrad_floats(const dl_conv2d_geom *g);
/* gw = the weight gradient summed over images [lo, hi) (overwritten; zeros if none). */
void dl_conv_s2_bwd_weight(const dl_conv2d_geom *g, const float *x, const float *gy, float *gw, float *buf,
                           int64_t lo, int64_t hi);

#endif
