/* conv_pointwise_s2.c — 1x1, stride-2, unpadded convolutions: ResNet's
 * projection shortcuts (16 -> 32 on 32x32 -> 16x16, 32 -> 64 on 16x16 ->
 * 8x8), in all three passes.
 *
 * Such a layer reads only the even pixels of x: y = W @ even(x), with
 * even(x)[c][py*ow + px] = x[c][2py][2px]. They went through im2col (a
 * strided copy of the whole input) and dl_sgemm, whose packing costs as
 * much as the multiply at these depths (16 and 32): 29-39% of the FMA peak
 * in every pass (docs/performance.md). Here:
 *
 *  - forward: each image's even pixels are gathered into a per-thread
 *    c x P buffer (8-16 KB, it stays in L1) and conv_pointwise.c's
 *    unpacked register tiles multiply it in place;
 *  - data gradient: the same tiles compute W^T @ gy into that buffer, and
 *    one pass writes each row of gx: the products on even pixels of even
 *    rows, zeros everywhere else (no memset of gx, then no scatter);
 *  - weight gradient: gw[o][c] = sum over images and pixels of gy[o][p] *
 *    even(x)[c][p], a reduction over pixels, so the tile keeps MR x NC
 *    16-lane partial sums in registers (each a gy row times an even(x) row,
 *    both loaded contiguously) over a group of images whose even pixels
 *    were gathered together, and sums the lanes once per group. Packing
 *    nothing else, it reads gy where it is.
 *
 * The lane sums, the group boundaries and the order groups are added in
 * depend on the geometry and the image range only, so the result is the
 * same at any thread count (conv.c shares images, or chunks of them, out
 * over the threads). Tiles are plain C over GCC's vector extension compiled
 * for AVX-512, AVX2 + FMA and baseline x86-64 and chosen at run time, as in
 * conv_pointwise.c; the gather and spread loops are target clones. */
#pragma GCC optimize("O3", "fp-contract=fast", "no-tree-loop-distribute-patterns")
#include <stdint.h>
#include <string.h>

#include "conv_pointwise_internal.h"
#include "conv_pointwise_s2_internal.h"
#include "hsum_tree_internal.h"

#pragma GCC diagnostic ignored "-Wpsabi" /* vectors only cross always-inlined helpers */
#define P2_INLINE static inline __attribute__((always_inline))
#define P2_LANES 16
#define P2_MR_MAX 3
#define P2_NC_MAX 8
#define P2_UNROLL _Pragma("GCC unroll 8")
/* Floats of gathered even pixels per weight-gradient group (64 KB): 4
 * (16x16 planes) or 8 images (8x8) of ResNet's shortcuts, so each tile
 * sums 32-64 vectors before its lanes and an 8-channel column block (16-32
 * KB) stays in L1 while the row tiles read it. 16 images of the 8x8 layer
 * measured 15-20% slower; prefetching gy (per group or inside the tile) did
 * not help either layer. */
#define P2_GROUP_FLOATS 16384
/* Below this many multiply-adds a single image stays here (conv.c's
 * CONV_IMAGE_PAR_MACS): a bigger one goes to dl_sgemm, which can split it
 * over the threads. */
#define P2_SINGLE_IMAGE_MACS (1 << 21)
typedef dl_gv16 p2_v; /* P2_LANES floats */

/* The weight-gradient tile's variants need only `target` attributes; the
 * gather and spread loops are target clones, left out when
 * tests/unit/test_conv_pointwise_s2.c compiles this file again as the
 * baseline build (P2_BASELINE_ONLY). */
#if defined(__x86_64__) && defined(__GNUC__)
#define P2_X86 1
#endif
#if defined(P2_X86) && !defined(__clang__) && !defined(P2_BASELINE_ONLY)
#define P2_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define P2_CLONES
#endif

int dl_pw2_applies(const dl_conv2d_geom *g)
{
    const double macs = (double)g->oc * (double)g->c * (double)(g->oh * g->ow);
    return g->kh == 1 && g->kw == 1 && g->sh == 2 && g->sw == 2 && g->pt == 0 && g->pb == 0 && g->pl == 0 &&
           g->pr == 0 && g->groups == 1 && g->oh == (g->h + 1) / 2 && g->ow == (g->w + 1) / 2 &&
           (g->n >= 2 || macs < P2_SINGLE_IMAGE_MACS);
}

