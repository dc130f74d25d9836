/* conv_winograd.c — Winograd F(2x2, 3x3) and F(4x4, 3x3) for stride-1 3x3
 * convolutions (ResNet's 3x3 layers, their data and their weight gradients).
 *
 * Why: dl_sgemm already runs near the FMA peak, so im2col + GEMM can only
 * get faster by doing fewer multiplies. F(2x2, 3x3) (Lavin & Gray 2015)
 * computes a 2x2 output tile from a 4x4 input tile with 16 multiplies per
 * (input channel, output channel) instead of 36: 2.25x fewer, at the
 * accuracy of the direct sum (~1e-6 relative). F(4x4, 3x3) saves 4x but its
 * transforms (conv_winograd4.c, from branch f44) cost about a decimal digit,
 * more with more input channels: only batch-1 inference's forward takes it,
 * on planes of whole 16x16 blocks with 16 to 32 input channels
 * (dl_conv_winograd_tile). Both share this file's chunks, products and
 * threads through a wg_kind; the gradients stay F(2x2).
 *
 * For a tile d (4x4 input pixels at (2ti - pt, 2tj - pl)) and a kernel g:
 *
 *   Y = A^T [ (G g G^T) .* (B^T d B) ] A
 *
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
 *   G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
 *   A^T = [1 1 1 0; 0 1 -1 -1]
 *
 * Summed over input channels, the elementwise product becomes 16 GEMMs,
 * one per tile position e = 4a + b:
 *
 *   U[e][oc][c]  = (G w[oc][c] G^T)[a][b]      once per call
 *   V[e][c][t]   = (B^T d(c, t) B)[a][b]        t = tile over a chunk of images
 *   M[e][oc][t]  = U[e] @ V[e]                  dl_sgemm, [OC x C] @ [C x tiles]
 *   y[oc][tile t] = A^T M[.][oc][t] A            clipped to oh x ow
 *
 * A chunk is enough whole images to give the GEMMs CHUNK_TILES columns
 * (one image of a 16x16 output, four of an 8x8): a function of the
 * geometry alone, so every output is computed the same way at any thread
 * count (docs/design.md, "Determinism"). The epilogue runs for each image
 * of a chunk right after its output transform; a batch norm's affine given
 * as data (dl_conv_affine) is applied to each plane as the output transform
 * produces it (store_plane).
 *
 * Parallelism as conv.c: chunks over threads when there are at least as
 * many as threads, each thread with its own V and M; one image (batch-1
 * inference) in bands of tile rows, each thread running the whole pipeline
 * on its own (run_bands); otherwise all threads work on one chunk,
 * splitting its channels, tile positions and output channels between
 * barriers. */
#pragma GCC optimize("O3", "fp-contract=fast")
#pragma GCC diagnostic ignored "-Wpsabi" /* see conv_winograd_vec.h */
#include <omp.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "conv_pointwise_internal.h"
#include "conv_pad_rows_internal.h"
#include "conv_winograd_internal.h"
#include "conv_winograd_vec.h"
#include "scratch_internal.h"

#define POSITIONS 16    /* tile positions: 4x4 */
#ifndef CHUNK_TILES
#define CHUNK_TILES 128 /* GEMM columns per chunk at least (whole images) */
#endif

/* One Winograd variant: F(m x m, 3x3) with its transforms (F(4x4)'s in
 * conv_winograd4.c). */
typedef struct wg_kind {
    int m, positions;    /* output tile side; (m + 2)^2 */
    int block, slack;    /* padded rows hold whole blocks of tiles and slack floats more (the vector reads) */
    void (*weights)(const float *w, int64_t oc, int64_t c, float *U, int64_t es);
    void (*input)(const float *restrict p, int64_t pw, int64_t th, int64_t tw, float *restrict v, int64_t es);
    void (*output)(const float *restrict m, int64_t es, int64_t oh, int64_t ow, int64_t tw, float *restrict y);
} wg_kind;

typedef struct wg_dims {
    const wg_kind *k;
    int64_t th, tw, tiles;  /* tile rows and columns per image, th * tw */
    int64_t ph, pw;         /* the zero-padded input plane the tiles read */
    int64_t nb, cols;       /* images per chunk, nb * tiles (the GEMMs' N) */
    int64_t us, vs, ms;     /* floats from one tile position's U (V, M) to the next */
    int64_t ufloats, pfloats, vfloats, mfloats;
} wg_dims;

static int64_t lines(int64_t floats) { return (floats + 15) / 16 * 16; }

static wg_dims dims_of(const dl_conv2d_geom *g, const wg_kind *k) {
    wg_dims d;
    const int m = k->m;
    d.k = k;
    d.th = (g->oh + m - 1) / m, d.tw = (g->ow + m - 1) / m, d.tiles = d.th * d.tw;
    d.ph = m * d.th + 2, d.pw = m * ((d.tw + k->block - 1) / k->block * k->block) + k->slack;
    d.nb = (CHUNK_TILES + d.tiles - 1) / d.tiles;
    if (d.nb > g->n) d.nb = g->n > 0 ? g->n : 1;
    d.cols = d.nb * d.tiles;
    d.us = lines(g->oc * g->c) + 16; /* + a line: as vs and ms below */
    d.ufloats = k->positions * d.us;
    d.pfloats = lines(d.ph * d.pw);
    /* A cache line more than whole lines: the 16 streams input_tiles writes
     * (output_tiles reads) would otherwise fall into the same cache sets
     * whenever c * cols is a multiple of 1024, as it is for every ResNet
     * layer — input_tiles then took 2/3 of the time. The line also covers
     * output_tiles reading a block of 8 tiles past the last one. */
    d.vs = lines(g->c * d.cols) + 16, d.ms = lines(g->oc * d.cols) + 16;
    d.vfloats = k->positions * d.vs, d.mfloats = k->positions * d.ms;
    return d;
}

int dl_conv_winograd_fits(const dl_conv2d_geom *g) {
    return g->kh == 3 && g->kw == 3 && g->sh == 1 && g->sw == 1 && g->dh == 1 && g->dw == 1 && g->groups == 1 &&
           g->pt >= 0 && g->pb >= 0 && g->pl >= 0 && g->pr >= 0 && g->oh == g->h + g->pt + g->pb - 2 &&
           g->ow == g->w + g->pl + g->pr - 2 && g->oh > 0 && g->ow > 0;
}

