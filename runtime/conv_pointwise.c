/* conv_pointwise.c — 1x1 convolutions without packing: MobileNetV2's expand
 * (16 -> 96) and project (96 -> 16) layers and their kin.
 *
 * In NCHW a 1x1 convolution is, per image, y[oc x P] = W[oc x c] @ x[c x P]
 * with P = h * w: x is already the right-hand matrix. dl_sgemm packs both
 * operands into panels first, which pays when the product is deep and wide;
 * with K = 16 (or 16 rows) packing x costs about as much as the multiply
 * (the per-layer profile had these layers at 25-39% of the FMA peak). Here
 * an MR x (NV x 16) register tile of y is computed from, for each k, NV
 * vectors of row k of x loaded in place and MR weights broadcast: MR x NV
 * FMAs per NV loads and MR broadcasts. Pixel blocks outside, row tiles
 * inside, so a block of x (K rows of NV x 16 floats) stays in L1 while every
 * row tile reads it. The data gradient gx = W^T @ gy is the same product
 * with the weights read with swapped strides (a broadcast does not care).
 * A call that writes 16 MB or more (the 32x32 layers' 96-channel side at
 * batch 64) streams its stores around the cache: write-allocating lines no
 * cache will hold halved those layers' speed (one image alone ran at 210
 * GF/s, all 64 at 90).
 *
 * The weight gradient stays on dl_sgemm: a register-tiled gy @ x^T without
 * packing (tiles of 4 x 4 or 4 x 6 16-lane accumulators, lanes summed once
 * per group of images) measured 0.37-1.22x of it, slower on 9 of
 * MobileNetV2's 12 layers (docs/performance.md).
 *
 * Pixels past the last whole vector (planes whose size is not a multiple of
 * 16) go through a plain scalar loop. Everything is plain C over GCC's
 * vector extension, compiled for AVX-512, AVX2 + FMA and baseline x86-64
 * with `target` attributes and chosen at run time (as gemm_small.c does);
 * the tile differs per variant (32 zmm registers against 16 ymm or xmm).
 * The kernel is serial: conv.c shares images out over the threads, so each
 * output's arithmetic, and the result, is the same at any thread count. */
#pragma GCC optimize("O3", "fp-contract=fast")
#include <omp.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE__)
#include <xmmintrin.h>
#endif

#include "conv_pointwise_internal.h"

/* Helpers taking or returning 64-byte vectors are always inlined into one
 * target's function, so no call passes one (GCC's ABI note does not apply). */
#pragma GCC diagnostic ignored "-Wpsabi"
#define PW_INLINE static inline __attribute__((always_inline))
#define PW_LANES 16
/* Largest tile of any variant; the arrays are sized by these constants
 * (not by the tile parameters, which would make them VLAs that GCC keeps
 * in memory) and the loops over them unrolled, so the tile lives in registers. */
#define PW_MR_MAX 8
#define PW_NV_MAX 4
#define PW_UNROLL _Pragma("GCC unroll 8")
typedef float pw_v __attribute__((vector_size(PW_LANES * sizeof(float))));
typedef int32_t pw_vi __attribute__((vector_size(PW_LANES * sizeof(int32_t))));

