/* conv_direct_rows.c — the direct stride-1 kernels of conv_direct_small.c
 * by output rows, on unpadded planes (AVX-512 only).
 *
 * Why: conv_direct_small.c runs over a flat zero-padded copy of the planes
 * (pw = w + pl + pr wide). On ResNet-20's 16 -> 16 3x3 layers (32x32,
 * padding 1) that cost, per `perf` of the layer alone (batch 64, 1 thread):
 * 12% of its time in the padded copies (memmove), 8% in copying the output
 * out of the padded grid and padding gy, and 6% of the multiply-adds on the
 * two padding columns of each 34-wide row. Here output row i of a layer
 * whose ow is a multiple of 16 is whole vectors, read and written in place,
 * and no padding is materialized: a tap (c, a, b) reads input row
 * i + a*dh - pt at columns j + b*dw - pl, as lane shifts of the row's own
 * vectors for a "same" 3x3 (same3) and as masked loads (lanes outside the
 * row are zero and not read) otherwise; tap rows outside the input are
 * skipped, or read a row of zeros (zrow) for one row of a pair.
 *
 * What bounds these loops on the AVX-512 machine we measured is loads
 * (broadcasts included), not FMAs: the flat forward's 10 loads per 16 FMAs
 * ran at 71% of the FMA peak. So the tiles are shaped to share loads:
 *
 *   forward      two output rows x (up to) two vectors x ob channels of
 *                accumulators (fwd3_span: ob <= 4 for 16 channels, 4 x loads
 *                and 12 broadcasts per 48 FMAs for a kernel row; fwd_span,
 *                masked: ob <= 6; on Intel fwd3_span loads its shifted
 *                taps instead of shifting lanes, ob <= 6: fwd3_taps_loaded).
 *                Each output's products are added in the
 *                flat kernels' order (channel, tap row, tap column), so the
 *                results are theirs bit for bit. The data gradient is the
 *                forward of the flipped convolution (conv.c).
 *   weight grad  for one (input channel, tap row) an ob (<= 8) x nb (<= 3)
 *                tile of taps along the row: per vector of output pixels one
 *                load of x (same3; else nb masked ones), ob loads of gy and
 *                nb*ob FMAs, over the output rows where that tap row is
 *                inside the input. Lanes are kept apart over the images of
 *                the range, as in conv_direct_small.c, and summed once at
 *                the end: the order is a function of the geometry only (1
 *                and 2 threads agree), not the flat kernels' order.
 *
 * Inside a model the planes are not in cache (conv_bench's layer alone
 * reads them from cache, and measured these kernels 1.23x the flat ones;
 * in the ResNet-20 step their share barely moved): every tile walks 16
 * planes of one 4 KB page each, a few rows at a time, and the hardware
 * prefetcher starts cold on each page. So both kernels ask for the next
 * image's planes while computing this one (rows_pf), a slice per step:
 * with the tensors in memory the forward and data gradient took 1/1.09
 * and 1/1.05 of their time, and in the step the weight gradient's share
 * fell most (docs/performance.md, "the next image asked for ahead").
 *
 * Masked loads and lane shifts have no plain C spelling with vector
 * extensions, so this file is AVX-512 intrinsics under a target pragma,
 * chosen at run time; other CPUs (and layers whose rows are not whole
 * vectors, like LeNet's) keep conv_direct_small.c's flat kernels, which the
 * unit tests also run with this file switched off. */
#pragma GCC optimize("O3")
#include <string.h>

#include "conv_small_internal.h"

#define VL 16     /* floats per vector */
#define FWD_OB 6  /* most output channels per forward tile */
#define FWD3_OB 5 /* the same, for fwd3_span */
#define FWD3_OB_LD 6 /* the same, for fwd3_span with its taps loaded (no shifted copies held) */
#define ROW_OB 8  /* most output channels per weight-gradient tile */
#define ROW_NB 3  /* most taps of one kernel row per weight-gradient tile */
#define ROW_MAXKW 16
#define ROW_MAXTAPS 512 /* dl_conv_small_fits' bound on cg*kh*kw */

static int rows_enabled = 1;

void dl_conv_rows_enable(int on) { rows_enabled = on; }

