/* attention_small.c — the fused attention forward's two products for a
 * column-form tile, without dl_sgemm's packing and without the causal
 * triangle.
 *
 * At GPT's batch-1 geometry (one tile of 64 queries per head, 64 keys, head
 * width 32) runtime/attention.c's two dl_sgemm calls per head were 7% of the
 * forward: dl_sgemm packs Q^T (and P, V) into panels for 64 x 64 x 32 products
 * whose every operand already sits in L1, and computes the whole 64 x 64
 * scores and the whole P V although a causal tile needs only the keys each
 * query sees: 10 of the 16 16x16 blocks. Here the scores run per block of 16
 * queries (one AVX-512 vector across, Q's block transposed once into 2 KB)
 * over the keys that block sees, 8 keys at a time (8 accumulators, each FMA
 * an embedded broadcast of a key's element); P V runs per block of 8 queries
 * with the head's value columns in two vectors, over the keys that block
 * sees, broadcasting P's entries straight from the transposed tile.
 *
 * Every entry is summed in the order of dl_sgemm's blocked kernels (one FMA
 * per term from zero, then times alpha), so the outputs are those of the
 * dl_sgemm calls they replace bit for bit wherever dl_sgemm blocks (GPT's
 * products; below 16^3 multiply-adds it sums in another order); the terms
 * left out of P V are exact zeros. Only AVX-512 CPUs take this path; the
 * others keep dl_sgemm (no AVX2 variant: not measured on an AVX2 machine).
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off") /* (see expf16) */
#endif
#include "attention_small_internal.h"

#include <math.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(DL_USE_CBLAS) /* (BLAS builds: dl_sgemm is not ours) */
#include <immintrin.h>
#define AS_X86 1
#define INLINE inline __attribute__((always_inline))
#define AS_MAX_DH 256

static int has_avx512(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl");
}

#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,fma")

static INLINE __mmask16 lanes(int64_t n) {
    return n >= 16 ? (__mmask16)0xffff : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1u);
}

/* U keys (rows of k, ldk apart) against one transposed block of 16 queries qt[d * 16 + r]. */
static INLINE void scores_keys(const int U, int64_t dh, float scale, const float *k, int64_t ldk,
                               const float *qt, float *pt, int64_t tb, __mmask16 m) {
    __m512 acc[8];
#pragma GCC unroll 8
    for (int u = 0; u < U; u++) acc[u] = _mm512_setzero_ps();
    for (int64_t d = 0; d < dh; d++) {
        const __m512 qd = _mm512_load_ps(qt + d * 16);
#pragma GCC unroll 8
        for (int u = 0; u < U; u++) acc[u] = _mm512_fmadd_ps(_mm512_set1_ps(k[u * ldk + d]), qd, acc[u]);
    }
    const __m512 sc = _mm512_set1_ps(scale);
#pragma GCC unroll 8
    for (int u = 0; u < U; u++) _mm512_mask_storeu_ps(pt + u * tb, m, _mm512_mul_ps(acc[u], sc));
}

/* dl_expf (dlnrt.h) on 16 lanes, operation for operation (no FMA: the file
 * is compiled without contraction, as attention.c's loops are), so a lane
 * rounds as the scalar function and probs_cols' vectorized loop do. */
static INLINE __m512 expf16(__m512 x) {
    const __m512 magic = _mm512_set1_ps(12582912.0f);
    __m512 c = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_set1_ps(-104.0f), _CMP_LT_OQ), x, _mm512_set1_ps(-104.0f));
    c = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_set1_ps(89.0f), _CMP_GT_OQ), c, _mm512_set1_ps(89.0f));
    const __m512 t = _mm512_add_ps(_mm512_mul_ps(c, _mm512_set1_ps(1.44269504088896341f)), magic);
    const __m512 nf = _mm512_sub_ps(t, magic);
    __m512 r = _mm512_sub_ps(c, _mm512_mul_ps(nf, _mm512_set1_ps(0.693359375f)));
    r = _mm512_sub_ps(r, _mm512_mul_ps(nf, _mm512_set1_ps(-2.12194440e-4f)));
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_add_ps(_mm512_add_ps(_mm512_mul_ps(_mm512_mul_ps(p, r), r), r), _mm512_set1_ps(1.0f));
    const __m512i k = _mm512_sub_epi32(_mm512_castps_si512(t), _mm512_castps_si512(magic));
    const __m512i h = _mm512_srai_epi32(_mm512_add_epi32(k, _mm512_srli_epi32(k, 31)), 1); /* k / 2, toward 0 */
    const __m512i bias = _mm512_set1_epi32(127);
    const __m512 a = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(h, bias), 23));
    const __m512 b = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(_mm512_sub_epi32(k, h), bias), 23));
    return _mm512_mul_ps(_mm512_mul_ps(p, a), b);
}

