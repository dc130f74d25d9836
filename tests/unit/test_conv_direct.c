/* test_conv_direct.c — the direct convolution kernels against the generic path.
 *
 * conv_depthwise.c replaces im2col + GEMM for depthwise layers. Its reference
 * is the generic path itself, reached through the public API: a depthwise
 * convolution with weight w[oc, 1, kh, kw] is the ordinary (groups = 1)
 * convolution whose dense weight W[oc, c, kh, kw] is w on the "diagonal"
 * (W[o, o / og] = w[o]) and zero elsewhere. So forward and data gradient must
 * agree with the dense convolution, and the depthwise weight gradient with
 * the diagonal blocks of the dense one. Geometries are deliberately odd:
 * non-square planes, strides 2 and 3, asymmetric padding, dilation, a
 * channel multiplier, a batch of one, and one big enough to run in parallel.
 *
 * conv_dw3.c (3x3, padding 1, stride 1 and 2) is checked against plain loops
 * of the definition. The library picks its AVX-512, AVX2 or baseline clone
 * at load time, so on an AVX-512 machine only the AVX-512 one would run:
 * the file is also compiled in here without clones (DW3_BASELINE_ONLY, the
 * unit tests' flags: baseline x86-64) under base_* names, and compared with
 * the library's. */
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlnrt.h"

#define DW3_BASELINE_ONLY
#define dl_dw3_applies base_dw3_applies
#define dl_dw3_forward base_dw3_forward
#define dl_dw3_bwd_data base_dw3_bwd_data
#define dl_dw3_bwd_weight base_dw3_bwd_weight
#include "../../runtime/conv_dw3.c"

static int64_t out_size(int64_t in, int64_t k, int64_t s, int64_t p0, int64_t p1, int64_t d)
{
    return (in + p0 + p1 - d * (k - 1) - 1) / s + 1;
}

static void fill(float *v, int64_t n, unsigned *seed)
{
    for (int64_t i = 0; i < n; i++) {
        *seed = *seed * 1664525u + 1013904223u;
        v[i] = (float)((*seed >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
}

/* max |a - b| / (1 + |b|) */
static double rel_err(const float *a, const float *b, int64_t n)
{
    double e = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]) / (1.0 + fabs((double)b[i]));
        if (d > e || isnan(d)) e = isnan(d) ? INFINITY : d;
    }
    return e;
}

typedef struct dw_case {
    int64_t n, c, mult, h, w, kh, kw, sh, sw, pt, pb, pl, pr, dh, dw;
} dw_case;

static void check_depthwise(const dw_case *t)
{
    dl_conv2d_geom g = {.n = t->n, .c = t->c, .h = t->h, .w = t->w, .oc = t->c * t->mult, .kh = t->kh, .kw = t->kw,
                        .sh = t->sh, .sw = t->sw, .pt = t->pt, .pb = t->pb, .pl = t->pl, .pr = t->pr,
                        .dh = t->dh, .dw = t->dw, .groups = t->c};
    g.oh = out_size(g.h, g.kh, g.sh, g.pt, g.pb, g.dh);
    g.ow = out_size(g.w, g.kw, g.sw, g.pl, g.pr, g.dw);
    dl_conv2d_geom dense = g;
    dense.groups = 1;
    CU_ASSERT_FATAL(dl_conv2d_is_depthwise(&g) && !dl_conv2d_is_depthwise(&dense));
    const int64_t taps = g.kh * g.kw, nx = g.n * g.c * g.h * g.w, ny = g.n * g.oc * g.oh * g.ow;
    const int64_t nw = g.oc * taps, nW = g.oc * g.c * taps;
    float *x = malloc(sizeof(float) * nx), *w = malloc(sizeof(float) * nw), *W = calloc(nW, sizeof(float));
    float *y = malloc(sizeof(float) * ny), *Y = malloc(sizeof(float) * ny), *gy = malloc(sizeof(float) * ny);
    float *gx = malloc(sizeof(float) * nx), *GX = malloc(sizeof(float) * nx);
    float *gw = malloc(sizeof(float) * nw), *GW = malloc(sizeof(float) * nW), *gwd = malloc(sizeof(float) * nw);
    unsigned seed = 12345u + (unsigned)(t->h * 31 + t->sw);
    fill(x, nx, &seed);
    fill(w, nw, &seed);
    fill(gy, ny, &seed);
    for (int64_t o = 0; o < g.oc; o++) memcpy(W + (o * g.c + o / t->mult) * taps, w + o * taps, sizeof(float) * taps);
    /* NaN canaries: every output element must be written */
    for (int64_t i = 0; i < ny; i++) y[i] = NAN;
    for (int64_t i = 0; i < nx; i++) gx[i] = NAN;
    for (int64_t i = 0; i < nw; i++) gw[i] = NAN;

    CU_ASSERT_EQUAL(dl_conv2d(&g, x, w, y), 0);
    CU_ASSERT_EQUAL(dl_conv2d(&dense, x, W, Y), 0);
    CU_ASSERT(rel_err(y, Y, ny) < 1e-5);

    CU_ASSERT_EQUAL(dl_conv2d_bwd_data(&g, gy, w, gx), 0);
    CU_ASSERT_EQUAL(dl_conv2d_bwd_data(&dense, gy, W, GX), 0);
    CU_ASSERT(rel_err(gx, GX, nx) < 1e-5);

    CU_ASSERT_EQUAL(dl_conv2d_bwd_weight(&g, x, gy, gw), 0);
    CU_ASSERT_EQUAL(dl_conv2d_bwd_weight(&dense, x, gy, GW), 0);
    for (int64_t o = 0; o < g.oc; o++) memcpy(gwd + o * taps, GW + (o * g.c + o / t->mult) * taps, sizeof(float) * taps);
    CU_ASSERT(rel_err(gw, gwd, nw) < 1e-4);

    free(x), free(w), free(W), free(y), free(Y), free(gy), free(gx), free(GX), free(gw), free(GW), free(gwd);
}

