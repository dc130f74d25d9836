/* im2col_internal.h — the data movement around conv.c's GEMMs (runtime only).
 *
 * With K = cg * kh * kw rows and P = oh * ow columns, for cg channels of one
 * image (x: cg planes of h * w):
 *
 *   cols[(c*kh + a)*kw + b][i*ow + j] = x[c, i*sh - pt + a*dh, j*sw - pl + b*dw]   (0 in the padding)
 *
 * Only h, w, oh, ow, kh, kw, sh, sw, dh, dw, pt and pl of the geometry are
 * read (pb/pr are implied by oh/ow), and any of pt/pl may be negative, which
 * the data gradient's flipped convolution relies on. */
#ifndef DLNRT_IM2COL_INTERNAL_H
#define DLNRT_IM2COL_INTERNAL_H
#include <stdint.h>

#include "dlnrt.h"

/* Output positions k in [*lo, *hi) of n_out read input k*s + d inside [0, n_in). */
static inline void dl_im2col_valid_range(int64_t d, int64_t s, int64_t n_in, int64_t n_out, int64_t *lo,
                                         int64_t *hi) {
    int64_t l = d >= 0 ? 0 : (-d + s - 1) / s;
    int64_t h = n_in - 1 - d < 0 ? 0 : (n_in - 1 - d) / s + 1;
    if (h > n_out) h = n_out;
    if (l > h) l = h;
    *lo = l, *hi = h;
}

/* cols [K, P] = im2col(x); every element of cols is written. */
void dl_im2col(const dl_conv2d_geom *g, int64_t cg, const float *x, float *cols);

/* The adjoint: x [cg, h, w] = col2im(cols), every element of x written
 * (overwrites: there is no separate memset). */
void dl_col2im(const dl_conv2d_geom *g, int64_t cg, const float *cols, float *x);

/* The same for column stride 2 (im2col_s2.c), taken by dl_im2col and
 * dl_col2im when dl_im2col_s2_fits (sw 2, dw 1, rows up to
 * DL_IM2COL_S2_MAX_W wide: two half rows live on the stack). */
#define DL_IM2COL_S2_MAX_W 4096
int dl_im2col_s2_fits(const dl_conv2d_geom *g);
void dl_im2col_s2(const dl_conv2d_geom *g, int64_t cg, const float *x, float *cols);
void dl_col2im_s2(const dl_conv2d_geom *g, int64_t cg, const float *cols, float *x);

/* The data gradient of a stride-1 convolution is the convolution of gy with
 * the kernel flipped and in/out channels swapped per group:
 *   wt[grp*cg + c][o][a][b] = w[grp*og + o][c][kh-1-a][kw-1-b]
 * (w is [groups*og, cg, kh, kw], wt is [groups*cg, og, kh, kw]). */
void dl_conv_flip_weight(const float *w, int64_t groups, int64_t og, int64_t cg, int64_t kh, int64_t kw, float *wt);

#endif
