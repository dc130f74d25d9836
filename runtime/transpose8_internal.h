/* transpose8_internal.h — an 8x8 float block transposed in registers
 * (runtime only): dl_sgemm's transposing packs (gemm.c) and the stride-2
 * weight gradient's pixel-major gy (conv_s2_wgrad.c). Header-only and
 * always inlined, so each caller's target clones get their own ISA's
 * shuffles. */
#ifndef DLNRT_TRANSPOSE8_INTERNAL_H
#define DLNRT_TRANSPOSE8_INTERNAL_H
#include <stdint.h>
#include <string.h>

typedef float dl_t8 __attribute__((vector_size(32)));

/* d[k * ld_dst + i] = s[i * ld_src + k] for i, k < 8: rows i..i+7, columns k..k+7. Three
 * rounds of two-vector shuffles (unpack pairs, then quads, then halves). */
static inline __attribute__((always_inline)) void
dl_transpose_8x8(const float *s, int64_t ld_src, float *d, int64_t ld_dst)
{
    dl_t8 r[8], t[8], u[8];
    for (int k = 0; k < 8; k++) memcpy(&r[k], s + k * ld_src, sizeof r[k]);
    for (int k = 0; k < 8; k += 2) {
        t[k] = __builtin_shufflevector(r[k], r[k + 1], 0, 8, 1, 9, 4, 12, 5, 13);
        t[k + 1] = __builtin_shufflevector(r[k], r[k + 1], 2, 10, 3, 11, 6, 14, 7, 15);
    }
    for (int k = 0; k < 8; k += 4)
        for (int h = 0; h < 2; h++) {
            u[k + 2 * h] = __builtin_shufflevector(t[k + h], t[k + h + 2], 0, 1, 8, 9, 4, 5, 12, 13);
            u[k + 2 * h + 1] = __builtin_shufflevector(t[k + h], t[k + h + 2], 2, 3, 10, 11, 6, 7, 14, 15);
        }
    for (int k = 0; k < 4; k++) {   /* u[k] holds columns k and k+4 of rows 0-3, u[k+4] of rows 4-7 */
        const dl_t8 lo = __builtin_shufflevector(u[k], u[k + 4], 0, 1, 2, 3, 8, 9, 10, 11);
        const dl_t8 hi = __builtin_shufflevector(u[k], u[k + 4], 4, 5, 6, 7, 12, 13, 14, 15);
        memcpy(d + k * ld_dst, &lo, sizeof lo);
        memcpy(d + (k + 4) * ld_dst, &hi, sizeof hi);
    }
}

#endif
