/* conv_pointwise_wgrad.c — the weight gradient of 1x1 convolutions without
 * packing: gw[oc, c] = sum over images and pixels of gy[oc, p] * x[c, p].
 *
 * dl_sgemm computes it per image as gy @ x^T and packs x transposed first
 * (dl_pack_transposed was 6% of MobileNetV2's step). Here both operands
 * are read in place: the pixels p are contiguous in gy's rows and in x's
 * rows alike, so a tile of MR x NR outputs keeps MR x NR 16-lane sums in
 * registers and, per 16 pixels, loads MR vectors of gy and NR of x for
 * MR x NR multiply-adds. The lanes of each sum are added (a fixed tree)
 * once per block of images, then into gw. Blocks of images are sized by
 * the geometry alone (about PWW_BLOCK_BYTES of x and gy), so the tiles of
 * one block re-read their rows from L2; the summation order depends on the
 * geometry only, never on the thread count (conv.c hands out the chunks of
 * images; each chunk's sum is computed here, serially).
 *
 * Pixels past the last whole vector go through a scalar loop, added after
 * the lanes. Variants: AVX-512 (tiles of 4 x 6: 24 sums, 4 + 1 registers
 * of operands), AVX2 + FMA and baseline x86-64 (2 x 3), chosen at run time
 * as conv_pointwise.c does. */
#pragma GCC optimize("O3", "fp-contract=fast")
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conv_pointwise_internal.h"
#include "conv_pointwise_wgrad_internal.h"

#pragma GCC diagnostic ignored "-Wpsabi" /* 64-byte vectors only inside always-inlined helpers */
#define PWW_INLINE static inline __attribute__((always_inline))
#define PWW_MR_MAX 4
#define PWW_NR_MAX 6
#define PWW_BLOCK_BYTES (1 << 20)
typedef float pww_v __attribute__((vector_size(64)));
typedef float pww_v8 __attribute__((vector_size(32)));
typedef float pww_v4 __attribute__((vector_size(16)));

PWW_INLINE pww_v pww_load(const float *p)
{
    pww_v v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* The 16 lanes of v added as a tree: halves, quarters, pairs. */
PWW_INLINE float pww_hsum(pww_v v)
{
    const pww_v8 a = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) +
                     __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
    const pww_v4 b = __builtin_shufflevector(a, a, 0, 1, 2, 3) + __builtin_shufflevector(a, a, 4, 5, 6, 7);
    return (b[0] + b[2]) + (b[1] + b[3]);
}

/* gw[0:MR, 0:NR] (rows ldw apart) += the sums over images [b0, b1) of the
 * MR rows of gy at gy and the NR rows of x at x (images ioc and ic floats
 * apart, rows P apart). */
PWW_INLINE void pww_tile(const int MR, const int NR, int64_t b0, int64_t b1, int64_t P, const float *gy, int64_t ioc,
                         const float *x, int64_t ic, float *gw, int64_t ldw)
{
    pww_v acc[PWW_MR_MAX][PWW_NR_MAX];
    float tail[PWW_MR_MAX][PWW_NR_MAX];
    _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++)
        _Pragma("GCC unroll 8") for (int j = 0; j < NR; j++) acc[i][j] = (pww_v){0}, tail[i][j] = 0.0f;
    const int64_t pv = P / 16 * 16;
    for (int64_t img = b0; img < b1; img++) {
        const float *gi = gy + img * ioc, *xi = x + img * ic;
        for (int64_t p = 0; p < pv; p += 16) {
            pww_v gv[PWW_MR_MAX];
            _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) gv[i] = pww_load(gi + i * P + p);
            _Pragma("GCC unroll 8") for (int j = 0; j < NR; j++)
            {
                const pww_v xv = pww_load(xi + j * P + p);
                _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) acc[i][j] += gv[i] * xv;
            }
        }
        for (int64_t p = pv; p < P; p++)
            for (int i = 0; i < MR; i++)
                for (int j = 0; j < NR; j++) tail[i][j] += gi[i * P + p] * xi[j * P + p];
    }
    _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++)
        _Pragma("GCC unroll 8") for (int j = 0; j < NR; j++) gw[i * ldw + j] += pww_hsum(acc[i][j]) + tail[i][j];
}

