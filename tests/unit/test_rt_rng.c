/* test_rt_rng.c — RNG reproducibility across thread counts, distribution
 * moments, initializer bounds/stds per torch.nn.init, and argmax metrics. */
#include "dlnrt.h"

#include <CUnit/CUnit.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

static void moments(const float *x, int64_t n, double *mean, double *std, double *maxabs)
{
    double s = 0, s2 = 0, m = 0;
    for (int64_t i = 0; i < n; i++) { s += x[i]; s2 += (double)x[i] * x[i]; m = fmax(m, fabs(x[i])); }
    *mean = s / n;
    *std = sqrt(s2 / n - *mean * *mean);
    *maxabs = m;
}

static void test_fill_independent_of_threads(void)
{
    const int64_t n = 300000;
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    dl_fill_normal(a, n, 42, 3);
    omp_set_num_threads(4);
    dl_fill_normal(b, n, 42, 3);
    CU_ASSERT_EQUAL(memcmp(a, b, n * sizeof *a), 0);
    dl_fill_uniform(a, n, 42, 3);
    omp_set_num_threads(1);
    dl_fill_uniform(b, n, 42, 3);
    omp_set_num_threads(saved);
    CU_ASSERT_EQUAL(memcmp(a, b, n * sizeof *a), 0);
    /* prefix property: the first 10 of a longer fill are the same values */
    float c[10];
    dl_fill_uniform(c, 10, 42, 3);
    CU_ASSERT_EQUAL(memcmp(a, c, sizeof c), 0);
    /* another stream or seed differs */
    dl_fill_uniform(c, 10, 42, 4);
    CU_ASSERT_NOT_EQUAL(memcmp(a, c, sizeof c), 0);
    free(a); free(b);
}

static void test_distributions(void)
{
    const int64_t n = 1000000;
    float *x = malloc(n * sizeof *x);
    double mean, std, maxabs;
    dl_fill_uniform(x, n, 1, 0);
    int in_range = 1;
    for (int64_t i = 0; i < n; i++) in_range &= x[i] >= 0.0f && x[i] < 1.0f;
    CU_ASSERT(in_range);
    moments(x, n, &mean, &std, &maxabs);
    CU_ASSERT_DOUBLE_EQUAL(mean, 0.5, 2e-3);
    CU_ASSERT_DOUBLE_EQUAL(std, sqrt(1.0 / 12), 2e-3);
    dl_fill_normal(x, n, 1, 0);
    moments(x, n, &mean, &std, &maxabs);
    CU_ASSERT_DOUBLE_EQUAL(mean, 0.0, 3e-3);
    CU_ASSERT_DOUBLE_EQUAL(std, 1.0, 3e-3);
    dl_rng r1, r2;
    dl_rng_seed(&r1, 9);
    dl_rng_seed(&r2, 9);
    int same = 1;
    for (int i = 0; i < 100; i++) same &= dl_rng_next(&r1) == dl_rng_next(&r2);
    CU_ASSERT(same);
    for (int64_t i = 0; i < n; i++) x[i] = dl_rng_normal(&r1);
    moments(x, n, &mean, &std, &maxabs);
    CU_ASSERT_DOUBLE_EQUAL(mean, 0.0, 3e-3);
    CU_ASSERT_DOUBLE_EQUAL(std, 1.0, 3e-3);
    free(x);
}

/* randint: every value in [low, high), each about equally often (Pearson's
 * chi-squared far below its 1e-6 tail), the same at any thread count. */
static void test_randint(void)
{
    const int64_t n = 1000000;
    int32_t *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    static const int32_t bounds[][2] = {{-3, 7}, {0, 1000}, {5, 6}, {INT32_MIN, INT32_MAX}};
    for (int k = 0; k < 4; k++) {
        int32_t lo = bounds[k][0], hi = bounds[k][1];
        dl_fill_randint(a, n, 7, 11, lo, hi);
        int in_range = 1;
        for (int64_t i = 0; i < n; i++) in_range &= a[i] >= lo && a[i] < hi;
        CU_ASSERT(in_range);
        if (hi - (int64_t)lo > 1000) continue;
        int64_t bins = hi - (int64_t)lo, count[1000] = {0};
        for (int64_t i = 0; i < n; i++) count[a[i] - lo]++;
        double e = (double)n / bins, chi2 = 0;
        for (int64_t j = 0; j < bins; j++) chi2 += (count[j] - e) * (count[j] - e) / e;
        /* df = bins - 1: mean df, sd sqrt(2 df); 6 sd is a 1e-6-ish tail */
        CU_ASSERT(chi2 <= (bins - 1) + 6 * sqrt(2.0 * (bins - 1)) + 1e-9);
    }
    int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    dl_fill_randint(a, n, 3, 4, 0, 1000);
    omp_set_num_threads(4);
    dl_fill_randint(b, n, 3, 4, 0, 1000);
    omp_set_num_threads(saved);
    CU_ASSERT_EQUAL(memcmp(a, b, n * sizeof *a), 0);
    dl_fill_randint(b, n, 3, 5, 0, 1000); /* another stream differs */
    CU_ASSERT_NOT_EQUAL(memcmp(a, b, n * sizeof *a), 0);
    free(a); free(b);
}

