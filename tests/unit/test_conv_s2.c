/* test_conv_s2.c — the stride-2 phase kernels (conv_s2.c) against a plain
 * double-precision loop written from the definition of a convolution.
 *
 * Random geometries: kernels 1x1 to 3x3 (1x2, 3x1 ...), input sizes 1 to
 * 37 (odd and even, narrower than a vector and wider than two), pads 0 to
 * 3 on each side independently (beyond the kernel's reach too), 1 to 5
 * input channels, 1 to 19 output channels (one tile, uneven tiles of the
 * 8-high forward and 4-high weight-gradient tiles), batches 1 and 3. Each
 * pass is called directly: the forward and data gradient per image, the
 * weight gradient over image ranges (and an empty one, which must give
 * zeros). Outputs start as NaN, so an element never written fails. The
 * library runs its AVX-512, AVX or baseline clone, whichever this CPU
 * takes; the file is also compiled in here without clones
 * (S2D_BASELINE_ONLY, the unit tests' flags: baseline x86-64) under base_*
 * names and checked the same way. Through the public entry points,
 * ResNet-20's two stride-2 layers at batch 1 and 5 match the reference at
 * 1 and 2 threads, bit for bit between the two (test_threads.c has the
 * 64-image case). */
#include <CUnit/CUnit.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/conv_s2_internal.h"
#define RAND_BUFFERS_SEED 4242u
#include "rand_buffers.h"

#define S2D_BASELINE_ONLY
#define dl_conv_s2_fits base_s2_fits
#define dl_conv_s2_fwd_floats base_s2_fwd_floats
#define dl_conv_s2_image base_s2_image
#define dl_conv_s2_phase_weight base_s2_phase_weight
#define dl_conv_s2_bwd_data_floats base_s2_bwd_data_floats
#define dl_conv_s2_bwd_data_image base_s2_bwd_data_image
#define dl_conv_s2_wgrad_pays base_s2_wgrad_pays
#define dl_conv_s2_wgrad_floats base_s2_wgrad_floats
#define dl_conv_s2_bwd_weight base_s2_bwd_weight
#define dl_conv_s2_tap_cols base_s2_tap_cols
#include "../../runtime/conv_s2.c"
#undef dl_conv_s2_fits
#undef dl_conv_s2_fwd_floats
#undef dl_conv_s2_image
#undef dl_conv_s2_phase_weight
#undef dl_conv_s2_bwd_data_floats
#undef dl_conv_s2_bwd_data_image
#undef dl_conv_s2_wgrad_pays
#undef dl_conv_s2_wgrad_floats
#undef dl_conv_s2_bwd_weight
#undef dl_conv_s2_tap_cols

/* y, gx, gw of a one-group convolution by definition, in double. */
static void reference(const dl_conv2d_geom *g, const float *x, const float *w, const float *gy, double *y,
                      double *gx, double *gw) {
    int64_t P = g->oh * g->ow, plane = g->h * g->w;
    memset(y, 0, sizeof(double) * (size_t)(g->n * g->oc * P));
    memset(gx, 0, sizeof(double) * (size_t)(g->n * g->c * plane));
    memset(gw, 0, sizeof(double) * (size_t)(g->oc * g->c * g->kh * g->kw));
    for (int64_t n = 0; n < g->n; n++)
        for (int64_t o = 0; o < g->oc; o++)
            for (int64_t i = 0; i < g->oh; i++)
                for (int64_t j = 0; j < g->ow; j++)
                    for (int64_t c = 0; c < g->c; c++)
                        for (int64_t a = 0; a < g->kh; a++)
                            for (int64_t b = 0; b < g->kw; b++) {
                                int64_t r = 2 * i - g->pt + a, q = 2 * j - g->pl + b;
                                if (r < 0 || r >= g->h || q < 0 || q >= g->w) continue;
                                int64_t xi = (n * g->c + c) * plane + r * g->w + q, yi = (n * g->oc + o) * P + i * g->ow + j;
                                int64_t wi = ((o * g->c + c) * g->kh + a) * g->kw + b;
                                y[yi] += (double)w[wi] * x[xi];
                                gx[xi] += (double)w[wi] * gy[yi];
                                gw[wi] += (double)gy[yi] * x[xi];
                            }
}

typedef struct s2_kernels {
    int (*fits)(const dl_conv2d_geom *);
    int64_t (*fwd_floats)(const dl_conv2d_geom *);
    void (*image)(const dl_conv2d_geom *, const float *, const float *, float *, float *, int);
    void (*phase_weight)(const dl_conv2d_geom *, const float *, float *);
    int64_t (*bwd_data_floats)(const dl_conv2d_geom *);
    void (*bwd_data_image)(const dl_conv2d_geom *, const float *, const float *, float *, float *, int);
    int64_t (*wgrad_floats)(const dl_conv2d_geom *);
    void (*bwd_weight)(const dl_conv2d_geom *, const float *, const float *, float *, float *, int64_t, int64_t);
} s2_kernels;

