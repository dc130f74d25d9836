/* conv_winograd4_x16.c — F(4x4, 3x3)'s input and output transforms with
 * 16 tiles to an AVX-512 vector, for planes of whole 16x16 blocks (batch-1
 * inference's F(4x4) planes, conv_winograd.c's dl_conv_winograd_tile).
 *
 * Why: after F(4x4) cut the products, its transforms in conv_winograd4.c
 * were 31% of ResNet-20's batch-1 forward (docs/performance.md, "ResNet-20
 * batch-1 inference: fewer multiplies"): 8 tiles to a vector, each tile
 * column gathered with 3 shuffles. On these planes 16 consecutive tiles are
 * four whole half blocks of 4 (tile rows a multiple of 4 tiles long), so
 * one 16-lane vector takes all four at the same 3 shuffles a column, the
 * arithmetic and the stores are half as many, and the products' 16 floats
 * of a position are one load for the output transform. Same formulas in
 * the same order as conv_winograd4.c (conv_winograd4_math.h), so the same
 * values up to the contraction of the multiply-adds.
 *
 * Compiled for AVX-512 only and chosen at run time; elsewhere (and with
 * dl_wg4_x16_enable(0), for the tests) conv_winograd4.c's 8-tile code runs. */
#pragma GCC optimize("O3", "fp-contract=fast")
#pragma GCC diagnostic ignored "-Wpsabi" /* vectors are passed only between always-inlined helpers */
#include <string.h>

#include "conv_winograd_internal.h"
#include "conv_winograd4_math.h"

static int x16_on = 1;

int dl_wg4_x16_enable(int on) {
    int was = x16_on;
    x16_on = on;
    return was;
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define X16 __attribute__((target("avx512f")))
#define X16_INLINE static inline __attribute__((always_inline, target("avx512f")))
typedef float wg_v16 __attribute__((vector_size(64)));

X16_INLINE wg_v16 load16(const float *p) {
    wg_v16 v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Whether planes of th x tw tiles are whole groups of 4 half blocks and this CPU has AVX-512. */
static int x16_fits(int64_t th, int64_t tw) {
    if (!x16_on || tw % 4 || (th * tw) % 16) return 0;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
}

/* Column k (0..5) of 16 tiles: lanes 4h .. 4h + 3 = r[h][4j + k], j = 0..3. */
X16_INLINE wg_v16 column16(const float *const r[4], int64_t off, int k) {
    wg_v16 a = load16(r[0] + off + k), b = load16(r[1] + off + k);
    wg_v16 c = load16(r[2] + off + k), d = load16(r[3] + off + k);
    wg_v16 ab = __builtin_shufflevector(a, b, 0, 4, 8, 12, 16, 20, 24, 28, 0, 0, 0, 0, 0, 0, 0, 0);
    wg_v16 cd = __builtin_shufflevector(c, d, 0, 4, 8, 12, 16, 20, 24, 28, 0, 0, 0, 0, 0, 0, 0, 0);
    return __builtin_shufflevector(ab, cd, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
}

/* The 4 half blocks from h0: their first padded row (input) or tile row and column (output). */
X16_INLINE void halves(int64_t h0, int64_t tw, int64_t ti[4], int64_t j[4]) {
    const int64_t hb = tw / 4;
    for (int h = 0; h < 4; h++) ti[h] = (h0 + h) / hb, j[h] = (h0 + h) % hb * 4;
}

X16 static void input16(const float *restrict p, int64_t pw, int64_t th, int64_t tw, float *restrict v, int64_t es) {
    for (int64_t h0 = 0; h0 < th * tw / 4; h0 += 4) {
        int64_t ti[4], j[4];
        halves(h0, tw, ti, j);
        const float *r[4];
        for (int h = 0; h < 4; h++) r[h] = p + 4 * ti[h] * pw + 4 * j[h];
        wg_v16 t[6][6]; /* t[k][a] = (B^T d)[a][k] */
        for (int k = 0; k < 6; k++) {
            wg_v16 d[6];
            for (int q = 0; q < 6; q++) d[q] = column16(r, q * pw, k);
            WG4_BT6(d, t[k]);
        }
        for (int a = 0; a < 6; a++) {
            wg_v16 row[6] = {t[0][a], t[1][a], t[2][a], t[3][a], t[4][a], t[5][a]}, o[6];
            WG4_BT6(row, o);
            for (int b = 0; b < 6; b++) memcpy(v + (6 * a + b) * es + 4 * h0, &o[b], sizeof o[b]);
        }
    }
}

X16 static void output16(const float *restrict m, int64_t es, int64_t ow, int64_t th, int64_t tw, float *restrict y) {
    for (int64_t h0 = 0; h0 < th * tw / 4; h0 += 4) {
        int64_t ti[4], j[4];
        halves(h0, tw, ti, j);
        wg_v16 s[4][6]; /* s[a][b] = (A^T m)[a][b] */
        for (int b = 0; b < 6; b++) {
            wg_v16 col[6], o[4];
            for (int i = 0; i < 6; i++) col[i] = load16(m + (6 * i + b) * es + 4 * h0);
            WG4_AT6(col, o);
            for (int a = 0; a < 4; a++) s[a][b] = o[a];
        }
        for (int a = 0; a < 4; a++) {
            wg_v16 c[4];
            WG4_AT6(s[a], c);
            /* half h's output row: c[0..3] lanes 4h .. 4h + 3 interleaved (a 4x4 transpose per half) */
            wg_v16 lo01 = __builtin_shufflevector(c[0], c[1], 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
            wg_v16 hi01 = __builtin_shufflevector(c[0], c[1], 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
            wg_v16 lo23 = __builtin_shufflevector(c[2], c[3], 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
            wg_v16 hi23 = __builtin_shufflevector(c[2], c[3], 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
            wg_v16 r[4] = {
                __builtin_shufflevector(lo01, lo23, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23),
                __builtin_shufflevector(lo01, lo23, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31),
                __builtin_shufflevector(hi01, hi23, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23),
                __builtin_shufflevector(hi01, hi23, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31),
            };
            for (int h = 0; h < 4; h++) memcpy(y + (4 * ti[h] + a) * ow + 4 * j[h], &r[h], sizeof r[h]);
        }
    }
}

int dl_wg4_x16_input(const float *p, int64_t pw, int64_t th, int64_t tw, float *v, int64_t es) {
    if (!x16_fits(th, tw)) return 0;
    input16(p, pw, th, tw, v, es);
    return 1;
}

int dl_wg4_x16_output(const float *m, int64_t es, int64_t oh, int64_t ow, int64_t tw, float *y) {
    const int64_t th = (oh + 3) / 4;
    if (oh % 4 || ow != 4 * tw || !x16_fits(th, tw)) return 0;
    output16(m, es, ow, th, tw, y);
    return 1;
}
#else
int dl_wg4_x16_input(const float *p, int64_t pw, int64_t th, int64_t tw, float *v, int64_t es) {
    (void)p, (void)pw, (void)th, (void)tw, (void)v, (void)es;
    return 0;
}

int dl_wg4_x16_output(const float *m, int64_t es, int64_t oh, int64_t ow, int64_t tw, float *y) {
    (void)m, (void)es, (void)oh, (void)ow, (void)tw, (void)y;
    return 0;
}
#endif
