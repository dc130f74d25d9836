/* conv_pointwise_s2_internal.h — 1x1, stride-2, unpadded convolutions
 * (ResNet's projection shortcuts) in all three passes (runtime only; conv.c
 * dispatches to it). */
#ifndef DLNRT_CONV_POINTWISE_S2_INTERNAL_H
#define DLNRT_CONV_POINTWISE_S2_INTERNAL_H
#include <stdint.h>

#include "dlnrt.h"
#include "gemm_internal.h"

/* True when conv.c should run g here: a 1x1, stride-2, unpadded,
 * ungrouped convolution, more than one image or a small one (the rule does
 * not depend on the thread count, so 1 and 2 threads take the same path). */
int dl_pw2_applies(const dl_conv2d_geom *g);

/* One image, with `buf` a per-thread scratch of c * oh * ow floats:
 * y = W @ even(x); gx = W^T @ gy on the even pixels and 0 on the others. */
void dl_pw2_forward_image(const dl_conv2d_geom *g, const float *x, const float *w, float *y, float *buf);
void dl_pw2_bwd_data_image(const dl_conv2d_geom *g, const float *gy, const float *w, float *gx, float *buf);

/* True when g's weight gradient should run here too (g applies and its
 * output planes are at least 16x16: measured, see the .c). */
int dl_pw2_wgrad_pays(const dl_conv2d_geom *g);

/* Floats of per-thread scratch dl_pw2_bwd_weight needs. */
int64_t dl_pw2_wgrad_floats(const dl_conv2d_geom *g);
/* gw = the weight gradient summed over images [lo, hi) (zeros if none);
 * the result depends on g, lo and hi only. */
void dl_pw2_bwd_weight(const dl_conv2d_geom *g, const float *x, const float *gy, float *gw, float *buf, int64_t lo,
                       int64_t hi);

/* gw[M x C] (add ? += : =) sum over G images of gy_i[M x P] @ xs_i[C x P]^T,
 * image i's matrices gys and xss floats after image 0's, rows P floats
 * apart: the weight gradient's reduction over pixels. Serial. Returns -1,
 * doing nothing, if this CPU cannot run the variant asked for. */
int dl_pw2_wgrad_isa(dl_gemv_isa isa, int64_t M, int64_t C, int64_t G, int64_t P, const float *gy, int64_t gys,
                     const float *xs, int64_t xss, float *gw, int add);

#endif