static const s2_kernels library = {dl_conv_s2_fits,         dl_conv_s2_fwd_floats,     dl_conv_s2_image,
                                   dl_conv_s2_phase_weight, dl_conv_s2_bwd_data_floats, dl_conv_s2_bwd_data_image,
                                   dl_conv_s2_wgrad_floats, dl_conv_s2_bwd_weight};
static const s2_kernels baseline = {base_s2_fits,         base_s2_fwd_floats,     base_s2_image,
                                    base_s2_phase_weight, base_s2_bwd_data_floats, base_s2_bwd_data_image,
                                    base_s2_wgrad_floats, base_s2_bwd_weight};

/* All three passes of one geometry through kernel set k against the reference: 1 if all match. */
static int check(const s2_kernels *k, const dl_conv2d_geom *g) {
    int64_t nx = g->n * g->c * g->h * g->w, ny = g->n * g->oc * g->oh * g->ow, nw = g->oc * g->c * g->kh * g->kw;
    float *x = values(nx), *w = values(nw), *gy = values(ny), *y = nans(ny), *gx = nans(nx), *gw = nans(nw);
    double *ry = malloc(sizeof(double) * (size_t)ny), *rgx = malloc(sizeof(double) * (size_t)nx);
    double *rgw = malloc(sizeof(double) * (size_t)nw);
    reference(g, x, w, gy, ry, rgx, rgw);
    int ok = k->fits(g);
    float *buf = scratch_nans(k->fwd_floats(g));
    for (int64_t i = 0; i < g->n; i++)
        k->image(g, x + i * g->c * g->h * g->w, w, y + i * g->oc * g->oh * g->ow, buf, i > 0);
    ok &= close_to(y, ry, ny);
    free(buf);
    float *wp = nans(nw);
    buf = scratch_nans(k->bwd_data_floats(g));
    k->phase_weight(g, w, wp);
    for (int64_t i = 0; i < g->n; i++)
        k->bwd_data_image(g, gy + i * g->oc * g->oh * g->ow, wp, gx + i * g->c * g->h * g->w, buf, i > 0);
    ok &= close_to(gx, rgx, nx);
    free(buf), free(wp);
    /* the weight gradient over all images, then as the sum of two ranges (one may be empty) */
    buf = scratch_nans(k->wgrad_floats(g));
    k->bwd_weight(g, x, gy, gw, buf, 0, g->n);
    ok &= close_to(gw, rgw, nw);
    float *part = nans(nw);
    int64_t mid = pick(0, g->n);
    k->bwd_weight(g, x, gy, gw, buf, 0, mid);
    k->bwd_weight(g, x, gy, part, buf, mid, g->n);
    for (int64_t i = 0; i < nw; i++) gw[i] += part[i];
    ok &= close_to(gw, rgw, nw);
    k->bwd_weight(g, x, gy, part, buf, 1, 1);
    for (int64_t i = 0; i < nw; i++) ok &= part[i] == 0.0f;
    free(buf), free(part);
    free(x), free(w), free(gy), free(y), free(gx), free(gw), free(ry), free(rgx), free(rgw);
    return ok;
}

static dl_conv2d_geom random_geom(void) {
    dl_conv2d_geom g = {0};
    for (;;) {
        g.n = pick(0, 1) ? 1 : 3, g.c = pick(1, 5), g.oc = pick(1, 19), g.h = pick(1, 37), g.w = pick(1, 37);
        g.kh = pick(1, 3), g.kw = pick(1, 3), g.sh = g.sw = 2, g.dh = g.dw = 1, g.groups = 1;
        g.pt = pick(0, 3), g.pb = pick(0, 3), g.pl = pick(0, 3), g.pr = pick(0, 3);
        int64_t eh = g.h + g.pt + g.pb - g.kh, ew = g.w + g.pl + g.pr - g.kw;
        if (eh < 0 || ew < 0) continue;
        g.oh = eh / 2 + 1, g.ow = ew / 2 + 1;
        return g;
    }
}

static void test_random_geometries(void) {
    for (int t = 0; t < 300; t++) {
        dl_conv2d_geom g = random_geom();
        CU_ASSERT(check(&library, &g));
        CU_ASSERT(check(&baseline, &g));
    }
}