/* The rule for all three directions. Measured (docs/performance.md,
 * "Winograd"; 1 thread, CPU time), forward: ResNet's 32-channel 16x16 layer
 * 1.45x faster than im2col + GEMM at batch 64, 1.2x at batch 1; the
 * 64-channel 8x8 one 1.75x at batch 64 but 0.85x at batch 1, where its 16
 * tiles make GEMMs too narrow for the micro-kernel; the 16-channel 32x32 one
 * only ties conv_direct_small.c's kernel. Weight gradient: 1.3x on both at
 * batch 64, 1.07x and 0.76x at batch 1, 0.6x at 16 channels. Hence: 32
 * channels or more on both sides and at least 64 tiles over the batch. */
int dl_conv_winograd_pays(const dl_conv2d_geom *g) {
    if (!dl_conv_winograd_fits(g) || g->c < 32 || g->oc < 32) return 0;
    return g->n * ((g->oh + 1) / 2) * ((g->ow + 1) / 2) >= 64;
}

/* The forward's rule: dl_conv_winograd_pays, and at batch 1 (products on
 * conv_pointwise.c's unpacked tiles, U kept per weights version) also
 * 64-channel planes of whole vectors of 2x2 tiles (ResNet's 8x8 stage: 16
 * positions x 64 x 64 x 16 tiles, 1.05M multiply-adds against conv_b1.c's
 * direct 2.36M) and the planes dl_conv_winograd_tile gives F(4x4) (ResNet's
 * 16-channel 32x32 stage: 36 x 16 x 16 x 64 = 0.59M against the direct row
 * kernels' 2.36M). Both measured faster (docs/performance.md, "ResNet-20
 * batch-1 inference: fewer multiplies"). The gradients keep the narrower
 * rule: the weight gradient's 16-tile GEMMs measured 0.76x at batch 1. */
int dl_conv_winograd_pays_forward(const dl_conv2d_geom *g) {
    if (dl_conv_winograd_pays(g)) return 1;
    if (!dl_conv_winograd_fits(g) || g->n != 1) return 0;
    const int64_t tiles = ((g->oh + 1) / 2) * ((g->ow + 1) / 2);
    return (g->c >= 64 && g->oc >= 64 && tiles % 16 == 0) || dl_conv_winograd_tile(g) == 4;
}

static double split_macs = DL_GEMM_PARALLEL_FLOPS;

double dl_conv_winograd_split_macs(double macs) {
    const double old = split_macs;
    split_macs = macs < 0 ? DL_GEMM_PARALLEL_FLOPS : macs;
    return old;
}

int dl_conv_winograd_threads(const dl_conv2d_geom *g) {
    if (omp_in_parallel()) return 1;
    const double macs = (double)g->n * (double)g->oc * (double)(g->c * g->kh * g->kw) * (double)(g->oh * g->ow);
    return macs >= split_macs ? omp_get_max_threads() : 1;
}

/* U[e][o][c] = (G w[o][c] G^T)[e]. */
static void transform_weights(const float *w, int64_t oc, int64_t c, float *U, int64_t es) {
    for (int64_t o = 0; o < oc; o++)
        for (int64_t ci = 0; ci < c; ci++) {
            const float *k = w + (o * c + ci) * 9;
            float t[4][3], u[4][4];
            for (int b = 0; b < 3; b++) { /* G k: rows */
                t[0][b] = k[b];
                t[1][b] = 0.5f * (k[b] + k[3 + b] + k[6 + b]);
                t[2][b] = 0.5f * (k[b] - k[3 + b] + k[6 + b]);
                t[3][b] = k[6 + b];
            }
            for (int a = 0; a < 4; a++) { /* (G k) G^T: columns */
                u[a][0] = t[a][0];
                u[a][1] = 0.5f * (t[a][0] + t[a][1] + t[a][2]);
                u[a][2] = 0.5f * (t[a][0] - t[a][1] + t[a][2]);
                u[a][3] = t[a][2];
            }
            for (int e = 0; e < POSITIONS; e++) U[e * es + o * c + ci] = u[e / 4][e % 4];
        }
}

/* plane (ph x pw, borders already zero) = one input plane at offset (pt, pl). */
static void pad_plane(const dl_conv2d_geom *g, const wg_dims *d, const float *x, float *plane) {
    int64_t rows = g->h < d->ph - g->pt ? g->h : d->ph - g->pt, n = g->w < d->pw - g->pl ? g->w : d->pw - g->pl;
    dl_pad_rows(x, g->w, plane + g->pt * d->pw + g->pl, d->pw, rows, n); /* conv_pad_rows.c */
}

#define EVENS(a, b) __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14)
#define ODDS(a, b) __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15)

/* dst[0 .. n) = v[0 .. n), 0 < n < 8, without a libc call (8x8 planes end every row so). */
static INLINE void store_part(float *dst, const wg_v8 *v, int64_t n) {
    float t[8];
    memcpy(t, v, sizeof t);
    int64_t q = 0;
    if (n >= 4) memcpy(dst, t, 4 * sizeof(float)), q = 4;
    for (; q < n; q++) dst[q] = t[q];
}

/* Column k (0..3) of 8 tiles whose lanes 0..3 start at ra and 4..7 at rb:
 * ra[2j + k], rb[2(j - 4) + k]. rb = ra + 8 for 8 tiles of one row. */
static INLINE void row_columns(const float *ra, const float *rb, wg_v8 c[4]) {
    wg_v8 a0 = load8(ra), a1 = load8(rb), b0 = load8(ra + 2), b1 = load8(rb + 2);
    c[0] = EVENS(a0, a1), c[1] = ODDS(a0, a1), c[2] = EVENS(b0, b1), c[3] = ODDS(b0, b1);
}

/* (B^T d B)[e] of 8 tiles: lanes 0..3 from the 4 tiles at padded row-start
 * ra, lanes 4..7 from those at rb (input_8 for one row of 8 tiles). */
