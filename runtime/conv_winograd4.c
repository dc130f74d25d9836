/* conv_winograd4.c — the transforms of Winograd F(4x4, 3x3) (Lavin & Gray
 * 2015, interpolation points 0, +-1, +-2, infinity); conv_winograd.c runs
 * them through the same chunks, GEMMs and threads as F(2x2, 3x3).
 *
 * Why: a 4x4 output tile from a 6x6 input tile takes 36 multiplies per
 * (input channel, output channel) instead of the direct sum's 144 (4x
 * fewer; F(2x2) saves 2.25x), at the price of transforms with coefficients
 * up to 8 (input) and 1/24 (weights) that cost some accuracy: ~3e-6
 * relative to the output's scale against F(2x2)'s ~1e-7 (tests/unit/
 * test_conv_winograd.c bounds it at 2e-5).
 *
 *   B^T = [4  0 -5  0 1 0;  0 -4 -4  1 1 0;  0  4 -4 -1 1 0;
 *          0 -2 -1  2 1 0;  0  2 -1 -2 1 0;  0  4  0 -5 0 1]
 *   G   = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6;
 *          1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
 *   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
 *
 * Vectors hold 8 tiles as two halves of 4 tiles of one tile row each (a
 * 16x16 output has rows of exactly 4 tiles; an 8x8 one rows of 2, whose
 * half is then half empty). */
#pragma GCC optimize("O3", "fp-contract=fast")
#pragma GCC diagnostic ignored "-Wpsabi"
#include <string.h>

#include "conv_winograd_internal.h"
#include "conv_winograd_vec.h"
#include "conv_winograd4_math.h"

void dl_wg4_weights(const float *w, int64_t oc, int64_t c, float *U, int64_t es) {
    for (int64_t o = 0; o < oc; o++)
        for (int64_t ci = 0; ci < c; ci++) {
            const float *k = w + (o * c + ci) * 9;
            float t[6][3], u[6][6];
            for (int b = 0; b < 3; b++) { /* G k: rows */
                float k0 = k[b], k1 = k[3 + b], k2 = k[6 + b];
                t[0][b] = k0 / 4;
                t[1][b] = -(k0 + k1 + k2) / 6;
                t[2][b] = -(k0 - k1 + k2) / 6;
                t[3][b] = k0 / 24 + k1 / 12 + k2 / 6;
                t[4][b] = k0 / 24 - k1 / 12 + k2 / 6;
                t[5][b] = k2;
            }
            for (int a = 0; a < 6; a++) { /* (G k) G^T: columns */
                float k0 = t[a][0], k1 = t[a][1], k2 = t[a][2];
                u[a][0] = k0 / 4;
                u[a][1] = -(k0 + k1 + k2) / 6;
                u[a][2] = -(k0 - k1 + k2) / 6;
                u[a][3] = k0 / 24 + k1 / 12 + k2 / 6;
                u[a][4] = k0 / 24 - k1 / 12 + k2 / 6;
                u[a][5] = k2;
            }
            for (int e = 0; e < WG4_POSITIONS; e++) U[e * es + o * c + ci] = u[e / 6][e % 6];
        }
}

/* Column k (0..5) of 8 tiles: lanes 0..3 = ra[4j + k], 4..7 = rb[4j + k]. */
static INLINE wg_v8 column(const float *ra, const float *rb, int k) {
    wg_v8 a0 = load8(ra + k), a1 = load8(ra + k + 8), b0 = load8(rb + k), b1 = load8(rb + k + 8);
    wg_v8 ha = __builtin_shufflevector(a0, a1, 0, 4, 8, 12, 0, 4, 8, 12);
    wg_v8 hb = __builtin_shufflevector(b0, b1, 0, 4, 8, 12, 0, 4, 8, 12);
    return __builtin_shufflevector(ha, hb, 0, 1, 2, 3, 8, 9, 10, 11);
}

/* (B^T d B)[e] of the 8 tiles whose halves start at padded rows ra, rb. */
static INLINE void input_8(const float *ra, const float *rb, int64_t pw, wg_v8 out[WG4_POSITIONS]) {
    wg_v8 t[6][6]; /* t[k][a] = (B^T d)[a][k] */
    for (int k = 0; k < 6; k++) {
        wg_v8 d[6];
        for (int r = 0; r < 6; r++) d[r] = column(ra + r * pw, rb + r * pw, k);
        WG4_BT6(d, t[k]);
    }
    for (int a = 0; a < 6; a++) {
        wg_v8 row[6] = {t[0][a], t[1][a], t[2][a], t[3][a], t[4][a], t[5][a]}, o[6];
        WG4_BT6(row, o);
        for (int b = 0; b < 6; b++) out[6 * a + b] = o[b];
    }
}

/* dst[0 .. n) = lanes [lane, lane + n) of v. */
static INLINE void store_lanes(float *dst, wg_v8 v, int lane, int64_t n) {
    float t[8];
    memcpy(t, &v, sizeof t);
    for (int64_t q = 0; q < n; q++) dst[q] = t[lane + q];
}

