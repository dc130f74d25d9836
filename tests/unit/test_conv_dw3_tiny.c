/* test_conv_dw3_tiny.c — conv_dw3_tiny.c's register kernels (3x3 depthwise,
 * 4x4 output planes: 4x4 at stride 1, 8x8 at stride 2) against a plain loop
 * of the definition in double: every variant this CPU runs (portable, AVX2,
 * AVX-512), the taps as given and turned by 180 degrees, odd channel counts,
 * batch 1 and 5, a sub-range of planes (the rest must stay untouched); then
 * the public forward and stride-1 data gradient on those shapes, bit for bit
 * the same at 1 and 2 threads; the weight gradient likewise (each variant
 * over a sub-range of channels, then the public entry point). */
#include "conv_dw3_tiny_internal.h"
#include "dlnrt.h"
#include "dw3_ref.h"

#include <CUnit/CUnit.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

static dl_conv2d_geom geom(int64_t n, int64_t c, int64_t h, int64_t s)
{
    dl_conv2d_geom g = {0};
    g.n = n, g.c = g.oc = g.groups = c, g.h = g.w = h, g.oh = g.ow = 4, g.kh = g.kw = 3;
    g.sh = g.sw = s, g.pt = g.pb = g.pl = g.pr = 1, g.dh = g.dw = 1;
    return g;
}

static void test_variants(void)
{
    static const dl_gemv_isa isas[] = {DL_GEMV_PORTABLE, DL_GEMV_AVX2, DL_GEMV_AVX512, DL_GEMV_BEST};
    static const int64_t shapes[][3] = {{1, 1, 4}, {5, 7, 4}, {1, 19, 8}, {5, 3, 8}}; /* n, c, h (stride h / 4) */
    int ran = 0, bad = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        const dl_conv2d_geom g = geom(shapes[s][0], shapes[s][1], shapes[s][2], shapes[s][2] / 4);
        CU_ASSERT_TRUE(dl_dw3_tiny_applies(&g));
        const int64_t planes = g.n * g.c, p0 = planes > 2 ? 1 : 0, p1 = planes > 2 ? planes - 1 : planes;
        float *x = malloc(sizeof(float) * (size_t)(planes * g.h * g.w)), *w = malloc(sizeof(float) * (size_t)(g.c * 9));
        float *y = malloc(sizeof(float) * (size_t)(planes * 16));
        dl_fill_normal(x, planes * g.h * g.w, 31 + s, 1);
        dl_fill_normal(w, g.c * 9, 33 + s, 1);
        for (size_t q = 0; q < sizeof isas / sizeof *isas; q++)
            for (int rotate = 0; rotate < 2; rotate++) {
                for (int64_t e = 0; e < planes * 16; e++) y[e] = NAN;
                if (dl_dw3_tiny_range_isa(isas[q], &g, x, w, y, rotate, p0, p1)) continue;
                ran++;
                for (int64_t p = 0; p < planes; p++)
                    for (int t = 0; t < 16; t++) {
                        const float got = y[p * 16 + t];
                        if (p < p0 || p >= p1) bad += !isnan(got); /* outside the range: untouched */
                        else bad += !(fabs(got - dw3_ref_out(&g, x, w, rotate, p, t / 4, t % 4)) <= 1e-5);
                    }
            }
        free(x), free(w), free(y);
    }
    CU_ASSERT(ran >= 2 * 2 * (int)(sizeof shapes / sizeof *shapes)); /* portable and best always run */
    CU_ASSERT_EQUAL(bad, 0);
}

/* dl_conv2d and (stride 1) dl_conv2d_bwd_data through conv_depthwise.c's dispatch, at 1 and 2 threads. */
static void test_entry_points(void)
{
    static const int64_t shapes[][3] = {{1, 384, 4}, {9, 24, 4}, {1, 192, 8}, {9, 40, 8}};
    const int saved = omp_get_max_threads();
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        const dl_conv2d_geom g = geom(shapes[s][0], shapes[s][1], shapes[s][2], shapes[s][2] / 4);
        const int64_t planes = g.n * g.c, nx = planes * g.h * g.w, ny = planes * 16;
        float *x = malloc(sizeof(float) * (size_t)nx), *w = malloc(sizeof(float) * (size_t)(g.c * 9));
        float *y[2], *gx[2];
        dl_fill_normal(x, nx, 41 + s, 1);
        dl_fill_normal(w, g.c * 9, 43 + s, 1);
        for (int t = 0; t < 2; t++) {
            y[t] = malloc(sizeof(float) * (size_t)ny), gx[t] = malloc(sizeof(float) * (size_t)ny);
            omp_set_num_threads(t + 1);
            CU_ASSERT_EQUAL(dl_conv2d(&g, x, w, y[t]), 0);
            if (g.sh == 1) CU_ASSERT_EQUAL(dl_conv2d_bwd_data(&g, x, w, gx[t]), 0); /* x as gy: both 4x4 */
        }
        omp_set_num_threads(saved);
        CU_ASSERT_EQUAL(memcmp(y[0], y[1], sizeof(float) * (size_t)ny), 0);
        if (g.sh == 1) CU_ASSERT_EQUAL(memcmp(gx[0], gx[1], sizeof(float) * (size_t)ny), 0);
        int bad = 0;
        for (int64_t p = 0; p < planes; p++)
            for (int t = 0; t < 16; t++) {
                bad += !(fabs(y[0][p * 16 + t] - dw3_ref_out(&g, x, w, 0, p, t / 4, t % 4)) <= 1e-5);
                if (g.sh == 1) bad += !(fabs(gx[0][p * 16 + t] - dw3_ref_out(&g, x, w, 1, p, t / 4, t % 4)) <= 1e-5);
            }
        CU_ASSERT_EQUAL(bad, 0);
        free(x), free(w);
        for (int t = 0; t < 2; t++) free(y[t]), free(gx[t]);
    }
}

/* Each variant's weight gradient of channels [1, c - 1) (the rest untouched),
 * then dl_conv2d_bwd_weight at 1 and 2 threads, against the double sums. */
static void test_wgrad(void)
{
    static const int64_t shapes[][3] = {{1, 3, 4}, {5, 7, 4}, {1, 19, 8}, {9, 40, 8}, {3, 384, 4}};
    int ran = 0, bad = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        const dl_conv2d_geom g = geom(shapes[s][0], shapes[s][1], shapes[s][2], shapes[s][2] / 4);
        bad += dw3_check_wgrad(&g, dl_dw3_tiny_wgrad_isa, 51 + 2 * (unsigned)s, &ran);
    }
    CU_ASSERT(ran >= 2 * (int)(sizeof shapes / sizeof *shapes));
    CU_ASSERT_EQUAL(bad, 0);
}

void suite_conv_dw3_tiny(void)
{
    CU_pSuite s = CU_add_suite("conv_dw3_tiny", NULL, NULL);
    CU_add_test(s, "variants vs loops (4x4 s1, 8x8 s2, turned taps)", test_variants);
    CU_add_test(s, "entry points vs loops, 1 = 2 threads", test_entry_points);
    CU_add_test(s, "weight gradient vs sums, 1 = 2 threads", test_wgrad);
}
