/* test_im2col_s2.c — im2col and col2im (im2col.c, and im2col_s2.c for
 * column stride 2) against plain loops written from the definition in
 * im2col_internal.h, on random geometries: strides 1-3 down the rows and
 * 2 (the phase-row path) or 1/3 across, row widths below, at and above a
 * vector of 16 floats, odd widths, pads 0 to beyond the kernel's reach,
 * asymmetric pads, dilation down the rows, 1x1 kernels (which stay on
 * im2col.c). im2col must match exactly (it copies) and write every element
 * (cols starts as NaN); col2im is checked against a double-precision sum,
 * every element of x written. The library runs its AVX-512, AVX2 or
 * baseline clone of im2col_s2.c, whichever this CPU takes; the file is also
 * compiled in here without clones (S2_BASELINE_ONLY, the unit tests'
 * flags: baseline x86-64) under base_* names and must give the same bits. */
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "im2col_internal.h"

#define S2_BASELINE_ONLY
#define dl_im2col_s2_fits base_im2col_s2_fits
#define dl_im2col_s2 base_im2col_s2
#define dl_col2im_s2 base_col2im_s2
#include "../../runtime/im2col_s2.c"
#undef dl_im2col_s2_fits
#undef dl_im2col_s2
#undef dl_col2im_s2

static unsigned seed = 12345u;

static int64_t pick(int64_t lo, int64_t hi) {
    seed = seed * 1664525u + 1013904223u;
    return lo + (int64_t)((seed >> 8) % (unsigned)(hi - lo + 1));
}

static float value(void) { return (float)pick(0, 65535) / 32768.0f - 1.0f; }

/* A random geometry with a valid output, column stride 2 unless `sw` says otherwise. */
static dl_conv2d_geom random_geom(int64_t sw) {
    dl_conv2d_geom g = {0};
    for (;;) {
        g.h = pick(1, 13), g.w = pick(1, 41), g.kh = pick(1, 3), g.kw = pick(1, 5);
        g.sh = pick(1, 3), g.sw = sw, g.dh = pick(1, 2), g.dw = 1;
        g.pt = pick(0, 3), g.pb = pick(0, 3), g.pl = pick(0, 6), g.pr = pick(0, 6);
        int64_t eh = g.h + g.pt + g.pb - g.dh * (g.kh - 1), ew = g.w + g.pl + g.pr - (g.kw - 1);
        if (eh < 1 || ew < 1) continue;
        g.oh = (eh - 1) / g.sh + 1, g.ow = (ew - 1) / g.sw + 1;
        return g;
    }
}

/* x[c, r, q] read by cols row (c, a, b) at output (i, j), or -1 in the padding. */
static int64_t source(const dl_conv2d_geom *g, int64_t c, int64_t a, int64_t b, int64_t i, int64_t j) {
    int64_t r = i * g->sh - g->pt + a * g->dh, q = j * g->sw - g->pl + b * g->dw;
    return r < 0 || r >= g->h || q < 0 || q >= g->w ? -1 : (c * g->h + r) * g->w + q;
}

/* src[k] = the x element cols[k] reads, or -1 in the padding (the definition, flattened). */
static int64_t *sources(const dl_conv2d_geom *g, int64_t cg) {
    int64_t *src = malloc(sizeof(int64_t) * (size_t)(cg * g->kh * g->kw * g->oh * g->ow)), k = 0;
    for (int64_t c = 0; c < cg; c++)
        for (int64_t a = 0; a < g->kh; a++)
            for (int64_t b = 0; b < g->kw; b++)
                for (int64_t i = 0; i < g->oh; i++)
                    for (int64_t j = 0; j < g->ow; j++) src[k++] = source(g, c, a, b, i, j);
    return src;
}

