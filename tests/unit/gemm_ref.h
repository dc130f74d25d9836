/* gemm_ref.h — the plain reference the GEMM tests compare against
 * (test_rt_gemm.c, test_rt_gemm_weights.c): a triple loop in double. */
#ifndef DLNC_TESTS_GEMM_REF_H
#define DLNC_TESTS_GEMM_REF_H
#include <stdint.h>

/* C = alpha * op(A) op(B) + beta * C in double (beta = 0 does not read C). */
static inline void naive_gemm(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                              int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc)
{
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double s = 0;
            for (int64_t p = 0; p < K; p++)
                s += (double)(ta ? A[p * lda + i] : A[i * lda + p]) * (tb ? B[j * ldb + p] : B[p * ldb + j]);
            C[i * ldc + j] = (float)(alpha * s + (beta == 0.0f ? 0.0 : (double)beta * C[i * ldc + j]));
        }
}

#endif
