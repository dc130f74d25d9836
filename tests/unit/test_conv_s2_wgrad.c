/* test_conv_s2_wgrad.c — the stride-2 outer-product weight gradient
 * (conv_s2_wgrad.c) against a plain double-precision loop written from the
 * definition of a convolution's weight gradient.
 *
 * Random geometries: kernels 1x1 to 3x3 (1x2, 3x1 ...), input sizes 1 to
 * 37 (odd and even), pads 0 to 3 on each side independently (beyond the
 * kernel's reach too), 1 to 7 input channels (tap counts that do not fill
 * the 9- and 3-tap tiles), 1 to 40 output channels (a partial vector, one
 * and two vectors, a two-vector tile beside a one-vector one), batches 1
 * and 3 and 5. The sum runs over image ranges: all, two halves added (one
 * may be empty), and an empty range, which must give zeros. Scratch starts
 * as NaN, so a read of what was not written fails. The library runs its
 * AVX-512, AVX or baseline clone, whichever this CPU takes; the file is
 * also compiled in here without clones (S2W_BASELINE_ONLY, baseline
 * x86-64) under base_* names and checked the same way. test_conv_s2.c and
 * test_threads.c check it through dl_conv2d_bwd_weight (1 and 2 threads
 * bit for bit, ResNet's two layers at batch 64). */
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/conv_s2_wgrad_internal.h"
#define RAND_BUFFERS_SEED 7331u
#include "rand_buffers.h"

#define S2W_BASELINE_ONLY
#define dl_conv_s2w_fits base_s2w_fits
#define dl_conv_s2w_pays base_s2w_pays
#define dl_conv_s2w_floats base_s2w_floats
#define dl_conv_s2w_bwd_weight base_s2w_bwd_weight
#include "../../runtime/conv_s2_wgrad.c"
#undef dl_conv_s2w_fits
#undef dl_conv_s2w_pays
#undef dl_conv_s2w_floats
#undef dl_conv_s2w_bwd_weight

/* gw over images [lo, hi) by definition, in double. */
static void reference(const dl_conv2d_geom *g, const float *x, const float *gy, int64_t lo, int64_t hi, double *gw) {
    int64_t P = g->oh * g->ow, plane = g->h * g->w;
    memset(gw, 0, sizeof(double) * (size_t)(g->oc * g->c * g->kh * g->kw));
    for (int64_t n = lo; n < hi; n++)
        for (int64_t o = 0; o < g->oc; o++)
            for (int64_t c = 0; c < g->c; c++)
                for (int64_t a = 0; a < g->kh; a++)
                    for (int64_t b = 0; b < g->kw; b++)
                        for (int64_t i = 0; i < g->oh; i++)
                            for (int64_t j = 0; j < g->ow; j++) {
                                int64_t r = 2 * i - g->pt + a, q = 2 * j - g->pl + b;
                                if (r < 0 || r >= g->h || q < 0 || q >= g->w) continue;
                                gw[((o * g->c + c) * g->kh + a) * g->kw + b] +=
                                    (double)gy[(n * g->oc + o) * P + i * g->ow + j] *
                                    x[(n * g->c + c) * plane + r * g->w + q];
                            }
}

typedef void (*wgrad_fn)(const dl_conv2d_geom *, const float *, const float *, float *, float *, int64_t, int64_t);

/* One geometry through fits/floats/bwd_weight against the reference: 1 if all match. */
static int check(int (*fits)(const dl_conv2d_geom *), int64_t (*floats)(const dl_conv2d_geom *), wgrad_fn f,
                 const dl_conv2d_geom *g) {
    int64_t nx = g->n * g->c * g->h * g->w, ny = g->n * g->oc * g->oh * g->ow, nw = g->oc * g->c * g->kh * g->kw;
    float *x = values(nx), *gy = values(ny), *gw = scratch_nans(nw), *part = scratch_nans(nw);
    double *want = malloc(sizeof(double) * (size_t)nw);
    float *buf = scratch_nans(floats(g));
    int ok = fits(g);
    reference(g, x, gy, 0, g->n, want);
    f(g, x, gy, gw, buf, 0, g->n);
    ok &= close_to(gw, want, nw);
    int64_t mid = pick(0, g->n);
    f(g, x, gy, gw, buf, 0, mid);
    f(g, x, gy, part, buf, mid, g->n);
    for (int64_t i = 0; i < nw; i++) gw[i] += part[i];
    ok &= close_to(gw, want, nw);
    reference(g, x, gy, g->n - 1, g->n, want); /* the last image alone */
    f(g, x, gy, gw, buf, g->n - 1, g->n);
    ok &= close_to(gw, want, nw);
    f(g, x, gy, part, buf, 1, 1);
    for (int64_t i = 0; i < nw; i++) ok &= part[i] == 0.0f;
    free(x), free(gy), free(gw), free(part), free(want), free(buf);
    return ok;
}

