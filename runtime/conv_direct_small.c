/* conv_direct_small.c — direct stride-1 convolution kernels for layers with
 * few output channels per group (LeNet's c1: 1 -> 6, c3: 6 -> 16).
 *
 * Why not im2col + GEMM (conv.c): with og = 6 output channels the GEMM does
 * only 6 multiply-adds per column element, so building the K x P columns
 * (and, for the weight gradient, packing them transposed) cost as much as
 * the multiply — in a LeNet-5 step im2col, its copies and the transposed
 * packing took 40% against the GEMM's 26%. Here nothing is built but a
 * zero-padded copy of the input planes, and the arithmetic reads it in place.
 *
 * Layout: the padded planes (ph x pw, ph = h + pt + pb, pw = w + pl + pr)
 * are addressed flat. For stride 1, output (i, j) through tap (c, a, b)
 * reads xp[c][p + a*dh*pw + b*dw] with p = i*pw + j, so over the flat index
 * p every tap is one constant offset. The kernels run over p in vectors of
 * 16; positions with j >= ow (pw - ow = dw*(kw-1) per row) are computed and
 * thrown away (forward) or meet zeros in the padded gy (weight gradient).
 *
 *   forward      32 output pixels x ob (<= 8) channels of accumulators in
 *                registers; per tap two loads of x and 2*ob FMAs with the
 *                weight as an embedded broadcast. Kernel rows that read only
 *                zero padding for all 32 pixels are skipped (the flipped
 *                data gradient of a valid 5x5 convolution is padded by 4).
 *   weight grad  an ob (<= 4) x 5-tap tile of vector accumulators; per 16
 *                pixels ob loads of gy, 5 of x, 5*ob FMAs. The 16 lanes are
 *                kept apart over all images of the range (vacc, in the
 *                thread's buffer) and summed once at the end.
 *
 * The kernels are compiled for AVX-512, AVX with FMA (their float code
 * needs nothing from AVX2, and the "avx2" clone would not contract to FMAs)
 * and baseline x86-64 and chosen at load time (target_clones). -std=c11 turns
 * off FMA contraction; without it (as gemm.c also found) every tap was a
 * multiply and an add, and the forward lost to im2col + GEMM at 3 -> 16.
 *
 * On AVX-512 CPUs, layers whose output rows are whole vectors (ResNet's
 * 32x32 planes) go to conv_direct_rows.c instead, which needs no padded
 * copies; these flat kernels are then LeNet's, and every layer's elsewhere. */
#pragma GCC optimize("O3", "fp-contract=fast")
#include <string.h>

#include "conv_small_internal.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CS_CLONES __attribute__((target_clones("avx512f", "fma", "default")))
#else
#define CS_CLONES
#endif
#define INLINE inline __attribute__((always_inline))