static INLINE void input_4_4_v8(const float *ra, const float *rb, int64_t pw, wg_v8 out[POSITIONS]) {
    wg_v8 d[4][4], t[4][4];
    for (int r = 0; r < 4; r++) row_columns(ra + r * pw, rb + r * pw, d[r]);
    for (int k = 0; k < 4; k++) { /* B^T d: rows */
        t[0][k] = d[0][k] - d[2][k];
        t[1][k] = d[1][k] + d[2][k];
        t[2][k] = d[2][k] - d[1][k];
        t[3][k] = d[1][k] - d[3][k];
    }
    for (int a = 0; a < 4; a++) { /* (B^T d) B: columns */
        out[4 * a + 0] = t[a][0] - t[a][2];
        out[4 * a + 1] = t[a][1] + t[a][2];
        out[4 * a + 2] = t[a][2] - t[a][1];
        out[4 * a + 3] = t[a][1] - t[a][3];
    }
}

/* Two 8-tile columns in one 16-float vector: [column k | column k + 1]. */
typedef float wg_v16 __attribute__((vector_size(64)));
#define DEINT(a, b) __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15)
#define LO(v) __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7)
#define HI(v) __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15)

/* input_4_4_v8 with columns in pairs (Intel, input_pairs): one permute
 * gives columns 0 and 1 of a row, one more 2 and 3, where row_columns
 * spends GCC's two vpermd and a blend on each column, all on port 5, the
 * port Intel's 512-bit adds share. Every lane gets the same sums in the
 * same order as input_4_4_v8, so the same bits. */
static INLINE void input_4_4_v16(const float *ra, const float *rb, int64_t pw, wg_v8 out[POSITIONS]) {
    wg_v16 d[4][2], t[4][2];
    for (int r = 0; r < 4; r++) {
        const float *a = ra + r * pw, *b = rb + r * pw;
        d[r][0] = DEINT(load8(a), load8(b));
        d[r][1] = DEINT(load8(a + 2), load8(b + 2));
    }
    for (int k = 0; k < 2; k++) { /* B^T d: rows */
        t[0][k] = d[0][k] - d[2][k];
        t[1][k] = d[1][k] + d[2][k];
        t[2][k] = d[2][k] - d[1][k];
        t[3][k] = d[1][k] - d[3][k];
    }
    for (int a = 0; a < 4; a++) { /* (B^T d) B: columns, x = [t0 | t1], y = [t2 | t3], xs = [t1 | t0] */
        wg_v16 x = t[a][0], y = t[a][1], xs = __builtin_shufflevector(x, x, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2,
                                                                          3, 4, 5, 6, 7);
        wg_v16 dxy = x - y, s = xs + y, e = y - xs;
        out[4 * a + 0] = LO(dxy);
        out[4 * a + 1] = LO(s);
        out[4 * a + 2] = LO(e);
        out[4 * a + 3] = HI(dxy);
    }
}

static INLINE void input_4_4(const float *ra, const float *rb, int64_t pw, wg_v8 out[POSITIONS], const int X16) {
    if (X16)
        input_4_4_v16(ra, rb, pw, out);
    else
        input_4_4_v8(ra, rb, pw, out);
}

/* (B^T d B)[e] of tiles j .. j+7 of a tile row starting at padded row r0. */
static INLINE void input_8(const float *r0, int64_t pw, wg_v8 out[POSITIONS], const int X16) {
    input_4_4(r0, r0 + 8, pw, out, X16);
}

/* input_tiles' columns in pairs (input_4_4_v16): -1 on Intel with AVX-512
 * (default), 0 never, 1 always (the unit tests run both). */
static int input_pairs_mode = -1;

int dl_winograd_input_pairs(int mode) {
    int was = input_pairs_mode;
    input_pairs_mode = mode;
    return was;
}

static int input_pairs(void) {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
    return input_pairs_mode >= 0 ? input_pairs_mode
                                 : __builtin_cpu_supports("avx512f") && __builtin_cpu_is("intel");
#else
    return input_pairs_mode > 0;
#endif
}

/* v[e * es + t] = (B^T d B)[e] for every tile t of one padded plane, whose
 * rows are wide enough (dims_of) for whole blocks of 8 tiles. Rows of 4
 * tiles (8x8 outputs: ResNet's last stage) go two to a vector, which would
 * otherwise be half empty and stored in pieces: that stage took as long as
 * the 16x16 one with half its tiles. */
static INLINE void input_tiles_x(const float *restrict p, int64_t pw, int64_t th, int64_t tw, float *restrict v,
                                 int64_t es, const int X16) {
    int64_t ti = 0;
    if (tw == 4)
        for (; ti + 2 <= th; ti += 2) {
            wg_v8 out[POSITIONS];
            input_4_4(p + 2 * ti * pw, p + (2 * ti + 2) * pw, pw, out, X16);
            for (int e = 0; e < POSITIONS; e++) memcpy(v + e * es + ti * 4, &out[e], sizeof out[e]);
        }
    for (; ti < th; ti++) {
        float *restrict o = v + ti * tw;
        wg_v8 out[POSITIONS];
        int64_t j = 0;
        for (; j + 8 <= tw; j += 8) {
            input_8(p + 2 * ti * pw + 2 * j, pw, out, X16);
            for (int e = 0; e < POSITIONS; e++) memcpy(o + e * es + j, &out[e], sizeof out[e]);
        }
        if (j < tw) {
            input_8(p + 2 * ti * pw + 2 * j, pw, out, X16);
            for (int e = 0; e < POSITIONS; e++) store_part(o + e * es + j, &out[e], tw - j);
        }
    }
}

WG_CLONES static void input_tiles(const float *restrict p, int64_t pw, int64_t th, int64_t tw, float *restrict v,
                                  int64_t es) {
    if (input_pairs())
        input_tiles_x(p, pw, th, tw, v, es, 1);
    else
        input_tiles_x(p, pw, th, tw, v, es, 0);
}

/* The 2x2 outputs A^T m A of tiles j .. j+7 (m[e] at m + e * es), each
 * output row's two columns interleaved: y[a][0..1] = the 16 floats of row a. */
