/* conv_winograd_c16.c — ResNet-20's 16-channel stage (3x3, stride 1, pad 1,
 * 16 -> 16 channels) at batch >= 2 on F(2x2, 3x3) with the 16 CHANNELS in
 * the vector lanes, forward and (through conv.c's flipped weights) the
 * stride-1 data gradient.
 *
 * Why: the direct row kernels (conv_direct_rows.c) do 576 multiply-adds per
 * 2x2 output tile and 16 output channels, F(2x2) 256. Earlier Winograd tries
 * on this stage lost: tiles in the lanes needs a broadcast of U per FMA, and
 * conv_winograd_cl.c's batch-1 kernels pay a plane transpose and products of
 * 6 tiles x 1 vector. Here C = OC = 16, so one position's U^T[c][oc] is 16
 * vectors: they stay in registers while the tiles stream past, 8 tiles at a
 * time, each multiply-add taking its V[t][c] as a memory-operand broadcast
 * (acc[t] += bcast(V[e][t][c]) * U^T[e][c]): 16 vector loads of U per 16 x
 * (tiles) FMAs, no packing.
 *
 * Per image (one thread each, the images split over threads as conv.c does,
 * so every thread count gives the same bits):
 *   P[y][x][c]    = x[c][y - 1][x - 1] (zero border)          conv_winograd_cl.c's transpose in
 * then per block of BLOCK_ROWS tile rows (V and M stay in L1/L2):
 *   V[t][e][c]    = (B^T d(t) B)[e]                           16 positions, a tile's contiguous
 *   M[t][e][oc]   = sum_c V[t][e][c] U^T[e][c][oc]            the register-resident product
 *   O[y][x][oc]   = A^T M A                                   2x2 per tile
 *   y[oc][y][x]   = O                                         16x16 transposes
 * and the epilogue per image. Each output is one fixed sum over c in order.
 * U^T is computed per call (256 filters, negligible at batch >= 2).
 * AVX-512 only, chosen at run time; elsewhere conv.c's other paths run. */
#pragma GCC optimize("O3", "fp-contract=fast")
#include <omp.h>
#include <string.h>

#include "conv_winograd_c16_internal.h"
#include "conv_winograd_cl_internal.h"
#include "conv_winograd_internal.h"
#include "scratch_internal.h"

enum {
    C16 = 16,       /* channels, both sides */
    E16 = 16,       /* F(2x2)'s positions */
    GROUP = 8,      /* tiles per product group: 8 accumulators + 16 U vectors in registers */
    BLOCK_TILES = 16 /* tiles per block at most (whole tile rows, at least one row) */
};

static int c16_on = 1;
static int64_t c16_min_batch = 2;

int dl_wg_c16_enable(int on) {
    int was = c16_on;
    c16_on = on;
    return was;
}

/* The block's rows of tiles and its tiles rounded up to GROUP. */
static int64_t block_rows(int64_t tw) { return tw >= BLOCK_TILES ? 1 : BLOCK_TILES / tw; }
static int64_t block_pad(int64_t tw) { return (block_rows(tw) * tw + GROUP - 1) / GROUP * GROUP; }
/* Floats of the block's V (and of its M): tiles of 16 positions x 16 channels. */
static int64_t block_floats(int64_t tw) { return block_pad(tw) * E16 * C16; }

