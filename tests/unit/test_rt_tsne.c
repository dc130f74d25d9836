/* test_rt_tsne.c — exact t-SNE (runtime/tsne.c): three separated clusters
 * stay apart (every point's nearest neighbour in the plane is of its own
 * cluster), the result is the same bits on a second run and at 1 and 3
 * threads, another seed gives another layout, and bad sizes are refused. */
#include <CUnit/CUnit.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "dlnrt.h"

enum { N = 60, D = 5, PER = 20 };

static void clusters(float *x) {
    dl_rng r;
    dl_rng_seed(&r, 99);
    for (int i = 0; i < N; i++)
        for (int k = 0; k < D; k++) x[i * D + k] = (float)((k == i / PER ? 10.0 : 0.0) + dl_rng_normal(&r));
}

static void test_clusters(void) {
    static float x[N * D];
    static double y[N * 2], y2[N * 2], y3[N * 2], y4[N * 2];
    clusters(x);
    const int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    CU_ASSERT_EQUAL_FATAL(dl_tsne(x, N, D, 10, 1000, 7, y), 0);
    CU_ASSERT_EQUAL_FATAL(dl_tsne(x, N, D, 10, 1000, 7, y2), 0);
    omp_set_num_threads(3);
    CU_ASSERT_EQUAL_FATAL(dl_tsne(x, N, D, 10, 1000, 7, y3), 0);
    CU_ASSERT_EQUAL_FATAL(dl_tsne(x, N, D, 10, 1000, 8, y4), 0);
    omp_set_num_threads(threads);
    CU_ASSERT_EQUAL(memcmp(y, y2, sizeof y), 0);
    CU_ASSERT_EQUAL(memcmp(y, y3, sizeof y), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(y, y4, sizeof y), 0);
    int wrong = 0;
    for (int i = 0; i < N; i++) {
        int best = -1;
        double bd = 0;
        for (int j = 0; j < N; j++) {
            const double a = y[i * 2] - y[j * 2], b = y[i * 2 + 1] - y[j * 2 + 1];
            if (j != i && (best < 0 || a * a + b * b < bd)) best = j, bd = a * a + b * b;
        }
        wrong += best / PER != i / PER;
    }
    CU_ASSERT_EQUAL(wrong, 0);
}

static void test_refused(void) {
    float x[8] = {0};
    double y[8];
    CU_ASSERT_EQUAL(dl_tsne(x, 3, 2, 1, 10, 1, y), -1);
    CU_ASSERT_EQUAL(dl_tsne(x, 4, 2, 30, 10, 1, y), -1);   /* perplexity above (n - 1) / 3 */
    CU_ASSERT_PTR_NOT_NULL(strstr(dl_last_error(), "perplexity"));
}

void suite_rt_tsne(void) {
    CU_pSuite s = CU_add_suite("rt_tsne", NULL, NULL);
    CU_add_test(s, "clusters apart; the same bits at 1 and 3 threads", test_clusters);
    CU_add_test(s, "refused sizes", test_refused);
}
