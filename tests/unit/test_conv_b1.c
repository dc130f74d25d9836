/* test_conv_b1.c — conv_b1.c's batch-1 forward against a plain
 * double-precision convolution: every register-tile variant this CPU runs
 * (portable, AVX2, AVX-512), channel counts around the 6-row tile (odd ones
 * too), odd planes (1x1 up to the 8x8 the dispatch takes, and wider ones
 * the kernel accepts), 3x3 "same", asymmetric and zero padding, 1x3 and 5x5
 * kernels, dilation, batches of 1 and of 3 (more images than threads), at 1
 * and 2 threads (bit for bit the same; one layer big enough to be split
 * over the threads), with the epilogue called once per
 * image after that image is complete. Then the dispatch: dl_conv2d_ep sends
 * ResNet-20's batch-1 64-channel 8x8 layer here and not its batch-2 twin,
 * and both match the reference. */
#include <CUnit/CUnit.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/conv_b1_internal.h"
#include "dlnrt.h"

static const dl_gemv_isa isas[] = {DL_GEMV_PORTABLE, DL_GEMV_AVX2, DL_GEMV_AVX512, DL_GEMV_BEST};

static float *randn(int64_t n, uint64_t seed) {
    float *p = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    dl_fill_normal(p, n, seed, 1);
    return p;
}

static float *nans(int64_t n) {
    float *v = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    for (int64_t i = 0; i < n; i++) v[i] = NAN;
    return v;
}

/* One output of conv(x, w) in double, PyTorch's definition. */
static double ref_out(const dl_conv2d_geom *g, const float *x, const float *w, int64_t i, int64_t o, int64_t r,
                      int64_t q) {
    double s = 0;
    for (int64_t c = 0; c < g->c; c++)
        for (int64_t a = 0; a < g->kh; a++)
            for (int64_t b = 0; b < g->kw; b++) {
                const int64_t yy = r * g->sh - g->pt + a * g->dh, xx = q * g->sw - g->pl + b * g->dw;
                if (yy < 0 || yy >= g->h || xx < 0 || xx >= g->w) continue;
                s += (double)w[((o * g->c + c) * g->kh + a) * g->kw + b] * x[((i * g->c + c) * g->h + yy) * g->w + xx];
            }
    return s;
}

/* Elements of y (n x oc x oh x ow) off the reference by more than a float sum's rounding. */
static int64_t mismatches(const dl_conv2d_geom *g, const float *x, const float *w, const float *y) {
    const double tol = 4e-6 * (1.0 + sqrt((double)(g->c * g->kh * g->kw)));
    int64_t bad = 0;
    for (int64_t i = 0; i < g->n; i++)
        for (int64_t o = 0; o < g->oc; o++)
            for (int64_t r = 0; r < g->oh; r++)
                for (int64_t q = 0; q < g->ow; q++) {
                    const double want = ref_out(g, x, w, i, o, r, q);
                    const float got = y[((i * g->oc + o) * g->oh + r) * g->ow + q];
                    bad += !(fabs(got - want) <= tol * (1.0 + fabs(want)));
                }
    return bad;
}

/* The epilogue's record: which images it saw, and whether each was complete (no NaN left) then. */
typedef struct seen {
    int64_t calls[4], floats;
    int complete;
} seen;

static void note(void *ctx, int64_t image, float *y_image) {
    seen *s = ctx;
    s->calls[image]++;
    for (int64_t k = 0; k < s->floats; k++)
        if (isnan(y_image[k])) s->complete = 0;
}

static dl_conv2d_geom geom(int64_t n, int64_t c, int64_t oc, int64_t h, int64_t w, int64_t kh, int64_t kw,
                           int64_t pad_t, int64_t pad_b, int64_t pad_l, int64_t pad_r, int64_t dil) {
    dl_conv2d_geom g = {0};
    g.n = n, g.c = c, g.oc = oc, g.h = h, g.w = w, g.kh = kh, g.kw = kw, g.sh = g.sw = 1;
    g.pt = pad_t, g.pb = pad_b, g.pl = pad_l, g.pr = pad_r, g.dh = g.dw = dil, g.groups = 1;
    g.oh = h + pad_t + pad_b - dil * (kh - 1);
    g.ow = w + pad_l + pad_r - dil * (kw - 1);
    return g;
}