/* fwd3_span's taps b = 0 and 2: -1 chooses by CPU, 0 lane shifts of the
 * row's vectors, 1 loads at the shifted addresses (the unit tests run both). */
static int fwd3_loads = -1;

void dl_conv_rows_fwd3_loads(int mode) { fwd3_loads = mode; }

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>

#define INLINE inline __attribute__((always_inline))

int dl_conv_rows_fits(const dl_conv2d_geom *g) {
    if (!rows_enabled || !__builtin_cpu_supports("avx512f")) return 0;
    return dl_conv_small_fits(g) && g->ow % VL == 0 && g->kw <= ROW_MAXKW;
}

int64_t dl_conv_rows_wgrad_floats(const dl_conv2d_geom *g) {
    return (int64_t)VL * g->oc * (g->c / g->groups) * g->kh * g->kw;
}

/* Which form of fwd3_span's taps to run. On AMD's Zen 4, where a 512-bit
 * load takes both load pipes, one load and two lane shifts per row vector
 * won; on Intel's AVX-512 cores a lane shift (valignd) issues only on port
 * 5, one of the two FMA ports, so 8 shifts per 48 FMAs cap the kernel at
 * 48/56 of the FMA peak, while loads have ports of their own: there the
 * taps are loaded (12 loads and 12 broadcasts per 48 FMAs). */
static int fwd3_taps_loaded(void) { return fwd3_loads >= 0 ? fwd3_loads : __builtin_cpu_is("intel"); }

/* Everything below runs only after dl_conv_rows_fits saw AVX-512. */
#pragma GCC push_options
#pragma GCC target("avx512f")

/* The geometry of one group as the kernels use it. */
typedef struct rows_geom {
    int64_t cg, og, K, kh, kw, h, w, oh, ow, dh, dw, pt, pl, plane, P;
} rows_geom;

static rows_geom rows_geom_of(const dl_conv2d_geom *g) {
    rows_geom r = {g->c / g->groups, g->oc / g->groups, 0, g->kh, g->kw, g->h, g->w, g->oh, g->ow,
                   g->dh, g->dw, g->pt, g->pl, g->h * g->w, g->oh * g->ow};
    r.K = r.cg * r.kh * r.kw;
    return r;
}

/* Lanes of the vector of output columns j0 .. j0+15 whose tap column b is inside the row. */
static INLINE __mmask16 col_mask(const rows_geom *r, int64_t j0, int64_t b) {
    int64_t lo = r->pl - b * r->dw - j0, hi = r->w + r->pl - b * r->dw - j0; /* lanes [lo, hi) */
    if (lo < 0) lo = 0;
    if (hi > VL) hi = VL;
    if (hi <= lo) return 0;
    return (__mmask16)(((1u << hi) - 1u) & ~((1u << lo) - 1u));
}

/* The input row that output row i reads through tap row a, maybe outside [0, h). */
static INLINE int64_t in_row(const rows_geom *r, int64_t i, int64_t a) { return i + a * r->dh - r->pt; }

/* Channel tiles of og: as few as fit `most`, evenly sized. */
static inline int tile_height(int64_t og, int most) {
    int64_t tiles = (og + most - 1) / most;
    return (int)((og + tiles - 1) / tiles);
}

/* Whether the layer is a "same" 3x3 along the rows (kw 3, dw 1, one column
 * of padding each side, so ow = w): its three taps of a kernel row are then
 * the row's vectors shifted by one lane either way (valignd), and one
 * aligned load of x serves all three. */
static INLINE int same3(const rows_geom *r) { return r->kw == 3 && r->dw == 1 && r->pl == 1 && r->ow == r->w; }

/* The input row's vectors kv - 1, kv, kv + 1 as the taps b = 0, 1, 2 of output vector kv. */
static INLINE void shift3(__m512 prev, __m512 cur, __m512 next, __m512 *l, __m512 *rt) {
    *l = _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(cur), _mm512_castps_si512(prev), 15));
    *rt = _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(next), _mm512_castps_si512(cur), 1));
}

/* ---- the next image, asked for ahead ------------------------------------------ */