static INLINE void output_8(const float *m, int64_t es, wg_v8 y[2][2]) {
    wg_v8 s[2][4];
    for (int b = 0; b < 4; b++) { /* A^T m: rows */
        wg_v8 m1 = load8(m + (4 + b) * es), m2 = load8(m + (8 + b) * es);
        s[0][b] = load8(m + b * es) + m1 + m2;
        s[1][b] = m1 - m2 - load8(m + (12 + b) * es);
    }
    for (int a = 0; a < 2; a++) { /* (A^T m) A: columns, then interleaved */
        wg_v8 c0 = s[a][0] + s[a][1] + s[a][2], c1 = s[a][1] - s[a][2] - s[a][3];
        y[a][0] = __builtin_shufflevector(c0, c1, 0, 8, 1, 9, 2, 10, 3, 11);
        y[a][1] = __builtin_shufflevector(c0, c1, 4, 12, 5, 13, 6, 14, 7, 15);
    }
}

/* One output plane (oh x ow) from its tiles' products m[e * es + t]; m's
 * rows may be read up to 7 floats past the last tile (dims_of pads them).
 * 8-wide planes take two tile rows per vector, as input_tiles. */
WG_CLONES static void output_tiles(const float *restrict m, int64_t es, int64_t oh, int64_t ow, int64_t tw,
                                   float *restrict y) {
    int64_t ti = 0;
    if (ow == 8)
        for (; 2 * ti + 4 <= oh; ti += 2) {
            wg_v8 o[2][2];
            output_8(m + ti * 4, es, o);
            for (int a = 0; a < 2; a++) {
                memcpy(y + (2 * ti + a) * 8, &o[a][0], sizeof o[a][0]);
                memcpy(y + (2 * ti + 2 + a) * 8, &o[a][1], sizeof o[a][1]);
            }
        }
    for (; 2 * ti < oh; ti++) {
        float *restrict yr[2] = {y + 2 * ti * ow, y + (2 * ti + 1) * ow};
        const int rows = 2 * ti + 1 < oh ? 2 : 1;
        wg_v8 o[2][2];
        int64_t j = 0;
        for (; 2 * j + 16 <= ow; j += 8) {
            output_8(m + ti * tw + j, es, o);
            for (int a = 0; a < rows; a++) memcpy(yr[a] + 2 * j, o[a], sizeof o[a]);
        }
        if (2 * j < ow) {
            int64_t left = ow - 2 * j;
            output_8(m + ti * tw + j, es, o);
            for (int a = 0; a < rows; a++) {
                if (left >= 8) memcpy(yr[a] + 2 * j, &o[a][0], sizeof o[a][0]);
                if (left != 8) store_part(yr[a] + 2 * j + (left > 8 ? 8 : 0), &o[a][left > 8], left & 7);
            }
        }
    }
}

/* The share [lo, hi) of n items for thread t of tn. */
static void share(int64_t n, int t, int tn, int64_t *lo, int64_t *hi) {
    *lo = n * t / tn, *hi = n * (t + 1) / tn;
}

/* M[oc x n] = U[oc x c] @ V[c x n], rows `cols` apart. At batch 1 (one
 * image's tiles, n == cols) conv_pointwise.c's unpacked register tiles:
 * products of 32 x 32 by 64 tiles are too small for dl_sgemm's packing to
 * pay (conv_b1.c; docs/performance.md). The choice depends on the
 * geometry only, so 1 and 2 threads take the same path. */
static void wg_product(const dl_conv2d_geom *g, int64_t n, int64_t cols, const float *U, const float *V, float *M) {
    if (g->n == 1 && n == 16) dl_wg_product16(g->oc, g->c, U, V, M); /* conv_winograd_product.c */
    else if (g->n == 1 && n == 32 && cols == 32) dl_wg_product32(g->oc, g->c, U, V, M);
    else if (g->n == 1 && n == cols) dl_pw_matmul_isa(DL_GEMV_BEST, g->oc, g->c, n, U, g->c, 1, V, M, 0);
    else dl_sgemm(0, 0, g->oc, n, g->c, 1.0f, U, g->c, V, cols, 0.0f, M, cols);
}

typedef struct wg_call {
    const dl_conv2d_geom *g;
    const wg_dims *d;
    const float *x, *U;
    float *y;
    dl_conv_epilogue ep;
    void *ctx;
    const dl_conv_affine *a; /* NULL: y = the convolution (then ep); else y = a(the convolution), no ep */
} wg_call;

/* Output plane o of image img, rows [row0, row0 + rows) (whole tiles from
 * row0), from its tiles' products mo[e * es + t] (tw tiles a row). With an
 * affine the transform writes tmp (rows * ow floats, in L1) and
 * dl_affine_rows_isa finishes it into y: the formula conv_affine.c's
 * per-image epilogue applies, so every path gives the same bits, and y may
 * be the residual. */
static void store_plane(const wg_call *k, const float *mo, int64_t es, int64_t tw, int64_t img, int64_t o,
                        int64_t row0, int64_t rows, float *tmp) {
    const dl_conv2d_geom *g = k->g;
    const int64_t at = (img * g->oc + o) * g->oh * g->ow + row0 * g->ow;
    if (!k->a) {
        k->d->k->output(mo, es, rows, g->ow, tw, k->y + at);
        return;
    }
    k->d->k->output(mo, es, rows, g->ow, tw, tmp);
    dl_conv_affine a = *k->a;
    a.scale += o, a.shift += o;
    if (a.residual) a.residual += at;
    dl_affine_rows_isa(DL_GEMV_BEST, 1, rows * g->ow, tmp, k->y + at, &a);
}

/* Images [i0, i0 + nimg) with V and M of one slot and this thread's plane
 * (and tmp, for an affine). Thread t of tn does its share of each phase
 * (tn > 1 only inside a parallel region whose threads all call this with
 * the same chunk). */
