/* im2col.c — im2col, its adjoint col2im, and the kernel flip of the
 * stride-1 data gradient (see im2col_internal.h for the layout).
 *
 * Why not the obvious loop: im2col runs once per image, channel and tap,
 * over rows only 8-32 floats wide (ResNet-20, LeNet), so a libc memcpy or
 * memset per row (the previous version) spent more time in call overhead
 * than in copying — in LeNet-5 im2col and its memcpy/memset cost more than
 * the GEMM. Instead, each (channel, tap) row of cols works out once which
 * output rows [i0, i1) and columns [j0, j1) read inside the image; the loops
 * then carry no bounds tests, and:
 *
 *  - stride 1 with ow == w (every "same"-padded convolution: ResNet's 3x3
 *    pad 1, LeNet's c1) is one flat copy — output (i, j) and input
 *    (i + dr, j + dq) are a constant distance apart in both layouts — after
 *    which the few columns that wrapped across a row edge are zeroed;
 *  - otherwise each valid output row is zeros, a copy (stride 1 or 2 as
 *    constant-stride loops the compiler vectorizes), zeros.
 *
 * The zero-fill loops must not be turned back into memset calls (they are
 * usually 1-2 floats long), hence no-tree-loop-distribute-patterns. */
#pragma GCC optimize("O3", "no-tree-loop-distribute-patterns")
#include "im2col_internal.h"

#include <string.h>

/* col2im is compiled for AVX-512, AVX2 and baseline x86-64 and chosen at
 * load time, as gemm.c and conv_depthwise.c do (the library is built
 * without -march): its read-add-write rows gained 4-8% (LeNet, 3->16 convs).
 * im2col is not: cloned, it measured 2-4% slower on the flat copies. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define IM2COL_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define IM2COL_CLONES
#endif

/* The row kernels are inlined into each clone below, so they vectorize for its target. */
#define INLINE inline __attribute__((always_inline))

static inline void zero(float *restrict p, int64_t n) {
    for (int64_t k = 0; k < n; k++) p[k] = 0.0f;
}

/* One row of cols (channel plane xc, offsets dr/dq of this tap) in the
 * stride-1, ow == w layout: one shifted copy, then the wrapped edges zeroed. */
static INLINE void im2col_flat(const dl_conv2d_geom *g, const float *restrict xc, int64_t dr, int64_t dq,
                        float *restrict row) {
    const int64_t ow = g->ow, oh = g->oh;
    int64_t i0, i1, j0, j1;
    dl_im2col_valid_range(dr, 1, g->h, oh, &i0, &i1);
    dl_im2col_valid_range(dq, 1, g->w, ow, &j0, &j1);
    if (j0 == j1) i1 = i0; /* no column reads the image: all zeros */
    zero(row, i0 * ow);
    zero(row + i1 * ow, (oh - i1) * ow);
    if (i0 == i1) return;
    const int64_t s = i0 * ow + j0, e = (i1 - 1) * ow + j1;
    memcpy(row + s, xc + s + dr * g->w + dq, sizeof(float) * (size_t)(e - s));
    for (int64_t i = i0; i < i1; i++) {
        zero(row + i * ow, j0);
        zero(row + i * ow + j1, ow - j1);
    }
}

/* One row of cols in general: per output row zeros, a strided copy, zeros. */
static INLINE void im2col_rows(const dl_conv2d_geom *g, const float *restrict xc, int64_t dr, int64_t dq,
                        float *restrict row) {
    const int64_t ow = g->ow, oh = g->oh, sw = g->sw;
    int64_t i0, i1, j0, j1;
    dl_im2col_valid_range(dr, g->sh, g->h, oh, &i0, &i1);
    dl_im2col_valid_range(dq, sw, g->w, ow, &j0, &j1);
    zero(row, i0 * ow);
    zero(row + i1 * ow, (oh - i1) * ow);
    for (int64_t i = i0; i < i1; i++) {
        const float *restrict src = xc + (i * g->sh + dr) * g->w + dq;
        float *restrict out = row + i * ow;
        zero(out, j0);
        if (sw == 1)
            for (int64_t j = j0; j < j1; j++) out[j] = src[j];
        else if (sw == 2)
            for (int64_t j = j0; j < j1; j++) out[j] = src[2 * j];
        else
            for (int64_t j = j0; j < j1; j++) out[j] = src[j * sw];
        zero(out + j1, ow - j1);
    }
}

void dl_im2col(const dl_conv2d_geom *g, int64_t cg, const float *x, float *cols) {
    if (dl_im2col_s2_fits(g)) {
        dl_im2col_s2(g, cg, x, cols);
        return;
    }
    const int flat = g->sh == 1 && g->sw == 1 && g->ow == g->w;
    const int64_t P = g->oh * g->ow;
    for (int64_t c = 0; c < cg; c++)
        for (int64_t a = 0; a < g->kh; a++)
            for (int64_t b = 0; b < g->kw; b++) {
                const float *xc = x + c * g->h * g->w;
                float *row = cols + ((c * g->kh + a) * g->kw + b) * P;
                int64_t dr = a * g->dh - g->pt, dq = b * g->dw - g->pl;
                if (flat) im2col_flat(g, xc, dr, dq, row);
                else im2col_rows(g, xc, dr, dq, row);
            }
}

/* x[c] += the cols row of one tap, over the valid output rows and columns. */
static INLINE void col2im_tap(const dl_conv2d_geom *g, const float *restrict row, int64_t dr, int64_t dq,
                       float *restrict xc) {
    const int64_t ow = g->ow, sw = g->sw;
    int64_t i0, i1, j0, j1;
    dl_im2col_valid_range(dr, g->sh, g->h, g->oh, &i0, &i1);
    dl_im2col_valid_range(dq, sw, g->w, ow, &j0, &j1);
    for (int64_t i = i0; i < i1; i++) {
        const float *restrict src = row + i * ow;
        float *restrict dst = xc + (i * g->sh + dr) * g->w + dq;
        if (sw == 1)
            for (int64_t j = j0; j < j1; j++) dst[j] += src[j];
        else if (sw == 2)
            for (int64_t j = j0; j < j1; j++) dst[2 * j] += src[j];
        else
            for (int64_t j = j0; j < j1; j++) dst[j * sw] += src[j];
    }
}

IM2COL_CLONES void dl_col2im(const dl_conv2d_geom *g, int64_t cg, const float *cols, float *x) {
    if (dl_im2col_s2_fits(g)) {
        dl_col2im_s2(g, cg, cols, x);
        return;
    }
    const int64_t P = g->oh * g->ow, plane = g->h * g->w;
    memset(x, 0, sizeof(float) * (size_t)(cg * plane));
    for (int64_t c = 0; c < cg; c++)
        for (int64_t a = 0; a < g->kh; a++)
            for (int64_t b = 0; b < g->kw; b++)
                col2im_tap(g, cols + ((c * g->kh + a) * g->kw + b) * P, a * g->dh - g->pt, b * g->dw - g->pl,
                           x + c * plane);
}

void dl_conv_flip_weight(const float *w, int64_t groups, int64_t og, int64_t cg, int64_t kh, int64_t kw, float *wt) {
    const int64_t taps = kh * kw;
    for (int64_t grp = 0; grp < groups; grp++)
        for (int64_t o = 0; o < og; o++)
            for (int64_t c = 0; c < cg; c++) {
                const float *src = w + ((grp * og + o) * cg + c) * taps;
                float *dst = wt + ((grp * cg + c) * og + o) * taps;
                for (int64_t t = 0; t < taps; t++) dst[t] = src[taps - 1 - t];
            }
}