/* Inside a model the planes come from an arena of some 100 MB, not from
 * cache as in a layer's benchmark, and a 32x32 plane is one 4 KB page: the
 * tiles below read across 16 such pages at once, a few rows of each, and
 * the hardware prefetcher, which stops at page ends, starts cold on every
 * one (the old flat kernels' padded copy streamed the planes in order
 * instead). So while one image is computed the next one's planes (input,
 * and gy for the weight gradient) are asked for into L2, a slice at every
 * step of the tile loops, so the requests never queue up at once. */
typedef struct rows_pf {
    const char *p[2];    /* the next image's planes, or NULL */
    int64_t bytes[2];    /* their sizes */
    int64_t step, steps; /* slices asked for, slices in all */
} rows_pf;

static INLINE void pf_step(rows_pf *pf) {
    if (pf->step >= pf->steps) return;
    for (int s = 0; s < 2; s++) {
        if (!pf->p[s]) continue;
        int64_t lo = pf->bytes[s] * pf->step / pf->steps, hi = pf->bytes[s] * (pf->step + 1) / pf->steps;
        for (int64_t b = lo & ~(int64_t)63; b < hi; b += 64) _mm_prefetch(pf->p[s] + b, _MM_HINT_T1);
    }
    pf->step++;
}

/* ---- forward ----------------------------------------------------------------- */

/* The forward's tile of accumulators: ob output channels x nr rows x nc vectors. */
typedef __m512 fwd_acc[FWD_OB][2][2];

static INLINE void acc_zero(const int ob, const int nr, const int nc, fwd_acc acc) {
#pragma GCC unroll 8
    for (int o = 0; o < ob; o++)
#pragma GCC unroll 2
        for (int q = 0; q < nr; q++)
#pragma GCC unroll 2
            for (int k = 0; k < nc; k++) acc[o][q][k] = _mm512_setzero_ps();
}

/* acc[o] += wt[o] * xv for o < ob: one broadcast weight, nr*nc FMAs. */
static INLINE void acc_tap(const int ob, const int nr, const int nc, const float *restrict wt, __m512 xv[2][2],
                           fwd_acc acc) {
#pragma GCC unroll 8
    for (int o = 0; o < ob; o++) {
        __m512 wv = _mm512_set1_ps(wt[o]);
#pragma GCC unroll 2
        for (int q = 0; q < nr; q++)
#pragma GCC unroll 2
            for (int k = 0; k < nc; k++) acc[o][q][k] = _mm512_fmadd_ps(wv, xv[q][k], acc[o][q][k]);
    }
}

/* y[o][i + q][j0 + k*VL ..] = acc[o][q][k]. */
static INLINE void acc_store(const int ob, const int nr, const int nc, fwd_acc acc, const rows_geom *r, int64_t i,
                             int64_t j0, float *restrict y) {
#pragma GCC unroll 8
    for (int o = 0; o < ob; o++)
#pragma GCC unroll 2
        for (int q = 0; q < nr; q++)
#pragma GCC unroll 2
            for (int k = 0; k < nc; k++) _mm512_storeu_ps(y + o * r->P + (i + q) * r->ow + j0 + k * VL, acc[o][q][k]);
}

/* Tap rows [*alo, *ahi) read an input row for some output row i .. i + nr - 1. */
static INLINE void live_taps(const rows_geom *r, int64_t i, int nr, int64_t *alo, int64_t *ahi) {
    int64_t lo = 0, hi = r->kh;
    while (lo < hi && in_row(r, i + nr - 1, lo) < 0) lo++;
    while (hi > lo && in_row(r, i, hi - 1) >= r->h) hi--;
    *alo = lo, *ahi = hi;
}

/* xr[q] = the start of the input row that output row i + q reads through
 * tap row a of channel c, or zrow (zeros) where that row is padding. */
static INLINE void tap_rows(const rows_geom *r, const float *x, const float *zrow, int64_t c, int64_t i, int64_t a,
                            const int nr, const float *xr[2]) {
#pragma GCC unroll 2
    for (int q = 0; q < nr; q++) {
        int64_t row = in_row(r, i + q, a);
        xr[q] = row < 0 || row >= r->h ? zrow : x + c * r->plane + row * r->w;
    }
}