static void test_depthwise_vs_generic(void)
{
    static const dw_case cases[] = {
        /*  n  c mult  h   w kh kw sh sw pt pb pl pr dh dw */
        {2, 3, 1, 7, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},       /* MobileNet 3x3 "same" */
        {1, 4, 1, 11, 8, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1},      /* stride 2 */
        {3, 2, 1, 13, 10, 5, 3, 3, 2, 2, 0, 1, 2, 1, 1},     /* odd kernel, stride 3x2, asymmetric pads */
        {2, 3, 1, 12, 12, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2},     /* dilation 2 */
        {2, 2, 3, 9, 7, 3, 2, 2, 1, 1, 0, 0, 1, 1, 3},       /* channel multiplier 3, dilation 1x3 */
        {1, 5, 2, 6, 5, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1},       /* 1x1 depthwise (a per-channel scale) */
        {2, 2, 1, 4, 4, 4, 4, 1, 1, 0, 0, 0, 0, 1, 1},       /* kernel covers the plane: 1x1 output */
        {8, 32, 1, 28, 28, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},    /* big enough for the parallel path */
        {4, 16, 1, 15, 17, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1},    /* parallel, stride 2, odd planes */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_depthwise(&cases[i]);
}

/* The plain definition of a depthwise convolution (multiplier 1): y =
 * conv(x, w), gx and gw the gradients for the output gradient gy. */
static void plain_depthwise(const dl_conv2d_geom *g, const float *x, const float *w, const float *gy, float *y,
                            float *gx, float *gw)
{
    memset(y, 0, sizeof(float) * (size_t)(g->n * g->c * g->oh * g->ow));
    memset(gx, 0, sizeof(float) * (size_t)(g->n * g->c * g->h * g->w));
    memset(gw, 0, sizeof(float) * (size_t)(g->c * g->kh * g->kw));
    for (int64_t p = 0; p < g->n * g->c; p++)
        for (int64_t i = 0; i < g->oh; i++)
            for (int64_t j = 0; j < g->ow; j++)
                for (int64_t a = 0; a < g->kh; a++)
                    for (int64_t b = 0; b < g->kw; b++) {
                        const int64_t r = i * g->sh + a * g->dh - g->pt, q = j * g->sw + b * g->dw - g->pl;
                        if (r < 0 || r >= g->h || q < 0 || q >= g->w) continue;
                        const int64_t xi = (p * g->h + r) * g->w + q, yi = (p * g->oh + i) * g->ow + j;
                        const int64_t wi = (p % g->c * g->kh + a) * g->kw + b;
                        y[yi] += w[wi] * x[xi];
                        gx[xi] += w[wi] * gy[yi];
                        gw[wi] += gy[yi] * x[xi];
                    }
}

/* conv_dw3.c's 3x3 padding-1 kernels (stride 1 and 2) against the plain
 * loops, on random shapes: odd and even sizes down to 1x1, batch 1, and
 * batches above the thread count with enough work for the parallel path. */
static void test_dw3_vs_plain(void)
{
    unsigned seed = 777u;
    for (int it = 0; it < 60; it++) {
        seed = seed * 1664525u + 1013904223u;
        const int64_t s = 1 + (seed >> 9) % 2, big = it % 5 == 4;
        dl_conv2d_geom g = {.n = big ? 9 : 1 + (seed >> 11) % 3, .c = 1 + (seed >> 13) % (big ? 24 : 5),
                            .h = 1 + (seed >> 17) % (big ? 33 : 12), .w = 1 + (seed >> 21) % (big ? 33 : 12),
                            .kh = 3, .kw = 3, .sh = s, .sw = s, .pt = 1, .pb = 1, .pl = 1, .pr = 1, .dh = 1, .dw = 1};
        if (it == 0) g.n = 1, g.c = 1, g.h = 1, g.w = 1;
        g.oc = g.groups = g.c;
        g.oh = out_size(g.h, 3, s, 1, 1, 1);
        g.ow = out_size(g.w, 3, s, 1, 1, 1);
        const int64_t nx = g.n * g.c * g.h * g.w, ny = g.n * g.c * g.oh * g.ow, nw = g.c * 9;
        float *x = malloc(sizeof(float) * nx), *w = malloc(sizeof(float) * nw), *gy = malloc(sizeof(float) * ny);
        float *y = malloc(sizeof(float) * ny), *gx = malloc(sizeof(float) * nx), *gw = malloc(sizeof(float) * nw);
        float *ry = malloc(sizeof(float) * ny), *rgx = malloc(sizeof(float) * nx), *rgw = malloc(sizeof(float) * nw);
        fill(x, nx, &seed), fill(w, nw, &seed), fill(gy, ny, &seed);
        for (int64_t i = 0; i < ny; i++) y[i] = NAN;
        for (int64_t i = 0; i < nx; i++) gx[i] = NAN;
        for (int64_t i = 0; i < nw; i++) gw[i] = NAN;
        plain_depthwise(&g, x, w, gy, ry, rgx, rgw);
        CU_ASSERT_EQUAL(dl_conv2d(&g, x, w, y), 0);
        CU_ASSERT_EQUAL(dl_conv2d_bwd_data(&g, gy, w, gx), 0);
        CU_ASSERT_EQUAL(dl_conv2d_bwd_weight(&g, x, gy, gw), 0);
        const double ey = rel_err(y, ry, ny), egx = rel_err(gx, rgx, nx), egw = rel_err(gw, rgw, nw);
        if (ey > 1e-5 || egx > 1e-5 || egw > 1e-4)
            fprintf(stderr, "dw3 n%ld c%ld %ldx%ld s%ld: y %g gx %g gw %g\n", (long)g.n, (long)g.c, (long)g.h,
                    (long)g.w, (long)s, ey, egx, egw);
        CU_ASSERT(ey < 1e-5);
        CU_ASSERT(egx < 1e-5);
        CU_ASSERT(egw < 1e-4);
        free(x), free(w), free(gy), free(y), free(gx), free(gw), free(ry), free(rgx), free(rgw);
    }
}

/* conv_dw3.c's baseline x86-64 build against the library's dispatched clone. */
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
        fill(x, nx, &seed), fill(w, nw, &seed), fill(gy, ny, &seed);
        CU_ASSERT_EQUAL(base_dw3_forward(&g, x, w, y[0]), 0);
        CU_ASSERT_EQUAL(base_dw3_bwd_data(&g, gy, w, gx[0]), 0);
        CU_ASSERT_EQUAL(base_dw3_bwd_weight(&g, x, gy, gw[0]), 0);
        CU_ASSERT_EQUAL(dl_conv2d(&g, x, w, y[1]), 0);
        CU_ASSERT_EQUAL(dl_conv2d_bwd_data(&g, gy, w, gx[1]), 0);
        CU_ASSERT_EQUAL(dl_conv2d_bwd_weight(&g, x, gy, gw[1]), 0);
        CU_ASSERT(rel_err(y[0], y[1], ny) < 1e-5);
        CU_ASSERT(rel_err(gx[0], gx[1], nx) < 1e-5);
        CU_ASSERT(rel_err(gw[0], gw[1], nw) < 1e-4);
        for (int k = 0; k < 2; k++) free(y[k]), free(gx[k]), free(gw[k]);
        free(x), free(w), free(gy);
    }
}

