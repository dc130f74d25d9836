/* conv_winograd_cl.c — batch-1 F(2x2, 3x3) and F(4x4, 3x3) with 16
 * CHANNELS to a vector (ResNet-20's 64-channel 8x8 stage on F(2x2), its
 * 32-channel 16x16 stage on F(4x4)).
 *
 * Why: conv_winograd.c puts 16 tiles in a vector. At batch 1 an 8x8 plane
 * has exactly 16 tiles, so each position's product M[oc x 16] = U @ V is
 * one vector wide: every multiply-add needs its own broadcast of U, and
 * conv_winograd_product.c's kernel runs at ~80% of the FMA peak. With
 * channels in the lanes the product is M^T[16 tiles x OC] = V^T @ U^T,
 * register tiles of 6 tiles x 4 channel vectors: 10 loads per 24 FMAs
 * (branch r1b measured 4 x 4 tiles at 8.5 against 9.7 us a layer,
 * docs/results/r1b_product_panels_mb.c). The transforms then work on whole
 * vectors of channels with no shuffles; what it costs is a 16x16 transpose
 * of the input plane into pixel-major order and one of the output back.
 * ResNet-20's forward with this and conv_pad_rows.c measured 0.89 of before
 * (docs/performance.md, "ResNet-20 batch-1 inference: channels in the
 * vector lanes"); the 16-channel stage measured slower this way and is
 * left to conv_winograd.c (dl_wg_cl_applies).
 *
 *   P[y][x][c]      = x[c][y - pt][x - pl] (zero outside)     transpose in
 *   V[e][t][c]      = (B^T d(t) B)[e]                         d: P's (m+2)^2 at (m ti, m tj)
 *   M[e][t][oc]     = sum_c V[e][t][c] U^T[e][c][oc]          U^T kept per weights version
 *   O[y][x][oc]     = (A^T M[.][t][oc] A)                     m x m per tile
 *   y[oc][y][x]     = a(O)                                     transpose out + affine
 *
 * The affine a (dl_conv_affine: a batch norm's scale and shift, a residual,
 * a clamp) is applied to each 16-pixel x 16-channel block while it is in
 * registers after the transpose out, so the conv output is never written
 * and read back (it was pw_affine_ep*, 5.8% of ResNet-20's batch-1
 * forward); without a, y = O and the caller's epilogue runs after.
 *
 * Split over threads (dl_wg_cl_threads: from 4 tile rows a thread, so not
 * ResNet-20's 8x8 and 16x16 planes), thread t takes a contiguous range of
 * tile rows and runs all five steps on it with no barrier: its input rows
 * plus the two halo rows (transposed again into its own slab of P), its
 * tiles' V and M at every position, its output rows. Each output is the sum
 * over channels in order, computed the same way at any thread count. (The
 * split it replaces cut each step a different way with 4 barriers, every
 * step's data crossing cores: slower than 1 thread, docs/performance.md.)
 *
 * Same B, G, A as conv_winograd.c (F(4x4)'s formulas from
 * conv_winograd4_math.h). AVX-512 only, chosen at run time;
 * elsewhere, and after dl_wg_cl_enable(0) (the tests), conv_winograd.c
 * runs. */
#pragma GCC optimize("O3", "fp-contract=fast")
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "conv_winograd_cl_internal.h"
#include "conv_pointwise_internal.h"
#include "conv_winograd4_math.h"
#include "conv_winograd_internal.h"
#include "scratch_internal.h"

/* Positions of F(m x m, 3x3): (m + 2)^2. */
static int64_t positions(int m) { return (int64_t)(m + 2) * (m + 2); }

/* Floats from one position's V (M) to the next: a cache line more than the
 * rows, or the 16 streams the transforms write (read) fall into the same
 * cache sets whenever T * C is a multiple of 1024, as at ResNet's 16 tiles
 * x 64 channels (conv_winograd.c's dims_of found the same). */
static int64_t stride_of(int64_t T, int64_t C) { return T * C + 16; }

static int cl_on = 1;

int dl_wg_cl_enable(int on) {
    int was = cl_on;
    cl_on = on;
    return was;
}

/* U^T's floats, then room for conv_winograd.c's U (the transform's input). */
static int64_t u_plain(const dl_conv2d_geom *g, int m) { return dl_conv_winograd_u_floats(g, m); }
int64_t dl_wg_cl_u_floats(const dl_conv2d_geom *g, int m) { return positions(m) * g->c * g->oc + u_plain(g, m); }

/* UT[e][ci][o] from conv_winograd.c's U[e * us + o * c + ci] (its us: the
 * floats per position). */