/* A tile row's half blocks (4 tiles each) numbered h = ti * hb + j / 4. */
WG_CLONES void dl_wg4_input_tiles(const float *restrict p, int64_t pw, int64_t th, int64_t tw, float *restrict v,
                                  int64_t es) {
    if (dl_wg4_x16_input(p, pw, th, tw, v, es)) return; /* conv_winograd4_x16.c */
    const int64_t hb = (tw + 3) / 4, halves = th * hb;
    for (int64_t h = 0; h < halves; h += 2) {
        int64_t ti[2] = {h / hb, (h + 1) / hb}, j[2] = {h % hb * 4, (h + 1) % hb * 4};
        const int two = h + 1 < halves;
        const float *ra = p + 4 * ti[0] * pw + 4 * j[0], *rb = two ? p + 4 * ti[1] * pw + 4 * j[1] : ra;
        wg_v8 out[WG4_POSITIONS];
        input_8(ra, rb, pw, out);
        int64_t n0 = tw - j[0] < 4 ? tw - j[0] : 4, n1 = two ? (tw - j[1] < 4 ? tw - j[1] : 4) : 0;
        int64_t t0 = ti[0] * tw + j[0], t1 = ti[1] * tw + j[1];
        if (n0 == 4 && n1 == 4) /* two whole halves: tiles t0 .. t0 + 7 (rows of a multiple of 4 tiles) */
            for (int e = 0; e < WG4_POSITIONS; e++) memcpy(v + e * es + t0, &out[e], sizeof out[e]);
        else
            for (int e = 0; e < WG4_POSITIONS; e++) {
                store_lanes(v + e * es + t0, out[e], 0, n0);
                store_lanes(v + e * es + t1, out[e], 4, n1);
            }
    }
}

/* Output rows of 16 floats (4 tiles x 4 columns) from a row's 4 column
 * vectors c[b]: r[0] = half 0's row, r[1] = half 1's, 16 floats each. */
static INLINE void interleave(const wg_v8 c[4], wg_v8 r[2][2]) {
    wg_v8 lo01 = __builtin_shufflevector(c[0], c[1], 0, 8, 1, 9, 2, 10, 3, 11);
    wg_v8 lo23 = __builtin_shufflevector(c[2], c[3], 0, 8, 1, 9, 2, 10, 3, 11);
    wg_v8 hi01 = __builtin_shufflevector(c[0], c[1], 4, 12, 5, 13, 6, 14, 7, 15);
    wg_v8 hi23 = __builtin_shufflevector(c[2], c[3], 4, 12, 5, 13, 6, 14, 7, 15);
    r[0][0] = __builtin_shufflevector(lo01, lo23, 0, 1, 8, 9, 2, 3, 10, 11);
    r[0][1] = __builtin_shufflevector(lo01, lo23, 4, 5, 12, 13, 6, 7, 14, 15);
    r[1][0] = __builtin_shufflevector(hi01, hi23, 0, 1, 8, 9, 2, 3, 10, 11);
    r[1][1] = __builtin_shufflevector(hi01, hi23, 4, 5, 12, 13, 6, 7, 14, 15);
}

/* dst[0 .. n) = the first n of the 16 floats r[0], r[1]. */
static INLINE void store16(float *dst, const wg_v8 r[2], int64_t n) {
    if (n == 16) {
        memcpy(dst, r, 16 * sizeof(float));
        return;
    }
    float t[16];
    memcpy(t, r, sizeof t);
    for (int64_t q = 0; q < n; q++) dst[q] = t[q];
}

/* One output plane from its tiles' products m[e * es + t], m readable 8
 * floats past the last tile (conv_winograd.c's dims_of pads it). */
WG_CLONES void dl_wg4_output_tiles(const float *restrict m, int64_t es, int64_t oh, int64_t ow, int64_t tw,
                                   float *restrict y) {
    if (dl_wg4_x16_output(m, es, oh, ow, tw, y)) return; /* conv_winograd4_x16.c */
    const int64_t hb = (tw + 3) / 4, th = (oh + 3) / 4, halves = th * hb;
    for (int64_t h = 0; h < halves; h += 2) {
        int64_t ti[2] = {h / hb, (h + 1) / hb}, j[2] = {h % hb * 4, (h + 1) % hb * 4};
        const int two = h + 1 < halves;
        const float *ma = m + ti[0] * tw + j[0], *mb = m + ti[1] * tw + j[1];
        wg_v8 s[4][6]; /* s[a][b] = (A^T m)[a][b] */
        for (int b = 0; b < 6; b++) {
            wg_v8 col[6], o[4];
            for (int i = 0; i < 6; i++) {
                const int64_t e = (6 * i + b) * es;
                wg_v8 lo = load8(ma + e), hi = load8(mb + e);
                col[i] = __builtin_shufflevector(lo, hi, 0, 1, 2, 3, 8, 9, 10, 11);
            }
            WG4_AT6(col, o);
            for (int a = 0; a < 4; a++) s[a][b] = o[a];
        }
        for (int a = 0; a < 4; a++) {
            wg_v8 c[4], r[2][2];
            WG4_AT6(s[a], c);
            interleave(c, r);
            for (int half = 0; half < 1 + two; half++) {
                int64_t row = 4 * ti[half] + a, n = ow - 4 * j[half];
                if (row < oh) store16(y + row * ow + 4 * j[half], r[half], n < 16 ? n : 16);
            }
        }
    }
}
