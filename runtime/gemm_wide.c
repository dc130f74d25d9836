/* gemm_wide.c — the product by a packed weight with 8 x 32 AVX-512 tiles.
 *
 * dl_sgemm's AVX-512 micro-kernel holds a 16 x 16 tile of C: per k step one
 * B vector and 16 broadcast FMAs, i.e. 17 loads for 16 FMAs. Taking two of
 * the packed 16-wide B panels at once with 8 rows makes it 10 loads for the
 * same 16 FMAs. On the 64-row products of batch-1 GPT inference (the
 * context times [out, in] weights) the kernel alone, in L1, ran at 249
 * GFLOP/s against 233 (AMD EPYC, AVX-512, one core). A 64-row product also
 * divides into 8-row panels with no padding. Used by dl_sgemm_w on one
 * thread: a product worth splitting goes to dl_sgemm_prepacked's tiles.
 *
 * Every element of C is summed in the same order as in dl_sgemm (k slices of
 * DL_GEMM_KC, one FMA per k from zero). What can differ is the last rounding:
 * a full tile finishes as acc * alpha + beta * C in vectors, an edge tile in
 * scalars, which the compiler contracts into another FMA; and the edges lie
 * elsewhere with 8-row tiles than with dl_sgemm's 4..24. So this path takes
 * only products where the two agree bit for bit: a single k slice with beta
 * = 0 (C = alpha * acc everywhere), or M a multiple of 8 and N of 16 (every
 * tile full, here and in dl_sgemm, whose tile height then divides M) with
 * alpha = 1 and beta 0 or 1 (what a model's forward asks). Then
 * a result does not depend on the thread count either (dl_sgemm's tiles). */
#pragma GCC optimize("O3", "fp-contract=fast")
#include "dlnrt.h"
#include "gemm_internal.h"
#include "scratch_internal.h"

#include <string.h>

enum {
    DL_WIDE_MR = 8,                 /* tile rows */
    DL_WIDE_MC = 144,               /* rows of A packed at a time (a multiple of 8, as in gemm.c) */
    DL_WIDE_CHUNK_FLOATS = 64 * 1024 /* B panels a row panel sweeps (floats; in L2) */
};

#if defined(__x86_64__) && defined(__GNUC__) && !defined(DL_USE_CBLAS) /* (BLAS builds have no packed panels) */
#define DL_WIDE_AVX512 __attribute__((target("avx512f,avx512vl,fma")))
typedef float dl_w16 __attribute__((vector_size(64)));

/* An 8 x 16*NV tile: op(A)'s rows i < 8 at a (element (i, p) at a[i*si + p*sp]:
 * A read in place, si = lda and sp = 1, or transposed, 1 and lda), B panels
 * of kc x 16 at b and b + ps; writes the top-left m x n corner of C. Rows
 * past m are read from `a` too: the caller points them at real rows. */
static inline __attribute__((always_inline)) void
dl_wide_body(const int NV, int64_t kc, const float *restrict a, int64_t si, int64_t sp, const float *restrict b,
             int64_t ps, float *restrict c, int64_t ldc, float alpha, float beta, int m, int n)
{
    dl_w16 acc[DL_WIDE_MR][2];
#pragma GCC unroll 8
    for (int i = 0; i < DL_WIDE_MR; i++) acc[i][0] = acc[i][1] = (dl_w16){0};
    for (int64_t p = 0; p < kc; p++) {
        dl_w16 b0, b1 = {0};
        memcpy(&b0, b + p * 16, sizeof b0);
        if (NV > 1) memcpy(&b1, b + ps + p * 16, sizeof b1);
#pragma GCC unroll 8
        for (int i = 0; i < DL_WIDE_MR; i++) {
            const float ai = a[i * si + p * sp];
            acc[i][0] += ai * b0;
            if (NV > 1) acc[i][1] += ai * b1;
        }
    }
    if (m == DL_WIDE_MR && n == 16 * NV) {
#pragma GCC unroll 8
        for (int i = 0; i < DL_WIDE_MR; i++)
            for (int j = 0; j < NV; j++) {
                float *ci = c + i * ldc + 16 * j;
                dl_w16 c0 = acc[i][j] * alpha, t0;
                if (beta != 0.0f) {
                    memcpy(&t0, ci, sizeof t0);
                    c0 += t0 * beta;
                }
                memcpy(ci, &c0, sizeof c0);
            }
        return;
    }
    float tile[DL_WIDE_MR * 32];
#pragma GCC unroll 8
    for (int i = 0; i < DL_WIDE_MR; i++)
        for (int j = 0; j < NV; j++) memcpy(tile + i * 32 + 16 * j, &acc[i][j], sizeof acc[i][j]);
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            float v = alpha * tile[i * 32 + j];
            c[i * ldc + j] = beta == 0.0f ? v : v + beta * c[i * ldc + j];
        }
}

/* The tiles: two panels or one (the last of an odd number), A packed (row i
 * of step p at a[p*8 + i]) or its rows read in place (at a[i*lda + p]). */