static int check_both(const dl_conv2d_geom *g) {
    return check(dl_conv_s2w_fits, dl_conv_s2w_floats, dl_conv_s2w_bwd_weight, g) &&
           check(base_s2w_fits, base_s2w_floats, base_s2w_bwd_weight, g);
}

static void test_random_geometries(void) {
    static const int64_t batches[] = {1, 3, 5};
    for (int t = 0; t < 300; t++) {
        dl_conv2d_geom g = {0};
        for (;;) {
            g.n = batches[pick(0, 2)], g.c = pick(1, 7), g.oc = pick(1, 40), g.h = pick(1, 37), g.w = pick(1, 37);
            g.kh = pick(1, 3), g.kw = pick(1, 3), g.sh = g.sw = 2, g.dh = g.dw = 1, g.groups = 1;
            g.pt = pick(0, 3), g.pb = pick(0, 3), g.pl = pick(0, 3), g.pr = pick(0, 3);
            int64_t eh = g.h + g.pt + g.pb - g.kh, ew = g.w + g.pl + g.pr - g.kw;
            if (eh >= 0 && ew >= 0) break;
        }
        g.oh = (g.h + g.pt + g.pb - g.kh) / 2 + 1, g.ow = (g.w + g.pl + g.pr - g.kw) / 2 + 1;
        CU_ASSERT(check_both(&g));
    }
}

/* ResNet-20's two stride-2 3x3 layers (batch 3 here), odd sizes around them, and 48 output channels. */
static void test_resnet_shapes(void) {
    static const int64_t shapes[][5] = {/* c, oc, h=w, k, pad */
                                        {16, 32, 32, 3, 1}, {32, 64, 16, 3, 1}, {16, 32, 33, 3, 1},
                                        {32, 64, 15, 3, 1}, {3, 48, 31, 3, 0},  {16, 17, 32, 3, 1}};
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        dl_conv2d_geom g = stride2_square(3, shapes[i][0], shapes[i][1], shapes[i][2], shapes[i][3], shapes[i][4]);
        CU_ASSERT(check_both(&g));
    }
}

/* Geometries it must refuse: what conv_s2.c refuses. */
static void test_refuses(void) {
    dl_conv2d_geom g = {.n = 1, .c = 4, .oc = 4, .h = 9, .w = 9, .kh = 3, .kw = 3, .sh = 2, .sw = 2, .dh = 1, .dw = 1,
                        .groups = 1, .pt = 1, .pb = 1, .pl = 1, .pr = 1, .oh = 5, .ow = 5};
    CU_ASSERT(dl_conv_s2w_fits(&g));
    CU_ASSERT(!dl_conv_s2w_pays(&g)); /* 4 output channels: conv.c keeps im2col + GEMM */
    dl_conv2d_geom t = g;
    t.oc = 16;
    CU_ASSERT(dl_conv_s2w_pays(&t));
    t = g;
    t.sh = 1, t.oh = 9;
    CU_ASSERT(!dl_conv_s2w_fits(&t)); /* stride 1 down */
    t = g, t.groups = 2;
    CU_ASSERT(!dl_conv_s2w_fits(&t));
    t = g, t.kh = t.kw = 5, t.oh = t.ow = 4;
    CU_ASSERT(!dl_conv_s2w_fits(&t));
    t = g, t.c = 600; /* 5400 taps */
    CU_ASSERT(!dl_conv_s2w_fits(&t));
}

void suite_conv_s2_wgrad(void) {
    CU_pSuite s = CU_add_suite("conv_s2_wgrad", NULL, NULL);
    CU_add_test(s, "outer-product stride-2 weight gradient vs a double loop, random geometries, library and baseline",
                test_random_geometries);
    CU_add_test(s, "ResNet-20's stride-2 shapes, odd sizes around them, 48 and 17 output channels", test_resnet_shapes);
    CU_add_test(s, "geometries it refuses", test_refuses);
}
