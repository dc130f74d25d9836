/* conv_pointwise.c — 1x1 convolutions with few channels on one side, without
 * packing: MobileNetV2's expand (16 -> 96) and project (96 -> 16) layers.
 *
 * In NCHW a 1x1 convolution is, per image, y[oc x P] = W[oc x c] @ x[c x P]
 * with P = h * w: x is already the right-hand matrix. dl_sgemm packs both
 * operands into panels first, which pays when the product is deep and wide;
 * with K = 16 (or 16 rows) packing x costs about as much as the multiply
 * (the per-layer profile had these layers at 25-39% of the FMA peak). Here
 *
 *   forward / data gradient   an MR x (NV x 16) register tile of y: for each
 *       k, NV vectors of row k of x loaded in place and MR weights
 *       broadcast, MR x NV FMAs. Pixel blocks outside, row tiles inside, so
 *       the block of x (K rows of NV x 16 floats) stays in L1 while every
 *       row tile reads it. The data gradient is the same product with
 *       a = W^T, read with swapped strides (a broadcast does not care).
 *   weight gradient   gw[oc x c] = sum over images of gy @ x^T: an
 *       RW x CW tile of gw held as RW x CW 16-lane accumulators, fed by
 *       RW rows of gy and CW rows of x read in place, 16 pixels at a time;
 *       lanes are summed (a fixed tree) once per group of images, groups
 *       sized so a group's rows stay in L2 (one image at 32x32, several at
 *       4x4, where per-image lane sums would cost as much as the FMAs).
 *
 * Pixels past the last whole vector (planes whose size is not a multiple of
 * 16) go through plain scalar loops. Everything is plain C over GCC's vector
 * extension, compiled for AVX-512, AVX2 + FMA and baseline x86-64 with
 * `target` attributes and chosen at run time (as gemm_small.c does); tile
 * sizes differ per variant (32 zmm registers against 16 ymm or xmm). Each
 * kernel is serial: conv.c shares images out over threads, and the weight
 * gradient's images in chunks fixed by the geometry, so results do not
 * depend on the thread count. */
#pragma GCC optimize("O3", "fp-contract=fast")
#include <omp.h>
#include <string.h>

#include "conv_pointwise_internal.h"

/* Helpers taking or returning 64-byte vectors are always inlined into one
 * target's function, so no call passes one (GCC's ABI note does not apply). */
#pragma GCC diagnostic ignored "-Wpsabi"
#define PW_INLINE static inline __attribute__((always_inline))
#define PW_LANES 16
/* Largest tiles of any variant; the arrays are sized by these constants
 * (not by the tile parameters, which would make them VLAs that GCC keeps
 * in memory) and the loops over them unrolled, so tiles live in registers. */
#define PW_MR_MAX 6
#define PW_NV_MAX 4
#define PW_UNROLL _Pragma("GCC unroll 8")
typedef float pw_v __attribute__((vector_size(PW_LANES * sizeof(float))));

/* Weight gradient: floats of gy and x rows one group of images may span
 * (1 MB: about L2 on the AVX-512 machines we run on, half in L3 on Zen3; 256 KB
 * measured no better at 4x4 planes, where lane sums per group then cost). */
#define PW_GROUP_FLOATS (256 * 1024)
/* With fewer images than threads, an image above this many multiply-adds
 * goes to dl_sgemm, which splits it over the threads (conv.c's bound). */
#define PW_SERIAL_MACS (1 << 21)

PW_INLINE pw_v pw_load(const float *p)
{
    pw_v v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* A fixed tree of half-vector adds, the same in every variant (lane
 * indexing instead compiled to a chain of extracts and inserts). */
PW_INLINE float pw_hsum(pw_v v)
{
    typedef float v8 __attribute__((vector_size(32)));
    typedef float v4 __attribute__((vector_size(16)));
    v8 h = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) +
           __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
    v4 q = __builtin_shufflevector(h, h, 0, 1, 2, 3) + __builtin_shufflevector(h, h, 4, 5, 6, 7);
    return (q[0] + q[2]) + (q[1] + q[3]);
}

/* ---- forward and data gradient ------------------------------------------ */

/* y[0:MR, 0:NV*16] of y = A @ x (row strides P), as the top describes. */
PW_INLINE void pw_tile(const int MR, const int NV, int64_t K, int64_t P, const float *restrict a, int64_t rs,
                       int64_t ks, const float *restrict x, float *restrict y)
{
    pw_v acc[PW_MR_MAX][PW_NV_MAX];
    PW_UNROLL
    for (int i = 0; i < MR; i++)
        PW_UNROLL
        for (int v = 0; v < NV; v++) acc[i][v] = (pw_v){0};
    for (int64_t k = 0; k < K; k++) {
        pw_v xv[PW_NV_MAX];
        PW_UNROLL
        for (int v = 0; v < NV; v++) xv[v] = pw_load(x + k * P + v * PW_LANES);
        PW_UNROLL
        for (int i = 0; i < MR; i++) {
            const float s = a[i * rs + k * ks];
            PW_UNROLL
            for (int v = 0; v < NV; v++) acc[i][v] += s * xv[v];
        }
    }
    PW_UNROLL
    for (int i = 0; i < MR; i++)
        PW_UNROLL
        for (int v = 0; v < NV; v++) memcpy(y + i * P + v * PW_LANES, &acc[i][v], sizeof(pw_v));
}