static void run_chunk(const wg_call *k, int64_t i0, int64_t nimg, float *plane, float *V, float *M, float *tmp, int t,
                      int tn) {
    const dl_conv2d_geom *g = k->g;
    const wg_dims *d = k->d;
    const int64_t cols = d->cols, plane_in = g->h * g->w, plane_out = g->oh * g->ow;
    int64_t lo, hi;
    share(nimg * g->c, t, tn, &lo, &hi);
    for (int64_t u = lo; u < hi; u++) {
        int64_t img = u / g->c, c = u % g->c;
        pad_plane(g, d, k->x + ((i0 + img) * g->c + c) * plane_in, plane);
        d->k->input(plane, d->pw, d->th, d->tw, V + c * cols + img * d->tiles, d->vs);
    }
    if (tn > 1) {
#pragma omp barrier
    }
    share(d->k->positions, t, tn, &lo, &hi);
    for (int64_t e = lo; e < hi; e++)
        wg_product(g, nimg * d->tiles, cols, k->U + e * d->us, V + e * d->vs, M + e * d->ms);
    if (tn > 1) {
#pragma omp barrier
    }
    share(nimg * g->oc, t, tn, &lo, &hi);
    for (int64_t u = lo; u < hi; u++) {
        int64_t img = u / g->oc, o = u % g->oc;
        store_plane(k, M + o * cols + img * d->tiles, d->ms, d->tw, i0 + img, o, 0, g->oh, tmp);
    }
    if (!k->ep || k->a) return;
    if (tn > 1) {
#pragma omp barrier
    }
    share(nimg, t, tn, &lo, &hi);
    for (int64_t img = lo; img < hi; img++) k->ep(k->ctx, i0 + img, k->y + (i0 + img) * g->oc * plane_out);
}

/* ---- batch 1 split in space ----------------------------------------------
 *
 * One image over tn threads: thread t takes a contiguous range of tile rows
 * (a band) and runs the whole pipeline on it alone: the input transform of
 * its tiles from the padded rows they read, the products of its tiles, the
 * output transform (and affine) of its output rows, into its own plane, V
 * and M laid out for its tiles. No data crosses threads, so no barrier; and
 * each output's sums are the same as one thread's over the whole image (the
 * transforms are per tile, the products sum over the channels in the same
 * order whatever the number of columns), so the same bits at any thread
 * count. Bands are whole units of band_rows tile rows, each starting at a
 * multiple of 16 tiles and of 16 output pixels of a plane: the kernels
 * finish what is past the last whole vector in scalar code (the products'
 * columns in conv_pointwise.c, the affine's pixels) whose rounding may
 * differ from the lanes', so a band must not end where the image does
 * not; and F(4x4)'s 16-tile transforms (conv_winograd4_x16.c) then take
 * every band or none. */
static int64_t band_rows(const dl_conv2d_geom *g, const wg_dims *d) {
    int64_t q = 1;
    while ((q * d->tw) % 16 || (q * d->k->m * g->ow) % 16) q *= 2;
    return q;
}

/* Tile rows [t0, t1) of thread t of tn. */
static void band_of(const dl_conv2d_geom *g, const wg_dims *d, int t, int tn, int64_t *t0, int64_t *t1) {
    const int64_t q = band_rows(g, d), units = (d->th + q - 1) / q;
    int64_t lo, hi;
    share(units, t, tn, &lo, &hi);
    *t0 = lo * q < d->th ? lo * q : d->th, *t1 = hi * q < d->th ? hi * q : d->th;
}

/* Floats from one position's V (M) to the next for a band of n tiles. */
static int64_t band_vs(const dl_conv2d_geom *g, int64_t n) { return lines(g->c * n) + 16; }
static int64_t band_ms(const dl_conv2d_geom *g, int64_t n) { return lines(g->oc * n) + 16; }

static void run_band(const wg_call *k, int64_t t0, int64_t t1, float *plane, float *V, float *M, float *tmp) {
    const dl_conv2d_geom *g = k->g;
    const wg_dims *d = k->d;
    const int64_t m = d->k->m, n = (t1 - t0) * d->tw, vs = band_vs(g, n), ms = band_ms(g, n);
    if (n == 0) return;
    /* Padded rows [m t0, m t1 + 2) hold input rows [r0, r1). */
    const int64_t pr0 = m * t0, pr1 = m * t1 + 2;
    const int64_t r0 = pr0 - g->pt > 0 ? pr0 - g->pt : 0, r1 = pr1 - g->pt < g->h ? pr1 - g->pt : g->h;
    const int64_t cn = g->w < d->pw - g->pl ? g->w : d->pw - g->pl;
    for (int64_t c = 0; c < g->c; c++) {
        if (r1 > r0)
            dl_pad_rows(k->x + (c * g->h + r0) * g->w, g->w, plane + (r0 + g->pt) * d->pw + g->pl, d->pw, r1 - r0, cn);
        d->k->input(plane + pr0 * d->pw, d->pw, t1 - t0, d->tw, V + c * n, vs);
    }
    for (int64_t e = 0; e < d->k->positions; e++) wg_product(g, n, n, k->U + e * d->us, V + e * vs, M + e * ms);
    const int64_t rows = (m * t1 < g->oh ? m * t1 : g->oh) - m * t0;
    for (int64_t o = 0; o < g->oc; o++) store_plane(k, M + o * n, ms, d->tw, 0, o, m * t0, rows, tmp);
}

/* The cores other processes leave this one (team_machine.c, as the
 * training loop's team reads them), from the machine's CPU time over the
 * last window of at least FREE_WINDOW_NS, read again once it is over: a
 * clock read per call, /proc/stat ten times a second at most. 1 until the
 * first window is over; the thread limit if /proc/stat is unreadable. */
#define FREE_WINDOW_NS 100000000LL
static pthread_mutex_t free_lock = PTHREAD_MUTEX_INITIALIZER;
static dl_team_sample free_seen; /* under free_lock */
static int free_have;            /* under free_lock */
static int free_cores_now = 1;   /* atomic */
static long long free_next_ns;   /* atomic: when to read the machine again */

