/* gemm_internal.h — pieces of dl_sgemm shared between its files (gemm.c,
 * gemm_small.c) and reachable by the unit tests; not part of the public API. */
#ifndef DL_GEMM_INTERNAL_H
#define DL_GEMM_INTERNAL_H

#include <stdint.h>

/* Which compiled variant of a kernel to run: the best this CPU supports, or
 * one forced (tests check each against a plain reference). */
typedef enum {
    DL_GEMV_BEST,
    DL_GEMV_PORTABLE, /* plain C, baseline x86-64 or any other CPU */
    DL_GEMV_AVX2,     /* AVX2 + FMA */
    DL_GEMV_AVX512,   /* AVX-512F/VL + FMA */
} dl_gemv_isa;

/* out[i * out_stride] = alpha * Mat[i, 0:K] . v[0:K] + beta * out[i * out_stride]
 * for i < rows (rows of Mat have stride ld; beta = 0 does not read out).
 * Threads split the rows when `parallel` and a team is available; a row's
 * value is the same at any thread count. Returns -1, doing nothing, if this
 * CPU cannot run the variant asked for (gemm_small.c). */
int dl_gemv_dot_isa(dl_gemv_isa isa, int64_t rows, int64_t K, float alpha, const float *Mat, int64_t ld,
                    const float *v, float beta, float *out, int64_t out_stride, int parallel);

/* dl_sgemm's k slice (and so the packed layout's below) */
enum { DL_GEMM_KC = 256 };

/* op(B) [K, N] packed ahead in dl_sgemm's panel layout: for each k slice
 * (DL_KC deep, the last shorter), the 16-wide column panels one after another,
 * the last zero-padded: n_pad = N rounded up to 16, K * n_pad floats in all.
 * gemm_weights.c keeps weights packed this way between calls. */
typedef struct dl_packed_b {
    const float *data;
    int64_t n_pad;
} dl_packed_b;

/* Whether dl_sgemm takes its blocked (packing) path for this shape: not a
 * matrix-vector product, not below the size it multiplies unpacked. */
int dl_gemm_blocked_shape(int64_t M, int64_t N, int64_t K);
int64_t dl_gemm_packed_b_floats(int64_t K, int64_t N);
/* Rows [0, mc) x k-slice [0, kc) of op(A) (A at the block's corner) into
 * MR-high panels, zero-padded: panel r at dst + r * kc holds dst[p*MR + i]. */
void dl_gemm_pack_a(int trans_a, const float *A, int64_t lda, int64_t mc, int64_t kc, int MR, float *dst);
void dl_gemm_pack_b(int trans_b, int64_t K, int64_t N, const float *B, int64_t ldb, float *dst);
/* dl_sgemm(trans_a, -, M, N, K, alpha, A, lda, B, -, beta, C, ldc) with B
 * given packed; the same sums in the same order, so the same bits. Only for
 * shapes where dl_gemm_blocked_shape holds (else it does nothing). */
/* The same product on this thread with 8 x 32 AVX-512 tiles (gemm_wide.c),
 * again the same bits; -1, doing nothing, when the CPU lacks AVX-512, when
 * its tile edges could round differently from dl_sgemm's (gemm_wide.c says
 * which shapes), or when the product is large enough for dl_sgemm_prepacked
 * to split over threads. */
int dl_sgemm_wide(int trans_a, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                  const dl_packed_b *pre, float beta, float *C, int64_t ldc);
void dl_sgemm_prepacked(int trans_a, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                        const dl_packed_b *pre, float beta, float *C, int64_t ldc);

#endif
