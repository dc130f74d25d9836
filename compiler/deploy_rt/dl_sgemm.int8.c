/* A product with an int8 weight B (deploy_q8_find): A quantized per tensor,
 * the products summed in int32, scaled back per output column; other
 * products in float. */
static void dl_sgemm(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                     int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc)
{
    const deploy_q8 *q = deploy_q8_find(B);
    int64_t i;
    if (!q) {
        dl_sgemm_f32(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (M * N * K >= 1000000)
#endif
    for (i = 0; i < M; i++) {
        float *c = C + i * ldc;
        int64_t j, k;
        for (j = 0; j < N; j++) {
            int32_t s = 0;
            for (k = 0; k < K; k++)
                s += deploy_q8_x(trans_a ? A[k * lda + i] : A[i * lda + k], 1.0f / q->xscale) *
                     (int32_t)(trans_b ? q->w[j * ldb + k] : q->w[k * ldb + j]);
            c[j] = alpha * (float)s * q->xscale * q->scale[j] + (beta == 0.0f ? 0.0f : beta * c[j]);
        }
    }
}
