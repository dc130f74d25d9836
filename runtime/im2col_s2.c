/* im2col_s2.c — im2col and col2im for column stride 2 and kernels at least
 * 2 wide (ResNet's downsampling 3x3 convolutions) by half rows.
 *
 * Why: with stride 2 every tap reads every other input column, and
 * im2col.c's per-tap strided copy (and col2im's strided read-add-write)
 * took 40% of those layers' forward and weight gradient and 50% of their
 * data gradient (perf, ResNet-20's 16->32 and 32->64 layers, batch 64).
 * Column 2j + dq of an input row is column j + floor(dq/2) of its even
 * (dq even) or odd (dq odd) half, so:
 *
 *  - im2col splits each input row it reads into its even and odd halves
 *    once (vector shuffles), and every tap of that row is then a
 *    contiguous, shifted copy of one half;
 *  - col2im builds each row of x from its two halves: for each tap column
 *    b, the cols rows of the taps a that land on this row are summed
 *    (contiguous), and that sum is added, shifted, into one half; the
 *    halves are then interleaved into x — each element of x is written
 *    once, with no memset and no strided read-add-write. (Adding every
 *    (a, b) row straight into the halves measured no faster than the old
 *    col2im: consecutive taps b = 0 and 2 add into the same half one float
 *    apart, and each load waited on the overlapping store before it.)
 *
 * The sum per element runs a then b but grouped by b, so it may differ
 * from im2col.c's col2im in the last bit; it is a function of the geometry
 * alone, so 1 and 2 threads agree. 1x1 kernels stay on im2col.c: the
 * halves cost more than the strided copy of one tap (data gradient 0.21 ->
 * 0.31 ms per call on ResNet-20's shortcut at batch 64, which now runs on
 * conv_pointwise_s2.c instead).
 * Both functions are compiled per ISA, as im2col.c's col2im.
 *
 * Measured (ResNet-20's 16->32 and 32->64 stride-2 3x3 layers, batch 64,
 * 1 thread, conv_bench cpu, docs/performance.md): forward and weight
 * gradient 1.16-1.20x, data gradient 1.03-1.13x; the whole training step
 * within noise (its inputs come from memory, not cache). */
#pragma GCC optimize("O3", "no-tree-loop-distribute-patterns")
#include "im2col_internal.h"

#include <string.h>

/* S2_BASELINE_ONLY: tests/unit/test_im2col_s2.c compiles this file again
 * without clones, so the baseline build is tested on any machine. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(S2_BASELINE_ONLY)
#define S2_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define S2_CLONES
#endif

#define INLINE inline __attribute__((always_inline))

typedef float v8f __attribute__((vector_size(32)));

static INLINE void zero(float *restrict p, int64_t n) {
    for (int64_t k = 0; k < n; k++) p[k] = 0.0f;
}

/* ev[k] = src[2k], od[k] = src[2k + 1] over a row of w floats. */
static INLINE void split_row(const float *restrict src, int64_t w, float *restrict ev, float *restrict od) {
    int64_t k = 0;
    for (; 2 * k + 16 <= w; k += 8) {
        v8f a, b;
        memcpy(&a, src + 2 * k, sizeof a);
        memcpy(&b, src + 2 * k + 8, sizeof b);
        v8f e = __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14);
        v8f o = __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15);
        memcpy(ev + k, &e, sizeof e);
        memcpy(od + k, &o, sizeof o);
    }
    for (; 2 * k + 1 < w; k++) ev[k] = src[2 * k], od[k] = src[2 * k + 1];
    if (2 * k < w) ev[k] = src[2 * k];
}

/* dst[2k] = ev[k], dst[2k + 1] = od[k] over a row of w floats. */
static INLINE void merge_row(const float *restrict ev, const float *restrict od, int64_t w, float *restrict dst) {
    int64_t k = 0;
    for (; 2 * k + 16 <= w; k += 8) {
        v8f e, o;
        memcpy(&e, ev + k, sizeof e);
        memcpy(&o, od + k, sizeof o);
        v8f a = __builtin_shufflevector(e, o, 0, 8, 1, 9, 2, 10, 3, 11);
        v8f b = __builtin_shufflevector(e, o, 4, 12, 5, 13, 6, 14, 7, 15);
        memcpy(dst + 2 * k, &a, sizeof a);
        memcpy(dst + 2 * k + 8, &b, sizeof b);
    }
    for (; 2 * k + 1 < w; k++) dst[2 * k] = ev[k], dst[2 * k + 1] = od[k];
    if (2 * k < w) dst[2 * k] = ev[k];
}