PW_INLINE pw_v pw_load(const float *p)
{
    pw_v v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* The affine epilogue (dl_conv_affine) at a tile: per-row scale and shift
 * from its first row, the residual at its first element (rows P apart).
 * Which parts apply is the constant EP (bits below), so each kernel copy
 * has only its own stores and the tile stays in registers. */
#define PW_EP_AFFINE 1
#define PW_EP_RESIDUAL 2
#define PW_EP_CLAMP 4
#define PW_EP_ZMM 8 /* an AVX-512 copy: the clamp by DL_CLAMP_ZMM */
typedef struct pw_ep {
    const float *scale, *shift, *res;
    float lo, hi;
} pw_ep;

PW_INLINE pw_v pw_select(pw_vi m, pw_v a, pw_v b) { return (pw_v)((m & (pw_vi)a) | (~m & (pw_vi)b)); }

/* Row i's epilogue on t, the vector at column offset o of the tile. */
PW_INLINE pw_v pw_finish(const int EP, pw_v t, const pw_ep *e, int i, int64_t o, int64_t P)
{
    if (EP & PW_EP_AFFINE) t = t * e->scale[i] + e->shift[i];
    if (EP & PW_EP_RESIDUAL) t += pw_load(e->res + i * P + o);
    if (EP & PW_EP_CLAMP) {
        const pw_v lo = (pw_v){0} + e->lo, hi = (pw_v){0} + e->hi;
#ifdef DL_CLAMP_ZMM_ASM
        if (EP & PW_EP_ZMM) {
            DL_CLAMP_ZMM(t, lo, hi);
            return t;
        }
#endif
        t = pw_select(t > lo, pw_select(t < hi, t, hi), lo);
    }
    return t;
}

/* The same on one float (pixels past the last whole vector). */
static inline float pw_finish1(const int EP, float t, const pw_ep *e, int64_t i, int64_t o, int64_t P)
{
    if (EP & PW_EP_AFFINE) t = t * e->scale[i] + e->shift[i];
    if (EP & PW_EP_RESIDUAL) t += e->res[i * P + o];
    if (EP & PW_EP_CLAMP) t = t > e->lo ? (t < e->hi ? t : e->hi) : e->lo;
    return t;
}

/* e moved to row i, column p (nothing without an epilogue: e is NULL). */
PW_INLINE pw_ep pw_ep_at(const int EP, const pw_ep *e, int64_t i, int64_t p, int64_t P)
{
    if (!EP) return (pw_ep){0};
    return (pw_ep){.scale = e->scale ? e->scale + i : NULL, .shift = e->shift ? e->shift + i : NULL,
                   .res = e->res ? e->res + i * P + p : NULL, .lo = e->lo, .hi = e->hi};
}


/* Stores one vector at d, around the cache when `stream` (d 64-byte
 * aligned, a whole line): SSE's movntps, which every x86-64 has, four to a vector; the
 * write-combining buffer joins them into one line write. */
PW_INLINE void pw_store(float *d, const pw_v *v, const int stream)
{
#if defined(__SSE__)
    if (stream) {
        PW_UNROLL
        for (int q = 0; q < 4; q++) {
            __m128 t;
            memcpy(&t, (const float *)v + 4 * q, sizeof t);
            _mm_stream_ps(d + 4 * q, t);
        }
        return;
    }
#else
    (void)stream;
#endif
    memcpy(d, v, sizeof *v);
}

/* y[0:MR, 0:NV*16] of y = A @ x (row strides P), as the top describes. */
PW_INLINE void pw_tile(const int MR, const int NV, int64_t K, int64_t P, const float *restrict a, int64_t rs,
                       int64_t ks, const float *restrict x, float *y, const int stream, const int EP, pw_ep e)
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
        for (int v = 0; v < NV; v++) {
            const pw_v t = pw_finish(EP, acc[i][v], &e, i, v * PW_LANES, P);
            pw_store(y + i * P + v * PW_LANES, &t, stream);
        }
}

/* All M rows of one NV x 16 pixel block: tiles of MR rows, then 4, 2, 1. */
PW_INLINE void pw_block(const int MR, const int NV, int64_t M, int64_t K, int64_t P, const float *a, int64_t rs,
                        int64_t ks, const float *x, float *y, const int stream, const int EP, const pw_ep *e)
{
    int64_t i = 0;
    for (; i + MR <= M; i += MR) pw_tile(MR, NV, K, P, a + i * rs, rs, ks, x, y + i * P, stream, EP, pw_ep_at(EP, e, i, 0, P));
    if (MR > 4 && i + 4 <= M)
        pw_tile(4, NV, K, P, a + i * rs, rs, ks, x, y + i * P, stream, EP, pw_ep_at(EP, e, i, 0, P)), i += 4;
    if (MR > 2 && i + 2 <= M)
        pw_tile(2, NV, K, P, a + i * rs, rs, ks, x, y + i * P, stream, EP, pw_ep_at(EP, e, i, 0, P)), i += 2;
    for (; i < M; i++) pw_tile(1, NV, K, P, a + i * rs, rs, ks, x, y + i * P, stream, EP, pw_ep_at(EP, e, i, 0, P));
}