#define DL_WIDE_KERNEL(name, NV, SI, SP) \
    DL_WIDE_AVX512 static void name(int64_t kc, const float *a, int64_t lda, const float *b, int64_t ps, float *c, \
                                    int64_t ldc, float alpha, float beta, int m, int n) \
    { \
        (void)lda; \
        dl_wide_body(NV, kc, a, SI, SP, b, ps, c, ldc, alpha, beta, m, n); \
    }
DL_WIDE_KERNEL(dl_wide_8x32, 2, 1, DL_WIDE_MR)
DL_WIDE_KERNEL(dl_wide_8x16, 1, 1, DL_WIDE_MR)
DL_WIDE_KERNEL(dl_wide_8x32_rows, 2, lda, 1)
DL_WIDE_KERNEL(dl_wide_8x16_rows, 1, lda, 1)

static int dl_wide_supported(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl");
}
#else
static int dl_wide_supported(void) { return 0; }
#endif

int dl_sgemm_wide(int trans_a, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                  const dl_packed_b *pre, float beta, float *C, int64_t ldc)
{
    /* Full tiles only with alpha = 1 and beta 0 or 1: then a tile's last step
     * is one add (acc + C), whichever way a build contracts it; otherwise
     * acc * alpha + beta * C may fuse differently here and in gemm.c (it did
     * under -fsanitize at -O1). */
    const int exact_epilogue = alpha == 1.0f && (beta == 0.0f || beta == 1.0f);
    if (!dl_wide_supported() ||
        !((beta == 0.0f && K <= DL_GEMM_KC) || (exact_epilogue && M % DL_WIDE_MR == 0 && N % 16 == 0)))
        return -1;
#ifdef _OPENMP
    if ((double)M * N * K >= DL_GEMM_PARALLEL_FLOPS && !DL_IN_PARALLEL() && omp_get_max_threads() > 1) return -1;
#endif
#if defined(__x86_64__) && defined(__GNUC__) && !defined(DL_USE_CBLAS)
    const int64_t kc_max = K < DL_GEMM_KC ? K : DL_GEMM_KC;
    const int64_t mc_max = M < DL_WIDE_MC ? (M + DL_WIDE_MR - 1) / DL_WIDE_MR * DL_WIDE_MR : DL_WIDE_MC;
    float *apack = dl_scratch(DL_SCRATCH_GEMM_PACK, mc_max * kc_max);
    if (!apack) return -1;
    for (int64_t pc = 0; pc < K; pc += DL_GEMM_KC) {
        const int64_t kc = K - pc < DL_GEMM_KC ? K - pc : DL_GEMM_KC;
        const float beta_eff = pc == 0 ? beta : 1.0f;
        const float *bk = pre->data + pc * pre->n_pad; /* this k slice's panels, 16 * kc floats each */
        const int64_t jb_fit = DL_WIDE_CHUNK_FLOATS / kc / 32 * 32, jb = jb_fit > 32 ? jb_fit : 32;
        for (int64_t ic = 0; ic < M; ic += DL_WIDE_MC) {
            const int64_t mc = M - ic < DL_WIDE_MC ? M - ic : DL_WIDE_MC;
            /* A's full 8-row panels are read in place (its rows are contiguous in k: eight
             * streams the kernel broadcasts from), which saved the transposing pack (3.7% of
             * a batch-1 GPT forward); a ragged last panel, or a transposed A, is packed. */
            const int64_t full = trans_a ? 0 : mc / DL_WIDE_MR * DL_WIDE_MR;
            if (full < mc)
                dl_gemm_pack_a(trans_a, trans_a ? A + pc * lda + ic + full : A + (ic + full) * lda + pc, lda, mc - full,
                               kc, DL_WIDE_MR, apack + full * kc);
            /* as in gemm.c: row panels inside chunks of columns, C written a chunk wide */
            for (int64_t jb0 = 0; jb0 < N; jb0 += jb)
                for (int64_t r = 0; r < mc; r += DL_WIDE_MR) {
                    const int m = (int)(mc - r < DL_WIDE_MR ? mc - r : DL_WIDE_MR);
                    const int in_place = r < full;
                    const float *a = in_place ? A + (ic + r) * lda + pc : apack + r * kc;
                    for (int64_t j0 = jb0; j0 < N && j0 < jb0 + jb; j0 += 32) {
                        const int n = (int)(N - j0 < 32 ? N - j0 : 32);
                        (in_place ? (n > 16 ? dl_wide_8x32_rows : dl_wide_8x16_rows) : (n > 16 ? dl_wide_8x32 : dl_wide_8x16))(
                            kc, a, lda, bk + j0 * kc, 16 * kc, C + (ic + r) * ldc + j0, ldc, alpha, beta_eff, m, n);
                    }
                }
        }
    }
    return 0;
#else
    (void)trans_a, (void)M, (void)N, (void)K, (void)alpha, (void)A, (void)lda, (void)pre, (void)beta, (void)C, (void)ldc;
    return -1;
#endif
}
