/* conv_winograd_wgrad.c — F(2x2, 3x3)'s weight gradient with channels in
 * the AVX-512 lanes (ResNet-20's 32- and 64-channel stages).
 *
 * Why: conv_winograd.c's weight gradient puts 8 tiles in a vector, so its
 * 16 products W[e] += GY[e] V[e]^T are [OC x tiles] @ [tiles x C] GEMMs
 * whose operands are both tile-contiguous: dl_sgemm transposed both into
 * its panels on every chunk (dl_pack_transposed, 20% of the layer-pass),
 * and the transforms wrote 16 streams of 8 floats (gy_tiles 23%,
 * input_tiles 17%; perf of the 32-channel 16x16 layer at batch 64, 1
 * thread, which ran at 63% of the FMA peak in effective FLOPs).
 *
 * Here one image's x and gy are first turned channel-last (padded planes
 * P[y][x][c] and Q[y][x][o], by conv_winograd_cl.c's 16x16 transposes), so
 * the transforms (x's: conv_winograd_cl.c's, batch-1 inference's forward)
 * work on 16 channels per vector and write V[e][t][c] and GY[e][t][o]:
 * rows of whole vectors, which are the products' operands as they stand.
 * The product is a register tile of 12 output channels x 32 input channels
 * (24 accumulators): per tile t, two loads of V[e][t] and 12 broadcasts of
 * GY[e][t][o], summed over the image's tiles into the group's W.
 *
 * The sum over images does not depend on the thread count: images go to
 * WG_GROUPS groups fixed by the geometry, each summed in order, the groups
 * added in order (conv_winograd.c's rule). The bits differ from
 * conv_winograd.c's dl_sgemm path (another order of the same sums).
 *
 * Input channels 16 (mod 32) multiply on 16 x 16 register tiles instead;
 * below 32 channels a block of tile rows at a time (block_rows), gy's
 * transform straight from the channel-first gy (gy_tiles_tl; Q unused), which is
 * how ResNet-20's 16-channel 32x32 stage runs here (conv.c sends it by
 * dl_wg_wgrad16_pays; the 8-tile path's rule leaves 16 channels out).
 *
 * Compiled for AVX-512 only and chosen at run time for c and oc multiples
 * of 16 (whole vectors of channel-last planes); elsewhere conv_winograd.c's
 * code runs (and after dl_wg_wgrad16_enable(0), for the tests).
 * Measurements: docs/performance.md, "ResNet-20's 32-channel weight
 * gradient with channels in the lanes" and "ResNet-20's 16-channel weight
 * gradient ... (branch w16g)". */
#pragma GCC optimize("O3", "fp-contract=fast")
#pragma GCC diagnostic ignored "-Wpsabi" /* vectors pass only between always-inlined helpers */
#include <omp.h>
#include <string.h>

#include "conv_winograd_cl_internal.h"
#include "conv_winograd_internal.h"
#include "scratch_internal.h"

#define POSITIONS 16
#define WG_GROUPS 4 /* as conv_winograd.c's weight gradient */

static int wgrad16_on = 1, c16_on = 1;