/* y[o][i + q][j0 .. j0 + nc*VL) for q < nr, o < ob = the sum over taps of
 * wp[t][o] * x(tap); wp is the tile's weights packed tap-major (one
 * pointer, constant offsets). Two rows of two vectors share each broadcast
 * weight four times: broadcasts and x loads, not FMAs, bound the one-row
 * kernel (8 + 2 loads per 16 FMAs; here 6 + 4 per 24). A tap row outside
 * the input reads zrow (zeros) for the row of the pair that has none.
 * KW = kw when it is 3 (ResNet's kernels: the tap loop unrolled and its
 * masks kept in mask registers), 0 for any other width. */
static INLINE void fwd_span(const int ob, const int nr, const int nc, const int KW, const rows_geom *r, int64_t i,
                            int64_t j0, const float *restrict x, const float *restrict zrow,
                            const float *restrict wp, float *restrict y) {
    const int64_t kw = KW ? KW : r->kw;
    fwd_acc acc;
    __mmask16 m[ROW_MAXKW][2];
    acc_zero(ob, nr, nc, acc);
#pragma GCC unroll 3
    for (int64_t b = 0; b < kw; b++)
#pragma GCC unroll 2
        for (int k = 0; k < nc; k++) m[b][k] = col_mask(r, j0 + k * VL, b);
    int64_t alo, ahi;
    live_taps(r, i, nr, &alo, &ahi);
    for (int64_t c = 0; c < r->cg; c++) /* in conv_direct_small.c's order: the same sums, bit for bit */
        for (int64_t a = alo; a < ahi; a++) {
            const float *xr[2];
            tap_rows(r, x, zrow, c, i, a, nr, xr);
#pragma GCC unroll 2
            for (int q = 0; q < nr; q++) xr[q] += j0 - r->pl; /* may point before the row: only lanes inside it are read */
            const float *wt = wp + (c * r->kh + a) * kw * ob;
#pragma GCC unroll 3
            for (int64_t b = 0; b < kw; b++) {
                __m512 xv[2][2];
#pragma GCC unroll 2
                for (int q = 0; q < nr; q++)
#pragma GCC unroll 2
                    for (int k = 0; k < nc; k++)
                        xv[q][k] = _mm512_maskz_loadu_ps(m[b][k], xr[q] + b * r->dw + k * VL);
                acc_tap(ob, nr, nc, wt + b * ob, xv, acc);
            }
        }
    acc_store(ob, nr, nc, acc, r, i, j0, y);
}

/* Tap b (0, 1, 2) of a same3 layer for the output vector whose input
 * vector starts at xv0: the 16 floats from xv0 + b - 1, the lane before
 * the row (first vector, b = 0) or after it (last vector, b = 2) zero and
 * not read. fwd3_span's LD form: loads where the other form shifts lanes. */
static INLINE __m512 tap3_load(const float *xv0, const int b, const int first, const int last) {
    if (b == 0 && first) return _mm512_maskz_loadu_ps((__mmask16)0xFFFE, xv0 - 1);
    if (b == 2 && last) return _mm512_maskz_loadu_ps((__mmask16)0x7FFF, xv0 + 1);
    return _mm512_loadu_ps(xv0 + b - 1);
}

/* fwd_span for a same3 layer whose rows are one or two vectors (nc =
 * ow / 16: ResNet's 32x32 and 16x16 planes): each input row is loaded once
 * per (channel, tap row) and its taps b = 0 and 2 are lane shifts of it, so
 * there are no masks (GCC kept the six of fwd_span's KW = 3 case in general
 * registers and moved them into mask registers on every tap) and 4 loads,
 * not 12, feed the 3*ob broadcasts. ob <= FWD3_OB: 4*ob accumulators, 4
 * row vectors and 4 shifted ones fit the 32 registers. */
