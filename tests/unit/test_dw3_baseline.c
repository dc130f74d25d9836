/* test_dw3_baseline.c — conv_dw3.c's baseline x86-64 code, on any CPU.
 *
 * The library picks its AVX-512, AVX2 or baseline clone at load time, so on
 * an AVX-512 machine test_conv_direct.c only ever runs the AVX-512 one. Here
 * the same source is compiled again without clones (DW3_BASELINE_ONLY, the
 * unit tests' flags: baseline x86-64) under other names, and its forward,
 * data gradient and weight gradient are compared with the library's, which
 * test_conv_direct.c checks against plain loops. */
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdlib.h>

#define DW3_BASELINE_ONLY
#define dl_dw3_applies base_dw3_applies
#define dl_dw3_forward base_dw3_forward
#define dl_dw3_bwd_data base_dw3_bwd_data
#define dl_dw3_bwd_weight base_dw3_bwd_weight
#include "../../runtime/conv_dw3.c"

static void fill_rand(float *v, int64_t n, unsigned *seed)
{
    for (int64_t i = 0; i < n; i++) {
        *seed = *seed * 1103515245u + 12345u;
        v[i] = (float)((*seed >> 9) & 0xffff) / 32768.0f - 1.0f;
    }
}

static double max_rel(const float *a, const float *b, int64_t n)
{
    double e = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]) / (1.0 + fabs((double)b[i]));
        if (d > e || isnan(d)) e = isnan(d) ? INFINITY : d;
    }
    return e;
}

static void test_baseline_vs_library(void)
{
    unsigned seed = 4242u;
    for (int it = 0; it < 24; it++) {
        seed = seed * 1103515245u + 12345u;
        const int64_t s = 1 + it % 2;
        dl_conv2d_geom g = {.n = 1 + (seed >> 8) % 4, .c = 1 + (seed >> 12) % 7, .h = 1 + (seed >> 16) % 19,
                            .w = 1 + (seed >> 21) % 19, .kh = 3, .kw = 3, .sh = s, .sw = s, .pt = 1, .pb = 1,
                            .pl = 1, .pr = 1, .dh = 1, .dw = 1};
        g.oc = g.groups = g.c;
        g.oh = (g.h - 1) / s + 1, g.ow = (g.w - 1) / s + 1;
        CU_ASSERT_FATAL(base_dw3_applies(&g));
        const int64_t nx = g.n * g.c * g.h * g.w, ny = g.n * g.c * g.oh * g.ow, nw = g.c * 9;
        float *x = malloc(sizeof(float) * nx), *w = malloc(sizeof(float) * nw), *gy = malloc(sizeof(float) * ny);
        float *y[2], *gx[2], *gw[2];
        for (int k = 0; k < 2; k++) {
            y[k] = malloc(sizeof(float) * ny), gx[k] = malloc(sizeof(float) * nx), gw[k] = malloc(sizeof(float) * nw);
            for (int64_t i = 0; i < ny; i++) y[k][i] = NAN;
            for (int64_t i = 0; i < nx; i++) gx[k][i] = NAN;
            for (int64_t i = 0; i < nw; i++) gw[k][i] = NAN;
        }
        fill_rand(x, nx, &seed), fill_rand(w, nw, &seed), fill_rand(gy, ny, &seed);
        CU_ASSERT_EQUAL(base_dw3_forward(&g, x, w, y[0]), 0);
        CU_ASSERT_EQUAL(base_dw3_bwd_data(&g, gy, w, gx[0]), 0);
        CU_ASSERT_EQUAL(base_dw3_bwd_weight(&g, x, gy, gw[0]), 0);
        CU_ASSERT_EQUAL(dl_conv2d(&g, x, w, y[1]), 0);
        CU_ASSERT_EQUAL(dl_conv2d_bwd_data(&g, gy, w, gx[1]), 0);
        CU_ASSERT_EQUAL(dl_conv2d_bwd_weight(&g, x, gy, gw[1]), 0);
        CU_ASSERT(max_rel(y[0], y[1], ny) < 1e-5);
        CU_ASSERT(max_rel(gx[0], gx[1], nx) < 1e-5);
        CU_ASSERT(max_rel(gw[0], gw[1], nw) < 1e-4);
        for (int k = 0; k < 2; k++) free(y[k]), free(gx[k]), free(gw[k]);
        free(x), free(w), free(gy);
    }
}

void suite_dw3_baseline(void)
{
    CU_pSuite s = CU_add_suite("dw3_baseline", NULL, NULL);
    CU_add_test(s, "conv_dw3.c's baseline x86-64 build vs the library's", test_baseline_vs_library);
}