void dl_wg_cl_weights(const dl_conv2d_geom *g, int m, const float *w, float *UT) {
    const int64_t E = positions(m), us = u_plain(g, m) / E;
    float *U = UT + E * g->c * g->oc;
    dl_conv_winograd_weights(g, m, w, U);
    for (int64_t e = 0; e < E; e++)
        for (int64_t ci = 0; ci < g->c; ci++)
            for (int64_t o = 0; o < g->oc; o++) UT[(e * g->c + ci) * g->oc + o] = U[e * us + o * g->c + ci];
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>
#define CL __attribute__((target("avx512f")))
#include "conv_winograd_cl_tiles.h"

/* F(2x2) where conv_winograd.c would take it; F(4x4) only where it takes
 * F(4x4) with 32 or more channels on both sides: with 16 output channels
 * the product is one vector wide again (the 16-channel stage keeps
 * conv_winograd.c's tiles-in-lanes F(4x4), its products at ~90% of peak). */
int dl_wg_cl_applies(const dl_conv2d_geom *g) {
    if (!cl_on || g->n != 1 || g->c % 16 || g->oc % 16 || !dl_conv_winograd_fits(g)) return 0;
    const int m = dl_conv_winograd_tile(g);
    if (g->oh % m || g->ow % m || (m == 4 && (g->c < 32 || g->oc < 32))) return 0;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") ? m : 0;
}

/* Pixels [p0, p0 + 16) (flat, fewer at the plane's end) of 16 channel planes
 * from src (planes sp apart) transposed: pixel p's 16 channels to
 * dst + at(p) (a float offset). */
CL_INLINE void block_in(const float *src, int64_t sp, int64_t np, float *dst, const int64_t at[16]) {
    const __mmask16 m = (__mmask16)(np >= 16 ? 0xffff : (1u << np) - 1);
    __m512 r[16];
    for (int i = 0; i < 16; i++) r[i] = _mm512_maskz_loadu_ps(m, src + i * sp);
    transpose16(r);
    for (int i = 0; i < np; i++) _mm512_storeu_ps(dst + at[i], r[i]);
}

/* Rows [xr0, xr1) of x [C][h][w] into P, whose first row is the padded
 * plane's row R0 (x's row r is padded row r + pt; pw pixels of C floats a
 * row): blocks of 16 pixels (flat) from pixel xr0 * w. */
CL static void cl_transpose_in(const dl_conv2d_geom *g, const float *x, float *P, int64_t pw, int64_t R0,
                               int64_t xr0, int64_t xr1) {
    const int64_t hw = g->h * g->w, end = xr1 * g->w, groups = g->c / 16;
    for (int64_t p0 = xr0 * g->w; p0 < end; p0 += 16) {
        const int64_t np = end - p0 < 16 ? end - p0 : 16;
        int64_t at[16], r = p0 / g->w, q = p0 % g->w; /* pixel p0 + i's place in P, row by row */
        for (int i = 0; i < np; i++) {
            at[i] = ((r + g->pt - R0) * pw + q + g->pl) * g->c;
            if (++q == g->w) q = 0, r++;
        }
        for (int64_t cg = 0; cg < groups; cg++) block_in(x + cg * 16 * hw + p0, hw, np, P + cg * 16, at);
    }
}

/* F(4x4)'s, from its 6x6 pixels. */
CL_INLINE void in_tile4(const float *p, int64_t pw, int64_t C, float *v, int64_t vs) {
    __m512 tk[6][6]; /* tk[k][a] = (B^T d)[a][k] */
    for (int k = 0; k < 6; k++) {
        __m512 d[6];
        for (int q = 0; q < 6; q++) d[q] = _mm512_loadu_ps(p + (q * pw + k) * C);
        WG4_BT6(d, tk[k]);
    }
    for (int a = 0; a < 6; a++) {
        __m512 row[6] = {tk[0][a], tk[1][a], tk[2][a], tk[3][a], tk[4][a], tk[5][a]}, o[6];
        WG4_BT6(row, o);
        for (int b = 0; b < 6; b++) _mm512_storeu_ps(v + (6 * a + b) * vs, o[b]);
    }
}

/* V[e][t][c] (T tiles, rows of tw) of tile rows [r0, r1), from P whose
 * first row is the padded plane's row m * r0. */
CL static void cl_input(const dl_conv2d_geom *g, int m, const float *P, int64_t pw, int64_t tw, int64_t T, float *V,
                        int64_t r0, int64_t r1) {
    const int64_t C = g->c, vs = stride_of(T, C);
    for (int64_t ti = r0; ti < r1; ti++)
        for (int64_t tj = 0; tj < tw; tj++)
            for (int64_t c0 = 0; c0 < C; c0 += 16) {
                const float *p = P + ((m * (ti - r0)) * pw + m * tj) * C + c0;
                float *v = V + (ti * tw + tj) * C + c0;
                if (m == 4) in_tile4(p, pw, C, v, vs);
                else in_tile2(p, pw, C, v, vs);
            }
}

/* For conv_winograd_wgrad.c (conv_winograd_cl_internal.h): the same
 * transpose in and F(2x2) input transform on one thread. */
CL void dl_wg_cl_planes(const dl_conv2d_geom *g, const float *x, float *P, int64_t pw) {
    cl_transpose_in(g, x, P, pw, 0, 0, g->h);
}
CL void dl_wg_cl_input2(const dl_conv2d_geom *g, const float *P, int64_t pw, int64_t tw, int64_t T, float *V) {
    cl_input(g, 2, P, pw, tw, T, V, 0, T / tw);
}

/* F(4x4)'s 4x4 outputs. */
CL_INLINE void out_tile4(const float *m, int64_t ms, int64_t ow, int64_t OC, float *out) {
    __m512 s[4][6]; /* s[a][b] = (A^T m)[a][b] */
    for (int b = 0; b < 6; b++) {
        __m512 col[6], o[4];
        for (int i = 0; i < 6; i++) col[i] = _mm512_loadu_ps(m + (6 * i + b) * ms);
        WG4_AT6(col, o);
        for (int a = 0; a < 4; a++) s[a][b] = o[a];
    }
    for (int a = 0; a < 4; a++) {
        __m512 c[4];
        WG4_AT6(s[a], c);
        for (int j = 0; j < 4; j++) _mm512_storeu_ps(out + (a * ow + j) * OC, c[j]);
    }
}

/* O[y][x][oc] (ow pixels a row) = A^T M A of tile rows [r0, r1). */
CL static void cl_output(const dl_conv2d_geom *g, int m, const float *M, int64_t tw, int64_t T, float *O, int64_t r0,
                         int64_t r1) {
    const int64_t OC = g->oc, ms = stride_of(T, OC);
    for (int64_t ti = r0; ti < r1; ti++)
        for (int64_t tj = 0; tj < tw; tj++)
            for (int64_t o0 = 0; o0 < OC; o0 += 16) {
                const float *mt = M + (ti * tw + tj) * OC + o0;
                float *o = O + ((m * ti) * g->ow + m * tj) * OC + o0;
                if (m == 4) out_tile4(mt, ms, g->ow, OC, o);
                else out_tile2(mt, ms, g->ow, OC, o);
            }
}

/* M[MT x NV*16] of one position = V[MT x C] @ UT[C x NV*16] (rows C and OC apart). */
CL_INLINE void cl_tile(const int MT, const int NV, int64_t C, int64_t OC, const float *v, const float *ut, float *m) {
    __m512 acc[6][4];
    for (int i = 0; i < MT; i++)
        for (int j = 0; j < NV; j++) acc[i][j] = _mm512_setzero_ps();
    for (int64_t c = 0; c < C; c++) {
        __m512 u[4];
        for (int j = 0; j < NV; j++) u[j] = _mm512_loadu_ps(ut + c * OC + 16 * j);
        for (int i = 0; i < MT; i++) {
            const __m512 x = _mm512_set1_ps(v[i * C + c]);
            for (int j = 0; j < NV; j++) acc[i][j] = _mm512_fmadd_ps(x, u[j], acc[i][j]);
        }
    }
    for (int i = 0; i < MT; i++)
        for (int j = 0; j < NV; j++) _mm512_storeu_ps(m + i * OC + 16 * j, acc[i][j]);
}

/* Rows [i, i + MT) of one position's product, NV (1 to 4) channel vectors from o. */
#define CL_ROWS(MT, nv, C, OC, v, ut, m)                                         \
    do {                                                                         \
        if ((nv) == 4) cl_tile(MT, 4, C, OC, v, ut, m);                          \
        else if ((nv) == 3) cl_tile(MT, 3, C, OC, v, ut, m);                     \
        else if ((nv) == 2) cl_tile(MT, 2, C, OC, v, ut, m);                     \
        else cl_tile(MT, 1, C, OC, v, ut, m);                                    \
    } while (0)

/* One position's product: tiles of 6 rows x 4 channel vectors (10 loads per
 * 24 FMAs), then 4, 2 and 1 rows (the last 8 rows as 4 + 4, not 6 + 2: a
 * thread's 8 tiles at 2 threads); fewer vectors at the channels' end. Each
 * M element is its sum over c in order whatever the rows' grouping. */
CL_INLINE void cl_position(int64_t T, int64_t C, int64_t OC, const float *v, const float *ut, float *m) {
    for (int64_t o = 0; o < OC; o += 64) {
        const int64_t nv = (OC - o) / 16 >= 4 ? 4 : (OC - o) / 16;
        int64_t i = 0;
        for (; i + 6 <= T && T - i != 8; i += 6) CL_ROWS(6, nv, C, OC, v + i * C, ut + o, m + i * OC + o);
        for (; i + 4 <= T; i += 4) CL_ROWS(4, nv, C, OC, v + i * C, ut + o, m + i * OC + o);
        if (i + 2 <= T) {
            CL_ROWS(2, nv, C, OC, v + i * C, ut + o, m + i * OC + o);
            i += 2;
        }
        if (i < T) CL_ROWS(1, nv, C, OC, v + i * C, ut + o, m + i * OC + o);
    }
}

/* The products of tiles [t0, t0 + nt) (of T) at every position. */
CL static void cl_products(int64_t E, int64_t T, int64_t t0, int64_t nt, int64_t C, int64_t OC, const float *V,
                           const float *UT, float *M) {
    for (int64_t e = 0; e < E; e++)
        cl_position(nt, C, OC, V + e * stride_of(T, C) + t0 * C, UT + e * C * OC, M + e * stride_of(T, OC) + t0 * OC);
}

/* y [OC][oh * ow] from O [oh * ow][OC], pixels [q0, q1): blocks of 16
 * pixels x 16 channels, each finished by a (when not NULL) in registers
 * with dl_affine_rows_isa's formula (conv_pointwise.c's pw_finish, AVX-512
 * copy): fma(t, scale, shift), + residual, then vmaxps lo, vminps hi. */
CL static void cl_transpose_out(const dl_conv2d_geom *g, const float *O, float *y, int64_t q0, int64_t q1,
                                const dl_conv_affine *a) {
    const int64_t hw = g->oh * g->ow, groups = g->oc / 16;
    for (int64_t og = 0; og < groups; og++)
        for (int64_t p0 = q0; p0 < q1; p0 += 16) {
            const int64_t np = q1 - p0 < 16 ? q1 - p0 : 16;
            const __mmask16 m = (__mmask16)(np >= 16 ? 0xffff : (1u << np) - 1);
            __m512 r[16];
            for (int i = 0; i < 16; i++)
                r[i] = i < np ? _mm512_loadu_ps(O + (p0 + i) * g->oc + og * 16) : _mm512_setzero_ps();
            transpose16(r);
            for (int i = 0; i < 16; i++) {
                const int64_t c = og * 16 + i;
                __m512 t = r[i];
                if (a) {
                    t = _mm512_fmadd_ps(t, _mm512_set1_ps(a->scale[c]), _mm512_set1_ps(a->shift[c]));
                    if (a->residual) t = _mm512_add_ps(t, _mm512_maskz_loadu_ps(m, a->residual + c * hw + p0));
                    if (a->clamp) {
                        const __m512 lo = _mm512_set1_ps(a->lo), hi = _mm512_set1_ps(a->hi);
                        DL_CLAMP_ZMM(t, lo, hi);
                    }
                }
                _mm512_mask_storeu_ps(y + c * hw + p0, m, t);
            }
        }
}

/* P's floats outside the input plane (its inside is all written), rows
 * [R0, R1) of the padded plane at P. */
static void zero_border(const dl_conv2d_geom *g, float *P, int64_t R0, int64_t R1, int64_t pw) {
    const size_t px = sizeof(float) * (size_t)g->c;
    for (int64_t r = R0; r < R1; r++) {
        float *row = P + (r - R0) * pw * g->c;
        if (r < g->pt || r >= g->pt + g->h) {
            memset(row, 0, px * (size_t)pw);
            continue;
        }
        memset(row, 0, px * (size_t)g->pl);
        memset(row + (g->pl + g->w) * g->c, 0, px * (size_t)(pw - g->pl - g->w));
    }
}

/* Thread t of tn: the whole pipeline on its own tile rows [r0, r1) (th of
 * them, split evenly in order), no barrier. Its slab of P is the padded
 * rows [m r0, m r1 + 2), its own copy of the two halo rows it shares with
 * the next thread: slab t starts at row m r0 + 2 t of Ps. Its tiles' V and
 * M, its output rows' O and y are its alone; each output is computed by
 * the same code whatever the split, so 1 and 2 threads give the same bits. */
static void cl_run(const dl_conv2d_geom *g, int m, const float *x, const float *UT, float *y,
                   const dl_conv_affine *a, float *Ps, int64_t pw, float *V, float *M, float *O, int t, int tn) {
    const int64_t tw = g->ow / m, th = g->oh / m, T = th * tw;
    const int64_t r0 = th * t / tn, r1 = th * (t + 1) / tn, R0 = m * r0, R1 = m * r1 + 2;
    if (r0 == r1) return;
    float *P = Ps + (R0 + 2 * t) * pw * g->c;
    const int64_t xr0 = R0 - g->pt > 0 ? R0 - g->pt : 0, xr1 = R1 - g->pt < g->h ? R1 - g->pt : g->h;
    zero_border(g, P, R0, R1, pw);
    if (xr0 < xr1) cl_transpose_in(g, x, P, pw, R0, xr0, xr1);
    cl_input(g, m, P, pw, tw, T, V, r0, r1);
    cl_products(positions(m), T, r0 * tw, (r1 - r0) * tw, g->c, g->oc, V, UT, M);
    cl_output(g, m, M, tw, T, O, r0, r1);
    cl_transpose_out(g, O, y, R0 * g->ow, m * r1 * g->ow, a);
}

/* At least 4 tile rows a thread. Measured (docs/performance.md, "branch
 * b1cl"; one layer called in a loop, 1 against 2 threads): 64 channels on
 * 32x32 (F(2x2), 16 tile rows) 1.6x faster, 32 on 32x32 (F(4x4), 8) 1.3x;
 * ResNet-20's 64 on 8x8 and 32 on 16x16 (4 tile rows each) no faster, and
 * its whole forward slower with them split (the other core reads x and
 * writes y that the next serial layer reads back). */
enum { CL_SPLIT_ROWS = 4 };
static int cl_split_rows = CL_SPLIT_ROWS;

int dl_wg_cl_split_rows(int rows) {
    const int was = cl_split_rows;
    cl_split_rows = rows < 1 ? CL_SPLIT_ROWS : rows;
    return was;
}

/* At least cl_split_rows tile rows a thread, at most the team's threads,
 * none inside a region. */
int dl_wg_cl_threads(const dl_conv2d_geom *g, int m) {
    if (omp_in_parallel()) return 1;
    const int64_t by_rows = g->oh / m / cl_split_rows;
    const int nt = omp_get_max_threads();
    return by_rows < 1 ? 1 : by_rows < nt ? (int)by_rows : nt;
}

int dl_wg_cl_forward(const dl_conv2d_geom *g, int m, const float *x, const float *w, const float *UT, float *y,
                     const dl_conv_affine *a, dl_conv_epilogue ep, void *ctx) {
    const int nt = dl_wg_cl_threads(g, m);
    const int64_t pw = g->ow + 2, T = (g->oh / m) * (g->ow / m), E = positions(m);
    const int64_t pf = (g->oh + 2 * nt) * pw * g->c, vf = E * stride_of(T, g->c), mf = E * stride_of(T, g->oc);
    const int64_t of = g->oh * g->ow * g->oc, uf = UT ? 0 : dl_wg_cl_u_floats(g, m);
    float *buf = dl_scratch(DL_SCRATCH_WINOGRAD, uf + pf + vf + mf + of);
    if (!buf) return -1;
    float *P = buf + uf, *V = P + pf, *M = V + vf, *O = M + mf;
    if (!UT) dl_wg_cl_weights(g, m, w, buf), UT = buf;
    if (nt > 1) {
#pragma omp parallel num_threads(nt)
        cl_run(g, m, x, UT, y, a, P, pw, V, M, O, omp_get_thread_num(), omp_get_num_threads());
    } else {
        cl_run(g, m, x, UT, y, a, P, pw, V, M, O, 0, 1);
    }
    if (!a && ep) ep(ctx, 0, y);
    return 0;
}
#else
int dl_wg_cl_applies(const dl_conv2d_geom *g) {
    (void)g;
    return 0;
}

int dl_wg_cl_split_rows(int rows) {
    (void)rows;
    return 4;
}

int dl_wg_cl_threads(const dl_conv2d_geom *g, int m) {
    (void)g, (void)m;
    return 1;
}

int dl_wg_cl_forward(const dl_conv2d_geom *g, int m, const float *x, const float *w, const float *UT, float *y,
                     const dl_conv_affine *a, dl_conv_epilogue ep, void *ctx) {
    (void)g, (void)m, (void)x, (void)w, (void)UT, (void)y, (void)a, (void)ep, (void)ctx;
    return -1;
}
#endif