static void test_variants(void) {
    /* n, c, oc, h, w, kh, kw, pt, pb, pl, pr, dilation */
    static const int64_t cases[][12] = {
        {1, 64, 64, 8, 8, 3, 3, 1, 1, 1, 1, 1},  {1, 32, 32, 8, 8, 3, 3, 1, 1, 1, 1, 1},
        {1, 33, 37, 7, 5, 3, 3, 1, 1, 1, 1, 1},  {3, 5, 7, 8, 8, 3, 3, 1, 1, 1, 1, 1},
        {1, 3, 1, 1, 1, 3, 3, 1, 1, 1, 1, 1},    {1, 9, 13, 6, 9, 3, 3, 0, 2, 2, 0, 1},
        {3, 17, 11, 5, 7, 1, 3, 0, 0, 1, 1, 1},  {1, 6, 6, 9, 9, 5, 5, 2, 2, 2, 2, 1},
        {1, 7, 12, 8, 8, 3, 3, 2, 2, 2, 2, 2},   {1, 40, 70, 4, 4, 3, 3, 1, 1, 1, 1, 1},
        {1, 16, 25, 16, 16, 3, 3, 1, 1, 1, 1, 1}, {3, 64, 64, 8, 8, 3, 3, 0, 0, 0, 0, 1},
        {1, 64, 200, 8, 8, 3, 3, 1, 1, 1, 1, 1}, /* big enough to split over the threads */
    };
    const int saved = omp_get_max_threads();
    int ran = 0;
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        const int64_t *v = cases[k];
        const dl_conv2d_geom g = geom(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11]);
        const int64_t nx = g.n * g.c * g.h * g.w, ny = g.n * g.oc * g.oh * g.ow, nw = g.oc * g.c * g.kh * g.kw;
        float *x = randn(nx, 31 + k), *w = randn(nw, 37 + k), *buf = malloc(sizeof(float) * (size_t)dl_conv_b1_floats(&g));
        float *first = NULL;
        for (size_t q = 0; q < sizeof isas / sizeof *isas; q++)
            for (int t = 1; t <= 2; t++) {
                float *y = nans(ny);
                seen s = {{0}, g.oc * g.oh * g.ow, 1};
                omp_set_num_threads(t);
                const int rc = dl_conv_b1_forward(isas[q], &g, x, w, y, buf, note, &s);
                omp_set_num_threads(saved);
                if (rc) {
                    free(y);
                    continue;
                }
                ran++;
                CU_ASSERT_EQUAL(mismatches(&g, x, w, y), 0);
                CU_ASSERT_TRUE(s.complete);
                for (int64_t i = 0; i < g.n; i++) CU_ASSERT_EQUAL(s.calls[i], 1);
                if (isas[q] == DL_GEMV_BEST) { /* 1 and 2 threads: the same bits */
                    if (!first) first = y, y = NULL;
                    else CU_ASSERT_EQUAL(memcmp(first, y, sizeof(float) * (size_t)ny), 0);
                }
                free(y);
            }
        free(x), free(w), free(buf), free(first);
    }
    CU_ASSERT(ran >= 4 * (int)(sizeof cases / sizeof *cases)); /* portable and best, 1 and 2 threads, always run */
}

/* What dl_conv2d_ep sends here is ResNet-20's batch-1 8x8 stage, nothing at batch 2 or with few channels. */
static void test_dispatch(void) {
    const dl_conv2d_geom b1 = geom(1, 64, 64, 8, 8, 3, 3, 1, 1, 1, 1, 1);
    dl_conv2d_geom b2 = b1, narrow = geom(1, 16, 16, 8, 8, 3, 3, 1, 1, 1, 1, 1), wide = geom(1, 32, 32, 16, 16, 3, 3, 1, 1, 1, 1, 1);
    b2.n = 2;
    dl_conv2d_geom s2 = b1;
    s2.h = s2.w = 16, s2.sh = s2.sw = 2;
    CU_ASSERT_TRUE(dl_conv_b1_applies(&b1));
    CU_ASSERT_FALSE(dl_conv_b1_applies(&b2));
    CU_ASSERT_FALSE(dl_conv_b1_applies(&narrow));
    CU_ASSERT_FALSE(dl_conv_b1_applies(&wide));
    CU_ASSERT_FALSE(dl_conv_b1_applies(&s2));
    const dl_conv2d_geom *gs[] = {&b1, &b2};
    for (int k = 0; k < 2; k++) {
        const dl_conv2d_geom *g = gs[k];
        const int64_t nx = g->n * g->c * g->h * g->w, ny = g->n * g->oc * g->oh * g->ow;
        float *x = randn(nx, 41 + k), *w = randn(g->oc * g->c * 9, 43 + k), *y = nans(ny);
        seen s = {{0}, g->oc * g->oh * g->ow, 1};
        CU_ASSERT_EQUAL(dl_conv2d_ep(g, x, w, y, note, &s), 0);
        CU_ASSERT_EQUAL(mismatches(g, x, w, y), 0);
        CU_ASSERT_TRUE(s.complete);
        for (int64_t i = 0; i < g->n; i++) CU_ASSERT_EQUAL(s.calls[i], 1);
        free(x), free(w), free(y);
    }
}

void suite_conv_b1(void) {
    CU_pSuite s = CU_add_suite("conv_b1", NULL, NULL);
    CU_add_test(s, "variants vs loops, 1 = 2 threads, epilogue", test_variants);
    CU_add_test(s, "dispatch: batch-1 small planes only", test_dispatch);
}