static void test_initializers(void)
{
    const int64_t n = 200000;
    float *w = malloc(n * sizeof *w);
    double mean, std, maxabs;
    dl_rng r;
    dl_rng_seed(&r, 1);
    /* he_uniform, default gain sqrt(2): bound = sqrt(2)*sqrt(3/100) = sqrt(6/100) = .2449490 */
    dl_init he = {.kind = DL_INIT_HE_UNIFORM, .fan_in = 100, .fan_out = 50};
    dl_init_tensor(w, n, &he, &r);
    moments(w, n, &mean, &std, &maxabs);
    CU_ASSERT(maxabs <= 0.2449490 && maxabs > 0.2440);
    CU_ASSERT_DOUBLE_EQUAL(std, 0.2449490 / sqrt(3.0), 2e-3);
    /* he_normal: std = sqrt(2)/sqrt(100) = .1414214 */
    dl_init hn = {.kind = DL_INIT_HE_NORMAL, .fan_in = 100};
    dl_init_tensor(w, n, &hn, &r);
    moments(w, n, &mean, &std, &maxabs);
    CU_ASSERT_DOUBLE_EQUAL(std, 0.1414214, 1e-3);
    /* xavier_uniform gain 2: bound = 2*sqrt(6/150) = .4 */
    dl_init xu = {.kind = DL_INIT_XAVIER_UNIFORM, .fan_in = 100, .fan_out = 50, .gain = 2.0f};
    dl_init_tensor(w, n, &xu, &r);
    moments(w, n, &mean, &std, &maxabs);
    CU_ASSERT(maxabs <= 0.4 && maxabs > 0.399);
    /* xavier_normal: std = sqrt(2/150) = .1154701 */
    dl_init xn = {.kind = DL_INIT_XAVIER_NORMAL, .fan_in = 100, .fan_out = 50};
    dl_init_tensor(w, n, &xn, &r);
    moments(w, n, &mean, &std, &maxabs);
    CU_ASSERT_DOUBLE_EQUAL(std, 0.1154701, 1e-3);
    /* lecun_uniform: bound sqrt(3/300) = .1; lecun_normal: std 1/sqrt(25) = .2 */
    dl_init lu = {.kind = DL_INIT_LECUN_UNIFORM, .fan_in = 300};
    dl_init_tensor(w, n, &lu, &r);
    moments(w, n, &mean, &std, &maxabs);
    CU_ASSERT(maxabs <= 0.1 && maxabs > 0.0999);
    dl_init ln = {.kind = DL_INIT_LECUN_NORMAL, .fan_in = 25};
    dl_init_tensor(w, n, &ln, &r);
    moments(w, n, &mean, &std, &maxabs);
    CU_ASSERT_DOUBLE_EQUAL(std, 0.2, 1e-3);
    /* normal(1, 2), uniform[-3, -1), constant, zeros, ones */
    dl_init no = {.kind = DL_INIT_NORMAL, .a = 1.0f, .b = 2.0f};
    dl_init_tensor(w, n, &no, &r);
    moments(w, n, &mean, &std, &maxabs);
    CU_ASSERT_DOUBLE_EQUAL(mean, 1.0, 2e-2);
    CU_ASSERT_DOUBLE_EQUAL(std, 2.0, 2e-2);
    dl_init un = {.kind = DL_INIT_UNIFORM, .a = -3.0f, .b = -1.0f};
    dl_init_tensor(w, n, &un, &r);
    int ok = 1;
    for (int64_t i = 0; i < n; i++) ok &= w[i] >= -3.0f && w[i] < -1.0f;
    CU_ASSERT(ok);
    dl_init k = {.kind = DL_INIT_CONSTANT, .a = 0.25f};
    dl_init_tensor(w, 5, &k, &r);
    CU_ASSERT_EQUAL(w[4], 0.25f);
    dl_init z = {.kind = DL_INIT_ZEROS}, o = {.kind = DL_INIT_ONES};
    dl_init_tensor(w, 5, &z, &r);
    CU_ASSERT_EQUAL(w[3], 0.0f);
    dl_init_tensor(w, 5, &o, &r);
    CU_ASSERT_EQUAL(w[3], 1.0f);
    free(w);
}

static void test_count_correct(void)
{
    const float logits[4 * 3] = {0.1f, 0.9f, 0.0f,   /* argmax 1 */
                                 2.0f, 2.0f, 1.0f,   /* tie: first wins, 0 */
                                 NAN, 0.0f, 1.0f,    /* NaN never wins: 2 */
                                 -1.0f, -2.0f, -0.5f};
    const int32_t labels[4] = {1, 1, 2, 0};
    CU_ASSERT_EQUAL(dl_count_correct(logits, labels, 4, 3), 2);
}

void suite_rt_rng(void)
{
    CU_pSuite s = CU_add_suite("rt_rng", NULL, NULL);
    CU_add_test(s, "fill independent of thread count", test_fill_independent_of_threads);
    CU_add_test(s, "uniform/normal moments", test_distributions);
    CU_add_test(s, "randint range and uniformity", test_randint);
    CU_add_test(s, "initializers (torch.nn.init formulas)", test_initializers);
    CU_add_test(s, "count_correct argmax", test_count_correct);
}