int dl_wg_wgrad16_enable(int on) {
    int was = wgrad16_on;
    wgrad16_on = on;
    return was;
}
int dl_wg_wgrad16_c16_enable(int on) {
    int was = c16_on;
    c16_on = on;
    return was;
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>
#define X16 __attribute__((target("avx512f")))
#define X16_INLINE static inline __attribute__((always_inline, target("avx512f")))

int dl_wg_wgrad16_fits(const dl_conv2d_geom *g) {
    if (!wgrad16_on || g->c % 16 || g->oc % 16 || !dl_conv_winograd_fits(g)) return 0;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
}

int dl_wg_wgrad16_pays(const dl_conv2d_geom *g) {
    return c16_on && g->c < 32 && g->oc < 32 && g->n * ((g->oh + 1) / 2) * ((g->ow + 1) / 2) >= 64 &&
           dl_wg_wgrad16_fits(g);
}

typedef struct wgd {
    int64_t th, tw, tiles; /* 2x2 tiles per image */
    int64_t rows;          /* tile rows transformed and multiplied at a time (block_rows) */
    int64_t ph, pw;        /* P: (2 th + 2) x (2 tw + 2) positions of C floats, zero outside the input */
    int64_t qh, qw;        /* Q: 2 th x 2 tw positions of OC floats, zero outside gy */
    int64_t pf, qf, vf, gf, wf;
} wgd;

static int64_t lines(int64_t floats) { return (floats + 15) / 16 * 16; }

/* The tile rows of a block: with 16 input channels (the 16 x 16 products)
 * as many as keep the block's V and GY within 32 KB of L1 (beside W's 16
 * KB), so they are written and read there, not in L2: one row of 16 tiles
 * on ResNet-20's 32x32 plane. With 32 and more the whole image (blocks of 8
 * to 32 tiles measured slower there, the group's W of 64 KB and more then
 * streaming through L2 once per block). Blocks change no bits: every
 * accumulator sums its tiles in order, stored and reloaded between blocks. */
static int64_t block_rows(const dl_conv2d_geom *g, int64_t th, int64_t tw) {
    if (g->c >= 32) return th;
    const int64_t r = 512 / (tw * (g->c + g->oc));
    return r < 1 ? 1 : r > th ? th : r;
}

/* GY's floats per position in gy_tiles_tl's layout (at least n * oc + 16, gy_tiles16's). */
static int64_t tl_stride(int64_t n, int64_t oc) { return (n + 15) / 16 * 16 * oc + 16; }

static wgd dims(const dl_conv2d_geom *g) {
    wgd d;
    d.th = (g->oh + 1) / 2, d.tw = (g->ow + 1) / 2, d.tiles = d.th * d.tw;
    d.ph = 2 * d.th + 2, d.pw = 2 * d.tw + 2, d.qh = 2 * d.th, d.qw = 2 * d.tw;
    d.pf = lines(d.ph * d.pw * g->c), d.qf = lines(d.qh * d.qw * g->oc);
    d.rows = block_rows(g, d.th, d.tw);
    d.vf = POSITIONS * (d.rows * d.tw * g->c + 16), d.gf = POSITIONS * tl_stride(d.rows * d.tw, g->oc);
    d.wf = POSITIONS * g->oc * g->c;
    return d;
}

/* out[e] = (A g A^T)[e] of the 2x2 g = [[g00, g01], [g10, g11]], lane by lane. */
X16_INLINE void gy_positions(__m512 g00, __m512 g01, __m512 g10, __m512 g11, __m512 out[POSITIONS]) {
    const __m512 t[4][2] = {{g00, g01},
                            {_mm512_add_ps(g00, g10), _mm512_add_ps(g01, g11)},
                            {_mm512_sub_ps(g00, g10), _mm512_sub_ps(g01, g11)},
                            {_mm512_sub_ps(_mm512_setzero_ps(), g10), _mm512_sub_ps(_mm512_setzero_ps(), g11)}};
    for (int a = 0; a < 4; a++) { /* (A g) A^T: columns */
        out[4 * a] = t[a][0];
        out[4 * a + 1] = _mm512_add_ps(t[a][0], t[a][1]);
        out[4 * a + 2] = _mm512_sub_ps(t[a][0], t[a][1]);
        out[4 * a + 3] = _mm512_sub_ps(_mm512_setzero_ps(), t[a][1]);
    }
}

/* GY[e][t][o..o+15] = (A g A^T)[e] for the tiles t of tile rows [ti0, ti1),
 * g the 2x2 block of Q at (2 ti, 2 tj); positions a line more than their
 * rows apart, as V's (conv_winograd_cl.c's cl_input). */
X16 static void gy_tiles16(const float *Q, const wgd *d, int64_t ch, int64_t ti0, int64_t ti1, float *GY) {
    const int64_t es = (ti1 - ti0) * d->tw * ch + 16, row = d->qw * ch;
    for (int64_t ti = ti0; ti < ti1; ti++)
        for (int64_t tj = 0; tj < d->tw; tj++) {
            const float *q = Q + (2 * ti * d->qw + 2 * tj) * ch;
            float *v = GY + ((ti - ti0) * d->tw + tj) * ch;
            for (int64_t c = 0; c < ch; c += 16) {
                __m512 out[POSITIONS];
                gy_positions(_mm512_loadu_ps(q + c), _mm512_loadu_ps(q + ch + c), _mm512_loadu_ps(q + row + c),
                             _mm512_loadu_ps(q + row + ch + c), out);
                for (int e = 0; e < POSITIONS; e++) _mm512_storeu_ps(v + e * es + c, out[e]);
            }
        }
}

/* With 16 input channels (blocks of tile rows), GY is instead
 * GY[e][t / 16][o][t % 16] (positions oc * 16 * ceil(n / 16) + 16 floats
 * apart), straight from the channel-first gy with 16 tiles in the lanes:
 * no channel-last plane Q and none of its 16x16 transposes. The product
 * reads GY by broadcasts, which serve from any layout; this one keeps the
 * 16 output channels of a tile at constant offsets.
 *
 * cnt lanes of v to tiles t0 .. t0+cnt-1 of output channel o's rows. They never straddle two
 * chunks of 16: a block of several tile rows has at most 16 tiles (block_rows: rows x tw x 32 <=
 * 512 floats), and a block of one row starts its runs of 16 at multiples of 16. */
X16_INLINE void tl_store(float *ge, int64_t oc, int64_t o, int64_t t0, int cnt, __m512 v) {
    _mm512_mask_storeu_ps(ge + (t0 / 16 * oc + o) * 16 + t0 % 16, (__mmask16)((1u << cnt) - 1), v);
}

/* GY (tl layout) = (A g A^T)[e] for the tiles of tile rows [ti0, ti1) of one image's gy [oc][oh][ow]:
 * per output channel and tile row, 16 tiles at a time, a tile's 2x2 g from two rows' even and odd
 * columns (zero past gy); gy_positions as gy_tiles16. */
X16 static void gy_tiles_tl(const float *gy, const dl_conv2d_geom *g, const wgd *d, int64_t ti0, int64_t ti1,
                            float *GY) {
    const int64_t oc = g->oc, n = (ti1 - ti0) * d->tw, es = tl_stride(n, oc);
    const __m512i ev = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i od = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    for (int64_t o = 0; o < oc; o++)
        for (int64_t ti = ti0; ti < ti1; ti++)
            for (int64_t tj = 0; tj < d->tw; tj += 16) {
                const int64_t vc = g->ow - 2 * tj < 32 ? g->ow - 2 * tj : 32;
                const __mmask16 lo = (__mmask16)(vc >= 16 ? 0xffff : (1u << vc) - 1);
                const __mmask16 hi = (__mmask16)(vc >= 32 ? 0xffff : vc > 16 ? (1u << (vc - 16)) - 1 : 0);
                const float *r0 = gy + (o * g->oh + 2 * ti) * g->ow + 2 * tj, *r1 = r0 + g->ow;
                const __m512 a0 = _mm512_maskz_loadu_ps(lo, r0), a1 = _mm512_maskz_loadu_ps(hi, r0 + 16);
                __m512 b0 = _mm512_setzero_ps(), b1 = _mm512_setzero_ps();
                if (2 * ti + 1 < g->oh) b0 = _mm512_maskz_loadu_ps(lo, r1), b1 = _mm512_maskz_loadu_ps(hi, r1 + 16);
                __m512 out[POSITIONS];
                gy_positions(_mm512_permutex2var_ps(a0, ev, a1), _mm512_permutex2var_ps(a0, od, a1),
                             _mm512_permutex2var_ps(b0, ev, b1), _mm512_permutex2var_ps(b0, od, b1), out);
                const int64_t t0 = (ti - ti0) * d->tw + tj;
                const int cnt = d->tw - tj < 16 ? (int)(d->tw - tj) : 16;
                for (int e = 0; e < POSITIONS; e++) tl_store(GY + e * es, oc, o, t0, cnt, out[e]);
            }
}

/* W[o0 .. o0+R)[c0 .. c0+32) += sum_t GY[t][o] V[t][c] over n tiles (rows oc and c floats long). */
X16_INLINE void product_rows(const float *GY, const float *V, int64_t n, int64_t oc, int64_t c, int64_t o0,
                             int64_t c0, float *W, const int R) {
    __m512 acc[12][2];
#pragma GCC unroll 12
    for (int i = 0; i < R; i++)
        acc[i][0] = _mm512_loadu_ps(W + (o0 + i) * c + c0), acc[i][1] = _mm512_loadu_ps(W + (o0 + i) * c + c0 + 16);
    for (int64_t t = 0; t < n; t++) {
        const __m512 v0 = _mm512_loadu_ps(V + t * c + c0), v1 = _mm512_loadu_ps(V + t * c + c0 + 16);
        const float *gr = GY + t * oc + o0;
#pragma GCC unroll 12
        for (int i = 0; i < R; i++) {
            const __m512 b = _mm512_set1_ps(gr[i]);
            acc[i][0] = _mm512_fmadd_ps(b, v0, acc[i][0]), acc[i][1] = _mm512_fmadd_ps(b, v1, acc[i][1]);
        }
    }
#pragma GCC unroll 12
    for (int i = 0; i < R; i++)
        _mm512_storeu_ps(W + (o0 + i) * c + c0, acc[i][0]), _mm512_storeu_ps(W + (o0 + i) * c + c0 + 16, acc[i][1]);
}

X16 static void product12(const float *GY, const float *V, int64_t n, int64_t oc, int64_t c, int64_t o0, int64_t c0,
                          float *W) {
    product_rows(GY, V, n, oc, c, o0, c0, W, 12);
}
X16 static void product8(const float *GY, const float *V, int64_t n, int64_t oc, int64_t c, int64_t o0, int64_t c0,
                         float *W) {
    product_rows(GY, V, n, oc, c, o0, c0, W, 8);
}
X16 static void product4(const float *GY, const float *V, int64_t n, int64_t oc, int64_t c, int64_t o0, int64_t c0,
                         float *W) {
    product_rows(GY, V, n, oc, c, o0, c0, W, 4);
}

/* W[o0 .. o0+16)[c0 .. c0+16) += sum_t GY[t][o] V[t][c]: the last 16
 * input channels of c = 16 (mod 32), one accumulator per output channel, a
 * load of V[t] and 16 broadcasts of GY[t] (memory operands) per tile. */
X16_INLINE void product16x16(const float *GY, const float *V, int64_t n, int64_t oc, int64_t c, int64_t o0,
                             int64_t c0, float *W) {
    __m512 acc[16];
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++) acc[i] = _mm512_loadu_ps(W + (o0 + i) * c + c0);
    for (int64_t t = 0; t < n; t++) {
        const __m512 v = _mm512_loadu_ps(V + t * c + c0);
        const float *gr = GY + t * oc + o0;
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++) acc[i] = _mm512_fmadd_ps(_mm512_set1_ps(gr[i]), v, acc[i]);
    }
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++) _mm512_storeu_ps(W + (o0 + i) * c + c0, acc[i]);
}