static void check(const dl_conv2d_geom *g, int64_t cg) {
    int64_t P = g->oh * g->ow, K = cg * g->kh * g->kw, nx = cg * g->h * g->w;
    float *x = malloc(sizeof(float) * (size_t)nx), *cols = malloc(sizeof(float) * (size_t)(K * P));
    float *back = malloc(sizeof(float) * (size_t)nx);
    double *want = calloc((size_t)nx, sizeof(double));
    int64_t *src = sources(g, cg);
    for (int64_t k = 0; k < nx; k++) x[k] = value(), back[k] = NAN;
    for (int64_t k = 0; k < K * P; k++) cols[k] = NAN;
    dl_im2col(g, cg, x, cols);
    int copies = 1;
    for (int64_t k = 0; k < K * P; k++) {
        float exp = src[k] < 0 ? 0.0f : x[src[k]];
        if (memcmp(&cols[k], &exp, sizeof exp)) copies = 0;
    }
    CU_ASSERT(copies);
    for (int64_t k = 0; k < K * P; k++) {
        cols[k] = value();
        if (src[k] >= 0) want[src[k]] += cols[k];
    }
    dl_col2im(g, cg, cols, back);
    int sums = 1;
    for (int64_t k = 0; k < nx; k++)
        if (!(fabs(back[k] - want[k]) <= 1e-5 * (1.0 + fabs(want[k])))) sums = 0;
    CU_ASSERT(sums);
    if (dl_im2col_s2_fits(g)) { /* the baseline build: the same bits as the library's clone */
        float *cols2 = malloc(sizeof(float) * (size_t)(K * P)), *back2 = malloc(sizeof(float) * (size_t)nx);
        base_col2im_s2(g, cg, cols, back2);
        CU_ASSERT(memcmp(back, back2, sizeof(float) * (size_t)nx) == 0);
        dl_im2col(g, cg, x, cols);
        base_im2col_s2(g, cg, x, cols2);
        CU_ASSERT(memcmp(cols, cols2, sizeof(float) * (size_t)(K * P)) == 0);
        free(cols2), free(back2);
    }
    free(x), free(cols), free(back), free(want), free(src);
}

static void test_stride2_vs_plain(void) {
    int phase_rows = 0;
    for (int t = 0; t < 400; t++) {
        dl_conv2d_geom g = random_geom(2);
        phase_rows += dl_im2col_s2_fits(&g);
        CU_ASSERT_EQUAL(dl_im2col_s2_fits(&g), g.kw >= 2 && g.pl <= 32);
        check(&g, pick(1, 3));
    }
    CU_ASSERT(phase_rows > 200); /* the generator does reach the new path */
}

/* ResNet-20's downsampling layers exactly (32 and 16 wide, pad 1; and the 1x1 shortcut). */
static void test_resnet_shapes(void) {
    static const int64_t shapes[][4] = {{32, 3, 1, 16}, {16, 3, 1, 32}, {32, 1, 0, 16}, {16, 1, 0, 32}};
    for (size_t k = 0; k < sizeof shapes / sizeof *shapes; k++) {
        int64_t hw = shapes[k][0], kk = shapes[k][1], p = shapes[k][2];
        dl_conv2d_geom g = {.h = hw, .w = hw, .kh = kk, .kw = kk, .sh = 2, .sw = 2, .dh = 1, .dw = 1, .pt = p,
                            .pb = p, .pl = p, .pr = p, .oh = hw / 2, .ow = hw / 2, .n = 1, .groups = 1};
        CU_ASSERT_EQUAL(dl_im2col_s2_fits(&g), kk == 3);
        check(&g, shapes[k][3]);
    }
}

/* Other column strides still through im2col.c, same checks. */
static void test_other_strides_vs_plain(void) {
    for (int t = 0; t < 200; t++) {
        dl_conv2d_geom g = random_geom(t % 2 ? 3 : 1);
        CU_ASSERT(!dl_im2col_s2_fits(&g));
        check(&g, pick(1, 3));
    }
}

void suite_im2col_s2(void) {
    CU_pSuite s = CU_add_suite("im2col_s2", NULL, NULL);
    CU_add_test(s, "column stride 2: im2col exact, col2im vs a double sum, random geometries", test_stride2_vs_plain);
    CU_add_test(s, "ResNet-20's stride-2 shapes", test_resnet_shapes);
    CU_add_test(s, "column strides 1 and 3: im2col exact, col2im vs a double sum", test_other_strides_vs_plain);
}
