/* conv_dw3_tiny.c — 3x3 depthwise forwards whose output plane is 4x4: one
 * 16-lane vector per plane, computed in registers (MobileNetV2's last
 * stage: 4x4 -> 4x4 at stride 1, 8x8 -> 4x4 at stride 2).
 *
 * conv_dw3.c builds three shifted copies of each plane in memory and then
 * sums nine tap views; on a 4x4 plane that bookkeeping costs several times
 * the sixteen outputs' nine multiply-adds (12 GF/s at stride 1, 7 at stride
 * 2). Here every tap is a constant lane shuffle of the plane with a zero
 * vector, so padding costs nothing:
 *
 *   stride 1   the 4x4 input is one vector v; tap (a, b) is v shifted by
 *              (a - 1, b - 1) rows and columns, zeros shifted in.
 *   stride 2   the 8x8 input is four vectors (two rows each); four shuffles
 *              of pairs de-interleave it into the 4x4 grids of even/odd rows
 *              and columns (EE, EO, OE, OO). Tap (a, b) reads row 2i + a - 1
 *              and column 2j + b - 1: the middle tap EE, a = 2 or b = 2 the
 *              odd grid as is, a = 0 or b = 0 the odd grid shifted down or
 *              right by one with zeros.
 *
 * The weight gradient takes the same nine shifted planes: gw[k] is the sum
 * over images of gy's plane times tap k's, kept as nine 16-lane sums per
 * channel and added across lanes once. With the tap views of conv_dw3.c
 * the 4x4 layers' weight gradients ran at 2-4% of the peak (bookkeeping
 * and a channel's planes 64 bytes each, c planes apart); here images are
 * outside and channels inside, so x and gy are read in memory order.
 *
 * The taps are summed in the order 0..8, each plane on its own, and each
 * channel's weight gradient over images in order, so the result does not
 * depend on the thread count. Variants: AVX-512, AVX2 + FMA
 * and baseline x86-64, chosen at run time as conv_pointwise.c does. */
#pragma GCC optimize("O3", "fp-contract=fast")
#include <string.h>

#include "conv_dw3_tiny_internal.h"
#include "conv_pointwise_internal.h"

#pragma GCC diagnostic ignored "-Wpsabi" /* 64-byte vectors only inside always-inlined helpers */
#define DT_INLINE static inline __attribute__((always_inline))
typedef float dt_v __attribute__((vector_size(64)));

/* Lane (i, j) of a 4x4 grid shifted by (di, dj): the grid's lane (i + di, j + dj), or 16 (a zero lane). */
#define DT_SH(di, dj, i, j) \
    ((unsigned)((i) + (di)) < 4u && (unsigned)((j) + (dj)) < 4u ? ((i) + (di)) * 4 + (j) + (dj) : 16)
#define DT_ROW(di, dj, i) DT_SH(di, dj, i, 0), DT_SH(di, dj, i, 1), DT_SH(di, dj, i, 2), DT_SH(di, dj, i, 3)
#define DT_SHIFT(g, di, dj) \
    __builtin_shufflevector(g, z, DT_ROW(di, dj, 0), DT_ROW(di, dj, 1), DT_ROW(di, dj, 2), DT_ROW(di, dj, 3))
/* The 4x4 grid x[2i + ro][2j + co] of an 8x8 plane held as four vectors of two rows (ro, co in {0, 1}). */
#define DT_PAIR(a, b, o) \
    __builtin_shufflevector(a, b, o, o + 2, o + 4, o + 6, 16 + o, 18 + o, 20 + o, 22 + o, 0, 0, 0, 0, 0, 0, 0, 0)
#define DT_GRID(ro, co)                                                                                      \
    __builtin_shufflevector(DT_PAIR(v[0], v[1], 8 * (ro) + (co)), DT_PAIR(v[2], v[3], 8 * (ro) + (co)), 0, 1, \
                            2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23)