/* conv_bench cpu, batch 64, 1 thread, against im2col + dl_sgemm: 1.16-1.19x
 * on 16x16 output planes (16 -> 32), 0.94-0.96x on 8x8 (32 -> 64), whatever
 * the group size (2 to 16 images); there each tile's 64-float rows of gy are
 * too short a stream to hide their misses behind. */
int dl_pw2_wgrad_pays(const dl_conv2d_geom *g) { return dl_pw2_applies(g) && g->oh * g->ow >= 256; }

/* ---- even pixels in, even pixels out ------------------------------------- */

typedef float p2_h __attribute__((vector_size(P2_LANES / 2 * sizeof(float)))); /* half a vector */
/* The loops are written in vectors: GCC vectorized the plain ones 8 wide
 * with a scalar tail, which on ResNet's 8-wide rows is all tail (the gather
 * was a third of the forward, the spread of the data gradient). */

/* d[j] = r[2j] for j < n; reads r[0 .. 2n - 2] only (a row's last odd
 * element may not exist), so the second load of each pair starts one
 * float early and its odd lanes are the even elements. */
P2_INLINE void evens_row(const float *restrict r, int64_t n, float *restrict d)
{
    int64_t j = 0;
    for (; j + P2_LANES <= n; j += P2_LANES) {
        p2_v a, b;
        memcpy(&a, r + 2 * j, sizeof a);
        memcpy(&b, r + 2 * j + P2_LANES - 1, sizeof b);
        p2_v e = __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 17, 19, 21, 23, 25, 27, 29, 31);
        memcpy(d + j, &e, sizeof e);
    }
    if (j + P2_LANES / 2 <= n) { /* ResNet's 8-wide output rows */
        p2_h a, b;
        memcpy(&a, r + 2 * j, sizeof a);
        memcpy(&b, r + 2 * j + P2_LANES / 2 - 1, sizeof b);
        p2_h e = __builtin_shufflevector(a, b, 0, 2, 4, 6, 9, 11, 13, 15);
        memcpy(d + j, &e, sizeof e);
        j += P2_LANES / 2;
    }
    for (; j < n; j++) d[j] = r[2 * j];
}

/* xs[k][py*ow + px] = x[k][2py][2px]. */
P2_CLONES static void gather_even(const dl_conv2d_geom *g, const float *restrict x, float *restrict xs)
{
    const int64_t P = g->oh * g->ow;
    for (int64_t k = 0; k < g->c; k++)
        for (int64_t py = 0; py < g->oh; py++)
            evens_row(x + k * g->h * g->w + 2 * py * g->w, g->ow, xs + k * P + py * g->ow);
}

/* d[2j] = v[j], d[2j + 1] = 0 over a row of w floats (v holds (w + 1) / 2). */
P2_INLINE void spread_row(const float *restrict v, int64_t w, float *restrict d)
{
    const p2_v z = {0};
    int64_t j = 0;
    for (; 2 * j + 2 * P2_LANES <= w; j += P2_LANES) {
        p2_v a, lo, hi;
        memcpy(&a, v + j, sizeof a);
        lo = __builtin_shufflevector(a, z, 0, 16, 1, 16, 2, 16, 3, 16, 4, 16, 5, 16, 6, 16, 7, 16);
        hi = __builtin_shufflevector(a, z, 8, 16, 9, 16, 10, 16, 11, 16, 12, 16, 13, 16, 14, 16, 15, 16);
        memcpy(d + 2 * j, &lo, sizeof lo);
        memcpy(d + 2 * j + P2_LANES, &hi, sizeof hi);
    }
    if (2 * j + P2_LANES <= w) { /* ResNet's 16-wide input rows */
        p2_h a;
        memcpy(&a, v + j, sizeof a);
        const p2_h zh = {0};
        p2_v lo = __builtin_shufflevector(a, zh, 0, 8, 1, 8, 2, 8, 3, 8, 4, 8, 5, 8, 6, 8, 7, 8);
        memcpy(d + 2 * j, &lo, sizeof lo);
        j += P2_LANES / 2;
    }
    for (; 2 * j < w; j++) {
        d[2 * j] = v[j];
        if (2 * j + 1 < w) d[2 * j + 1] = 0.0f;
    }
}

/* d[0 .. w) = 0 in vector stores: a memset call per row (128 bytes on
 * ResNet's 32-wide rows) was 40% of the 16 -> 32 shortcut's data gradient
 * (perf, Intel Xeon), more than the even rows' spread beside it. */