/* An empty batch writes a zero weight gradient and touches nothing else. */
static void test_depthwise_empty_batch(void)
{
    dl_conv2d_geom g = {.n = 0, .c = 2, .h = 4, .w = 4, .oc = 2, .oh = 4, .ow = 4, .kh = 3, .kw = 3, .sh = 1, .sw = 1,
                        .pt = 1, .pb = 1, .pl = 1, .pr = 1, .dh = 1, .dw = 1, .groups = 2};
    float gw[18];
    for (int i = 0; i < 18; i++) gw[i] = NAN;
    CU_ASSERT_EQUAL(dl_conv2d_bwd_weight(&g, NULL, NULL, gw), 0);
    for (int i = 0; i < 18; i++) CU_ASSERT_EQUAL(gw[i], 0.0f);
    CU_ASSERT_EQUAL(dl_conv2d(&g, NULL, gw, NULL), 0);
}

void suite_conv_direct(void)
{
    CU_pSuite s = CU_add_suite("conv_direct", NULL, NULL);
    CU_add_test(s, "depthwise kernels vs the generic im2col path", test_depthwise_vs_generic);
    CU_add_test(s, "3x3 depthwise (stride 1, 2) vs plain loops", test_dw3_vs_plain);
    CU_add_test(s, "conv_dw3.c's baseline x86-64 build vs the library's", test_baseline_vs_library);
    CU_add_test(s, "depthwise with an empty batch", test_depthwise_empty_batch);
}
