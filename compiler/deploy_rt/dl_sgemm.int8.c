/* A product with an int8 weight B (deploy_q8_find): A quantized per tensor,
 * the products summed in int32, scaled back per output column (a weight's
 * channel, hence the column-major loop); other products in float. */
static void dl_sgemm(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                     int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc)
{
    const deploy_q8 *q = deploy_q8_find(B);
    int64_t col;
    if (!q) {
        dl_sgemm_f32(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (M * N * K >= 1000000)
#endif
    for (col = 0; col < N; col++) {
        const float back = alpha * q->xscale * q->scale[col], inv = 1.0f / q->xscale;
        int64_t row, k;
        for (row = 0; row < M; row++) {
            float *c = C + row * ldc + col;
            int32_t s = 0;
            for (k = 0; k < K; k++)
                s += deploy_q8_x(trans_a ? A[k * lda + row] : A[row * lda + k], inv) *
                     (int32_t)(trans_b ? q->w[col * ldb + k] : q->w[k * ldb + col]);
            *c = back * (float)s + (beta == 0.0f ? 0.0f : beta * *c);
        }
    }
}