/* All M rows of one NV x 16 pixel block: tiles of MR rows, then 4, 2, 1. */
PW_INLINE void pw_block(const int MR, const int NV, int64_t M, int64_t K, int64_t P, const float *a, int64_t rs,
                        int64_t ks, const float *x, float *y)
{
    int64_t i = 0;
    for (; i + MR <= M; i += MR) pw_tile(MR, NV, K, P, a + i * rs, rs, ks, x, y + i * P);
    if (MR > 4 && i + 4 <= M) pw_tile(4, NV, K, P, a + i * rs, rs, ks, x, y + i * P), i += 4;
    if (MR > 2 && i + 2 <= M) pw_tile(2, NV, K, P, a + i * rs, rs, ks, x, y + i * P), i += 2;
    for (; i < M; i++) pw_tile(1, NV, K, P, a + i * rs, rs, ks, x, y + i * P);
}

PW_INLINE void pw_matmul_body(const int MR, const int NV, int64_t M, int64_t K, int64_t P, const float *a,
                              int64_t rs, int64_t ks, const float *x, float *y)
{
    int64_t p = 0;
    for (; p + NV * PW_LANES <= P; p += NV * PW_LANES) pw_block(MR, NV, M, K, P, a, rs, ks, x + p, y + p);
    for (; p + PW_LANES <= P; p += PW_LANES) pw_block(MR, 1, M, K, P, a, rs, ks, x + p, y + p);
    for (int64_t i = 0; i < M && p < P; i++)
        for (int64_t q = p; q < P; q++) {
            float s = 0.0f;
            for (int64_t k = 0; k < K; k++) s += a[i * rs + k * ks] * x[k * P + q];
            y[i * P + q] = s;
        }
}

/* ---- weight gradient ----------------------------------------------------- */

/* gw[0:RW, 0:CW] (row stride ldw) = (beta ? gw : 0) + the sum over n images
 * of gy rows (M*P floats per image) times x rows (N*P per image). */
PW_INLINE void pw_wtile(const int RW, const int CW, int64_t M, int64_t N, int64_t P, int64_t n,
                        const float *restrict gy, const float *restrict x, float *restrict gw, int64_t ldw, int beta)
{
    pw_v acc[PW_MR_MAX][PW_MR_MAX];
    float tail[PW_MR_MAX][PW_MR_MAX];
    PW_UNROLL
    for (int i = 0; i < RW; i++)
        PW_UNROLL
        for (int j = 0; j < CW; j++) acc[i][j] = (pw_v){0}, tail[i][j] = 0.0f;
    const int64_t pv = P / PW_LANES * PW_LANES;
    for (int64_t m = 0; m < n; m++) {
        const float *g = gy + m * M * P, *xi = x + m * N * P;
        for (int64_t p = 0; p < pv; p += PW_LANES) {
            pw_v xv[PW_MR_MAX];
            PW_UNROLL
            for (int j = 0; j < CW; j++) xv[j] = pw_load(xi + j * P + p);
            PW_UNROLL
            for (int i = 0; i < RW; i++) {
                const pw_v gv = pw_load(g + i * P + p);
                PW_UNROLL
                for (int j = 0; j < CW; j++) acc[i][j] += gv * xv[j];
            }
        }
        for (int64_t p = pv; p < P; p++)
            PW_UNROLL
            for (int i = 0; i < RW; i++)
                PW_UNROLL
                for (int j = 0; j < CW; j++) tail[i][j] += g[i * P + p] * xi[j * P + p];
    }
    PW_UNROLL
    for (int i = 0; i < RW; i++)
        PW_UNROLL
        for (int j = 0; j < CW; j++) {
            const float s = pw_hsum(acc[i][j]) + tail[i][j];
            gw[i * ldw + j] = beta ? gw[i * ldw + j] + s : s;
        }
}

/* RW rows of gw: columns in tiles of CW, then 2, then 1. */
PW_INLINE void pw_wrows(const int RW, const int CW, int64_t M, int64_t N, int64_t P, int64_t n, const float *gy,
                        const float *x, float *gw, int beta)
{
    int64_t j = 0;
    for (; j + CW <= N; j += CW) pw_wtile(RW, CW, M, N, P, n, gy, x + j * P, gw + j, N, beta);
    if (CW > 2 && j + 2 <= N) pw_wtile(RW, 2, M, N, P, n, gy, x + j * P, gw + j, N, beta), j += 2;
    for (; j < N; j++) pw_wtile(RW, 1, M, N, P, n, gy, x + j * P, gw + j, N, beta);
}