/* ResNet-20's layers and shortcut (batch 2 here), and odd sizes around them. */
static void test_resnet_shapes(void) {
    static const int64_t shapes[][5] = {/* c, oc, h=w, k, pad */
                                        {16, 32, 32, 3, 1}, {32, 64, 16, 3, 1}, {16, 32, 32, 1, 0},
                                        {16, 32, 33, 3, 1}, {32, 64, 15, 3, 1}, {3, 20, 31, 3, 0}};
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        dl_conv2d_geom g = stride2_square(2, shapes[i][0], shapes[i][1], shapes[i][2], shapes[i][3], shapes[i][4]);
        CU_ASSERT(check(&library, &g));
        CU_ASSERT(check(&baseline, &g));
    }
}

/* Geometries the kernels must refuse (conv.c keeps them on im2col + GEMM). */
static void test_refuses(void) {
    dl_conv2d_geom g = {.n = 1, .c = 4, .oc = 4, .h = 9, .w = 9, .kh = 3, .kw = 3, .sh = 2, .sw = 2, .dh = 1, .dw = 1,
                        .groups = 1, .pt = 1, .pb = 1, .pl = 1, .pr = 1, .oh = 5, .ow = 5};
    CU_ASSERT(dl_conv_s2_fits(&g));
    dl_conv2d_geom t = g;
    t.sw = 1, t.ow = 9;
    CU_ASSERT(!dl_conv_s2_fits(&t)); /* stride 1 across */
    t = g, t.dh = 2, t.oh = 4;
    CU_ASSERT(!dl_conv_s2_fits(&t)); /* dilation */
    t = g, t.groups = 2;
    CU_ASSERT(!dl_conv_s2_fits(&t)); /* groups */
    t = g, t.kh = t.kw = 5, t.oh = t.ow = 4;
    CU_ASSERT(!dl_conv_s2_fits(&t)); /* a 5x5 kernel */
    t = g, t.ow = 4;
    CU_ASSERT(!dl_conv_s2_fits(&t)); /* ow that does not match the padding */
}

/* The public entry points on ResNet's stride-2 layers, 1 and 2 threads: the
 * reference's values, and the same bits at both thread counts. */
static void test_public_threads(void) {
    static const int64_t shapes[][4] = {{16, 32, 32, 1}, {16, 32, 32, 5}, {32, 64, 16, 1}, {32, 64, 16, 5}};
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        dl_conv2d_geom g = {.n = shapes[i][3], .c = shapes[i][0], .oc = shapes[i][1], .h = shapes[i][2],
                            .w = shapes[i][2], .kh = 3, .kw = 3, .sh = 2, .sw = 2, .dh = 1, .dw = 1, .groups = 1,
                            .pt = 1, .pb = 1, .pl = 1, .pr = 1, .oh = shapes[i][2] / 2, .ow = shapes[i][2] / 2};
        int64_t nx = g.n * g.c * g.h * g.w, ny = g.n * g.oc * g.oh * g.ow, nw = g.oc * g.c * 9;
        float *x = values(nx), *w = values(nw), *gy = values(ny), *out[2][3];
        double *ry = malloc(sizeof(double) * (size_t)ny), *rgx = malloc(sizeof(double) * (size_t)nx);
        double *rgw = malloc(sizeof(double) * (size_t)nw);
        reference(&g, x, w, gy, ry, rgx, rgw);
        int saved = omp_get_max_threads();
        for (int th = 0; th < 2; th++) {
            omp_set_num_threads(th + 1);
            out[th][0] = nans(ny), out[th][1] = nans(nx), out[th][2] = nans(nw);
            CU_ASSERT_EQUAL(dl_conv2d(&g, x, w, out[th][0]), 0);
            CU_ASSERT_EQUAL(dl_conv2d_bwd_data(&g, gy, w, out[th][1]), 0);
            CU_ASSERT_EQUAL(dl_conv2d_bwd_weight(&g, x, gy, out[th][2]), 0);
            CU_ASSERT(close_to(out[th][0], ry, ny));
            CU_ASSERT(close_to(out[th][1], rgx, nx));
            CU_ASSERT(close_to(out[th][2], rgw, nw));
        }
        omp_set_num_threads(saved);
        CU_ASSERT(memcmp(out[0][0], out[1][0], sizeof(float) * (size_t)ny) == 0);
        CU_ASSERT(memcmp(out[0][1], out[1][1], sizeof(float) * (size_t)nx) == 0);
        CU_ASSERT(memcmp(out[0][2], out[1][2], sizeof(float) * (size_t)nw) == 0);
        for (int th = 0; th < 2; th++) free(out[th][0]), free(out[th][1]), free(out[th][2]);
        free(x), free(w), free(gy), free(ry), free(rgx), free(rgw);
    }
}

/* The forward and the data gradient of 8-wide output rows on tap-column planes
 * (dl_conv_s2_tap_cols(1)) and in rows (0): the same bits, per image through one
 * reused buffer and through dl_conv2d / dl_conv2d_bwd_data at 1 and 2 threads;
 * the reference's values. Geometries with 16-wide
 * input rows and pl = 1 (ResNet's 32->64 layer and variations of it: padding
 * top and bottom, row count, 1-, 2- and 3-tall kernels). */