static int avx512(void) {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
    return __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

#define VL 16      /* floats per vector: output pixels per step */
#define FWD_OB 8   /* most output channels per forward tile */
#define WG_OB 4    /* most output channels per weight-gradient tile */
#define WG_TB 5    /* taps per weight-gradient tile */
#define MAX_TAPS 512
#define MAX_OG 16

typedef float cs_v __attribute__((vector_size(VL * sizeof(float))));

/* The flat padded geometry of one group of one image. */
typedef struct cs_dims {
    int64_t cg, og, K, pw, plane, np, npr, xfloats;
} cs_dims;

static cs_dims cs_dims_of(const dl_conv2d_geom *g) {
    cs_dims d;
    d.cg = g->c / g->groups;
    d.og = g->oc / g->groups;
    d.K = d.cg * g->kh * g->kw;
    d.pw = g->w + g->pl + g->pr;
    d.plane = (g->h + g->pt + g->pb) * d.pw;
    d.np = g->oh * d.pw;
    d.npr = (d.np + VL - 1) / VL * VL;
    /* the last vector of the last tap reads up to npr - np + dw*(kw-1) past the planes */
    d.xfloats = d.cg * d.plane + VL + g->dw * (g->kw - 1);
    return d;
}

static int64_t lines(int64_t floats) { return (floats + 15) / 16 * 16; }

int dl_conv_small_fits(const dl_conv2d_geom *g) {
    if (g->groups < 1 || g->c % g->groups || g->oc % g->groups) return 0;
    if (g->sh != 1 || g->sw != 1 || g->dh < 1 || g->dw < 1) return 0;
    if (g->pt < 0 || g->pb < 0 || g->pl < 0 || g->pr < 0) return 0;
    if (g->oh != g->h + g->pt + g->pb - g->dh * (g->kh - 1) || g->ow != g->w + g->pl + g->pr - g->dw * (g->kw - 1))
        return 0;
    if (g->oh < 1 || g->ow < 1) return 0;
    int64_t og = g->oc / g->groups, K = g->c / g->groups * g->kh * g->kw;
    return og <= MAX_OG && K <= MAX_TAPS;
}

/* xp = the cg planes of x, zero-padded, then zeros up to d->xfloats. */
static void pad_planes(const dl_conv2d_geom *g, const cs_dims *d, const float *restrict x, float *restrict xp) {
    memset(xp, 0, sizeof(float) * (size_t)d->xfloats);
    for (int64_t c = 0; c < d->cg; c++)
        for (int64_t r = 0; r < g->h; r++)
            memcpy(xp + c * d->plane + (r + g->pt) * d->pw + g->pl, x + (c * g->h + r) * g->w,
                   sizeof(float) * (size_t)g->w);
}

/* off[t] = the flat offset of tap t = (c, a, b) in the padded planes. */
static void tap_offsets(const dl_conv2d_geom *g, const cs_dims *d, int32_t *off) {
    int64_t t = 0;
    for (int64_t c = 0; c < d->cg; c++)
        for (int64_t a = 0; a < g->kh; a++)
            for (int64_t b = 0; b < g->kw; b++) off[t++] = (int32_t)(c * d->plane + a * g->dh * d->pw + b * g->dw);
}

/* ---- forward ----------------------------------------------------------------- */

/* What the forward tile needs of the geometry to skip kernel rows. */
typedef struct fwd_geom {
    int64_t cg, kh, kw, K, pw, dh, pt, h, oh, npr;
    int wide; /* two vectors of pixels per step (AVX-512) */
} fwd_geom;

/* Kernel rows [*alo, *ahi) of the n pixels from p are those that read some
 * unpadded input row: the others read only zero padding and are skipped
 * (the stride-1 data gradient's flipped convolution of a valid 5x5 one is
 * padded by 4 rows on each side: 28% of its taps). */
static INLINE void live_rows(const fwd_geom *f, int64_t p, int64_t n, int64_t *alo, int64_t *ahi) {
    int64_t i0 = p / f->pw, i1 = (p + n - 1) / f->pw; /* p < np, so i0 < oh */
    if (i1 > f->oh - 1) i1 = f->oh - 1;
    int64_t lo = f->pt - i1 <= 0 ? 0 : (f->pt - i1 + f->dh - 1) / f->dh;
    int64_t hi = f->pt + f->h - 1 - i0 < 0 ? 0 : (f->pt + f->h - 1 - i0) / f->dh + 1;
    if (hi > f->kh) hi = f->kh;
    *alo = lo, *ahi = hi > lo ? hi : lo;
}

/* yb[o][p .. p + nc*VL) = sum_t wb[o][t] * xp[off[t] + p ..] for o < ob:
 * nc (1 or 2) vectors of pixels, so each broadcast weight feeds nc FMAs. */
static INLINE void fwd_span(const int ob, const int nc, const fwd_geom *f, int64_t p, const float *restrict xp,
                            const int32_t *restrict off, const float *restrict wb, float *restrict yb) {
    const int64_t K = f->K;
    cs_v acc[FWD_OB][2];
#pragma GCC unroll 8
    for (int o = 0; o < ob; o++)
#pragma GCC unroll 2
        for (int k = 0; k < nc; k++) acc[o][k] = (cs_v){0};
    int64_t alo, ahi;
    live_rows(f, p, nc * VL, &alo, &ahi);
    for (int64_t c = 0; c < f->cg; c++)
        for (int64_t t = (c * f->kh + alo) * f->kw; t < (c * f->kh + ahi) * f->kw; t++) {
            cs_v xv[2];
#pragma GCC unroll 2
            for (int k = 0; k < nc; k++) memcpy(&xv[k], xp + off[t] + p + k * VL, sizeof xv[k]);
#pragma GCC unroll 8
            for (int o = 0; o < ob; o++)
#pragma GCC unroll 2
                for (int k = 0; k < nc; k++) acc[o][k] += wb[o * K + t] * xv[k];
        }
#pragma GCC unroll 8
    for (int o = 0; o < ob; o++)
#pragma GCC unroll 2
        for (int k = 0; k < nc; k++) memcpy(yb + o * f->npr + p + k * VL, &acc[o][k], sizeof acc[o][k]);
}

/* yb[o][p] = sum_t wb[o][t] * xp[off[t] + p] for o < ob, all p < npr.
 * Two vectors per step only with 32 vector registers (AVX-512): with 16,
 * 2 * 8 accumulators of two ymm each would spill. */
static INLINE void fwd_tile(const int ob, const fwd_geom *f, const float *restrict xp, const int32_t *restrict off,
                            const float *restrict wb, float *restrict yb) {
    int64_t p = 0;
    if (f->wide)
        for (; p + 2 * VL <= f->npr; p += 2 * VL) fwd_span(ob, 2, f, p, xp, off, wb, yb);
    for (; p < f->npr; p += VL) fwd_span(ob, 1, f, p, xp, off, wb, yb);
}

/* fwd_tile with ob a constant in each case, so the accumulators live in registers. */
CS_CLONES static void fwd_block(int ob, const fwd_geom *f, const float *xp, const int32_t *off, const float *wb,
                                float *yb) {
    switch (ob) {
    case 1: fwd_tile(1, f, xp, off, wb, yb); break;
    case 2: fwd_tile(2, f, xp, off, wb, yb); break;
    case 3: fwd_tile(3, f, xp, off, wb, yb); break;
    case 4: fwd_tile(4, f, xp, off, wb, yb); break;
    case 5: fwd_tile(5, f, xp, off, wb, yb); break;
    case 6: fwd_tile(6, f, xp, off, wb, yb); break;
    case 7: fwd_tile(7, f, xp, off, wb, yb); break;
    default: fwd_tile(8, f, xp, off, wb, yb); break;
    }
}

/* Channel tiles of og: as few as fit FWD_OB (or WG_OB), evenly sized. */
static int tile_height(int64_t og, int most) {
    int64_t tiles = (og + most - 1) / most;
    return (int)((og + tiles - 1) / tiles);
}

int64_t dl_conv_small_fwd_floats(const dl_conv2d_geom *g) {
    cs_dims d = cs_dims_of(g);
    return lines(d.xfloats) + FWD_OB * d.npr;
}

void dl_conv_small_image(const dl_conv2d_geom *g, const float *x, const float *w, float *y, float *buf,
                         const float *next) {
    if (dl_conv_rows_fits(g)) {
        dl_conv_rows_image(g, x, w, y, buf, next);
        return;
    }
    cs_dims d = cs_dims_of(g);
    float *xp = buf, *yb = xp + lines(d.xfloats);
    int32_t off[MAX_TAPS];
    tap_offsets(g, &d, off);
    const int ob = tile_height(d.og, FWD_OB);
    const fwd_geom f = {d.cg, g->kh, g->kw, d.K, d.pw, g->dh, g->pt, g->h, g->oh, d.npr, avx512()};
    const int64_t P = g->oh * g->ow;
    for (int64_t grp = 0; grp < g->groups; grp++) {
        pad_planes(g, &d, x + grp * d.cg * g->h * g->w, xp);
        for (int64_t o0 = 0; o0 < d.og; o0 += ob) {
            int64_t rows = d.og - o0 < ob ? d.og - o0 : ob;
            fwd_block((int)rows, &f, xp, off, w + (grp * d.og + o0) * d.K, yb);
            for (int64_t o = 0; o < rows; o++) {
                float *restrict yo = y + (grp * d.og + o0 + o) * P;
                const float *restrict src = yb + o * d.npr;
                for (int64_t i = 0; i < g->oh; i++)
                    for (int64_t j = 0; j < g->ow; j++) yo[i * g->ow + j] = src[i * d.pw + j];
            }
        }
    }
}

/* ---- weight gradient --------------------------------------------------------- */

/* vacc[o*K + t] += lane-wise sum_p gp[o][p] * xp[off[t] + p] for o < ob,
 * t < WG_TB; taps t >= nt repeat a real one and are not added. */
static INLINE void wg_tile(const int ob, const float *restrict xp, const int32_t *restrict off,
                           const float *const *gp, int64_t npr, cs_v *restrict vacc, int64_t K, int nt) {
    cs_v acc[WG_OB][WG_TB];
#pragma GCC unroll 4
    for (int o = 0; o < ob; o++)
#pragma GCC unroll 5
        for (int t = 0; t < WG_TB; t++) acc[o][t] = (cs_v){0};
    for (int64_t p = 0; p < npr; p += VL) {
        cs_v gv[WG_OB];
#pragma GCC unroll 4
        for (int o = 0; o < ob; o++) memcpy(&gv[o], gp[o] + p, sizeof gv[o]);
#pragma GCC unroll 5
        for (int t = 0; t < WG_TB; t++) {
            cs_v xv;
            memcpy(&xv, xp + off[t] + p, sizeof xv);
#pragma GCC unroll 4
            for (int o = 0; o < ob; o++) acc[o][t] += gv[o] * xv;
        }
    }
    for (int o = 0; o < ob; o++)
        for (int t = 0; t < nt; t++) vacc[o * K + t] += acc[o][t];
}

CS_CLONES static void wg_block(int ob, const float *xp, const int32_t *off, const float *const *gp, int64_t npr,
                               cs_v *vacc, int64_t K, int nt) {
    switch (ob) {
    case 1: wg_tile(1, xp, off, gp, npr, vacc, K, nt); break;
    case 2: wg_tile(2, xp, off, gp, npr, vacc, K, nt); break;
    case 3: wg_tile(3, xp, off, gp, npr, vacc, K, nt); break;
    default: wg_tile(4, xp, off, gp, npr, vacc, K, nt); break;
    }
}

int64_t dl_conv_small_wgrad_floats(const dl_conv2d_geom *g) {
    cs_dims d = cs_dims_of(g);
    if (dl_conv_rows_fits(g)) return dl_conv_rows_wgrad_floats(g);
    return VL * g->oc * d.K + lines(d.xfloats) + d.og * d.npr;
}

/* gyp[o] = gy's plane o on the flat padded grid: zeros at j >= ow and p >= np. */
static void pad_gy(const dl_conv2d_geom *g, const cs_dims *d, const float *restrict gy, float *restrict gyp) {
    for (int64_t o = 0; o < d->og; o++) {
        float *restrict dst = gyp + o * d->npr;
        const float *restrict src = gy + o * g->oh * g->ow;
        for (int64_t i = 0; i < g->oh; i++) {
            for (int64_t j = 0; j < g->ow; j++) dst[i * d->pw + j] = src[i * g->ow + j];
            for (int64_t j = g->ow; j < d->pw; j++) dst[i * d->pw + j] = 0.0f;
        }
        for (int64_t p = d->np; p < d->npr; p++) dst[p] = 0.0f;
    }
}

/* One image's gradient of one group, added lane-wise into vacc ([og][K] vectors). */
static void wgrad_image(const cs_dims *d, const int32_t *off, const float *xp,
                        const float *gyp, cs_v *vacc) {
    const int ob = tile_height(d->og, WG_OB);
    for (int64_t o0 = 0; o0 < d->og; o0 += ob) {
        int rows = (int)(d->og - o0 < ob ? d->og - o0 : ob);
        const float *gp[WG_OB];
        for (int o = 0; o < rows; o++) gp[o] = gyp + (o0 + o) * d->npr;
        for (int64_t t0 = 0; t0 < d->K; t0 += WG_TB) {
            int32_t o5[WG_TB];
            int nt = (int)(d->K - t0 < WG_TB ? d->K - t0 : WG_TB);
            for (int t = 0; t < WG_TB; t++) o5[t] = off[t < nt ? t0 + t : t0];
            wg_block(rows, xp, o5, gp, d->npr, vacc + o0 * d->K + t0, d->K, nt);
        }
    }
}

void dl_conv_small_bwd_weight(const dl_conv2d_geom *g, const float *x, const float *gy, float *gw, float *buf,
                              int64_t lo, int64_t hi) {
    if (dl_conv_rows_fits(g)) {
        dl_conv_rows_bwd_weight(g, x, gy, gw, buf, lo, hi);
        return;
    }
    cs_dims d = cs_dims_of(g);
    cs_v *vacc = (cs_v *)buf; /* 64-byte aligned scratch */
    float *xp = buf + VL * g->oc * d.K, *gyp = xp + lines(d.xfloats);
    int32_t off[MAX_TAPS];
    tap_offsets(g, &d, off);
    memset(vacc, 0, sizeof(cs_v) * (size_t)(g->oc * d.K));
    const int64_t plane_in = g->h * g->w, P = g->oh * g->ow;
    for (int64_t i = lo; i < hi; i++)
        for (int64_t grp = 0; grp < g->groups; grp++) {
            pad_planes(g, &d, x + (i * g->c + grp * d.cg) * plane_in, xp);
            pad_gy(g, &d, gy + (i * g->oc + grp * d.og) * P, gyp);
            wgrad_image(&d, off, xp, gyp, vacc + grp * d.og * d.K);
        }
    for (int64_t k = 0; k < g->oc * d.K; k++) {
        float s = 0.0f;
        for (int l = 0; l < VL; l++) s += vacc[k][l];
        gw[k] = s;
    }
}