/* One thread's floats: P, V, M and the block's O (64-byte multiples). */
static int64_t thread_floats(const dl_conv2d_geom *g) {
    const int64_t tw = g->ow / 2, p = (g->h + 2) * (g->w + 2) * C16;
    const int64_t v = block_floats(tw), o = 2 * block_rows(tw) * g->ow * C16;
    return (p + 15) / 16 * 16 + 2 * v + (o + 15) / 16 * 16;
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>

#include "conv_winograd_cl_tiles.h"
#define C16F __attribute__((target("avx512f")))
#define C16_INLINE static inline __attribute__((always_inline, target("avx512f")))

int dl_wg_c16_applies(const dl_conv2d_geom *g) {
    if (!c16_on || g->n < c16_min_batch || g->c != C16 || g->oc != C16 || !dl_conv_winograd_fits(g)) return 0;
    if (g->pt != 1 || g->pb != 1 || g->pl != 1 || g->pr != 1 || g->h % 2 || g->w % 2) return 0;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
}

/* (B^T d)[a] for one pixel column of a tile row: d its 4 pixels from p (rows pw pixels apart). */
C16_INLINE void column_bt(const float *p, int64_t pw, __m512 s[4]) {
    const __m512 d0 = _mm512_loadu_ps(p), d1 = _mm512_loadu_ps(p + pw * C16);
    const __m512 d2 = _mm512_loadu_ps(p + 2 * pw * C16), d3 = _mm512_loadu_ps(p + 3 * pw * C16);
    s[0] = _mm512_sub_ps(d0, d2);
    s[1] = _mm512_add_ps(d1, d2);
    s[2] = _mm512_sub_ps(d2, d1);
    s[3] = _mm512_sub_ps(d1, d3);
}

/* V[t][e][c] of one tile row's tw tiles from P at its top-left pixel p:
 * in_tile2's arithmetic (the same bits), each column's B^T d computed once
 * for the two tiles that share it (tiles 2 pixels apart, 4 wide). */
C16F static void c16_input_row(const float *p, int64_t pw, int64_t tw, float *v) {
    __m512 a0[4], a1[4];
    column_bt(p, pw, a0);
    column_bt(p + C16, pw, a1);
    for (int64_t tj = 0; tj < tw; tj++, v += E16 * C16) {
        __m512 b0[4], b1[4];
        column_bt(p + (2 * tj + 2) * C16, pw, b0);
        column_bt(p + (2 * tj + 3) * C16, pw, b1);
        for (int a = 0; a < 4; a++) { /* (B^T d) B: columns */
            _mm512_storeu_ps(v + (4 * a + 0) * C16, _mm512_sub_ps(a0[a], b0[a]));
            _mm512_storeu_ps(v + (4 * a + 1) * C16, _mm512_add_ps(a1[a], b0[a]));
            _mm512_storeu_ps(v + (4 * a + 2) * C16, _mm512_sub_ps(b0[a], a1[a]));
            _mm512_storeu_ps(v + (4 * a + 3) * C16, _mm512_sub_ps(a1[a], b1[a]));
            a0[a] = b0[a], a1[a] = b1[a];
        }
    }
}

/* M[t][e][oc] for the block's nt (a multiple of GROUP) tiles from V[t][e][c]:
 * each tile's 16 positions contiguous, so the 8 tiles of a group are fixed
 * offsets from one pointer and the transforms read and write whole tiles. */
C16F static void c16_products(const float *V, const float *UT, float *M, int64_t nt) {
    enum { TS = E16 * C16 }; /* floats per tile */
    for (int e = 0; e < E16; e++) {
        __m512 u[C16];
#pragma GCC unroll 16
        for (int c = 0; c < C16; c++) u[c] = _mm512_loadu_ps(UT + (e * C16 + c) * C16);
        for (int64_t t0 = 0; t0 < nt; t0 += GROUP) {
            const float *v = V + t0 * TS + e * C16;
            float *m = M + t0 * TS + e * C16;
            __m512 acc[GROUP];
#pragma GCC unroll 8
            for (int i = 0; i < GROUP; i++) acc[i] = _mm512_mul_ps(_mm512_set1_ps(v[i * TS]), u[0]);
#pragma GCC unroll 16
            for (int c = 1; c < C16; c++)
#pragma GCC unroll 8
                for (int i = 0; i < GROUP; i++) acc[i] = _mm512_fmadd_ps(_mm512_set1_ps(v[i * TS + c]), u[c], acc[i]);
#pragma GCC unroll 8
            for (int i = 0; i < GROUP; i++) _mm512_storeu_ps(m + i * TS, acc[i]);
        }
    }
}

/* y[oc][p0 + i] = O[i][oc] for np pixels (a plane hw floats per channel). */
C16F static void c16_transpose_out(const float *O, int64_t np, float *y, int64_t p0, int64_t hw) {
    for (int64_t b = 0; b < np; b += 16) {
        const int64_t k = np - b < 16 ? np - b : 16;
        const __mmask16 mk = (__mmask16)(k >= 16 ? 0xffff : (1u << k) - 1);
        __m512 r[16];
        for (int i = 0; i < 16; i++) r[i] = i < k ? _mm512_loadu_ps(O + (b + i) * C16) : _mm512_setzero_ps();
        transpose16(r);
        for (int i = 0; i < 16; i++) _mm512_mask_storeu_ps(y + i * hw + p0 + b, mk, r[i]);
    }
}

/* One image: x [16][h][w] -> y [16][h][w], block by block. */
C16F static void c16_image(const dl_conv2d_geom *g, const float *x, const float *UT, float *y, float *buf) {
    const int64_t pw = g->w + 2, tw = g->ow / 2, th = g->oh / 2, br = block_rows(tw), TS = E16 * C16;
    float *P = buf, *V = P + ((g->h + 2) * pw * C16 + 15) / 16 * 16, *M = V + block_floats(tw);
    float *O = M + block_floats(tw);
    dl_wg_cl_planes(g, x, P, pw);
    for (int64_t r0 = 0; r0 < th; r0 += br) {
        const int64_t rows = th - r0 < br ? th - r0 : br, nt = rows * tw;
        for (int64_t r = 0; r < rows; r++) c16_input_row(P + 2 * (r0 + r) * pw * C16, pw, tw, V + r * tw * TS);
        c16_products(V, UT, M, (nt + GROUP - 1) / GROUP * GROUP);
        for (int64_t r = 0; r < rows; r++)
            for (int64_t tj = 0; tj < tw; tj++)
                out_tile2(M + (r * tw + tj) * TS, C16, g->ow, C16, O + (2 * r * g->ow + 2 * tj) * C16);
        c16_transpose_out(O, 2 * rows * g->ow, y, 2 * r0 * g->ow, g->oh * g->ow);
    }
}

/* A thread's buffer: P's border and V's padding tiles zero (never written after). */
static void c16_clear(const dl_conv2d_geom *g, float *buf) { memset(buf, 0, sizeof(float) * (size_t)thread_floats(g)); }

int dl_wg_c16_forward(const dl_conv2d_geom *g, const float *x, const float *w, float *y, dl_conv_epilogue ep,
                      void *ctx) {
    const int64_t uf = (dl_wg_cl_u_floats(g, 2) + 15) / 16 * 16, tf = thread_floats(g);
    const int64_t in = g->c * g->h * g->w, out = g->oc * g->oh * g->ow;
    int nt = omp_get_max_threads();
    if (g->n < 2 || nt < 2 || omp_in_parallel()) nt = 1;
    if (nt > g->n) nt = (int)g->n;
    float *UT = dl_scratch(DL_SCRATCH_WINOGRAD, uf + tf * nt);
    if (!UT) return -1;
    dl_wg_cl_weights(g, 2, w, UT);
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        float *buf = UT + uf + omp_get_thread_num() * tf;
        c16_clear(g, buf);
#pragma omp for schedule(static)
        for (int64_t i = 0; i < g->n; i++) {
            c16_image(g, x + i * in, UT, y + i * out, buf);
            if (ep) ep(ctx, i, y + i * out);
        }
    }
    return 0;
}
#else
int dl_wg_c16_applies(const dl_conv2d_geom *g) {
    (void)g;
    return 0;
}

int dl_wg_c16_forward(const dl_conv2d_geom *g, const float *x, const float *w, float *y, dl_conv_epilogue ep,
                      void *ctx) {
    (void)g, (void)x, (void)w, (void)y, (void)ep, (void)ctx, (void)thread_floats;
    return -1;
}
#endif

int64_t dl_wg_c16_min_batch(int64_t n) {
    const int64_t was = c16_min_batch;
    c16_min_batch = n < 2 ? 2 : n;
    return was;
}