/* product16x16 for 16 input channels and GY's tl layout: W[o0 .. o0+16)[0 .. 16) += sum_t GY[t][o] V[t],
 * GY's 16 output channels of a tile at constant offsets from one pointer (product16x16's call set
 * up 16 row addresses, a third of its work on a block's 16 tiles). */
X16_INLINE void product16_tl(const float *GY, const float *V, int64_t n, int64_t oc, int64_t o0, float *W) {
    __m512 acc[16];
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++) acc[i] = _mm512_loadu_ps(W + (o0 + i) * 16);
    for (int64_t t0 = 0; t0 < n; t0 += 16) {
        const float *gc = GY + (t0 / 16 * oc + o0) * 16, *vt = V + t0 * 16;
        const int64_t m = n - t0 < 16 ? n - t0 : 16;
        for (int64_t l = 0; l < m; l++) {
            const __m512 v = _mm512_loadu_ps(vt + l * 16);
#pragma GCC unroll 16
            for (int i = 0; i < 16; i++) acc[i] = _mm512_fmadd_ps(_mm512_set1_ps(gc[i * 16 + l]), v, acc[i]);
        }
    }
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++) _mm512_storeu_ps(W + (o0 + i) * 16, acc[i]);
}

/* W[e] += GY[e]^T V[e] for the 16 positions of n tiles. */
X16 static void products(const dl_conv2d_geom *g, int64_t n, const float *GY, const float *V, float *W) {
    const int64_t oc = g->oc, c = g->c;
    if (c == 16) { /* blocks of tile rows: GY in the tl layout */
        for (int e = 0; e < POSITIONS; e++)
            for (int64_t o0 = 0; o0 < oc; o0 += 16)
                product16_tl(GY + e * tl_stride(n, oc), V + e * (n * 16 + 16), n, oc, o0, W + e * oc * 16);
        return;
    }
    for (int e = 0; e < POSITIONS; e++) {
        const float *ge = GY + e * (n * oc + 16), *ve = V + e * (n * c + 16);
        float *we = W + e * oc * c;
        int64_t c0 = 0;
        for (; c0 + 32 <= c; c0 += 32) {
            int64_t o0 = 0;
            for (; o0 + 12 <= oc && oc - o0 != 16; o0 += 12) product12(ge, ve, n, oc, c, o0, c0, we);
            for (; o0 + 8 <= oc; o0 += 8) product8(ge, ve, n, oc, c, o0, c0, we);
            for (; o0 < oc; o0 += 4) product4(ge, ve, n, oc, c, o0, c0, we);
        }
        if (c0 < c)
            for (int64_t o0 = 0; o0 < oc; o0 += 16) product16x16(ge, ve, n, oc, c, o0, c0, we);
    }
}