static int machine_free_cores(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    const long long now = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    if (now < __atomic_load_n(&free_next_ns, __ATOMIC_RELAXED) || pthread_mutex_trylock(&free_lock) != 0)
        return __atomic_load_n(&free_cores_now, __ATOMIC_RELAXED);
    dl_team_sample cur;
    int free = __atomic_load_n(&free_cores_now, __ATOMIC_RELAXED);
    long long next = now + FREE_WINDOW_NS;
    if (dl_team_sample_machine(&cur) != 0)
        free = omp_get_max_threads(), next = (long long)(~0ULL >> 1);
    else {
        if (free_have) free = dl_team_free_cores(&free_seen, &cur);
        free_seen = cur, free_have = 1;
    }
    __atomic_store_n(&free_cores_now, free, __ATOMIC_RELAXED);
    __atomic_store_n(&free_next_ns, next, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&free_lock);
    return free;
}

/* Bands for a batch-1 call given nt = dl_conv_winograd_threads (at most
 * one a unit of band_rows tile rows; fewer than 2: the image is not cut,
 * and nt > 1 threads share the one chunk's phases as before): nt, and F(4x4)'s
 * planes of at least 32 tiles a thread (ResNet-20's 16-channel 32x32
 * stage: 64 tiles) split in space over two threads or more, where the old
 * split (all threads on each phase of the one chunk) lost — but only over
 * cores no other process keeps busy: beside one, each fork waits for a
 * worker that must take that core back, and ResNet-20's forward at 2
 * threads took 4.4 ms instead of 0.4 (docs/performance.md, "ResNet-20
 * batch-1 inference at 2 threads, branch b1w"). */
static int band_threads(const dl_conv2d_geom *g, const wg_dims *d, int nt) {
    if (nt == 1 && !omp_in_parallel() && d->k->m == 4 && d->tiles >= 64 && omp_get_max_threads() > 1) {
        nt = omp_get_max_threads();
        if (nt > d->tiles / 32) nt = (int)(d->tiles / 32);
        const int free = machine_free_cores();
        if (nt > free) nt = free;
    }
    const int64_t q = band_rows(g, d), units = (d->th + q - 1) / q;
    return nt > units ? (int)units : nt;
}

static const wg_kind F2 = {2, POSITIONS, 8, 2, transform_weights, input_tiles, output_tiles};
static const wg_kind F4 = {4, WG4_POSITIONS, 4, 8, dl_wg4_weights, dl_wg4_input_tiles, dl_wg4_output_tiles};

static const wg_kind *kind(int m) { return m == 4 ? &F4 : &F2; }

/* F(4x4) for the forward of batch-1 inference on planes of whole 16x16
 * blocks (tiles of 4x4 a multiple of 16: whole vectors of
 * conv_pointwise.c's products) with 16 to 32 input channels: ResNet's
 * 16-channel 32x32 and 32-channel 16x16 stages, 36 positions instead of 16
 * but 4 times fewer tiles, 0.59M multiply-adds per layer against F(2x2)'s
 * 1.05M; measured faster on both (docs/performance.md, "ResNet-20 batch-1
 * inference: fewer multiplies"). Its error grows with the channels summed:
 * max |err| / (1 + |y|) 4.5e-5 at 32 input channels, 9e-5 at 64, 1.5e-4 at
 * 128 (F(2x2): 4e-6 to 1.1e-5), hence at most 32. Elsewhere F(2x2): the
 * 8x8 stage's 4 tiles of 4x4 would leave vectors three-quarters empty, and
 * f44's F(4x4) with dl_sgemm products measured 0.36x at batch 1. */
int dl_conv_winograd_tile(const dl_conv2d_geom *g) {
    return g->n == 1 && g->c >= 16 && g->c <= 32 && g->oc >= 16 && g->oh % 16 == 0 && g->ow % 16 == 0 &&
                   g->oh > 0 && g->ow > 0
               ? 4
               : 2;
}

int64_t dl_conv_winograd_u_floats(const dl_conv2d_geom *g, int m) { return dims_of(g, kind(m)).ufloats; }

void dl_conv_winograd_weights(const dl_conv2d_geom *g, int m, const float *w, float *U) {
    const wg_kind *k = kind(m);
    k->weights(w, g->oc, g->c, U, dims_of(g, k).us);
}

int dl_conv_winograd(const dl_conv2d_geom *g, const float *x, const float *w, float *y, dl_conv_epilogue ep,
                     void *ctx) {
    return dl_conv_winograd_u(g, 2, x, w, NULL, y, ep, ctx, NULL);
}

/* Batch 1 over nt > 1 threads, each on its band (run_band). */
static int run_bands(const dl_conv2d_geom *g, const wg_dims *d, const float *x, const float *w, const float *U,
                     float *y, dl_conv_epilogue ep, void *ctx, const dl_conv_affine *a, int nt) {
    int64_t most = 0; /* the widest band's tiles */
    for (int t = 0; t < nt; t++) {
        int64_t t0, t1;
        band_of(g, d, t, nt, &t0, &t1);
        if ((t1 - t0) * d->tw > most) most = (t1 - t0) * d->tw;
    }
    const int64_t uf = U ? 0 : d->ufloats, tf = a ? lines(g->oh * g->ow) : 0;
    const int64_t slot = d->pfloats + d->k->positions * (band_vs(g, most) + band_ms(g, most)) + tf;
    float *buf = dl_scratch(DL_SCRATCH_WINOGRAD, uf + nt * slot);
    if (!buf) return -1;
    if (!U) d->k->weights(w, g->oc, g->c, buf, d->us);
    const wg_call k = {g, d, x, U ? U : buf, y, ep, ctx, a};
#pragma omp parallel num_threads(nt)
    {
        const int t = omp_get_thread_num(), tn = omp_get_num_threads();
        float *s = buf + uf + t * slot, *V = s + d->pfloats, *M = V + d->k->positions * band_vs(g, most);
        memset(s, 0, sizeof(float) * (size_t)d->pfloats); /* the borders stay zero */
        for (int b = t; b < nt; b += tn) { /* the nt bands, however many threads came */
            int64_t t0, t1;
            band_of(g, d, b, nt, &t0, &t1);
            run_band(&k, t0, t1, s, V, M, M + d->k->positions * band_ms(g, most));
        }
    }
    if (ep && !a) ep(ctx, 0, y);
    return 0;
}