P2_INLINE void zero_row(int64_t w, float *restrict d)
{
    const p2_v z = {0};
    int64_t j = 0;
    for (; j + P2_LANES <= w; j += P2_LANES) memcpy(d + j, &z, sizeof z);
    if (j + P2_LANES / 2 <= w) {
        const p2_h zh = {0};
        memcpy(d + j, &zh, sizeof zh);
        j += P2_LANES / 2;
    }
    for (; j < w; j++) d[j] = 0.0f;
}

/* gx = s on the even pixels of even rows, 0 elsewhere, every element written once. */
P2_CLONES static void spread_even(const dl_conv2d_geom *g, const float *restrict s, float *restrict gx)
{
    const int64_t P = g->oh * g->ow, w = g->w;
    for (int64_t k = 0; k < g->c; k++)
        for (int64_t r = 0; r < g->h; r++) {
            float *restrict d = gx + (k * g->h + r) * w;
            if (r % 2) zero_row(w, d);
            else spread_row(s + k * P + r / 2 * g->ow, w, d);
        }
}

void dl_pw2_forward_image(const dl_conv2d_geom *g, const float *x, const float *w, float *y, float *buf)
{
    gather_even(g, x, buf);
    dl_pw_matmul_isa(DL_GEMV_BEST, g->oc, g->c, g->oh * g->ow, w, g->c, 1, buf, y, 0);
}

void dl_pw2_bwd_data_image(const dl_conv2d_geom *g, const float *gy, const float *w, float *gx, float *buf)
{
    dl_pw_matmul_isa(DL_GEMV_BEST, g->c, g->oc, g->oh * g->ow, w, 1, g->c, gy, buf, 0);
    spread_even(g, buf, gx);
}

/* ---- weight gradient ------------------------------------------------------ */

