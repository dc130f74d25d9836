/* test_conv_dw3_rows.c — conv_dw3_rows.c's register kernels (3x3 depthwise,
 * padding 1; planes 8, 16 or 32 wide at stride 1, 16 or 32 wide at stride
 * 2) against a plain loop of the definition in double: every variant this
 * CPU runs (portable, AVX2, AVX-512), the taps as given and turned by 180
 * degrees, heights from 1 to 33 (odd ones leave half vectors at stride 1 on
 * 8-wide planes and at stride 2 on 16-wide ones), odd channel counts, batch
 * 1 and 3, a sub-range of planes (the rest must stay untouched); then the
 * public forward and stride-1 data gradient on MobileNetV2's shapes and odd
 * ones, batch 1 and 9, bit for bit the same at 1 and 2 threads. */
#include "conv_dw3_rows_internal.h"
#include "dlnrt.h"
#include "dw3_ref.h"

#include <CUnit/CUnit.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static dl_conv2d_geom geom(int64_t n, int64_t c, int64_t h, int64_t w, int64_t s)
{
    dl_conv2d_geom g = {0};
    g.n = n, g.c = g.oc = g.groups = c, g.h = h, g.w = w, g.kh = g.kw = 3;
    g.oh = (h - 1) / s + 1, g.ow = (w - 1) / s + 1;
    g.sh = g.sw = s, g.pt = g.pb = g.pl = g.pr = 1, g.dh = g.dw = 1;
    return g;
}

/* Outputs of planes [p0, p1) of y that differ from the loop (beyond float
 * rounding), plus outputs outside that range that are not NaN. */
static int count_bad(const dl_conv2d_geom *g, const float *x, const float *w, const float *y, int rotate, int64_t p0,
                     int64_t p1)
{
    const int64_t po = g->oh * g->ow;
    int bad = 0;
    for (int64_t p = 0; p < g->n * g->c; p++)
        for (int64_t t = 0; t < po; t++) {
            const float got = y[p * po + t];
            if (p < p0 || p >= p1) {
                bad += !isnan(got);
                continue;
            }
            const double ref = dw3_ref_out(g, x, w, rotate, p, t / g->ow, t % g->ow);
            bad += !(fabs(got - ref) <= 1e-5 * (1 + fabs(ref)));
        }
    return bad;
}

static void test_applies(void)
{
    static const int64_t yes[][3] = {{8, 8, 1}, {16, 16, 1}, {32, 32, 1}, {5, 8, 1}, {1, 32, 1},
                                     {16, 16, 2}, {32, 32, 2}, {7, 16, 2}, {33, 32, 2}};
    static const int64_t no[][3] = {{4, 4, 1}, {12, 12, 1}, {9, 9, 1}, {64, 64, 1}, {8, 8, 2}, {15, 15, 2}, {33, 33, 2}};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
        const dl_conv2d_geom g = geom(1, 3, yes[i][0], yes[i][1], yes[i][2]);
        CU_ASSERT_TRUE(dl_dw3_rows_applies(&g));
    }
    for (size_t i = 0; i < sizeof no / sizeof *no; i++) {
        const dl_conv2d_geom g = geom(1, 3, no[i][0], no[i][1], no[i][2]);
        CU_ASSERT_FALSE(dl_dw3_rows_applies(&g));
    }
    dl_conv2d_geom g = geom(1, 3, 16, 16, 1);
    g.pt = 0; /* not padding 1 on every side: conv_depthwise.c's general kernels */
    CU_ASSERT_FALSE(dl_dw3_rows_applies(&g));
}

static void test_variants(void)
{
    static const dl_gemv_isa isas[] = {DL_GEMV_PORTABLE, DL_GEMV_AVX2, DL_GEMV_AVX512, DL_GEMV_BEST};
    static const int64_t widths[][2] = {{8, 1}, {16, 1}, {32, 1}, {16, 2}, {32, 2}}; /* w, stride */
    static const int64_t heights[] = {1, 2, 3, 4, 7, 8, 16, 17, 32, 33};
    int ran = 0, bad = 0, cases = 0;
    for (size_t wi = 0; wi < sizeof widths / sizeof *widths; wi++)
        for (size_t hi = 0; hi < sizeof heights / sizeof *heights; hi++) {
            const int64_t n = 1 + 2 * (int64_t)(hi % 2), c = 1 + 2 * (int64_t)((wi + hi) % 3);
            const dl_conv2d_geom g = geom(n, c, heights[hi], widths[wi][0], widths[wi][1]);
            CU_ASSERT_TRUE(dl_dw3_rows_applies(&g));
            const int64_t planes = g.n * g.c, p0 = planes > 2 ? 1 : 0, p1 = planes > 2 ? planes - 1 : planes;
            const int64_t nx = planes * g.h * g.w, ny = planes * g.oh * g.ow;
            float *x = malloc(sizeof(float) * (size_t)nx), *w = malloc(sizeof(float) * (size_t)(g.c * 9));
            float *y = malloc(sizeof(float) * (size_t)ny);
            dl_fill_normal(x, nx, 51 + wi * 16 + hi, 1);
            dl_fill_normal(w, g.c * 9, 53 + wi * 16 + hi, 1);
            cases++;
            for (size_t q = 0; q < sizeof isas / sizeof *isas; q++)
                for (int rotate = 0; rotate < 2; rotate++) {
                    for (int64_t e = 0; e < ny; e++) y[e] = NAN;
                    if (dl_dw3_rows_range_isa(isas[q], &g, x, w, y, rotate, p0, p1)) continue;
                    ran++;
                    const int b = count_bad(&g, x, w, y, rotate, p0, p1);
                    if (b)
                        fprintf(stderr, "dw3_rows isa %d rotate %d n%ld c%ld %ldx%ld s%ld: %d bad\n", (int)isas[q],
                                rotate, (long)g.n, (long)g.c, (long)g.h, (long)g.w, (long)g.sh, b);
                    bad += b;
                }
            free(x), free(w), free(y);
        }
    CU_ASSERT(ran >= 2 * 2 * cases); /* portable and best always run */
    CU_ASSERT_EQUAL(bad, 0);
}