int dl_conv_winograd_u(const dl_conv2d_geom *g, int m, const float *x, const float *w, const float *U, float *y,
                       dl_conv_epilogue ep, void *ctx, const dl_conv_affine *a) {
    if (g->n <= 0) return 0;
    const wg_dims d = dims_of(g, kind(m));
    const int64_t chunks = (g->n + d.nb - 1) / d.nb;
    int nt = dl_conv_winograd_threads(g);
    const int bands = g->n == 1 ? band_threads(g, &d, nt) : 1;
    if (bands > 1) return run_bands(g, &d, x, w, U, y, ep, ctx, a, bands);
    const int together = chunks < nt; /* all threads on each chunk */
    if (!together && nt > chunks) nt = (int)chunks;
    const int64_t slots = together ? 1 : nt, slot = d.vfloats + d.mfloats;
    const int64_t uf = U ? 0 : d.ufloats; /* no cached U: transform into scratch */
    const int64_t tf = a ? lines(g->oh * g->ow) : 0; /* a thread's output plane before its affine */
    float *buf = dl_scratch(DL_SCRATCH_WINOGRAD, uf + nt * (d.pfloats + tf) + slots * slot);
    if (!buf) return -1;
    float *planes = buf + uf, *tmps = planes + nt * d.pfloats, *slot0 = tmps + nt * tf;
    memset(planes, 0, sizeof(float) * (size_t)(nt * d.pfloats)); /* the borders stay zero */
    if (!U) d.k->weights(w, g->oc, g->c, buf, d.us);
    const wg_call k = {g, &d, x, U ? U : buf, y, ep, ctx, a};
    if (nt == 1) { /* no (inactive) parallel region around GEMMs that may parallelize themselves */
        for (int64_t ch = 0; ch < chunks; ch++) {
            int64_t i0 = ch * d.nb, nimg = g->n - i0 < d.nb ? g->n - i0 : d.nb;
            run_chunk(&k, i0, nimg, planes, slot0, slot0 + d.vfloats, tmps, 0, 1);
        }
        return 0;
    }
    if (together) {
#pragma omp parallel num_threads(nt)
        {
            int t = omp_get_thread_num(), tn = omp_get_num_threads();
            for (int64_t ch = 0; ch < chunks; ch++) {
                int64_t i0 = ch * d.nb, nimg = g->n - i0 < d.nb ? g->n - i0 : d.nb;
                run_chunk(&k, i0, nimg, planes + t * d.pfloats, slot0, slot0 + d.vfloats, tmps + t * tf, t, tn);
            }
        }
        return 0;
    }
#pragma omp parallel for schedule(static) num_threads(nt)
    for (int64_t ch = 0; ch < chunks; ch++) {
        int t = omp_get_thread_num();
        int64_t i0 = ch * d.nb, nimg = g->n - i0 < d.nb ? g->n - i0 : d.nb;
        float *s = slot0 + t * slot;
        run_chunk(&k, i0, nimg, planes + t * d.pfloats, s, s + d.vfloats, tmps + t * tf, 0, 1);
    }
    return 0;
}

/* ---- weight gradient ------------------------------------------------------
 *
 * The adjoint of the forward's Y = A^T [U .* V] A: the gradient reaching U[e]
 * from one tile is (A gy A^T)[e] .* V[e], so summed over tiles and images
 *
 *   W[e][oc][c] = sum_t GY[e][oc][t] V[e][c][t]    GY = A gy_tile A^T (4x4 from 2x2)
 *   gw[oc][c]   = G^T W[.][oc][c] G                 (3x3 from 4x4)
 *
 * 16 GEMMs [OC x tiles] @ [tiles x C] per chunk of images. The sum over
 * images must not depend on the thread count: chunks go to WG_GROUPS groups
 * fixed by the geometry, each group sums its chunks in order into its own
 * partial W, and the partials are added in group order. */
#define WG_GROUPS 4

/* (A g A^T)[e] of 8 tiles from their two gy rows: lanes 0..3 from the 4
 * tiles at r0a (first row) and r1a (second), lanes 4..7 from r0b and r1b. */
static INLINE void gy_4_4(const float *r0a, const float *r0b, const float *r1a, const float *r1b,
                          wg_v8 out[POSITIONS]) {
    wg_v8 a0 = load8(r0a), a1 = load8(r0b), b0 = load8(r1a), b1 = load8(r1b);
    wg_v8 v[2][2] = {{EVENS(a0, a1), ODDS(a0, a1)}, {EVENS(b0, b1), ODDS(b0, b1)}}, t[4][2];
    for (int b = 0; b < 2; b++) { /* A g: rows */
        t[0][b] = v[0][b];
        t[1][b] = v[0][b] + v[1][b];
        t[2][b] = v[0][b] - v[1][b];
        t[3][b] = -v[1][b];
    }
    for (int a = 0; a < 4; a++) { /* (A g) A^T: columns */
        out[4 * a + 0] = t[a][0];
        out[4 * a + 1] = t[a][0] + t[a][1];
        out[4 * a + 2] = t[a][0] - t[a][1];
        out[4 * a + 3] = -t[a][1];
    }
}

/* (A g A^T)[e] of tiles j .. j+7 from the two gy rows of a tile row. */
static INLINE void gy_8(const float *r0, const float *r1, wg_v8 out[POSITIONS]) {
    gy_4_4(r0, r0 + 8, r1, r1 + 8, out);
}

/* gt[e * es + t] = (A g A^T)[e] for every 2x2 tile t of one gy plane (oh x
 * ow); tiles reaching past it see zeros, through rows copied into rb (two
 * rows of pw floats, pw >= 2 * tw rounded up to whole blocks of 8 tiles).
 * 8-wide planes are read in place, two tile rows per vector (input_tiles). */
