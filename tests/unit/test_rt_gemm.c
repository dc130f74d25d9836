/* test_rt_gemm.c — dl_sgemm against a naive double-precision triple loop:
 * odd sizes (both the unpacked small path and the packed, blocked path),
 * all four transpose combinations, alpha/beta, padded strides, beta = 0 over
 * NaN garbage, a call from inside a parallel region, the threaded paths at 1
 * and 2 threads, and bad arguments. */
#include "dlnrt.h"
#include "gemm_internal.h"
#include "gemm_ref.h"

#include <CUnit/CUnit.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* Runs one case; returns the max abs difference scaled by sqrt(K). */
static double gemm_case(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha, float beta, int pad)
{
    int64_t lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
    int64_t arows = ta ? K : M, brows = tb ? N : K;
    float *A = malloc(sizeof(float) * (size_t)(arows * lda + 1));
    float *B = malloc(sizeof(float) * (size_t)(brows * ldb + 1));
    float *C1 = malloc(sizeof(float) * (size_t)(M * ldc + 1));
    float *C2 = malloc(sizeof(float) * (size_t)(M * ldc + 1));
    dl_fill_normal(A, arows * lda, 7, 1);
    dl_fill_normal(B, brows * ldb, 7, 2);
    dl_fill_normal(C1, M * ldc, 7, 3);
    for (int64_t i = 0; i < M * ldc; i++) C2[i] = C1[i];
    dl_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C1, ldc);
    naive_gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C2, ldc);
    double worst = 0;
    for (int64_t i = 0; i < M * ldc; i++) worst = fmax(worst, fabs((double)C1[i] - C2[i]));
    free(A); free(B); free(C1); free(C2);
    return worst / sqrt((double)(K > 0 ? K : 1));
}

static void test_gemm_sizes_and_transposes(void)
{
    const int64_t sizes[] = {1, 7, 33, 130};
    int failures = 0;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (int a = 0; a < 4; a++)
                for (int b = 0; b < 4; b++)
                    for (int c = 0; c < 4; c++) {
                        double err = gemm_case(ta, tb, sizes[a], sizes[b], sizes[c], 1.0f, 0.0f, 0);
                        if (err > 1e-5) failures++;
                    }
    CU_ASSERT_EQUAL(failures, 0);
}

/* Few rows (convolutions: M = output channels): every tile height gets
 * picked (on AVX-512 24, 16, 12, 8, 6, 4: M = 20, 24, 48 -> 24; 16, 31 -> 16;
 * 12, 35 -> 12; 7, 8 -> 8; 5, 6 -> 6; 2, 4 -> 4), full and ragged, B is read
 * in place (M <= 2 tile heights), ragged last panels are packed, and two k
 * slices accumulate through beta. */
static void test_gemm_short_m(void)
{
    const int64_t ms[] = {2, 4, 5, 6, 7, 8, 12, 16, 20, 24, 31, 35, 48}, ns[] = {16, 47, 100}, ks[] = {9, 300};
    int failures = 0;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (int a = 0; a < 13; a++)
                for (int b = 0; b < 3; b++)
                    for (int c = 0; c < 2; c++)
                        failures += gemm_case(ta, tb, ms[a], ns[b], ks[c], 1.5f, 0.5f, (a + b) % 3) > 1e-5;
    CU_ASSERT_EQUAL(failures, 0);
}