static INLINE void fwd3_span(const int ob, const int nr, const int nc, const rows_geom *r, int64_t i,
                             const float *restrict x, const float *restrict zrow, const float *restrict wp,
                             float *restrict y, const int LD) {
    fwd_acc acc;
    const __m512 zero = _mm512_setzero_ps();
    acc_zero(ob, nr, nc, acc);
    int64_t alo, ahi;
    live_taps(r, i, nr, &alo, &ahi);
    for (int64_t c = 0; c < r->cg; c++) /* in conv_direct_small.c's order: the same sums, bit for bit */
        for (int64_t a = alo; a < ahi; a++) {
            const float *xr[2];
            tap_rows(r, x, zrow, c, i, a, nr, xr);
            __m512 v[2][2];
#pragma GCC unroll 2
            for (int q = 0; q < nr; q++)
#pragma GCC unroll 2
                for (int k = 0; k < nc; k++) v[q][k] = LD ? zero : _mm512_loadu_ps(xr[q] + k * VL);
            const float *wt = wp + (c * r->kh + a) * 3 * ob;
#pragma GCC unroll 3
            for (int b = 0; b < 3; b++) {
                __m512 xv[2][2];
#pragma GCC unroll 2
                for (int q = 0; q < nr; q++)
#pragma GCC unroll 2
                    for (int k = 0; k < nc; k++) {
                        __m512 lo = k > 0 ? v[q][k - 1] : zero, hi = k + 1 < nc ? v[q][k + 1] : zero, dummy;
                        if (LD) xv[q][k] = tap3_load(xr[q] + k * VL, b, k == 0, k == nc - 1);
                        else if (b == 0) shift3(lo, v[q][k], hi, &xv[q][k], &dummy);
                        else if (b == 2) shift3(lo, v[q][k], hi, &dummy, &xv[q][k]);
                        else xv[q][k] = v[q][k];
                    }
                acc_tap(ob, nr, nc, wt + b * ob, xv, acc);
            }
        }
    acc_store(ob, nr, nc, acc, r, i, 0, y);
}

/* Whether fwd3_span takes the layer. */
static INLINE int fwd3_fits(const rows_geom *r) { return same3(r) && r->ow <= 2 * VL; }

/* Output rows i .. i + nr - 1 of the tile. SPAN < 0: fwd3_span on rows of
 * -SPAN vectors; else fwd_span along the row with KW = SPAN. */
static INLINE void fwd_rows(const int ob, const int nr, const int SPAN, const rows_geom *r, int64_t i,
                            const float *x, const float *zrow, const float *wp, float *y, const int LD) {
    if (SPAN < 0) {
        fwd3_span(ob, nr, -SPAN, r, i, x, zrow, wp, y, LD);
        return;
    }
    int64_t j0 = 0;
    for (; j0 + 2 * VL <= r->ow; j0 += 2 * VL) fwd_span(ob, nr, 2, SPAN, r, i, j0, x, zrow, wp, y);
    if (j0 < r->ow) fwd_span(ob, nr, 1, SPAN, r, i, j0, x, zrow, wp, y);
}

/* The tile's output rows two at a time, a prefetch slice (pf_step) per pair. */
static INLINE void fwd_tile(const int ob, const int SPAN, const rows_geom *r, const float *x, const float *zrow,
                            const float *wp, float *y, rows_pf *pf, const int LD) {
    int64_t i = 0;
    for (; i + 2 <= r->oh; i += 2) {
        pf_step(pf);
        fwd_rows(ob, 2, SPAN, r, i, x, zrow, wp, y, LD);
    }
    if (i < r->oh) {
        pf_step(pf);
        fwd_rows(ob, 1, SPAN, r, i, x, zrow, wp, y, LD);
    }
}

#define FWD_CASE(ob)                                                                                                   \
    case ob:                                                                                                           \
        if (fwd3_fits(r) && (ob) <= FWD3_OB_LD && r->ow == 2 * VL && ld && (ob) >= 4)                                  \
            fwd_tile((ob) < FWD3_OB_LD ? (ob) : FWD3_OB_LD, -2, r, x, zrow, wp, y, pf, 1);                             \
        else if (fwd3_fits(r) && (ob) <= FWD3_OB && r->ow == 2 * VL)                                                   \
            fwd_tile((ob) < FWD3_OB ? (ob) : FWD3_OB, -2, r, x, zrow, wp, y, pf, 0);                                   \
        else if (fwd3_fits(r) && (ob) <= FWD3_OB_LD && ld && (ob) >= 4)                                                \
            fwd_tile((ob) < FWD3_OB_LD ? (ob) : FWD3_OB_LD, -1, r, x, zrow, wp, y, pf, 1);                             \
        else if (fwd3_fits(r) && (ob) <= FWD3_OB)                                                                      \
            fwd_tile((ob) < FWD3_OB ? (ob) : FWD3_OB, -1, r, x, zrow, wp, y, pf, 0);                                   \
        else if (r->kw == 3)                                                                                           \
            fwd_tile(ob, 3, r, x, zrow, wp, y, pf, 0);                                                                 \
        else                                                                                                           \
            fwd_tile(ob, 0, r, x, zrow, wp, y, pf, 0);                                                                 \
        break;