/* W (zeroed here) = the sum over images [i0, i1) in order. */
static void group_sum(const dl_conv2d_geom *g, const wgd *d, const float *x, const float *gy, int64_t i0, int64_t i1,
                      float *W, float *P, float *Q, float *V, float *GY) {
    /* gy's plane as an unpadded input of oc channels, for dl_wg_cl_planes */
    const dl_conv2d_geom gq = {.n = 1, .c = g->oc, .h = g->oh, .w = g->ow};
    memset(W, 0, sizeof(float) * (size_t)d->wf);
    for (int64_t i = i0; i < i1; i++) {
        dl_wg_cl_planes(g, x + i * g->c * g->h * g->w, P, d->pw);
        if (g->c != 16) dl_wg_cl_planes(&gq, gy + i * g->oc * g->oh * g->ow, Q, d->qw);
        for (int64_t r0 = 0; r0 < d->th; r0 += d->rows) {
            const int64_t r1 = r0 + d->rows < d->th ? r0 + d->rows : d->th, n = (r1 - r0) * d->tw;
            dl_wg_cl_input2(g, P + 2 * r0 * d->pw * g->c, d->pw, d->tw, n, V);
            if (g->c == 16) gy_tiles_tl(gy + i * g->oc * g->oh * g->ow, g, d, r0, r1, GY);
            else gy_tiles16(Q, d, g->oc, r0, r1, GY);
            products(g, n, GY, V, W);
        }
    }
}