/* The halves live in buffers with zero margins of S2_MARGIN floats before
 * them and enough after, so that every tap reads or adds a whole output row
 * of ow floats at half + S2_MARGIN + off (off = floor(dq / 2)) with no edge
 * logic: the output columns that fall in the padding read the zero
 * margins in im2col, and add into margins that are thrown away in col2im. */
#define S2_MARGIN 16

/* Floats per half buffer; the halves hold (w + 1) / 2 and w / 2 floats. */
static int64_t half_len(const dl_conv2d_geom *g) {
    int64_t hi = (g->kw - 1 - g->pl) / 2 + g->ow; /* past the last float a tap reaches */
    int64_t n = (g->w + 1) / 2;
    return S2_MARGIN + (hi > n ? hi : n);
}

int dl_im2col_s2_fits(const dl_conv2d_geom *g) {
    return g->sw == 2 && g->dw == 1 && g->kw >= 2 && g->pl >= 0 && g->pl <= 2 * S2_MARGIN &&
           g->w <= DL_IM2COL_S2_MAX_W && g->ow <= DL_IM2COL_S2_MAX_W;
}

/* Where tap column offset dq reads output column 0 from: half dq & 1, at floor(dq / 2). */
static INLINE const float *tap_src(float *const half[2], int64_t dq) {
    int odd = (int)(dq & 1); /* two's complement: -1 & 1 == 1 */
    return half[odd] + S2_MARGIN + (dq - odd) / 2;
}

S2_CLONES void dl_im2col_s2(const dl_conv2d_geom *g, int64_t cg, const float *x, float *cols) {
    const int64_t ow = g->ow, oh = g->oh, P = oh * ow, kw = g->kw, len = half_len(g);
    float buf[2 * len];
    float *const half[2] = {buf, buf + len};
    zero(buf, 2 * len); /* the margins stay zero: split_row writes only the halves */
    for (int64_t c = 0; c < cg; c++)
        for (int64_t a = 0; a < g->kh; a++) {
            const float *xc = x + c * g->h * g->w;
            float *rows = cols + (c * g->kh + a) * kw * P;
            int64_t dr = a * g->dh - g->pt, i0, i1;
            dl_im2col_valid_range(dr, g->sh, g->h, oh, &i0, &i1);
            for (int64_t b = 0; b < kw; b++) {
                zero(rows + b * P, i0 * ow);
                zero(rows + b * P + i1 * ow, (oh - i1) * ow);
            }
            for (int64_t i = i0; i < i1; i++) {
                split_row(xc + (i * g->sh + dr) * g->w, g->w, half[0] + S2_MARGIN, half[1] + S2_MARGIN);
                for (int64_t b = 0; b < kw; b++) {
                    const float *restrict src = tap_src(half, b - g->pl);
                    float *restrict out = rows + b * P + i * ow;
                    for (int64_t j = 0; j < ow; j++) out[j] = src[j];
                }
            }
        }
}

S2_CLONES void dl_col2im_s2(const dl_conv2d_geom *g, int64_t cg, const float *cols, float *x) {
    const int64_t ow = g->ow, P = g->oh * ow, kw = g->kw, kh = g->kh, sh = g->sh, len = half_len(g);
    float buf[2 * len + ow];
    float *const half[2] = {buf, buf + len}, *restrict acc = buf + 2 * len;
    int64_t rows[kh]; /* offsets in cols of the output rows that read input row r, tap row by tap row */
    for (int64_t c = 0; c < cg; c++)
        for (int64_t r = 0; r < g->h; r++) {
            int64_t n = 0;
            for (int64_t a = 0; a < kh; a++) {
                int64_t u = r - (a * g->dh - g->pt); /* = i * sh for the output row i that reads r */
                if (u >= 0 && u % sh == 0 && u / sh < g->oh) rows[n++] = (c * kh + a) * kw * P + (u / sh) * ow;
            }
            zero(buf, 2 * len);
            for (int64_t b = 0; b < kw && n; b++) {
                const float *src = cols + b * P;
                for (int64_t j = 0; j < ow; j++) acc[j] = src[rows[0] + j];
                for (int64_t k = 1; k < n; k++)
                    for (int64_t j = 0; j < ow; j++) acc[j] += src[rows[k] + j];
                float *restrict dst = (float *)tap_src(half, b - g->pl);
                for (int64_t j = 0; j < ow; j++) dst[j] += acc[j];
            }
            merge_row(half[0] + S2_MARGIN, half[1] + S2_MARGIN, g->w, x + (c * g->h + r) * g->w);
        }
}
