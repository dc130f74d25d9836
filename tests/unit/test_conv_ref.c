/* test_conv_ref.c — the generic convolution kernels (conv.c, im2col.c)
 * against plain reference loops in double precision.
 *
 * Every path is reached: the direct kernels of conv_direct_small.c (stride
 * 1, og <= 16 per group: LeNet's c1 and c3 exactly, one and several
 * channel tiles of uneven height, tap counts not a multiple of the tile,
 * asymmetric padding, dilation, groups, and the flipped data gradient
 * through them), the flat and row-wise im2col (stride 1 with ow == w or
 * not, with og > 16; strides 2 and 3; column stride 2 by phase rows), the stride-1 data gradient as a
 * flipped convolution (taken for cg >= 8 or when the direct kernels fit;
 * including padding wider than the kernel reach, where the flipped padding
 * is negative, and dilation) and col2im otherwise,
 * groups, a pointwise 1x1, batches of one and of sizes not divisible by the
 * thread count, each at 1 and 2 threads (images shared over threads, or in
 * sequence with the GEMM parallel inside). Outputs start as NaN so a missed
 * element fails. The epilogue of dl_conv2d_ep must see each image exactly
 * once, after that image's output is complete.
 *
 * conv_direct_rows.c (AVX-512 CPUs, output rows of whole 16-float vectors)
 * takes the direct cases whose ow is a multiple of 16: its own table below
 * covers its "same" 3x3 kernels (rows of one, two and three vectors, odd
 * heights, tiles of uneven height, groups, batches of one and above the
 * thread count) and its masked ones (kw 1 and 5, dilation, asymmetric
 * padding, padding beyond the kernel reach). Every case runs with it and
 * with it switched off (the flat kernels other CPUs run); its forward and
 * data gradient must equal the flat kernels' exactly (same sums, same
 * order), and its weight gradient be bitwise the same at 1 and 2 threads. */
#include <CUnit/CUnit.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/conv_small_internal.h"
#include "dlnrt.h"

typedef struct ref_case {
    int64_t n, c, oc, groups, h, w, kh, kw, sh, sw, pt, pb, pl, pr, dh, dw;
} ref_case;

