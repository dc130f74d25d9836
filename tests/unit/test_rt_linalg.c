/* test_rt_linalg.c — runtime/linalg.c's dl_inverse and dl_logabsdet against
 * plain references: the determinant by cofactor expansion and the inverse as
 * the adjugate over the determinant (no pivoting, no elimination: nothing
 * shared with the kernel), for sizes 1 to 5 and batches of 1, 3 and 7
 * matrices (more than the threads); a zero leading pivot (a row swap), a
 * negative determinant, a singular matrix (-inf and NaNs), and the same bits
 * at 1 and 2 threads. */
#include <CUnit/CUnit.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <string.h>

#include "dlnrt.h"

/* det of the n x n matrix a (row stride ld) by expansion along the first row. */
static double cofactor_det(const double *a, int n, int ld) {
    if (n == 1) return a[0];
    double minor[25], det = 0;
    for (int c = 0; c < n; c++) {
        for (int i = 1; i < n; i++)
            for (int j = 0, k = 0; j < n; j++)
                if (j != c) minor[(i - 1) * (n - 1) + k++] = a[i * ld + j];
        det += (c % 2 ? -1 : 1) * a[c] * cofactor_det(minor, n - 1, n - 1);
    }
    return det;
}

/* inv[j][i] = (-1)^(i+j) det(a without row i, column j) / det a. */
static void adjugate_inverse(const double *a, int n, double *inv) {
    const double det = cofactor_det(a, n, n);
    if (n == 1) {
        inv[0] = 1 / a[0];
        return;
    }
    double minor[25];
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            for (int r = 0, p = 0; r < n; r++)
                for (int c = 0; c < n && r != i; c++)
                    if (c != j) minor[p++] = a[r * n + c];
            inv[j * n + i] = ((i + j) % 2 ? -1 : 1) * cofactor_det(minor, n - 1, n - 1) / det;
        }
}

static uint64_t state = 99;
static double uniform(void) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(state >> 11) / 9007199254740992.0 * 4 - 2;
}

static void test_against_references(void) {
    float x[7 * 25], y[7 * 25], ld[7];
    for (int n = 1; n <= 5; n++)
        for (int count = 1; count <= 7; count += 3) {
            for (int j = 0; j < count * n * n; j++) x[j] = (float)uniform();
            if (n >= 2) x[0] = 0.0f;                            /* the first pivot needs a row swap */
            CU_ASSERT_EQUAL_FATAL(dl_logabsdet(x, count, n, ld), 0);
            CU_ASSERT_EQUAL_FATAL(dl_inverse(x, count, n, y), 0);
            for (int q = 0; q < count; q++) {
                double a[25], inv[25];
                for (int j = 0; j < n * n; j++) a[j] = x[q * n * n + j];
                const double det = cofactor_det(a, n, n);
                CU_ASSERT(fabs(ld[q] - log(fabs(det))) <= 1e-5 * (1 + fabs(log(fabs(det)))));
                adjugate_inverse(a, n, inv);
                double scale = 0, err = 0;
                for (int j = 0; j < n * n; j++) scale = fmax(scale, fabs(inv[j]));
                for (int j = 0; j < n * n; j++) err = fmax(err, fabs(y[q * n * n + j] - inv[j]));
                CU_ASSERT(err <= 1e-5 * scale);
                if (!(err <= 1e-5 * scale)) fprintf(stderr, "n %d matrix %d: inverse off by %g (scale %g)\n", n, q, err, scale);
            }
        }
}

static void test_signs_and_singular(void) {
    const float neg[4] = {0, 1, 1, 0};                      /* det -1: log|det| 0 */
    const float sing[9] = {1, 2, 3, 2, 4, 6, 1, 0, 1};      /* row 2 = 2 * row 1 */
    float ld[1], y[9];
    CU_ASSERT_EQUAL(dl_logabsdet(neg, 1, 2, ld), 0);
    CU_ASSERT_EQUAL(ld[0], 0.0f);
    CU_ASSERT_EQUAL(dl_inverse(neg, 1, 2, y), 0);
    CU_ASSERT(y[0] == 0 && y[1] == 1 && y[2] == 1 && y[3] == 0);
    CU_ASSERT_EQUAL(dl_logabsdet(sing, 1, 3, ld), 0);
    CU_ASSERT(isinf(ld[0]) && ld[0] < 0);
    CU_ASSERT_EQUAL(dl_inverse(sing, 1, 3, y), 0);
    for (int j = 0; j < 9; j++) CU_ASSERT(isnan(y[j]));
}

static void test_threads(void) {
    enum { COUNT = 9, N = 4 };
    float x[COUNT * N * N], y1[COUNT * N * N], y2[COUNT * N * N], l1[COUNT], l2[COUNT];
    for (int j = 0; j < COUNT * N * N; j++) x[j] = (float)uniform();
    const int before = omp_get_max_threads();
    omp_set_num_threads(1);
    dl_inverse(x, COUNT, N, y1), dl_logabsdet(x, COUNT, N, l1);
    omp_set_num_threads(2);
    dl_inverse(x, COUNT, N, y2), dl_logabsdet(x, COUNT, N, l2);
    omp_set_num_threads(before);
    CU_ASSERT(memcmp(y1, y2, sizeof y1) == 0);
    CU_ASSERT(memcmp(l1, l2, sizeof l1) == 0);
}

void suite_rt_linalg(void) {
    CU_pSuite s = CU_add_suite("rt_linalg", NULL, NULL);
    CU_add_test(s, "inverse and log|det| against cofactor references, sizes 1-5, batches 1-7", test_against_references);
    CU_add_test(s, "a negative determinant; a singular matrix gives -inf and NaNs", test_signs_and_singular);
    CU_add_test(s, "the same bits at 1 and 2 threads", test_threads);
}