/* fwd_tile with ob a constant in each case, so the accumulators live in registers.
 * Loaded taps (ld) only for tiles of 4 or more channels: with fewer, the 12
 * row loads per (channel, tap row), most of them across two cache lines,
 * feed too few FMAs (the 16 -> 3 data gradient of ResNet's stem took 1.27x
 * the time with them), and the lane shifts stay cheaper. */
static void fwd_block(int ob, const rows_geom *r, const float *x, const float *zrow, const float *wp, float *y,
                      rows_pf *pf, int ld) {
    switch (ob) {
        FWD_CASE(1) FWD_CASE(2) FWD_CASE(3) FWD_CASE(4) FWD_CASE(5) FWD_CASE(6)
    default: break;
    }
}

void dl_conv_rows_image(const dl_conv2d_geom *g, const float *x, const float *w, float *y, float *buf,
                        const float *next) {
    const rows_geom r = rows_geom_of(g);
    const int ld = fwd3_taps_loaded(), ob = tile_height(r.og, fwd3_fits(&r) ? (ld ? FWD3_OB_LD : FWD3_OB) : FWD_OB);
    float wp[FWD_OB * ROW_MAXTAPS], *zrow = buf;
    memset(zrow, 0, sizeof(float) * (size_t)r.w);
    rows_pf pf = {{(const char *)next, NULL}, {(int64_t)sizeof(float) * g->c * r.plane, 0}, 0,
                  g->groups * ((r.og + ob - 1) / ob) * ((r.oh + 1) / 2)}; /* a slice per row pair of each tile */
    for (int64_t grp = 0; grp < g->groups; grp++)
        for (int64_t o0 = 0; o0 < r.og; o0 += ob) {
            int64_t rows = r.og - o0 < ob ? r.og - o0 : ob;
            const float *wb = w + (grp * r.og + o0) * r.K;
            for (int64_t t = 0; t < r.K; t++)
                for (int64_t o = 0; o < rows; o++) wp[t * rows + o] = wb[o * r.K + t];
            fwd_block((int)rows, &r, x + grp * r.cg * r.plane, zrow, wp, y + (grp * r.og + o0) * r.P, &pf, ld);
        }
}

/* ---- weight gradient --------------------------------------------------------- */

/* vacc[o*K + b] += lane-wise sum over output pixels of gy[o] * x(tap (c, a, b0 + b))
 * for o < ob, b < nb; x points at input channel c's plane, vacc at tap (c, a, b0).
 * Only output rows whose tap row a is inside the input are visited. */