static void fill(float *v, int64_t n, unsigned *seed) {
    for (int64_t i = 0; i < n; i++) {
        *seed = *seed * 1664525u + 1013904223u;
        v[i] = (float)((*seed >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
}

static float *nans(int64_t n) {
    float *v = malloc(sizeof(float) * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++) v[i] = NAN;
    return v;
}

/* |got - want| <= tol * (1 + |want|) everywhere, NaN fails */
static int close_to(const float *got, const double *want, int64_t n, double tol) {
    for (int64_t i = 0; i < n; i++)
        if (!(fabs(got[i] - want[i]) <= tol * (1.0 + fabs(want[i])))) return 0;
    return 1;
}

/* The input position read by output (i, j) through tap (a, b), or -1 outside. */
static int64_t tap_at(const dl_conv2d_geom *g, int64_t i, int64_t j, int64_t a, int64_t b) {
    int64_t r = i * g->sh - g->pt + a * g->dh, q = j * g->sw - g->pl + b * g->dw;
    return r < 0 || r >= g->h || q < 0 || q >= g->w ? -1 : r * g->w + q;
}

/* y, gx, gw by definition: y[n,o,i,j] = sum w[o,c,a,b] x[n,grp*cg+c, tap] and its adjoints. */
static void reference(const dl_conv2d_geom *g, const float *x, const float *w, const float *gy, double *y,
                      double *gx, double *gw) {
    int64_t cg = g->c / g->groups, og = g->oc / g->groups, P = g->oh * g->ow, plane = g->h * g->w;
    memset(y, 0, sizeof(double) * (size_t)(g->n * g->oc * P));
    memset(gx, 0, sizeof(double) * (size_t)(g->n * g->c * plane));
    memset(gw, 0, sizeof(double) * (size_t)(g->oc * cg * g->kh * g->kw));
    for (int64_t n = 0; n < g->n; n++)
        for (int64_t o = 0; o < g->oc; o++)
            for (int64_t c = 0; c < cg; c++)
                for (int64_t a = 0; a < g->kh; a++)
                    for (int64_t b = 0; b < g->kw; b++) {
                        int64_t wi = ((o * cg + c) * g->kh + a) * g->kw + b, ch = (o / og) * cg + c;
                        for (int64_t i = 0; i < g->oh; i++)
                            for (int64_t j = 0; j < g->ow; j++) {
                                int64_t t = tap_at(g, i, j, a, b);
                                if (t < 0) continue;
                                int64_t xi = (n * g->c + ch) * plane + t, yi = (n * g->oc + o) * P + i * g->ow + j;
                                y[yi] += (double)w[wi] * x[xi];
                                gx[xi] += (double)w[wi] * gy[yi];
                                gw[wi] += (double)x[xi] * gy[yi];
                            }
                    }
}

/* The epilogue's record: which images it saw, and whether each was complete. */
typedef struct ep_log {
    const dl_conv2d_geom *g;
    const float *y;
    const double *want;
    int calls[64];
    int complete[64];
} ep_log;

static void record(void *ctx, int64_t image, float *y_image) {
    ep_log *L = ctx;
    int64_t per = L->g->oc * L->g->oh * L->g->ow;
    if (image < 0 || image >= 64 || y_image != L->y + image * per) return;
    L->calls[image]++;
    L->complete[image] = close_to(y_image, L->want + image * per, per, 1e-4);
}

static void check_case(const ref_case *t, int threads) {
    dl_conv2d_geom g = {.n = t->n, .c = t->c, .h = t->h, .w = t->w, .oc = t->oc, .kh = t->kh, .kw = t->kw,
                        .sh = t->sh, .sw = t->sw, .pt = t->pt, .pb = t->pb, .pl = t->pl, .pr = t->pr,
                        .dh = t->dh, .dw = t->dw, .groups = t->groups};
    g.oh = (g.h + g.pt + g.pb - g.dh * (g.kh - 1) - 1) / g.sh + 1;
    g.ow = (g.w + g.pl + g.pr - g.dw * (g.kw - 1) - 1) / g.sw + 1;
    int64_t nx = g.n * g.c * g.h * g.w, ny = g.n * g.oc * g.oh * g.ow, nw = g.oc * (g.c / g.groups) * g.kh * g.kw;
    float *x = nans(nx), *w = nans(nw), *gy = nans(ny), *y = nans(ny), *gx = nans(nx), *gw = nans(nw);
    double *ry = malloc(sizeof(double) * (size_t)(ny + 1)), *rgx = malloc(sizeof(double) * (size_t)(nx + 1));
    double *rgw = malloc(sizeof(double) * (size_t)(nw + 1));
    unsigned seed = 99u + (unsigned)(t->h * 7 + t->sw * 3 + t->groups);
    fill(x, nx, &seed), fill(w, nw, &seed), fill(gy, ny, &seed);
    reference(&g, x, w, gy, ry, rgx, rgw);
    int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
    ep_log L = {.g = &g, .y = y, .want = ry};
    CU_ASSERT_EQUAL(dl_conv2d_ep(&g, x, w, y, record, &L), 0);
    CU_ASSERT(close_to(y, ry, ny, 1e-4));
    for (int64_t i = 0; i < g.n && i < 64; i++) CU_ASSERT(L.calls[i] == 1 && L.complete[i]);
    CU_ASSERT_EQUAL(dl_conv2d_bwd_data(&g, gy, w, gx), 0);
    CU_ASSERT(close_to(gx, rgx, nx, 1e-4));
    CU_ASSERT_EQUAL(dl_conv2d_bwd_weight(&g, x, gy, gw), 0);
    CU_ASSERT(close_to(gw, rgw, nw, 1e-4));
    omp_set_num_threads(saved);
    free(x), free(w), free(gy), free(y), free(gx), free(gw), free(ry), free(rgx), free(rgw);
}

static void test_conv_vs_reference(void) {
    static const ref_case cases[] = {
        /* n   c  oc  g   h   w kh kw sh sw pt pb pl pr dh dw */
        {4, 3, 5, 1, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},    /* "same" 3x3: flat im2col, flipped data grad */
        {3, 4, 6, 1, 9, 7, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1},    /* stride 2, odd sizes: col2im */
        {1, 2, 3, 1, 12, 10, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1},  /* batch of one, LeNet c1-like */
        {5, 6, 4, 1, 14, 14, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1},  /* LeNet c3-like: ow != w, unpadded */
        {3, 4, 4, 2, 10, 11, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2},  /* groups 2, dilation 2 */
        {2, 6, 6, 3, 9, 9, 3, 2, 3, 2, 2, 0, 1, 1, 1, 1},    /* groups 3, stride 3x2, asymmetric pads */
        {3, 2, 3, 1, 6, 6, 3, 3, 1, 1, 3, 1, 0, 4, 1, 1},    /* padding beyond the kernel reach */
        {5, 8, 7, 1, 6, 5, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1},    /* pointwise */
        {3, 8, 5, 1, 9, 9, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1},    /* 1x1 stride 2 (projection shortcut) */
        {3, 2, 4, 2, 7, 6, 2, 3, 1, 2, 1, 0, 2, 1, 2, 1},    /* mixed strides and dilations with groups */
        {3, 8, 6, 1, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},    /* the flipped data gradient: "same" 3x3 */
        {3, 8, 5, 1, 9, 8, 3, 2, 1, 1, 0, 0, 0, 0, 1, 1},    /* flipped, unpadded, rectangular kernel */
        {2, 16, 8, 2, 10, 11, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2}, /* flipped with groups and dilation */
        {3, 8, 4, 1, 6, 6, 3, 3, 1, 1, 3, 1, 0, 4, 1, 1},    /* flipped, padding beyond the kernel reach */
        {1, 16, 16, 1, 32, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}, /* one big image, flipped */
        {1, 32, 32, 1, 24, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}, /* one big image: GEMM parallel inside */
        {3, 32, 48, 1, 20, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}, /* few big images */
        {3, 1, 6, 1, 28, 28, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1},  /* LeNet c1: direct, one tile */
        {5, 6, 16, 1, 14, 14, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1}, /* LeNet c3: direct, two tiles, flipped K 400 */
        {1, 3, 13, 1, 9, 7, 3, 2, 1, 1, 2, 0, 1, 3, 1, 1},   /* direct: uneven tiles, asymmetric pads, n 1 */
        {3, 2, 11, 1, 11, 9, 3, 3, 1, 1, 1, 2, 3, 0, 2, 1},  /* direct with dilation 2x1 */
        {3, 4, 10, 2, 7, 9, 2, 3, 1, 1, 0, 1, 1, 0, 1, 2},   /* direct with groups, K 12 (not 5k) */
        {3, 3, 20, 1, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},   /* og 20: flat im2col; flipped data grad direct */
        {2, 6, 20, 1, 14, 13, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1}, /* og 20 c3-like: row-wise im2col */
        {3, 16, 32, 1, 32, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1}, /* ResNet's 16>32: phase-row im2col/col2im */
        {3, 5, 18, 1, 11, 35, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1},  /* phase rows: odd width over 16 */
        {2, 3, 18, 1, 9, 21, 3, 5, 2, 2, 0, 2, 4, 1, 1, 1},   /* phase rows: asymmetric pads, kw 5 */
        {2, 3, 18, 1, 8, 20, 3, 3, 2, 2, 1, 1, 6, 5, 1, 1},   /* phase rows: padding beyond the kernel reach */
        {1, 64, 64, 1, 32, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1}, /* phase rows, one big image: GEMM parallel */
    };
    for (int threads = 1; threads <= 2; threads++)
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_case(&cases[i], threads);
}

/* The cases conv_direct_rows.c takes on an AVX-512 CPU (ow % 16 == 0, og <= 16). */
static const ref_case rows_cases[] = {
    /* n   c  oc  g   h   w kh kw sh sw pt pb pl pr dh dw */
    {5, 16, 16, 1, 32, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}, /* ResNet's 16x16 on 32x32: two-vector rows, n > threads */
    {1, 16, 16, 1, 32, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}, /* batch of one */
    {3, 5, 7, 1, 9, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},    /* one-vector rows, odd height, og 7 (tiles 4 + 3) */
    {2, 4, 11, 1, 7, 48, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},   /* three-vector rows: masked forward, shifted wgrad */
    {3, 8, 8, 2, 6, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},    /* groups 2 */
    {3, 3, 16, 1, 32, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},  /* ResNet's 3>16 (flipped: og 3) */
    {2, 3, 6, 1, 10, 32, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1},   /* kw 5: masked, weight-gradient taps 3 + 2 */
    {2, 4, 5, 1, 12, 32, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2},   /* dilation 2 */
    {3, 2, 9, 1, 8, 16, 3, 3, 1, 1, 0, 2, 2, 0, 1, 1},    /* asymmetric padding */
    {2, 3, 4, 1, 5, 16, 3, 3, 1, 1, 3, 1, 2, 0, 1, 1},    /* tap rows beyond the kernel reach */
    {2, 4, 6, 1, 7, 16, 3, 1, 1, 1, 1, 1, 0, 0, 1, 1},    /* kw 1 */
    {4, 6, 6, 3, 11, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},   /* groups 3 at batch 4: the next image asked for over groups */
};

static dl_conv2d_geom geom_of(const ref_case *t) {
    dl_conv2d_geom g = {.n = t->n, .c = t->c, .h = t->h, .w = t->w, .oc = t->oc, .kh = t->kh, .kw = t->kw,
                        .sh = t->sh, .sw = t->sw, .pt = t->pt, .pb = t->pb, .pl = t->pl, .pr = t->pr,
                        .dh = t->dh, .dw = t->dw, .groups = t->groups};
    g.oh = (g.h + g.pt + g.pb - g.dh * (g.kh - 1) - 1) / g.sh + 1;
    g.ow = (g.w + g.pl + g.pr - g.dw * (g.kw - 1) - 1) / g.sw + 1;
    return g;
}

/* Whether conv_direct_rows.c is built in (GCC on x86-64) and the CPU has AVX-512. */
static int rows_cpu(void) {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
    return __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

/* The row kernels against the reference, and the flat kernels on the same cases. */
static void test_rows_vs_reference(void) {
    for (int on = 1; on >= 0; on--) {
        dl_conv_rows_enable(on);
        for (size_t i = 0; i < sizeof rows_cases / sizeof rows_cases[0]; i++) {
            dl_conv2d_geom g = geom_of(&rows_cases[i]);
            CU_ASSERT_EQUAL(dl_conv_rows_fits(&g), on && rows_cpu());
            for (int threads = 1; threads <= 2; threads++) check_case(&rows_cases[i], threads);
        }
    }
    dl_conv_rows_enable(1);
}

/* The row kernels' forward and data gradient add the same products in the
 * same order as the flat kernels (conv_direct_rows.c): equal values, with
 * the same3 taps as lane shifts (mode 0) and as loads (mode 1). */
static void test_rows_same_as_flat(void) {
    for (int mode = 0; mode < 2; mode++, dl_conv_rows_fwd3_loads(-1))
    for (size_t i = 0; i < sizeof rows_cases / sizeof rows_cases[0]; i++) {
        dl_conv_rows_fwd3_loads(mode);
        dl_conv2d_geom g = geom_of(&rows_cases[i]);
        int64_t nx = g.n * g.c * g.h * g.w, ny = g.n * g.oc * g.oh * g.ow, nw = g.oc * (g.c / g.groups) * g.kh * g.kw;
        float *x = nans(nx), *w = nans(nw), *gy = nans(ny), *y[2], *gx[2];
        unsigned seed = 31u + (unsigned)i;
        fill(x, nx, &seed), fill(w, nw, &seed), fill(gy, ny, &seed);
        for (int on = 0; on < 2; on++) {
            dl_conv_rows_enable(on);
            y[on] = nans(ny), gx[on] = nans(nx);
            CU_ASSERT_EQUAL(dl_conv2d(&g, x, w, y[on]), 0);
            CU_ASSERT_EQUAL(dl_conv2d_bwd_data(&g, gy, w, gx[on]), 0);
        }
        dl_conv_rows_enable(1);
        int same = 1;
        for (int64_t k = 0; k < ny; k++) same &= y[0][k] == y[1][k];
        for (int64_t k = 0; k < nx; k++) same &= gx[0][k] == gx[1][k];
        CU_ASSERT(same);
        free(x), free(w), free(gy), free(y[0]), free(y[1]), free(gx[0]), free(gx[1]);
    }
}

/* The direct kernels' weight gradient is the same to the bit at 1 and 2 threads. */
static void test_rows_wgrad_threads(void) {
    for (size_t i = 0; i < sizeof rows_cases / sizeof rows_cases[0]; i++) {
        dl_conv2d_geom g = geom_of(&rows_cases[i]);
        int64_t nx = g.n * g.c * g.h * g.w, ny = g.n * g.oc * g.oh * g.ow, nw = g.oc * (g.c / g.groups) * g.kh * g.kw;
        float *x = nans(nx), *gy = nans(ny), *gw1 = nans(nw), *gw2 = nans(nw);
        unsigned seed = 7u + (unsigned)i;
        fill(x, nx, &seed), fill(gy, ny, &seed);
        int saved = omp_get_max_threads();
        omp_set_num_threads(1);
        CU_ASSERT_EQUAL(dl_conv2d_bwd_weight(&g, x, gy, gw1), 0);
        omp_set_num_threads(2);
        CU_ASSERT_EQUAL(dl_conv2d_bwd_weight(&g, x, gy, gw2), 0);
        omp_set_num_threads(saved);
        CU_ASSERT(memcmp(gw1, gw2, sizeof(float) * (size_t)nw) == 0);
        free(x), free(gy), free(gw1), free(gw2);
    }
}

/* The forward's `next` (the following image, which the row kernels
 * prefetch) is a hint only: NULL, the real next image or the current
 * one give the same bits. */
static void test_rows_next_hint(void) {
    dl_conv2d_geom g = geom_of(&rows_cases[0]);
    g.n = 1;
    int64_t nx = g.c * g.h * g.w, ny = g.oc * g.oh * g.ow, nw = g.oc * g.c * g.kh * g.kw;
    int64_t nbuf = (dl_conv_small_fwd_floats(&g) + 15) / 16 * 16;
    float *x = nans(2 * nx), *w = nans(nw), *buf = aligned_alloc(64, sizeof(float) * (size_t)nbuf), *y[3];
    unsigned seed = 5u;
    fill(x, 2 * nx, &seed), fill(w, nw, &seed);
    const float *next[3] = {NULL, x + nx, x};
    for (int k = 0; k < 3; k++) {
        y[k] = nans(ny);
        dl_conv_small_image(&g, x, w, y[k], buf, next[k]);
    }
    CU_ASSERT(memcmp(y[0], y[1], sizeof(float) * (size_t)ny) == 0);
    CU_ASSERT(memcmp(y[0], y[2], sizeof(float) * (size_t)ny) == 0);
    int written = 1;
    for (int64_t k = 0; k < ny; k++) written &= y[0][k] == y[0][k]; /* no NaN left */
    CU_ASSERT(written);
    free(x), free(w), free(buf), free(y[0]), free(y[1]), free(y[2]);
}

/* An empty batch: a zero weight gradient, nothing else touched. */
static void test_conv_empty_batch(void) {
    dl_conv2d_geom g = {.n = 0, .c = 2, .h = 4, .w = 4, .oc = 3, .oh = 4, .ow = 4, .kh = 3, .kw = 3, .sh = 1,
                        .sw = 1, .pt = 1, .pb = 1, .pl = 1, .pr = 1, .dh = 1, .dw = 1, .groups = 1};
    float gw[54];
    for (int i = 0; i < 54; i++) gw[i] = NAN;
    CU_ASSERT_EQUAL(dl_conv2d_bwd_weight(&g, NULL, NULL, gw), 0);
    for (int i = 0; i < 54; i++) CU_ASSERT_EQUAL(gw[i], 0.0f);
    CU_ASSERT_EQUAL(dl_conv2d(&g, NULL, gw, NULL), 0);
    CU_ASSERT_EQUAL(dl_conv2d_bwd_data(&g, NULL, gw, NULL), 0);
}

void suite_conv_ref(void) {
    CU_pSuite s = CU_add_suite("conv_ref", NULL, NULL);
    CU_add_test(s, "conv2d forward/data/weight gradient vs reference loops, 1 and 2 threads", test_conv_vs_reference);
    CU_add_test(s, "conv2d with an empty batch", test_conv_empty_batch);
    CU_add_test(s, "row kernels (and the flat ones) vs reference loops, 1 and 2 threads", test_rows_vs_reference);
    CU_add_test(s, "row kernels' weight gradient identical at 1 and 2 threads", test_rows_wgrad_threads);
    CU_add_test(s, "row kernels' forward and data gradient equal the flat kernels'", test_rows_same_as_flat);
    CU_add_test(s, "the forward's next-image prefetch hint changes no bit", test_rows_next_hint);
}
