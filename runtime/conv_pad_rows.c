/* conv_pad_rows.c — a plane's rows copied into the inside of a zero-bordered
 * plane (conv_winograd.c's pad_plane): dst[r * ds + q] = src[r * ss + q].
 *
 * Why: Winograd's transforms read 4x4 or 6x6 tiles of a plane with its
 * padding in place, so each input plane is copied into one first. At
 * ResNet-20's batch 1 that copy was 5.8% of the forward (docs/performance.md,
 * "ResNet-20 batch-1 inference: the padded plane copy ..."): the runtime is
 * built for baseline x86-64, so the copy went 8 floats at a time through two
 * 16-byte moves, with the row arithmetic per 8 floats. Here a row of 32
 * (16, 8) floats is two (one, one masked) 64-byte moves on AVX-512, or
 * 32-byte moves with a masked tail on AVX2, chosen at run time; the plain
 * loop elsewhere. A copy: the same bits on every path. */
#include <string.h>

#include "conv_pad_rows_internal.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>

__attribute__((target("avx512f"))) static void rows_avx512(const float *restrict src, int64_t ss, float *restrict dst,
                                                           int64_t ds, int64_t rows, int64_t n) {
    const __mmask16 tail = (__mmask16)((1u << (n % 16)) - 1);
    for (int64_t r = 0; r < rows; r++) {
        const float *s = src + r * ss;
        float *d = dst + r * ds;
        int64_t q = 0;
        for (; q + 16 <= n; q += 16) _mm512_storeu_ps(d + q, _mm512_loadu_ps(s + q));
        if (tail) _mm512_mask_storeu_ps(d + q, tail, _mm512_maskz_loadu_ps(tail, s + q));
    }
}

__attribute__((target("avx2"))) static void rows_avx2(const float *restrict src, int64_t ss, float *restrict dst,
                                                      int64_t ds, int64_t rows, int64_t n) {
    /* lanes below n % 8 set: the masked load and store of a row's tail */
    const __m256i tail = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n % 8)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    for (int64_t r = 0; r < rows; r++) {
        const float *s = src + r * ss;
        float *d = dst + r * ds;
        int64_t q = 0;
        for (; q + 8 <= n; q += 8) _mm256_storeu_ps(d + q, _mm256_loadu_ps(s + q));
        if (n % 8) _mm256_maskstore_ps(d + q, tail, _mm256_maskload_ps(s + q, tail));
    }
}
#endif

static void rows_plain(const float *restrict src, int64_t ss, float *restrict dst, int64_t ds, int64_t rows,
                       int64_t n) {
    for (int64_t r = 0; r < rows; r++) memcpy(dst + r * ds, src + r * ss, sizeof(float) * (size_t)n);
}

void dl_pad_rows_isa(int isa, const float *src, int64_t ss, float *dst, int64_t ds, int64_t rows, int64_t n) {
    if (rows <= 0 || n <= 0) return;
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
    __builtin_cpu_init();
    if (isa >= DL_PAD_ROWS_AVX512 && __builtin_cpu_supports("avx512f")) {
        rows_avx512(src, ss, dst, ds, rows, n);
        return;
    }
    if (isa >= DL_PAD_ROWS_AVX2 && __builtin_cpu_supports("avx2")) {
        rows_avx2(src, ss, dst, ds, rows, n);
        return;
    }
#endif
    (void)isa;
    rows_plain(src, ss, dst, ds, rows, n);
}

void dl_pad_rows(const float *src, int64_t ss, float *dst, int64_t ds, int64_t rows, int64_t n) {
    dl_pad_rows_isa(DL_PAD_ROWS_AVX512, src, ss, dst, ds, rows, n);
}