static INLINE void wg_tile(const int ob, const int nb, const rows_geom *r, int64_t a, int64_t b0,
                           const float *restrict x, const float *restrict gy, float *restrict vacc) {
    __m512 acc[ROW_OB][ROW_NB];
#pragma GCC unroll 8
    for (int o = 0; o < ob; o++)
#pragma GCC unroll 3
        for (int b = 0; b < nb; b++) acc[o][b] = _mm512_setzero_ps();
    int64_t ilo = r->pt - a * r->dh, ihi = r->h + r->pt - a * r->dh;
    if (ilo < 0) ilo = 0;
    if (ihi > r->oh) ihi = r->oh;
    for (int64_t j0 = 0; j0 < r->ow; j0 += VL) {
        __mmask16 m[ROW_NB];
#pragma GCC unroll 3
        for (int b = 0; b < nb; b++) m[b] = col_mask(r, j0, b0 + b);
        const float *xr = x + in_row(r, ilo, a) * r->w + j0 - r->pl + b0 * r->dw; /* may point before x */
        const float *gr = gy + ilo * r->ow + j0;
        for (int64_t i = ilo; i < ihi; i++, xr += r->w, gr += r->ow) {
            __m512 xv[ROW_NB];
#pragma GCC unroll 3
            for (int b = 0; b < nb; b++) xv[b] = _mm512_maskz_loadu_ps(m[b], xr + b * r->dw);
#pragma GCC unroll 8
            for (int o = 0; o < ob; o++) {
                __m512 gv = _mm512_loadu_ps(gr + o * r->P);
                /* one load for nb FMAs: GCC would fold it into each FMA, and
                 * loads, not FMAs, are what this loop runs out of */
                __asm__("" : "+v"(gv));
#pragma GCC unroll 3
                for (int b = 0; b < nb; b++) acc[o][b] = _mm512_fmadd_ps(gv, xv[b], acc[o][b]);
            }
        }
    }
#pragma GCC unroll 8
    for (int o = 0; o < ob; o++)
#pragma GCC unroll 3
        for (int b = 0; b < nb; b++) { /* unrolled, or the accumulators stay in memory */
            float *v = vacc + (o * r->K + b) * VL;
            _mm512_store_ps(v, _mm512_add_ps(_mm512_load_ps(v), acc[o][b]));
        }
}

/* wg_tile's three taps of kernel row a for a same3 layer: per vector of
 * output pixels one load of x (not three masked ones) and ob of gy. */
static INLINE void wg_tile3(const int ob, const int NV, const rows_geom *r, int64_t a, const float *restrict x,
                            const float *restrict gy, float *restrict vacc) {
    __m512 acc[ROW_OB][3];
#pragma GCC unroll 8
    for (int o = 0; o < ob; o++)
#pragma GCC unroll 3
        for (int b = 0; b < 3; b++) acc[o][b] = _mm512_setzero_ps();
    int64_t ilo = r->pt - a * r->dh, ihi = r->h + r->pt - a * r->dh;
    if (ilo < 0) ilo = 0;
    if (ihi > r->oh) ihi = r->oh;
    const int64_t nv = NV ? NV : r->ow / VL; /* NV: 1 or 2 for rows of that many vectors, unrolled */
    for (int64_t i = ilo; i < ihi; i++) {
        const float *xr = x + in_row(r, i, a) * r->w, *gr = gy + i * r->ow;
        __m512 prev = _mm512_setzero_ps(), cur = _mm512_loadu_ps(xr);
#pragma GCC unroll 2
        for (int64_t kv = 0; kv < nv; kv++) {
            __m512 next = kv + 1 < nv ? _mm512_loadu_ps(xr + (kv + 1) * VL) : _mm512_setzero_ps(), xv[3];
            shift3(prev, cur, next, &xv[0], &xv[2]);
            xv[1] = cur;
#pragma GCC unroll 8
            for (int o = 0; o < ob; o++) {
                __m512 gv = _mm512_loadu_ps(gr + o * r->P + kv * VL);
                __asm__("" : "+v"(gv)); /* one load for three FMAs (see wg_tile) */
#pragma GCC unroll 3
                for (int b = 0; b < 3; b++) acc[o][b] = _mm512_fmadd_ps(gv, xv[b], acc[o][b]);
            }
            prev = cur, cur = next;
        }
    }
#pragma GCC unroll 8
    for (int o = 0; o < ob; o++)
#pragma GCC unroll 3
        for (int b = 0; b < 3; b++) {
            float *v = vacc + (o * r->K + b) * VL;
            _mm512_store_ps(v, _mm512_add_ps(_mm512_load_ps(v), acc[o][b]));
        }
}

#define WG_CASE(ob, nb)                                                                                                \
    case (ob)*4 + (nb):                                                                                                \
        if ((nb) == 3 && same3(r) && r->ow == 2 * VL)                                                                  \
            wg_tile3(ob, 2, r, a, x, gy, vacc);                                                                        \
        else if ((nb) == 3 && same3(r))                                                                                \
            wg_tile3(ob, 0, r, a, x, gy, vacc);                                                                        \
        else                                                                                                           \
            wg_tile(ob, nb, r, a, b0, x, gy, vacc);                                                                    \
        break;