static void test_gemm_alpha_beta_strides(void)
{
    CU_ASSERT(gemm_case(0, 0, 130, 67, 300, 0.5f, 2.0f, 3) < 1e-5);   /* K > KC: two k slices */
    CU_ASSERT(gemm_case(1, 0, 150, 33, 129, -1.5f, 1.0f, 5) < 1e-5);  /* M > MC: two row blocks */
    CU_ASSERT(gemm_case(0, 1, 33, 130, 65, 1.0f, -0.25f, 1) < 1e-5);
    CU_ASSERT(gemm_case(1, 1, 97, 101, 103, 2.0f, 0.5f, 7) < 1e-5);
    CU_ASSERT(gemm_case(0, 0, 1, 1000, 300, 1.0f, 1.0f, 0) < 1e-5);   /* a row vector times a matrix */
    CU_ASSERT(gemm_case(0, 0, 5, 3, 0, 1.0f, 0.5f, 2) < 1e-6);        /* K = 0: C = beta * C */
    CU_ASSERT(gemm_case(1, 1, 1, 700, 300, 1.5f, 0.5f, 3) < 1e-5);    /* gemv: M = 1, strided A row */
    CU_ASSERT(gemm_case(0, 1, 1, 700, 300, 1.0f, 0.0f, 0) < 1e-5);    /* gemv: M = 1 */
    CU_ASSERT(gemm_case(0, 0, 500, 1, 300, 1.0f, 1.0f, 2) < 1e-5);    /* gemv: N = 1, strided B column */
    CU_ASSERT(gemm_case(0, 1, 500, 1, 17, 2.0f, 0.0f, 0) < 1e-5);
}

static void test_gemm_beta_zero_ignores_nan(void)
{
    float A[4 * 4], B[4 * 4], C[4 * 4];
    for (int i = 0; i < 16; i++) { A[i] = 1.0f; B[i] = 2.0f; C[i] = NAN; }
    dl_sgemm(0, 0, 4, 4, 4, 1.0f, A, 4, B, 4, 0.0f, C, 4);
    for (int i = 0; i < 16; i++) CU_ASSERT_DOUBLE_EQUAL(C[i], 8.0, 1e-6);
    float *big_c = malloc(sizeof(float) * 200 * 200);
    float *big_a = calloc(200 * 200, sizeof(float));
    for (int i = 0; i < 200 * 200; i++) big_c[i] = NAN;
    dl_sgemm(0, 0, 200, 200, 200, 1.0f, big_a, 200, big_a, 200, 0.0f, big_c, 200);
    int nans = 0;
    for (int i = 0; i < 200 * 200; i++) nans += isnan(big_c[i]);
    CU_ASSERT_EQUAL(nans, 0);
    free(big_a); free(big_c);
}

static void test_gemm_inside_parallel_region(void)
{
    int bad = 0;
#pragma omp parallel for reduction(+ : bad)
    for (int t = 0; t < 4; t++) bad += gemm_case(t & 1, t >> 1, 70, 90, 110, 1.0f, 0.0f, t) > 1e-5;
    CU_ASSERT_EQUAL(bad, 0);
}

/* The threaded paths at 1 and 2 threads: products above the parallel
 * thresholds (tiles claimed by the threads, ragged last tiles, several k
 * slices accumulating through beta), tall/wide/short-M grids, and gemv above
 * its own threshold; each must match the naive product whatever the split. */
static void test_gemm_threads(void)
{
    static const int64_t shapes[][3] = {
        {211, 209, 213}, {257, 250, 300}, {128, 512, 200}, {20, 1030, 400}, {700, 40, 300}, {1, 2100, 1100}, {2100, 1, 1100},
    };
    int saved = omp_get_max_threads(), failures = 0;
    for (int threads = 1; threads <= 2; threads++) {
        omp_set_num_threads(threads);
        for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
            for (int t = 0; t < 4; t++) {
                const float alpha = t == 1 ? -0.5f : 1.0f, beta = t == 2 ? 0.75f : t == 3 ? 1.0f : 0.0f;
                failures += gemm_case(t & 1, t >> 1, shapes[s][0], shapes[s][1], shapes[s][2], alpha, beta, (int)s % 3) > 1e-5;
            }
    }
    omp_set_num_threads(saved);
    CU_ASSERT_EQUAL(failures, 0);
}

static void test_gemm_bad_arguments(void)
{
    float C[4] = {1, 2, 3, 4}, A[4] = {0}, B[4] = {0};
    dl_set_error("%s", "");
    dl_sgemm(0, 0, 2, 2, 2, 1.0f, A, 1, B, 2, 0.0f, C, 2);  /* lda < K */
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "leading dimension"));
    CU_ASSERT_EQUAL(C[0], 1.0f);                             /* C untouched */
    dl_sgemm(0, 0, -1, 2, 2, 1.0f, A, 2, B, 2, 0.0f, C, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "negative size"));
}