/* MR1: the rows of the tiles of single-vector blocks (a 4x4 plane is one
 * vector). With only MR1 x 1 accumulators, 6 chains of FMAs were too few
 * to hide their latency: MobileNetV2's four 4x4 layers took 14.2 us at
 * batch 1 with 6 rows, 12.9 with 8, and 20-26 with 10 or 12 (registers
 * spilled); docs/performance.md, "MobileNetV2 batch-1 inference: 8-wide
 * depthwise rows without stack copies, 8-row tiles for 4x4 planes". */
PW_INLINE void pw_matmul_pass(const int MR, const int NV, const int MR1, int64_t M, int64_t K, int64_t P,
                              const float *a, int64_t rs, int64_t ks, const float *x, float *y, const int stream,
                              const int EP, const pw_ep *e)
{
    int64_t p = 0;
    for (; p + NV * PW_LANES <= P; p += NV * PW_LANES) {
        const pw_ep ep = pw_ep_at(EP, e, 0, p, P);
        pw_block(MR, NV, M, K, P, a, rs, ks, x + p, y + p, stream, EP, &ep);
    }
    for (; p + PW_LANES <= P; p += PW_LANES) {
        const pw_ep ep = pw_ep_at(EP, e, 0, p, P);
        pw_block(MR1, 1, M, K, P, a, rs, ks, x + p, y + p, stream, EP, &ep);
    }
    for (int64_t i = 0; i < M && p < P; i++)
        for (int64_t q = p; q < P; q++) {
            float s = 0.0f;
            for (int64_t k = 0; k < K; k++) s += a[i * rs + k * ks] * x[k * P + q];
            y[i * P + q] = pw_finish1(EP, s, e, i, q, P);
        }
}

/* `stream` as a constant in each copy: a run-time test at every store made
 * GCC keep the tile in memory (one image of 16->96 at 32x32, unstreamed, ran
 * at 169 GF/s instead of 209 in a quick test). */
PW_INLINE void pw_matmul_body(const int MR, const int NV, const int MR1, int64_t M, int64_t K, int64_t P, const float *a,
                              int64_t rs, int64_t ks, const float *x, float *y, int stream, const int EP,
                              const pw_ep *e)
{
    /* Every vector a whole cache line (y 64-byte aligned, rows of whole
     * vectors): a vector across two lines leaves each line's write-combining
     * buffer part-filled, and on Intel Xeon every such line went out as a
     * partial write. 16->96 at 32x32 from a malloc'd (16-byte aligned) y ran
     * 6.5x slower streamed than aligned, 2.7x slower than not streamed
     * (docs/performance.md, "Streamed stores need whole lines"). */
    if (stream && (uintptr_t)y % 64 == 0 && P % PW_LANES == 0)
        pw_matmul_pass(MR, NV, MR1, M, K, P, a, rs, ks, x, y, 1, EP, e);
    else
        pw_matmul_pass(MR, NV, MR1, M, K, P, a, rs, ks, x, y, 0, EP, e);
}

/* ---- variants and dispatch ----------------------------------------------- */

#define PW_MM_ARGS \
    int64_t M, int64_t K, int64_t P, const float *a, int64_t rs, int64_t ks, const float *x, float *y, int stream
typedef void (*pw_mm_fn)(PW_MM_ARGS);

/* Tiles of MR rows x NV vectors. */
#define PW_VARIANT(sfx, target_attr, MR, NV) \
    target_attr static void pw_matmul_##sfx(PW_MM_ARGS) { pw_matmul_body(MR, NV, MR, M, K, P, a, rs, ks, x, y, stream, 0, NULL); }
/* With the epilogue: one copy per combination of its parts (EP). */
typedef void (*pw_ep_fn)(PW_MM_ARGS, const pw_ep *e);
#define PW_EP_VARIANT(sfx, target_attr, MR, NV, MR1, Z, EP) \
    target_attr static void pw_matmul_ep##EP##_##sfx(PW_MM_ARGS, const pw_ep *e) \
    { pw_matmul_body(MR, NV, MR1, M, K, P, a, rs, ks, x, y, stream, EP | Z, e); }
#define PW_EP_VARIANTS(sfx, target_attr, MR, NV, MR1, Z) \
    PW_EP_VARIANT(sfx, target_attr, MR, NV, MR1, Z, 1) PW_EP_VARIANT(sfx, target_attr, MR, NV, MR1, Z, 3) \
    PW_EP_VARIANT(sfx, target_attr, MR, NV, MR1, Z, 5) PW_EP_VARIANT(sfx, target_attr, MR, NV, MR1, Z, 7)