WG_CLONES static void gy_tiles(const float *restrict gy, int64_t oh, int64_t ow, int64_t th, int64_t tw,
                               float *restrict gt, int64_t es, float *restrict rb, int64_t pw) {
    int64_t ti = 0;
    if (ow == 8)
        for (; 2 * ti + 4 <= oh; ti += 2) {
            const float *r = gy + 2 * ti * 8;
            wg_v8 out[POSITIONS];
            gy_4_4(r, r + 16, r + 8, r + 24, out);
            for (int e = 0; e < POSITIONS; e++) memcpy(gt + e * es + ti * 4, &out[e], sizeof out[e]);
        }
    for (; ti < th; ti++) {
        /* Rows of whole blocks of 8 tiles (ow a multiple of 16: the 16x16
         * stage) are read in place; others through zero-filled copies. */
        const float *r0 = gy + 2 * ti * ow, *r1 = r0 + ow;
        if (ow % 16 || 2 * ti + 1 >= oh) {
            for (int a = 0; a < 2; a++) {
                float *row = rb + a * pw;
                int64_t r = 2 * ti + a;
                memset(row, 0, sizeof(float) * (size_t)pw);
                if (r < oh) memcpy(row, gy + r * ow, sizeof(float) * (size_t)ow);
            }
            r0 = rb, r1 = rb + pw;
        }
        float *restrict o = gt + ti * tw;
        wg_v8 out[POSITIONS];
        int64_t j = 0;
        for (; j + 8 <= tw; j += 8) {
            gy_8(r0 + 2 * j, r1 + 2 * j, out);
            for (int e = 0; e < POSITIONS; e++) memcpy(o + e * es + j, &out[e], sizeof out[e]);
        }
        if (j < tw) {
            gy_8(r0 + 2 * j, r1 + 2 * j, out);
            for (int e = 0; e < POSITIONS; e++) store_part(o + e * es + j, &out[e], tw - j);
        }
    }
}

/* gw[o][c] = G^T W[.][o][c] G (conv_winograd_internal.h). */
void dl_wg_inverse_weights(const float *W, int64_t es, int64_t oc, int64_t c, float *gw) {
    for (int64_t o = 0; o < oc; o++)
        for (int64_t ci = 0; ci < c; ci++) {
            float m[4][4], t[3][4];
            for (int e = 0; e < POSITIONS; e++) m[e / 4][e % 4] = W[e * es + o * c + ci];
            for (int b = 0; b < 4; b++) { /* G^T m: rows */
                t[0][b] = m[0][b] + 0.5f * (m[1][b] + m[2][b]);
                t[1][b] = 0.5f * (m[1][b] - m[2][b]);
                t[2][b] = 0.5f * (m[1][b] + m[2][b]) + m[3][b];
            }
            float *k = gw + (o * c + ci) * 9;
            for (int a = 0; a < 3; a++) { /* (G^T m) G: columns */
                k[3 * a + 0] = t[a][0] + 0.5f * (t[a][1] + t[a][2]);
                k[3 * a + 1] = 0.5f * (t[a][1] - t[a][2]);
                k[3 * a + 2] = 0.5f * (t[a][1] + t[a][2]) + t[a][3];
            }
        }
}

/* Partial W of group k: chunks [k * chunks / groups, (k + 1) * chunks / groups) in order. */
static void wgrad_group(const dl_conv2d_geom *g, const wg_dims *d, const float *x, const float *gy, int64_t chunks,
                        int64_t groups, int64_t k, float *W, float *plane, float *rows, float *V, float *GY) {
    const int64_t cols = d->cols, plane_in = g->h * g->w, plane_out = g->oh * g->ow;
    int64_t c0 = chunks * k / groups, c1 = chunks * (k + 1) / groups;
    if (c0 == c1) memset(W, 0, sizeof(float) * (size_t)(POSITIONS * d->us));
    for (int64_t ch = c0; ch < c1; ch++) {
        int64_t i0 = ch * d->nb, nimg = g->n - i0 < d->nb ? g->n - i0 : d->nb;
        for (int64_t img = 0; img < nimg; img++) {
            for (int64_t c = 0; c < g->c; c++) {
                pad_plane(g, d, x + ((i0 + img) * g->c + c) * plane_in, plane);
                input_tiles(plane, d->pw, d->th, d->tw, V + c * cols + img * d->tiles, d->vs);
            }
            for (int64_t o = 0; o < g->oc; o++)
                gy_tiles(gy + ((i0 + img) * g->oc + o) * plane_out, g->oh, g->ow, d->th, d->tw,
                         GY + o * cols + img * d->tiles, d->ms, rows, d->pw);
        }
        for (int64_t e = 0; e < POSITIONS; e++)
            dl_sgemm(0, 1, g->oc, g->c, nimg * d->tiles, 1.0f, GY + e * d->ms, cols, V + e * d->vs, cols,
                     ch > c0 ? 1.0f : 0.0f, W + e * d->us, g->c);
    }
}

int dl_conv_winograd_bwd_weight(const dl_conv2d_geom *g, const float *x, const float *gy, float *gw) {
    if (dl_wg_wgrad16_fits(g)) return dl_wg_wgrad16(g, x, gy, gw); /* conv_winograd_wgrad.c */
    const wg_dims d = dims_of(g, &F2);
    const int64_t chunks = g->n > 0 ? (g->n + d.nb - 1) / d.nb : 0;
    const int64_t groups = chunks < WG_GROUPS ? (chunks > 0 ? chunks : 1) : WG_GROUPS;
    int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
    if (nt > groups) nt = (int)groups;
    /* Scratch: the groups' partials, then per thread a plane, two gy rows, V and GY. */
    const int64_t part = POSITIONS * d.us, rows = lines(2 * d.pw), each = d.pfloats + rows + d.vfloats + d.mfloats;
    float *buf = dl_scratch(DL_SCRATCH_WINOGRAD, groups * part + nt * each);
    if (!buf) return -1;
    float *slots = buf + groups * part;
    for (int t = 0; t < nt; t++) memset(slots + t * each, 0, sizeof(float) * (size_t)d.pfloats);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t k = 0; k < groups; k++) {
        float *s = slots + omp_get_thread_num() * each;
        float *V = s + d.pfloats + rows;
        wgrad_group(g, &d, x, gy, chunks, groups, k, buf + k * part, s, s + d.pfloats, V, V + d.vfloats);
    }
    for (int64_t k = 1; k < groups; k++) /* in group order, whoever summed them */
        for (int64_t i = 0; i < part; i++) buf[i] += buf[k * part + i];
    dl_wg_inverse_weights(buf, d.us, g->oc, g->c, gw);
    return 0;
}