/* Each compiled variant of the matrix-vector kernel (portable, AVX2, AVX-512:
 * those this CPU runs) against a double-precision reference: row counts
 * around the 8-row block, K below, at and around the 16-lane step, padded
 * rows, strided outputs, alpha/beta; and, at 1 and 2 threads, outputs
 * identical bit for bit (a row's arithmetic must not depend on its block). */
static void test_gemv_variants(void)
{
    static const int64_t shapes[][2] = {{1, 1}, {3, 5}, {8, 16}, {9, 17}, {15, 31}, {17, 128}, {23, 300}, {512, 128}};
    static const dl_gemv_isa isas[] = {DL_GEMV_PORTABLE, DL_GEMV_AVX2, DL_GEMV_AVX512, DL_GEMV_BEST};
    int ran = 0, failures = 0, saved = omp_get_max_threads();
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        for (size_t q = 0; q < sizeof isas / sizeof *isas; q++) {
            const int64_t rows = shapes[s][0], K = shapes[s][1], ld = K + (int64_t)s % 3, os = 1 + (int64_t)q % 2;
            const float alpha = s % 2 ? -0.5f : 1.0f, beta = s % 3 == 1 ? 0.75f : 0.0f;
            float *M = malloc(sizeof(float) * (size_t)(rows * ld)), *v = malloc(sizeof(float) * (size_t)K);
            float *o0 = malloc(sizeof(float) * (size_t)(rows * os)), *o1 = malloc(sizeof(float) * (size_t)(rows * os)),
                  *o2 = malloc(sizeof(float) * (size_t)(rows * os));
            dl_fill_normal(M, rows * ld, 11, 1);
            dl_fill_normal(v, K, 11, 2);
            dl_fill_normal(o0, rows * os, 11, 3);
            memcpy(o1, o0, sizeof(float) * (size_t)(rows * os));
            memcpy(o2, o0, sizeof(float) * (size_t)(rows * os));
            omp_set_num_threads(1);
            if (dl_gemv_dot_isa(isas[q], rows, K, alpha, M, ld, v, beta, o1, os, 1) == 0) {
                ran++;
                omp_set_num_threads(2);
                dl_gemv_dot_isa(isas[q], rows, K, alpha, M, ld, v, beta, o2, os, 1);
                for (int64_t i = 0; i < rows; i++) {
                    double ref = 0;
                    for (int64_t p = 0; p < K; p++) ref += (double)M[i * ld + p] * v[p];
                    ref = alpha * ref + (beta == 0.0f ? 0.0 : (double)beta * o0[i * os]);
                    if (memcmp(&o1[i * os], &o2[i * os], sizeof(float))) failures++;
                    if (fabs(o1[i * os] - ref) > 1e-5 * sqrt((double)K)) failures++;
                }
            }
            free(M); free(v); free(o0); free(o1); free(o2);
        }
    omp_set_num_threads(saved);
    CU_ASSERT(ran >= (int)(sizeof shapes / sizeof *shapes) * 2); /* the portable and the best variant always run */
    CU_ASSERT_EQUAL(failures, 0);
}

void suite_rt_gemm(void)
{
    CU_pSuite s = CU_add_suite("rt_gemm", NULL, NULL);
    CU_add_test(s, "sizes x transposes vs naive", test_gemm_sizes_and_transposes);
    CU_add_test(s, "short M: tile heights, B in place", test_gemm_short_m);
    CU_add_test(s, "alpha, beta, strides, k/m blocking", test_gemm_alpha_beta_strides);
    CU_add_test(s, "beta = 0 ignores NaN in C", test_gemm_beta_zero_ignores_nan);
    CU_add_test(s, "serial inside a parallel region", test_gemm_inside_parallel_region);
    CU_add_test(s, "1 and 2 threads: tiles, gemv, alpha/beta", test_gemm_threads);
    CU_add_test(s, "gemv variants vs reference, 1 = 2 threads", test_gemv_variants);
    CU_add_test(s, "bad arguments", test_gemm_bad_arguments);
}
