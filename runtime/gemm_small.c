/* gemm_small.c — matrix-vector products: out[i] = alpha * Mat[i, :] . v + beta * out[i].
 *
 * Batch-1 inference is made of these: a dense layer or an LSTM step at batch
 * 1 is [1, K] x [N, K]^T, where packing B (what the blocked dl_sgemm does)
 * costs as much as the product. Each output is a dot product of two
 * contiguous K-vectors, so the weights are streamed once, unpacked.
 *
 * A dot product alone is latency-bound: one accumulator chain of K/16 FMAs,
 * then a 16-lane horizontal sum, per output. So rows go eight at a time, each
 * with its own accumulator (eight independent chains, v loaded once for all
 * eight), and the eight horizontal sums are done together at the end, as
 * one shuffle tree (dl_gv_hsum8).
 *
 * Every row's arithmetic is the same whichever block it falls in: a ragged
 * last block repeats its first row in the missing slots (computed, not
 * stored), and the K tail is one more FMA with zero-padded vectors. So the
 * result of a row does not depend on how rows are split between threads: 1
 * and 2 threads give identical outputs (tests/unit/test_rt_gemm.c).
 *
 * The block kernel is plain C over GCC's vector extension, compiled three
 * times (portable, AVX2+FMA, AVX-512) and chosen at run time with
 * __builtin_cpu_supports, as gemm.c does for its micro-kernels; the runtime
 * itself is built for baseline x86-64. */
#pragma GCC optimize("O3", "fp-contract=fast")
#include "dlnrt.h"
#include "gemm_internal.h"
#include "hsum_tree_internal.h"

#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* The helpers below take and return 64-byte vectors; they are always
 * inlined into functions compiled for one target, so no call ever passes one
 * and GCC's note about the vector-passing ABI does not apply. */
#pragma GCC diagnostic ignored "-Wpsabi"
enum { DL_GEMV_ROWS = 8 }; /* rows per block: independent accumulator chains */

static inline __attribute__((always_inline)) dl_gv16 dl_gv_load(const float *p)
{
    dl_gv16 x;
    memcpy(&x, p, sizeof x);
    return x;
}

/* out[r * os] for r < nrows (1..8) from rows row[r]; the kernel body,
 * inlined into each target variant below. */
static inline __attribute__((always_inline)) void
dl_gemv_block_body(int nrows, int64_t K, float alpha, const float *restrict row0, int64_t ld,
                   const float *restrict v, float beta, float *restrict out, int64_t os)
{
    const float *row[DL_GEMV_ROWS];
    for (int r = 0; r < DL_GEMV_ROWS; r++) row[r] = row0 + (r < nrows ? r : 0) * ld;
    dl_gv16 acc[DL_GEMV_ROWS];
    for (int r = 0; r < DL_GEMV_ROWS; r++) acc[r] = (dl_gv16){0};
    int64_t p = 0;
    for (; p + 16 <= K; p += 16) {
        const dl_gv16 x = dl_gv_load(v + p);
        for (int r = 0; r < DL_GEMV_ROWS; r++) acc[r] += dl_gv_load(row[r] + p) * x;
    }
    if (p < K) { /* the tail as one more 16-lane step over zero-padded copies */
        float xt[16] = {0}, mt[16] = {0};
        memcpy(xt, v + p, (size_t)(K - p) * sizeof *xt);
        const dl_gv16 x = dl_gv_load(xt);
        for (int r = 0; r < DL_GEMV_ROWS; r++) {
            memcpy(mt, row[r] + p, (size_t)(K - p) * sizeof *mt);
            acc[r] += dl_gv_load(mt) * x;
        }
    }
    const dl_gv8 sums = dl_gv_hsum8(acc);
    for (int r = 0; r < nrows; r++) {
        const float d = alpha * sums[r];
        float *o = out + r * os;
        *o = beta == 0.0f ? d : d + beta * *o;
    }
}

#define DL_GEMV_ARGS int nrows, int64_t K, float alpha, const float *restrict row0, int64_t ld, \
                     const float *restrict v, float beta, float *restrict out, int64_t os
#define DL_GEMV_BLOCK(name, target_attr) \
    target_attr static void name(DL_GEMV_ARGS) { dl_gemv_block_body(nrows, K, alpha, row0, ld, v, beta, out, os); }
typedef void (*dl_gemv_block_fn)(DL_GEMV_ARGS);

DL_GEMV_BLOCK(dl_gemv_block, )
#if defined(__x86_64__) && defined(__GNUC__)
#define DL_GEMV_X86 1
DL_GEMV_BLOCK(dl_gemv_block_avx2, __attribute__((target("avx2,fma"))))
DL_GEMV_BLOCK(dl_gemv_block_avx512, __attribute__((target("avx512f,avx512vl,fma"))))
#endif

static dl_gemv_block_fn dl_gemv_pick(dl_gemv_isa isa)
{
#ifdef DL_GEMV_X86
    __builtin_cpu_init();
    const int has512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl");
    const int has2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if ((isa == DL_GEMV_BEST || isa == DL_GEMV_AVX512) && has512) return dl_gemv_block_avx512;
    if ((isa == DL_GEMV_BEST || isa == DL_GEMV_AVX2) && has2) return dl_gemv_block_avx2;
    if (isa == DL_GEMV_AVX512 || isa == DL_GEMV_AVX2) return NULL;
#else
    if (isa != DL_GEMV_BEST && isa != DL_GEMV_PORTABLE) return NULL;
#endif
    return dl_gemv_block;
}

int dl_gemv_dot_isa(dl_gemv_isa isa, int64_t rows, int64_t K, float alpha, const float *Mat, int64_t ld,
                    const float *v, float beta, float *out, int64_t out_stride, int parallel)
{
    const dl_gemv_block_fn block = dl_gemv_pick(isa);
    if (!block) return -1;
    const int64_t nblocks = (rows + DL_GEMV_ROWS - 1) / DL_GEMV_ROWS;
#ifdef _OPENMP
    /* Only enter OpenMP when there is a team to use: even a 1-thread region
     * costs libgomp a team allocation and a futex call, which at batch 1 is
     * as much as a small product. */
    if (parallel && nblocks > 1 && !omp_in_parallel() && omp_get_max_threads() > 1) {
#pragma omp parallel for schedule(static)
        for (int64_t b = 0; b < nblocks; b++) {
            const int64_t i = b * DL_GEMV_ROWS, n = rows - i < DL_GEMV_ROWS ? rows - i : DL_GEMV_ROWS;
            block((int)n, K, alpha, Mat + i * ld, ld, v, beta, out + i * out_stride, out_stride);
        }
        return 0;
    }
#else
    (void)parallel;
#endif
    for (int64_t b = 0; b < nblocks; b++) {
        const int64_t i = b * DL_GEMV_ROWS, n = rows - i < DL_GEMV_ROWS ? rows - i : DL_GEMV_ROWS;
        block((int)n, K, alpha, Mat + i * ld, ld, v, beta, out + i * out_stride, out_stride);
    }
    return 0;
}