/* The softmax of one block of 16 queries (lanes, m the real ones) down the
 * keys s < end of pt (rows tb apart), as probs_cols computes it for those
 * lanes: key s hidden (-inf) from lanes below s - vis - i0; a running
 * maximum, then exp and a sum in key order, then times 1 / sum (0 for a lane
 * that sees no key). */
static void softmax_block(int64_t end, int64_t tb, int64_t vis, int64_t i0, float *pt, __mmask16 m) {
    const __m512 ninf = _mm512_set1_ps(-INFINITY), zero = _mm512_setzero_ps();
    __m512 mx = ninf, sum = zero;
    for (int64_t s = 0; s < end; s++) {
        __m512 v = _mm512_maskz_loadu_ps(m, pt + s * tb);
        const int64_t lo = vis < 0 ? 0 : s - vis - i0;
        if (lo > 0) v = _mm512_mask_blend_ps(lanes(lo), v, ninf);
        _mm512_mask_storeu_ps(pt + s * tb, m, v);
        mx = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, mx, _CMP_GT_OQ), mx, v);
    }
    const __mmask16 none = _mm512_cmp_ps_mask(mx, ninf, _CMP_EQ_OQ);
    for (int64_t s = 0; s < end; s++) {
        const __m512 e = _mm512_mask_blend_ps(none, expf16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, pt + s * tb), mx)), zero);
        _mm512_mask_storeu_ps(pt + s * tb, m, e);
        sum = _mm512_add_ps(sum, e);
    }
    const __m512 inv = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(sum, zero, _CMP_NEQ_UQ), zero,
                                            _mm512_div_ps(_mm512_set1_ps(1.0f), sum));
    for (int64_t s = 0; s < end; s++)
        _mm512_mask_storeu_ps(pt + s * tb, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, pt + s * tb), inv));
}

/* The 8 x 8 block of floats at src (rows ld apart) transposed into dst (rows 16 apart). */
static INLINE void transpose8(const float *src, int64_t ld, float *dst) {
    __m256 r[8], t[8];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(src + i * ld);
#pragma GCC unroll 4
    for (int i = 0; i < 8; i += 2) t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]), t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
#pragma GCC unroll 2
    for (int i = 0; i < 8; i += 4) {
        r[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44), r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
        r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44), r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
        _mm256_storeu_ps(dst + i * 16, _mm256_permute2f128_ps(r[i], r[i + 4], 0x20));
        _mm256_storeu_ps(dst + (i + 4) * 16, _mm256_permute2f128_ps(r[i], r[i + 4], 0x31));
    }
}

/* qt[d * 16 + r] = q[r * ldq + d] for d < dh, r < nq; 0 for r >= nq. Element by
 * element (strided stores) this was a large part of the scores' time at GPT's
 * head width 32; whole 8 x 8 blocks go through registers. */
static void transpose_block(const float *q, int64_t ldq, int64_t nq, int64_t dh, float *qt) {
    int64_t d0 = 0;
    if (nq == 16)
        for (; d0 + 8 <= dh; d0 += 8) transpose8(q + d0, ldq, qt + d0 * 16), transpose8(q + 8 * ldq + d0, ldq, qt + d0 * 16 + 8);
    for (int64_t d = d0; d < dh; d++)
        for (int64_t r = 0; r < 16; r++) qt[d * 16 + r] = r < nq ? q[r * ldq + d] : 0.0f;
}

static void scores_avx512(int64_t lim, int64_t tb, int64_t dh, float scale, const float *k, int64_t ldk,
                          const float *q, int64_t ldq, int64_t vis, float *pt, int softmax) {
    float qt[AS_MAX_DH * 16] __attribute__((aligned(64)));
    for (int64_t i0 = 0; i0 < tb; i0 += 16) {
        const int64_t nq = tb - i0 < 16 ? tb - i0 : 16;
        transpose_block(q + i0 * ldq, ldq, nq, dh, qt);
        const int64_t end = vis < 0 || i0 + 16 + vis > lim ? lim : i0 + 16 + vis;
        const __mmask16 m = lanes(nq);
        int64_t s = 0;
        for (; s + 8 <= end; s += 8) scores_keys(8, dh, scale, k + s * ldk, ldk, qt, pt + s * tb + i0, tb, m);
        for (; s < end; s++) scores_keys(1, dh, scale, k + s * ldk, ldk, qt, pt + s * tb + i0, tb, m);
        if (softmax) softmax_block(end, tb, vis, i0, pt + i0, m); /* while the block is in L1 */
    }
}