P2_INLINE p2_v p2_load(const float *p)
{
    p2_v v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* gw[0:MR, 0:NC] (+)= sum over G images of gy rows 0:MR . xs rows 0:NC. */
P2_INLINE void wg_tile(const int MR, const int NC, int64_t G, int64_t P, const float *restrict gy, int64_t gys,
                       const float *restrict xs, int64_t xss, float *restrict gw, int64_t ldw, int add)
{
    p2_v acc[P2_MR_MAX][P2_NC_MAX];
    float tail[P2_MR_MAX][P2_NC_MAX];
    P2_UNROLL
    for (int m = 0; m < MR; m++)
        P2_UNROLL
        for (int n = 0; n < NC; n++) acc[m][n] = (p2_v){0}, tail[m][n] = 0.0f;
    for (int64_t i = 0; i < G; i++) {
        const float *a = gy + i * gys, *b = xs + i * xss;
        int64_t p = 0;
        for (; p + P2_LANES <= P; p += P2_LANES) {
            p2_v va[P2_MR_MAX], vb[P2_NC_MAX];
            P2_UNROLL
            for (int m = 0; m < MR; m++) va[m] = p2_load(a + m * P + p);
            P2_UNROLL
            for (int n = 0; n < NC; n++) vb[n] = p2_load(b + n * P + p);
            P2_UNROLL
            for (int m = 0; m < MR; m++)
                P2_UNROLL
                for (int n = 0; n < NC; n++) acc[m][n] += va[m] * vb[n];
        }
        for (; p < P; p++) /* planes that are not a multiple of 16 */
            for (int m = 0; m < MR; m++)
                for (int n = 0; n < NC; n++) tail[m][n] += a[m * P + p] * b[n * P + p];
    }
    /* The lanes of eight partials at a time (hsum_tree_internal.h): a scalar
     * sum per partial cost as much as a group's FMAs. Item m * NC + n. */
    p2_v all[P2_MR_MAX * P2_NC_MAX] = {{0}};
    dl_gv8 sums[P2_MR_MAX * P2_NC_MAX / 8];
    P2_UNROLL
    for (int m = 0; m < MR; m++)
        P2_UNROLL
        for (int n = 0; n < NC; n++) all[m * NC + n] = acc[m][n];
    P2_UNROLL
    for (int h = 0; h < P2_MR_MAX * P2_NC_MAX / 8; h++)
        if (8 * h < MR * NC) sums[h] = dl_gv_hsum8(all + 8 * h);
    P2_UNROLL
    for (int m = 0; m < MR; m++)
        P2_UNROLL
        for (int n = 0; n < NC; n++) {
            const int k = m * NC + n;
            const float s = sums[k / 8][k % 8] + tail[m][n];
            gw[m * ldw + n] = add ? gw[m * ldw + n] + s : s;
        }
}

/* Columns c0 .. c0+NC of gw, all rows: tiles of MR, then single rows. */
P2_INLINE void wg_cols(const int MR, const int NC, int64_t M, int64_t C, int64_t G, int64_t P, const float *gy,
                       int64_t gys, const float *xs, int64_t xss, float *gw, int add)
{
    int64_t o = 0;
    for (; o + MR <= M; o += MR) wg_tile(MR, NC, G, P, gy + o * P, gys, xs, xss, gw + o * C, C, add);
    for (; o < M; o++) wg_tile(1, NC, G, P, gy + o * P, gys, xs, xss, gw + o * C, C, add);
}

/* Columns outside, so a column block's gathered rows stay in L1 while every row tile reads them. */
P2_INLINE void wg_body(const int MR, const int NC, int64_t M, int64_t C, int64_t G, int64_t P, const float *gy,
                       int64_t gys, const float *xs, int64_t xss, float *gw, int add)
{
    int64_t c = 0;
    for (; c + NC <= C; c += NC) wg_cols(MR, NC, M, C, G, P, gy, gys, xs + c * P, xss, gw + c, add);
    if (NC > 4 && c + 4 <= C) wg_cols(MR, 4, M, C, G, P, gy, gys, xs + c * P, xss, gw + c, add), c += 4;
    for (; c < C; c++) wg_cols(MR, 1, M, C, G, P, gy, gys, xs + c * P, xss, gw + c, add);
}

#define P2_WG_ARGS                                                                                               \
    int64_t M, int64_t C, int64_t G, int64_t P, const float *gy, int64_t gys, const float *xs, int64_t xss, float *gw, \
        int add
typedef void (*p2_wg_fn)(P2_WG_ARGS);
#define P2_VARIANT(sfx, target_attr, MR, NC) \
    target_attr static void wg_##sfx(P2_WG_ARGS) { wg_body(MR, NC, M, C, G, P, gy, gys, xs, xss, gw, add); }
/* A 16-lane vector: one zmm (4 x 4 tile: 16 sums, 8 loads per 16 FMAs),
 * two ymm (2 x 2: 8 + 8 registers of 16), four xmm. */
P2_VARIANT(portable, , 1, 2)
#ifdef P2_X86
P2_VARIANT(avx2, __attribute__((target("avx2,fma"))), 2, 2)
P2_VARIANT(avx512, __attribute__((target("avx512f,avx512vl,fma"))), 3, 8)
#endif

int dl_pw2_wgrad_isa(dl_gemv_isa isa, int64_t M, int64_t C, int64_t G, int64_t P, const float *gy, int64_t gys,
                     const float *xs, int64_t xss, float *gw, int add)
{
#ifdef P2_X86
    static const p2_wg_fn fns[] = {wg_portable, wg_avx2, wg_avx512};
#else
    static const p2_wg_fn fns[] = {wg_portable};
#endif
    const int v = dl_isa_level(isa), last = (int)(sizeof fns / sizeof *fns) - 1;
    if (v < 0) return -1;
    fns[v < last ? v : last](M, C, G, P, gy, gys, xs, xss, gw, add);
    return 0;
}

/* Images per group: as many as P2_GROUP_FLOATS of even pixels hold, at least one. */
static int64_t group_images(const dl_conv2d_geom *g)
{
    const int64_t per = g->c * g->oh * g->ow, k = per > 0 ? P2_GROUP_FLOATS / per : 1;
    return k > 0 ? k : 1;
}

int64_t dl_pw2_wgrad_floats(const dl_conv2d_geom *g) { return group_images(g) * g->c * g->oh * g->ow; }

void dl_pw2_bwd_weight(const dl_conv2d_geom *g, const float *x, const float *gy, float *gw, float *buf, int64_t lo,
                       int64_t hi)
{
    const int64_t P = g->oh * g->ow, per = g->c * P, G = group_images(g);
    if (lo == hi) memset(gw, 0, sizeof(float) * (size_t)(g->oc * g->c));
    for (int64_t i0 = lo; i0 < hi; i0 += G) {
        const int64_t n = hi - i0 < G ? hi - i0 : G;
        for (int64_t i = 0; i < n; i++) gather_even(g, x + (i0 + i) * g->c * g->h * g->w, buf + i * per);
        dl_pw2_wgrad_isa(DL_GEMV_BEST, g->oc, g->c, n, P, gy + i0 * g->oc * P, g->oc * P, buf, per, gw, i0 > lo);
    }
}
