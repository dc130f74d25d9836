/* conv_winograd_cl_tiles.h — the 16-channel vector pieces that
 * conv_winograd_cl.c (batch 1) and conv_winograd_c16.c (the 16-channel
 * stage at batch >= 2) share: a 16x16 transpose and F(2x2, 3x3)'s input and
 * output transforms of one tile on 16 channels (B, A as conv_winograd.c).
 * Include inside an x86-64 GCC block after <immintrin.h>; every function is
 * always inlined into an AVX-512 function. */
#ifndef DLNRT_CONV_WINOGRAD_CL_TILES_H
#define DLNRT_CONV_WINOGRAD_CL_TILES_H

#define CL_INLINE static inline __attribute__((always_inline, target("avx512f")))

/* r[0..16) = the 16x16 block whose rows are r[0..16), transposed in place. */
CL_INLINE void transpose16(__m512 r[16]) {
    __m512 t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
        r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xee);
        r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xee);
    }
    for (int i = 0; i < 8; i++) {
        const int a = (i / 4) * 8 + i % 4;
        t[a] = _mm512_shuffle_f32x4(r[a], r[a + 4], 0x88);
        t[a + 4] = _mm512_shuffle_f32x4(r[a], r[a + 4], 0xdd);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
        r[i + 4] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0x88);
        r[i + 12] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0xdd);
    }
}

/* F(2x2)'s V[e][t][c0 .. c0 + 16) of one tile from its 4x4 pixels at p
 * (rows pw pixels, pixels C floats apart). */
CL_INLINE void in_tile2(const float *p, int64_t pw, int64_t C, float *v, int64_t vs) {
    __m512 d[4][4], s[4][4];
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 4; b++) d[a][b] = _mm512_loadu_ps(p + (a * pw + b) * C);
    for (int b = 0; b < 4; b++) { /* B^T d: rows */
        s[0][b] = _mm512_sub_ps(d[0][b], d[2][b]);
        s[1][b] = _mm512_add_ps(d[1][b], d[2][b]);
        s[2][b] = _mm512_sub_ps(d[2][b], d[1][b]);
        s[3][b] = _mm512_sub_ps(d[1][b], d[3][b]);
    }
    for (int a = 0; a < 4; a++) { /* (B^T d) B: columns */
        _mm512_storeu_ps(v + (4 * a + 0) * vs, _mm512_sub_ps(s[a][0], s[a][2]));
        _mm512_storeu_ps(v + (4 * a + 1) * vs, _mm512_add_ps(s[a][1], s[a][2]));
        _mm512_storeu_ps(v + (4 * a + 2) * vs, _mm512_sub_ps(s[a][2], s[a][1]));
        _mm512_storeu_ps(v + (4 * a + 3) * vs, _mm512_sub_ps(s[a][1], s[a][3]));
    }
}

/* F(2x2)'s 2x2 outputs of one tile for 16 channels, from m (positions ms
 * apart) to o (rows ow pixels, pixels OC floats apart). */
CL_INLINE void out_tile2(const float *m, int64_t ms, int64_t ow, int64_t OC, float *o) {
    __m512 s[2][4];
    for (int b = 0; b < 4; b++) { /* A^T m: rows */
        const __m512 m0 = _mm512_loadu_ps(m + b * ms), m1 = _mm512_loadu_ps(m + (4 + b) * ms);
        const __m512 m2 = _mm512_loadu_ps(m + (8 + b) * ms), m3 = _mm512_loadu_ps(m + (12 + b) * ms);
        s[0][b] = _mm512_add_ps(_mm512_add_ps(m0, m1), m2);
        s[1][b] = _mm512_sub_ps(_mm512_sub_ps(m1, m2), m3);
    }
    for (int a = 0; a < 2; a++) { /* (A^T m) A: columns */
        _mm512_storeu_ps(o + (a * ow) * OC, _mm512_add_ps(_mm512_add_ps(s[a][0], s[a][1]), s[a][2]));
        _mm512_storeu_ps(o + (a * ow + 1) * OC, _mm512_sub_ps(_mm512_sub_ps(s[a][1], s[a][2]), s[a][3]));
    }
}

#endif
