/* test_conv_pointwise.c — conv_pointwise.c's unpacked 1x1 kernel against
 * plain double-precision loops: every compiled variant this CPU runs
 * (portable, AVX2, AVX-512), row counts around each variant's tile heights
 * (1 to 96), depths 1 to 96, planes whose size is and is not a multiple of
 * 16 (1 to 1024), weights read as W and as W^T, stores through the cache
 * or streamed. Then the public entry points on geometries the dispatch rule
 * sends here (batch 1, 3 and 5, more than the threads, and 64; odd planes;
 * outputs big enough to be streamed), forward, data and weight gradient
 * against the same loops, and bit for bit the same at 1 and 2 threads. */
#include "conv_pointwise_internal.h"
#include "dlnrt.h"

#include <CUnit/CUnit.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

static const dl_gemv_isa isas[] = {DL_GEMV_PORTABLE, DL_GEMV_AVX2, DL_GEMV_AVX512, DL_GEMV_BEST};

static float *randn(int64_t n, uint64_t seed)
{
    float *p = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    dl_fill_normal(p, n, seed, 1);
    return p;
}

/* |got - ref| within a rounding bound for a sum of `depth` products of N(0,1) values. */
static int close_to(float got, double ref, int64_t depth) { return fabs(got - ref) <= 1e-5 * (1.0 + sqrt((double)depth)) * 4; }

/* y = A @ x with A(i, k) = a[i*rs + k*ks], in double. */
static double ref_mm(const float *a, int64_t rs, int64_t ks, const float *x, int64_t K, int64_t P, int64_t i, int64_t q)
{
    double s = 0;
    for (int64_t k = 0; k < K; k++) s += (double)a[i * rs + k * ks] * x[k * P + q];
    return s;
}

static void test_matmul_variants(void)
{
    static const int64_t shapes[][3] = {{1, 1, 1},  {2, 3, 15},  {5, 16, 16},  {6, 16, 17},   {7, 17, 63},
                                        {13, 96, 65}, {16, 96, 64}, {96, 16, 100}, {11, 24, 129}, {25, 5, 1024}};
    int ran = 0, bad = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        for (int trans = 0; trans < 2; trans++) {
            const int64_t M = shapes[s][0], K = shapes[s][1], P = shapes[s][2];
            const int64_t rs = trans ? 1 : K, ks = trans ? M : 1;
            float *a = randn(M * K, 3 + s), *x = randn(K * P, 5 + s), *y = malloc(sizeof(float) * (size_t)(M * P));
            for (size_t q = 0; q < sizeof isas / sizeof *isas; q++) {
                for (int64_t e = 0; e < M * P; e++) y[e] = NAN; /* every element must be written */
                if (dl_pw_matmul_isa(isas[q], M, K, P, a, rs, ks, x, y, (int)(s + q) % 2)) continue;
                ran++;
                for (int64_t i = 0; i < M; i++)
                    for (int64_t p = 0; p < P; p++) bad += !close_to(y[i * P + p], ref_mm(a, rs, ks, x, K, P, i, p), K);
            }
            free(a), free(x), free(y);
        }
    CU_ASSERT(ran >= 2 * 2 * (int)(sizeof shapes / sizeof *shapes)); /* portable and best always run */
    CU_ASSERT_EQUAL(bad, 0);
}

/* Forward, data and weight gradient through the public entry points at 1
 * and 2 threads: against the loops above, and identical to each other. */
static void test_conv_entry_points(void)
{
    /* n, c, h, w, oc */
    /* n, c, h, w, oc; the last two write 16 MB, the forward's y then the data gradient's gx streamed */
    static const int64_t shapes[][5] = {{1, 16, 32, 32, 96}, {5, 96, 7, 9, 16},   {3, 8, 5, 5, 40},
                                        {64, 24, 4, 4, 32},  {64, 8, 32, 32, 64}, {64, 64, 32, 32, 8}};
    const int saved = omp_get_max_threads();
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        dl_conv2d_geom g = {0};
        g.n = shapes[s][0], g.c = shapes[s][1], g.h = g.oh = shapes[s][2], g.w = g.ow = shapes[s][3];
        g.oc = shapes[s][4], g.kh = g.kw = g.sh = g.sw = g.dh = g.dw = g.groups = 1;
        CU_ASSERT_TRUE(dl_pw_applies(&g));
        const int64_t P = g.h * g.w, nx = g.n * g.c * P, ny = g.n * g.oc * P, nw = g.oc * g.c;
        float *x = randn(nx, 21 + s), *w = randn(nw, 23 + s), *gy = randn(ny, 25 + s);
        float *y[2], *gx[2], *gw[2];
        for (int t = 0; t < 2; t++) {
            y[t] = malloc(sizeof(float) * (size_t)ny), gx[t] = malloc(sizeof(float) * (size_t)nx);
            gw[t] = malloc(sizeof(float) * (size_t)nw);
            omp_set_num_threads(t + 1);
            CU_ASSERT_EQUAL(dl_conv2d(&g, x, w, y[t]), 0);
            CU_ASSERT_EQUAL(dl_conv2d_bwd_data(&g, gy, w, gx[t]), 0);
            CU_ASSERT_EQUAL(dl_conv2d_bwd_weight(&g, x, gy, gw[t]), 0);
        }
        omp_set_num_threads(saved);
        CU_ASSERT_EQUAL(memcmp(y[0], y[1], sizeof(float) * (size_t)ny), 0);
        CU_ASSERT_EQUAL(memcmp(gx[0], gx[1], sizeof(float) * (size_t)nx), 0);
        CU_ASSERT_EQUAL(memcmp(gw[0], gw[1], sizeof(float) * (size_t)nw), 0);
        int bad = 0;
        for (int64_t i = 0; i < g.n; i++)
            for (int64_t p = 0; p < P; p += 3) {
                for (int64_t o = 0; o < g.oc; o++)
                    bad += !close_to(y[0][(i * g.oc + o) * P + p], ref_mm(w, g.c, 1, x + i * g.c * P, g.c, P, o, p), g.c);
                for (int64_t c = 0; c < g.c; c++)
                    bad += !close_to(gx[0][(i * g.c + c) * P + p], ref_mm(w, 1, g.c, gy + i * g.oc * P, g.oc, P, c, p), g.oc);
            }
        for (int64_t o = 0; o < g.oc; o++)
            for (int64_t c = 0; c < g.c; c++) {
                double r = 0;
                for (int64_t i = 0; i < g.n; i++)
                    for (int64_t p = 0; p < P; p++) r += (double)gy[(i * g.oc + o) * P + p] * x[(i * g.c + c) * P + p];
                bad += !close_to(gw[0][o * g.c + c], r, g.n * P);
            }
        CU_ASSERT_EQUAL(bad, 0);
        free(x), free(w), free(gy);
        for (int t = 0; t < 2; t++) free(y[t]), free(gx[t]), free(gw[t]);
    }
}

void suite_conv_pointwise(void)
{
    CU_pSuite s = CU_add_suite("conv_pointwise", NULL, NULL);
    CU_add_test(s, "matmul variants vs loops (forward, W^T)", test_matmul_variants);
    CU_add_test(s, "entry points vs loops, 1 = 2 threads", test_conv_entry_points);
}