#define WG_CASES(ob) WG_CASE(ob, 1) WG_CASE(ob, 2) WG_CASE(ob, 3)

/* wg_tile with ob and nb constants, so the accumulators live in registers. */
static void wg_block(int ob, int nb, const rows_geom *r, int64_t a, int64_t b0, const float *x,
                     const float *gy, float *vacc) {
    switch (ob * 4 + nb) {
        WG_CASES(1) WG_CASES(2) WG_CASES(3) WG_CASES(4) WG_CASES(5) WG_CASES(6) WG_CASES(7) WG_CASES(8)
    default: break;
    }
}

/* wgrad_image's calls of wg_block per image and group. */
static int64_t wg_blocks(const rows_geom *r) {
    const int ob = tile_height(r->og, ROW_OB);
    return (r->og + ob - 1) / ob * r->cg * r->kh * ((r->kw + ROW_NB - 1) / ROW_NB);
}

/* One image's gradient of one group, added lane-wise into vacc ([og][K] vectors); a prefetch slice per tile. */
static void wgrad_image(const rows_geom *r, const float *x, const float *gy, float *vacc, rows_pf *pf) {
    const int ob = tile_height(r->og, ROW_OB);
    for (int64_t o0 = 0; o0 < r->og; o0 += ob) {
        int rows = (int)(r->og - o0 < ob ? r->og - o0 : ob);
        for (int64_t c = 0; c < r->cg; c++)
            for (int64_t a = 0; a < r->kh; a++)
                for (int64_t b0 = 0; b0 < r->kw; b0 += ROW_NB) {
                    int nb = (int)(r->kw - b0 < ROW_NB ? r->kw - b0 : ROW_NB);
                    int64_t t = (c * r->kh + a) * r->kw + b0;
                    pf_step(pf);
                    wg_block(rows, nb, r, a, b0, x + c * r->plane, gy + o0 * r->P, vacc + (o0 * r->K + t) * VL);
                }
    }
}

void dl_conv_rows_bwd_weight(const dl_conv2d_geom *g, const float *x, const float *gy, float *gw, float *buf,
                             int64_t lo, int64_t hi) {
    const rows_geom r = rows_geom_of(g);
    float *vacc = buf; /* 64-byte aligned scratch, [oc][K] vectors */
    memset(vacc, 0, sizeof(float) * (size_t)(VL * g->oc * r.K));
    for (int64_t i = lo; i < hi; i++) {
        rows_pf pf = {{NULL, NULL}, {(int64_t)sizeof(float) * g->c * r.plane, (int64_t)sizeof(float) * g->oc * r.P},
                      0, g->groups * wg_blocks(&r)};
        if (i + 1 < hi) {
            pf.p[0] = (const char *)(x + (i + 1) * g->c * r.plane);
            pf.p[1] = (const char *)(gy + (i + 1) * g->oc * r.P);
        }
        for (int64_t grp = 0; grp < g->groups; grp++)
            wgrad_image(&r, x + (i * g->c + grp * r.cg) * r.plane, gy + (i * g->oc + grp * r.og) * r.P,
                        vacc + grp * r.og * r.K * VL, &pf);
    }
    for (int64_t k = 0; k < g->oc * r.K; k++) {
        float s = 0.0f;
        for (int l = 0; l < VL; l++) s += vacc[k * VL + l];
        gw[k] = s;
    }
}
#pragma GCC pop_options

#else /* no AVX-512 spelling here: conv_direct_small.c's flat kernels take every layer */

int dl_conv_rows_fits(const dl_conv2d_geom *g) {
    (void)g;
    return 0;
}
int64_t dl_conv_rows_wgrad_floats(const dl_conv2d_geom *g) {
    (void)g;
    return 0;
}
void dl_conv_rows_image(const dl_conv2d_geom *g, const float *x, const float *w, float *y, float *buf,
                        const float *next) {
    (void)g, (void)x, (void)w, (void)y, (void)buf, (void)next;
}
void dl_conv_rows_bwd_weight(const dl_conv2d_geom *g, const float *x, const float *gy, float *gw, float *buf,
                             int64_t lo, int64_t hi) {
    (void)g, (void)x, (void)gy, (void)gw, (void)buf, (void)lo, (void)hi;
}
#endif