/* The parts of the plane P past the input (bottom rows and right columns
 * beyond h + pt, w + pl) that dl_wg_cl_planes never writes must be zero, and
 * so must those of Q past gy: the whole buffers are zeroed once per call. */
int dl_wg_wgrad16(const dl_conv2d_geom *g, const float *x, const float *gy, float *gw) {
    const wgd d = dims(g);
    const int64_t groups = g->n < WG_GROUPS ? (g->n > 0 ? g->n : 1) : WG_GROUPS;
    int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
    if (nt > groups) nt = (int)groups;
    const int64_t part = lines(d.wf), each = d.pf + d.qf + lines(d.vf) + lines(d.gf);
    float *buf = dl_scratch(DL_SCRATCH_WINOGRAD, groups * part + nt * each);
    if (!buf) return -1;
    float *slots = buf + groups * part;
    /* Rows of P beyond the input: the input may not reach the last tile's rows (h + pt < ph). */
    memset(slots, 0, sizeof(float) * (size_t)(nt * each));
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t k = 0; k < groups; k++) {
        float *s = slots + omp_get_thread_num() * each;
        float *P = s, *Q = P + d.pf, *V = Q + d.qf, *GY = V + lines(d.vf);
        group_sum(g, &d, x, gy, g->n * k / groups, g->n * (k + 1) / groups, buf + k * part, P, Q, V, GY);
    }
    for (int64_t k = 1; k < groups; k++) /* in group order, whoever summed them */
        for (int64_t i = 0; i < d.wf; i++) buf[i] += buf[k * part + i];
    dl_wg_inverse_weights(buf, g->oc * g->c, g->oc, g->c, gw);
    return 0;
}
#else
int dl_wg_wgrad16_fits(const dl_conv2d_geom *g) {
    (void)g;
    return 0;
}
int dl_wg_wgrad16_pays(const dl_conv2d_geom *g) {
    (void)g;
    return 0;
}
int dl_wg_wgrad16(const dl_conv2d_geom *g, const float *x, const float *gy, float *gw) {
    (void)g, (void)x, (void)gy, (void)gw;
    return 0;
}
#endif