static void test_tap_cols(void) {
    static const int64_t shapes[][7] = {/* n, c, oc, h, kh, pt, pb */
                                        {5, 32, 64, 16, 3, 1, 1}, {3, 3, 5, 16, 3, 0, 1}, {2, 4, 9, 17, 3, 1, 0},
                                        {3, 5, 7, 15, 2, 0, 1},   {2, 6, 3, 15, 1, 0, 0}, {2, 2, 17, 16, 3, 1, 1}};
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        const int64_t *sh = shapes[i];
        dl_conv2d_geom g = {.n = sh[0], .c = sh[1], .oc = sh[2], .h = sh[3], .w = 16, .kh = sh[4], .kw = 3,
                            .sh = 2, .sw = 2, .dh = 1, .dw = 1, .groups = 1, .pt = sh[5], .pb = sh[6], .pl = 1,
                            .pr = 1, .ow = 8};
        g.oh = (g.h + g.pt + g.pb - g.kh) / 2 + 1;
        CU_ASSERT_EQUAL_FATAL(g.oh % 2, 0);
        int64_t nx = g.n * g.c * g.h * g.w, ny = g.n * g.oc * g.oh * g.ow, nw = g.oc * g.c * g.kh * g.kw;
        float *x = values(nx), *w = values(nw), *gy = values(ny), *y[2][3], *gx[2][3];
        double *ry = malloc(sizeof(double) * (size_t)ny), *rgx = malloc(sizeof(double) * (size_t)nx);
        double *rgw = malloc(sizeof(double) * (size_t)nw);
        reference(&g, x, w, gy, ry, rgx, rgw);
        int saved = omp_get_max_threads();
        for (int mode = 0; mode < 2; mode++) {
            dl_conv_s2_tap_cols(mode);
            float *buf = scratch_nans(dl_conv_s2_fwd_floats(&g));
            y[mode][0] = nans(ny);
            for (int64_t im = 0; im < g.n; im++)
                dl_conv_s2_image(&g, x + im * g.c * g.h * g.w, w, y[mode][0] + im * g.oc * g.oh * g.ow, buf, im > 0);
            free(buf);
            float *wp = nans(nw);
            dl_conv_s2_phase_weight(&g, w, wp);
            buf = scratch_nans(dl_conv_s2_bwd_data_floats(&g));
            gx[mode][0] = nans(nx);
            for (int64_t im = 0; im < g.n; im++)
                dl_conv_s2_bwd_data_image(&g, gy + im * g.oc * g.oh * g.ow, wp, gx[mode][0] + im * g.c * g.h * g.w,
                                          buf, im > 0);
            free(buf), free(wp);
            for (int th = 0; th < 2; th++) {
                omp_set_num_threads(th + 1);
                y[mode][1 + th] = nans(ny);
                gx[mode][1 + th] = nans(nx);
                CU_ASSERT_EQUAL(dl_conv2d(&g, x, w, y[mode][1 + th]), 0);
                CU_ASSERT_EQUAL(dl_conv2d_bwd_data(&g, gy, w, gx[mode][1 + th]), 0);
            }
            for (int k = 0; k < 3; k++) CU_ASSERT(close_to(y[mode][k], ry, ny));
            for (int k = 0; k < 3; k++) CU_ASSERT(close_to(gx[mode][k], rgx, nx));
        }
        dl_conv_s2_tap_cols(-1);
        omp_set_num_threads(saved);
        for (int k = 0; k < 3; k++) {
            CU_ASSERT(memcmp(y[0][k], y[1][k], sizeof(float) * (size_t)ny) == 0);
            CU_ASSERT(memcmp(gx[0][k], gx[1][k], sizeof(float) * (size_t)nx) == 0);
            free(y[0][k]), free(y[1][k]), free(gx[0][k]), free(gx[1][k]);
        }
        free(x), free(w), free(gy), free(ry), free(rgx), free(rgw);
    }
}

void suite_conv_s2(void) {
    CU_pSuite s = CU_add_suite("conv_s2", NULL, NULL);
    CU_add_test(s, "stride-2 phase kernels vs a double loop, random geometries, library and baseline builds",
                test_random_geometries);
    CU_add_test(s, "ResNet-20's stride-2 shapes and odd sizes around them", test_resnet_shapes);
    CU_add_test(s, "geometries the phase kernels refuse", test_refuses);
    CU_add_test(s, "dl_conv2d passes on ResNet's stride-2 layers: reference values, 1 and 2 threads identical",
                test_public_threads);
    CU_add_test(s, "8-wide output rows: tap-column planes and rows give the same bits (forward, data gradient)",
                test_tap_cols);
}