PW_INLINE void pw_wgrad_body(const int RW, const int CW, int64_t M, int64_t N, int64_t P, int64_t n,
                             const float *gy, const float *x, float *gw)
{
    int64_t group = PW_GROUP_FLOATS / (P * (M + N) > 0 ? P * (M + N) : 1);
    if (group < 1) group = 1;
    if (n == 0) memset(gw, 0, sizeof(float) * (size_t)(M * N));
    for (int64_t m0 = 0; m0 < n; m0 += group) {
        const int64_t gn = n - m0 < group ? n - m0 : group, beta = m0 > 0;
        const float *g = gy + m0 * M * P, *xs = x + m0 * N * P;
        int64_t i = 0;
        for (; i + RW <= M; i += RW) pw_wrows(RW, CW, M, N, P, gn, g + i * P, xs, gw + i * N, beta);
        if (RW > 2 && i + 2 <= M) pw_wrows(2, CW, M, N, P, gn, g + i * P, xs, gw + i * N, beta), i += 2;
        for (; i < M; i++) pw_wrows(1, CW, M, N, P, gn, g + i * P, xs, gw + i * N, beta);
    }
}

/* ---- variants and dispatch ----------------------------------------------- */

#define PW_MM_ARGS int64_t M, int64_t K, int64_t P, const float *a, int64_t rs, int64_t ks, const float *x, float *y
#define PW_WG_ARGS int64_t M, int64_t N, int64_t P, int64_t n, const float *gy, const float *x, float *gw
typedef void (*pw_mm_fn)(PW_MM_ARGS);
typedef void (*pw_wg_fn)(PW_WG_ARGS);

/* Tiles: MR x NV vectors (forward), RW x CW accumulators (weight gradient). */
#define PW_VARIANT(sfx, target_attr, MR, NV, RW, CW)                                                          \
    target_attr static void pw_matmul_##sfx(PW_MM_ARGS) { pw_matmul_body(MR, NV, M, K, P, a, rs, ks, x, y); } \
    target_attr static void pw_wgrad_##sfx(PW_WG_ARGS) { pw_wgrad_body(RW, CW, M, N, P, n, gy, x, gw); }
/* A 16-lane vector is four xmm registers here, two ymm under AVX2, one zmm under AVX-512. */
PW_VARIANT(portable, , 3, 1, 1, 2)
#if defined(__x86_64__) && defined(__GNUC__)
#define PW_X86 1
PW_VARIANT(avx2, __attribute__((target("avx2,fma"))), 6, 1, 2, 3)
PW_VARIANT(avx512, __attribute__((target("avx512f,avx512vl,fma"))), 6, 4, 4, 4)
#endif

/* 0 portable, 1 AVX2, 2 AVX-512, -1 not available. */
static int pw_pick(dl_gemv_isa isa)
{
#ifdef PW_X86
    __builtin_cpu_init();
    const int has512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl");
    const int has2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if ((isa == DL_GEMV_BEST || isa == DL_GEMV_AVX512) && has512) return 2;
    if ((isa == DL_GEMV_BEST || isa == DL_GEMV_AVX2) && has2) return 1;
    if (isa == DL_GEMV_AVX512 || isa == DL_GEMV_AVX2) return -1;
#else
    if (isa != DL_GEMV_BEST && isa != DL_GEMV_PORTABLE) return -1;
#endif
    return 0;
}

int dl_pw_matmul_isa(dl_gemv_isa isa, int64_t M, int64_t K, int64_t P, const float *a, int64_t rs, int64_t ks,
                     const float *x, float *y)
{
#ifdef PW_X86
    static const pw_mm_fn fns[] = {pw_matmul_portable, pw_matmul_avx2, pw_matmul_avx512};
#else
    static const pw_mm_fn fns[] = {pw_matmul_portable};
#endif
    const int v = pw_pick(isa);
    if (v < 0) return -1;
    fns[v](M, K, P, a, rs, ks, x, y);
    return 0;
}

int dl_pw_wgrad_isa(dl_gemv_isa isa, int64_t M, int64_t N, int64_t P, int64_t n, const float *gy, const float *x,
                    float *gw)
{
#ifdef PW_X86
    static const pw_wg_fn fns[] = {pw_wgrad_portable, pw_wgrad_avx2, pw_wgrad_avx512};
#else
    static const pw_wg_fn fns[] = {pw_wgrad_portable};
#endif
    const int v = pw_pick(isa);
    if (v < 0) return -1;
    fns[v](M, N, P, n, gy, x, gw);
    return 0;
}

/* Measured (bench/pw_bench.c, process CPU time, 1 thread; docs/performance.md
 * "MobileNetV2's pointwise layers"): faster than dl_sgemm on every 1x1
 * layer of MobileNetV2, 16 to 384 channels, 4x4 to 32x32 planes, batch 64
 * and 1. Untried beyond 64 channels on both sides, where packing pays for
 * itself; and a big image at batch 1 keeps dl_sgemm's threads (these
 * kernels are serial, conv.c spreads images over the threads). */
int dl_pw_applies(const dl_conv2d_geom *g)
{
    const int pointwise = g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->pt == 0 && g->pb == 0 &&
                          g->pl == 0 && g->pr == 0 && g->groups == 1;
    const double macs = (double)g->oc * (double)g->c * (double)(g->h * g->w);
    return pointwise && (g->c <= 64 || g->oc <= 64) && (g->n >= omp_get_max_threads() || macs < PW_SERIAL_MACS);
}
