/* C[M,N] = alpha * op(A) @ op(B) + beta * C, row-major; plain loops in the
 * order that reads memory contiguously (a dot product when B is transposed). */
static void dl_sgemm(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                     int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc)
{
    int64_t i;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (M * N * K >= 1000000)
#endif
    for (i = 0; i < M; i++) {
        float *c = C + i * ldc;
        int64_t j, k;
        for (j = 0; j < N; j++) c[j] = beta == 0.0f ? 0.0f : beta * c[j];
        if (trans_b) {
            for (j = 0; j < N; j++) {
                const float *b = B + j * ldb;
                float s = 0.0f;
                for (k = 0; k < K; k++) s += (trans_a ? A[k * lda + i] : A[i * lda + k]) * b[k];
                c[j] += alpha * s;
            }
        } else {
            for (k = 0; k < K; k++) {
                const float a = alpha * (trans_a ? A[k * lda + i] : A[i * lda + k]);
                const float *b = B + k * ldb;
                for (j = 0; j < N; j++) c[j] += a * b[j];
            }
        }
    }
}
