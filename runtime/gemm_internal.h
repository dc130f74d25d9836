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

#endif