/* Columns [0, c) of rows [0, MR): tiles of NR, then 4, 2, 1 columns. */
PWW_INLINE void pww_rows(const int MR, const int NR, int64_t c, int64_t b0, int64_t b1, int64_t P, const float *gy,
                         int64_t ioc, const float *x, int64_t ic, float *gw)
{
    int64_t j = 0;
    for (; j + NR <= c; j += NR) pww_tile(MR, NR, b0, b1, P, gy, ioc, x + j * P, ic, gw + j, c);
    if (NR > 4 && j + 4 <= c) pww_tile(MR, 4, b0, b1, P, gy, ioc, x + j * P, ic, gw + j, c), j += 4;
    if (NR > 2 && j + 2 <= c) pww_tile(MR, 2, b0, b1, P, gy, ioc, x + j * P, ic, gw + j, c), j += 2;
    for (; j < c; j++) pww_tile(MR, 1, b0, b1, P, gy, ioc, x + j * P, ic, gw + j, c);
}

PWW_INLINE void pww_body(const int MR, const int NR, const dl_conv2d_geom *g, const float *x, const float *gy,
                         float *gw, int64_t lo, int64_t hi)
{
    const int64_t P = g->h * g->w, oc = g->oc, c = g->c, ioc = oc * P, ic = c * P;
    int64_t per = PWW_BLOCK_BYTES / (int64_t)(sizeof(float) * (size_t)(ioc + ic));
    if (per < 1) per = 1;
    memset(gw, 0, sizeof(float) * (size_t)(oc * c));
    for (int64_t b0 = lo; b0 < hi; b0 += per) {
        const int64_t b1 = b0 + per < hi ? b0 + per : hi;
        int64_t i = 0;
        for (; i + MR <= oc; i += MR) pww_rows(MR, NR, c, b0, b1, P, gy + i * P, ioc, x, ic, gw + i * c);
        if (MR > 2 && i + 2 <= oc) pww_rows(2, NR, c, b0, b1, P, gy + i * P, ioc, x, ic, gw + i * c), i += 2;
        for (; i < oc; i++) pww_rows(1, NR, c, b0, b1, P, gy + i * P, ioc, x, ic, gw + i * c);
    }
}

#define PWW_ARGS const dl_conv2d_geom *g, const float *x, const float *gy, float *gw, int64_t lo, int64_t hi
typedef void (*pww_fn)(PWW_ARGS);
static void pww_portable(PWW_ARGS) { pww_body(2, 3, g, x, gy, gw, lo, hi); }
#if defined(__x86_64__) && defined(__GNUC__)
#define PWW_X86 1
__attribute__((target("avx2,fma"))) static void pww_avx2(PWW_ARGS) { pww_body(2, 3, g, x, gy, gw, lo, hi); }
__attribute__((target("avx512f,avx512vl,fma"))) static void pww_avx512(PWW_ARGS) { pww_body(4, 6, g, x, gy, gw, lo, hi); }
#endif

int dl_pww_bwd_weight_isa(dl_gemv_isa isa, const dl_conv2d_geom *g, const float *x, const float *gy, float *gw,
                          int64_t lo, int64_t hi)
{
#ifdef PWW_X86
    static const pww_fn fns[] = {pww_portable, pww_avx2, pww_avx512};
#else
    static const pww_fn fns[] = {pww_portable};
#endif
    const int v = dl_isa_level(isa);
    if (v < 0) return -1;
    fns[v](g, x, gy, gw, lo, hi);
    return 0;
}

int dl_pww_pays(const dl_conv2d_geom *g)
{
    const int pointwise = g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->pt == 0 && g->pb == 0 &&
                          g->pl == 0 && g->pr == 0 && g->groups == 1;
    return pointwise && dl_isa_level(DL_GEMV_AVX512) == 2 && getenv("PWW_ON") != NULL;
}
