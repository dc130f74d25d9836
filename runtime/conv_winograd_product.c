/* conv_winograd_product.c — Winograd's per-position products at batch 1
 * when a plane's tiles are exactly one 16-lane vector: M[oc x 16] =
 * U[oc x c] @ V[c x 16] (ResNet-20's 64-channel 8x8 stage on F(2x2) and
 * 32-channel 16x16 stage on F(4x4)).
 *
 * Why: conv_pointwise.c's register tiles are 6 rows x NV vectors; with one
 * vector of columns they hold 6 accumulators, fewer than the FMA units'
 * latency x throughput (4 x 2) needs, so those products ran latency-bound.
 * Here tiles of 12 rows x 1 vector: 12 independent accumulators, one load
 * of V's row and 12 broadcasts of U per 12 FMAs. Row counts that are a
 * multiple of 16 (ResNet's 32 and 64) take tiles of 16 instead: 64 rows as
 * 5 x 12 + 4 left a 4-row tile running at half the FMA rate, and 32 as
 * 12 + 12 + 8 a third tile; 16-row tiles measured 3-4% faster there
 * (docs/performance.md, "ResNet-20 batch-1 inference: the padded plane's
 * copy and 16-row products"). Each output is the sum over channels in
 * order, as before: the same at any thread count.
 *
 * dl_wg_product32 does the same for 32 tiles (a batch-1 band of half of
 * ResNet-20's 16-channel 32x32 plane, conv_winograd.c's run_band), where
 * conv_pointwise.c's 6-row x 1-vector tiles were latency-bound too: tiles
 * of 8 rows x 2 vectors.
 *
 * AVX-512 only (chosen at run time); elsewhere conv_pointwise.c's kernel
 * (dl_pw_matmul_isa) computes the same product. */
#pragma GCC optimize("O3", "fp-contract=fast")
#pragma GCC diagnostic ignored "-Wpsabi" /* vectors are passed only between always-inlined helpers */
#include <string.h>

#include "conv_pointwise_internal.h"
#include "conv_winograd_internal.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define WP_MR 12
#define WP_MR16 16
#define WP_MR32 8 /* 32 columns: 8 rows x 2 vectors, 16 accumulators */
#define WP_INLINE static inline __attribute__((always_inline, target("avx512f")))
typedef float wp_v16 __attribute__((vector_size(64)));

/* Rows [0, MR) of M (16 columns, rows 16 apart) from U's rows (rs apart) and V (rows 16 apart). */
WP_INLINE void wp_tile(const int MR, int64_t K, const float *restrict u, int64_t rs, const float *restrict v,
                       float *restrict m) {
    wp_v16 acc[WP_MR16];
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) acc[i] = (wp_v16){0};
    for (int64_t k = 0; k < K; k++) {
        wp_v16 x;
        memcpy(&x, v + k * 16, sizeof x);
#pragma GCC unroll 16
        for (int i = 0; i < MR; i++) acc[i] += u[i * rs + k] * x;
    }
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) memcpy(m + i * 16, &acc[i], sizeof acc[i]);
}

/* Rows [0, MR) of a 32-column M (rows 32 apart) from U and V (rows 32
 * apart): MR x 2 accumulators, two loads of V's row and MR broadcasts per
 * 2 MR FMAs. Each output the same sum in the same order as wp_tile's. */
WP_INLINE void wp_tile32(const int MR, int64_t K, const float *restrict u, int64_t rs, const float *restrict v,
                         float *restrict m) {
    wp_v16 acc[WP_MR32][2];
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = (wp_v16){0};
    for (int64_t k = 0; k < K; k++) {
        wp_v16 x0, x1;
        memcpy(&x0, v + k * 32, sizeof x0);
        memcpy(&x1, v + k * 32 + 16, sizeof x1);
#pragma GCC unroll 16
        for (int i = 0; i < MR; i++) acc[i][0] += u[i * rs + k] * x0, acc[i][1] += u[i * rs + k] * x1;
    }
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) memcpy(m + i * 32, acc[i], sizeof acc[i]);
}

__attribute__((target("avx512f"))) static void wp_product32(int64_t M, int64_t K, const float *U, const float *V,
                                                            float *Mo) {
    int64_t i = 0;
    for (; i + WP_MR32 <= M; i += WP_MR32) wp_tile32(WP_MR32, K, U + i * K, K, V, Mo + i * 32);
    if (i + 4 <= M) wp_tile32(4, K, U + i * K, K, V, Mo + i * 32), i += 4;
    for (; i < M; i++) wp_tile32(1, K, U + i * K, K, V, Mo + i * 32);
}

__attribute__((target("avx512f"))) static void wp_product(int64_t M, int64_t K, const float *U, const float *V,
                                                          float *Mo) {
    int64_t i = 0;
    if (M % WP_MR16 == 0)
        for (; i < M; i += WP_MR16) wp_tile(WP_MR16, K, U + i * K, K, V, Mo + i * 16);
    for (; i + WP_MR <= M; i += WP_MR) wp_tile(WP_MR, K, U + i * K, K, V, Mo + i * 16);
    if (i + 8 <= M) wp_tile(8, K, U + i * K, K, V, Mo + i * 16), i += 8;
    if (i + 4 <= M) wp_tile(4, K, U + i * K, K, V, Mo + i * 16), i += 4;
    for (; i < M; i++) wp_tile(1, K, U + i * K, K, V, Mo + i * 16);
}
#endif

static int wp_on = 1;

int dl_wg_product16_enable(int on) {
    int was = wp_on;
    wp_on = on;
    return was;
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
/* Whether the AVX-512 tiles run: the CPU has them and the tests left them on. */
static int wp_avx512(void) {
    __builtin_cpu_init();
    return wp_on && __builtin_cpu_supports("avx512f");
}
#endif

/* M[M x cols] = U @ V, cols 16 or 32: the AVX-512 tiles, else conv_pointwise.c's. */
static void product(int64_t M, int64_t K, int cols, const float *U, const float *V, float *Mo) {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
    if (wp_avx512()) {
        if (cols == 16) wp_product(M, K, U, V, Mo);
        else wp_product32(M, K, U, V, Mo);
        return;
    }
#endif
    dl_pw_matmul_isa(DL_GEMV_BEST, M, K, cols, U, K, 1, V, Mo, 0);
}

void dl_wg_product16(int64_t M, int64_t K, const float *U, const float *V, float *Mo) { product(M, K, 16, U, V, Mo); }

void dl_wg_product32(int64_t M, int64_t K, const float *U, const float *V, float *Mo) { product(M, K, 32, U, V, Mo); }