/* A 16-lane vector is four xmm registers here, two ymm under AVX2, one zmm under AVX-512. */
PW_VARIANT(portable, , 3, 1)
PW_EP_VARIANTS(portable, , 3, 1, 3, 0)
#if defined(__x86_64__) && defined(__GNUC__)
#define PW_X86 1
#define PW_N_ISA 3
PW_VARIANT(avx2, __attribute__((target("avx2,fma"))), 6, 1)
PW_VARIANT(avx512, __attribute__((target("avx512f,avx512vl,fma"))), 6, 4)
PW_EP_VARIANTS(avx2, __attribute__((target("avx2,fma"))), 6, 1, 6, 0)
/* The epilogue copies serve inference only (conv_affine.c): their tiles of
 * 4x4 planes have 8 rows; the plain ones, which training runs, keep 6. */
PW_EP_VARIANTS(avx512, __attribute__((target("avx512f,avx512vl,fma"))), 6, 4, 8, PW_EP_ZMM)
#else
#define PW_N_ISA 1
#endif

int dl_isa_level(dl_gemv_isa isa)
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
                     const float *x, float *y, int stream)
{
#ifdef PW_X86
    static const pw_mm_fn fns[] = {pw_matmul_portable, pw_matmul_avx2, pw_matmul_avx512};
#else
    static const pw_mm_fn fns[] = {pw_matmul_portable};
#endif
    const int v = dl_isa_level(isa);
    if (v < 0) return -1;
    fns[v](M, K, P, a, rs, ks, x, y, stream);
#if defined(__SSE__)
    if (stream) _mm_sfence(); /* streamed stores are weakly ordered: done before whoever reads y next */
#endif
    return 0;
}

/* rows of P floats at src, finished into dst (which may be src, or e's residual) */
PW_INLINE void pw_affine_body(const int EP, int64_t M, int64_t P, const float *src, float *dst, const pw_ep *e)
{
    for (int64_t i = 0; i < M; i++) {
        int64_t p = 0;
        for (; p + PW_LANES <= P; p += PW_LANES) {
            const pw_v t = pw_finish(EP, pw_load(src + i * P + p), e, (int)i, p, P);
            memcpy(dst + i * P + p, &t, sizeof t);
        }
        for (; p < P; p++) dst[i * P + p] = pw_finish1(EP, src[i * P + p], e, i, p, P);
    }
}

typedef void (*pw_aff_fn)(int64_t M, int64_t P, const float *src, float *dst, const pw_ep *e);
#define PW_AFF_VARIANT(sfx, target_attr, Z, EP) \
    target_attr static void pw_affine_ep##EP##_##sfx(int64_t M, int64_t P, const float *src, float *dst, const pw_ep *e) \
    { pw_affine_body(EP | Z, M, P, src, dst, e); }
#define PW_AFF_VARIANTS(sfx, target_attr, Z) \
    PW_AFF_VARIANT(sfx, target_attr, Z, 1) PW_AFF_VARIANT(sfx, target_attr, Z, 3) \
    PW_AFF_VARIANT(sfx, target_attr, Z, 5) PW_AFF_VARIANT(sfx, target_attr, Z, 7)
PW_AFF_VARIANTS(portable, , 0)
#ifdef PW_X86
PW_AFF_VARIANTS(avx2, __attribute__((target("avx2,fma"))), 0)
PW_AFF_VARIANTS(avx512, __attribute__((target("avx512f,avx512vl,fma"))), PW_EP_ZMM)
#define PW_EP_ROW(kind, EP) {pw_##kind##_ep##EP##_portable, pw_##kind##_ep##EP##_avx2, pw_##kind##_ep##EP##_avx512}
#else
#define PW_EP_ROW(kind, EP) {pw_##kind##_ep##EP##_portable}
#endif

static pw_ep pw_ep_of(const dl_conv_affine *ep)
{
    return (pw_ep){.scale = ep->scale, .shift = ep->shift, .res = ep->residual, .lo = ep->lo, .hi = ep->hi};
}