DT_INLINE dt_v dt_load(const float *p)
{
    dt_v v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* One output plane from the plane x and the taps k[0..8]. */
DT_INLINE dt_v dt_s1(const float *x, const float *k)
{
    const dt_v v = dt_load(x), z = {0};
    dt_v y = k[0] * DT_SHIFT(v, -1, -1);
    y += k[1] * DT_SHIFT(v, -1, 0);
    y += k[2] * DT_SHIFT(v, -1, 1);
    y += k[3] * DT_SHIFT(v, 0, -1);
    y += k[4] * v;
    y += k[5] * DT_SHIFT(v, 0, 1);
    y += k[6] * DT_SHIFT(v, 1, -1);
    y += k[7] * DT_SHIFT(v, 1, 0);
    y += k[8] * DT_SHIFT(v, 1, 1);
    return y;
}

DT_INLINE dt_v dt_s2(const float *x, const float *k)
{
    const dt_v v[4] = {dt_load(x), dt_load(x + 16), dt_load(x + 32), dt_load(x + 48)}, z = {0};
    const dt_v ee = DT_GRID(0, 0), eo = DT_GRID(0, 1), oe = DT_GRID(1, 0), oo = DT_GRID(1, 1);
    dt_v y = k[0] * DT_SHIFT(oo, -1, -1);
    y += k[1] * DT_SHIFT(oe, -1, 0);
    y += k[2] * DT_SHIFT(oo, -1, 0);
    y += k[3] * DT_SHIFT(eo, 0, -1);
    y += k[4] * ee;
    y += k[5] * eo;
    y += k[6] * DT_SHIFT(oo, 0, -1);
    y += k[7] * oe;
    y += k[8] * oo;
    return y;
}

/* The nine shifted planes tap k reads for the output plane (s1: x is 4x4;
 * s2: x is 8x8), in the tap order of dt_s1 and dt_s2. */
DT_INLINE void dt_taps(const dl_conv2d_geom *g, const float *x, dt_v t[9])
{
    const dt_v z = {0};
    if (g->sh == 1) {
        const dt_v v = dt_load(x);
        t[0] = DT_SHIFT(v, -1, -1), t[1] = DT_SHIFT(v, -1, 0), t[2] = DT_SHIFT(v, -1, 1);
        t[3] = DT_SHIFT(v, 0, -1), t[4] = v, t[5] = DT_SHIFT(v, 0, 1);
        t[6] = DT_SHIFT(v, 1, -1), t[7] = DT_SHIFT(v, 1, 0), t[8] = DT_SHIFT(v, 1, 1);
        return;
    }
    const dt_v v[4] = {dt_load(x), dt_load(x + 16), dt_load(x + 32), dt_load(x + 48)};
    const dt_v ee = DT_GRID(0, 0), eo = DT_GRID(0, 1), oe = DT_GRID(1, 0), oo = DT_GRID(1, 1);
    t[0] = DT_SHIFT(oo, -1, -1), t[1] = DT_SHIFT(oe, -1, 0), t[2] = DT_SHIFT(oo, -1, 0);
    t[3] = DT_SHIFT(eo, 0, -1), t[4] = ee, t[5] = eo;
    t[6] = DT_SHIFT(oo, 0, -1), t[7] = oe, t[8] = oo;
}

/* gw rows [c0, c1); acc: 9 vectors per channel of scratch. */
DT_INLINE void dt_wgrad_body(const dl_conv2d_geom *g, const float *x, const float *gy, float *gw, int64_t c0,
                             int64_t c1, float *acc)
{
    const int64_t plane_in = g->h * g->w;
    memset(acc, 0, sizeof(float) * 16 * 9 * (size_t)(c1 - c0));
    for (int64_t img = 0; img < g->n; img++)
        for (int64_t c = c0; c < c1; c++) {
            const int64_t p = img * g->c + c;
            dt_v t[9];
            dt_taps(g, x + p * plane_in, t);
            const dt_v d = dt_load(gy + p * 16);
            float *a = acc + (c - c0) * 9 * 16;
            for (int k = 0; k < 9; k++) {
                const dt_v s = dt_load(a + 16 * k) + d * t[k];
                memcpy(a + 16 * k, &s, sizeof s);
            }
        }
    dl_dw3_wgrad_lanes(acc, gw, c0, c1);
}

DT_INLINE void dt_range_body(const dl_conv2d_geom *g, const float *x, const float *w, float *y, int rotate,
                             int64_t p0, int64_t p1)
{
    const int64_t plane_in = g->h * g->w;
    for (int64_t p = p0; p < p1; p++) {
        const float *k = w + (p % g->c) * 9;
        float turned[9];
        for (int t = 0; t < 9; t++) turned[t] = k[8 - t];
        const dt_v out = g->sh == 1 ? dt_s1(x + p * plane_in, rotate ? turned : k)
                                    : dt_s2(x + p * plane_in, rotate ? turned : k);
        memcpy(y + p * 16, &out, sizeof out);
    }
}

void dl_dw3_wgrad_lanes(const float *acc, float *gw, int64_t c0, int64_t c1)
{
    for (int64_t c = c0; c < c1; c++)
        for (int k = 0; k < 9; k++) {
            const float *a = acc + ((c - c0) * 9 + k) * 16;
            float sum = 0.0f;
            for (int l = 0; l < 16; l++) sum += a[l];
            gw[c * 9 + k] = sum;
        }
}

#define DT_WG_ARGS \
    const dl_conv2d_geom *g, const float *x, const float *gy, float *gw, int64_t c0, int64_t c1, float *acc
typedef void (*dt_wg_fn)(DT_WG_ARGS);
static void dt_wg_portable(DT_WG_ARGS) { dt_wgrad_body(g, x, gy, gw, c0, c1, acc); }
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2,fma"))) static void dt_wg_avx2(DT_WG_ARGS) { dt_wgrad_body(g, x, gy, gw, c0, c1, acc); }
__attribute__((target("avx512f,avx512vl,fma"))) static void dt_wg_avx512(DT_WG_ARGS)
{
    dt_wgrad_body(g, x, gy, gw, c0, c1, acc);
}
#endif

#define DT_ARGS \
    const dl_conv2d_geom *g, const float *x, const float *w, float *y, int rotate, int64_t p0, int64_t p1
typedef void (*dt_fn)(DT_ARGS);
static void dt_portable(DT_ARGS) { dt_range_body(g, x, w, y, rotate, p0, p1); }
#if defined(__x86_64__) && defined(__GNUC__)
#define DT_X86 1
__attribute__((target("avx2,fma"))) static void dt_avx2(DT_ARGS) { dt_range_body(g, x, w, y, rotate, p0, p1); }
__attribute__((target("avx512f,avx512vl,fma"))) static void dt_avx512(DT_ARGS)
{
    dt_range_body(g, x, w, y, rotate, p0, p1);
}
#endif

int dl_dw3_tiny_applies(const dl_conv2d_geom *g)
{
    return g->oh == 4 && g->ow == 4 && ((g->sh == 1 && g->h == 4 && g->w == 4) || (g->sh == 2 && g->h == 8 && g->w == 8));
}

int dl_dw3_tiny_range_isa(dl_gemv_isa isa, const dl_conv2d_geom *g, const float *x, const float *w, float *y,
                          int rotate, int64_t p0, int64_t p1)
{
#ifdef DT_X86
    static const dt_fn fns[] = {dt_portable, dt_avx2, dt_avx512};
#else
    static const dt_fn fns[] = {dt_portable};
#endif
    const int v = dl_isa_level(isa);
    if (v < 0) return -1;
    fns[v](g, x, w, y, rotate, p0, p1);
    return 0;
}

int dl_dw3_tiny_wgrad_isa(dl_gemv_isa isa, const dl_conv2d_geom *g, const float *x, const float *gy, float *gw,
                          int64_t c0, int64_t c1, float *acc)
{
#ifdef DT_X86
    static const dt_wg_fn fns[] = {dt_wg_portable, dt_wg_avx2, dt_wg_avx512};
#else
    static const dt_wg_fn fns[] = {dt_wg_portable};
#endif
    const int v = dl_isa_level(isa);
    if (v < 0) return -1;
    fns[v](g, x, gy, gw, c0, c1, acc);
    return 0;
}