/* dl_conv2d and (stride 1) dl_conv2d_bwd_data through conv_depthwise.c's dispatch, at 1 and 2 threads. */
static void test_entry_points(void)
{
    static const int64_t shapes[][5] = {/* n, c, h, w, stride */
                                        {1, 96, 32, 32, 1}, {1, 96, 32, 32, 2}, {1, 144, 16, 16, 1}, {1, 144, 16, 16, 2},
                                        {1, 192, 8, 8, 1},  {9, 24, 16, 16, 1}, {9, 13, 7, 8, 1},    {9, 11, 13, 16, 2},
                                        {3, 40, 9, 32, 2},  {5, 17, 31, 32, 1}};
    const int saved = omp_get_max_threads();
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        const dl_conv2d_geom g = geom(shapes[s][0], shapes[s][1], shapes[s][2], shapes[s][3], shapes[s][4]);
        CU_ASSERT_TRUE(dl_dw3_rows_applies(&g));
        const int64_t planes = g.n * g.c, nx = planes * g.h * g.w, ny = planes * g.oh * g.ow;
        float *x = malloc(sizeof(float) * (size_t)nx), *w = malloc(sizeof(float) * (size_t)(g.c * 9));
        float *y[2], *gx[2];
        dl_fill_normal(x, nx, 61 + s, 1);
        dl_fill_normal(w, g.c * 9, 63 + s, 1);
        for (int t = 0; t < 2; t++) {
            y[t] = malloc(sizeof(float) * (size_t)ny), gx[t] = malloc(sizeof(float) * (size_t)nx);
            for (int64_t e = 0; e < ny; e++) y[t][e] = NAN;
            for (int64_t e = 0; e < nx; e++) gx[t][e] = NAN;
            omp_set_num_threads(t + 1);
            CU_ASSERT_EQUAL(dl_conv2d(&g, x, w, y[t]), 0);
            if (g.sh == 1) CU_ASSERT_EQUAL(dl_conv2d_bwd_data(&g, x, w, gx[t]), 0); /* x as gy: same size */
        }
        omp_set_num_threads(saved);
        CU_ASSERT_EQUAL(memcmp(y[0], y[1], sizeof(float) * (size_t)ny), 0);
        CU_ASSERT_EQUAL(count_bad(&g, x, w, y[0], 0, 0, planes), 0);
        if (g.sh == 1) {
            CU_ASSERT_EQUAL(memcmp(gx[0], gx[1], sizeof(float) * (size_t)nx), 0);
            CU_ASSERT_EQUAL(count_bad(&g, x, w, gx[0], 1, 0, planes), 0);
        }
        free(x), free(w);
        for (int t = 0; t < 2; t++) free(y[t]), free(gx[t]);
    }
}

/* Each variant's weight gradient of channels [1, c - 1) (the rest untouched),
 * then dl_conv2d_bwd_weight at 1 and 2 threads (the same bits), all against
 * the double sums: every layout, odd heights, odd output heights at stride 2. */
static void test_wgrad(void)
{
    static const int64_t shapes[][5] = {/* n, c, h, w, stride */
                                        {3, 5, 32, 32, 1}, {2, 7, 31, 32, 2}, {5, 6, 16, 16, 1}, {3, 5, 13, 16, 2},
                                        {4, 9, 8, 8, 1},   {3, 5, 7, 8, 1},   {2, 4, 9, 32, 1},  {3, 5, 16, 16, 2},
                                        {2, 5, 3, 16, 2},  {64, 3, 32, 32, 2}};
    int ran = 0, bad = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        const dl_conv2d_geom g = geom(shapes[s][0], shapes[s][1], shapes[s][2], shapes[s][3], shapes[s][4]);
        CU_ASSERT_TRUE(dl_dw3_rows_applies(&g));
        bad += dw3_check_wgrad(&g, dl_dw3_rows_wgrad_isa, 71 + 2 * (unsigned)s, &ran);
    }
    CU_ASSERT(ran >= 2 * (int)(sizeof shapes / sizeof *shapes));
    CU_ASSERT_EQUAL(bad, 0);
}

void suite_conv_dw3_rows(void)
{
    CU_pSuite s = CU_add_suite("conv_dw3_rows", NULL, NULL);
    CU_add_test(s, "which layers it takes", test_applies);
    CU_add_test(s, "variants vs loops (8/16/32 wide s1, 16/32 wide s2, turned taps)", test_variants);
    CU_add_test(s, "entry points vs loops, 1 = 2 threads", test_entry_points);
    CU_add_test(s, "weight gradient vs sums, 1 = 2 threads", test_wgrad);
}