/* Which copy: the residual and the clamp as bits 1 and 2 (EP = 1 + 2 * index). */
static int pw_ep_index(const dl_conv_affine *ep) { return (ep->residual != NULL) + 2 * (ep->clamp != 0); }

int dl_affine_rows_isa(dl_gemv_isa isa, int64_t M, int64_t P, const float *src, float *dst, const dl_conv_affine *ep)
{
    static const pw_aff_fn fns[4][PW_N_ISA] = {PW_EP_ROW(affine, 1), PW_EP_ROW(affine, 3), PW_EP_ROW(affine, 5),
                                               PW_EP_ROW(affine, 7)};
    const int v = dl_isa_level(isa);
    if (v < 0) return -1;
    const pw_ep e = pw_ep_of(ep);
    fns[pw_ep_index(ep)][v](M, P, src, dst, &e);
    return 0;
}

int dl_pw_matmul_affine_isa(dl_gemv_isa isa, int64_t M, int64_t K, int64_t P, const float *a, int64_t rs,
                            int64_t ks, const float *x, float *y, int stream, const dl_conv_affine *ep)
{
    static const pw_ep_fn fns[4][PW_N_ISA] = {PW_EP_ROW(matmul, 1), PW_EP_ROW(matmul, 3), PW_EP_ROW(matmul, 5),
                                              PW_EP_ROW(matmul, 7)};
    const int v = dl_isa_level(isa);
    if (v < 0) return -1;
    const pw_ep e = pw_ep_of(ep);
    fns[pw_ep_index(ep)][v](M, K, P, a, rs, ks, x, y, stream, &e);
#if defined(__SSE__)
    if (stream) _mm_sfence();
#endif
    return 0;
}

/* Measured (bench/pw_bench.c, process CPU time, 1 thread; docs/performance.md
 * "MobileNetV2's pointwise layers"): faster than dl_sgemm on every 1x1
 * layer of MobileNetV2, 16 to 384 channels, 4x4 to 32x32 planes, batch 64
 * and 1. Not measured with more than 64 channels on both sides, so not
 * used there; and with fewer images than threads, an image big enough
 * for dl_sgemm to split over the threads (DL_GEMM_PARALLEL_FLOPS) keeps it:
 * this kernel is serial, conv.c spreads images over the threads. */
int dl_pw_applies(const dl_conv2d_geom *g)
{
    const int pointwise = g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->pt == 0 && g->pb == 0 &&
                          g->pl == 0 && g->pr == 0 && g->groups == 1;
    const double macs = (double)g->oc * (double)g->c * (double)(g->h * g->w);
    return pointwise && (g->c <= 64 || g->oc <= 64) && (g->n >= omp_get_max_threads() || macs < DL_GEMM_PARALLEL_FLOPS);
}

/* Streamed stores pay once a call's whole output no longer fits the cache
 * it would be read back from: 16->96 at 32x32, batch 64 (25 MB of output)
 * went from 1.27x to 1.7-2.3x of dl_sgemm with them (docs/performance.md);
 * 144->24 at 16x16 (9 MB, kept in L3 between a benchmark's calls) was
 * slower with them in a quick test, hence 16 MB. */
#define PW_STREAM_FLOATS (4 << 20)

void dl_pw_forward_image(const dl_conv2d_geom *g, const float *x, const float *w, float *y)
{
    const int64_t P = g->h * g->w;
    dl_pw_matmul_isa(DL_GEMV_BEST, g->oc, g->c, P, w, g->c, 1, x, y, g->n * g->oc * P >= PW_STREAM_FLOATS);
}

void dl_pw_forward_image_affine(const dl_conv2d_geom *g, const float *x, const float *w, float *y,
                                const dl_conv_affine *ep)
{
    const int64_t P = g->h * g->w;
    dl_pw_matmul_affine_isa(DL_GEMV_BEST, g->oc, g->c, P, w, g->c, 1, x, y, g->n * g->oc * P >= PW_STREAM_FLOATS, ep);
}

void dl_pw_bwd_data_image(const dl_conv2d_geom *g, const float *gy, const float *w, float *gx)
{
    const int64_t P = g->h * g->w;
    dl_pw_matmul_isa(DL_GEMV_BEST, g->c, g->oc, P, w, 1, g->c, gy, gx, g->n * g->c * P >= PW_STREAM_FLOATS);
}