/* Rows i0 .. i0+MR-1 of out, columns c0 .. c0+15 (NV = 1) or +31 (NV = 2, m1 the second's lanes). */
static INLINE void pv_block(const int MR, const int NV, int64_t end, int64_t tb, const float *pt, const float *v,
                            int64_t ldv, float *out, int64_t ldo, __mmask16 m0, __mmask16 m1) {
    __m512 acc[8][2];
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    for (int64_t s = 0; s < end; s++) {
        const __m512 v0 = _mm512_maskz_loadu_ps(m0, v + s * ldv);
        const __m512 v1 = NV > 1 ? _mm512_maskz_loadu_ps(m1, v + s * ldv + 16) : v0;
#pragma GCC unroll 8
        for (int r = 0; r < MR; r++) {
            const __m512 a = _mm512_set1_ps(pt[s * tb + r]);
            acc[r][0] = _mm512_fmadd_ps(a, v0, acc[r][0]);
            if (NV > 1) acc[r][1] = _mm512_fmadd_ps(a, v1, acc[r][1]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) {
        _mm512_mask_storeu_ps(out + r * ldo, m0, acc[r][0]);
        if (NV > 1) _mm512_mask_storeu_ps(out + r * ldo + 16, m1, acc[r][1]);
    }
}

/* The keys the queries i0 .. i0+n-1 see (vis < 0: all lim). */
static INLINE int64_t seen(int64_t lim, int64_t vis, int64_t i0, int64_t n) {
    return vis < 0 || i0 + n + vis > lim ? lim : i0 + n + vis;
}

static void pv_avx512(int64_t lim, int64_t tb, int64_t dv, const float *pt, const float *v, int64_t ldv, int64_t vis,
                      float *out, int64_t ldo) {
    for (int64_t c0 = 0; c0 < dv; c0 += 32) {
        const int64_t w = dv - c0 < 32 ? dv - c0 : 32;
        const __mmask16 m0 = lanes(w), m1 = lanes(w - 16);
        const float *vc = v + c0;
        float *oc = out + c0;
        int64_t i = 0;
        for (; i + 8 <= tb; i += 8) {
            const int64_t end = seen(lim, vis, i, 8);
            if (w > 16) pv_block(8, 2, end, tb, pt + i, vc, ldv, oc + i * ldo, ldo, m0, m1);
            else pv_block(8, 1, end, tb, pt + i, vc, ldv, oc + i * ldo, ldo, m0, m1);
        }
        for (; i < tb; i++) {
            const int64_t end = seen(lim, vis, i, 1);
            if (w > 16) pv_block(1, 2, end, tb, pt + i, vc, ldv, oc + i * ldo, ldo, m0, m1);
            else pv_block(1, 1, end, tb, pt + i, vc, ldv, oc + i * ldo, ldo, m0, m1);
        }
    }
}

#pragma GCC pop_options
#endif

int dl_attn_scores_cols(int64_t lim, int64_t tb, int64_t dh, float scale, const float *k, int64_t ldk,
                        const float *q, int64_t ldq, int64_t vis, int softmax, float *pt) {
#ifdef AS_X86
    if (dh <= AS_MAX_DH && has_avx512()) {
        scores_avx512(lim, tb, dh, scale, k, ldk, q, ldq, vis, pt, softmax);
        return 0;
    }
#else
    (void)lim, (void)tb, (void)dh, (void)scale, (void)k, (void)ldk, (void)q, (void)ldq, (void)vis, (void)softmax, (void)pt;
#endif
    return -1;
}

int dl_attn_pv_cols(int64_t lim, int64_t tb, int64_t dv, const float *pt, const float *v, int64_t ldv, int64_t vis,
                    float *out, int64_t ldo) {
#ifdef AS_X86
    if (has_avx512()) {
        pv_avx512(lim, tb, dv, pt, v, ldv, vis, out, ldo);
        return 0;
    }
#else
    (void)lim, (void)tb, (void)dv, (void)pt, (void)v, (void)ldv, (void)vis, (void)out, (void)ldo;
#endif
    return -1;
}
